"""Writes for departments."""

import hashlib
import json

from .models import BusinessCalendar, CalendarVersion


def calendar_rules(calendar: BusinessCalendar) -> dict:
    """Everything that decides business time, as plain data."""
    return {
        "timezone": calendar.timezone,
        "holiday_country": calendar.holiday_country,
        "holiday_subdivision": calendar.holiday_subdivision,
        "hours": sorted(
            [row.weekday, row.start.strftime("%H:%M"), row.end.strftime("%H:%M")]
            for row in calendar.working_hours.all()
        ),
        "custom_holidays": sorted(
            d.isoformat() for d in calendar.holidays.values_list("date", flat=True)
        ),
    }


def calendar_version_current(*, calendar: BusinessCalendar) -> CalendarVersion:
    """The immutable version of the calendar's current rules, created on first use."""
    rules = calendar_rules(calendar)
    digest = hashlib.sha256(json.dumps(rules, sort_keys=True).encode()).hexdigest()
    version, _ = CalendarVersion.objects.get_or_create(
        calendar=calendar, digest=digest, defaults=rules
    )
    return version
