"""GET/POST /api/v1/departments/{slug}/escalation-levels/: members and HR read, managers
replace the set, everyone else is refused before the input is read."""

import pytest

from departments.models import EscalationLevel
from tests.factories import EscalationLevelFactory

URL = "/api/v1/departments/{}/escalation-levels/"

LEVELS = {
    "levels": [
        {"threshold": "share", "value": 50, "notify": ["assignee"]},
        {"threshold": "share", "value": 75, "notify": ["managers"], "clock": "resolution"},
        {
            "threshold": "overdue",
            "value": 4 * 3600,
            "notify": ["parent_managers", "customer_managers"],
            "action": "raise_priority",
            "raise_to": "urgent",
        },
    ]
}


@pytest.fixture
def level(org):
    return EscalationLevelFactory(department=org.provider, number=1, value=60)


def test_it_shows_the_levels_to_the_departments_members(api_client, org, level):
    api_client.force_authenticate(org.agent)
    response = api_client.get(URL.format("it"))

    assert response.status_code == 200
    assert response.json() == {
        "department": "it",
        "default": False,
        "can_edit": False,
        "levels": [
            {
                "number": 1,
                "clock": "both",
                "threshold": "share",
                "value": 60,
                "notify": ["assignee"],
                "action": "",
                "assign_to": None,
                "raise_to": "",
                "description": "Level 1 at 60% of the target: tell the assignee",
            }
        ],
    }


def test_it_says_when_the_default_applies(api_client, org):
    api_client.force_authenticate(org.provider_manager)
    response = api_client.get(URL.format("it"))
    assert response.json()["default"] is True
    assert response.json()["can_edit"] is True


@pytest.mark.parametrize("who", ["requester", "customer_manager", "outsider"])
def test_it_refuses_the_levels_to_other_departments(api_client, org, level, who):
    api_client.force_authenticate(getattr(org, who))
    assert api_client.get(URL.format("it")).status_code == 403


def test_it_shows_them_to_hr(api_client, org, level):
    api_client.force_authenticate(org.hr)
    assert api_client.get(URL.format("it")).status_code == 200


def test_it_lets_a_manager_replace_the_set(api_client, org, level):
    api_client.force_authenticate(org.provider_manager)
    response = api_client.post(URL.format("it"), LEVELS, format="json")

    assert response.status_code == 200, response.json()
    assert [(lv["number"], lv["value"]) for lv in response.json()["levels"]] == [
        (1, 50),
        (2, 75),
        (3, 4 * 3600),
    ]
    assert response.json()["levels"][2]["description"] == (
        "Level 3 at 4 business hours overdue: tell the parent department's managers "
        "and the customer department's managers"
    )
    assert EscalationLevel.objects.filter(department=org.provider).count() == 3


def test_it_refuses_levels_out_of_order_with_their_number(api_client, org):
    api_client.force_authenticate(org.provider_manager)
    body = {"levels": [LEVELS["levels"][1], LEVELS["levels"][0]]}
    response = api_client.post(URL.format("it"), body, format="json")

    assert response.status_code == 400
    assert response.json()["levels"] == [
        "Level 2, value: Level 2 must come later on the clock than level 1: shares rising, "
        "then times past due rising."
    ]


def test_it_refuses_to_assign_to_someone_outside_the_department(api_client, org):
    api_client.force_authenticate(org.provider_manager)
    body = {
        "levels": [
            {"threshold": "share", "value": 50, "action": "assign", "assign_to": "requester"}
        ]
    }
    response = api_client.post(URL.format("it"), body, format="json")

    assert response.status_code == 400
    assert response.json()["levels"] == [
        "Level 1, assign_to: requester is not an agent or manager of IT."
    ]


@pytest.mark.parametrize("who", ["agent", "requester", "customer_manager", "outsider", "hr"])
def test_it_refuses_others_before_reading_the_input(api_client, org, level, who):
    api_client.force_authenticate(getattr(org, who))
    response = api_client.post(URL.format("it"), {"levels": "nonsense"}, format="json")

    assert response.status_code == 403
    assert EscalationLevel.objects.get().value == 60


def test_it_refuses_anonymous_callers(api_client, org):
    assert api_client.get(URL.format("it")).status_code in (401, 403)


def test_it_is_in_the_schema(api_client, org):
    api_client.force_authenticate(org.agent)
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    operations = schema["paths"]["/api/v1/departments/{slug}/escalation-levels/"]
    assert set(operations) >= {"get", "post"}
