"""Who may see and give survey answers: every role of the shared cast, and nobody logged in.

A request survey's answer is the requester's to give and the provider's to read (with the
request); the provider's rating of a request is the provider's only; relationship answers
are nobody's to read one by one.
"""

import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient

from surveys import services
from surveys.models import SurveyResponse

from .conftest import at

ROLES = [
    "requester",
    "colleague",
    "agent",
    "provider_manager",
    "customer_manager",
    "outsider",
    "hr",
    "anonymous",
]


def api_as(org, who) -> APIClient:
    client = APIClient()
    if who != "anonymous":
        client.force_login(getattr(org, who))
    return client


def page_as(org, who) -> Client:
    client = Client()
    if who != "anonymous":
        client.force_login(getattr(org, who))
    return client


@pytest.fixture
def answered(surveyed, org):
    request, survey, _token = surveyed
    services.survey_answer(
        survey=survey, respondent=org.requester, overall=2, comment="Too slow", now=at(1)
    )
    services.request_quality_rate(request=request, rater=org.agent, clarity=3, now=at(1))
    return request, survey


READ_ANSWER = {
    "requester": 200,
    "colleague": 404,
    "agent": 200,
    "provider_manager": 200,
    "customer_manager": 404,
    "outsider": 404,
    "hr": 404,
    "anonymous": 401,
}


@pytest.mark.parametrize("who", ROLES)
def test_reading_a_request_survey_answer_through_the_api(answered, org, who):
    _request, survey = answered
    response = api_as(org, who).get(f"/api/v1/surveys/{survey.pk}/")
    assert response.status_code == READ_ANSWER[who]
    if response.status_code == 200:
        assert response.json()["response"]["comment"] == "Too slow"
    listed = api_as(org, who).get("/api/v1/surveys/")
    if who == "anonymous":
        assert listed.status_code == 401
    else:
        assert (listed.json()["count"] == 1) == (READ_ANSWER[who] == 200)


GIVE_ANSWER = {
    "requester": 200,
    "colleague": 404,
    "agent": 403,
    "provider_manager": 403,
    "customer_manager": 404,
    "outsider": 404,
    "hr": 404,
    "anonymous": 401,
}


@pytest.mark.parametrize("who", ROLES)
def test_giving_a_request_survey_answer_through_the_api(answered, org, who):
    _request, survey = answered
    with time_machine.travel(at(2), tick=False):
        response = api_as(org, who).post(
            f"/api/v1/surveys/{survey.pk}/answer/", {"overall": 5}, format="json"
        )
    assert response.status_code == GIVE_ANSWER[who]
    expected = 5 if who == "requester" else 2
    assert SurveyResponse.objects.get().overall == expected


@pytest.mark.parametrize("who", ROLES)
def test_the_answer_pages_are_the_requesters(answered, org, who):
    request, _survey = answered
    client = page_as(org, who)
    with time_machine.travel(at(2), tick=False):
        page = client.get(f"/surveys/request/{request.pk}/details/")
        posted = client.post(f"/surveys/request/{request.pk}/details/", {"overall": "5"})
    if who == "requester":
        assert page.status_code == 200
        assert posted.status_code == 302
    elif who == "anonymous":
        assert page.status_code == 302
        assert page.url.startswith("/login/")
        assert posted.status_code == 302
    else:
        assert page.status_code == 404
        assert posted.status_code == 404
    assert SurveyResponse.objects.get().overall == (5 if who == "requester" else 2)


# On the request page: the answer shows to the requester and the provider only.
SEES_ANSWER_ON_REQUEST = {
    "requester": True,
    "colleague": None,  # cannot open the request at all
    "agent": True,
    "provider_manager": True,
    "customer_manager": False,  # sees the request, not its rating
    "outsider": None,
    "hr": None,
    "anonymous": None,
}


@pytest.mark.parametrize("who", ROLES)
def test_the_rating_on_the_request_page(answered, org, who):
    request, _survey = answered
    with time_machine.travel(at(2), tick=False):
        page = page_as(org, who).get(f"/requests/{request.pk}/")
    expected = SEES_ANSWER_ON_REQUEST[who]
    if expected is None:
        assert page.status_code in (302, 404)
        return
    assert page.status_code == 200
    assert (b"Too slow" in page.content) is expected
    # The provider's rating of the request is never shown to the customer side.
    assert (b"Rated 3/5" in page.content) is (who in ("agent", "provider_manager"))


@pytest.mark.parametrize("who", ROLES)
def test_the_providers_rating_of_a_request_is_the_providers(answered, org, who):
    request, _survey = answered
    rating = request.quality_rating
    response = api_as(org, who).get(f"/api/v1/surveys/request-ratings/{rating.pk}/")
    expected = {"agent": 200, "provider_manager": 200, "anonymous": 401}.get(who, 404)
    assert response.status_code == expected


@pytest.mark.parametrize("who", ROLES)
def test_rating_a_request_is_for_the_provider(answered, org, who):
    request, _survey = answered
    response = api_as(org, who).post(
        "/api/v1/surveys/request-ratings/", {"request": request.pk, "clarity": 5}, format="json"
    )
    expected = {
        "agent": 200,
        "provider_manager": 200,
        "requester": 403,
        "customer_manager": 403,
        "anonymous": 401,
    }.get(who, 400)  # the others cannot see the request: not a valid choice for them
    assert response.status_code == expected
    request.quality_rating.refresh_from_db()
    assert request.quality_rating.clarity == (5 if expected == 200 else 3)


def test_a_confidential_requests_rating_stays_with_requester_and_provider(resolve, org):
    request = resolve(confidential=True)
    services.survey_answer(
        survey=request.survey, respondent=org.requester, overall=1, comment="Secret", now=at(1)
    )
    with time_machine.travel(at(2), tick=False):
        assert page_as(org, "customer_manager").get(f"/requests/{request.pk}/").status_code == 404
        assert b"Secret" in page_as(org, "agent").get(f"/requests/{request.pk}/").content
    response = api_as(org, "customer_manager").get(f"/api/v1/surveys/{request.survey.pk}/")
    assert response.status_code == 404
