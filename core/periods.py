"""Periods of the calendar: ISO weeks (2026-W38), months (2026-09) and quarters (2026-Q3), in
the company timezone (settings.TIME_ZONE). Scores are kept per period; relationship surveys
and HR reports are per quarter."""

from __future__ import annotations

import datetime
import re
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from .limits import year_error

WEEK, MONTH, QUARTER = "week", "month", "quarter"
KINDS = (WEEK, MONTH, QUARTER)
_PATTERNS = {
    QUARTER: re.compile(r"^(\d{4})-Q([1-4])$"),
    MONTH: re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"),
    WEEK: re.compile(r"^(\d{4})-W(0[1-9]|[1-4]\d|5[0-3])$"),
}


def company_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


@dataclass(frozen=True, order=True)
class Period:
    """A half-open interval [start, end) of local dates, with its key."""

    kind: str
    first_day: datetime.date
    next_first_day: datetime.date

    @property
    def key(self) -> str:
        if self.kind == QUARTER:
            return f"{self.first_day.year}-Q{(self.first_day.month - 1) // 3 + 1}"
        if self.kind == MONTH:
            return f"{self.first_day.year}-{self.first_day.month:02d}"
        year, week, _ = self.first_day.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def start(self) -> datetime.datetime:
        return datetime.datetime.combine(self.first_day, datetime.time(), tzinfo=company_zone())

    @property
    def end(self) -> datetime.datetime:
        return datetime.datetime.combine(
            self.next_first_day, datetime.time(), tzinfo=company_zone()
        )

    @property
    def label(self) -> str:
        if self.kind == MONTH:
            return self.first_day.strftime("%B %Y")
        if self.kind == WEEK:
            return f"Week {self.first_day.isocalendar()[1]}, {self.first_day.isocalendar()[0]}"
        return self.key.replace("-", " ")

    def __str__(self) -> str:
        return self.key

    def previous(self) -> Period:
        return period_containing(self.start - datetime.timedelta(seconds=1), self.kind)

    def next(self) -> Period:
        return period_for_date(self.next_first_day, self.kind)

    def is_closed(self, now=None) -> bool:
        return (now or timezone.now()) >= self.end

    def contains(self, moment: datetime.datetime) -> bool:
        return self.start <= moment < self.end


def _add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def period_for_date(day: datetime.date, kind: str) -> Period:
    """The period of a kind that contains a local date."""
    if kind == WEEK:
        first = day - datetime.timedelta(days=day.weekday())
        return Period(WEEK, first, first + datetime.timedelta(days=7))
    if kind == MONTH:
        first = day.replace(day=1)
        return Period(MONTH, first, _add_months(first, 1))
    if kind == QUARTER:
        first = datetime.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
        return Period(QUARTER, first, _add_months(first, 3))
    raise ValueError(f"Unknown period kind {kind!r}.")


def period_containing(moment: datetime.datetime, kind: str) -> Period:
    """The period of a kind that contains an instant (read in the company timezone)."""
    return period_for_date(moment.astimezone(company_zone()).date(), kind)


def not_a_period(key: str, kinds=KINDS) -> str:
    """The message for a key that is no period of `kinds`."""
    if tuple(kinds) == (QUARTER,):
        return f"{key!r} is not a quarter; write it like 2026-Q3."
    return (
        f"{key!r} is not a period: use a quarter (2026-Q3), a month (2026-09) or an ISO week "
        "(2026-W38)."
    )


def parse_period(key: str, kinds=KINDS) -> Period:
    """`2026-Q3`, `2026-09` or `2026-W38` (of `kinds`) -> Period; ValueError with a clear
    message."""
    key = (key or "").strip().upper()
    matches = {kind: _PATTERNS[kind].match(key) for kind in kinds}
    kind, match = next(((k, m) for k, m in matches.items() if m), (None, None))
    if match is None:
        raise ValueError(not_a_period(key, kinds))
    if error := year_error(int(match[1])):
        raise ValueError(error)
    year, number = int(match[1]), int(match[2])
    if kind == QUARTER:
        return period_for_date(datetime.date(year, 3 * number - 2, 1), QUARTER)
    if kind == MONTH:
        return period_for_date(datetime.date(year, number, 1), MONTH)
    try:
        monday = datetime.date.fromisocalendar(year, number, 1)
    except ValueError as exc:
        raise ValueError(f"{year} has no ISO week {number}.") from exc
    return period_for_date(monday, WEEK)


def parse_quarter(key: str) -> Period:
    """`2026-Q3` -> its Period; ValueError for anything else."""
    return parse_period(key, (QUARTER,))


def kind_of(key: str) -> str:
    return parse_period(key).kind


def quarter_containing(moment: datetime.datetime) -> Period:
    return period_containing(moment, QUARTER)


def last_complete_quarter(now: datetime.datetime | None = None) -> Period:
    """The quarter that ended most recently (on 1 July: Q2)."""
    return quarter_containing(now or timezone.now()).previous()


def open_periods(now=None) -> list[Period]:
    """The current week, month and quarter."""
    now = now or timezone.now()
    return [period_containing(now, kind) for kind in KINDS]


def last_periods(period: Period, count: int) -> list[Period]:
    """`count` periods of the same kind ending with `period`, oldest first."""
    periods = [period]
    while len(periods) < count:
        periods.append(periods[-1].previous())
    return periods[::-1]
