"""/departments/<slug>/escalation/: members and HR read the levels, managers edit them with
a formset; the department page lists them for those who may see them."""

import pytest

from departments.models import EscalationLevel
from tests.factories import EscalationLevelFactory

URL = "/departments/it/escalation/"


@pytest.fixture
def levels(org):
    return [
        EscalationLevelFactory(department=org.provider, number=1, value=50),
        EscalationLevelFactory(
            department=org.provider,
            number=2,
            threshold="overdue",
            value=4 * 3600,
            notify=["managers", "customer_managers"],
            action="raise_priority",
            raise_to="urgent",
        ),
    ]


def form_data(rows):
    data = {
        "levels-TOTAL_FORMS": str(len(rows)),
        "levels-INITIAL_FORMS": "0",
        "levels-MIN_NUM_FORMS": "0",
        "levels-MAX_NUM_FORMS": "10",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"levels-{index}-{key}"] = value
    return data


def test_it_lists_the_levels_in_words_on_the_department_page(client, org, levels):
    client.force_login(org.agent)
    page = client.get("/departments/it/").content.decode()

    assert "Level 1: at 50% of the target (both clocks), tell the assignee." in page
    assert (
        "Level 2: at 4 business hours overdue (both clocks), tell the department&#x27;s managers "
        "and the customer department&#x27;s managers; then raise the priority to urgent."
    ) in page


def test_it_keeps_the_levels_from_other_departments(client, org, levels):
    client.force_login(org.requester)
    assert "Level 1: at 50%" not in client.get("/departments/it/").content.decode()
    assert client.get(URL).status_code == 403


def test_it_says_when_the_default_applies(client, org):
    client.force_login(org.agent)
    assert "the company default applies" in client.get(URL).content.decode()


def test_it_shows_a_member_the_levels_without_the_form(client, org, levels):
    client.force_login(org.agent)
    page = client.get(URL).content.decode()
    assert "Level 1: at 50% of the target" in page
    assert "Save the levels" not in page


def test_it_refuses_a_members_edit(client, org, levels):
    client.force_login(org.agent)
    response = client.post(URL, form_data([{"threshold": "share", "amount": "10%"}]))
    assert response.status_code == 403
    assert EscalationLevel.objects.count() == 2


def test_it_lets_a_manager_replace_the_levels(client, org, levels):
    client.force_login(org.provider_manager)
    response = client.post(
        URL,
        form_data(
            [
                {
                    "clock": "resolution",
                    "threshold": "share",
                    "amount": "60%",
                    "notify": ["assignee"],
                },
                {
                    "clock": "both",
                    "threshold": "overdue",
                    "amount": "1h30m",
                    "notify": ["parent_managers"],
                    "action": "assign",
                    "assign_to": str(org.agent.pk),
                },
                {"clock": "both", "threshold": "share", "amount": ""},  # a blank row
            ]
        ),
    )

    assert response.status_code == 302, response.content.decode()
    assert [
        (lv.number, lv.clock, lv.threshold, lv.value, lv.action, lv.assign_to_id)
        for lv in EscalationLevel.objects.order_by("number")
    ] == [
        (1, "resolution", "share", 60, "", None),
        (2, "both", "overdue", 5400, "assign", org.agent.pk),
    ]


def test_it_shows_the_problems_of_the_set(client, org):
    client.force_login(org.provider_manager)
    response = client.post(
        URL,
        form_data(
            [
                {"clock": "both", "threshold": "share", "amount": "75%", "notify": ["assignee"]},
                {"clock": "both", "threshold": "share", "amount": "50%", "notify": ["managers"]},
                {
                    "clock": "both",
                    "threshold": "overdue",
                    "amount": "4 days",
                    "notify": ["managers"],
                },
            ]
        ),
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "is not a duration" in page or "days are ambiguous" in page
    assert not EscalationLevel.objects.exists()

    response = client.post(
        URL,
        form_data(
            [
                {"clock": "both", "threshold": "share", "amount": "75%", "notify": ["assignee"]},
                {"clock": "both", "threshold": "share", "amount": "50%", "notify": ["managers"]},
            ]
        ),
    )
    assert response.status_code == 400
    assert "Level 2 must come later on the clock than level 1" in response.content.decode()


def test_an_agreement_page_shows_the_versions_levels(client, org):
    import datetime

    from departments.escalation import LevelInput
    from tests.factories import agreement_accepted

    agreement = agreement_accepted(
        proposer=org.provider_manager,
        decider=org.customer_manager,
        provider=org.provider,
        customer=org.customer,
        targets=[(None, "normal", 1, 4)],
        escalation_levels=[LevelInput(threshold="overdue", value=3600, notify=["managers"])],
        now=datetime.datetime(2026, 11, 2, 9, tzinfo=datetime.UTC),
    )
    client.force_login(org.customer_manager)
    page = client.get(f"/departments/it/agreements/{agreement.pk}/").content.decode()
    assert "Level 1: at 1 business hour overdue (both clocks), tell the department" in page


def test_a_proposal_carries_its_own_levels(client, org):
    from departments.models import Agreement

    client.force_login(org.provider_manager)
    data = {
        "customer": "sales",
        "valid_from": "2027-01-04",
        "t-all-normal-first_response": "1h",
        "t-all-normal-resolution": "4h",
        **form_data(
            [
                {
                    "clock": "resolution",
                    "threshold": "overdue",
                    "amount": "2h",
                    "notify": ["managers"],
                }
            ]
        ),
    }
    response = client.post("/departments/it/agreements/new/", data)

    assert response.status_code == 302, response.content.decode()[:2000]
    agreement = Agreement.objects.get()
    assert [
        (lv.threshold, lv.value, lv.department_id) for lv in agreement.escalation_levels.all()
    ] == [("overdue", 7200, org.provider.pk)]
    assert not EscalationLevel.objects.filter(agreement__isnull=True).exists()
