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
    scores_compute(period=parse_period("2026-11"), now=MONDAY + datetime.timedelta(days=1))
    provider = figures(org.provider, "provider")
    assert provider["csat"] == pytest.approx(2 / 3)
    assert provider["csat_n"] == 3
    assert provider["mean_rating"] == pytest.approx(11 / 3)
    assert provider["attitude_mean"] == pytest.approx(3.0)
    assert provider["attitude_mean_n"] == 2
    assert provider["response_rate"] == pytest.approx(3 / 4)
    assert figures(org.customer, "customer", counterpart=org.provider)["csat_n"] == 3
    # Rating only (no clocks settled yet): 40 * (11/3 - 1) / 4 rescaled to 100.
    assert provider["service_score"] == pytest.approx(100 * (11 / 3 - 1) / 4)


def _relationship(org, answers):
    quarter = RelationshipSurvey.objects.create(
        quarter="2026-Q3",
        period_start=datetime.datetime(2026, 7, 1, tzinfo=BERLIN),
        period_end=datetime.datetime(2026, 10, 1, tzinfo=BERLIN),
        opened_at=datetime.datetime(2026, 10, 1, tzinfo=BERLIN),
        closes_at=datetime.datetime(2026, 10, 15, tzinfo=BERLIN),
    )
    for hire_back in answers:
        RelationshipAnswer.objects.create(
            survey=quarter,
            customer_department=org.customer,
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
    for request, clarity, responsiveness in [(requests[0], 4, 2), (requests[1], 5, None)]:
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
    scores_compute(period=parse_period("2026-11"), now=MONDAY)
    customer = figures(org.customer, "customer")
    assert customer["request_quality"] == pytest.approx((3 + 5) / 2)
    assert customer["request_quality_n"] == 2


def test_it_hides_a_pair_that_a_total_minus_the_other_pairs_would_reveal(org):
    from scorecards.survey_figures import _suppressed_pairs

    # Provider 1 rated by customer A (3 answers) and B (2): B is hidden, so A must be too,
    # or the provider's total minus A would give B's two answers away.
    assert _suppressed_pairs({(1, "A"): 3, (1, "B"): 2}, 3) == {(1, "A"), (1, "B")}
    assert _suppressed_pairs({(1, "A"): 3, (1, "B"): 4}, 3) == set()
    # Hiding the smallest shown sibling is enough when it brings the hidden total to 3.
    assert _suppressed_pairs({(1, "A"): 5, (1, "B"): 1, (1, "C"): 3}, 3) == {(1, "B"), (1, "C")}
