"""Keyset paging ("seek"): a page is the rows just before a position in a unique order,
(created_at, id), rather than an OFFSET.

An OFFSET page costs the rows it skips and shifts when rows are added (a reply posted
while someone reads the earlier ones would show them one entry twice); a keyset page is
one index range read, and the rows before a position stay the same rows whatever is added
after it. The position travels in links as `Cursor` text ("1732348800000000-42":
microseconds since the epoch, then the id), which only ever names a place in the order:
the rows are still read through whatever queryset the caller allows.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.db.models import Q, QuerySet

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
MICROSECOND = datetime.timedelta(microseconds=1)
CURSOR_TEXT = re.compile(r"(\d{1,19})-(\d{1,19})")


@dataclass(frozen=True)
class Cursor:
    """A position in the (created_at, id) order: the first row of a page."""

    created_at: datetime.datetime
    pk: int

    @classmethod
    def of(cls, row) -> Cursor:
        return cls(created_at=row.created_at, pk=row.pk)

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        """The cursor a link carries; None for no text; ValueError for text that is not one."""
        if not text:
            return None
        match = CURSOR_TEXT.fullmatch(text)
        if match is None:
            raise ValueError("Not a position in the timeline.")
        micros, pk = int(match[1]), int(match[2])
        try:
            created_at = EPOCH + micros * MICROSECOND
        except OverflowError:
            raise ValueError("Not a position in the timeline.") from None
        return cls(created_at=created_at, pk=pk)

    def __str__(self) -> str:
        return f"{(self.created_at - EPOCH) // MICROSECOND}-{self.pk}"


def page_before(
    queryset: QuerySet, cursor: Cursor | None, *, size: int
) -> tuple[list, Cursor | None]:
    """The last `size` rows of `queryset` before `cursor` (None: of all), oldest first, and
    the cursor of the page before them (None: there is none). One query, `size + 1` rows."""
    if cursor is not None:
        queryset = queryset.filter(
            Q(created_at__lt=cursor.created_at) | Q(created_at=cursor.created_at, pk__lt=cursor.pk)
        )
    rows = list(queryset.order_by("-created_at", "-pk")[: size + 1])
    earlier = len(rows) > size
    rows = rows[:size][::-1]
    return rows, (Cursor.of(rows[0]) if earlier else None)
