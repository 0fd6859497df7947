"""The production Celery app as the fault tests run it: `celery -A tests.faults.worker_app`.

The worker and beat processes of these tests run the production app, settings and tasks;
only what a test must shorten or add changes, read from the environment:

- FAULT_VISIBILITY_TIMEOUT: seconds before Redis hands a task whose worker died to another
  worker (production: an hour), with a restore sweep every second, so that a test sees the
  redelivery in seconds.
- FAULT_RETRY_DELAY: the countdown of a retry, and so of the retry of a task whose pool
  process died (production: the task's `default_retry_delay`, 180 s).
- FAULT_BEAT_EVERY: beat sends only the scanner and the delivery of notifications, every
  that many seconds instead of every minute.
- FAULT_EMAIL_LEASE: seconds a delivery's claim on an email holds (production:
  NOTIFICATION_EMAIL_LEASE, 20 minutes), so that a test sees a dead worker's claim run out.
- FAULT_ATTEMPTS_FILE: where `tests.faults.kill_own_process`, a task that kills the pool
  process running it, counts its attempts.
"""

import datetime
import os
import signal

from celery.app.task import Task
from django.conf import settings

from servicedesk.celery import app

if "FAULT_VISIBILITY_TIMEOUT" in os.environ:
    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        "visibility_timeout": float(os.environ["FAULT_VISIBILITY_TIMEOUT"]),
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }

if "FAULT_RETRY_DELAY" in os.environ:
    # The class attribute every task inherits; no task of servicedesk sets its own.
    Task.default_retry_delay = float(os.environ["FAULT_RETRY_DELAY"])

if "FAULT_EMAIL_LEASE" in os.environ:
    settings.NOTIFICATION_EMAIL_LEASE = datetime.timedelta(
        seconds=float(os.environ["FAULT_EMAIL_LEASE"])
    )

if "FAULT_BEAT_EVERY" in os.environ:
    _every = float(os.environ["FAULT_BEAT_EVERY"])
    app.conf.beat_schedule = {
        name: {**entry, "schedule": _every, "options": {}}
        for name, entry in app.conf.beat_schedule.items()
        if name in ("scan-sla-clocks", "deliver-notifications")
    }


@app.task(name="tests.faults.kill_own_process")
def kill_own_process() -> None:
    """Count an attempt, then die as a process killed by the kernel (out of memory) does."""
    with open(os.environ["FAULT_ATTEMPTS_FILE"], "a") as attempts:
        attempts.write(f"{os.getpid()}\n")
    os.kill(os.getpid(), signal.SIGKILL)
