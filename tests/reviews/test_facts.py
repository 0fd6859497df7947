"""A review's facts: holds, waits, blocked periods, and the requester's waits for answers."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from requests_app import services as request_services
from reviews import services
from reviews.selectors import review_facts
from tests.factories import ServiceFactory, SLATargetFactory

from .conftest import at, file

pytestmark = pytest.mark.clock(datetime.datetime(2026, 12, 1, 10, tzinfo=at(0, 0).tzinfo))
HOUR = 3600


def story(org, service, *, replies=1):
    """Filed Monday 9:00; IT answers at 11:00 and asks a question at 12:00; the requester
    answers Tuesday 10:00; an internal note; resolved Tuesday 15:00."""
    request = file(org, service)
    for n in range(replies):
        request_services.request_comment_add(
            request=request, author=org.agent, body=f"On it {n}", now=at(0, 11)
        )
    request_services.request_transition(
        request=request, actor=org.agent, action="wait", comment="Which model?", now=at(0, 12)
    )
    request_services.request_comment_add(
        request=request, author=org.requester, body="The small one", now=at(1, 10)
    )
    request_services.request_comment_add(
        request=request, author=org.agent, body="VIP", internal=True, now=at(1, 11)
    )
    request_services.request_transition(
        request=request, actor=org.agent, action="resolve", now=at(1, 15)
    )
    review, _ = services.review_open_manual(actor=org.provider_manager, requests=[request])
    return review


def test_the_customers_view_is_each_wait_for_an_answer(org, service):
    review = story(org, service)
    facts = review_facts(review, user=org.requester, now=at(2, 9))
    waits = facts.requests[0].waited_for_answer
    assert [(w.start, w.end, w.business_seconds, w.wall_seconds) for w in waits] == [
        (at(0, 9), at(0, 11), 2 * HOUR, 2 * HOUR),
        # Tuesday 10:00 to 15:00 (the question Monday at 12:00 answered the requester).
        (at(1, 10), at(1, 15), 5 * HOUR, 5 * HOUR),
    ]


def test_it_measures_the_wait_on_the_requester_and_the_hold(org, service):
    review = story(org, service)
    facts = review_facts(review, user=org.agent, now=at(2, 9)).requests[0]
    [wait] = facts.waits_on_requester
    assert (wait.start, wait.end, wait.business_seconds) == (at(0, 12), at(1, 10), 6 * HOUR)
    assert wait.wall_seconds == 22 * HOUR
    [hold] = facts.holds
    assert (hold.department, hold.start, hold.end) == (org.provider, at(0, 9), at(1, 15))
    assert hold.business_seconds == 14 * HOUR


def test_internal_notes_are_for_the_providers_staff_only(org, service):
    review = story(org, service)
    for_agent = [e.detail for e in review_facts(review, user=org.agent).timeline]
    for_requester = [e.detail for e in review_facts(review, user=org.requester).timeline]
    assert "VIP" in for_agent
    assert "VIP" not in for_requester
    assert "The small one" in for_requester


def test_the_timeline_names_sides_not_people(org, service):
    review = story(org, service)
    sides = {e.side for e in review_facts(review, user=org.agent).timeline}
    assert sides <= {"requester", "IT", "Sales", "servicedesk"}


def test_a_late_blockers_time_is_the_blocking_departments(org, service):
    contract = ServiceFactory(department=org.other, name="Contract")
    SLATargetFactory(department=org.other, priority="normal")
    request = file(org, service)
    blocker = file(org, contract, requester=org.agent, title="Licence")
    request_services.request_block(
        request=request, actor=org.agent, blocked_by=blocker, now=at(0, 10)
    )
    request_services.request_transition(
        request=blocker, actor=org.provider_manager, action="cancel", now=at(3, 10)
    )
    review, _ = services.review_open_manual(actor=org.provider_manager, requests=[request])
    [blocked] = review_facts(review, user=org.agent, now=at(4, 9)).requests[0].blocked
    assert blocked.department == org.other
    assert blocked.request == blocker
    assert blocked.label.endswith("(late)")


def test_the_queries_do_not_grow_with_the_events(org, service):
    few = story(org, service, replies=1)
    many = story(org, service, replies=8)
    with CaptureQueriesContext(connection) as one:
        review_facts(few, user=org.agent, now=at(2, 9))
    with CaptureQueriesContext(connection) as eight:
        review_facts(many, user=org.agent, now=at(2, 9))
    assert len(eight) == len(one)
