"""Survey pages: one click first, links without a password, anonymity on the results."""

import re

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from surveys import services
from surveys.choices import TokenState
from surveys.models import RelationshipAnswer, RelationshipInvitation, SurveyResponse
from surveys.tokens import token_check, token_issue
from tests.factories import UserFactory

from .conftest import Q3_OPENED, at, survey_links


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()
    yield
    cache.clear()


def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


def csrf_of(client: Client, response) -> str:
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.content)
    assert match, "the page has no CSRF token"
    return match.group(1).decode()


# My surveys


def test_my_surveys_lists_what_waits(client, surveyed, opened, org):
    request, _survey, _token = surveyed
    client.force_login(org.requester)
    with time_machine.travel(at(1), tick=False):
        response = client.get("/surveys/")
    assertContains(response, f"Rate {request.reference}")
    assertContains(response, f'href="/surveys/request/{request.pk}/"')
    invitation = RelationshipInvitation.objects.get(user=org.requester)
    assertNotContains(response, f"/surveys/quarterly/{invitation.pk}/")  # Q3's closed by now


def test_my_surveys_lists_an_open_quarterly_survey_and_the_nav_counts(client, opened, org):
    client.force_login(org.requester)
    with time_machine.travel(Q3_OPENED, tick=False):
        response = client.get("/surveys/")
    invitation = RelationshipInvitation.objects.get(user=org.requester)
    assertContains(response, f"/surveys/quarterly/{invitation.pk}/")
    assertContains(response, "1 department to rate")
    assertContains(response, "My surveys (1)")


def test_my_surveys_needs_a_login(client, db):
    assertRedirects(client.get("/surveys/"), "/login/?next=/surveys/")


# The request survey, logged in


def test_the_first_page_asks_the_overall_rating_alone_as_five_buttons(client, surveyed, org):
    request, _survey, _token = surveyed
    client.force_login(org.requester)
    with time_machine.travel(at(1), tick=False):
        response = client.get(f"/surveys/request/{request.pk}/")
    for value in range(1, 6):
        assertContains(response, f'name="overall" value="{value}"')
    assertNotContains(response, 'name="attitude"')
    assertNotContains(response, "<textarea")


def test_one_click_answers_and_the_optional_questions_follow(client, surveyed, org):
    request, survey, _token = surveyed
    client.force_login(org.requester)
    with time_machine.travel(at(1), tick=False):
        response = client.post(f"/surveys/request/{request.pk}/", {"overall": "4"})
        assertRedirects(response, f"/surveys/request/{request.pk}/details/")
        page = client.get(f"/surveys/request/{request.pk}/details/")
        for name in ("attitude", "communication", "problem_solving", "timeliness", "teamwork"):
            assertContains(page, f'name="{name}"')
        response = client.post(
            f"/surveys/request/{request.pk}/details/",
            {"overall": "4", "attitude": "5", "teamwork": "", "comment": "Thanks!"},
        )
    assertRedirects(response, "/surveys/")
    saved = SurveyResponse.objects.get(survey=survey)
    assert (saved.overall, saved.attitude, saved.teamwork, saved.comment) == (4, 5, None, "Thanks!")


def test_the_answer_is_final_after_7_days(client, surveyed, org):
    request, survey, _token = surveyed
    services.survey_answer(survey=survey, respondent=org.requester, overall=3, now=at(1))
    client.force_login(org.requester)
    with time_machine.travel(at(9), tick=False):
        page = client.get(f"/surveys/request/{request.pk}/details/")
        assertContains(page, "this one is final")
        response = client.post(f"/surveys/request/{request.pk}/details/", {"overall": "5"})
    assert response.status_code == 400
    assert SurveyResponse.objects.get().overall == 3


def test_a_bad_rating_is_refused_on_the_page(client, surveyed, org):
    request, _survey, _token = surveyed
    client.force_login(org.requester)
    with time_machine.travel(at(1), tick=False):
        response = client.post(f"/surveys/request/{request.pk}/", {"overall": "9"})
    assert response.status_code == 400
    assert not SurveyResponse.objects.exists()


# The emailed link


def test_the_link_answers_without_a_password_and_logs_nobody_in(surveyed, org):
    request, survey, token = surveyed
    browser = csrf_client()
    with time_machine.travel(at(1), tick=False):
        page = browser.get(f"/surveys/t/{token}/")
        assert page.status_code == 200
        assertContains(page, 'name="overall" value="5"')
        response = browser.post(
            f"/surveys/t/{token}/", {"overall": "2", "csrfmiddlewaretoken": csrf_of(browser, page)}
        )
        assertRedirects(response, f"/surveys/request/{request.pk}/details/")
        details = browser.get(f"/surveys/request/{request.pk}/details/")
        assert details.status_code == 200
        response = browser.post(
            f"/surveys/request/{request.pk}/details/",
            {"overall": "2", "timeliness": "1", "csrfmiddlewaretoken": csrf_of(browser, details)},
        )
        assertRedirects(response, "/surveys/thanks/")
        assert "_auth_user_id" not in browser.session
        # The link opened this survey, nothing else.
        assertRedirects(browser.get("/surveys/"), "/login/?next=/surveys/")
        assert browser.get(f"/requests/{request.pk}/").status_code == 302
    saved = SurveyResponse.objects.get(survey=survey)
    assert (saved.overall, saved.timeliness) == (2, 1)


def test_the_link_form_needs_its_csrf_token(surveyed):
    _request, _survey, token = surveyed
    browser = csrf_client()
    with time_machine.travel(at(1), tick=False):
        browser.get(f"/surveys/t/{token}/")
        response = browser.post(f"/surveys/t/{token}/", {"overall": "5"})
    assert response.status_code == 403
    assert not SurveyResponse.objects.exists()
    assert token_check(raw_token=token, now=at(1)).state == TokenState.VALID


def test_a_used_link_says_so_and_changes_nothing(client, surveyed):
    _request, _survey, token = surveyed
    with time_machine.travel(at(1), tick=False):
        services.survey_answer_by_token(raw_token=token, overall=5)
        page = client.get(f"/surveys/t/{token}/")
        response = client.post(f"/surveys/t/{token}/", {"overall": "1"})
    assert page.status_code == 410
    assertContains(page, "This link has been used", status_code=410)
    assert response.status_code == 410
    assert SurveyResponse.objects.get().overall == 5


def test_the_browser_that_used_the_link_goes_on_to_the_optional_questions(surveyed):
    request, _survey, token = surveyed
    browser = Client()
    with time_machine.travel(at(1), tick=False):
        browser.post(f"/surveys/t/{token}/", {"overall": "5"})
        response = browser.get(f"/surveys/t/{token}/")
    assertRedirects(response, f"/surveys/request/{request.pk}/details/")


def test_an_expired_link_says_so(client, surveyed):
    _request, _survey, token = surveyed
    with time_machine.travel(at(15), tick=False):
        page = client.get(f"/surveys/t/{token}/")
        response = client.post(f"/surveys/t/{token}/", {"overall": "5"})
    assertContains(page, "This link has expired", status_code=410)
    assert response.status_code == 410
    assert not SurveyResponse.objects.exists()


def test_a_tampered_link_is_not_a_survey_link(client, surveyed):
    _request, _survey, token = surveyed
    tampered = token[:-2] + ("zz" if not token.endswith("zz") else "yy")
    with time_machine.travel(at(1), tick=False):
        page = client.get(f"/surveys/t/{tampered}/")
        response = client.post(f"/surveys/t/{tampered}/", {"overall": "5"})
    assertContains(page, "not a valid survey link", status_code=404)
    assert response.status_code == 404
    assert not SurveyResponse.objects.exists()


def test_a_replaced_link_says_so(client, surveyed):
    _request, survey, token = surveyed
    token_issue(request_survey=survey, expires_at=survey.closes_at)
    with time_machine.travel(at(1), tick=False):
        page = client.get(f"/surveys/t/{token}/")
    assertContains(page, "This link was replaced", status_code=410)


def test_someone_elses_link_is_refused_to_a_logged_in_user(client, surveyed, org):
    _request, _survey, token = surveyed
    client.force_login(org.colleague)
    with time_machine.travel(at(1), tick=False):
        page = client.get(f"/surveys/t/{token}/")
        response = client.post(f"/surveys/t/{token}/", {"overall": "1"})
    assertContains(page, "sent to someone else", status_code=403)
    assert response.status_code == 403
    assert not SurveyResponse.objects.exists()
    assert token_check(raw_token=token, now=at(1)).state == TokenState.VALID


def test_the_invitee_logged_in_may_use_their_own_link(client, surveyed, org):
    _request, _survey, token = surveyed
    client.force_login(org.requester)
    with time_machine.travel(at(1), tick=False):
        response = client.post(f"/surveys/t/{token}/", {"overall": "4"})
    assert response.status_code == 302
    assert SurveyResponse.objects.get().overall == 4


def test_a_link_to_a_survey_answered_in_the_app_changes_nothing(client, surveyed, org):
    _request, survey, token = surveyed
    services.survey_answer(survey=survey, respondent=org.requester, overall=4, now=at(1))
    with time_machine.travel(at(1), tick=False):
        page = client.get(f"/surveys/t/{token}/")
        client.post(f"/surveys/t/{token}/", {"overall": "1"})
    assertContains(page, "answered this survey already")
    assert SurveyResponse.objects.get().overall == 4


def test_guessing_links_gets_429_after_the_limit(client, surveyed, settings):
    settings.SURVEY_TOKEN_FAILURE_LIMIT = 3
    _request, _survey, token = surveyed
    guesses = [f"{'A' * 40}{n:03d}" for n in range(3)]
    with time_machine.travel(at(1), tick=True):
        for guess in guesses:
            assert client.get(f"/surveys/t/{guess}/").status_code == 404
        assert client.get(f"/surveys/t/{'B' * 43}/").status_code == 429
        # Even the right link waits: the address is blocked for the window.
        assert client.post(f"/surveys/t/{token}/", {"overall": "5"}).status_code == 429
        other_address = Client(REMOTE_ADDR="10.0.0.2")
        assert other_address.get(f"/surveys/t/{token}/").status_code == 200
    assert not SurveyResponse.objects.exists()


def test_expired_and_used_links_do_not_count_as_guesses(client, surveyed, settings):
    settings.SURVEY_TOKEN_FAILURE_LIMIT = 2
    _request, _survey, token = surveyed
    with time_machine.travel(at(15), tick=True):
        for _ in range(5):
            assert client.get(f"/surveys/t/{token}/").status_code == 410


# The relationship survey


def test_the_quarterly_page_answers_anonymously(client, opened, org):
    invitation = RelationshipInvitation.objects.get(user=org.requester)
    item = invitation.items.get()
    pulse = invitation.pulse_items.get()
    client.force_login(org.requester)
    with time_machine.travel(Q3_OPENED, tick=False):
        page = client.get(f"/surveys/quarterly/{invitation.pk}/")
        assertContains(page, "If you could pick any provider for this service")
        assertContains(page, "IT")
        assertContains(page, "How do you feel about working in this department?")
        response = client.post(
            f"/surveys/quarterly/{invitation.pk}/",
            {
                f"item-{item.pk}-hire_back": "yes",
                f"item-{item.pk}-attitude": "4",
                f"pulse-{pulse.pk}-morale": "2",
                f"pulse-{pulse.pk}-collaboration": "5",
            },
        )
        assertRedirects(response, "/surveys/")
        again = client.get(f"/surveys/quarterly/{invitation.pk}/")
    assertContains(again, "You have rated every department")
    answer = RelationshipAnswer.objects.get()
    assert (answer.hire_back, answer.attitude) == ("yes", 4)


def test_the_quarterly_page_needs_the_first_question(client, opened, org):
    invitation = RelationshipInvitation.objects.get(user=org.requester)
    item = invitation.items.get()
    client.force_login(org.requester)
    with time_machine.travel(Q3_OPENED, tick=False):
        skipped = client.post(f"/surveys/quarterly/{invitation.pk}/", {})
        partial = client.post(
            f"/surveys/quarterly/{invitation.pk}/", {f"item-{item.pk}-attitude": "4"}
        )
    assert skipped.status_code == 400
    assert partial.status_code == 400
    assert not RelationshipAnswer.objects.exists()


def test_someone_elses_invitation_is_not_found(client, opened, org):
    invitation = RelationshipInvitation.objects.get(user=org.requester)
    client.force_login(org.colleague)
    assert client.get(f"/surveys/quarterly/{invitation.pk}/").status_code == 404


def test_the_quarterly_link_answers_without_a_password(client, opened, org):
    (token,) = survey_links(org.requester)
    item = RelationshipInvitation.objects.get(user=org.requester).items.get()
    with time_machine.travel(Q3_OPENED, tick=False):
        response = client.post(f"/surveys/t/{token}/", {f"item-{item.pk}-hire_back": "no"})
        assertRedirects(response, "/surveys/thanks/")
        assert client.get(f"/surveys/t/{token}/").status_code == 410
    assert RelationshipAnswer.objects.get().hire_back == "no"


def test_a_closed_quarterly_link_says_so(client, opened, org):
    (token,) = survey_links(org.requester)
    services.relationship_surveys_close(now=Q3_OPENED.replace(day=15))
    page = client.get(f"/surveys/t/{token}/")
    assertContains(page, "This survey is closed", status_code=410)


# Results for managers and HR


def answer_as(users, *, hire_back="yes"):
    for user in users:
        invitation = RelationshipInvitation.objects.get(user=user)
        services.relationship_answer(
            invitation=invitation,
            respondent=user,
            answers=[
                {"item": item.pk, "hire_back": hire_back, "comment": f"Note {user.pk}"}
                for item in invitation.items.all()
            ],
            now=Q3_OPENED,
        )


def results_page(client, user, slug="it"):
    client.force_login(user)
    with time_machine.travel(Q3_OPENED.replace(day=20), tick=False):
        return client.get(f"/surveys/results/{slug}/?quarter=2026-Q3")


def test_the_results_hide_hire_back_under_three_answers(client, opened, org):
    answer_as([org.requester, org.colleague])
    page = results_page(client, org.provider_manager)
    assertContains(page, "fewer than 3 answers: hidden")
    assertNotContains(page, "Note ")
    assertContains(page, "Answered<strong>2</strong>")


def test_the_results_show_hire_back_from_three_answers(client, opened, org):
    answer_as([org.requester, org.colleague])
    answer_as([org.customer_manager], hire_back="no")
    page = results_page(client, org.provider_manager)
    assertContains(page, "<strong>+33</strong>")  # 2 yes, 1 no of 3
    assertContains(page, "yes 2 · not sure 0 · no 1")
    assertContains(page, f"Note {org.colleague.pk}")
    for user in (org.requester, org.colleague, org.customer_manager):
        assertNotContains(page, user.email)
        assertNotContains(page, user.get_full_name())


@pytest.mark.parametrize(
    ("who", "slug", "status"),
    [
        ("provider_manager", "it", 200),
        ("hr", "it", 200),
        ("customer_manager", "sales", 200),
        ("customer_manager", "it", 403),
        ("requester", "it", 403),
        ("outsider", "it", 403),
    ],
)
def test_the_results_are_for_managers_and_hr(client, opened, org, who, slug, status):
    assert results_page(client, getattr(org, who), slug).status_code == status


@pytest.mark.parametrize(("who", "slug"), [("requester", "sales"), ("agent", "it")])
def test_members_see_their_departments_request_quality_only(client, opened, org, who, slug):
    answer_as([org.requester, org.colleague, org.customer_manager])
    page = results_page(client, getattr(org, who), slug)
    assertContains(page, "Request quality")
    assertNotContains(page, "After each request")
    assertNotContains(page, "Relationship survey")


def test_the_results_index_lists_what_the_viewer_may_see(client, opened, org):
    client.force_login(org.provider_manager)
    assertRedirects(
        client.get("/surveys/results/"), "/surveys/results/it/", fetch_redirect_response=False
    )
    client.force_login(org.hr)
    page = client.get("/surveys/results/")
    assertContains(page, "/surveys/results/legal/")
    client.force_login(org.requester)
    assert client.get("/surveys/results/").status_code == 403


# On the request page (through requests_app.signals.request_page_panels)


def request_page(client, user, request):
    client.force_login(user)
    with time_machine.travel(at(2), tick=False):
        return client.get(f"/requests/{request.pk}/")


def test_the_requester_can_answer_in_one_click_on_the_request_page(client, surveyed, org):
    request, _survey, _token = surveyed
    page = request_page(client, org.requester, request)
    assertContains(page, f'action="/surveys/request/{request.pk}/"')
    assertContains(page, 'name="overall" value="5"')


def test_the_provider_sees_the_rating_with_the_request(client, surveyed, org):
    request, survey, _token = surveyed
    services.survey_answer(
        survey=survey, respondent=org.requester, overall=2, comment="Slow", now=at(1)
    )
    for user in (org.agent, org.provider_manager):
        page = request_page(client, user, request)
        assertContains(page, "Requester's rating")
        assertContains(page, 'aria-label="2 out of 5"')
        assertContains(page, "Slow")
        assertContains(page, f'action="/surveys/request/{request.pk}/quality/"')
    for user in (org.customer_manager,):
        page = request_page(client, user, request)
        assert page.status_code == 200
        assertNotContains(page, 'aria-label="2 out of 5"')
        assertNotContains(page, "/quality/")


def test_the_requester_sidebar_shows_their_last_ratings(client, resolve, org):
    first = resolve(when=at(0))
    services.survey_answer(survey=first.survey, respondent=org.requester, overall=5, now=at(0, 11))
    second = resolve(when=at(1))
    page = request_page(client, org.agent, second)
    assertContains(page, "Their ratings of you")
    assertContains(page, f'href="/requests/{first.pk}/"')


def test_the_provider_rates_the_request_from_its_page(client, surveyed, org):
    request, _survey, _token = surveyed
    client.force_login(org.agent)
    response = client.post(
        f"/surveys/request/{request.pk}/quality/", {"clarity": "4", "responsiveness": "2"}
    )
    assertRedirects(response, f"/requests/{request.pk}/", fetch_redirect_response=False)
    rating = request.quality_rating
    assert (rating.clarity, rating.responsiveness, rating.rated_by) == (4, 2, org.agent)


def test_the_requester_cannot_rate_their_own_request(client, surveyed, org):
    request, _survey, _token = surveyed
    client.force_login(org.requester)
    response = client.post(f"/surveys/request/{request.pk}/quality/", {"clarity": "5"})
    assert response.status_code == 403
    client.force_login(org.outsider)
    response = client.post(f"/surveys/request/{request.pk}/quality/", {"clarity": "5"})
    assert response.status_code == 404


# Admin


def test_the_admin_lists_surveys_without_relationship_answers(client, surveyed, opened, org):
    _request, survey, _token = surveyed
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    for url in (
        "/admin/surveys/requestsurvey/",
        f"/admin/surveys/requestsurvey/{survey.pk}/change/",
        "/admin/surveys/requestqualityrating/",
        "/admin/surveys/relationshipsurvey/",
        "/admin/surveys/relationshipinvitation/",
    ):
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/surveys/relationshipanswer/").status_code == 404
