"""The agreements API: proposing (POST /agreements/), accepting, declining and withdrawing
(actions), permissions per side, 400s with field errors, what the list shows to whom."""

import datetime
import zoneinfo

import pytest
from rest_framework.test import APIClient

from departments.models import Agreement
from tests.factories import MembershipFactory, ServiceFactory, agreement_accepted

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)
URL = "/api/v1/agreements/"

pytestmark = pytest.mark.clock(NOW)


def as_(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def proposal(**changes) -> dict:
    body = {
        "provider": "it",
        "customer": "sales",
        "valid_from": "2026-12-01",
        "targets": [
            {
                "service": None,
                "priority": "high",
                "first_response_seconds": 3600,
                "resolution_seconds": 4 * 3600,
            }
        ],
    }
    body.update(changes)
    return body


@pytest.fixture
def proposed(org):
    response = as_(org.provider_manager).post(URL, proposal(comment="For the fair"), format="json")
    assert response.status_code == 201, response.content
    return Agreement.objects.get(pk=response.json()["id"])


def test_a_manager_proposes_and_gets_the_version_back(org):
    laptop = ServiceFactory(department=org.provider, name="Laptop")
    body = proposal(
        valid_until="2027-06-30",
        comment="Sales fair",
        targets=[
            {
                "service": laptop.pk,
                "priority": "urgent",
                "first_response_seconds": 900,
                "resolution_seconds": 7200,
            }
        ],
    )

    response = as_(org.customer_manager).post(URL, body, format="json")

    assert response.status_code == 201
    data = response.json()
    assert {key: data[key] for key in ("label", "provider", "customer", "version", "state")} == {
        "label": "Sales-IT agreement v1",
        "provider": "it",
        "customer": "sales",
        "version": 1,
        "state": "proposed",
    }
    assert data["proposed_side"] == "customer"
    assert data["proposed_by"] == "customer_manager"
    assert data["valid_until"] == "2027-06-30"
    assert data["effective_from"] is None
    assert data["targets"] == [
        {
            "service": laptop.pk,
            "priority": "urgent",
            "first_response_seconds": 900,
            "resolution_seconds": 7200,
        }
    ]
    assert data["allowed_actions"] == ["withdraw"]
    other_side = as_(org.provider_manager).get(f"{URL}{data['id']}/").json()
    assert other_side["allowed_actions"] == ["accept", "decline"]


def test_a_proposal_for_every_customer_names_no_customer(org):
    response = as_(org.provider_manager).post(URL, proposal(customer=None), format="json")

    assert response.status_code == 201
    assert response.json()["customer"] is None
    assert response.json()["label"] == "IT agreement with every customer v1"


@pytest.mark.parametrize("role", ["requester", "agent", "outsider", "hr"])
@pytest.mark.parametrize("body", [{}, {"provider": "it", "customer": "sales"}, "full"])
def test_someone_who_manages_nothing_is_refused_whatever_the_body(org, role, body):
    sent = proposal() if body == "full" else body

    response = as_(getattr(org, role)).post(URL, sent, format="json")

    assert response.status_code == 403
    assert "detail" in response.json()
    assert not Agreement.objects.exists()


def test_a_manager_of_neither_side_is_refused(org):
    legal_manager = MembershipFactory(department=org.other, role="manager").user

    response = as_(legal_manager).post(URL, proposal(targets=[]), format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": "Only managers of IT or Sales propose their agreement."}


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"provider": "nowhere"}, {"provider": ["Object with slug=nowhere does not exist."]}),
        ({"targets": []}, {"targets": ["Give at least one target."]}),
        (
            {"valid_from": "soon"},
            {
                "valid_from": [
                    "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."
                ]
            },
        ),
        ({"valid_from": "1066-10-14"}, {"valid_from": ["Give a year from 1900 to 2999."]}),
        ({"state": "accepted"}, {"state": ["This field cannot be set."]}),
        (
            {"calendar": "Nowhere hours"},
            {"calendar": ["Object with name=Nowhere hours does not exist."]},
        ),
        (
            {"valid_until": "2026-11-30"},
            {"valid_until": ["The agreement cannot end before it starts."]},
        ),
    ],
)
def test_bad_input_gets_field_errors(org, changes, errors):
    response = as_(org.provider_manager).post(URL, proposal(**changes), format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert not Agreement.objects.exists()


def test_bad_targets_get_field_errors(org):
    targets = [
        {"service": None, "priority": "extreme", "first_response_seconds": -1},
        {
            "service": None,
            "priority": "high",
            "first_response_seconds": 60,
            "resolution_seconds": 60,
            "version": 3,
        },
    ]

    response = as_(org.provider_manager).post(URL, proposal(targets=targets), format="json")

    assert response.status_code == 400
    assert response.json() == {
        "targets": {
            "0": {
                "priority": ['"extreme" is not a valid choice.'],
                "first_response_seconds": ["Ensure this value is greater than or equal to 0."],
                "resolution_seconds": ["This field is required."],
            },
            "1": {"version": ["This field cannot be set."]},
        }
    }


def test_targets_the_agreement_refuses_are_named_by_their_place(org):
    targets = [
        {
            "service": None,
            "priority": "high",
            "first_response_seconds": 7200,
            "resolution_seconds": 3600,
        },
    ]

    response = as_(org.provider_manager).post(URL, proposal(targets=targets), format="json")

    assert response.status_code == 400
    assert response.json() == {
        "targets": ["Target 1, resolution: Resolution cannot be due before the first response."]
    }


def test_the_other_side_accepts(org, proposed):
    response = as_(org.customer_manager).post(
        f"{URL}{proposed.pk}/accept/", {"comment": "Agreed"}, format="json"
    )

    assert response.status_code == 200
    data = response.json()
    assert (data["state"], data["decided_by"], data["decision_comment"]) == (
        "accepted",
        "customer_manager",
        "Agreed",
    )
    assert data["effective_from"] == "2026-12-01T00:00:00+01:00"  # its first day, in Berlin
    assert data["allowed_actions"] == []


def test_a_decline_without_a_comment_is_a_400_and_changes_nothing(org, proposed):
    client = as_(org.customer_manager)

    response = client.post(f"{URL}{proposed.pk}/decline/", {}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "comment": ["Say why you decline it, so the other side can propose again."]
    }
    proposed.refresh_from_db()
    assert proposed.state == "proposed"
    response = client.post(f"{URL}{proposed.pk}/decline/", {"comment": "Too slow"}, format="json")
    assert response.json()["state"] == "declined"


def test_answering_what_is_not_a_proposal_is_a_400(org, proposed):
    as_(org.customer_manager).post(f"{URL}{proposed.pk}/accept/", {}, format="json")

    response = as_(org.customer_manager).post(f"{URL}{proposed.pk}/accept/", {}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": ["Sales-IT agreement v1 is accepted: only a proposal is accepted or declined."]
    }


@pytest.mark.parametrize(
    ("role", "action", "code"),
    [
        ("provider_manager", "accept", 403),
        ("provider_manager", "decline", 403),
        ("customer_manager", "withdraw", 403),
        ("hr", "accept", 403),
        ("hr", "withdraw", 403),
        ("agent", "accept", 404),
        ("requester", "decline", 404),
        ("outsider", "withdraw", 404),
    ],
)
def test_who_may_not_answer_is_refused_before_the_body_is_read(org, proposed, role, action, code):
    for body in ({}, {"comment": ""}, {"comment": 5, "state": "accepted"}):
        response = as_(getattr(org, role)).post(
            f"{URL}{proposed.pk}/{action}/", body, format="json"
        )
        assert response.status_code == code, response.content
        assert "detail" in response.json()
    proposed.refresh_from_db()
    assert proposed.state == "proposed"


def test_the_list_and_details_show_the_sides_managers_and_hr_only(org, proposed):
    every = agreement_accepted(
        proposer=org.provider_manager,
        decider=org.customer_manager,
        provider=org.provider,
        customer=None,
        targets=[(None, "low", 8, 40)],
        now=NOW,
    )
    legal_manager = MembershipFactory(department=org.other, role="manager").user
    expected = {
        org.provider_manager: {proposed.pk, every.pk},
        org.customer_manager: {proposed.pk, every.pk},
        org.hr: {proposed.pk, every.pk},
        legal_manager: {every.pk},
        org.agent: set(),
        org.requester: set(),
        org.outsider: set(),
    }
    for user, ids in expected.items():
        client = as_(user)
        listed = {row["id"] for row in client.get(URL).json()["results"]}
        answering = {
            pk for pk in (proposed.pk, every.pk) if client.get(f"{URL}{pk}/").status_code == 200
        }
        assert listed == answering == ids, user.username


def test_the_list_filters_by_side_and_state(org, proposed):
    every = agreement_accepted(
        proposer=org.provider_manager,
        decider=org.customer_manager,
        provider=org.provider,
        customer=None,
        targets=[(None, "low", 8, 40)],
        now=NOW,
    )
    client = as_(org.hr)

    def ids(**query):
        return {row["id"] for row in client.get(URL, query).json()["results"]}

    assert ids(customer="all") == {every.pk}
    assert ids(customer="sales") == {proposed.pk}
    assert ids(state="proposed") == {proposed.pk}
    assert ids(provider="legal") == set()
    assert client.get(URL, {"state": "maybe"}).status_code == 400


def test_the_list_costs_the_same_queries_whatever_its_length(org, django_assert_max_num_queries):
    def accept(n):
        agreement_accepted(
            proposer=org.provider_manager,
            decider=org.customer_manager,
            provider=org.provider,
            customer=org.customer,
            targets=[(None, "low", 8, 40), (None, "high", 1, 4)],
            now=NOW + datetime.timedelta(minutes=n),
        )

    accept(0)
    client = as_(org.provider_manager)
    with django_assert_max_num_queries(12) as few:
        client.get(URL)
    for n in range(1, 6):
        accept(n)
    with django_assert_max_num_queries(12) as many:
        assert client.get(URL).json()["count"] == 6
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_proposal_comes_as_json(org):
    response = as_(org.provider_manager).post(
        URL, {"provider": "it", "customer": "sales"}, format="multipart"
    )

    assert response.status_code == 415
    assert "detail" in response.json()
