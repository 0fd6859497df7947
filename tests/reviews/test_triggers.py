"""The rules open reviews: one per trigger, by the provider's rules, whatever reruns."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from requests_app import services as request_services
from requests_app.models import Notification
from reviews.choices import Side, Trigger
from reviews.models import Review, ReviewDepartment, ReviewRule
from reviews.services import reviews_open_due
from surveys import services as survey_services
from surveys.models import RequestSurvey
from tests.factories import ServiceFactory, SLATargetFactory

from .conftest import at, file, resolve

pytestmark = pytest.mark.clock(datetime.datetime(2026, 12, 1, 10, tzinfo=at(0, 0).tzinfo))


def test_it_opens_a_review_of_a_request_resolved_well_past_its_target(org, service):
    late = file(org, service)
    resolve(org, late, at(2, 17))  # 24 business hours for a target of 8
    on_time = file(org, service, title="Mouse")
    resolve(org, on_time, at(0, 10))

    assert reviews_open_due(now=at(3, 9)) == 1

    review = Review.objects.get()
    assert review.trigger == Trigger.BREACH
    assert review.trigger_key == f"request:{late.pk}"
    assert list(review.requests.all()) == [late]
    assert review.opened_by is None
    assert dict(ReviewDepartment.objects.values_list("department__slug", "side")) == {
        "it": Side.PROVIDER,
        "sales": Side.CUSTOMER,
    }


def test_it_opens_nothing_twice(org, service):
    resolve(org, file(org, service), at(2, 17))
    assert reviews_open_due(now=at(3, 9)) == 1
    assert reviews_open_due(now=at(3, 9)) == 0
    assert reviews_open_due(now=at(4, 9)) == 0
    assert Review.objects.count() == 1


def test_a_breach_within_the_share_opens_nothing(org, service):
    resolve(org, file(org, service), at(1, 11))  # 10 business hours: 25% past the target
    assert reviews_open_due(now=at(3, 9)) == 0


@pytest.mark.parametrize(("share", "opened"), [(100, 1), (300, 0)])
def test_the_providers_share_decides(org, service, share, opened):
    ReviewRule.objects.create(department=org.provider, breach_share_percent=share)
    resolve(org, file(org, service), at(2, 17))  # 200% past
    assert reviews_open_due(now=at(3, 9)) == opened


def test_a_rule_turned_off_opens_nothing(org, service):
    ReviewRule.objects.create(department=org.provider, breach_enabled=False)
    resolve(org, file(org, service), at(2, 17))
    assert reviews_open_due(now=at(3, 9)) == 0


def test_the_look_back_limits_the_window(org, service, settings):
    settings.REVIEW_TRIGGER_LOOKBACK_DAYS = 1
    resolve(org, file(org, service), at(2, 17))
    assert reviews_open_due(now=at(4, 9)) == 0
    assert reviews_open_due(now=at(3, 9)) == 1


def test_it_tells_the_participants_once(org, service):
    resolve(org, file(org, service), at(2, 17))
    reviews_open_due(now=at(3, 9))
    reviews_open_due(now=at(3, 10))
    told = Notification.objects.filter(kind="review").values_list("user__username", flat=True)
    # Agents and managers of both sides and the requester; not the colleague, HR, Legal.
    assert sorted(told) == ["agent", "customer_manager", "provider_manager", "requester"]


def _answer(org, request, overall, when, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        resolve(org, request, when)
    survey = RequestSurvey.objects.get(request=request)
    survey_services.survey_answer(
        survey=survey, respondent=org.requester, overall=overall, now=when
    )


@pytest.mark.parametrize(("overall", "opened"), [(1, 1), (2, 1), (3, 0)])
def test_a_low_rating_opens_a_review(
    org, service, overall, opened, django_capture_on_commit_callbacks
):
    request = file(org, service)
    _answer(org, request, overall, at(0, 11), django_capture_on_commit_callbacks)
    assert reviews_open_due(now=at(1, 9)) == opened
    if opened:
        assert Review.objects.get().trigger == Trigger.LOW_RATING


def test_a_late_request_rated_low_is_one_review(org, service, django_capture_on_commit_callbacks):
    request = file(org, service)
    _answer(org, request, 1, at(2, 17), django_capture_on_commit_callbacks)
    assert reviews_open_due(now=at(3, 9)) == 1
    assert Review.objects.get().trigger == Trigger.BREACH


def test_a_chain_held_up_by_a_late_blocker_is_one_review(org, service, legal_agent):
    """Sales' request to IT waits on IT's request to Legal, which waits on another request
    of Legal's that was late: the topmost held-up request names one review of all three."""
    contract = ServiceFactory(department=org.other, name="Contract")
    SLATargetFactory(department=org.other, priority="normal")  # resolution 16 hours: late, not 50%
    top = file(org, service)
    middle = file(org, contract, requester=org.agent, title="Licence")
    bottom = file(org, contract, requester=org.agent, title="Template")
    request_services.request_block(request=top, actor=org.agent, blocked_by=middle, now=at(0, 10))
    request_services.request_block(
        request=middle, actor=legal_agent, blocked_by=bottom, now=at(0, 10)
    )
    resolve_legal = request_services.request_transition
    resolve_legal(request=bottom, actor=legal_agent, action="resolve", now=at(2, 12))
    resolve_legal(request=middle, actor=legal_agent, action="resolve", now=at(2, 15))

    assert reviews_open_due(now=at(3, 9)) == 1

    review = Review.objects.get(trigger=Trigger.BLOCKED_CHAIN)
    assert review.trigger_key == f"chain:{top.pk}"
    assert set(review.requests.all()) == {top, middle, bottom}
    assert dict(review.review_departments.values_list("department__slug", "side")) == {
        "it": Side.PROVIDER,
        "sales": Side.CUSTOMER,
        "legal": Side.BLOCKING,
    }
    assert reviews_open_due(now=at(3, 10)) == 0


def test_a_blocker_on_time_opens_nothing(org, service, legal_agent):
    contract = ServiceFactory(department=org.other, name="Contract")
    SLATargetFactory(department=org.other, priority="normal")
    top = file(org, service)
    blocker = file(org, contract, requester=org.agent, title="Licence")
    request_services.request_block(request=top, actor=org.agent, blocked_by=blocker, now=at(0, 10))
    request_services.request_transition(
        request=blocker, actor=legal_agent, action="resolve", now=at(0, 15)
    )
    assert reviews_open_due(now=at(1, 9)) == 0


def test_the_scan_costs_the_same_queries_for_more_candidates(org, service):
    resolve(org, file(org, service), at(2, 17))
    reviews_open_due(now=at(3, 9))
    for title in ("a", "b", "c", "d"):
        resolve(org, file(org, service, title=title), at(2, 17))
    with CaptureQueriesContext(connection) as opening:
        reviews_open_due(now=at(3, 9, 30))
    reviews_open_due(now=at(3, 10))
    with CaptureQueriesContext(connection) as nothing_new:
        reviews_open_due(now=at(3, 11))
    assert Review.objects.count() == 5
    assert len(nothing_new) <= 12
    assert len(opening) > len(nothing_new)


def _quarter_answers(org, answers):
    from surveys.models import RelationshipAnswer, RelationshipSurvey

    berlin = at(0, 0).tzinfo
    survey = RelationshipSurvey.objects.create(
        quarter="2026-Q3",
        period_start=datetime.datetime(2026, 7, 1, tzinfo=berlin),
        period_end=datetime.datetime(2026, 10, 1, tzinfo=berlin),
        opened_at=datetime.datetime(2026, 10, 1, tzinfo=berlin),
        closes_at=datetime.datetime(2026, 10, 15, tzinfo=berlin),
        closed_at=datetime.datetime(2026, 10, 15, tzinfo=berlin),
    )
    for hire_back in answers:
        RelationshipAnswer.objects.create(
            survey=survey,
            customer_department=org.customer,
            provider_department=org.provider,
            hire_back=hire_back,
            answered_on=datetime.date(2026, 10, 2),
        )


@pytest.mark.parametrize(
    ("answers", "opened"),
    [
        (["no", "no", "unsure"], 1),
        (["yes", "no", "unsure"], 0),  # zero is not negative
        (["no", "no"], 0),  # under ANONYMITY_MIN: withheld, so it cannot open a review
    ],
)
def test_a_pair_whose_released_hire_back_is_negative_is_reviewed(org, answers, opened):
    _quarter_answers(org, answers)
    now = datetime.datetime(2026, 10, 20, 9, tzinfo=at(0, 0).tzinfo)
    assert reviews_open_due(now=now) == opened
    assert reviews_open_due(now=now) == 0
    if opened:
        review = Review.objects.get()
        assert review.trigger == Trigger.HIRE_BACK_NEGATIVE
        assert review.period == "2026-Q3"
        assert review.trigger_key == f"pair:{org.provider.pk}:{org.customer.pk}:2026-Q3"
        assert not review.requests.exists()
