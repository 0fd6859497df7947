"""Redis stops while requests are filed and resolved: nothing is lost, each email goes once.

The web side writes its notifications in the same transaction as the change; the delivery
task it enqueues on commit cannot reach the broker, and the user's action succeeds anyway,
quickly, whether Redis is gone (refused) or hangs (connections open, no answer). When Redis
is back (empty: it kept nothing), beat's deliver-notifications sends every pending email
once, through a real worker.
"""

import threading
import time

import pytest
from django.db import connections
from django.utils import timezone

from requests_app import services as request_services
from requests_app.models import Notification, ServiceRequest
from requests_app.tasks import deliver_notifications
from surveys.models import RequestSurvey

from .conftest import emails_due, file_requests, needs_redis_server, needs_workers, wait_for


@needs_workers
def test_it_keeps_every_request_and_notification_and_emails_each_once_redis_is_back(
    org, service, celery_processes, broker, mailbox, caplog
):
    celery_processes.worker()
    broker.stop()

    started = time.monotonic()
    filed = file_requests(org, service, 3, timezone.now())
    request_services.request_comment_add(request=filed[1], author=org.agent, body="On it")
    request_services.request_transition(request=filed[0], actor=org.agent, action="resolve")
    elapsed = time.monotonic() - started

    assert elapsed < 10, f"six actions took {elapsed:.1f}s with Redis down"
    assert "could not enqueue delivery" in caplog.text
    assert ServiceRequest.objects.count() == 3
    assert Notification.objects.count() == 5  # 3 filed, a reply, a resolution
    assert not Notification.objects.filter(emailed_at__isnull=False).exists()
    # The requester's survey waits in the app (its email needed the broker: see README).
    assert RequestSurvey.objects.filter(request=filed[0]).exists()

    broker.start()
    deliver_notifications.apply_async()  # what beat sends every minute

    wait_for(
        lambda: mailbox.sent() == emails_due() and broker.messages() == [] and not broker.unacked(),
        timeout=90,
        message="every pending email",
        details=celery_processes.logs,
    )
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()
    # Beat's next runs find nothing left to send.
    for _ in range(2):
        deliver_notifications.apply_async()
    wait_for(
        lambda: broker.messages() == [] and not broker.unacked(),
        timeout=30,
        message="beat's next runs",
        details=celery_processes.logs,
    )
    assert mailbox.sent() == emails_due()
    assert len(mailbox.sent()) == 5


def timed(action, *, limit: float):
    """(result, seconds) of `action()`, run in a thread: a test must fail, not hang, when the
    action waits for ever."""
    outcome = {}

    def run():
        started = time.monotonic()
        try:
            outcome["result"] = action()
        finally:
            outcome["seconds"] = time.monotonic() - started
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit)
    assert not thread.is_alive(), f"still waiting after {limit:.0f}s"
    return outcome["result"], outcome["seconds"]


@needs_redis_server
@pytest.mark.django_db(transaction=True)
def test_it_files_a_request_and_answers_healthz_while_redis_hangs(
    org, service, broker, client, caplog
):
    file_requests(org, service, 1, timezone.now())  # a pooled connection, as a web process has
    broker.freeze()
    try:
        [request], filing = timed(lambda: file_requests(org, service, 1, timezone.now()), limit=30)
        health, checking = timed(lambda: client.get("/healthz"), limit=30)
    finally:
        broker.thaw()

    # A few publish attempts of socket_timeout (2 s) each, not for ever.
    assert filing < 15, f"filing took {filing:.1f}s with Redis hanging"
    assert "could not enqueue delivery" in caplog.text
    assert Notification.objects.get(request=request).emailed_at is None
    assert checking < 10, f"/healthz took {checking:.1f}s with Redis hanging"
    assert health.status_code == 503
    assert health.json()["checks"]["broker"]["ok"] is False
