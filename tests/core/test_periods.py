"""Periods of the calendar (core/periods.py): weeks, months and quarters in the company
timezone, their keys, and clear errors for anything else."""

import datetime
import zoneinfo

import pytest

from core.periods import (
    MONTH,
    QUARTER,
    WEEK,
    last_complete_quarter,
    last_periods,
    parse_period,
    parse_quarter,
    period_containing,
    quarter_containing,
)

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
Q3_OPENED = datetime.datetime(2026, 10, 1, 6, 0, tzinfo=BERLIN)


def test_quarters_are_calendar_quarters_in_the_company_timezone():
    quarter = parse_quarter("2026-q3")
    assert quarter.key == "2026-Q3"
    assert quarter.start == datetime.datetime(2026, 7, 1, tzinfo=BERLIN)
    assert quarter.end == datetime.datetime(2026, 10, 1, tzinfo=BERLIN)
    assert last_complete_quarter(Q3_OPENED) == quarter
    assert last_complete_quarter(datetime.datetime(2026, 1, 1, 6, tzinfo=BERLIN)).key == "2025-Q4"
    # 30 September 23:30 UTC is already 1 October in Berlin.
    late = datetime.datetime(2026, 9, 30, 23, 30, tzinfo=datetime.UTC)
    assert quarter_containing(late).key == "2026-Q4"
    with pytest.raises(ValueError, match="2026-Q3"):
        parse_quarter("2026-Q5")


@pytest.mark.parametrize(
    ("key", "kind", "first_day", "next_first_day"),
    [
        ("2026-Q4", QUARTER, datetime.date(2026, 10, 1), datetime.date(2027, 1, 1)),
        ("2026-09", MONTH, datetime.date(2026, 9, 1), datetime.date(2026, 10, 1)),
        ("2026-W53", WEEK, datetime.date(2026, 12, 28), datetime.date(2027, 1, 4)),
        (" 2027-w01 ", WEEK, datetime.date(2027, 1, 4), datetime.date(2027, 1, 11)),
    ],
)
def test_a_key_names_one_period(key, kind, first_day, next_first_day):
    period = parse_period(key)
    assert (period.kind, period.first_day, period.next_first_day) == (
        kind,
        first_day,
        next_first_day,
    )
    assert parse_period(period.key) == period
    assert period.next().previous() == period


def test_a_period_of_the_summer_time_change_keeps_its_wall_clock_bounds():
    # 29 March 2026: Berlin moves from +01:00 to +02:00 inside the week.
    week = period_containing(datetime.datetime(2026, 3, 29, 12, tzinfo=BERLIN), WEEK)
    assert week.start == datetime.datetime(2026, 3, 23, tzinfo=BERLIN)
    elapsed = week.end.astimezone(datetime.UTC) - week.start.astimezone(datetime.UTC)
    assert elapsed == datetime.timedelta(days=7, hours=-1)


def test_it_says_what_a_key_should_look_like():
    with pytest.raises(ValueError, match="is not a period: use a quarter"):
        parse_period("Q3-2026")
    with pytest.raises(ValueError, match="is not a quarter; write it like 2026-Q3"):
        parse_quarter("2026-09")
    with pytest.raises(ValueError, match="2025 has no ISO week 53"):
        parse_period("2025-W53")
    with pytest.raises(ValueError, match="1900"):
        parse_period("0001-Q1")


def test_the_last_periods_end_with_the_one_given():
    periods = last_periods(parse_period("2026-Q1"), 3)
    assert [period.key for period in periods] == ["2025-Q3", "2025-Q4", "2026-Q1"]
