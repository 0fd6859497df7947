"""The team pulse in the API: answering through one's invitation, and reading a department's
released pulse."""

import datetime

import time_machine

from surveys import services
from surveys.models import PulseAnswer, RelationshipInvitation

from .conftest import Q3_OPENED

CLOSES = Q3_OPENED + datetime.timedelta(days=services.RELATIONSHIP_OPEN_DAYS)
DAY_1 = Q3_OPENED + datetime.timedelta(days=1)


def post_pulse(api_client, user, body):
    invitation = RelationshipInvitation.objects.get(user=user)
    api_client.force_authenticate(user)
    return api_client.post(
        f"/api/v1/surveys/relationship/{invitation.pk}/pulse/", body, format="json"
    )


def pulse_body(user, morale=4, collaboration=3):
    item = RelationshipInvitation.objects.get(user=user).pulse_items.get()
    return {"answers": [{"item": item.pk, "morale": morale, "collaboration": collaboration}]}


def test_it_answers_the_pulse_once(api_client, opened, org):
    api_client.force_authenticate(org.requester)
    with time_machine.travel(DAY_1, tick=False):
        (listed,) = api_client.get("/api/v1/surveys/relationship/").json()["results"]
        assert listed["pulse_items"] == [
            {
                "id": listed["pulse_items"][0]["id"],
                "department": "sales",
                "department_name": "Sales",
                "answered": False,
            }
        ]
        first = post_pulse(api_client, org.requester, pulse_body(org.requester))
        again = post_pulse(api_client, org.requester, pulse_body(org.requester, 1, 1))
    assert first.status_code == 201
    assert first.json()["recorded"] == 1
    assert first.json()["invitation"]["pulse_items"][0]["answered"] is True
    assert again.status_code == 400
    assert "already" in str(again.json())
    assert list(PulseAnswer.objects.values_list("morale", flat=True)) == [4]


def test_it_says_which_field_is_wrong(api_client, opened, org):
    with time_machine.travel(DAY_1, tick=False):
        response = post_pulse(api_client, org.requester, pulse_body(org.requester, morale=7))
        empty = post_pulse(api_client, org.requester, {"answers": []})
        missing = post_pulse(
            api_client,
            org.requester,
            {"answers": [{"item": pulse_body(org.requester)["answers"][0]["item"], "morale": 3}]},
        )
    assert response.status_code == 400
    assert response.json()["answers"]["0"] == {
        "morale": ["Ensure this value is less than or equal to 5."]
    }
    assert empty.status_code == 400
    assert missing.status_code == 400
    assert missing.json()["answers"]["0"] == {"collaboration": ["This field is required."]}
    assert not PulseAnswer.objects.exists()


def test_it_refuses_a_closed_survey(api_client, opened, org):
    with time_machine.travel(CLOSES, tick=False):
        response = post_pulse(api_client, org.requester, pulse_body(org.requester))
    assert response.status_code == 400
    assert "closed" in str(response.json())


def test_a_department_reads_its_pulse_once_the_survey_has_closed(api_client, opened, org):
    with time_machine.travel(DAY_1, tick=False):
        for user, morale in ((org.requester, 5), (org.colleague, 4), (org.customer_manager, 3)):
            assert post_pulse(api_client, user, pulse_body(user, morale, 2)).status_code == 201
    api_client.force_authenticate(org.colleague)
    query = {"department": "sales", "quarter": "2026-Q3"}
    with time_machine.travel(DAY_1, tick=False):
        running = api_client.get("/api/v1/surveys/pulse/", query).json()["quarters"][-1]
    with time_machine.travel(CLOSES, tick=False):
        closed = api_client.get("/api/v1/surveys/pulse/", query).json()["quarters"][-1]
    assert running["released"] is False
    assert running["figures"]["morale"]["value"] is None
    assert (running["invited"], running["answered"]) == (3, 3)
    assert closed["released"] is True
    assert closed["hidden"] is False
    assert closed["figures"]["morale"] == {"count": 3, "value": 4.0, "hidden": False}
    assert closed["distributions"]["collaboration"] == {"1": 0, "2": 3, "3": 0, "4": 0, "5": 0}
