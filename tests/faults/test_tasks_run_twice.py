"""Every task run twice leaves the state of one run and sends each email once.

With acks_late a task whose worker dies after its work, or whose acknowledgement is lost with
the broker connection, runs again; so does a task that two beats sent. Each registered task
of servicedesk has a scenario here (a test fails for a new task without one); the second
run comes at the same instant as the first, so any difference is a second effect, not time.
Transactions really commit, and what runs on commit runs (tasks are eager here).
"""

import datetime
import zoneinfo
from pathlib import Path

import pytest
import time_machine
from django.apps import apps
from django.conf import settings
from django.core import mail

from requests_app import services as request_services
from requests_app.models import Notification
from reviews import services as review_services
from scorecards.reports.services import report_request
from servicedesk.celery import app as celery_app
from surveys import services as survey_services
from surveys.models import RequestSurvey
from surveys.tokens import token_issue

from .conftest import file_requests
from .test_celery_settings import project_tasks

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
# A few days after 2026-Q3 closed: its scores are final, its survey and report are due.
NOW = datetime.datetime(2026, 10, 5, 10, 0, tzinfo=BERLIN)
IN_Q3 = datetime.datetime(2026, 9, 28, 9, 0, tzinfo=BERLIN)  # a Monday

# The clock stands still at NOW for the whole module.
pytestmark = pytest.mark.clock(NOW)
PROJECT_APPS = ("departments", "requests_app", "surveys", "reviews", "scorecards")


def state() -> dict:
    """Every row of servicedesk's tables (without primary keys: recomputed rows get new
    ones) and every stored file."""
    rows = {}
    for model in apps.get_models():
        if model._meta.app_label not in PROJECT_APPS:
            continue
        fields = [f.attname for f in model._meta.concrete_fields if not f.primary_key]
        rows[model._meta.label] = sorted(map(repr, model.objects.values_list(*fields)))
    media = Path(settings.MEDIA_ROOT)
    rows["files"] = sorted(str(p) for p in media.rglob("*") if p.is_file())
    return rows


def resolved_in_q3(org, service):
    [request] = file_requests(org, service, 1, IN_Q3)
    request_services.request_transition(
        request=request, actor=org.agent, action="resolve", now=IN_Q3 + datetime.timedelta(hours=1)
    )
    return request


# Each scenario prepares the data of one task and returns its arguments.


def pending_notifications(org, service):
    file_requests(org, service, 2, IN_Q3)
    # As a broker that was down when they committed leaves them: not emailed yet.
    Notification.objects.update(emailed_at=None, email_attempts=0)
    return ()


def clocks_past_due(org, service):
    file_requests(org, service, 2, IN_Q3)  # both clocks are past due at NOW
    return ()


def q3_history(org, service):
    resolved_in_q3(org, service)
    file_requests(org, service, 1, IN_Q3)
    return ("2026-Q3",)


def q3_used(org, service):
    resolved_in_q3(org, service)
    return ("2026-Q3",)


def q3_survey_opened_days_ago(org, service):
    resolved_in_q3(org, service)
    survey_services.relationship_survey_open(
        quarter="2026-Q3", now=NOW - datetime.timedelta(days=4), email=False
    )
    return ()


def a_survey_link(org, service):
    """A new link to a resolved request's survey (the one sent on resolution is replaced)."""
    with time_machine.travel(NOW - datetime.timedelta(days=1), tick=False):
        request = resolved_in_q3(org, service)
        survey = RequestSurvey.objects.get(request=request)
        return (token_issue(request_survey=survey, expires_at=survey.closes_at),)


def a_queued_report(org, service):
    resolved_in_q3(org, service)
    report, _ = report_request(quarter="2026-Q3", format="csv", user=org.hr, enqueue=False, now=NOW)
    return (report.pk,)


def a_report_queued_while_the_broker_was_down(org, service):
    resolved_in_q3(org, service)
    report_request(
        quarter="2026-Q3",
        format="csv",
        user=org.hr,
        enqueue=False,
        now=NOW - datetime.timedelta(minutes=10),
    )
    return ()


def a_closed_quarter(org, service):
    resolved_in_q3(org, service)
    return ()


def a_request_resolved_well_past_its_target(org, service):
    [request] = file_requests(org, service, 1, IN_Q3)
    request_services.request_transition(
        request=request, actor=org.agent, action="resolve", now=IN_Q3 + datetime.timedelta(days=3)
    )
    return ()


def an_overdue_review_action(org, service):
    [request] = file_requests(org, service, 1, IN_Q3)
    earlier = NOW - datetime.timedelta(days=3)
    review, _ = review_services.review_open_manual(
        actor=org.provider_manager, requests=[request], now=earlier
    )
    review_services.review_action_add(
        actor=org.agent,
        review=review,
        title="Keep spare laptops",
        owner_department=org.provider,
        owner=org.agent,
        due_on=(NOW - datetime.timedelta(days=2)).date(),
        now=earlier,
    )
    return ()


# task -> (scenario, whether its first run sends email)
SCENARIOS = {
    "requests_app.tasks.deliver_notifications": (pending_notifications, True),
    "requests_app.tasks.scan_sla_clocks": (clocks_past_due, True),
    "scorecards.tasks.compute_scores": (q3_history, False),
    "surveys.tasks.open_quarterly_survey": (q3_used, True),
    "surveys.tasks.send_survey_reminders": (q3_survey_opened_days_ago, True),
    "surveys.tasks.send_survey_link": (a_survey_link, True),
    "scorecards.reports.tasks.generate_report": (a_queued_report, False),
    "scorecards.reports.tasks.resume_reports": (a_report_queued_while_the_broker_was_down, False),
    "scorecards.reports.tasks.generate_closed_quarter_report": (a_closed_quarter, True),
    "reviews.tasks.open_due_reviews": (a_request_resolved_well_past_its_target, True),
    "reviews.tasks.notify_overdue_review_actions": (an_overdue_review_action, True),
}


def test_it_has_a_scenario_for_every_task():
    assert set(SCENARIOS) == set(project_tasks())


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_it_leaves_one_run_s_state_and_emails_when_run_twice(name, org, service):
    scenario, sends_email = SCENARIOS[name]
    task = celery_app.tasks[name]
    args = scenario(org, service)
    mail.outbox.clear()
    before = state()

    with time_machine.travel(NOW, tick=False):
        task.delay(*args)
        after_one_run = state()
        emails = [(m.to, m.subject) for m in mail.outbox]
        task.delay(*args)

    assert after_one_run != before or emails, "the first run did nothing: a vacuous scenario"
    assert bool(emails) == sends_email
    assert state() == after_one_run
    assert [(m.to, m.subject) for m in mail.outbox] == emails
