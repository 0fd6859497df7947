"""The surveys API: one's invitations, answering them, results with anonymity, the provider's
rating of requests."""

import pytest
import time_machine
from rest_framework.test import APIClient

from surveys import services
from surveys.models import RelationshipAnswer, RelationshipInvitation, SurveyResponse

from .conftest import Q3_OPENED, at


@pytest.fixture
def client_as():
    def make(user):
        client = APIClient()
        client.force_login(user)
        return client

    return make


# Request surveys


def test_it_lists_ones_own_surveys_to_answer(client_as, surveyed, org):
    request, survey, _token = surveyed
    with time_machine.travel(at(1), tick=False):
        response = client_as(org.requester).get("/api/v1/surveys/", {"mine": "true"})
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row == {
        "id": survey.pk,
        "request": request.pk,
        "reference": request.reference,
        "title": "New laptop",
        "provider_department": "it",
        "requesting_department": "sales",
        "requester": "requester",
        "sent_at": "2026-11-23T10:00:00+01:00",
        "closes_at": "2026-12-07T10:00:00+01:00",
        "status": "waiting",
        "response": None,
    }
    assert client_as(org.agent).get("/api/v1/surveys/", {"mine": "true"}).json()["count"] == 0


def test_it_answers_then_changes_the_answer(client_as, surveyed, org):
    _request, survey, _token = surveyed
    api = client_as(org.requester)
    url = f"/api/v1/surveys/{survey.pk}/answer/"
    with time_machine.travel(at(1), tick=False):
        first = api.post(url, {"overall": 5}, format="json")
        second = api.post(url, {"attitude": 4, "comment": "Great"}, format="json")
    assert first.status_code == 201
    assert second.status_code == 200
    answer = second.json()["response"]
    assert (answer["overall"], answer["attitude"], answer["comment"]) == (5, 4, "Great")
    assert answer["editable_until"] == "2026-12-01T09:00:00+01:00"
    assert second.json()["status"] == "answered"
    assert SurveyResponse.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [{"overall": 7}, {"overall": 0}, {"overall": 5, "attitude": 6}, {"overall": 5, "user": 1}, {}],
)
def test_it_refuses_bad_answers(client_as, surveyed, org, body):
    _request, survey, _token = surveyed
    response = client_as(org.requester).post(
        f"/api/v1/surveys/{survey.pk}/answer/", body, format="json"
    )
    assert response.status_code == 400
    assert not SurveyResponse.objects.exists()


def test_it_refuses_a_change_after_7_days(client_as, surveyed, org):
    _request, survey, _token = surveyed
    services.survey_answer(survey=survey, respondent=org.requester, overall=4, now=at(1))
    with time_machine.travel(at(9), tick=False):
        response = client_as(org.requester).post(
            f"/api/v1/surveys/{survey.pk}/answer/", {"overall": 1}, format="json"
        )
    assert response.status_code == 400
    assert "final" in response.json()["overall"][0]


def test_the_provider_reads_the_answer_but_cannot_give_it(client_as, surveyed, org):
    _request, survey, _token = surveyed
    services.survey_answer(survey=survey, respondent=org.requester, overall=2, now=at(1))
    api = client_as(org.agent)
    assert api.get(f"/api/v1/surveys/{survey.pk}/").json()["response"]["overall"] == 2
    response = api.post(f"/api/v1/surveys/{survey.pk}/answer/", {"overall": 5}, format="json")
    assert response.status_code == 403
    assert SurveyResponse.objects.get().overall == 2


def test_it_filters_by_status_and_request(client_as, resolve, org):
    first, second = resolve(when=at(0)), resolve(when=at(1))
    services.survey_answer(survey=first.survey, respondent=org.requester, overall=4, now=at(1))
    api = client_as(org.agent)
    with time_machine.travel(at(2), tick=False):
        answered = api.get("/api/v1/surveys/", {"status": "answered"}).json()
        waiting = api.get("/api/v1/surveys/", {"status": "waiting", "request": second.pk}).json()
        assert api.get("/api/v1/surveys/", {"status": "nonsense"}).status_code == 400
    assert [row["request"] for row in answered["results"]] == [first.pk]
    assert [row["request"] for row in waiting["results"]] == [second.pk]


# The relationship survey


def test_it_lists_and_answers_ones_quarterly_invitation(client_as, opened, org):
    api = client_as(org.requester)
    with time_machine.travel(Q3_OPENED, tick=False):
        (invitation,) = api.get("/api/v1/surveys/relationship/").json()["results"]
        (item,) = invitation["items"]
        assert (invitation["quarter"], invitation["is_open"]) == ("2026-Q3", True)
        assert (item["customer_department"], item["provider_department"]) == ("sales", "it")
        url = f"/api/v1/surveys/relationship/{invitation['id']}/answer/"
        body = {"answers": [{"item": item["id"], "hire_back": "yes", "teamwork": 5}]}
        created = api.post(url, body, format="json")
        again = api.post(url, body, format="json")
    assert created.status_code == 201
    assert created.json()["recorded"] == 1
    assert created.json()["invitation"]["items"][0]["answered"] is True
    assert again.status_code == 400
    assert RelationshipAnswer.objects.count() == 1


def test_nobody_sees_or_answers_someone_elses_invitation(client_as, opened, org):
    theirs = RelationshipInvitation.objects.get(user=org.requester)
    item = theirs.items.get()
    api = client_as(org.colleague)
    assert api.get(f"/api/v1/surveys/relationship/{theirs.pk}/").status_code == 404
    response = api.post(
        f"/api/v1/surveys/relationship/{theirs.pk}/answer/",
        {"answers": [{"item": item.pk, "hire_back": "no"}]},
        format="json",
    )
    assert response.status_code == 404
    assert not RelationshipAnswer.objects.exists()


@pytest.mark.parametrize(
    "answers",
    [[], [{"item": 999999, "hire_back": "yes"}], [{"item": None, "hire_back": "maybe"}]],
)
def test_it_refuses_bad_quarterly_answers(client_as, opened, org, answers):
    invitation = RelationshipInvitation.objects.get(user=org.requester)
    with time_machine.travel(Q3_OPENED, tick=False):
        response = client_as(org.requester).post(
            f"/api/v1/surveys/relationship/{invitation.pk}/answer/",
            {"answers": answers},
            format="json",
        )
    assert response.status_code == 400
    assert not RelationshipAnswer.objects.exists()


# Results with anonymity


def answer(users, hire_back="yes"):
    for user in users:
        invitation = RelationshipInvitation.objects.get(user=user)
        services.relationship_answer(
            invitation=invitation,
            respondent=user,
            answers=[{"item": i.pk, "hire_back": hire_back} for i in invitation.items.all()],
            now=Q3_OPENED,
        )


def summary(api, department="it", quarter="2026-Q3"):
    return api.get("/api/v1/surveys/summary/", {"department": department, "quarter": quarter})


def test_the_summary_hides_two_answers(client_as, opened, org):
    answer([org.requester, org.colleague])
    data = summary(client_as(org.provider_manager)).json()
    relationship = data["relationship"]
    assert (relationship["invited"], relationship["answered"]) == (3, 2)
    assert relationship["response_rate"] == pytest.approx(2 / 3)
    assert relationship["overall"] == {
        "respondents": 2,
        "hidden": True,
        "yes": None,
        "unsure": None,
        "no": None,
        "score": None,
        "dimensions": {},
    }
    (row,) = relationship["customers"]
    assert (row["department"], row["hidden"], row["figures"]) == ("sales", True, None)
    assert relationship["comments"] == []


def test_the_summary_shows_three_answers(client_as, opened, org):
    answer([org.requester, org.colleague])
    answer([org.customer_manager], hire_back="no")
    data = summary(client_as(org.hr)).json()
    overall = data["relationship"]["overall"]
    assert (overall["yes"], overall["unsure"], overall["no"]) == (2, 0, 1)
    assert overall["score"] == pytest.approx(100 / 3)
    assert data["relationship"]["customers"][0]["hidden"] is False


def test_the_summary_gives_members_their_request_quality_only(client_as, opened, org):
    data = summary(client_as(org.requester), department="sales").json()
    assert data["relationship"] is None
    assert data["request_surveys"] is None
    assert data["request_quality"]["request_quality"] == {
        "count": 0,
        "value": None,
        "hidden": False,
    }


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"department": "it", "quarter": "2026-Q3"}, 200),
        ({"department": "legal"}, 403),
        ({"department": "nowhere"}, 404),
        ({}, 400),
        ({"department": "it", "quarter": "Q3"}, 400),
    ],
)
def test_the_summary_answers_clearly(client_as, opened, org, params, status):
    response = client_as(org.provider_manager).get("/api/v1/surveys/summary/", params)
    assert response.status_code == status


# The provider's rating of requests


def test_the_provider_rates_a_request_through_the_api(client_as, surveyed, org):
    request, _survey, _token = surveyed
    api = client_as(org.agent)
    first = api.post(
        "/api/v1/surveys/request-ratings/",
        {"request": request.pk, "clarity": 4, "responsiveness": None},
        format="json",
    )
    second = api.post(
        "/api/v1/surveys/request-ratings/", {"request": request.pk, "clarity": 2}, format="json"
    )
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["clarity"] == 2
    assert second.json()["rated_by"] == "agent"
    assert api.get("/api/v1/surveys/request-ratings/").json()["count"] == 1


def test_only_the_provider_rates_or_reads_request_ratings(client_as, surveyed, org):
    request, _survey, _token = surveyed
    services.request_quality_rate(request=request, rater=org.agent, clarity=1)
    body = {"request": request.pk, "clarity": 5}
    assert (
        client_as(org.requester)
        .post("/api/v1/surveys/request-ratings/", body, format="json")
        .status_code
        == 403
    )
    # A request the outsider cannot see is no valid choice for them.
    assert (
        client_as(org.outsider)
        .post("/api/v1/surveys/request-ratings/", body, format="json")
        .status_code
        == 400
    )
    for who in ("requester", "colleague", "customer_manager", "outsider", "hr"):
        assert (
            client_as(getattr(org, who)).get("/api/v1/surveys/request-ratings/").json()["count"]
            == 0
        )


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/surveys/",
        "/api/v1/surveys/relationship/",
        "/api/v1/surveys/request-ratings/",
        "/api/v1/surveys/summary/?department=it",
    ],
)
def test_anonymous_calls_get_401(api_client, db, url):
    assert api_client.get(url).status_code == 401


def test_the_schema_documents_the_survey_endpoints(client_as, org):
    paths = client_as(org.requester).get("/api/schema/", {"format": "json"}).json()["paths"]
    assert {
        "/api/v1/surveys/",
        "/api/v1/surveys/{id}/answer/",
        "/api/v1/surveys/summary/",
        "/api/v1/surveys/relationship/{id}/answer/",
        "/api/v1/surveys/request-ratings/",
    } <= set(paths)
