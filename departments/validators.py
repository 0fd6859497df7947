import itertools
import zoneinfo

import holidays
from django.core.exceptions import ValidationError

from .choices import Weekday


def validate_timezone(value: str) -> None:
    """An IANA timezone name such as Europe/Berlin."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValidationError(
            "%(value)s is not a known timezone (use an IANA name such as Europe/Berlin).",
            params={"value": value},
            code="invalid_timezone",
        ) from exc


def validate_holiday_country(value: str) -> None:
    """An ISO 3166 country code that the `holidays` package knows."""
    if value and value not in holidays.list_supported_countries():
        raise ValidationError(
            "%(value)s is not a country the holidays package knows (use an ISO code such as DE).",
            params={"value": value},
            code="invalid_country",
        )


def minutes_of(start, end) -> tuple[int, int]:
    """A working interval as minutes from midnight; an end of 00:00 is midnight at day's end."""
    start_minutes = start.hour * 60 + start.minute
    end_minutes = end.hour * 60 + end.minute or 24 * 60
    return start_minutes, end_minutes


def validate_working_hours(rows) -> None:
    """Check (weekday, start, end) rows: each ends after it starts, none overlap on a day."""
    by_day: dict[int, list[tuple[int, int]]] = {}
    for weekday, start, end in rows:
        start_minutes, end_minutes = minutes_of(start, end)
        if end_minutes <= start_minutes:
            raise ValidationError(
                "Working hours on %(day)s end (%(end)s) before they start (%(start)s).",
                params={"day": Weekday(weekday).label, "start": start, "end": end},
                code="end_before_start",
            )
        by_day.setdefault(weekday, []).append((start_minutes, end_minutes))
    for weekday, intervals in by_day.items():
        intervals.sort()
        for (_, previous_end), (next_start, _) in itertools.pairwise(intervals):
            if next_start < previous_end:
                raise ValidationError(
                    "Working hours overlap on %(day)s.",
                    params={"day": Weekday(weekday).label},
                    code="overlap",
                )
