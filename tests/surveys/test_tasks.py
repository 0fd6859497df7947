"""The quarterly relationship survey: opening, reminders, closing, through tasks, command and
services, with travelled time."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from departments.choices import Role
from surveys import services, tasks
from surveys.choices import TokenState
from surveys.models import (
    RelationshipAnswer,
    RelationshipInvitation,
    RelationshipInvitationItem,
    RelationshipSurvey,
)
from surveys.tokens import token_check
from tests.factories import DepartmentFactory, MembershipFactory, ServiceFactory, UserFactory

from .conftest import BERLIN, Q3_DAY, Q3_OPENED, file_request, survey_links


def day(n, hour=6):
    return Q3_OPENED + datetime.timedelta(days=n, hours=hour - 6)


def invited(survey) -> dict[str, set[tuple[str, str]]]:
    rows = RelationshipInvitationItem.objects.filter(invitation__survey=survey).values_list(
        "invitation__user__username", "customer_department__slug", "provider_department__slug"
    )
    result: dict[str, set] = {}
    for username, customer, provider in rows:
        result.setdefault(username, set()).add((customer, provider))
    return result


def answer_all(invitation, *, hire_back="yes", now):
    """Rate every provider of the invitation and answer every team pulse it asks."""
    recorded, _ = services.quarterly_survey_answer(
        invitation=invitation,
        respondent=invitation.user,
        answers=[{"item": item.pk, "hire_back": hire_back} for item in invitation.items.all()],
        pulse=[
            {"item": item.pk, "morale": 4, "collaboration": 3}
            for item in invitation.pulse_items.filter(answered=False)
        ],
        now=now,
    )
    return recorded


# Everybody of the org fixture: the team pulse asks every member about their department.
EVERYBODY = 6


# Who is invited


def test_it_invites_every_member_of_each_department_to_rate_the_providers_it_used(
    opened, org, service
):
    assert invited(opened) == {
        "requester": {("sales", "it")},
        "colleague": {("sales", "it")},
        "customer_manager": {("sales", "it")},
    }


def test_it_does_not_ask_about_providers_a_department_did_not_use_in_the_quarter(
    org, service, django_capture_on_commit_callbacks
):
    facilities = DepartmentFactory(name="Facilities", slug="facilities", code="FAC")
    desk = ServiceFactory(department=facilities, name="Desk")
    file_request(org.requester, service)  # Sales -> IT in Q3
    file_request(org.requester, desk, when=datetime.datetime(2026, 6, 1, 10, tzinfo=BERLIN))  # Q2
    file_request(org.agent, desk)  # IT -> Facilities in Q3
    file_request(org.outsider, desk, when=datetime.datetime(2026, 10, 2, 10, tzinfo=BERLIN))  # Q4
    survey = services.relationship_survey_open(quarter="2026-Q3", now=Q3_OPENED).survey
    assert invited(survey) == {
        "requester": {("sales", "it")},
        "colleague": {("sales", "it")},
        "customer_manager": {("sales", "it")},
        "agent": {("it", "facilities")},
        "provider_manager": {("it", "facilities")},
    }


def test_nobody_rates_their_own_department(org, service):
    both = UserFactory(username="both")
    MembershipFactory(user=both, department=org.customer, role=Role.MEMBER)
    MembershipFactory(user=both, department=org.provider, role=Role.AGENT, is_primary=False)
    file_request(org.requester, service)
    survey = services.relationship_survey_open(quarter="2026-Q3", now=Q3_OPENED).survey
    assert "both" not in invited(survey)


def test_inactive_people_are_not_invited(org, service):
    org.colleague.is_active = False
    org.colleague.save()
    file_request(org.requester, service)
    survey = services.relationship_survey_open(quarter="2026-Q3", now=Q3_OPENED).survey
    assert "colleague" not in invited(survey)


# Opening: idempotent


def test_opening_twice_sends_nothing_twice(quarter_used, org, django_capture_on_commit_callbacks):
    with (
        time_machine.travel(Q3_OPENED, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        first = services.relationship_survey_open(quarter="2026-Q3")
    with time_machine.travel(day(1), tick=False), django_capture_on_commit_callbacks(execute=True):
        second = services.relationship_survey_open(quarter="2026-Q3")
    assert (first.invitations_created, first.emails_queued) == (EVERYBODY, EVERYBODY)
    assert (second.invitations_created, second.items_created, second.emails_queued) == (0, 0, 0)
    assert second.pulse_items_created == 0
    assert RelationshipSurvey.objects.count() == 1
    assert RelationshipInvitation.objects.count() == EVERYBODY
    for user in (org.requester, org.colleague, org.customer_manager):
        assert len(survey_links(user)) == 1
    assert first.survey.opened_at == Q3_OPENED  # the second run moved nothing
    assert first.survey.closes_at == Q3_OPENED + datetime.timedelta(days=14)


def test_a_second_run_invites_only_who_is_new_and_reopens_their_invitation(
    opened, org, service, django_capture_on_commit_callbacks
):
    invitation = RelationshipInvitation.objects.get(user=org.requester)
    answer_all(invitation, now=day(1))
    facilities = DepartmentFactory(name="Facilities", slug="facilities", code="FAC")
    file_request(org.requester, ServiceFactory(department=facilities))  # found late
    newcomer = UserFactory(username="newcomer")
    MembershipFactory(user=newcomer, department=org.customer)
    mail.outbox.clear()
    with time_machine.travel(day(2), tick=False), django_capture_on_commit_callbacks(execute=True):
        report = services.relationship_survey_open(quarter="2026-Q3")
    assert report.invitations_created == 1
    assert [m.to for m in mail.outbox] == [[newcomer.email]]
    invitation.refresh_from_db()
    assert invitation.completed_at is None  # Facilities is new to rate
    assert invited(opened)["requester"] == {("sales", "it"), ("sales", "facilities")}


def test_it_refuses_a_quarter_that_has_not_ended(org):
    with pytest.raises(ValidationError):
        services.relationship_survey_open(quarter="2026-Q4", now=Q3_OPENED)


def test_a_closed_survey_is_not_opened_again(opened, org):
    services.relationship_surveys_close(now=day(14))
    newcomer = UserFactory(username="newcomer")
    MembershipFactory(user=newcomer, department=org.customer)
    report = services.relationship_survey_open(quarter="2026-Q3", now=day(15))
    assert report.invitations_created == 0


def test_the_task_opens_the_quarter_that_just_ended(
    quarter_used, django_capture_on_commit_callbacks
):
    with (
        time_machine.travel(Q3_OPENED, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        summary = tasks.open_quarterly_survey.delay().get()
    assert summary.startswith(f"2026-Q3: {EVERYBODY} new invitation(s)")
    assert RelationshipSurvey.objects.get().quarter == "2026-Q3"


def test_the_command_opens_any_quarter(quarter_used, capsys):
    with time_machine.travel(datetime.datetime(2027, 2, 1, tzinfo=BERLIN), tick=False):
        call_command("open_quarterly_survey", "2026-Q3")
        call_command("open_quarterly_survey", "2026-Q3")
    out = capsys.readouterr().out
    assert f"2026-Q3: {EVERYBODY} new invitation(s)" in out
    assert "2026-Q3: 0 new invitation(s)" in out
    with pytest.raises(CommandError, match="not a quarter"):
        call_command("open_quarterly_survey", "Q3-2026")


def test_beat_runs_the_survey_tasks():
    schedule = settings.CELERY_BEAT_SCHEDULE
    quarterly = schedule["open-quarterly-survey"]
    assert quarterly["task"] == "surveys.tasks.open_quarterly_survey"
    assert quarterly["schedule"].month_of_year == {1, 4, 7, 10}
    assert quarterly["schedule"].day_of_month == {1}
    reminders = schedule["send-survey-reminders"]
    assert reminders["task"] == "surveys.tasks.send_survey_reminders"
    assert len(reminders["schedule"].hour) == 1  # daily


# Reminders and closing


def test_it_reminds_on_day_3_and_7_only_those_who_have_not_answered(
    opened, org, django_capture_on_commit_callbacks
):
    answer_all(RelationshipInvitation.objects.get(user=org.colleague), now=day(1))
    first_links = {user: survey_links(user)[0] for user in (org.requester, org.customer_manager)}
    # Everybody else has their own department's team pulse to answer, IT and Legal too.
    waiting = [
        "agent@example.com",
        "customer_manager@example.com",
        "outsider@example.com",
        "provider_manager@example.com",
        "requester@example.com",
    ]
    reminded_by_day = {}
    for n in range(1, 14):
        mail.outbox.clear()
        with (
            time_machine.travel(day(n, hour=9), tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            result = tasks.send_survey_reminders.delay().get()
        if result["reminded"]:
            reminded_by_day[n] = sorted(address for m in mail.outbox for address in m.to)
    assert reminded_by_day == {3: waiting, 7: waiting}
    # Each reminder brought a fresh link; the older ones say they were replaced.
    for first in first_links.values():
        assert token_check(raw_token=first, now=day(8)).state == TokenState.REPLACED
    invitation = RelationshipInvitation.objects.get(user=org.requester)
    assert invitation.reminders_sent == 2


def test_a_reminder_names_itself_and_brings_a_link_that_works(
    opened, org, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with time_machine.travel(day(3), tick=False), django_capture_on_commit_callbacks(execute=True):
        services.relationship_reminders_send()
    message = next(m for m in mail.outbox if org.requester.email in m.to)
    assert "reminder" in message.subject.lower()
    (link,) = survey_links(org.requester)
    invitation = RelationshipInvitation.objects.get(user=org.requester)
    item = invitation.items.get()
    services.relationship_answer_by_token(
        raw_token=link, answers=[{"item": item.pk, "hire_back": "no"}], now=day(4)
    )
    assert RelationshipAnswer.objects.get().hire_back == "no"


def test_a_run_that_missed_day_3_sends_one_reminder_not_two(opened, org):
    assert services.relationship_reminders_send(now=day(8)) == EVERYBODY
    assert services.relationship_reminders_send(now=day(8, hour=7)) == 0
    assert set(RelationshipInvitation.objects.values_list("reminders_sent", flat=True)) == {2}


def test_reminding_twice_at_once_reminds_once(opened):
    assert services.relationship_reminders_send(now=day(3)) == EVERYBODY
    assert services.relationship_reminders_send(now=day(3)) == 0


def test_it_closes_the_survey_after_14_days(opened, org, django_capture_on_commit_callbacks):
    (link,) = survey_links(org.requester)
    with time_machine.travel(day(13, hour=23), tick=False):
        assert tasks.send_survey_reminders.delay().get()["closed"] == 0
    with time_machine.travel(day(14, hour=9), tick=False):
        assert tasks.send_survey_reminders.delay().get() == {"closed": 1, "reminded": 0}
    opened.refresh_from_db()
    assert opened.closed_at == day(14, hour=9)
    assert token_check(raw_token=link, now=day(14, hour=10)).state == TokenState.CLOSED
    invitation = RelationshipInvitation.objects.get(user=org.requester)
    with pytest.raises(ValidationError, match="closed"):
        answer_all(invitation, now=day(14, hour=10))
    assert not RelationshipAnswer.objects.exists()


# Answers: anonymous, once per provider


def test_answers_are_stored_without_who_gave_them(opened, org):
    invitation = RelationshipInvitation.objects.get(user=org.requester)
    item = invitation.items.get()
    services.relationship_answer(
        invitation=invitation,
        respondent=org.requester,
        answers=[{"item": item.pk, "hire_back": "unsure", "attitude": 4, "comment": " ok "}],
        now=day(1, hour=15),
    )
    answer = RelationshipAnswer.objects.get()
    assert (answer.hire_back, answer.attitude, answer.comment) == ("unsure", 4, "ok")
    assert (answer.customer_department, answer.provider_department) == (org.customer, org.provider)
    assert answer.answered_on == datetime.date(2026, 10, 2)  # the day only
    relations = {
        field.related_model for field in RelationshipAnswer._meta.get_fields() if field.is_relation
    }
    assert relations == {RelationshipSurvey, type(org.customer)}
    item.refresh_from_db()
    invitation.refresh_from_db()
    assert item.answered_at == day(1, hour=15)
    assert invitation.completed_at is None  # the team pulse of Sales is still to answer
    services.pulse_answer(
        invitation=invitation,
        respondent=org.requester,
        answers=[{"item": invitation.pulse_items.get().pk, "morale": 2, "collaboration": 5}],
        now=day(2),
    )
    invitation.refresh_from_db()
    assert invitation.completed_at == day(2)


def test_a_provider_is_rated_once_per_invitation(opened, org):
    invitation = RelationshipInvitation.objects.get(user=org.requester)
    answer_all(invitation, now=day(1))
    with pytest.raises(ValidationError, match="rated already"):
        answer_all(invitation, hire_back="no", now=day(2))
    assert list(RelationshipAnswer.objects.values_list("hire_back", flat=True)) == ["yes"]


def test_nobody_answers_someone_elses_invitation(opened, org):
    from django.core.exceptions import PermissionDenied

    invitation = RelationshipInvitation.objects.get(user=org.requester)
    item = invitation.items.get()
    with pytest.raises(PermissionDenied):
        services.relationship_answer(
            invitation=invitation,
            respondent=org.colleague,
            answers=[{"item": item.pk, "hire_back": "yes"}],
            now=day(1),
        )


def test_it_refuses_an_item_of_another_invitation_and_a_bad_answer(opened, org):
    mine = RelationshipInvitation.objects.get(user=org.requester)
    theirs = RelationshipInvitation.objects.get(user=org.colleague).items.get()
    for answers in (
        [{"item": theirs.pk, "hire_back": "yes"}],
        [{"item": mine.items.get().pk, "hire_back": "maybe"}],
        [{"item": mine.items.get().pk, "hire_back": "yes", "teamwork": 7}],
        [],
    ):
        with pytest.raises(ValidationError):
            services.relationship_answer(
                invitation=mine, respondent=org.requester, answers=answers, now=day(1)
            )
    assert not RelationshipAnswer.objects.exists()


def test_the_survey_email_promises_anonymity(opened, org):
    message = next(m for m in mail.outbox if org.requester.email in m.to)
    assert "2026-Q3" in message.subject
    assert "anonymous" in message.body
    assert Q3_DAY < Q3_OPENED
