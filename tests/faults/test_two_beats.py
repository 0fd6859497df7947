"""Two beat schedulers at once (a deploy that overlaps, a second beat started by mistake).

Both send the scanner and the delivery of notifications every second to a worker of two
processes, so scans and deliveries run concurrently, each doing part of the work; each event
is still notified once, and each notification emailed once.
"""

import ast
import re

from requests_app import scanner
from requests_app.choices import EventKind, NotificationKind
from requests_app.models import Notification, RequestEvent, SLAClock
from requests_app.notifications import notifications_deliver

from .conftest import (
    QUEUE,
    breach_recipients,
    emails_due,
    file_requests,
    monday_weeks_ago,
    needs_workers,
    slow_inserts,
    wait_for,
)

pytestmark = needs_workers

SCANS = "Sending due task scan-sla-clocks"
SCAN_RESULT = re.compile(
    r"scan_sla_clocks\[[^]]+\] succeeded in [0-9.]+s: "
    r"(\{'warned': \d+, 'breached': \d+, 'escalated': \d+\})"
)


def test_two_beats_at_once_notify_and_email_each_event_once(
    org, service, celery_processes, broker, mailbox
):
    # More clocks than a scanner transaction takes: two scans at once share them.
    file_requests(org, service, getattr(scanner, "BATCH_SIZE", 1) // 2 + 10, monday_weeks_ago(2))
    notifications_deliver()  # the filing emails, out of the way (in this process)
    broker.client.delete(QUEUE)
    clocks = list(SLAClock.objects.filter(is_current=True).values_list("pk", flat=True))
    # Each scanner transaction holds its clocks for two seconds: the other scanner meets them.
    with slow_inserts("requests_app_notification", seconds=2):
        beats = [celery_processes.beat(FAULT_BEAT_EVERY=1) for _ in range(2)]

        def scans_sent() -> list[int]:
            return [log.read_text().count(SCANS) for _, log in celery_processes.processes]

        wait_for(lambda: min(scans_sent()) >= 2, timeout=60, details=celery_processes.logs)
        # Scans of both beats wait in the queue; the worker takes two at once.
        celery_processes.worker(concurrency=2)
        wait_for(
            lambda: (
                not SLAClock.objects.filter(breach_notified_at__isnull=True).exists()
                and not Notification.objects.filter(emailed_at__isnull=True).exists()
            ),
            timeout=120,
            message="the scans and the emails",
            details=celery_processes.logs,
        )
        for beat in beats:
            beat.terminate()
            beat.wait(15)
        wait_for(
            lambda: broker.messages() == [] and not broker.unacked(),
            timeout=60,
            message="the last scans and deliveries",
            details=celery_processes.logs,
        )

    # Each scan's result as the worker logs it: {'warned': 0, 'breached': 100, 'escalated': 0}.
    scans = [ast.literal_eval(found) for found in SCAN_RESULT.findall(celery_processes.logs())]
    assert len([scan for scan in scans if scan["breached"]]) >= 2, "no two scans shared the work"
    assert sum(scan["breached"] for scan in scans) == len(clocks)
    assert breach_recipients() == {f"breach:{pk}": ["agent", "provider_manager"] for pk in clocks}
    assert RequestEvent.objects.filter(kind=EventKind.SLA_BREACHED).count() == len(clocks)
    assert mailbox.sent() == emails_due(kind=NotificationKind.SLA_BREACHED)
