"""Nobody can take late work out of the scores: a request cancelled, declined or transferred
after a clock fell due keeps that breach for the department that held it, and the provider
cannot cancel its customers' requests at all (it declines them, with a reason)."""

import datetime
import zoneinfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from core.periods import parse_period
from requests_app import services
from requests_app.choices import ClockState, Status
from scorecards.models import ScoreSnapshot
from scorecards.services import scores_compute
from tests.factories import ServiceFactory, SLATargetFactory

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
WEEK = "2026-W48"


def at(day, hour, minute=0):
    """Week of Monday 23 November 2026 (2026-W48): day 0 = Monday."""
    return datetime.datetime(2026, 11, 23, hour, minute, tzinfo=BERLIN) + datetime.timedelta(
        days=day
    )


pytestmark = pytest.mark.clock(datetime.datetime(2026, 12, 1, 10, tzinfo=BERLIN))


@pytest.fixture
def laptop(org):
    """IT's service; normal requests: first response in 2 business hours, resolution in 8."""
    SLATargetFactory(
        department=org.provider,
        priority="normal",
        first_response=datetime.timedelta(hours=2),
        resolution=datetime.timedelta(hours=8),
    )
    ServiceFactory(department=org.other, name="Laptop")
    return ServiceFactory(department=org.provider, name="Laptop")


def late_request(org, laptop):
    """Filed Monday 9:00, nobody answered: both clocks breached by Tuesday noon."""
    return services.request_create(
        requester=org.requester, service=laptop, title="t", description="d", now=at(0, 9)
    )


def provider_figures(org, department=None):
    scores_compute(period=parse_period(WEEK), now=at(4, 18))
    return ScoreSnapshot.objects.get(
        department=department or org.provider, role="provider", period=WEEK, counterpart=None
    ).figures


def test_the_provider_cannot_cancel_a_customers_request(org, laptop):
    request = late_request(org, laptop)
    for actor in (org.agent, org.provider_manager):
        with pytest.raises(PermissionDenied, match="requester and the managers"):
            services.request_transition(
                request=request, actor=actor, action="cancel", now=at(1, 12)
            )
    request.refresh_from_db()
    assert request.status == Status.NEW


def test_the_requesters_manager_may_cancel_it(org, laptop):
    request = late_request(org, laptop)
    services.request_transition(
        request=request, actor=org.customer_manager, action="cancel", now=at(0, 9, 30)
    )
    request.refresh_from_db()
    assert request.status == Status.CANCELLED


def test_a_request_cancelled_after_its_clocks_fell_due_keeps_its_breaches(org, laptop):
    request = late_request(org, laptop)
    services.request_transition(
        request=request, actor=org.requester, action="cancel", now=at(1, 12)
    )
    assert set(request.clocks.values_list("state", flat=True)) == {ClockState.BREACHED}
    figures = provider_figures(org)
    assert figures["timeliness_n"] == 2
    assert figures["timeliness"] == 0.0


def test_a_request_cancelled_before_anything_fell_due_leaves_the_scores(org, laptop):
    request = late_request(org, laptop)
    services.request_transition(
        request=request, actor=org.requester, action="cancel", now=at(0, 9, 30)
    )
    assert provider_figures(org).get("timeliness_n", 0) == 0


def test_a_decline_needs_a_reason_and_tells_the_requester(org, laptop):
    request = late_request(org, laptop)
    with pytest.raises(ValidationError) as refused:
        services.request_transition(
            request=request, actor=org.agent, action="decline", comment=" ", now=at(0, 10)
        )
    assert "comment" in refused.value.message_dict
    services.request_transition(
        request=request, actor=org.agent, action="decline", comment="Not ours.", now=at(0, 10)
    )
    request.refresh_from_db()
    assert (request.status, request.declined_at) == (Status.DECLINED, at(0, 10))
    assert org.requester.notifications.filter(message__contains="declined").exists()
    # The requester may reopen it within the window; the provider may not cancel it.
    services.request_transition(request=request, actor=org.requester, action="reopen", now=at(1, 9))
    request.refresh_from_db()
    assert (request.status, request.declined_at) == (Status.IN_PROGRESS, None)


def test_a_decline_on_time_answers_and_holds_the_resolution_clock(org, laptop):
    request = late_request(org, laptop)
    services.request_transition(
        request=request, actor=org.agent, action="decline", comment="Not ours.", now=at(0, 10)
    )
    clocks = dict(request.clocks.values_list("kind", "state"))
    assert clocks == {"first_response": ClockState.MET, "resolution": ClockState.PAUSED}
    figures = provider_figures(org)
    assert (figures["first_response_timeliness"], figures["first_response_timeliness_n"]) == (1, 1)
    assert figures["resolution_timeliness_n"] == 0


def test_a_decline_after_the_clocks_fell_due_keeps_the_breaches(org, laptop):
    request = late_request(org, laptop)
    services.request_transition(
        request=request, actor=org.agent, action="decline", comment="Not ours.", now=at(1, 12)
    )
    assert set(request.clocks.values_list("state", flat=True)) == {ClockState.BREACHED}
    assert provider_figures(org)["timeliness"] == 0.0


def test_a_transfer_after_the_clocks_fell_due_keeps_the_breaches_with_the_first_department(
    org, laptop
):
    request = late_request(org, laptop)
    services.request_transfer(request=request, actor=org.agent, department=org.other, now=at(1, 12))
    figures = provider_figures(org)
    assert (figures["timeliness"], figures["timeliness_n"]) == (0.0, 2)


def test_declines_are_counted_on_the_providers_scorecard(org, laptop):
    declined, resolved = late_request(org, laptop), late_request(org, laptop)
    services.request_transition(
        request=declined, actor=org.agent, action="decline", comment="Not ours.", now=at(0, 10)
    )
    services.request_transition(request=resolved, actor=org.agent, action="resolve", now=at(0, 10))
    # Reopened and resolved after all: the decline still counts, and so does the resolution.
    services.request_transition(
        request=declined, actor=org.requester, action="reopen", now=at(1, 9)
    )
    services.request_transition(request=declined, actor=org.agent, action="resolve", now=at(1, 10))
    figures = provider_figures(org)
    assert (figures["declined"], figures["declined_n"]) == (pytest.approx(1 / 3), 3)
