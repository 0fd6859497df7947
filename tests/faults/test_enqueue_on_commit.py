"""Tasks are sent when their transaction commits, once, and never for a rolled-back one.

The broker is a real (private) Redis and the transactions really commit: what is counted is
the messages waiting in the queue.
"""

import pytest
from django.db import transaction
from django.utils import timezone

from core.periods import QUARTER, period_containing
from requests_app import services as request_services
from requests_app.models import Notification, ServiceRequest
from scorecards.reports.models import QuarterlyReport
from scorecards.reports.services import report_request
from surveys.models import RequestSurvey

from .conftest import file_requests, needs_redis_server

pytestmark = [needs_redis_server, pytest.mark.django_db(transaction=True)]

DELIVERY = "requests_app.tasks.deliver_notifications"


class Failed(Exception):
    """The view failed after the writes."""


def file_one(org, service):
    [request] = file_requests(org, service, 1, timezone.now())
    return request


def test_it_sends_nothing_for_a_rolled_back_transaction(org, service, broker):
    written = []

    def file_resolve_then_fail():
        with transaction.atomic():
            request = file_one(org, service)
            file_one(org, service)
            request_services.request_transition(request=request, actor=org.agent, action="resolve")
            written.append(Notification.objects.count())
            raise Failed

    with pytest.raises(Failed):
        file_resolve_then_fail()

    assert written == [3]  # two filings and a resolution were notified, then rolled back
    assert broker.messages() == []
    assert not ServiceRequest.objects.exists()
    assert not Notification.objects.exists()
    assert not RequestSurvey.objects.exists()


def test_it_sends_one_delivery_for_a_committed_transaction_however_many_notify(
    org, service, broker
):
    with transaction.atomic():
        for _ in range(3):
            file_one(org, service)
        assert broker.messages() == []  # not before the commit

    assert broker.messages() == [DELIVERY]
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 3


def test_it_sends_one_delivery_and_one_survey_link_for_a_resolution(org, service, broker):
    request = file_one(org, service)
    broker.client.flushall()

    request_services.request_transition(request=request, actor=org.agent, action="resolve")

    assert sorted(broker.messages()) == [DELIVERY, "surveys.tasks.send_survey_link"]
    assert RequestSurvey.objects.filter(request=request).exists()


def file_in_a_savepoint_then_fail(org, service):
    def file_then_fail():
        with transaction.atomic():
            file_one(org, service)
            raise Failed

    with pytest.raises(Failed):
        file_then_fail()


def test_it_sends_nothing_for_a_rolled_back_savepoint(org, service, broker):
    with transaction.atomic():
        file_in_a_savepoint_then_fail(org, service)

    assert broker.messages() == []
    assert not Notification.objects.exists()


def test_it_sends_one_delivery_when_a_savepoint_rolled_back_and_the_rest_committed(
    org, service, broker
):
    with transaction.atomic():
        file_in_a_savepoint_then_fail(org, service)
        kept = file_one(org, service)

    assert broker.messages() == [DELIVERY]
    assert list(ServiceRequest.objects.values_list("pk", flat=True)) == [kept.pk]


def test_it_sends_a_report_job_on_commit_only(org, broker):
    quarter = period_containing(timezone.now(), QUARTER).previous().key

    def request_then_fail():
        with transaction.atomic():
            report_request(quarter=quarter, format="xlsx", user=org.hr)
            raise Failed

    with pytest.raises(Failed):
        request_then_fail()
    assert broker.messages() == []
    assert not QuarterlyReport.objects.exists()

    report_request(quarter=quarter, format="xlsx", user=org.hr)

    assert broker.messages() == ["scorecards.reports.tasks.generate_report"]
