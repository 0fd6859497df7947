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


def test_its_members_read_a_departments_rules_the_defaults_first(org):
    body = client_for(org.agent).get("/api/v1/reviews/rules/it/").json()
    assert body == {
        "department": "it",
        "breach_enabled": True,
        "breach_share_percent": 50,
        "low_rating_enabled": True,
        "low_rating_max": 2,
        "blocked_chain_enabled": True,
        "hire_back_enabled": True,
        "updated_by": None,
        "updated_at": None,
        "can_edit": False,
    }
    assert client_for(org.provider_manager).get("/api/v1/reviews/rules/it/").json()["can_edit"]


def test_its_managers_change_some_rules_and_the_rest_stay(org):
    manager = client_for(org.provider_manager)
    response = manager.post(
        "/api/v1/reviews/rules/it/",
        {"breach_share_percent": 100, "low_rating_enabled": False},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["breach_share_percent"], body["low_rating_enabled"], body["breach_enabled"]) == (
        100,
        False,
        True,
    )
    assert body["updated_by"] == "provider_manager"
    rule = org.provider.review_rule
    assert (rule.breach_share_percent, rule.low_rating_enabled) == (100, False)
    assert (
        client_for(org.agent).get("/api/v1/reviews/rules/it/").json()["breach_share_percent"] == 100
    )


def test_a_bad_rule_is_a_field_error(org):
    response = client_for(org.provider_manager).post(
        "/api/v1/reviews/rules/it/", {"low_rating_max": 9, "breach_enabled": "x"}, format="json"
    )
    assert response.status_code == 400
    assert {"low_rating_max", "breach_enabled"} <= set(response.json())
    assert not type(org.provider).objects.filter(review_rule__isnull=False).exists()


def test_others_may_not_read_nor_change_the_rules(org):
    for role in ("requester", "customer_manager", "outsider", "hr"):
        client = client_for(getattr(org, role))
        assert client.get("/api/v1/reviews/rules/it/").status_code == 403, role
        assert client.post("/api/v1/reviews/rules/it/", {}, format="json").status_code == 403
    # A member who is not a manager reads, and is refused before the body is read.
    refused = client_for(org.agent).post(
        "/api/v1/reviews/rules/it/", {"low_rating_max": 9}, format="json"
    )
    assert refused.status_code == 403
    assert client_for(org.agent).get("/api/v1/reviews/rules/nowhere/").status_code == 404
    assert APIClient().get("/api/v1/reviews/rules/it/").status_code in (401, 403)


def test_the_server_decides_whose_rules_and_who_changed_them(org):
    response = client_for(org.provider_manager).post(
        "/api/v1/reviews/rules/it/",
        {
            "department": "legal",
            "updated_by": "outsider",
            "can_edit": True,
            "hire_back_enabled": False,
        },
        format="json",
    )
    assert response.status_code == 200
    assert (response.json()["department"], response.json()["updated_by"]) == (
        "it",
        "provider_manager",
    )
    assert not hasattr(org.other, "review_rule") or org.other.review_rule is None
    assert org.provider.review_rule.hire_back_enabled is False
