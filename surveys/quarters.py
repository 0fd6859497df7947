"""Calendar quarters in the company timezone (settings.TIME_ZONE), keyed `2026-Q3`."""

import datetime
import re
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from core.limits import year_error

QUARTER_PATTERN = re.compile(r"^(\d{4})-Q([1-4])$")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, key: str) -> "Quarter":
        """`2026-Q3` -> Quarter(2026, 3); ValueError for anything else."""
        match = QUARTER_PATTERN.match((key or "").strip().upper())
        if not match:
            raise ValueError(f"{key!r} is not a quarter; write it like 2026-Q3.")
        if error := year_error(int(match.group(1))):
            raise ValueError(error)
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, moment: datetime.datetime) -> "Quarter":
        local = moment.astimezone(_zone())
        return cls(local.year, (local.month - 1) // 3 + 1)

    @classmethod
    def last_complete(cls, now: datetime.datetime | None = None) -> "Quarter":
        """The quarter that ended most recently (on 1 July: Q2)."""
        return cls.containing(now or timezone.now()).previous()

    @property
    def key(self) -> str:
        return f"{self.year}-Q{self.number}"

    def __str__(self) -> str:
        return self.key

    @property
    def start(self) -> datetime.datetime:
        return datetime.datetime(self.year, 3 * self.number - 2, 1, tzinfo=_zone())

    @property
    def end(self) -> datetime.datetime:
        """The first instant of the next quarter (exclusive)."""
        return self.next().start

    def previous(self) -> "Quarter":
        return (
            Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)
        )

    def next(self) -> "Quarter":
        return (
            Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)
        )


def _zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)
