import datetime
import uuid
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from departments.business_time import (
    add_business_seconds,
    business_schedule,
    business_seconds_between,
    calendar_schedule_clear,
    is_business_time,
)
from departments.models import BusinessCalendar, CalendarVersion, Holiday
from tests.factories import BusinessCalendarFactory, HolidayFactory

UTC = datetime.UTC
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
HOUR = 3600
SECOND = datetime.timedelta(seconds=1)

WEEKDAYS_9_TO_5 = [(day, "09:00", "17:00") for day in range(5)]
SPLIT_SHIFT = [
    (day, start, end) for day in range(5) for start, end in [("09:00", "12:00"), ("13:00", "17:00")]
]
ROUND_THE_CLOCK = [(day, "00:00", "00:00") for day in range(7)]


def at(zone, *args):
    return datetime.datetime(*args, tzinfo=zone)


# Fixed dates throughout: the clock stands still too.
pytestmark = pytest.mark.clock(datetime.datetime(2026, 11, 23, 10, tzinfo=BERLIN))


@pytest.fixture
def berlin_office(db):
    return BusinessCalendarFactory(hours=WEEKDAYS_9_TO_5, timezone="Europe/Berlin")


@pytest.fixture
def german_office(db):
    return BusinessCalendarFactory(
        hours=WEEKDAYS_9_TO_5, timezone="Europe/Berlin", holiday_country="DE"
    )


@pytest.fixture
def new_york_split(db):
    return BusinessCalendarFactory(hours=SPLIT_SHIFT, timezone="America/New_York")


# Daylight-saving changes

DST_WEEKENDS = [
    # (zone, Friday 16:00 local before the change, Monday 10:00 local after it, in UTC)
    pytest.param(BERLIN, at(BERLIN, 2026, 3, 27, 16), at(UTC, 2026, 3, 30, 8), id="berlin-spring"),
    pytest.param(BERLIN, at(BERLIN, 2026, 10, 23, 16), at(UTC, 2026, 10, 26, 9), id="berlin-fall"),
    pytest.param(
        NEW_YORK, at(NEW_YORK, 2026, 3, 6, 16), at(UTC, 2026, 3, 9, 14), id="new-york-spring"
    ),
    pytest.param(
        NEW_YORK, at(NEW_YORK, 2026, 10, 30, 16), at(UTC, 2026, 11, 2, 15), id="new-york-fall"
    ),
]


@pytest.mark.parametrize(("zone", "friday", "monday"), DST_WEEKENDS)
def test_it_keeps_office_hours_on_the_wall_clock_across_a_dst_weekend(db, zone, friday, monday):
    calendar = BusinessCalendarFactory(hours=WEEKDAYS_9_TO_5, timezone=zone.key)

    assert add_business_seconds(calendar, friday, 2 * HOUR) == monday
    assert business_seconds_between(calendar, friday, monday) == 2 * HOUR


@pytest.mark.parametrize(
    ("zone", "monday"),
    [
        pytest.param(BERLIN, datetime.date(2026, 3, 23), id="berlin-spring"),
        pytest.param(BERLIN, datetime.date(2026, 10, 19), id="berlin-fall"),
        pytest.param(NEW_YORK, datetime.date(2026, 3, 2), id="new-york-spring"),
        pytest.param(NEW_YORK, datetime.date(2026, 10, 26), id="new-york-fall"),
    ],
)
def test_it_counts_forty_hours_in_an_office_week_with_a_dst_change(db, zone, monday):
    calendar = BusinessCalendarFactory(hours=WEEKDAYS_9_TO_5, timezone=zone.key)
    start = datetime.datetime.combine(monday, datetime.time(0), zone)

    assert business_seconds_between(calendar, start, start + datetime.timedelta(days=7)) == (
        40 * HOUR
    )


@pytest.mark.parametrize(
    ("zone", "sunday", "hours", "next_midnight"),
    [
        pytest.param(
            BERLIN, datetime.date(2026, 3, 29), 23, at(UTC, 2026, 3, 29, 22), id="berlin-spring"
        ),
        pytest.param(
            BERLIN, datetime.date(2026, 10, 25), 25, at(UTC, 2026, 10, 25, 23), id="berlin-fall"
        ),
        pytest.param(
            NEW_YORK, datetime.date(2026, 3, 8), 23, at(UTC, 2026, 3, 9, 4), id="new-york-spring"
        ),
        pytest.param(
            NEW_YORK, datetime.date(2026, 11, 1), 25, at(UTC, 2026, 11, 2, 5), id="new-york-fall"
        ),
    ],
)
def test_it_gives_a_round_the_clock_dst_day_its_real_length(db, zone, sunday, hours, next_midnight):
    calendar = BusinessCalendarFactory(hours=ROUND_THE_CLOCK, timezone=zone.key)
    midnight = datetime.datetime.combine(sunday, datetime.time(0), zone)
    week_start = midnight - datetime.timedelta(days=6)

    assert business_seconds_between(calendar, midnight, next_midnight) == hours * HOUR
    assert add_business_seconds(calendar, midnight, hours * HOUR) == next_midnight
    # The rest of the week has six ordinary days.
    assert business_seconds_between(calendar, week_start, next_midnight) == (
        (6 * 24 + hours) * HOUR
    )


def test_it_handles_clocks_that_change_at_midnight(db):
    # Santiago goes back from Saturday 24:00 to 23:00 in April and forward from Saturday
    # 24:00 to Sunday 01:00 in September.
    calendar = BusinessCalendarFactory(hours=ROUND_THE_CLOCK, timezone="America/Santiago")
    first_hour_on_sunday = BusinessCalendarFactory(
        hours=[(6, "00:00", "01:00")], timezone="America/Santiago"
    )
    april_saturday = at(UTC, 2026, 4, 4, 3)  # 00:00 -03
    april_sunday = at(UTC, 2026, 4, 5, 4)  # 00:00 -04, after the repeated hour
    september_saturday = at(UTC, 2026, 9, 5, 4)  # 00:00 -04
    september_sunday = at(UTC, 2026, 9, 6, 4)  # 01:00 -03: Sunday 00:00 is skipped
    september_monday = at(UTC, 2026, 9, 7, 3)  # 00:00 -03

    assert business_seconds_between(calendar, april_saturday, april_sunday) == 25 * HOUR
    assert add_business_seconds(calendar, april_saturday, 25 * HOUR) == april_sunday
    assert business_seconds_between(calendar, september_saturday, september_sunday) == 24 * HOUR
    assert business_seconds_between(calendar, september_sunday, september_monday) == 23 * HOUR
    assert business_seconds_between(first_hour_on_sunday, april_saturday, september_monday) == (
        # Every Sunday from April 5 to August 30 has its first hour; September 6 has none.
        22 * HOUR
    )
    assert is_business_time(first_hour_on_sunday, april_sunday)
    assert not is_business_time(first_hour_on_sunday, september_sunday)


def test_it_counts_nothing_in_the_hour_skipped_by_spring_forward(db):
    skipped = BusinessCalendarFactory(hours=[(6, "02:00", "03:00")])
    half_skipped = BusinessCalendarFactory(hours=[(6, "02:30", "03:30")])
    saturday = at(BERLIN, 2026, 3, 28, 12)
    monday = at(BERLIN, 2026, 3, 30, 0)

    assert business_seconds_between(skipped, saturday, monday) == 0
    # Only 03:00-03:30 summer time exists that night.
    assert business_seconds_between(half_skipped, saturday, monday) == HOUR // 2
    # The skipped Sunday is passed over: the next working hour is a week later, 02:00 CEST.
    assert add_business_seconds(skipped, saturday, 1) == at(UTC, 2026, 4, 5, 0, 0, 1)
    assert add_business_seconds(half_skipped, saturday, 1) == at(UTC, 2026, 3, 29, 1, 0, 1)


def test_it_counts_both_passes_of_the_hour_repeated_by_fall_back(db):
    repeated = BusinessCalendarFactory(hours=[(6, "02:00", "03:00")])
    # An end inside the repeated hour is its first pass (fold=0): 00:00-02:30 CEST.
    ends_in_repeat = BusinessCalendarFactory(hours=[(6, "00:00", "02:30")])
    saturday = at(BERLIN, 2026, 10, 24, 12)
    monday = at(BERLIN, 2026, 10, 26, 0)

    assert business_seconds_between(repeated, saturday, monday) == 2 * HOUR
    assert add_business_seconds(repeated, saturday, 2 * HOUR) == at(UTC, 2026, 10, 25, 2)
    assert business_seconds_between(ends_in_repeat, saturday, monday) == 2 * HOUR + HOUR // 2
    assert add_business_seconds(ends_in_repeat, saturday, 1) == at(UTC, 2026, 10, 24, 22, 0, 1)


# Holidays


def test_it_skips_easter_over_a_german_bank_holiday_weekend(german_office):
    maundy_thursday = at(BERLIN, 2026, 4, 2, 16)
    tuesday_after_easter = at(UTC, 2026, 4, 7, 8)  # 10:00 CEST

    assert add_business_seconds(german_office, maundy_thursday, 2 * HOUR) == tuesday_after_easter
    assert business_seconds_between(german_office, maundy_thursday, tuesday_after_easter) == (
        2 * HOUR
    )


def test_it_skips_whit_monday_for_a_friday_evening_request(german_office):
    friday_evening = at(BERLIN, 2026, 5, 22, 18)

    assert add_business_seconds(german_office, friday_evening, HOUR) == at(UTC, 2026, 5, 26, 8)
    assert business_seconds_between(german_office, friday_evening, at(BERLIN, 2026, 5, 26, 0)) == 0


def test_it_works_on_german_holidays_without_a_holiday_country(berlin_office):
    friday_evening = at(BERLIN, 2026, 5, 22, 18)

    assert add_business_seconds(berlin_office, friday_evening, HOUR) == at(UTC, 2026, 5, 25, 8)


def test_it_applies_the_holidays_of_the_subdivision(db):
    bavaria = BusinessCalendarFactory(holiday_country="DE", holiday_subdivision="BY")
    berlin = BusinessCalendarFactory(holiday_country="DE", holiday_subdivision="BE")
    epiphany = at(BERLIN, 2026, 1, 6, 0)
    next_day = at(BERLIN, 2026, 1, 7, 0)

    assert business_seconds_between(bavaria, epiphany, next_day) == 0
    assert business_seconds_between(berlin, epiphany, next_day) == 8 * HOUR


def test_it_skips_a_custom_holiday(berlin_office):
    HolidayFactory(calendar=berlin_office, date=datetime.date(2026, 12, 21), name="Closing")
    friday_evening = at(BERLIN, 2026, 12, 18, 17, 30)

    # Monday is off: a full day's work ends on Tuesday at 17:00 CET.
    assert add_business_seconds(berlin_office, friday_evening, 8 * HOUR) == at(
        UTC, 2026, 12, 22, 16
    )
    assert business_seconds_between(berlin_office, friday_evening, at(BERLIN, 2026, 12, 23, 0)) == (
        8 * HOUR
    )


def test_it_starts_counting_after_a_holiday_when_started_on_it(german_office):
    easter_monday = at(BERLIN, 2026, 4, 6, 11)

    assert add_business_seconds(german_office, easter_monday, HOUR) == at(UTC, 2026, 4, 7, 8)
    assert business_seconds_between(german_office, easter_monday, at(BERLIN, 2026, 4, 6, 16)) == 0
    assert not is_business_time(german_office, easter_monday)


# Working hours


def test_it_resumes_after_the_lunch_break_when_started_in_it(new_york_split):
    lunch = at(NEW_YORK, 2026, 6, 15, 12, 30)

    assert add_business_seconds(new_york_split, lunch, HOUR) == at(UTC, 2026, 6, 15, 18)
    assert business_seconds_between(new_york_split, lunch, at(NEW_YORK, 2026, 6, 15, 13, 30)) == (
        HOUR // 2
    )


def test_it_ends_a_morning_shift_exactly_at_noon(new_york_split):
    morning = at(NEW_YORK, 2026, 6, 15, 9)

    assert add_business_seconds(new_york_split, morning, 3 * HOUR) == at(UTC, 2026, 6, 15, 16)
    assert add_business_seconds(new_york_split, morning, 3 * HOUR + 1) == at(
        UTC, 2026, 6, 15, 17, 0, 1
    )
    assert add_business_seconds(new_york_split, morning, 7 * HOUR) == at(UTC, 2026, 6, 15, 21)
    assert business_seconds_between(
        new_york_split, at(NEW_YORK, 2026, 6, 15, 11), at(NEW_YORK, 2026, 6, 15, 14)
    ) == (2 * HOUR)


def test_it_ends_a_full_day_at_closing_time_not_next_morning(berlin_office):
    monday = at(BERLIN, 2026, 6, 15, 9)

    assert add_business_seconds(berlin_office, monday, 8 * HOUR) == at(UTC, 2026, 6, 15, 15)
    assert add_business_seconds(berlin_office, monday, 8 * HOUR + 1) == at(
        UTC, 2026, 6, 16, 7, 0, 1
    )


def test_it_counts_every_second_on_a_round_the_clock_calendar(db):
    calendar = BusinessCalendarFactory(hours=ROUND_THE_CLOCK)
    new_year = at(UTC, 2026, 1, 1)

    assert business_seconds_between(calendar, new_year, at(UTC, 2027, 1, 1)) == 365 * 24 * HOUR
    assert add_business_seconds(calendar, at(BERLIN, 2026, 6, 13, 23, 59), 90) == at(
        UTC, 2026, 6, 13, 22, 0, 30
    )


def test_it_starts_at_opening_time_when_started_before_it(berlin_office):
    early = at(BERLIN, 2026, 6, 15, 7)
    saturday = at(BERLIN, 2026, 6, 13, 10)

    assert add_business_seconds(berlin_office, early, HOUR) == at(UTC, 2026, 6, 15, 8)
    assert add_business_seconds(berlin_office, saturday, HOUR) == at(UTC, 2026, 6, 15, 8)
    assert business_seconds_between(berlin_office, saturday, at(BERLIN, 2026, 6, 15, 10)) == HOUR


def test_it_carries_the_rest_of_a_day_over_when_started_inside_hours(berlin_office):
    afternoon = at(BERLIN, 2026, 6, 15, 15)

    assert add_business_seconds(berlin_office, afternoon, 3 * HOUR) == at(UTC, 2026, 6, 16, 8)
    assert business_seconds_between(berlin_office, afternoon, at(BERLIN, 2026, 6, 19, 12)) == (
        2 * HOUR + 3 * 8 * HOUR + 3 * HOUR
    )


def test_it_accepts_any_timezone_and_answers_in_utc(berlin_office):
    tokyo_afternoon = at(TOKYO, 2026, 6, 15, 16)  # 09:00 in Berlin

    result = add_business_seconds(berlin_office, tokyo_afternoon, HOUR)

    assert result == at(UTC, 2026, 6, 15, 8)
    assert result.tzinfo is UTC
    assert business_seconds_between(
        berlin_office, tokyo_afternoon, at(NEW_YORK, 2026, 6, 15, 4)
    ) == (HOUR)


def test_it_returns_the_start_for_zero_seconds_even_outside_hours(berlin_office):
    sunday = at(BERLIN, 2026, 6, 14, 3, 4, 5, 678)

    result = add_business_seconds(berlin_office, sunday, 0)

    assert result == sunday
    assert result.microsecond == 678


def test_it_counts_whole_seconds_from_truncated_inputs(berlin_office):
    opening = at(BERLIN, 2026, 6, 15, 9)

    assert add_business_seconds(
        berlin_office, opening + datetime.timedelta(microseconds=500_000), 1
    ) == (at(UTC, 2026, 6, 15, 7, 0, 1))
    assert (
        business_seconds_between(
            berlin_office, opening + datetime.timedelta(microseconds=999_999), opening + SECOND
        )
        == 1
    )
    assert (
        business_seconds_between(
            berlin_office, opening, opening + datetime.timedelta(microseconds=999_999)
        )
        == 0
    )


def test_it_returns_zero_when_the_end_is_not_after_the_start(berlin_office):
    monday = at(BERLIN, 2026, 6, 15, 10)

    assert business_seconds_between(berlin_office, monday, monday) == 0
    assert (
        business_seconds_between(berlin_office, monday, monday - datetime.timedelta(hours=1)) == 0
    )


def test_it_rejects_negative_seconds_and_naive_datetimes(berlin_office):
    with pytest.raises(ValueError, match="negative"):
        add_business_seconds(berlin_office, at(BERLIN, 2026, 6, 15, 10), -1)
    with pytest.raises(ValueError, match="aware"):
        add_business_seconds(berlin_office, datetime.datetime(2026, 6, 15, 10), 1)
    with pytest.raises(ValueError, match="aware"):
        business_seconds_between(
            berlin_office, at(BERLIN, 2026, 6, 15, 10), datetime.datetime(2026, 6, 16)
        )


def test_it_refuses_a_calendar_without_working_hours(db):
    calendar = BusinessCalendarFactory(name="Closed", hours=[])
    monday = at(BERLIN, 2026, 6, 15, 10)

    with pytest.raises(ValueError, match="'Closed' has no working hours"):
        add_business_seconds(calendar, monday, 1)
    with pytest.raises(ValueError, match="'Closed' has no working hours"):
        business_seconds_between(calendar, monday, monday + datetime.timedelta(days=1))
    assert not is_business_time(calendar, monday)


def test_it_gives_up_on_a_calendar_that_is_on_holiday_for_years(db):
    calendar = BusinessCalendarFactory(name="Mondays", hours=[(0, "09:00", "17:00")])
    first_monday = datetime.date(2026, 1, 5)
    Holiday.objects.bulk_create(
        Holiday(calendar=calendar, date=first_monday + datetime.timedelta(weeks=week), name="Off")
        for week in range(12 * 53)
    )

    with pytest.raises(ValueError, match="'Mondays' has no working time in the 3660 days"):
        add_business_seconds(calendar, at(BERLIN, 2026, 1, 1), 1)


def test_it_tells_business_time_at_the_edges_of_the_day(berlin_office):
    assert is_business_time(berlin_office, at(BERLIN, 2026, 6, 15, 9))
    assert is_business_time(berlin_office, at(BERLIN, 2026, 6, 15, 16, 59, 59))
    assert not is_business_time(berlin_office, at(BERLIN, 2026, 6, 15, 17))
    assert not is_business_time(berlin_office, at(BERLIN, 2026, 6, 15, 8, 59, 59))
    assert not is_business_time(berlin_office, at(BERLIN, 2026, 6, 13, 12))


# Loading


def test_it_loads_a_calendar_once_and_then_makes_no_query(german_office, django_assert_num_queries):
    HolidayFactory(calendar=german_office, date=datetime.date(2026, 6, 16))
    calendar = BusinessCalendar.objects.get(pk=german_office.pk)
    monday = at(BERLIN, 2026, 6, 15, 10)

    with django_assert_num_queries(2):
        add_business_seconds(calendar, monday, HOUR)
    with django_assert_num_queries(0):
        for day in range(50):
            start = monday + datetime.timedelta(days=day)
            add_business_seconds(calendar, start, 20 * HOUR)
            business_seconds_between(calendar, start, start + datetime.timedelta(days=9))
            is_business_time(calendar, start)
    # The custom holiday on Tuesday was loaded along with the hours: 7h Monday, 1h Wednesday.
    assert add_business_seconds(calendar, monday, 8 * HOUR) == at(UTC, 2026, 6, 17, 8)


def test_it_makes_no_query_for_a_prefetched_calendar(berlin_office, django_assert_num_queries):
    calendar = BusinessCalendar.objects.prefetch_related("working_hours", "holidays").get(
        pk=berlin_office.pk
    )

    with django_assert_num_queries(0):
        assert add_business_seconds(calendar, at(BERLIN, 2026, 6, 15, 9), HOUR) == at(
            UTC, 2026, 6, 15, 8
        )


def test_it_reloads_the_schedule_after_a_clear(berlin_office, django_assert_num_queries):
    monday = at(BERLIN, 2026, 6, 15, 9)
    assert add_business_seconds(berlin_office, monday, HOUR) == at(UTC, 2026, 6, 15, 8)
    HolidayFactory(calendar=berlin_office, date=datetime.date(2026, 6, 15))

    # The cached schedule has not seen the new holiday yet.
    assert add_business_seconds(berlin_office, monday, HOUR) == at(UTC, 2026, 6, 15, 8)
    calendar_schedule_clear(berlin_office)
    with django_assert_num_queries(2):
        assert add_business_seconds(berlin_office, monday, HOUR) == at(UTC, 2026, 6, 16, 8)


def test_it_notices_a_new_timezone_on_the_instance(berlin_office):
    monday = at(UTC, 2026, 6, 15, 7)
    schedule = business_schedule(berlin_office)

    berlin_office.timezone = "America/New_York"

    assert business_schedule(berlin_office) is not schedule
    assert add_business_seconds(berlin_office, monday, HOUR) == at(UTC, 2026, 6, 15, 14)


def test_it_reads_a_calendar_version_without_a_query(db, django_assert_num_queries):
    calendar = BusinessCalendarFactory()
    rules = {
        "calendar": calendar,
        "digest": uuid.uuid4().hex,
        "timezone": "Europe/Berlin",
        "holiday_country": "DE",
        "hours": [[day, "09:00", "17:00"] for day in range(5)],
        "custom_holidays": ["2026-06-16"],
    }
    version, same_rules = CalendarVersion(**rules), CalendarVersion(**rules)
    monday = at(BERLIN, 2026, 6, 15, 16)

    with django_assert_num_queries(0):
        # One hour on Monday, none on the custom holiday, one on Wednesday.
        assert add_business_seconds(version, monday, 2 * HOUR) == at(UTC, 2026, 6, 17, 8)
        # Whit Monday comes from the country.
        whit_monday, tuesday = at(BERLIN, 2026, 5, 25), at(BERLIN, 2026, 5, 26)
        assert business_seconds_between(version, whit_monday, tuesday) == 0
    assert business_schedule(same_rules) is business_schedule(version)


# Properties, checked against a slow day-by-day model built from zoneinfo and `holidays`.

CALENDARS = {
    "berlin-office-de": {
        "timezone": "Europe/Berlin",
        "holiday_country": "DE",
        "hours": WEEKDAYS_9_TO_5,
    },
    "new-york-split-us": {
        "timezone": "America/New_York",
        "holiday_country": "US",
        "holiday_subdivision": "NY",
        "hours": SPLIT_SHIFT,
    },
    "berlin-round-the-clock": {"timezone": "Europe/Berlin", "hours": ROUND_THE_CLOCK},
}

PROPERTY_SETTINGS = settings(
    deadline=None,
    max_examples=100,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

DST_CHANGES = [
    at(UTC, 2026, 3, 8, 7),
    at(UTC, 2026, 3, 29, 1),
    at(UTC, 2026, 10, 25, 1),
    at(UTC, 2026, 11, 1, 6),
    at(UTC, 2027, 3, 28, 1),
]

# Instants are drawn in UTC, some of them close to a DST change, and shown in one of three
# zones; tests do their own arithmetic in UTC, since aware arithmetic within one zone is
# wall-clock arithmetic.
instants = st.builds(
    lambda instant, zone: instant.astimezone(zone),
    st.one_of(
        st.datetimes(
            min_value=datetime.datetime(2025, 1, 1),
            max_value=datetime.datetime(2028, 12, 31),
            timezones=st.just(UTC),
        ),
        st.builds(
            lambda change, offset: change + datetime.timedelta(seconds=offset),
            st.sampled_from(DST_CHANGES),
            st.integers(-4 * 24 * HOUR, 4 * 24 * HOUR),
        ),
    ),
    st.sampled_from([UTC, BERLIN, NEW_YORK]),
)
business_seconds = st.one_of(st.integers(0, 2 * HOUR), st.integers(0, 120 * HOUR))


@pytest.fixture(params=list(CALENDARS))
def case(request, db):
    """A calendar from CALENDARS, built once per test, with the hours it was built from."""
    spec = CALENDARS[request.param]
    return BusinessCalendarFactory(**spec), spec["hours"]


def model_seconds_between(calendar, hours, start, end):
    """Day by day with plain zoneinfo arithmetic: right for calendars whose opening and
    closing times never fall in a DST gap or repeat, as in CALENDARS."""
    zone = ZoneInfo(calendar.timezone)
    days_off = (
        holidays.country_holidays(
            calendar.holiday_country, subdiv=calendar.holiday_subdivision or None
        )
        if calendar.holiday_country
        else {}
    )
    start = start.astimezone(UTC).replace(microsecond=0)
    end = end.astimezone(UTC).replace(microsecond=0)
    total = 0
    day = start.astimezone(zone).date() - datetime.timedelta(days=1)
    while day <= end.astimezone(zone).date():
        if day not in days_off:
            for weekday, opens, closes in hours:
                if weekday != day.weekday():
                    continue
                closing_day = day + datetime.timedelta(days=1) if closes == "00:00" else day
                begin = datetime.datetime.combine(
                    day, datetime.time.fromisoformat(opens), zone
                ).astimezone(UTC)
                finish = datetime.datetime.combine(
                    closing_day, datetime.time.fromisoformat(closes), zone
                ).astimezone(UTC)
                total += max((min(finish, end) - max(begin, start)) // SECOND, 0)
        day += datetime.timedelta(days=1)
    return total


def in_time_order(moments):
    # Aware datetimes sharing a tzinfo compare by wall clock, which is wrong in a repeated hour.
    return sorted(moments, key=lambda moment: moment.astimezone(UTC))


@PROPERTY_SETTINGS
@given(start=instants, end=instants)
def test_it_agrees_with_a_day_by_day_model(case, start, end):
    calendar, hours = case

    assert business_seconds_between(calendar, start, end) == model_seconds_between(
        calendar, hours, start, end
    )


@PROPERTY_SETTINGS
@given(start=instants, seconds=business_seconds)
def test_it_round_trips_added_seconds(case, start, seconds):
    calendar, _ = case

    due = add_business_seconds(calendar, start, seconds)

    assert due >= start
    assert business_seconds_between(calendar, start, due) == seconds


@PROPERTY_SETTINGS
@given(start=instants, seconds=business_seconds.filter(lambda n: n > 0))
def test_it_adds_up_to_the_earliest_instant(case, start, seconds):
    calendar, _ = case

    due = add_business_seconds(calendar, start, seconds)

    assert due.microsecond == 0
    assert business_seconds_between(calendar, start, due - SECOND) == seconds - 1
    assert is_business_time(calendar, due - SECOND)


@PROPERTY_SETTINGS
@given(moments=st.lists(instants, min_size=3, max_size=3))
def test_it_adds_up_consecutive_spans(case, moments):
    calendar, _ = case
    first, middle, last = in_time_order(moments)

    assert business_seconds_between(calendar, first, last) == business_seconds_between(
        calendar, first, middle
    ) + business_seconds_between(calendar, middle, last)


@PROPERTY_SETTINGS
@given(
    moments=st.lists(instants, min_size=2, max_size=2),
    seconds=st.lists(business_seconds, min_size=2, max_size=2),
)
def test_it_never_goes_backwards(case, moments, seconds):
    calendar, _ = case
    earlier, later = in_time_order(moments)
    fewer, more = sorted(seconds)

    assert add_business_seconds(calendar, earlier, fewer) <= add_business_seconds(
        calendar, earlier, more
    )
    assert add_business_seconds(calendar, earlier, more) <= add_business_seconds(
        calendar, later, more
    )
    assert business_seconds_between(calendar, earlier, later) <= business_seconds_between(
        calendar, earlier, later.astimezone(UTC) + datetime.timedelta(seconds=more)
    )
    assert business_seconds_between(calendar, earlier, later) >= business_seconds_between(
        calendar, earlier.astimezone(UTC) + datetime.timedelta(seconds=fewer), later
    )


@PROPERTY_SETTINGS
@given(moment=instants)
def test_it_counts_a_second_exactly_when_it_is_business_time(case, moment):
    calendar, _ = case

    counted = business_seconds_between(
        calendar, moment, moment.astimezone(UTC).replace(microsecond=0) + SECOND
    )

    assert counted == (1 if is_business_time(calendar, moment) else 0)
