"""compute_clock: hand-computed cases on a Mon-Fri 09:00-17:00 Berlin calendar."""

import datetime
import zoneinfo
from types import SimpleNamespace

import pytest

from requests_app.choices import ClockKind, EventKind, Status
from requests_app.clocks import (
    COMPLETE,
    PAUSE,
    REOPEN,
    RESUME,
    RETARGET,
    START,
    STOP,
    ClockEvent,
    clock_events,
    compute_clock,
)
from tests.factories import BusinessCalendarFactory

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
HOUR = 3600


def at(day, hour, minute=0):
    """Week of Monday 23 November 2026: day 0 = Monday."""
    return datetime.datetime(2026, 11, 23 + day, hour, minute, tzinfo=BERLIN)


# The story happens in the week of Monday 23 November 2026; the clock stands still a week
# later, so that what a test does without travelling comes after it, on any real date.
pytestmark = pytest.mark.clock(datetime.datetime(2026, 12, 1, 10, tzinfo=BERLIN))


def ev(moment, action, target=None):
    return ClockEvent(at=moment, action=action, target_seconds=target)


@pytest.fixture
def calendar(db):
    return BusinessCalendarFactory()


def test_it_meets_a_clock_completed_before_due(calendar):
    result = compute_clock(
        [ev(at(0, 9), START), ev(at(0, 12), COMPLETE)], 4 * HOUR, calendar, at(0, 15)
    )
    assert result.state == "met"
    assert result.used_seconds == 3 * HOUR
    assert result.due_at == at(0, 13)
    assert result.completed_at == at(0, 12)
    assert result.breached_at is None


def test_it_runs_overnight_in_business_time_only(calendar):
    result = compute_clock([ev(at(0, 16), START)], 4 * HOUR, calendar, at(1, 11))
    assert result.state == "running"
    assert result.used_seconds == 3 * HOUR
    assert result.due_at == at(1, 12)
    assert result.warn_at == at(1, 11)
    assert result.warned_at == at(1, 11)
    assert result.running_since == at(0, 16)


def test_it_has_no_warning_before_75_percent(calendar):
    result = compute_clock([ev(at(0, 9), START)], 4 * HOUR, calendar, at(0, 11, 59))
    assert result.warn_at == at(0, 12)
    assert result.warned_at is None


def test_it_moves_the_due_time_by_the_pause(calendar):
    events = [ev(at(0, 9), START), ev(at(0, 11), PAUSE), ev(at(2, 9), RESUME)]
    result = compute_clock(events, 8 * HOUR, calendar, at(2, 10))
    assert result.state == "running"
    assert result.used_seconds == 3 * HOUR
    assert result.due_at == at(2, 15)


def test_it_has_no_due_time_while_paused(calendar):
    events = [ev(at(0, 9), START), ev(at(0, 11), PAUSE)]
    result = compute_clock(events, 8 * HOUR, calendar, at(3, 10))
    assert result.state == "paused"
    assert result.used_seconds == 2 * HOUR
    assert result.due_at is None


def test_it_breaches_a_clock_completed_late_at_its_due_time(calendar):
    result = compute_clock(
        [ev(at(0, 9), START), ev(at(0, 12), COMPLETE)], 2 * HOUR, calendar, at(0, 15)
    )
    assert result.state == "breached"
    assert result.breached_at == at(0, 11)
    assert result.completed_at == at(0, 12)
    assert result.used_seconds == 3 * HOUR


def test_it_meets_a_clock_completed_at_exactly_the_due_second(calendar):
    result = compute_clock(
        [ev(at(0, 9), START), ev(at(0, 11), COMPLETE)], 2 * HOUR, calendar, at(0, 15)
    )
    assert result.state == "met"
    assert result.used_seconds == 2 * HOUR


def test_it_breaches_a_running_clock_one_second_past_due(calendar):
    due = at(0, 11)
    assert compute_clock([ev(at(0, 9), START)], 2 * HOUR, calendar, due).state == "running"
    late = compute_clock(
        [ev(at(0, 9), START)], 2 * HOUR, calendar, due + datetime.timedelta(seconds=1)
    )
    assert late.state == "breached"
    assert late.breached_at == due


def test_it_recomputes_due_times_from_a_new_target(calendar):
    events = [ev(at(0, 9), START), ev(at(0, 10), RETARGET, 2 * HOUR)]
    result = compute_clock(events, 8 * HOUR, calendar, at(0, 12))
    assert result.target_seconds == 2 * HOUR
    assert result.state == "breached"
    assert result.breached_at == at(0, 11)


def test_it_resumes_the_clock_on_reopen(calendar):
    events = [ev(at(0, 9), START), ev(at(0, 10), COMPLETE), ev(at(1, 9), REOPEN)]
    result = compute_clock(events, 8 * HOUR, calendar, at(1, 10))
    assert result.state == "running"
    assert result.used_seconds == 2 * HOUR
    assert result.completed_at is None
    assert result.due_at == at(1, 16)


def test_it_stops_without_a_verdict_before_due(calendar):
    events = [ev(at(0, 9), START), ev(at(0, 10), STOP)]
    result = compute_clock(events, 8 * HOUR, calendar, at(2, 10))
    assert result.state == "stopped"
    assert result.used_seconds == HOUR


def test_it_keeps_a_breach_that_happened_before_the_stop(calendar):
    events = [ev(at(0, 9), START), ev(at(0, 12), STOP)]
    result = compute_clock(events, 2 * HOUR, calendar, at(2, 10))
    assert result.state == "breached"
    assert result.breached_at == at(0, 11)


def test_it_ignores_events_after_now(calendar):
    events = [ev(at(0, 9), START), ev(at(0, 12), COMPLETE)]
    result = compute_clock(events, 8 * HOUR, calendar, at(0, 11))
    assert result.state == "running"
    assert result.used_seconds == 2 * HOUR


def event(kind, moment, department_id=1, **data):
    return SimpleNamespace(kind=kind, created_at=moment, department_id=department_id, data=data)


def test_it_maps_request_events_to_the_resolution_clock():
    events = [
        event(EventKind.CREATED, at(0, 9)),
        event(EventKind.COMMENTED, at(0, 9, 30), by_provider=True),
        event(
            EventKind.STATUS_CHANGED,
            at(0, 10),
            **{"from": Status.NEW, "to": Status.WAITING_ON_REQUESTER},
        ),
        event(
            EventKind.STATUS_CHANGED,
            at(0, 11),
            **{"from": Status.WAITING_ON_REQUESTER, "to": Status.IN_PROGRESS},
        ),
        event(
            EventKind.STATUS_CHANGED,
            at(0, 12),
            **{"from": Status.IN_PROGRESS, "to": Status.RESOLVED},
        ),
        event(
            EventKind.STATUS_CHANGED,
            at(0, 13),
            **{"from": Status.RESOLVED, "to": Status.IN_PROGRESS},
        ),
    ]
    mapped = clock_events(
        kind=ClockKind.RESOLUTION, department_id=1, started_at=at(0, 9), request_events=events
    )
    assert [(e.at, e.action) for e in mapped] == [
        (at(0, 9), START),
        (at(0, 10), PAUSE),
        (at(0, 11), RESUME),
        (at(0, 12), COMPLETE),
        (at(0, 13), REOPEN),
    ]


def test_it_maps_the_first_provider_reply_to_the_first_response_clock():
    events = [
        event(EventKind.CREATED, at(0, 9)),
        event(EventKind.COMMENTED, at(0, 9, 10), by_provider=False),
        event(EventKind.COMMENTED, at(0, 9, 30), by_provider=True),
    ]
    mapped = clock_events(
        kind=ClockKind.FIRST_RESPONSE, department_id=1, started_at=at(0, 9), request_events=events
    )
    assert [(e.at, e.action) for e in mapped] == [(at(0, 9), START), (at(0, 9, 30), COMPLETE)]


def test_it_ends_a_department_clock_at_its_transfer_and_ignores_the_next_department():
    events = [
        event(EventKind.CREATED, at(0, 9), department_id=1),
        event(EventKind.TRANSFERRED, at(0, 10), department_id=1, to_id=2),
        event(EventKind.ACKNOWLEDGED, at(0, 11), department_id=2),
    ]
    first = clock_events(
        kind=ClockKind.FIRST_RESPONSE, department_id=1, started_at=at(0, 9), request_events=events
    )
    second = clock_events(
        kind=ClockKind.FIRST_RESPONSE, department_id=2, started_at=at(0, 10), request_events=events
    )
    assert [e.action for e in first] == [START, STOP]
    assert [(e.at, e.action) for e in second] == [(at(0, 10), START), (at(0, 11), COMPLETE)]


def test_it_retargets_each_clock_with_its_own_new_target():
    events = [
        event(EventKind.CREATED, at(0, 9)),
        event(
            EventKind.PRIORITY_CHANGED,
            at(0, 10),
            targets={"first_response": 600, "resolution": 7200},
        ),
    ]
    first = clock_events(
        kind=ClockKind.FIRST_RESPONSE, department_id=1, started_at=at(0, 9), request_events=events
    )
    resolution = clock_events(
        kind=ClockKind.RESOLUTION, department_id=1, started_at=at(0, 9), request_events=events
    )
    assert first[-1].target_seconds == 600
    assert resolution[-1].target_seconds == 7200


def test_it_breaches_a_clock_completed_after_hours_past_its_due_time(calendar):
    # Due Monday 17:00; resolved at 23:00 with no business time in between: still late.
    result = compute_clock(
        [ev(at(0, 9), START), ev(at(0, 23), COMPLETE)], 8 * HOUR, calendar, at(1, 9)
    )
    assert result.used_seconds == 8 * HOUR
    assert result.state == "breached"
    assert result.breached_at == at(0, 17)


def test_it_breaches_a_running_clock_after_hours_past_its_due_time(calendar):
    result = compute_clock([ev(at(0, 9), START)], 8 * HOUR, calendar, at(0, 18))
    assert result.state == "breached"
    assert result.breached_at == at(0, 17)
