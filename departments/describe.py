"""Business time in words, for every page: durations ("4 business hours", "2 business days"),
working hours ("Mon-Fri 09:00-17:00"), days off ("closed 24-26 Dec"), and the parser of
written durations ("4h", "1h30m") that forms and the org import share.

A business day is the calendar's usual working day (the most common length of its working
days: 8 hours for Mon-Fri 09:00-17:00, 24 for a 24x7 calendar), so that "16 business hours"
reads "2 business days" for a department that works 8 hours a day. Raw timedeltas
("1 day, 16:00:00") are never shown.
"""

from __future__ import annotations

import datetime
import itertools
import re
from collections import Counter

from .business_time import business_schedule
from .choices import EscalationAudience, EscalationThreshold, Priority, TargetSource
from .targets import AGREEMENT_SOURCES

DURATION_PATTERN = re.compile(r"^(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?$")
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOUR = 3600


def parse_business_duration(text: str) -> datetime.timedelta:
    """`30m`, `4h`, `1h30m`, `90s` as a timedelta; ValueError saying how to write it."""
    value = (text or "").strip()
    match = DURATION_PATTERN.match(value)
    if not match or not any(match.groups()):
        if re.fullmatch(r"\d+", value):
            raise ValueError(f"'{value}' has no unit: write e.g. {value}h or {value}m")
        if re.fullmatch(r"\d+\s*(d|days?)", value):
            raise ValueError(
                f"'{value}': days are ambiguous in business time, write hours "
                "(e.g. 16h for two 8-hour days)"
            )
        raise ValueError(f"'{value}' is not a duration (write e.g. 30m, 4h or 1h30m)")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return datetime.timedelta(hours=hours, minutes=minutes, seconds=seconds)


def duration_input(seconds: int | None) -> str:
    """Seconds as a form writes them back: `4h`, `1h30m`, `45m` (the parser's syntax)."""
    if seconds is None:
        return ""
    hours, rest = divmod(int(seconds), HOUR)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text + (f"{secs}s" if secs else "") or "0m"


def working_day_seconds(calendar) -> int | None:
    """The calendar's usual working day in seconds (the most common length of its working
    weekdays, the longer one on a tie); None for a calendar that never works."""
    lengths = [sum(end - start for start, end in day) for day in business_schedule(calendar).week]
    counts = Counter(length for length in lengths if length)
    if not counts:
        return None
    return max(counts, key=lambda length: (counts[length], length))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def business_duration(seconds, *, day_seconds: int | None = None) -> str:
    """Business seconds in words: "45 business minutes", "4 business hours", "2 business
    days", "1 business day 4 hours" (days only with the calendar's `day_seconds`)."""
    seconds = abs(int(seconds or 0))
    if seconds < 60:
        return "less than a business minute" if seconds else "no business time"
    days = 0
    if day_seconds and seconds >= day_seconds:
        days, seconds = divmod(seconds, day_seconds)
    hours, rest = divmod(seconds, HOUR)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(_plural(days, "business day"))
    if hours:
        parts.append(_plural(hours, "hour" if days else "business hour"))
    if minutes:
        parts.append(_plural(minutes, "minute" if parts else "business minute"))
    return " ".join(parts) if parts else _plural(days, "business day")


def calendar_duration(seconds, calendar) -> str:
    """`business_duration` in the calendar's working days."""
    return business_duration(seconds, day_seconds=working_day_seconds(calendar))


def _clock(second_of_day: int) -> str:
    hours, minutes = divmod(second_of_day // 60, 60)
    return f"{hours:02d}:{minutes:02d}"


def working_hours_text(calendar) -> str:
    """ "Mon-Fri 09:00-17:00", "Mon-Fri 07:00-12:00, 13:00-18:00; Sat 08:00-12:00",
    "around the clock" (24x7); "no working hours" for a calendar that never works."""
    week = business_schedule(calendar).week
    if all(day == ((0, 24 * HOUR),) for day in week):
        return "around the clock"
    groups = []
    for intervals, days in itertools.groupby(range(7), key=lambda day: week[day]):
        days = list(days)
        if not intervals:
            continue
        names = WEEKDAY_NAMES[days[0]]
        if len(days) > 1:
            names += f"-{WEEKDAY_NAMES[days[-1]]}"
        hours = ", ".join(f"{_clock(start)}-{_clock(end)}" for start, end in intervals)
        groups.append(f"{names} {hours}")
    return "; ".join(groups) or "no working hours"


def days_off(calendar, first: datetime.date, last: datetime.date) -> list[datetime.date]:
    """The calendar's holidays (public and company) from `first` to `last`, inclusive."""
    schedule = business_schedule(calendar)
    count = (last - first).days + 1
    return [
        day
        for day in (first + datetime.timedelta(days=n) for n in range(max(0, count)))
        if schedule.is_day_off(day)
    ]


def holiday_names(calendar, days: list[datetime.date]) -> dict[datetime.date, str]:
    """A name for each day off: the company's (a BusinessCalendar's rows), else the public
    holiday's, else "company day off" (a calendar version keeps dates only)."""
    schedule = business_schedule(calendar)
    company = {}
    if hasattr(calendar, "working_hours"):
        company = {holiday.date: holiday.name for holiday in calendar.holidays.all()}
    names = {}
    for day in days:
        public = schedule.public_holidays.get(day) if schedule.public_holidays else None
        names[day] = company.get(day) or public or "company day off"
    return names


def next_days_off(calendar, *, today: datetime.date, count: int = 5, within_days: int = 366):
    """The next `count` days off from `today` with their names: [(date, name), ...]."""
    found = []
    schedule = business_schedule(calendar)
    for n in range(within_days):
        day = today + datetime.timedelta(days=n)
        if schedule.is_day_off(day):
            found.append(day)
            if len(found) == count:
                break
    names = holiday_names(calendar, found)
    return [(day, names[day]) for day in found]


def date_ranges_text(days: list[datetime.date]) -> str:
    """Dates as ranges: "24-26 Dec", "31 Dec-1 Jan", "3 Oct, 24-26 Dec"."""
    ranges: list[list[datetime.date]] = []
    for day in sorted(set(days)):
        if ranges and (day - ranges[-1][1]).days == 1:
            ranges[-1][1] = day
        else:
            ranges.append([day, day])
    parts = []
    for first, last in ranges:
        if first == last:
            parts.append(f"{first.day} {first:%b}")
        elif (first.year, first.month) == (last.year, last.month):
            parts.append(f"{first.day}-{last.day} {last:%b}")
        else:
            parts.append(f"{first.day} {first:%b}-{last.day} {last:%b}")
    return ", ".join(parts)


# --- why a target applies ------------------------------------------------------------------


def source_text(
    source: str,
    *,
    agreement=None,
    department_name: str,
    service_name: str = "",
    priority: str = "",
) -> str:
    """Where a target comes from, as the end of a sentence: "under the Sales-IT agreement
    v3", "under IT's target for Printing", "under IT's default target"."""
    if source in AGREEMENT_SOURCES and agreement is not None:
        text = f"under the {agreement.label}"
        if source.endswith("_service") and service_name:
            text += f" for {service_name}"
        return text
    if source == TargetSource.SERVICE:
        return f"under {department_name}'s target for {service_name}"
    if source == TargetSource.DEPARTMENT:
        return f"under {department_name}'s default target"
    if source == TargetSource.FALLBACK:
        return (
            f"under the company fallback ({department_name} has no target for "
            f"{priority or 'this'} priority)"
        )
    return "as the target stood when the clock started"


def hours_text(calendar, *, who: str, own_hours: bool = False) -> str:
    """ "IT works Mon-Fri 09:00-17:00 Europe/Berlin"; "IT answers ... under the agreement"
    when the hours are an agreement's own."""
    hours = working_hours_text(calendar)
    if hours != "around the clock":
        hours = f"{hours} {calendar.timezone}"
    if own_hours:
        return f"{who} answers {hours} under the agreement"
    return f"{who} works {hours}"


def basis_text(
    *,
    seconds: int,
    calendar,
    source: str,
    agreement=None,
    department_name: str,
    service_name: str = "",
    priority: str = "",
    first_day: datetime.date | None = None,
    last_day: datetime.date | None = None,
) -> str:
    """Which target applied and why it is due when it is: "4 business hours under the
    Sales-IT agreement v3; IT works Mon-Fri 09:00-17:00 Europe/Berlin; closed 24-26 Dec"
    (the days off from `first_day` to `last_day`, when there are any)."""
    parts = [
        f"{calendar_duration(seconds, calendar)} "
        + source_text(
            source,
            agreement=agreement,
            department_name=department_name,
            service_name=service_name,
            priority=priority,
        ),
        hours_text(
            calendar,
            who=department_name,
            own_hours=agreement is not None and agreement.calendar_id is not None,
        ),
    ]
    if first_day is not None and last_day is not None:
        closed = days_off(calendar, first_day, last_day)
        if closed:
            parts.append(f"closed {date_ranges_text(closed)}")
    return "; ".join(parts)


# --- an agreement's terms ------------------------------------------------------------------


def target_key(service_id: int | None, priority: str) -> str:
    """How a target row is named where results are stored against it (the scorecards'
    `by_agreement`): "12:normal" for a service's, "all:normal" for every service's."""
    return f"{service_id if service_id is not None else 'all'}:{priority}"


def agreement_target_rows(agreement) -> list[dict]:
    """An agreement's targets in words, in its support hours' (else the provider's) business
    days: every service first, then by service and priority. Reads `agreement.targets`
    with their services, so prefetching `targets__service` (and the calendars' hours) costs
    no query per agreement."""
    day = working_day_seconds(agreement.calendar or agreement.provider.calendar)
    order = {priority: n for n, priority in enumerate(Priority.values)}
    rows = sorted(
        agreement.targets.all(),
        key=lambda t: (
            t.service is not None,
            t.service.name if t.service else "",
            order[t.priority],
        ),
    )
    return [
        {
            "key": target_key(target.service_id, target.priority),
            "service": target.service.name if target.service else "Every service",
            "priority": target.get_priority_display(),
            "first_response": business_duration(target.first_response_seconds, day_seconds=day),
            "resolution": business_duration(target.resolution_seconds, day_seconds=day),
        }
        for target in rows
    ]


def escalation_threshold_text(threshold: str, value: int) -> str:
    """When a level fires, in words: "50% of the target", "4 business hours overdue"."""
    if threshold == EscalationThreshold.SHARE:
        return f"{value}% of the target"
    return f"{business_duration(value)} overdue"


def escalation_audience_text(audiences) -> str:
    """Whom a level tells, in words: "the assignee and the department's managers"."""
    names = [_lower_first(EscalationAudience(audience).label) for audience in audiences]
    if not names:
        return "nobody"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
