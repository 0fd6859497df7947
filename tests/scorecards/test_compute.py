"""Scores on small hand-built histories with known answers."""

import datetime
import zoneinfo

import pytest
import time_machine

from core.periods import parse_period
from requests_app import services
from scorecards.models import ScoreSnapshot
from scorecards.services import scores_compute
from scorecards.tasks import compute_scores

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
HOUR = 3600


def at(day, hour, minute=0):
    """Week of Monday 23 November 2026 (2026-W48): day 0 = Monday."""
    return datetime.datetime(2026, 11, 23, hour, minute, tzinfo=BERLIN) + datetime.timedelta(
        days=day
    )


# The story happens in the week of Monday 23 November 2026; the clock stands still a week
# later, so that what a test does without travelling comes after it, on any real date.
pytestmark = pytest.mark.clock(datetime.datetime(2026, 12, 1, 10, tzinfo=BERLIN))


def file(org, service, when):
    return services.request_create(
        requester=org.requester, service=service, title="t", description="d", now=when
    )


@pytest.fixture
def history(org, service):
    """A: both clocks met, promise broken. B: both breached. C: cancelled before anything was
    due (excluded)."""
    a = file(org, service, at(0, 9))
    services.request_comment_add(request=a, author=org.agent, body="on it", now=at(0, 10))
    services.request_promise(request=a, actor=org.agent, promised_at=at(0, 11), now=at(0, 10))
    services.request_transition(request=a, actor=org.agent, action="resolve", now=at(0, 12))
    b = file(org, service, at(0, 9))
    services.request_acknowledge(request=b, actor=org.agent, now=at(0, 12))
    services.request_transition(request=b, actor=org.agent, action="resolve", now=at(1, 17))
    c = file(org, service, at(0, 9))
    services.request_transition(request=c, actor=org.requester, action="cancel", now=at(0, 9, 30))
    return a, b, c


def snapshot(department, role, period="2026-W48", counterpart=None):
    return ScoreSnapshot.objects.get(
        department=department, role=role, period=period, counterpart=counterpart
    ).figures


def test_it_computes_timeliness_and_times_for_the_provider(org, history):
    scores_compute(period=parse_period("2026-W48"), now=at(4, 18))
    figures = snapshot(org.provider, "provider")
    assert figures["timeliness"] == 0.5
    assert figures["timeliness_n"] == 4
    low, high = figures["timeliness_interval"]
    assert 0.14 < low < 0.16
    assert 0.84 < high < 0.86
    assert figures["first_response_timeliness"] == 0.5
    assert figures["resolution_timeliness"] == 0.5
    # First response used 1h (A) and 3h (B); resolution 3h (A) and 16h (B).
    assert figures["first_response_median_seconds"] == 2 * HOUR
    assert figures["first_response_p90_seconds"] == pytest.approx(2.8 * HOUR)
    assert figures["resolution_median_seconds"] == pytest.approx(9.5 * HOUR)
    assert figures["promise_kept"] == 0.0
    assert figures["promise_kept_n"] == 1
    # Timeliness only: 40 * 0.5 rescaled to 100.
    assert figures["service_score"] == pytest.approx(50.0)


def test_it_gives_the_customer_and_the_pair_the_same_figures(org, history):
    scores_compute(period=parse_period("2026-W48"), now=at(4, 18))
    provider = snapshot(org.provider, "provider")
    assert snapshot(org.customer, "customer")["timeliness"] == provider["timeliness"]
    assert snapshot(org.provider, "provider", counterpart=org.customer)["timeliness_n"] == 4
    assert snapshot(org.customer, "customer", counterpart=org.provider)["timeliness_n"] == 4


def test_it_settles_a_clock_in_the_period_of_its_due_time(org, history):
    # B's resolution was due Monday 17:00 (W48) though resolved Tuesday: still W48.
    # Next week holds nothing.
    scores_compute(period=parse_period("2026-W49"), now=at(10, 18))
    assert snapshot(org.provider, "provider", period="2026-W49") == {}


def test_it_counts_a_running_clock_past_due_as_breached_before_the_scanner(org, service):
    file(org, service, at(0, 9))
    scores_compute(period=parse_period("2026-W48"), now=at(0, 12))
    figures = snapshot(org.provider, "provider")
    assert figures["first_response_timeliness"] == 0.0
    assert figures["first_response_timeliness_n"] == 1
    assert figures["resolution_timeliness_n"] == 0
    assert figures["resolution_timeliness"] is None


def test_it_is_idempotent(org, history):
    period = parse_period("2026-W48")
    first = scores_compute(period=period, now=at(4, 18))
    rows = list(
        ScoreSnapshot.objects.order_by("pk").values("department", "role", "counterpart", "figures")
    )
    assert scores_compute(period=period, now=at(4, 18)) == first
    again = list(
        ScoreSnapshot.objects.order_by("pk").values("department", "role", "counterpart", "figures")
    )
    assert again == rows


def test_it_computes_the_open_periods_from_the_task(org, history):
    with time_machine.travel(at(4, 18), tick=False):
        result = compute_scores()
    assert set(result) >= {"2026-W48", "2026-11", "2026-Q4"}
    assert snapshot(org.provider, "provider", period="2026-Q4")["timeliness"] == 0.5
