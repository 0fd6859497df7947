"""Fixtures of the survey tests: a resolved request with its emailed link, travelled time."""

import datetime
import re
import zoneinfo

import pytest
import time_machine
from django.core import mail

from requests_app import services as request_services
from surveys.models import RequestSurvey
from tests.clock import folder_mark

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
LINK = re.compile(r"/surveys/t/([A-Za-z0-9_-]+)/")


def at(day, hour=9, minute=0):
    """Days from Monday 23 November 2026 (day 0), Berlin time."""
    return datetime.datetime(2026, 11, 23, hour, minute, tzinfo=BERLIN) + datetime.timedelta(
        days=day
    )


# The story starts on Monday 23 November 2026 (a request resolved at 10:00 sends its survey,
# which closes 14 days later); whatever a test does without travelling happens on Tuesday at
# noon, on any real date.
pytest_collection_modifyitems = folder_mark(__file__, pytest.mark.clock(at(1, 12)))


def survey_links(user) -> list[str]:
    """The raw tokens of the survey links emailed to a user, oldest first."""
    return [
        match.group(1)
        for message in mail.outbox
        if user.email in message.to
        for match in [LINK.search(message.body)]
        if match
    ]


@pytest.fixture
def resolve(org, service, django_capture_on_commit_callbacks):
    """File a request as `requester` at `when` and resolve it an hour later, running what
    runs after commit (the survey hook and its email)."""

    def make(*, when=None, requester=None, title="New laptop", confidential=False):
        when = when or at(0, 9)
        with (
            time_machine.travel(when, tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            request = request_services.request_create(
                requester=requester or org.requester,
                service=service,
                title=title,
                description="Mine is broken",
                confidential=confidential,
            )
        with (
            time_machine.travel(when + datetime.timedelta(hours=1), tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            request_services.request_transition(request=request, actor=org.agent, action="resolve")
        request.refresh_from_db()
        return request

    return make


@pytest.fixture
def surveyed(resolve, org):
    """A resolved request, its survey and the link emailed to the requester."""
    request = resolve()
    survey = RequestSurvey.objects.get(request=request)
    (token,) = survey_links(org.requester)
    return request, survey, token


# The quarterly relationship survey: 2026-Q3 runs from 1 July to 30 September (Berlin).
Q3_DAY = datetime.datetime(2026, 8, 10, 10, 0, tzinfo=BERLIN)
Q3_OPENED = datetime.datetime(2026, 10, 1, 6, 0, tzinfo=BERLIN)


def file_request(requester, service, when=Q3_DAY):
    with time_machine.travel(when, tick=False):
        return request_services.request_create(
            requester=requester, service=service, title="Help", description="Please"
        )


@pytest.fixture
def quarter_used(org, service):
    """In 2026-Q3 Sales filed a request to IT; Legal filed nothing."""
    file_request(org.requester, service)
    return org


@pytest.fixture
def opened(quarter_used, django_capture_on_commit_callbacks):
    """The 2026-Q3 relationship survey, opened on 1 October at 06:00 with its emails."""
    from surveys.services import relationship_survey_open

    with (
        time_machine.travel(Q3_OPENED, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        report = relationship_survey_open(quarter="2026-Q3")
    return report.survey
