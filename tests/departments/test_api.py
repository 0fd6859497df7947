"""/api/v1/departments/ and /api/v1/services/: read-only catalog for every signed-in user."""

import datetime

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token

from departments.choices import Priority
from tests.factories import DepartmentFactory, ServiceFactory, SLATargetFactory

DEPARTMENTS_URL = "/api/v1/departments/"
SERVICES_URL = "/api/v1/services/"


def hours(n: int) -> datetime.timedelta:
    return datetime.timedelta(hours=n)


@pytest.fixture
def signed_in(api_client, org):
    api_client.force_login(org.requester)
    return api_client


def target_row(priority, first_hours, resolution_hours, source) -> dict:
    return {
        "priority": priority,
        "first_response_seconds": first_hours * 3600,
        "resolution_seconds": resolution_hours * 3600,
        "source": source,
        "agreement": None,
    }


def fallback(priority) -> dict:
    return target_row(priority, *settings.SLA_FALLBACK_TARGET_HOURS[priority], "fallback")


def slugs(response) -> list[str]:
    return [row["slug"] for row in response.json()["results"]]


def names(response) -> list[str]:
    return [row["name"] for row in response.json()["results"]]


# Authentication


@pytest.mark.parametrize("url", [DEPARTMENTS_URL, SERVICES_URL, f"{DEPARTMENTS_URL}it/"])
def test_it_refuses_anonymous_users(api_client, org, url):
    response = api_client.get(url)

    assert response.status_code in (401, 403)
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_it_accepts_a_token(api_client, org):
    token = Token.objects.create(user=org.agent)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    response = api_client.get(DEPARTMENTS_URL)

    assert response.status_code == 200
    assert slugs(response) == ["it", "legal", "sales"]


def test_it_refuses_an_unknown_token(api_client, org):
    Token.objects.create(user=org.agent)
    api_client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)

    response = api_client.get(DEPARTMENTS_URL)

    assert response.status_code in (401, 403)
    assert response.json() == {"detail": "Invalid token."}


def test_it_refuses_writes(signed_in, org):
    response = signed_in.post(DEPARTMENTS_URL, {"name": "New", "slug": "new", "code": "NEW"})

    assert response.status_code == 405
    assert response.json()["detail"] == 'Method "POST" not allowed.'


# Departments


def test_it_lists_departments_paginated(signed_in, org):
    response = signed_in.get(DEPARTMENTS_URL, {"page_size": 2})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert body["previous"] is None
    assert body["next"].endswith("page=2&page_size=2")
    assert [row["slug"] for row in body["results"]] == ["it", "legal"]

    second = signed_in.get(body["next"]).json()
    assert [row["slug"] for row in second["results"]] == ["sales"]
    assert second["next"] is None


def test_it_shows_a_department_by_slug(signed_in, org):
    division = DepartmentFactory(
        name="IT Support", slug="it-support", code="ITS", parent=org.provider
    )

    response = signed_in.get(f"{DEPARTMENTS_URL}it-support/")

    assert response.status_code == 200
    assert response.json() == {
        "id": division.pk,
        "name": "IT Support",
        "slug": "it-support",
        "code": "ITS",
        "parent": "it",
        "is_provider": True,
        "description": "",
        "calendar": division.calendar.name,
        "timezone": "Europe/Berlin",
    }


def test_it_does_not_look_departments_up_by_id(signed_in, org):
    response = signed_in.get(f"{DEPARTMENTS_URL}{org.provider.pk}/")

    assert response.status_code == 404
    assert response.json() == {"detail": "No Department matches the given query."}


def test_it_filters_departments_by_provider_flag(signed_in, org):
    DepartmentFactory(name="Board", slug="board", code="BRD", is_provider=False)

    assert slugs(signed_in.get(DEPARTMENTS_URL, {"is_provider": "false"})) == ["board"]
    assert slugs(signed_in.get(DEPARTMENTS_URL, {"is_provider": "true"})) == [
        "it",
        "legal",
        "sales",
    ]


def test_it_filters_departments_by_parent_slug_and_id(signed_in, org):
    DepartmentFactory(name="IT Support", slug="it-support", code="ITS", parent=org.provider)
    DepartmentFactory(name="IT Networks", slug="it-networks", code="ITN", parent=org.provider)
    DepartmentFactory(name="Sales North", slug="sales-north", code="SLN", parent=org.customer)

    assert slugs(signed_in.get(DEPARTMENTS_URL, {"parent": "it"})) == ["it-networks", "it-support"]
    assert slugs(signed_in.get(DEPARTMENTS_URL, {"parent_id": org.customer.pk})) == ["sales-north"]
    assert slugs(signed_in.get(DEPARTMENTS_URL, {"parent": "nobody"})) == []


def test_it_searches_departments_by_name_or_code(signed_in, org):
    assert slugs(signed_in.get(DEPARTMENTS_URL, {"q": "leg"})) == ["legal"]
    assert slugs(signed_in.get(DEPARTMENTS_URL, {"q": "sal"})) == ["sales"]
    # Matches the code "SAL" and the name "Sales": one row, not two.
    assert slugs(signed_in.get(DEPARTMENTS_URL, {"q": "SAL"})) == ["sales"]


def test_it_orders_departments(signed_in, org):
    assert slugs(signed_in.get(DEPARTMENTS_URL, {"ordering": "-code"})) == ["sales", "legal", "it"]


# Services


def test_it_lists_services_paginated(signed_in, org):
    for n in range(3):
        ServiceFactory(department=org.provider, name=f"Laptop {n}")

    response = signed_in.get(SERVICES_URL, {"page_size": 2})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert body["next"] is not None
    assert [row["name"] for row in body["results"]] == ["Laptop 0", "Laptop 1"]
    assert set(body["results"][0]) == {
        "id",
        "name",
        "description",
        "department",
        "default_priority",
        "active",
        "sla_targets",
    }
    assert body["results"][0]["department"] == "it"


def test_it_filters_services_by_department_slug_and_id(signed_in, org):
    ServiceFactory(department=org.provider, name="Laptop")
    ServiceFactory(department=org.other, name="Contract review")

    assert names(signed_in.get(SERVICES_URL, {"department": "it"})) == ["Laptop"]
    assert names(signed_in.get(SERVICES_URL, {"department_id": org.other.pk})) == [
        "Contract review"
    ]
    assert names(signed_in.get(SERVICES_URL, {"department": "nobody"})) == []


def test_it_filters_services_by_active_flag(signed_in, org):
    ServiceFactory(department=org.provider, name="Laptop")
    ServiceFactory(department=org.provider, name="Fax machine", active=False)

    assert names(signed_in.get(SERVICES_URL, {"active": "true"})) == ["Laptop"]
    assert names(signed_in.get(SERVICES_URL, {"active": "false"})) == ["Fax machine"]
    assert names(signed_in.get(SERVICES_URL)) == ["Fax machine", "Laptop"]


def test_it_filters_services_by_default_priority(signed_in, org):
    ServiceFactory(department=org.provider, name="Laptop")
    ServiceFactory(department=org.provider, name="Outage", default_priority=Priority.URGENT)

    assert names(signed_in.get(SERVICES_URL, {"default_priority": "urgent"})) == ["Outage"]
    assert names(signed_in.get(SERVICES_URL, {"default_priority": "normal"})) == ["Laptop"]


def test_it_searches_services_by_name(signed_in, org):
    ServiceFactory(department=org.provider, name="New laptop")
    ServiceFactory(department=org.provider, name="VPN access")

    assert names(signed_in.get(SERVICES_URL, {"q": "LAPTOP"})) == ["New laptop"]


def test_it_shows_a_service(signed_in, org):
    service = ServiceFactory(department=org.provider, name="Laptop", description="A new one")

    response = signed_in.get(f"{SERVICES_URL}{service.pk}/")

    assert response.status_code == 200
    assert response.json() == {
        "id": service.pk,
        "name": "Laptop",
        "description": "A new one",
        "department": "it",
        "default_priority": "normal",
        "active": True,
        # No target anywhere: the company fallback, for every priority.
        "sla_targets": [fallback(priority) for priority in Priority.values],
    }


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"department_id": "abc"}, "department_id", "Enter a number."),
        (
            {"default_priority": "someday"},
            "default_priority",
            "Select a valid choice. someday is not one of the available choices.",
        ),
    ],
)
def test_it_answers_a_bad_filter_value_with_a_json_field_error(
    signed_in, org, params, field, message
):
    response = signed_in.get(SERVICES_URL, params)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {field: [message]}


def test_it_answers_a_bad_department_filter_value_with_a_json_field_error(signed_in, org):
    response = signed_in.get(DEPARTMENTS_URL, {"parent_id": "abc"})

    assert response.status_code == 400
    assert response.json() == {"parent_id": ["Enter a number."]}


# Effective SLA targets


def test_it_gives_each_service_its_effective_targets_per_priority(signed_in, org):
    own = ServiceFactory(department=org.provider, name="Outage")
    inheriting = ServiceFactory(department=org.provider, name="Laptop")
    SLATargetFactory(
        department=org.provider,
        priority=Priority.NORMAL,
        first_response=hours(4),
        resolution=hours(16),
    )
    SLATargetFactory(
        department=org.provider,
        priority=Priority.HIGH,
        first_response=hours(2),
        resolution=hours(8),
    )
    # The service's own target overrides the default for HIGH only; URGENT has no default.
    SLATargetFactory(
        service=own, priority=Priority.HIGH, first_response=hours(1), resolution=hours(3)
    )
    SLATargetFactory(
        service=own, priority=Priority.URGENT, first_response=hours(1), resolution=hours(2)
    )

    response = signed_in.get(SERVICES_URL, {"department": "it"})

    targets = {row["name"]: row["sla_targets"] for row in response.json()["results"]}
    assert targets["Outage"] == [
        fallback("low"),
        target_row("normal", 4, 16, "department"),
        target_row("high", 1, 3, "service"),
        target_row("urgent", 1, 2, "service"),
    ]
    assert targets["Laptop"] == [
        fallback("low"),
        target_row("normal", 4, 16, "department"),
        target_row("high", 2, 8, "department"),
        fallback("urgent"),
    ]
    assert inheriting.sla_targets.count() == 0


def test_it_never_uses_another_departments_defaults(signed_in, org):
    service = ServiceFactory(department=org.provider, name="Laptop")
    SLATargetFactory(department=org.other, priority=Priority.NORMAL)

    response = signed_in.get(f"{SERVICES_URL}{service.pk}/")

    assert response.json()["sla_targets"] == [fallback(p) for p in Priority.values]


def _services_with_targets(department, count: int) -> None:
    SLATargetFactory(department=department, priority=Priority.NORMAL)
    for n in range(count):
        service = ServiceFactory(department=department, name=f"Service {n:02}")
        if n % 2:
            SLATargetFactory(service=service, priority=Priority.HIGH)


def test_it_lists_services_in_a_constant_number_of_queries(
    signed_in, org, django_assert_max_num_queries
):
    # session, user, count, services, the caller's memberships, agreement targets, SLA targets
    max_queries = 7
    _services_with_targets(org.provider, 5)
    with django_assert_max_num_queries(max_queries) as few:
        response = signed_in.get(SERVICES_URL)
    assert response.json()["count"] == 5

    _services_with_targets(org.other, 25)
    with django_assert_max_num_queries(max_queries) as many:
        response = signed_in.get(SERVICES_URL)
    assert response.json()["count"] == 30
    assert len(many.captured_queries) == len(few.captured_queries)


def test_it_lists_departments_in_a_constant_number_of_queries(
    signed_in, org, django_assert_max_num_queries
):
    for n in range(20):
        DepartmentFactory(name=f"Division {n:02}", code=f"DIV{n:02}", parent=org.provider)

    # session, user, count, departments with parent and calendar
    with django_assert_max_num_queries(4):
        response = signed_in.get(DEPARTMENTS_URL)

    assert response.json()["count"] == 23
