"""The reviews API: lists, detail, opening by hand, sections, actions and their states."""

import datetime

import pytest
from rest_framework.test import APIClient

from reviews.models import ReviewAction

from .conftest import at, file

pytestmark = pytest.mark.clock(datetime.datetime(2026, 11, 26, 10, tzinfo=at(0, 0).tzinfo))


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_it_lists_the_reviews_one_takes_part_in(org, review):
    for role, count in [("agent", 1), ("requester", 1), ("colleague", 0), ("outsider", 0)]:
        body = client_for(getattr(org, role)).get("/api/v1/reviews/").json()
        assert body["count"] == count, role
    detail = client_for(org.agent).get(f"/api/v1/reviews/{review.pk}/").json()
    assert detail["departments"] == [
        {"department": "sales", "side": "customer"},
        {"department": "it", "side": "provider"},
    ]
    assert detail["allowed_actions"] == ["view", "write_section", "add_action"]
    assert client_for(org.hr).get(f"/api/v1/reviews/{review.pk}/").status_code == 404


def test_the_list_costs_the_same_queries_for_more_reviews(
    org, service, django_assert_max_num_queries
):
    from reviews import services

    for n in range(6):
        services.review_open_manual(
            actor=org.provider_manager, requests=[file(org, service, title=str(n))]
        )
    with django_assert_max_num_queries(6):
        assert client_for(org.agent).get("/api/v1/reviews/").json()["count"] == 6


def test_a_manager_opens_a_review_and_again_gets_the_same(org, service):
    request = file(org, service)
    client = client_for(org.customer_manager)
    first = client.post("/api/v1/reviews/", {"requests": [request.pk]}, format="json")
    again = client.post("/api/v1/reviews/", {"requests": [request.pk]}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["trigger"] == "manual"
    refused = client_for(org.agent).post("/api/v1/reviews/", {"requests": "x"}, format="json")
    assert refused.status_code == 403


def test_a_pair_review_needs_a_quarter(org):
    client = client_for(org.provider_manager)
    bad = client.post(
        "/api/v1/reviews/", {"provider": "it", "customer": "sales", "period": "2026"}, format="json"
    )
    assert bad.status_code == 400
    assert "period" in bad.json()
    good = client.post(
        "/api/v1/reviews/",
        {"provider": "it", "customer": "sales", "period": "2026-Q3"},
        format="json",
    )
    assert good.status_code == 201


def test_sections_and_actions_through_to_closing(org, review):
    agent, requester = client_for(org.agent), client_for(org.requester)
    written = agent.post(
        f"/api/v1/reviews/{review.pk}/sections/",
        {"department": "it", "went_wrong": "No stock", "factors": ["capacity"]},
        format="json",
    )
    assert written.status_code == 200
    assert written.json()["sections"][0]["factors"] == ["capacity"]
    assert (
        requester.post(
            f"/api/v1/reviews/{review.pk}/sections/", {"department": "it"}, format="json"
        ).status_code
        == 403
    )
    added = agent.post(
        f"/api/v1/reviews/{review.pk}/actions/",
        {
            "title": "Spare laptops",
            "owner_department": "it",
            "owner": "agent",
            "due_on": "2026-12-04",
        },
        format="json",
    )
    assert added.status_code == 201, added.json()
    action_id = added.json()["id"]
    assert requester.post(f"/api/v1/reviews/actions/{action_id}/done/").status_code == 403
    assert agent.post(f"/api/v1/reviews/actions/{action_id}/done/").json()["state"] == "done"
    confirmed = requester.post(f"/api/v1/reviews/actions/{action_id}/confirm/")
    assert confirmed.json()["confirmed_by"] == "requester"
    closed = client_for(org.provider_manager).post(f"/api/v1/reviews/{review.pk}/close/")
    assert closed.status_code == 200
    assert closed.json()["state"] == "closed"


def test_a_drop_says_why_and_an_update_moves_the_due_date(org, review):
    agent = client_for(org.agent)
    added = agent.post(
        f"/api/v1/reviews/{review.pk}/actions/",
        {"title": "Spare", "owner_department": "it", "owner": "agent", "due_on": "2026-12-04"},
        format="json",
    )
    action_id = added.json()["id"]
    moved = agent.post(
        f"/api/v1/reviews/actions/{action_id}/update/", {"due_on": "2026-12-11"}, format="json"
    )
    assert moved.json()["due_on"] == "2026-12-11"
    assert agent.post(f"/api/v1/reviews/actions/{action_id}/drop/", {}).status_code == 400
    dropped = agent.post(
        f"/api/v1/reviews/actions/{action_id}/drop/", {"reason": "Not needed"}, format="json"
    )
    assert dropped.json()["state"] == "dropped"
    assert ReviewAction.objects.get().dropped_reason == "Not needed"
    mine = agent.get("/api/v1/reviews/actions/", {"mine": "true"}).json()
    assert [row["id"] for row in mine["results"]] == [action_id]
