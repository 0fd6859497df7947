"""Who sees which scorecard: every role of the shared cast against every page and API call.

IT provides to Sales; Legal is unrelated. Members see their own departments' scorecards,
HR every one; pairs show with either of their departments; the matrix and the league table
are for HR and managers.
"""

import pytest
from django.contrib.auth.models import Permission

from scorecards.selectors import departments_with_visible_scorecards, scorecard_access
from tests.factories import UserFactory

from .helpers import rates, snapshot

USERS = [
    "requester",
    "colleague",
    "customer_manager",
    "agent",
    "provider_manager",
    "outsider",
    "hr",
]

# (page, users who get it; everybody else gets 404)
PAGES = [
    ("/scorecards/it/", {"agent", "provider_manager", "hr"}),
    ("/scorecards/it/?role=customer", {"agent", "provider_manager", "hr"}),
    ("/scorecards/sales/", {"requester", "colleague", "customer_manager", "hr"}),
    ("/scorecards/legal/", {"outsider", "hr"}),
    (
        "/scorecards/it/pair/sales/",
        {"requester", "colleague", "customer_manager", "agent", "provider_manager", "hr"},
    ),
    # A pair of two departments is no business of a manager of a third.
    (
        "/scorecards/sales/pair/legal/",
        {"requester", "colleague", "customer_manager", "outsider", "hr"},
    ),
    ("/scorecards/it/pair/legal/", {"agent", "provider_manager", "outsider", "hr"}),
    ("/scorecards/matrix/", {"customer_manager", "provider_manager", "hr"}),
    ("/scorecards/organisation/", {"customer_manager", "provider_manager", "hr"}),
    ("/scorecards/nowhere/", set()),
]

APIS = [
    ("/api/v1/scorecards/?department=it", {"agent", "provider_manager", "hr"}),
    (
        "/api/v1/scorecards/?department=sales&role=customer",
        {"requester", "colleague", "customer_manager", "hr"},
    ),
    (
        "/api/v1/scorecards/?department=it&counterpart=sales",
        {"requester", "colleague", "customer_manager", "agent", "provider_manager", "hr"},
    ),
    (
        "/api/v1/scorecards/?department=sales&counterpart=legal",
        {"requester", "colleague", "customer_manager", "outsider", "hr"},
    ),
    ("/api/v1/scorecards/matrix/", {"customer_manager", "provider_manager", "hr"}),
    ("/api/v1/scorecards/league/", {"customer_manager", "provider_manager", "hr"}),
]


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize(("url", "allowed"), PAGES)
def test_it_shows_each_page_only_to_those_allowed(client, org, user, url, allowed):
    client.force_login(getattr(org, user))
    response = client.get(url)
    assert response.status_code == (200 if user in allowed else 404)


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize(("url", "allowed"), APIS)
def test_it_answers_each_api_call_only_to_those_allowed(api_client, org, user, url, allowed):
    api_client.force_authenticate(getattr(org, user))
    response = api_client.get(url)
    assert response.status_code == (200 if user in allowed else 404)


@pytest.mark.parametrize("url", [url for url, _ in PAGES])
def test_it_sends_anonymous_visitors_to_log_in(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("url", [url for url, _ in APIS])
def test_it_answers_401_to_anonymous_api_calls(api_client, db, url):
    assert api_client.get(url).status_code == 401


def test_it_gives_hr_by_permission_without_the_group(org):
    auditor = UserFactory(username="auditor")
    auditor.user_permissions.add(Permission.objects.get(codename="view_all_scorecards"))
    assert set(departments_with_visible_scorecards(auditor)) == {
        org.provider,
        org.customer,
        org.other,
    }


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("requester", {"sales"}),
        ("agent", {"it"}),
        ("provider_manager", {"it"}),
        ("outsider", {"legal"}),
        ("hr", {"it", "sales", "legal"}),
    ],
)
def test_it_lists_the_departments_with_visible_scorecards(org, user, expected):
    departments = departments_with_visible_scorecards(getattr(org, user))
    assert {department.slug for department in departments} == expected


def test_it_hides_matrix_cells_outside_a_managers_row_and_column(api_client, org):
    snapshot(
        org.provider, "provider", "2026-Q4", counterpart=org.customer, **rates("timeliness", 1, 2)
    )
    snapshot(
        org.customer, "provider", "2026-Q4", counterpart=org.provider, **rates("timeliness", 1, 3)
    )
    snapshot(
        org.customer, "provider", "2026-Q4", counterpart=org.other, **rates("timeliness", 1, 4)
    )
    api_client.force_authenticate(org.provider_manager)
    body = api_client.get("/api/v1/scorecards/matrix/", {"period": "2026-Q4"}).json()
    cells = {
        (row["provider"], cell["customer"]): cell for row in body["rows"] for cell in row["cells"]
    }
    assert cells[("it", "sales")]["value"] == 0.5  # IT's row
    assert cells[("sales", "it")]["value"] == pytest.approx(1 / 3)  # IT's column
    hidden = cells[("sales", "legal")]
    assert hidden["value"] is None
    assert hidden["n"] is None
    assert hidden["interval"] is None
    assert hidden["reason"] == "not_visible"


def test_it_shows_hr_every_matrix_cell(api_client, org):
    snapshot(
        org.customer, "provider", "2026-Q4", counterpart=org.other, **rates("timeliness", 1, 4)
    )
    api_client.force_authenticate(org.hr)
    body = api_client.get("/api/v1/scorecards/matrix/", {"period": "2026-Q4"}).json()
    sales = next(row for row in body["rows"] if row["provider"] == "sales")
    legal = next(cell for cell in sales["cells"] if cell["customer"] == "legal")
    assert legal["value"] == 0.25


def test_it_decides_access_once_from_memberships(org, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        access = scorecard_access(user=org.provider_manager)
    assert access.manages == {org.provider.pk}
    assert access.sees_pair(org.provider.pk, org.other.pk)
    assert not access.sees_pair(org.customer.pk, org.other.pk)
    assert access.sees_matrix_cell(org.customer.pk, org.provider.pk)
    assert not access.sees_matrix_cell(org.customer.pk, org.other.pk)
