"""The review pages: my reviews, the review page, its forms; permission before the form."""

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from reviews import services
from reviews.choices import ActionState
from reviews.models import ReviewAction, ReviewSection

from .conftest import at, file

pytestmark = pytest.mark.clock(datetime.datetime(2026, 11, 26, 10, tzinfo=at(0, 0).tzinfo))


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_my_reviews_lists_them_and_my_actions(org, review):
    services.review_action_add(
        actor=org.agent,
        review=review,
        title="Keep spares",
        owner_department=org.provider,
        owner=org.agent,
        due_on=datetime.date(2026, 12, 4),
    )
    page = browser(org.agent).get("/reviews/")
    assert page.status_code == 200
    assert review.title in page.text
    assert "Keep spares" in page.text
    assert review.title not in browser(org.outsider).get("/reviews/").text


def test_the_review_page_shows_facts_and_the_blameless_notice(org, review):
    page = browser(org.requester).get(f"/reviews/{review.pk}/")
    assert page.status_code == 200
    assert "nobody is named as a cause" in page.text
    assert "The customer's view" in page.text
    assert "Save Sales's part" in page.text  # the requester writes for Sales
    assert "Save IT's part" not in page.text


@pytest.mark.parametrize("role", ["outsider", "hr", "colleague"])
def test_strangers_get_404(org, review, role):
    assert browser(getattr(org, role)).get(f"/reviews/{review.pk}/").status_code == 404


def test_a_department_writes_its_part_on_the_page(org, review):
    prefix = f"s{org.provider.pk}"
    response = browser(org.agent).post(
        f"/reviews/{review.pk}/section/it/",
        {
            f"{prefix}-went_wrong": "No stock",
            f"{prefix}-factors": ["requester_input", "capacity"],
        },
    )
    assert response.status_code == 302
    assert ReviewSection.objects.get().factors == ["capacity", "requester_input"]
    # Read by the other side, the factors are in words, in the order of their choices.
    page = browser(org.customer_manager).get(f"/reviews/{review.pk}/").content.decode()
    assert '<span class="pill">Capacity</span> <span class="pill">Requester input</span>' in page
    refused = browser(org.requester).post(
        f"/reviews/{review.pk}/section/it/", {f"{prefix}-went_wrong": "x"}
    )
    assert refused.status_code == 403


def test_actions_from_added_to_confirmed_and_the_review_closed(org, review):
    added = browser(org.agent).post(
        f"/reviews/{review.pk}/actions/",
        {
            "title": "Keep spares",
            "owner": f"{org.provider.pk}:{org.agent.pk}",
            "due_on": "2026-12-04",
        },
    )
    assert added.status_code == 302
    action = ReviewAction.objects.get()
    url = f"/reviews/{review.pk}/actions/{action.pk}"
    assert browser(org.requester).post(f"{url}/done/").status_code == 403
    browser(org.agent).post(f"{url}/done/")
    browser(org.requester).post(f"{url}/confirm/")
    action.refresh_from_db()
    assert (action.state, action.confirmed_by) == (ActionState.DONE, org.requester)
    browser(org.customer_manager).post(f"/reviews/{review.pk}/close/")
    review.refresh_from_db()
    assert review.state == "closed"


def test_a_drop_without_a_reason_is_answered_beside_the_field(org, review):
    action = services.review_action_add(
        actor=org.agent,
        review=review,
        title="Keep spares",
        owner_department=org.provider,
        owner=org.agent,
        due_on=datetime.date(2026, 12, 4),
    )
    response = browser(org.agent).post(f"/reviews/{review.pk}/actions/{action.pk}/drop/", {})
    assert response.status_code == 400
    assert "This field is required" in response.text


def test_a_manager_opens_a_review_on_the_page(org, service):
    request = file(org, service)
    client = browser(org.customer_manager)
    assert client.get("/reviews/open/").status_code == 200
    response = client.post("/reviews/open/", {"references": request.reference})
    assert response.status_code == 302
    assert browser(org.agent).get("/reviews/open/").status_code == 403
    assert browser(org.agent).post("/reviews/open/", {"references": "junk"}).status_code == 403


def test_the_review_page_costs_the_same_queries_for_more_events(org, service):
    from requests_app import services as request_services

    request = file(org, service)
    for n in range(10):
        request_services.request_comment_add(
            request=request, author=org.agent, body=f"reply {n}", now=at(0, 10)
        )
    review, _ = services.review_open_manual(actor=org.provider_manager, requests=[request])
    agent = browser(org.agent)
    with CaptureQueriesContext(connection) as ten:
        assert agent.get(f"/reviews/{review.pk}/").status_code == 200
    for n in range(10, 30):
        request_services.request_comment_add(
            request=request, author=org.agent, body=f"reply {n}", now=at(0, 11)
        )
    with CaptureQueriesContext(connection) as thirty:
        assert agent.get(f"/reviews/{review.pk}/").status_code == 200
    assert len(thirty) == len(ten)


def test_a_departments_managers_set_its_rules(org):
    manager = browser(org.provider_manager)
    assert manager.get("/reviews/rules/it/").status_code == 200
    response = manager.post(
        "/reviews/rules/it/",
        {
            "breach_enabled": "on",
            "breach_share_percent": "100",
            "low_rating_max": "1",
            "hire_back_enabled": "on",
        },
    )
    assert response.status_code == 302
    rule = org.provider.review_rule
    assert (rule.breach_share_percent, rule.low_rating_enabled, rule.blocked_chain_enabled) == (
        100,
        False,
        False,
    )
    assert rule.updated_by == org.provider_manager
    assert browser(org.agent).post("/reviews/rules/it/", {}).status_code == 403
    assert browser(org.customer_manager).get("/reviews/rules/it/").status_code == 403


def test_its_members_read_the_rules_without_a_save_button(org):
    page = browser(org.agent).get("/reviews/rules/it/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Save the rules" not in text
    assert "Only IT's managers change these rules." in text
    assert " disabled" in text
    assert "Save the rules" in browser(org.provider_manager).get("/reviews/rules/it/").text
