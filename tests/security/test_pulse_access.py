"""Who sees a department's team pulse: its own members, in any role, and HR; nobody else,
in the API or on the scorecard page. Not the managers of a department it serves or is
served by: the pulse is the department's own health, not a service figure."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from .conftest import ROLES

# department -> the roles that see its pulse.
SEES = {
    "sales": {"requester", "colleague", "customer_manager", "hr"},
    "it": {"agent", "provider_manager", "hr"},
    "legal": {"outsider", "hr"},
}
MATRIX = [(slug, role) for slug in SEES for role in ROLES]


@pytest.mark.parametrize(("slug", "role"), MATRIX)
def test_the_pulse_api_answers_only_the_department_and_hr(world, slug, role):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[role]}")
    response = client.get("/api/v1/surveys/pulse/", {"department": slug, "quarter": "2026-Q3"})
    if role in SEES[slug]:
        assert response.status_code == 200
        body = response.json()
        assert body["department"] == slug
        assert body["quarters"][-1]["quarter"] == "2026-Q3"
    else:
        assert response.status_code == 403
        assert "quarters" not in response.json()


@pytest.mark.parametrize(("slug", "role"), MATRIX)
def test_the_scorecard_shows_the_pulse_only_to_the_department_and_hr(world, slug, role):
    client = Client()
    client.force_login(getattr(world.org, role))
    response = client.get(f"/scorecards/{slug}/")
    if role in SEES[slug]:
        assert response.status_code == 200
        assert b'id="pulse-title"' in response.content
    else:
        # The scorecard itself is the department's and HR's: as if it did not exist.
        assert response.status_code == 404
        assert b"pulse-data" not in response.content


def test_the_pulse_api_needs_a_login_and_a_known_department(world):
    assert APIClient().get("/api/v1/surveys/pulse/", {"department": "sales"}).status_code in (
        401,
        403,
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens['hr']}")
    assert client.get("/api/v1/surveys/pulse/", {"department": "nope"}).status_code == 404
    missing = client.get("/api/v1/surveys/pulse/")
    assert missing.status_code == 400
    assert "department" in missing.json()
    wrong = client.get("/api/v1/surveys/pulse/", {"department": "sales", "quarter": "Q3"})
    assert wrong.status_code == 400
    assert "quarter" in wrong.json()
