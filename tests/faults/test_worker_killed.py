"""A worker killed in the middle of a task: the task runs again and ends as a clean run would.

acks_late keeps the message until the task has finished. A whole worker killed (the machine
or container lost) leaves it unacknowledged in Redis, which hands it to another worker after
the visibility timeout (a few seconds here, an hour in production). A pool process killed
under its task (out of memory) is seen by its worker, which retries the task a bounded
number of times (task_retry_on_worker_lost and max_retries). A worker killed in the middle
of an email leaves a claim on it that runs out, and the email goes out once.
"""

import contextlib
import datetime
import json
import os
import re
import signal
import socket
import threading
import time

import pytest
from django.core import mail
from django.utils import timezone

from core.periods import WEEK, period_containing
from requests_app import scanner
from requests_app import services as request_services
from requests_app.choices import EventKind, NotificationKind
from requests_app.clocks import clock_refresh
from requests_app.models import Notification, RequestEvent, SLAClock
from requests_app.notifications import notifications_deliver
from requests_app.scanner import sla_clocks_scan
from requests_app.tasks import deliver_notifications, scan_sla_clocks
from scorecards.models import ScoreSnapshot
from scorecards.services import scores_compute
from scorecards.tasks import compute_scores
from servicedesk.celery import app as celery_app

from .conftest import (
    QUEUE,
    backends_in_transaction,
    breach_recipients,
    emails_due,
    file_requests,
    monday_weeks_ago,
    needs_workers,
    slow_inserts,
    wait_for,
)

pytestmark = needs_workers

HOUR = datetime.timedelta(hours=1)
# The claim on an email, in the worker that dies holding it: long enough for this test to
# look at the claim while it holds, short enough to wait for.
EMAIL_LEASE = 15
CLOCK_FIELDS = ("state", "due_at", "warn_at", "used_seconds", "completed_at", "target_seconds")


def drained(broker) -> bool:
    """Nothing waits in the queue and nothing is being worked on."""
    return broker.messages() == [] and broker.unacked() == 0


def as_clean_run(clock: SLAClock) -> dict:
    """The clock's fields as a clean scan at the same moment would have written them."""
    events = list(
        RequestEvent.objects.filter(request_id=clock.request_id).order_by("created_at", "id")
    )
    fresh = SLAClock.objects.select_related("calendar_version").get(pk=clock.pk)
    clock_refresh(fresh, events, clock.computed_at)
    return {field: getattr(fresh, field) for field in CLOCK_FIELDS}


def test_it_redelivers_the_scan_of_a_killed_worker_and_ends_as_a_clean_run(
    org, service, celery_processes, broker, mailbox
):
    # More clocks than a scanner transaction takes: the kill lands after one has committed.
    batch = getattr(scanner, "BATCH_SIZE", 1)
    file_requests(org, service, batch // 2 + 2, monday_weeks_ago(2))
    notifications_deliver()  # the filing emails, out of the way (in this process)
    broker.client.delete(QUEUE)
    clocks = list(SLAClock.objects.filter(is_current=True).values_list("pk", flat=True))
    with slow_inserts("requests_app_notification", seconds=4):
        # As in production, longer than the task runs (else Redis hands it out meanwhile).
        first = celery_processes.worker(FAULT_VISIBILITY_TIMEOUT=3600)

        scan = scan_sla_clocks.apply_async()

        def in_the_middle():
            done = SLAClock.objects.filter(breach_notified_at__isnull=False).exists()
            return done and backends_in_transaction('INSERT INTO "requests_app_notification"')

        [scanner_backend] = wait_for(
            in_the_middle,
            timeout=90,
            message="the scan to be part done",
            details=celery_processes.logs,
        )
        celery_processes.kill(first)
    # PostgreSQL rolls back the transaction of the dead client.
    wait_for(
        lambda: scanner_backend not in backends_in_transaction(),
        timeout=10,
        message="the killed worker's transaction to end",
    )
    notified = set(
        SLAClock.objects.filter(breach_notified_at__isnull=False).values_list("pk", flat=True)
    )
    assert 1 <= len(notified) < len(clocks)
    # Nothing half done: the clocks under way lost their notifications with the transaction.
    assert set(breach_recipients()) == {f"breach:{pk}" for pk in notified}
    # The scan is kept, unacknowledged, until Redis hands it out again.
    assert broker.unacked() == 1
    assert "requests_app.tasks.scan_sla_clocks" not in broker.messages()

    # A worker that hands out what was taken over 2 s ago, not an hour.
    second = celery_processes.worker(FAULT_VISIBILITY_TIMEOUT=2)
    wait_for(
        lambda: (
            not SLAClock.objects.filter(is_current=True, breach_notified_at__isnull=True).exists()
            and not Notification.objects.filter(emailed_at__isnull=True).exists()
            and drained(broker)
        ),
        timeout=90,
        message="the redelivered scan and the emails",
        details=celery_processes.logs,
    )

    assert celery_processes.logs().count(f"scan_sla_clocks[{scan.id}] received") == 2
    assert second.poll() is None
    # The state a clean run leaves: each clock breached once, both recipients told once.
    assert breach_recipients() == {f"breach:{pk}": ["agent", "provider_manager"] for pk in clocks}
    assert not Notification.objects.filter(kind=NotificationKind.SLA_WARNING).exists()
    breaches = RequestEvent.objects.filter(kind=EventKind.SLA_BREACHED)
    assert sorted(breaches.values_list("data__clock", "request_id")) == sorted(
        SLAClock.objects.filter(is_current=True).values_list("kind", "request_id")
    )
    for clock in SLAClock.objects.filter(is_current=True):
        assert {field: getattr(clock, field) for field in CLOCK_FIELDS} == as_clean_run(clock)
    assert mailbox.sent() == emails_due(kind=NotificationKind.SLA_BREACHED)
    assert sla_clocks_scan() == {"warned": 0, "breached": 0, "escalated": 0}


def snapshot_rows(period_key: str) -> list[tuple]:
    return sorted(
        (
            row.department_id,
            row.role,
            row.counterpart_id or 0,
            json.dumps(row.figures, sort_keys=True),
        )
        for row in ScoreSnapshot.objects.filter(period=period_key)
    )


def test_it_retries_compute_scores_whose_process_died_and_writes_a_clean_run(
    org, service, celery_processes, broker
):
    monday = monday_weeks_ago(2)
    period = period_containing(monday, WEEK)
    met, breached, late = file_requests(org, service, 3, monday)
    for request, answered_after, resolved_after in ((met, 1, 3), (breached, 26, 40)):
        request_services.request_acknowledge(
            request=request, actor=org.agent, now=monday + answered_after * HOUR
        )
        request_services.request_transition(
            request=request, actor=org.agent, action="resolve", now=monday + resolved_after * HOUR
        )
    scores_compute(period=period)
    stale = snapshot_rows(period.key)
    # A late event of that week: the stored snapshots are out of date.
    request_services.request_transition(
        request=late, actor=org.agent, action="resolve", now=monday + 2 * HOUR
    )
    worker = celery_processes.worker(FAULT_RETRY_DELAY=1)
    with slow_inserts("scorecards_scoresnapshot", seconds=5):
        compute_scores.apply_async(args=[period.key])

        wait_for(
            lambda: backends_in_transaction('INSERT INTO "scorecards_scoresnapshot"'),
            timeout=90,
            message="compute_scores to be writing its snapshots",
            details=celery_processes.logs,
        )
        assert snapshot_rows(period.key) == stale  # readers still see the old ones
        [pool_process] = celery_processes.pool_processes(worker)
        os.kill(pool_process, signal.SIGKILL)
        # Back to normal speed once the killed statement has ended.

    wait_for(
        lambda: snapshot_rows(period.key) != stale and drained(broker),
        timeout=90,
        message="the retried compute_scores",
        details=celery_processes.logs,
    )
    assert "WorkerLostError" in celery_processes.logs()
    after_worker = snapshot_rows(period.key)
    scores_compute(period=period)  # a clean run, in this process
    assert after_worker == snapshot_rows(period.key)


def test_it_gives_up_on_a_task_that_kills_its_process_every_time(
    celery_processes, broker, tmp_path
):
    """reject_on_worker_lost alone would requeue it for ever; the retries are bounded."""
    attempts = tmp_path / "attempts"
    celery_processes.worker(FAULT_RETRY_DELAY=0.2, FAULT_ATTEMPTS_FILE=attempts)
    max_retries = celery_app.Task.max_retries

    celery_app.send_task("tests.faults.kill_own_process")

    def count() -> int:
        return len(attempts.read_text().split()) if attempts.exists() else 0

    # Until no message is left, queued or taken (a retry waiting for its countdown is taken):
    # then no attempt can follow. (Each loss is reported up to worker_lost_wait, 10 s, late.)
    def done() -> bool:
        assert count() <= max_retries + 1, f"an attempt too many\n{celery_processes.logs()}"
        return count() == max_retries + 1 and drained(broker)

    wait_for(
        done,
        timeout=180,
        message=f"{max_retries + 1} attempts, then none left to make",
        details=celery_processes.logs,
    )
    time.sleep(1)
    assert count() == max_retries + 1, celery_processes.logs()
    assert drained(broker)
    assert "WorkerLostError" in celery_processes.logs()


class SilentMailServer:
    """A mail server that takes connections and never says a word: a worker sending to it
    waits inside its send (up to EMAIL_TIMEOUT), its claim taken and nothing sent yet."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.url = f"smtp://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections: list[socket.socket] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            with contextlib.suppress(TimeoutError):
                self.connections.append(self.listener.accept()[0])

    def close(self) -> None:
        self._closed.set()
        self._thread.join(5)
        for each in [*self.connections, self.listener]:
            each.close()


@pytest.fixture
def silent_mail_server():
    server = SilentMailServer()
    yield server
    server.close()


def delivery_result(logs: str, task_id: str) -> int | None:
    """How many emails one delivery task sent, as its worker logged it (None: not done)."""
    found = re.search(rf"deliver_notifications\[{task_id}\] succeeded in [0-9.]+s: (\d+)", logs)
    return int(found.group(1)) if found else None


def test_it_sends_the_email_of_a_worker_killed_between_claim_and_send_once_its_claim_ran_out(
    org, service, celery_processes, broker, mailbox, silent_mail_server
):
    file_requests(org, service, 1, timezone.now())
    broker.client.delete(QUEUE)  # the delivery enqueued on commit: this test sends its own
    [notification] = Notification.objects.all()  # to IT's agent
    due = emails_due()
    dying = celery_processes.worker(
        EMAIL_URL=silent_mail_server.url, EMAIL_TIMEOUT=600, FAULT_EMAIL_LEASE=EMAIL_LEASE
    )

    deliver_notifications.apply_async()
    wait_for(
        lambda: silent_mail_server.connections,
        timeout=60,
        message="the worker to be sending the email",
        details=celery_processes.logs,
    )
    celery_processes.kill(dying)

    assert mailbox.sent() == []
    notification.refresh_from_db()
    assert notification.emailed_at is None, "a claim is not a send: the email would be lost"
    assert notification.email_attempts == 1
    lease_end = notification.email_claimed_until
    assert timezone.now() < lease_end - datetime.timedelta(seconds=1), "the lease ran out already"
    # While the claim holds, a delivery (here, in this process) leaves the email alone.
    assert notifications_deliver() == 0
    assert mail.outbox == []

    worker = celery_processes.worker()
    wait_for(
        lambda: timezone.now() > lease_end,
        timeout=EMAIL_LEASE + 10,
        message="the dead worker's claim to run out",
    )
    after_lease = deliver_notifications.apply_async()  # as beat sends it every minute
    wait_for(
        lambda: delivery_result(celery_processes.logs(), after_lease.id) is not None,
        timeout=60,
        message="the delivery after the lease",
        details=celery_processes.logs,
    )
    again = deliver_notifications.apply_async()
    wait_for(
        lambda: delivery_result(celery_processes.logs(), again.id) is not None,
        timeout=60,
        message="the next delivery",
        details=celery_processes.logs,
    )

    assert delivery_result(celery_processes.logs(), after_lease.id) == 1
    assert delivery_result(celery_processes.logs(), again.id) == 0
    assert mailbox.sent() == due
    assert worker.poll() is None
    notification.refresh_from_db()
    assert notification.emailed_at is not None
    assert notification.email_claimed_until is None
    assert notification.email_attempts == 2
