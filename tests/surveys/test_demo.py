"""The demo survey history: works on whatever requests exist, and adds nothing twice."""

import datetime
import io

import pytest
import time_machine

from requests_app import services as request_services
from requests_app.models import Notification
from surveys import demo
from surveys.models import (
    RelationshipAnswer,
    RelationshipSurvey,
    RequestQualityRating,
    RequestSurvey,
    SurveyResponse,
    SurveyToken,
)

from .conftest import BERLIN

NOW = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=BERLIN)
pytestmark = pytest.mark.clock(NOW)


def history(org, service, *, count=24):
    """Requests filed and resolved through Q2 and Q3 2026, one every week."""
    start = datetime.datetime(2026, 4, 6, 10, 0, tzinfo=BERLIN)
    requesters = [org.requester, org.colleague, org.customer_manager]
    for week in range(count):
        filed = start + datetime.timedelta(weeks=week)
        request = request_services.request_create(
            requester=requesters[week % 3],
            service=service,
            title=f"Request {week}",
            description="Please",
            now=filed,
        )
        request_services.request_transition(
            request=request,
            actor=org.agent,
            action="resolve",
            now=filed + datetime.timedelta(hours=2 if week % 4 else 30),
        )


def test_the_demo_answers_the_history_and_adds_nothing_twice(org, service, mailoutbox):
    history(org, service)
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        demo.seed_demo(stdout=out)
    assert RequestSurvey.objects.count() == 24
    answered = SurveyResponse.objects.count()
    assert 8 <= answered <= 22  # about two thirds
    assert RequestQualityRating.objects.exists()
    assert set(RelationshipSurvey.objects.values_list("quarter", flat=True)) == {
        "2026-Q2",
        "2026-Q3",
    }
    assert RelationshipAnswer.objects.exists()
    assert not RelationshipSurvey.objects.filter(closed_at__isnull=True).exists()
    assert not SurveyToken.objects.exists()  # no links: nobody is emailed about the past
    assert mailoutbox == []
    assert not Notification.objects.filter(
        dedupe_key__startswith="survey-", emailed_at__isnull=True
    ).exists()
    assert "2026-Q3: relationship survey" in out.getvalue()

    with time_machine.travel(NOW, tick=False):
        demo.seed_demo(stdout=io.StringIO())
    assert SurveyResponse.objects.count() == answered
    assert RelationshipSurvey.objects.count() == 2


def test_the_demo_works_without_any_request(org):
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        demo.seed_demo(stdout=out)
    assert not RequestSurvey.objects.exists()
    assert "no requests in the quarter" in out.getvalue()
