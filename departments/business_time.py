"""Business time: real seconds inside a calendar's working hours, exact across DST and holidays.

Working hours are wall-clock intervals in the calendar's timezone. A boundary at wall time `w`
on a date is the first instant at which the local clock shows `w` or later:

- an ambiguous time (clocks go back) is its first occurrence, as with `fold=0`, so a 24x7 day
  holds 25 hours and an interval 02:00-03:00 in the repeated hour holds both passes (2 hours);
- a time that does not exist (clocks go forward) is the instant the clocks jump, so an interval
  02:00-03:00 on the spring-forward day in Berlin holds 0 seconds and 02:30-03:30 holds 30
  minutes. zoneinfo's own `fold=0` reading of a skipped time would land after the jump and
  could make an interval end before it starts; the jump instant keeps the mapping monotonic.

Instants are counted in whole seconds: an input with microseconds is truncated to its second
(towards the past) before counting, so `business_seconds_between` is exactly additive and
`business_seconds_between(c, s, add_business_seconds(c, s, n)) == n` holds for every input.

The functions take a `BusinessCalendar` or a `CalendarVersion` (a frozen copy of a calendar's
rules). A calendar's working week and holiday dates are loaded once and cached on the instance
(`business_schedule`); call `calendar_schedule_clear` after changing its hours or holidays.
Versions are immutable and share one schedule per digest within the process.
"""

import datetime
import operator
import zoneinfo

import holidays as holidays_package

from .validators import minutes_of

UTC = datetime.UTC
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_ORDINAL = EPOCH.date().toordinal()
DAY_SECONDS = 24 * 60 * 60
ONE_SECOND = datetime.timedelta(seconds=1)
# A calendar that works at some point but not for this long (holidays on every working day)
# is treated as broken rather than scanned for ever.
MAX_DAYS_WITHOUT_WORK = 3660
# Memoised days per schedule; a long scan would otherwise keep every day it ever saw.
DAY_CACHE_LIMIT = 20_000

# Calendar versions whose schedules stay in memory across instances (see business_schedule).
SHARED_SCHEDULE_LIMIT = 256

Intervals = tuple[tuple[int, int], ...]


class BusinessSchedule:
    """A calendar's working week and days off, with each day's UTC intervals memoised."""

    __slots__ = ("_days", "holiday_dates", "public_holidays", "source", "week", "zone")

    def __init__(self, *, timezone, country, subdivision, week, holiday_dates):
        self.source = (timezone, country, subdivision)
        self.zone = zoneinfo.ZoneInfo(timezone)
        # Seconds from local midnight, merged and sorted, one tuple per weekday (0 = Monday).
        self.week: tuple[Intervals, ...] = week
        self.holiday_dates = frozenset(holiday_dates)
        # The holidays object fills in years on first use, so a scan pays only for the years
        # it touches.
        self.public_holidays = (
            holidays_package.country_holidays(country, subdiv=subdivision or None)
            if country
            else None
        )
        self._days: dict[int, Intervals] = {}

    @property
    def has_working_time(self) -> bool:
        return any(self.week)

    def is_day_off(self, day: datetime.date) -> bool:
        return day in self.holiday_dates or (
            self.public_holidays is not None and day in self.public_holidays
        )

    def day_intervals(self, ordinal: int) -> Intervals:
        """Working intervals of a local date (by ordinal) as sorted UTC epoch-second pairs."""
        intervals = self._days.get(ordinal)
        if intervals is not None:
            return intervals
        day = datetime.date.fromordinal(ordinal)
        if self.is_day_off(day):
            intervals = ()
        else:
            pairs = (
                (self.wall_to_utc(ordinal, start), self.wall_to_utc(ordinal, end))
                for start, end in self.week[day.weekday()]
            )
            # An interval swallowed by a spring-forward gap is empty and would only cost time.
            intervals = tuple((begin, end) for begin, end in pairs if end > begin)
        if len(self._days) >= DAY_CACHE_LIMIT:
            self._days.clear()
        self._days[ordinal] = intervals
        return intervals

    def local_ordinal(self, instant: int) -> int:
        """The local date (as an ordinal) on which a UTC epoch second falls."""
        return (EPOCH + datetime.timedelta(seconds=instant)).astimezone(self.zone).toordinal()

    def wall_at(self, instant: int) -> int:
        """The local wall clock at a UTC epoch second, as seconds since the local epoch."""
        local = (EPOCH + datetime.timedelta(seconds=instant)).astimezone(self.zone)
        return instant + local.utcoffset() // ONE_SECOND

    def wall_to_utc(self, ordinal: int, second_of_day: int) -> int:
        """The first UTC epoch second at which the local clock shows this wall time or later."""
        wall = (ordinal - EPOCH_ORDINAL) * DAY_SECONDS + second_of_day
        local = (
            datetime.datetime.fromordinal(ordinal) + datetime.timedelta(seconds=second_of_day)
        ).replace(tzinfo=self.zone)
        # fold=0 is the first occurrence of an ambiguous time, which is what we want.
        first = wall - local.utcoffset() // ONE_SECOND
        if self.wall_at(first) == wall:
            return first
        # The wall time falls in a gap: the jump happens between its two readings, and
        # a bisection on the clock finds it to the second (a dozen steps, once a year).
        other = wall - local.replace(fold=1).utcoffset() // ONE_SECOND
        low, high = min(first, other), max(first, other)
        while low < high:
            middle = (low + high) // 2
            if self.wall_at(middle) >= wall:
                high = middle
            else:
                low = middle + 1
        return high


_SHARED_SCHEDULES: dict[str, BusinessSchedule] = {}


def _week_of(rows) -> tuple[Intervals, ...]:
    days: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    for weekday, start, end in rows:
        start_minutes, end_minutes = minutes_of(start, end)
        if end_minutes > start_minutes:
            days[weekday].append((start_minutes * 60, end_minutes * 60))
    week = []
    for intervals in days:
        # Validation forbids overlaps, but the database does not: merging means an overlap
        # can never count the same second twice.
        merged: list[tuple[int, int]] = []
        for start, end in sorted(intervals):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        week.append(tuple(merged))
    return tuple(week)


def _source_of(calendar) -> tuple[str, str, str]:
    return (calendar.timezone, calendar.holiday_country, calendar.holiday_subdivision)


def _schedule_load(calendar) -> BusinessSchedule:
    timezone, country, subdivision = _source_of(calendar)
    if hasattr(calendar, "working_hours"):
        # A BusinessCalendar. .all() rather than values_list() so that
        # prefetch_related("working_hours", "holidays") makes loading free.
        rows = [(h.weekday, h.start, h.end) for h in calendar.working_hours.all()]
        holiday_dates = [holiday.date for holiday in calendar.holidays.all()]
    else:
        # A frozen copy of the rules (CalendarVersion): plain data, no query.
        rows = [
            (weekday, datetime.time.fromisoformat(start), datetime.time.fromisoformat(end))
            for weekday, start, end in calendar.hours
        ]
        holiday_dates = [datetime.date.fromisoformat(day) for day in calendar.custom_holidays]
    return BusinessSchedule(
        timezone=timezone,
        country=country,
        subdivision=subdivision,
        week=_week_of(rows),
        holiday_dates=holiday_dates,
    )


def business_schedule(calendar) -> BusinessSchedule:
    """The calendar's schedule, loaded once (two queries, none if prefetched) and cached."""
    schedule = getattr(calendar, "_business_schedule", None)
    # A changed timezone or country on the instance is noticed; changed rows are not.
    if schedule is not None and schedule.source == _source_of(calendar):
        return schedule
    # Frozen rules never change, so every instance with the same digest (one per clock in a
    # scan) can share one schedule and its memoised days.
    digest = getattr(calendar, "digest", None)
    schedule = _SHARED_SCHEDULES.get(digest) if digest else None
    if schedule is None or schedule.source != _source_of(calendar):
        schedule = _schedule_load(calendar)
        if digest:
            if len(_SHARED_SCHEDULES) >= SHARED_SCHEDULE_LIMIT:
                _SHARED_SCHEDULES.clear()
            _SHARED_SCHEDULES[digest] = schedule
    calendar._business_schedule = schedule
    return schedule


def calendar_schedule_clear(calendar) -> None:
    """Forget the cached schedule so the next call reloads hours and holidays."""
    calendar.__dict__.pop("_business_schedule", None)


def _working_schedule(calendar) -> BusinessSchedule:
    schedule = business_schedule(calendar)
    if not schedule.has_working_time:
        raise ValueError(
            f"Business calendar {str(calendar)!r} has no working hours, "
            "so no business time ever passes."
        )
    return schedule


def _epoch_second(moment: datetime.datetime, name: str) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {moment!r}.")
    return (moment - EPOCH) // ONE_SECOND


def _datetime_of(instant: int) -> datetime.datetime:
    return EPOCH + datetime.timedelta(seconds=instant)


def add_business_seconds(calendar, start: datetime.datetime, seconds: int) -> datetime.datetime:
    """The earliest instant (in UTC) by which `seconds` business seconds have passed."""
    seconds = operator.index(seconds)
    if seconds < 0:
        raise ValueError(f"seconds must not be negative, got {seconds}.")
    start_second = _epoch_second(start, "start")
    if seconds == 0:
        # Nothing has to elapse, so not even a closed calendar matters.
        return start.astimezone(UTC)
    schedule = _working_schedule(calendar)
    remaining = seconds
    # Start a day early: after a fall-back at midnight the previous date can reach past start.
    ordinal = schedule.local_ordinal(start_second) - 1
    days_without_work = 0
    while True:
        intervals = schedule.day_intervals(ordinal)
        for begin, end in intervals:
            if end <= start_second:
                continue
            begin = max(begin, start_second)
            available = end - begin
            # ">=" so that using up a day exactly ends at its closing time.
            if available >= remaining:
                return _datetime_of(begin + remaining)
            remaining -= available
        days_without_work = 0 if intervals else days_without_work + 1
        if days_without_work > MAX_DAYS_WITHOUT_WORK:
            raise ValueError(
                f"Business calendar {str(calendar)!r} has no working time in the "
                f"{MAX_DAYS_WITHOUT_WORK} days after {_datetime_of(start_second)}: "
                "check its holidays."
            )
        ordinal += 1


def business_seconds_between(calendar, start: datetime.datetime, end: datetime.datetime) -> int:
    """Business seconds from start to end (0 when end is not after start)."""
    start_second = _epoch_second(start, "start")
    end_second = _epoch_second(end, "end")
    if end_second <= start_second:
        return 0
    schedule = _working_schedule(calendar)
    total = 0
    # One day of margin each side, for dates that overlap across a fall-back at midnight.
    first_ordinal = schedule.local_ordinal(start_second) - 1
    last_ordinal = schedule.local_ordinal(end_second) + 1
    for ordinal in range(first_ordinal, last_ordinal + 1):
        for begin, finish in schedule.day_intervals(ordinal):
            if begin >= end_second:
                return total
            if finish > start_second:
                total += min(finish, end_second) - max(begin, start_second)
    return total


def is_business_time(calendar, moment: datetime.datetime) -> bool:
    """Whether the calendar is working at this instant (opening time yes, closing time no)."""
    instant = _epoch_second(moment, "moment")
    schedule = business_schedule(calendar)
    ordinal = schedule.local_ordinal(instant)
    return any(
        begin <= instant < end
        for day in (ordinal - 1, ordinal, ordinal + 1)
        for begin, end in schedule.day_intervals(day)
    )
