"""Business time in words (departments.describe): durations, working hours, days off, and
the written durations the forms and the org import read."""

import datetime

import pytest

from departments.describe import (
    business_duration,
    date_ranges_text,
    duration_input,
    next_days_off,
    parse_business_duration,
    working_day_seconds,
    working_hours_text,
)
from tests.factories import BusinessCalendarFactory, HolidayFactory

HOUR = 3600
DAY = 8 * HOUR


@pytest.mark.parametrize(
    ("seconds", "day", "text"),
    [
        (0, DAY, "no business time"),
        (30, DAY, "less than a business minute"),
        (60, DAY, "1 business minute"),
        (45 * 60, DAY, "45 business minutes"),
        (HOUR, DAY, "1 business hour"),
        (4 * HOUR, DAY, "4 business hours"),
        (4 * HOUR + 30 * 60, DAY, "4 business hours 30 minutes"),
        (8 * HOUR, DAY, "1 business day"),
        (16 * HOUR, DAY, "2 business days"),
        (12 * HOUR, DAY, "1 business day 4 hours"),
        (16 * HOUR + 15 * 60, DAY, "2 business days 15 minutes"),
        (16 * HOUR, None, "16 business hours"),  # no calendar: no days
        (24 * HOUR, 24 * HOUR, "1 business day"),  # around the clock
        (10 * HOUR, 10 * HOUR, "1 business day"),
    ],
)
def test_it_says_business_durations_in_words(seconds, day, text):
    assert business_duration(seconds, day_seconds=day) == text


@pytest.mark.parametrize(
    ("hours", "day"),
    [
        ([(d, "09:00", "17:00") for d in range(5)], 8 * HOUR),
        (
            [(d, "07:00", "12:00") for d in range(5)]
            + [(d, "13:00", "18:00") for d in range(5)]
            + [(5, "08:00", "12:00")],
            10 * HOUR,
        ),
        ([(d, "00:00", "00:00") for d in range(7)], 24 * HOUR),
        ([], None),
    ],
)
def test_a_business_day_is_the_calendars_usual_working_day(db, hours, day):
    assert working_day_seconds(BusinessCalendarFactory(hours=hours)) == day


@pytest.mark.parametrize(
    ("hours", "text"),
    [
        ([(d, "09:00", "17:00") for d in range(5)], "Mon-Fri 09:00-17:00"),
        (
            [(d, "07:00", "12:00") for d in range(5)]
            + [(d, "13:00", "18:00") for d in range(5)]
            + [(5, "08:00", "12:00")],
            "Mon-Fri 07:00-12:00, 13:00-18:00; Sat 08:00-12:00",
        ),
        ([(0, "09:00", "17:00"), (2, "09:00", "17:00")], "Mon 09:00-17:00; Wed 09:00-17:00"),
        ([(d, "00:00", "00:00") for d in range(7)], "around the clock"),
        ([(d, "20:00", "00:00") for d in range(5)], "Mon-Fri 20:00-24:00"),
        ([], "no working hours"),
    ],
)
def test_it_says_working_hours_in_words(db, hours, text):
    assert working_hours_text(BusinessCalendarFactory(hours=hours)) == text


def test_it_lists_the_next_days_off_with_their_names(db):
    calendar = BusinessCalendarFactory(holiday_country="DE", holiday_subdivision="BE")
    HolidayFactory(calendar=calendar, date=datetime.date(2026, 12, 24), name="Christmas Eve")

    days = next_days_off(calendar, today=datetime.date(2026, 12, 20), count=3)

    assert [day for day, _ in days] == [
        datetime.date(2026, 12, 24),
        datetime.date(2026, 12, 25),
        datetime.date(2026, 12, 26),
    ]
    assert days[0][1] == "Christmas Eve"
    assert all(name for _, name in days)


@pytest.mark.parametrize(
    ("days", "text"),
    [
        ([(12, 24)], "24 Dec"),
        ([(12, 24), (12, 25), (12, 26)], "24-26 Dec"),
        ([(12, 31), (1, 1)], "31 Dec-1 Jan"),
        ([(10, 3), (12, 25), (12, 24)], "3 Oct, 24-25 Dec"),
    ],
)
def test_it_says_days_as_ranges(days, text):
    dates = [datetime.date(2027 if month == 1 else 2026, month, day) for month, day in days]

    assert date_ranges_text(dates) == text


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("4h", 4 * HOUR), ("1h30m", 5400), ("90s", 90), ("1h 15m", 4500)],
)
def test_it_reads_written_durations_and_writes_them_back(text, seconds):
    assert parse_business_duration(text) == datetime.timedelta(seconds=seconds)
    assert parse_business_duration(duration_input(seconds)).total_seconds() == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("4", "'4' has no unit: write e.g. 4h or 4m"),
        ("2d", "'2d': days are ambiguous in business time"),
        ("soon", "'soon' is not a duration (write e.g. 30m, 4h or 1h30m)"),
        ("", "'' is not a duration"),
    ],
)
def test_it_says_how_to_write_a_duration(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_business_duration(text)
