"""Notifications: written with the change, emailed after commit, never lost, never sent twice."""

import contextlib
import time

import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction
from kombu import pools
from rest_framework.test import APIClient

from departments.choices import Role
from requests_app import notifications, services
from requests_app.models import Notification, ServiceRequest
from requests_app.notifications import MAX_EMAIL_ATTEMPTS, notifications_deliver
from requests_app.tasks import deliver_notifications
from servicedesk.celery import app as celery_app
from tests.factories import MembershipFactory, ServiceFactory, UserFactory

# Nothing listens there: connecting is refused at once.
DEAD_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture
def service(org):
    return ServiceFactory(department=org.provider, name="Laptop")


def file(org, service, title="New laptop"):
    return services.request_create(
        requester=org.requester, service=service, title=title, description="broken"
    )


def _pools_reset(app):
    """Drop every broker connection and producer, so the next publish uses the current URL."""
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@contextlib.contextmanager
def broker_down(app):
    keys = ("task_always_eager", "broker_url", "broker_transport_options")
    saved = {key: app.conf[key] for key in keys}
    app.conf.update(
        task_always_eager=False,
        broker_url=DEAD_BROKER,
        # Bound each connection attempt, should the test ever meet a host that drops packets.
        broker_transport_options={"socket_connect_timeout": 1, "socket_timeout": 1},
    )
    _pools_reset(app)
    try:
        yield
    finally:
        app.conf.update(saved)
        _pools_reset(app)


def test_it_writes_notifications_in_the_transaction_and_emails_on_commit(
    org, service, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            request = file(org, service)
            assert Notification.objects.filter(user=org.agent, request=request).exists()
            assert mail.outbox == []
        assert mail.outbox == []  # callbacks run when the outermost transaction commits
    assert len(callbacks) == 1
    [email] = mail.outbox
    assert email.to == ["agent@example.com"]
    assert request.reference in email.subject
    assert f"{settings.SITE_URL}/requests/{request.pk}/" in email.body
    assert Notification.objects.get().emailed_at is not None


def test_it_leaves_nothing_when_the_transaction_rolls_back(
    org, service, django_capture_on_commit_callbacks, monkeypatch
):
    enqueued = []
    monkeypatch.setattr(notifications, "enqueue_delivery", lambda: enqueued.append(True))
    written = []

    def file_then_fail():
        with transaction.atomic():
            file(org, service)
            written.append(Notification.objects.exists())
            raise RuntimeError("the view failed after filing")

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError, match="failed after filing"),
    ):
        file_then_fail()
    assert written == [True]  # the notification was there inside the transaction
    assert callbacks == []
    assert enqueued == []
    assert not Notification.objects.exists()
    assert not ServiceRequest.objects.exists()
    assert mail.outbox == []


def test_it_files_while_the_broker_is_down_and_beat_emails_later(
    org, service, django_capture_on_commit_callbacks, caplog
):
    client = APIClient()
    client.force_login(org.requester)
    with broker_down(celery_app):
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = client.post(
                "/api/v1/requests/",
                {"service": service.pk, "title": "Laptop", "description": "broken"},
            )
        elapsed = time.monotonic() - started

    assert response.status_code == 201
    assert len(callbacks) == 1
    assert "could not enqueue delivery" in caplog.text
    assert elapsed < 3, f"filing took {elapsed:.1f}s with the broker down"
    notification = Notification.objects.get()
    assert (notification.user, notification.emailed_at) == (org.agent, None)
    assert mail.outbox == []

    # The broker is back (eager again): beat's minutely run sends what is pending, once.
    deliver_notifications.delay()
    assert [m.to for m in mail.outbox] == [["agent@example.com"]]
    deliver_notifications.delay()
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert notification.emailed_at is not None


def test_it_bounds_the_publish_retries_of_the_enqueue(monkeypatch):
    calls = []
    monkeypatch.setattr(
        deliver_notifications, "apply_async", lambda *args, **kwargs: calls.append(kwargs)
    )
    notifications.enqueue_delivery()
    [options] = calls
    assert options["retry"] is True
    assert options["retry_policy"]["max_retries"] <= 2
    assert options["retry_policy"]["interval_max"] <= 0.5


def test_it_does_not_email_about_a_request_the_user_can_no_longer_see(org, service):
    legal_agent = UserFactory(username="legal_agent")
    MembershipFactory(user=legal_agent, department=org.other, role=Role.AGENT)
    ServiceFactory(department=org.other, name="Contract review")
    request = file(org, service)  # IT's agent is told; in a test nothing commits, so it waits
    services.request_transfer(request=request, actor=org.agent, department=org.other)

    assert notifications_deliver() == 2

    assert sorted(m.to[0] for m in mail.outbox) == [
        "legal_agent@example.com",
        "requester@example.com",
    ]
    stale = Notification.objects.get(user=org.agent)
    assert stale.emailed_at is not None  # settled: not retried every minute


def test_it_sends_nothing_on_a_second_run(org, service):
    file(org, service, title="one")
    file(org, service, title="two")
    assert notifications_deliver() == 2
    assert notifications_deliver() == 0
    assert len(mail.outbox) == 2


def test_it_skips_a_row_another_deliverer_claimed_meanwhile(org, service, monkeypatch):
    file(org, service, title="one")  # to the agent
    request = file(org, service, title="two")
    services.request_comment_add(request=request, author=org.agent, body="On it")  # requester
    send_mail = notifications.send_mail
    started, second_run = [], []

    def send_mail_while_another_deliverer_runs(*args, **kwargs):
        if not started:
            started.append(True)
            # Another worker starts while this one sends its first email: it sees the rest as
            # pending, claims and sends them; this one must then skip them.
            second_run.append(notifications_deliver())
        return send_mail(*args, **kwargs)

    monkeypatch.setattr(notifications, "send_mail", send_mail_while_another_deliverer_runs)

    first_run = notifications_deliver()

    assert second_run == [2]
    assert first_run == 1
    assert sorted(m.to[0] for m in mail.outbox) == [
        "agent@example.com",
        "agent@example.com",
        "requester@example.com",
    ]
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 0


def test_it_retries_a_failed_email_and_gives_up_in_the_end(org, service, monkeypatch):
    file(org, service)

    def broken(*args, **kwargs):
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr(notifications, "send_mail", broken)
    assert notifications_deliver() == 0
    notification = Notification.objects.get()
    assert (notification.emailed_at, notification.email_attempts) == (None, 1)

    for _ in range(MAX_EMAIL_ATTEMPTS + 2):
        notifications_deliver()
    notification.refresh_from_db()
    assert notification.email_attempts == MAX_EMAIL_ATTEMPTS
    assert notification.emailed_at is None

    monkeypatch.undo()
    assert notifications_deliver() == 0  # given up: no endless retries


def test_it_sends_once_the_mail_server_is_back(org, service, monkeypatch):
    file(org, service)
    with monkeypatch.context() as patch:
        patch.setattr(notifications, "send_mail", lambda *a, **k: 1 / 0)
        notifications_deliver()
    assert notifications_deliver() == 1
    assert [m.to for m in mail.outbox] == [["agent@example.com"]]
