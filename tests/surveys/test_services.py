"""Request surveys and the provider's rating of requests, through the services."""

import datetime
import hashlib
import threading

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections

from core.periods import parse_quarter
from requests_app import services as request_services
from requests_app.models import Notification
from surveys import services
from surveys.choices import TokenState
from surveys.models import RequestQualityRating, RequestSurvey, SurveyResponse, SurveyToken
from surveys.selectors import request_quality_for
from surveys.tokens import TokenRefused, token_check, token_issue

from .conftest import at, survey_links

# Sending


def test_it_sends_a_survey_with_a_single_use_link_when_a_request_is_resolved(surveyed, org):
    request, survey, token = surveyed
    assert survey.requester == org.requester
    assert survey.provider_department == org.provider
    assert survey.requesting_department == org.customer
    assert survey.sent_at == at(0, 10)
    assert survey.closes_at == at(14, 10)
    (message,) = [m for m in mail.outbox if "/surveys/t/" in m.body]
    assert message.to == [org.requester.email]
    assert request.reference in message.subject
    assert f"http://127.0.0.1:8000/surveys/t/{token}/" in message.body


def test_it_stores_only_the_sha256_of_a_link_of_at_least_128_bits(surveyed):
    _request, survey, token = surveyed
    assert len(token) >= 43  # 32 random bytes, base64
    (stored,) = SurveyToken.objects.filter(request_survey=survey)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {stored.token_hash, str(stored.pk)}


def test_it_sends_one_survey_per_request_even_when_resolved_twice(
    surveyed, org, django_capture_on_commit_callbacks
):
    request, _survey, _token = surveyed
    with time_machine.travel(at(1), tick=False), django_capture_on_commit_callbacks(execute=True):
        request_services.request_transition(request=request, actor=org.requester, action="reopen")
        request_services.request_transition(request=request, actor=org.agent, action="resolve")
    assert RequestSurvey.objects.filter(request=request).count() == 1
    assert len(survey_links(org.requester)) == 1


def test_it_sends_no_survey_for_a_request_that_is_not_resolved(org, service):
    request = request_services.request_create(
        requester=org.requester, service=service, title="x", description="y"
    )
    assert services.survey_send_for_request(request_id=request.pk) is None
    assert not RequestSurvey.objects.exists()


# Answering: one response per request, changeable for 7 days


def test_it_takes_one_response_per_request_and_later_answers_change_it(surveyed, org):
    _request, survey, _token = surveyed
    with time_machine.travel(at(1), tick=False):
        services.survey_answer(survey=survey, respondent=org.requester, overall=4)
        services.survey_answer(
            survey=survey,
            respondent=org.requester,
            ratings={"attitude": 5, "timeliness": 3},
            comment="  Quick, thanks  ",
        )
    response = SurveyResponse.objects.get()
    assert (response.overall, response.attitude, response.timeliness) == (4, 5, 3)
    assert response.communication is None
    assert response.comment == "Quick, thanks"
    assert response.answered_at == at(1)


def test_it_needs_the_overall_rating_first(surveyed, org):
    _request, survey, _token = surveyed
    with pytest.raises(ValidationError) as error:
        services.survey_answer(survey=survey, respondent=org.requester, ratings={"attitude": 5})
    assert "overall" in error.value.message_dict
    assert not SurveyResponse.objects.exists()


@pytest.mark.parametrize("bad", [0, 6, -1, "5", True])
def test_it_refuses_ratings_outside_1_to_5(surveyed, org, bad):
    _request, survey, _token = surveyed
    with pytest.raises(ValidationError):
        services.survey_answer(survey=survey, respondent=org.requester, overall=bad)
    with pytest.raises(ValidationError):
        services.survey_answer(
            survey=survey, respondent=org.requester, overall=3, ratings={"teamwork": bad}
        )
    assert not SurveyResponse.objects.exists()


def test_it_lets_the_answer_change_for_7_days_then_refuses(surveyed, org):
    _request, survey, _token = surveyed
    services.survey_answer(survey=survey, respondent=org.requester, overall=3, now=at(1))
    services.survey_answer(survey=survey, respondent=org.requester, overall=5, now=at(8))
    with pytest.raises(ValidationError) as error:
        services.survey_answer(survey=survey, respondent=org.requester, overall=1, now=at(8, 9, 1))
    assert "final" in str(error.value)
    assert SurveyResponse.objects.get().overall == 5


def test_it_refuses_a_first_answer_after_the_survey_closed(surveyed, org):
    _request, survey, _token = surveyed
    with pytest.raises(ValidationError) as error:
        services.survey_answer(survey=survey, respondent=org.requester, overall=5, now=at(14, 10))
    assert "closed" in str(error.value)
    assert not SurveyResponse.objects.exists()


@pytest.mark.parametrize(
    "who", ["colleague", "customer_manager", "agent", "provider_manager", "outsider", "hr"]
)
def test_it_refuses_answers_from_anyone_but_the_requester(surveyed, org, who):
    _request, survey, _token = surveyed
    with pytest.raises(PermissionDenied):
        services.survey_answer(survey=survey, respondent=getattr(org, who), overall=5)
    assert not SurveyResponse.objects.exists()


def test_it_notifies_the_provider_managers_once_of_a_low_rating(surveyed, org):
    request, survey, _token = surveyed
    services.survey_answer(survey=survey, respondent=org.requester, overall=2, now=at(1))
    services.survey_answer(survey=survey, respondent=org.requester, overall=1, now=at(2))
    low = Notification.objects.filter(kind="survey_low_rating")
    assert [(n.user, n.request) for n in low] == [(org.provider_manager, request)]
    assert "1/5" not in low.get().message  # the first low rating is the one told
    assert "2/5" in low.get().message


def test_it_does_not_notify_of_good_ratings(surveyed, org):
    _request, survey, _token = surveyed
    services.survey_answer(survey=survey, respondent=org.requester, overall=3)
    assert not Notification.objects.filter(kind="survey_low_rating").exists()


# Links


def test_it_answers_through_the_link_once(surveyed, org):
    _request, survey, token = surveyed
    with time_machine.travel(at(1), tick=False):
        response = services.survey_answer_by_token(raw_token=token, overall=5)
        assert response.survey == survey
        with pytest.raises(TokenRefused) as refused:
            services.survey_answer_by_token(raw_token=token, overall=1)
    assert refused.value.check.state == TokenState.USED
    assert SurveyResponse.objects.get().overall == 5


def test_it_refuses_a_tampered_link_and_changes_nothing(surveyed):
    _request, _survey, token = surveyed
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for raw in (tampered, token[:-4], token + "x", "", "../../etc/passwd"):
        assert token_check(raw_token=raw).state == TokenState.INVALID
        with pytest.raises(TokenRefused):
            services.survey_answer_by_token(raw_token=raw, overall=5)
    assert not SurveyResponse.objects.exists()
    assert not SurveyToken.objects.filter(used_at__isnull=False).exists()


def test_it_refuses_an_expired_link(surveyed):
    _request, _survey, token = surveyed
    with time_machine.travel(at(14, 10), tick=False):
        assert token_check(raw_token=token).state == TokenState.EXPIRED
        with pytest.raises(TokenRefused):
            services.survey_answer_by_token(raw_token=token, overall=5)
    assert not SurveyResponse.objects.exists()


def test_a_new_link_replaces_the_old_one(surveyed):
    _request, survey, token = surveyed
    newer = token_issue(request_survey=survey, expires_at=survey.closes_at)
    assert token_check(raw_token=token).state == TokenState.REPLACED
    assert token_check(raw_token=newer).state == TokenState.VALID
    with pytest.raises(TokenRefused):
        services.survey_answer_by_token(raw_token=token, overall=5)
    services.survey_answer_by_token(raw_token=newer, overall=4)
    assert SurveyResponse.objects.get().overall == 4


def test_a_link_answer_that_fails_leaves_the_link_unspent(surveyed):
    _request, _survey, token = surveyed
    with pytest.raises(ValidationError):
        services.survey_answer_by_token(raw_token=token, overall=9)
    assert token_check(raw_token=token).state == TokenState.VALID


def test_it_emails_no_link_that_was_replaced_meanwhile(surveyed, org):
    _request, survey, token = surveyed
    token_issue(request_survey=survey, expires_at=survey.closes_at)
    mail.outbox.clear()
    assert services.survey_link_email_send(raw_token=token) is False
    assert mail.outbox == []


# Concurrency (PostgreSQL: SQLite serialises writers anyway)

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="real concurrency needs PostgreSQL"
)


def _at_once(count, work):
    barrier = threading.Barrier(count)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(("ok", work()))
        except Exception as exc:
            results.append(("error", exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_link_submissions_leave_exactly_one_response(org, service):
    request = request_services.request_create(
        requester=org.requester, service=service, title="x", description="y"
    )
    request_services.request_transition(request=request, actor=org.agent, action="resolve")
    survey = RequestSurvey.objects.get(request=request)  # sent by the hook after commit
    (token,) = survey_links(org.requester)
    results = _at_once(10, lambda: services.survey_answer_by_token(raw_token=token, overall=4))
    assert [kind for kind, _ in results].count("ok") == 1
    assert all(isinstance(value, TokenRefused) for kind, value in results if kind == "error")
    assert SurveyResponse.objects.filter(survey=survey).count() == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_first_answers_leave_exactly_one_response(org, service):
    request = request_services.request_create(
        requester=org.requester, service=service, title="x", description="y"
    )
    request_services.request_transition(request=request, actor=org.agent, action="resolve")
    survey = RequestSurvey.objects.get(request=request)
    results = _at_once(
        10,
        lambda: services.survey_answer(survey=survey, respondent=org.requester, overall=3),
    )
    assert [kind for kind, _ in results] == ["ok"] * 10
    assert SurveyResponse.objects.filter(survey=survey).count() == 1


# The provider's rating of requests (two-sided rating)


def test_the_provider_rates_a_resolved_request_and_may_change_the_rating(surveyed, org):
    request, _survey, _token = surveyed
    services.request_quality_rate(request=request, rater=org.agent, clarity=4, now=at(1))
    services.request_quality_rate(
        request=request, rater=org.provider_manager, clarity=2, responsiveness=3, now=at(2)
    )
    rating = RequestQualityRating.objects.get()
    assert (rating.clarity, rating.responsiveness, rating.rated_by) == (2, 3, org.provider_manager)
    assert rating.requesting_department == org.customer
    assert rating.rated_at == at(1)


@pytest.mark.parametrize("who", ["requester", "colleague", "customer_manager", "outsider", "hr"])
def test_only_the_provider_rates_a_request(surveyed, org, who):
    request, _survey, _token = surveyed
    with pytest.raises(PermissionDenied):
        services.request_quality_rate(request=request, rater=getattr(org, who), clarity=5)


def test_an_open_request_cannot_be_rated_yet(org, service):
    request = request_services.request_create(
        requester=org.requester, service=service, title="x", description="y"
    )
    with pytest.raises(ValidationError):
        services.request_quality_rate(request=request, rater=org.agent, clarity=5)


# November's ratings are published on 8 December, once final (surveys/disclosure.py).
NOVEMBER_RELEASED = at(16)
Q4 = parse_quarter("2026-Q4")


def quality_of(department, *, now=NOVEMBER_RELEASED):
    return request_quality_for(department=department, quarter=Q4, now=now)


def test_request_quality_is_hidden_under_three_ratings(resolve, org, settings):
    assert settings.ANONYMITY_MIN == 3
    first, second = (resolve(when=at(day)) for day in range(2))
    services.request_quality_rate(request=first, rater=org.agent, clarity=5, responsiveness=3)
    services.request_quality_rate(request=second, rater=org.agent, clarity=4)
    figures = quality_of(org.customer)
    assert figures["request_quality"].hidden
    assert figures["request_quality"].value is None
    assert figures["request_quality"].count == 2


def test_request_quality_is_published_once_its_month_is_final(resolve, org):
    requests = [resolve(when=at(day)) for day in range(3)]
    for request, (clarity, responsiveness) in zip(
        requests, [(5, 3), (4, None), (3, None)], strict=True
    ):
        services.request_quality_rate(
            request=request, rater=org.agent, clarity=clarity, responsiveness=responsiveness
        )
    # Before 8 December nothing of November is out (a day-by-day change would show a rating):
    # the quarter to date holds October, with nothing in it.
    early = quality_of(org.customer, now=at(14))
    assert early["through"] == datetime.date(2026, 10, 31)
    assert early["request_quality"].count == 0
    figures = quality_of(org.customer)
    assert not figures["request_quality"].hidden
    assert figures["request_quality"].value == pytest.approx((4 + 4 + 3) / 3)
    assert figures["through"] == datetime.date(2026, 11, 30)
    # A rating changed after the release changes nothing published.
    services.request_quality_rate(request=requests[0], rater=org.agent, clarity=1)
    assert quality_of(org.customer, now=at(20))["request_quality"].value == pytest.approx(11 / 3)


def test_quality_ratings_belong_to_the_requesting_department_at_the_time(surveyed, org):
    request, _survey, _token = surveyed
    services.request_quality_rate(request=request, rater=org.agent, clarity=5)
    assert quality_of(org.other)["request_quality"].count == 0
    assert quality_of(org.customer)["request_quality"].count == 1


def test_a_survey_keeps_the_departments_it_was_sent_for(surveyed, org):
    _request, survey, _token = surveyed
    assert survey.provider_department == org.provider
    assert RequestSurvey.objects.filter(provider_department=org.provider).count() == 1
    assert datetime.timedelta(days=14) == survey.closes_at - survey.sent_at


def test_a_survey_that_cannot_be_sent_does_not_fail_the_resolution(resolve, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("mail server on fire")

    monkeypatch.setattr(services, "survey_send_for_request", broken)
    request = resolve()
    assert request.status == "resolved"
    assert not RequestSurvey.objects.exists()
    assert "could not send the survey" in caplog.text
