"""Survey figures of the scorecards on hand-built answers with known results."""

import datetime
import zoneinfo

import pytest

from core.periods import parse_period
from requests_app import services
from scorecards.models import ScoreSnapshot
from scorecards.services import scores_compute
from surveys.models import (
    RelationshipAnswer,
    RelationshipSurvey,
    RequestQualityRating,
    RequestSurvey,
    SurveyResponse,
)
from tests.factories import ServiceFactory

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
MONDAY = datetime.datetime(2026, 11, 23, 10, tzinfo=BERLIN)

# The clock stands still on that Monday for the whole module.
pytestmark = pytest.mark.clock(MONDAY)
# November's answers are published once final: on 8 December (surveys/disclosure.py).
RELEASED = datetime.datetime(2026, 12, 8, 1, tzinfo=BERLIN)


def figures(department, role, period="2026-11", counterpart=None):
    return ScoreSnapshot.objects.get(
        department=department, role=role, period=period, counterpart=counterpart
    ).figures


@pytest.fixture
def requests(org):
    service = ServiceFactory(department=org.provider)
    return [
        services.request_create(
            requester=org.requester, service=service, title=f"r{i}", description="d", now=MONDAY
        )
        for i in range(4)
    ]


def survey(org, request, overall=None, attitude=None):
    sent = RequestSurvey.objects.create(
        request=request,
        requester=org.requester,
        provider_department=org.provider,
        requesting_department=org.customer,
        sent_at=MONDAY,
        closes_at=MONDAY + datetime.timedelta(days=30),
    )
    if overall is not None:
        SurveyResponse.objects.create(
            survey=sent, overall=overall, attitude=attitude, answered_at=MONDAY, updated_at=MONDAY
        )


def test_it_computes_csat_mean_rating_and_response_rate(org, requests):
    survey(org, requests[0], overall=5, attitude=4)
    survey(org, requests[1], overall=4)
    survey(org, requests[2], overall=2, attitude=2)
    survey(org, requests[3])  # sent, not answered
    # While November runs, and in its weeks, no survey figure is shown; people are counted.
    scores_compute(period=parse_period("2026-11"), now=MONDAY + datetime.timedelta(days=1))
    running = figures(org.provider, "provider")
    assert "csat" not in running
    assert "mean_rating" not in running
    assert running["response_rate"] == pytest.approx(3 / 4)
    scores_compute(period=parse_period("2026-W48"), now=RELEASED)
    assert "csat" not in figures(org.provider, "provider", period="2026-W48")
    scores_compute(period=parse_period("2026-11"), now=RELEASED)
    provider = figures(org.provider, "provider")
    assert provider["csat"] == pytest.approx(2 / 3)
    assert provider["csat_n"] == 3
    assert provider["mean_rating"] == pytest.approx(11 / 3)
    # Two attitude ratings: withheld, not even stored; their count is.
    assert "attitude_mean" not in provider
    assert provider["attitude_mean_n"] == 2
    assert provider["response_rate"] == pytest.approx(3 / 4)
    assert provider["surveys_through"] == "2026-11-30"
    assert figures(org.customer, "customer", counterpart=org.provider)["csat_n"] == 3
    # The quarter to date holds October and November.
    scores_compute(period=parse_period("2026-Q4"), now=RELEASED)
    quarter = figures(org.provider, "provider", period="2026-Q4")
    assert quarter["mean_rating"] == pytest.approx(11 / 3)
    assert quarter["surveys_through"] == "2026-11-30"
    # Timeliness 40, rating 40 (of the published mean only).
    rating = (11 / 3 - 1) / 4
    expected = 100 * rating
    if provider.get("timeliness") is not None:
        expected = 100 * (provider["timeliness"] + rating) / 2
    assert provider["service_score"] == pytest.approx(expected)
    # The running month's score leaves the unpublished rating out.
    timeliness = running.get("timeliness")
    if timeliness is None:
        assert running["service_score"] is None
    else:
        assert running["service_score"] == pytest.approx(100 * timeliness)


def _relationship(org, answers, customer=None):
    quarter, _ = RelationshipSurvey.objects.get_or_create(
        quarter="2026-Q3",
        period_start=datetime.datetime(2026, 7, 1, tzinfo=BERLIN),
        period_end=datetime.datetime(2026, 10, 1, tzinfo=BERLIN),
        opened_at=datetime.datetime(2026, 10, 1, tzinfo=BERLIN),
        closes_at=datetime.datetime(2026, 10, 15, tzinfo=BERLIN),
    )
    for hire_back in answers:
        RelationshipAnswer.objects.create(
            survey=quarter,
            customer_department=customer or org.customer,
            provider_department=org.provider,
            hire_back=hire_back,
            answered_on=datetime.date(2026, 10, 2),
        )


def test_it_computes_hire_back_for_the_quarter(org):
    _relationship(org, ["yes", "yes", "no", "unsure"])
    scores_compute(period=parse_period("2026-Q3"), now=MONDAY)
    provider = figures(org.provider, "provider", period="2026-Q3")
    assert provider["hire_back"] == pytest.approx(25.0)
    assert provider["hire_back_n"] == 4


def test_it_never_stores_hire_back_under_the_anonymity_threshold(org):
    _relationship(org, ["yes", "no"])
    scores_compute(period=parse_period("2026-Q3"), now=MONDAY)
    provider = figures(org.provider, "provider", period="2026-Q3")
    assert "hire_back" not in provider
    assert provider["hire_back_n"] == 2


def test_it_computes_request_quality_for_the_customer(org, requests):
    for request, clarity, responsiveness in [
        (requests[0], 4, 2),
        (requests[1], 5, None),
        (requests[2], 3, None),
    ]:
        RequestQualityRating.objects.create(
            request=request,
            rated_by=org.agent,
            provider_department=org.provider,
            requesting_department=org.customer,
            clarity=clarity,
            responsiveness=responsiveness,
            rated_at=MONDAY,
            updated_at=MONDAY,
        )
    scores_compute(period=parse_period("2026-11"), now=RELEASED)
    customer = figures(org.customer, "customer")
    assert customer["request_quality"] == pytest.approx((3 + 5 + 3) / 3)
    assert customer["request_quality_n"] == 3


def test_it_hides_a_pair_that_a_total_minus_the_other_pairs_would_reveal(org):
    # The provider is rated by its customer (3 answers) and another department (2): the two
    # are hidden, so the first must be too, or the provider's total minus it gives them away.
    _relationship(org, ["yes", "yes", "no"])
    _relationship(org, ["no", "no"], customer=org.other)
    scores_compute(period=parse_period("2026-Q3"), now=MONDAY)
    assert figures(org.provider, "provider", period="2026-Q3")["hire_back"] == pytest.approx(-20)
    for customer in (org.customer, org.other):
        pair = figures(org.provider, "provider", period="2026-Q3", counterpart=customer)
        assert "hire_back" not in pair
        assert "hire_back" not in figures(customer, "customer", "2026-Q3", org.provider)
