"""Reviews on the scorecards: counts per department and side, from a small story in the week
of Monday 23 November 2026 (2026-W48, Berlin)."""

import datetime
import zoneinfo

import pytest

from core.periods import parse_period
from departments.choices import Role
from reviews import services
from reviews.choices import ActionState, Trigger
from reviews.triggers import Found
from scorecards.models import ScoreSnapshot
from scorecards.review_figures import (
    REVIEW_FIGURE_NAMES,
    action_figures,
    review_count_figures,
    review_figures,
)
from scorecards.services import scores_compute
from tests.factories import MembershipFactory, UserFactory

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
WEEK = "2026-W48"

pytestmark = pytest.mark.clock(datetime.datetime(2026, 12, 1, 10, tzinfo=BERLIN))


def at(day, hour, minute=0):
    """Week of Monday 23 November 2026: day 0 = Monday."""
    return datetime.datetime(2026, 11, 23, hour, minute, tzinfo=BERLIN) + datetime.timedelta(
        days=day
    )


def day(n):
    return at(n, 12).date()


def open_review(org, key, *, blocking=()):
    review, _ = services._open(
        Found(
            trigger=Trigger.MANUAL,
            key=key,
            title=f"Review {key}",
            provider_id=org.provider.pk,
            customer_id=org.customer.pk,
            blocking_ids={department.pk for department in blocking},
        ),
        opened_by=None,
        now=at(0, 9),
    )
    return review


@pytest.fixture
def story(org):
    """R1 (IT for Sales, Legal blocking) with five actions; R2 closed on Wednesday.

    IT: done on time Tuesday; dropped Thursday; due after the week. Sales: due Wednesday,
    done late on Friday. Legal: due Thursday, still open."""
    legal_manager = UserFactory(username="legal_manager")
    MembershipFactory(user=legal_manager, department=org.other, role=Role.MANAGER)
    r1 = open_review(org, "r1", blocking=[org.other])
    r2 = open_review(org, "r2")
    services.review_close(actor=org.provider_manager, review=r2, now=at(2, 9))

    def add(owner_department, owner, due, actor):
        return services.review_action_add(
            actor=actor,
            review=r1,
            title="change",
            owner_department=owner_department,
            owner=owner,
            due_on=due,
            now=at(0, 10),
        )

    it_on_time = add(org.provider, org.agent, day(1), org.provider_manager)
    sales_late = add(org.customer, org.requester, day(2), org.customer_manager)
    legal_open = add(org.other, legal_manager, day(3), legal_manager)
    it_dropped = add(org.provider, org.agent, day(4), org.provider_manager)
    add(org.provider, org.agent, day(17), org.provider_manager)  # due 10 December

    def settle(action, actor, when, state=ActionState.DONE, reason=""):
        services.review_action_settle(
            actor=actor, action=action, state=state, reason=reason, now=when
        )

    settle(it_on_time, org.provider_manager, at(1, 16))
    settle(sales_late, org.customer_manager, at(4, 11))
    settle(it_dropped, org.provider_manager, at(3, 9), ActionState.DROPPED, "not needed")
    return legal_open


def counts(figures, role, department):
    return {
        name: figures.get((role, department.pk, None), {}).get(name) for name in REVIEW_FIGURE_NAMES
    }


def merged(period, now):
    return review_figures(parse_period(period), now)


def test_each_side_counts_its_reviews_and_its_own_actions_after_the_week(org, story):
    figures = merged(WEEK, at(8, 10))
    assert counts(figures, "provider", org.provider) == {
        "reviews_opened": 2,
        "reviews_closed": 1,
        "review_actions_due": 1,  # the dropped one and the one due later are not counted
        "review_actions_done_on_time": 1,
        "review_actions_overdue_open": 0,
    }
    assert counts(figures, "customer", org.customer) == {
        "reviews_opened": 2,
        "reviews_closed": 1,
        "review_actions_due": 1,
        "review_actions_done_on_time": 0,  # done on Friday, due on Wednesday
        "review_actions_overdue_open": 0,
    }
    # The blocking department counts on its provider scorecard.
    assert counts(figures, "provider", org.other) == {
        "reviews_opened": 1,
        "reviews_closed": 0,
        "review_actions_due": 1,
        "review_actions_done_on_time": 0,
        "review_actions_overdue_open": 1,
    }
    assert ("customer", org.provider.pk, None) not in figures
    assert ("provider", org.customer.pk, None) not in figures


def test_while_the_week_runs_overdue_is_as_of_now(org, story):
    figures = merged(WEEK, at(3, 12))
    # Thursday noon: Sales' action (due Wednesday) is open and overdue; Legal's is due today.
    assert counts(figures, "customer", org.customer)["review_actions_overdue_open"] == 1
    assert counts(figures, "customer", org.customer)["review_actions_due"] == 1
    assert counts(figures, "provider", org.other)["review_actions_overdue_open"] == 0
    assert counts(figures, "provider", org.other)["review_actions_due"] == 0


def test_an_action_still_open_is_overdue_in_the_weeks_after_but_not_due_in_them(org, story):
    figures = merged("2026-W49", at(8, 10))
    assert counts(figures, "provider", org.other)["review_actions_overdue_open"] == 1
    assert counts(figures, "provider", org.other)["review_actions_due"] == 0
    # A department with an action counted and no review opened or closed in the week: 0.
    assert counts(figures, "provider", org.other)["reviews_opened"] == 0
    assert counts(figures, "provider", org.provider) == dict.fromkeys(REVIEW_FIGURE_NAMES, None)


def test_a_past_week_computed_again_after_the_action_is_done_keeps_its_backlog(org, story):
    services.review_action_settle(
        actor=story.owner, action=story, state=ActionState.DONE, now=at(9, 10)
    )
    figures = merged(WEEK, at(9, 12))
    assert counts(figures, "provider", org.other)["review_actions_overdue_open"] == 1
    assert counts(figures, "provider", org.other)["review_actions_done_on_time"] == 0


def test_compute_scores_writes_them_in_two_queries(org, story, django_assert_num_queries):
    with django_assert_num_queries(1):
        review_count_figures(parse_period(WEEK), at(8, 10))
    with django_assert_num_queries(1):
        action_figures(parse_period(WEEK), at(8, 10))
    scores_compute(period=parse_period(WEEK), now=at(8, 10))
    figures = ScoreSnapshot.objects.get(
        department=org.other, role="provider", period=WEEK, counterpart=None
    ).figures
    assert figures["reviews_opened"] == 1
    assert figures["review_actions_overdue_open"] == 1
