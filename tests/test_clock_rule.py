"""The clock rule (tests/clock.py): a frozen clock for whole modules, no travel without one,
and the moved wall clock of CI's second run (scripts/clock_ahead.py)."""

import datetime
import importlib.util
import zoneinfo
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from tests.clock import ClockRuleBroken, real_clock_environment

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
MOMENT = datetime.datetime(2026, 11, 23, 10, tzinfo=BERLIN)


def _clock_ahead():
    path = Path(__file__).resolve().parent.parent / "scripts" / "clock_ahead.py"
    spec = importlib.util.spec_from_file_location("clock_ahead", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fixture_time():
    return timezone.now()


@pytest.mark.clock(MOMENT)
def test_it_stops_the_clock_for_the_test_and_its_fixtures(fixture_time):
    assert fixture_time == MOMENT
    assert timezone.now() == MOMENT
    assert datetime.date.today() == MOMENT.date()


@pytest.mark.clock(MOMENT)
def test_a_travel_inside_comes_back_to_the_clock():
    with time_machine.travel(MOMENT + datetime.timedelta(days=3), tick=False):
        assert timezone.now() == MOMENT + datetime.timedelta(days=3)
    assert timezone.now() == MOMENT


def test_it_refuses_to_travel_without_a_clock():
    with pytest.raises(ClockRuleBroken, match=r"pytest\.mark\.clock"):
        time_machine.travel(MOMENT)


@pytest.mark.real_clock
def test_a_real_clock_test_may_travel():
    with time_machine.travel(MOMENT, tick=False):
        assert timezone.now() == MOMENT


def test_servers_get_an_environment_without_libfaketime():
    moved = {
        "LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1:/opt/libother.so",
        "FAKETIME": "+41347612",
        "PATH": "/usr/bin",
    }
    assert real_clock_environment(moved) == {"LD_PRELOAD": "/opt/libother.so", "PATH": "/usr/bin"}
    moved["LD_PRELOAD"] = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
    assert real_clock_environment(moved) == {"PATH": "/usr/bin"}


@pytest.mark.parametrize(
    ("now", "instant"),
    [
        # 400 days after 3 Dec 2026 is 7 Jan 2028: summer time starts on 26 March 2028.
        (
            datetime.datetime(2026, 12, 3, 10, tzinfo=datetime.UTC),
            datetime.datetime(2028, 3, 26, 0, 58, tzinfo=datetime.UTC),
        ),
        # From a summer: it ends on the last Sunday of October (29 October 2028, 01:00 UTC).
        (
            datetime.datetime(2027, 6, 1, tzinfo=datetime.UTC),
            datetime.datetime(2028, 10, 29, 0, 58, tzinfo=datetime.UTC),
        ),
    ],
)
def test_the_moved_clock_is_over_a_year_ahead_just_before_a_berlin_change(now, instant):
    clock_ahead = _clock_ahead()
    chosen = clock_ahead.default_instant(now)
    assert chosen == instant
    assert chosen - now >= datetime.timedelta(days=400)
    before, after = chosen, chosen + datetime.timedelta(minutes=3)
    assert before.astimezone(BERLIN).utcoffset() != after.astimezone(BERLIN).utcoffset()


def test_the_moved_clock_takes_an_instant_with_its_offset_only():
    clock_ahead = _clock_ahead()
    assert clock_ahead.parse_instant("2028-03-26T01:58+01:00") == datetime.datetime(
        2028, 3, 26, 0, 58, tzinfo=datetime.UTC
    )
    with pytest.raises(SystemExit, match="UTC offset"):
        clock_ahead.parse_instant("2028-03-26T01:58")
    with pytest.raises(SystemExit, match="not an ISO date"):
        clock_ahead.parse_instant("next spring")
