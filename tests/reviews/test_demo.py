"""The demo reviews: opened by the rules over the history, worked through the services to
every stage, and added once."""

import datetime
import io

import pytest
import time_machine

from requests_app import services as request_services
from requests_app.models import Notification
from reviews import demo
from reviews.choices import ActionState, ReviewState, Side
from reviews.models import Review, ReviewAction, ReviewSection

from .conftest import BERLIN

NOW = datetime.datetime(2026, 12, 4, 12, 0, tzinfo=BERLIN)
pytestmark = pytest.mark.clock(NOW)


def late_history(org, service, *, count=12):
    """A request every three days over the last five weeks, each resolved three days late
    (target 8 business hours): the breach rule calls for a review of each."""
    start = datetime.datetime(2026, 10, 26, 9, 0, tzinfo=BERLIN)
    requesters = [org.requester, org.colleague]
    for index in range(count):
        filed = start + datetime.timedelta(days=3 * index)
        request = request_services.request_create(
            requester=requesters[index % 2],
            service=service,
            title=f"Request {index}",
            description="Please",
            now=filed,
        )
        request_services.request_transition(
            request=request,
            actor=org.agent,
            action="resolve",
            now=filed + datetime.timedelta(days=4),
        )


def seed():
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        demo.seed_demo(stdout=out)
    return out.getvalue()


def test_it_brings_reviews_to_every_stage(org, service, mailoutbox):
    late_history(org, service)
    out = seed()
    assert "Reviews:" in out
    reviews = Review.objects.all()
    assert reviews.count() >= 10
    closed = reviews.filter(state=ReviewState.CLOSED)
    assert closed.exists()
    for review in closed:
        assert not review.actions.filter(state=ActionState.OPEN).exists()
    assert reviews.filter(state=ReviewState.OPEN, sections__isnull=True).exists()
    sides = set(
        ReviewSection.objects.filter(department=org.provider).values_list("review", flat=True)
    ) & set(ReviewSection.objects.filter(department=org.customer).values_list("review", flat=True))
    assert sides  # some reviews have both sides' parts
    actions = ReviewAction.objects.all()
    assert {ActionState.OPEN, ActionState.DONE, ActionState.DROPPED} <= set(
        actions.values_list("state", flat=True)
    )
    assert actions.filter(state=ActionState.DONE, confirmed_at__isnull=False).exists()
    assert not actions.filter(state=ActionState.DROPPED, dropped_reason="").exists()
    today = NOW.date()
    overdue = actions.filter(state=ActionState.OPEN, due_on__lt=today)
    assert overdue.exists()
    assert all(action.overdue_notified_step > 0 for action in overdue)
    # The customer's part is written by the customer's side, the provider's by its staff.
    for section in ReviewSection.objects.select_related("updated_by"):
        member_of = set(section.updated_by.memberships.values_list("department_id", flat=True))
        assert section.department_id in member_of
    assert reviews.filter(review_departments__side=Side.PROVIDER).count() == reviews.count()
    assert mailoutbox == []
    assert not Notification.objects.filter(
        dedupe_key__startswith="review", emailed_at__isnull=True
    ).exists()


def test_a_second_run_adds_nothing(org, service):
    late_history(org, service)
    seed()
    counts = (
        Review.objects.count(),
        ReviewSection.objects.count(),
        list(ReviewAction.objects.order_by("pk").values_list("state", "confirmed_at")),
        Notification.objects.count(),
    )
    out = seed()
    assert "0 opened by the rules, 0 worked on" in out
    assert counts == (
        Review.objects.count(),
        ReviewSection.objects.count(),
        list(ReviewAction.objects.order_by("pk").values_list("state", "confirmed_at")),
        Notification.objects.count(),
    )


def test_it_works_without_any_request(org):
    out = seed()
    assert out == ""
    assert not Review.objects.exists()
