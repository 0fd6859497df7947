"""/healthz: database and broker must answer; the last beat run is reported alongside."""

import contextlib
import datetime

from django.db import connection
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from servicedesk.celery import app as celery_app
from servicedesk.views import BEAT_STALE_AFTER_SECONDS

URL = "/healthz"


def periodic_task(name: str, last_run_at: datetime.datetime | None) -> PeriodicTask:
    every_minute, _ = IntervalSchedule.objects.get_or_create(
        every=1, period=IntervalSchedule.MINUTES
    )
    return PeriodicTask.objects.create(
        name=name, task="servicedesk.tasks.tick", interval=every_minute, last_run_at=last_run_at
    )


@contextlib.contextmanager
def broken_broker():
    """Point Celery at a port where nothing listens, and put the real broker back after.

    The Celery app read the Django settings once, so its own configuration is what counts.
    """
    conf = celery_app.conf
    # The raw values: `conf.broker_write_url` reads broker_url when unset, and putting that
    # back would pin every later publish of this process to it.
    saved = (conf["broker_url"], conf["broker_write_url"])
    conf.broker_url = "redis://127.0.0.1:1/0"
    conf.broker_write_url = None
    try:
        yield
    finally:
        conf.broker_url, conf.broker_write_url = saved


def test_it_reports_database_and_broker(client, db, settings):
    response = client.get(URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"ok": True, "vendor": connection.vendor}
    # Redis when REDIS_URL is set (CI runs both), else the filesystem broker.
    expected_transport = "redis" if settings.REDIS_URL else "filesystem"
    assert body["checks"]["broker"] == {"ok": True, "transport": expected_transport}


def test_it_needs_no_login(client, db, org):
    response = client.get(URL)

    assert response.status_code == 200
    assert "login" not in response.get("Location", "")


def test_it_reports_no_beat_run_yet(client, db):
    body = client.get(URL).json()

    assert body["checks"]["beat"] == {"ok": False, "last_run_at": None}


def test_it_reports_a_recent_beat_run(client, db):
    recent = timezone.now() - datetime.timedelta(seconds=30)
    periodic_task("scan", recent)
    periodic_task("old", timezone.now() - datetime.timedelta(days=2))
    periodic_task("never", None)

    response = client.get(URL)

    assert response.status_code == 200
    beat = response.json()["checks"]["beat"]
    assert beat["ok"] is True
    assert datetime.datetime.fromisoformat(beat["last_run_at"]) == recent


def test_it_reports_a_stale_beat_without_failing(client, db):
    old = timezone.now() - datetime.timedelta(seconds=BEAT_STALE_AFTER_SECONDS + 60)
    periodic_task("scan", old)

    response = client.get(URL)

    # Beat is reported but does not make the web process unhealthy.
    assert response.status_code == 200
    beat = response.json()["checks"]["beat"]
    assert beat["ok"] is False
    assert datetime.datetime.fromisoformat(beat["last_run_at"]) == old


def test_it_answers_503_when_the_broker_is_down(client, db):
    with broken_broker():
        response = client.get(URL)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["error"]
    assert body["checks"]["database"]["ok"] is True
    # Back to the real broker: healthy again.
    assert client.get(URL).status_code == 200


def test_it_refuses_post(client, db):
    response = client.post(URL)

    assert response.status_code == 405
