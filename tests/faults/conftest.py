"""Fault tests: a private Redis to stop and start, real Celery workers and beats to kill.

Nothing here touches the machine's shared Redis: each test process starts its own
redis-server on a free port, without persistence, and stops it when the session ends.
Workers and beats are `celery -A tests.faults.worker_app` subprocesses (the production app,
see worker_app.py) against the test database, so tests that use them need PostgreSQL (an
in-memory SQLite test database cannot be shared with another process) and
`transactional_db` (the worker must see committed rows).
"""

import contextlib
import datetime
import email
import json
import os
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import time
import zoneinfo
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone
from kombu import pools

from requests_app import notifications
from requests_app import services as request_services
from requests_app.choices import NotificationKind
from requests_app.models import Notification
from servicedesk.celery import app as celery_app
from tests.clock import real_clock_environment

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")

REDIS_SERVER = shutil.which("redis-server")
CELERY = str(Path(sys.executable).with_name("celery"))
QUEUE = "celery"

needs_redis_server = pytest.mark.skipif(
    REDIS_SERVER is None, reason="needs the redis-server program for a private Redis"
)
needs_workers = pytest.mark.skipif(
    connection.vendor != "postgresql" or REDIS_SERVER is None,
    reason=(
        "real Celery workers share the test database: PostgreSQL only (and redis-server); "
        "CI runs these in its PostgreSQL leg"
    ),
)
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="terminates a database backend mid-transaction: PostgreSQL only",
)


def wait_for(condition, *, timeout: float, message: str = "", details=None, interval=0.1):
    """Poll until `condition()` is true (and return its value), or fail after `timeout`,
    with `details()` (the processes' logs, say) in the message."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(
                f"waited {timeout:.0f}s in vain for {message or condition}"
                + (f"\n{details()}" if details else "")
            )
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    """A redis-server of this test process alone: it can be stopped, frozen and restarted."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.client = redis.Redis(port=self.port, socket_timeout=5, socket_connect_timeout=5)

    def start(self) -> None:
        if self.running:
            return
        self.process = subprocess.Popen(  # noqa: S603 - a fixed program and arguments
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.folder),
                "--logfile",
                str(self.folder / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=real_clock_environment(),
        )
        wait_for(self._answers, timeout=10, message="the private Redis to start")

    def stop(self) -> None:
        """Kill it, as a crashed or restarted Redis without persistence: its data is lost."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None
        self.client.connection_pool.disconnect()

    def freeze(self) -> None:
        """Stop it answering while its connections stay open: a hung Redis, a dead link."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.running:
            os.kill(self.process.pid, signal.SIGCONT)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _answers(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False

    def messages(self, queue: str = QUEUE) -> list[str]:
        """The names of the tasks waiting in a queue, oldest first."""
        raw = self.client.lrange(queue, 0, -1)
        return [json.loads(item)["headers"]["task"] for item in reversed(raw)]

    def unacked(self) -> int:
        return self.client.hlen("unacked")


@pytest.fixture(scope="session")
def private_redis(tmp_path_factory):
    if REDIS_SERVER is None:
        pytest.skip("needs the redis-server program for a private Redis")
    server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


def _pools_reset(app) -> None:
    """Drop every broker connection and producer, so the next publish uses the current URL."""
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture(scope="session")
def redis_settings() -> dict:
    """The settings module as production runs it, with REDIS_URL, whatever this run uses."""
    saved = os.environ.get("REDIS_URL")
    os.environ["REDIS_URL"] = "redis://redis.internal:6379/0"
    try:
        return runpy.run_path(str(settings.BASE_DIR / "servicedesk" / "settings.py"))
    finally:
        if saved is None:
            del os.environ["REDIS_URL"]
        else:
            os.environ["REDIS_URL"] = saved


@pytest.fixture
def broker(private_redis, redis_settings):
    """The Celery app of the test process publishes to the private Redis, for real, with
    production's Redis options."""
    private_redis.thaw()
    private_redis.start()
    private_redis.client.flushall()
    conf = celery_app.conf
    keys = ("task_always_eager", "broker_url", "broker_write_url", "broker_transport_options")
    saved = {key: conf[key] for key in keys}
    conf.update(
        task_always_eager=False,
        broker_url=private_redis.url,
        broker_write_url=None,
        broker_transport_options=redis_settings["CELERY_BROKER_TRANSPORT_OPTIONS"],
    )
    _pools_reset(celery_app)
    yield private_redis
    conf.update(saved)
    _pools_reset(celery_app)
    private_redis.thaw()
    private_redis.start()


def database_url() -> str:
    """The URL of the live test database, for the worker and beat subprocesses."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{quote(db['NAME'], safe='')}"


class Mailbox:
    """The emails the worker subprocesses sent (Django's file backend)."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir()
        self.url = f"filemail:///{folder}"

    def messages(self) -> list[email.message.Message]:
        found = []
        for path in sorted(self.folder.iterdir()):
            for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
                if chunk.strip():
                    found.append(email.message_from_bytes(chunk))
        return found

    def sent(self) -> list[tuple[str, str]]:
        """(recipient, subject) of every email, sorted; a folded subject unfolded."""
        return sorted(
            (message["To"], " ".join(message["Subject"].split())) for message in self.messages()
        )


@pytest.fixture
def mailbox(tmp_path) -> Mailbox:
    return Mailbox(tmp_path / "mail")


class Celery:
    """Start `celery worker` and `celery beat` subprocesses; kill them however a test likes."""

    def __init__(self, folder: Path, redis_server: PrivateRedis, mailbox: Mailbox):
        self.folder = folder
        self.redis = redis_server
        self.mailbox = mailbox
        self.processes: list[tuple[subprocess.Popen, Path]] = []

    def _environment(self, variables: dict) -> dict:
        # On the suite's clock (moved ahead in CI's second run, as the test process is):
        # the workers' times and the test's must agree.
        env = {key: value for key, value in os.environ.items() if key != "CELERY_TASK_ALWAYS_EAGER"}
        env.update(
            DJANGO_SETTINGS_MODULE="servicedesk.settings",
            PYTHONPATH=str(settings.BASE_DIR),
            DATABASE_URL=database_url(),
            REDIS_URL=self.redis.url,
            EMAIL_URL=self.mailbox.url,
            TIME_ZONE=settings.TIME_ZONE,
            LOG_LEVEL="INFO",
        )
        # A test's own variables win (EMAIL_URL of another mail server, say).
        env.update({key: str(value) for key, value in variables.items()})
        return env

    def _start(self, name: str, arguments: list[str], variables: dict, ready: str):
        log = self.folder / f"{name}-{len(self.processes)}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter's celery
                [CELERY, "-A", "tests.faults.worker_app", *arguments],
                cwd=self.folder,
                env=self._environment(variables),
                stdout=output,
                stderr=subprocess.STDOUT,
                # Its own process group: killing the group kills the pool processes too.
                start_new_session=True,
            )
        self.processes.append((process, log))
        wait_for(
            lambda: ready in log.read_text(errors="replace") or process.poll() is not None,
            timeout=60,
            message=f"{name} to start",
            details=log.read_text,
        )
        assert process.poll() is None, f"{name} died at start:\n{log.read_text()}"
        return process

    def worker(self, *, concurrency: int = 1, **variables) -> subprocess.Popen:
        """A worker of the default queue, ready to take tasks."""
        name = f"fault{len(self.processes)}@%h"
        arguments = [
            "worker",
            "--loglevel=INFO",
            "--pool=prefork",
            f"--concurrency={concurrency}",
            f"--hostname={name}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        return self._start("worker", arguments, variables, ready=" ready.")

    def beat(self, **variables) -> subprocess.Popen:
        arguments = [
            "beat",
            "--loglevel=INFO",
            f"--schedule={self.folder / f'beat-{len(self.processes)}'}",
            f"--pidfile={self.folder / f'beat-{len(self.processes)}.pid'}",
        ]
        return self._start("beat", arguments, variables, ready="beat: Starting...")

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """SIGKILL the whole worker (main process and pool), as a lost machine or container."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    @staticmethod
    def pool_processes(process: subprocess.Popen) -> list[int]:
        """The pids of a worker's pool processes (its children)."""
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def logs(self) -> str:
        return "\n".join(
            f"=== {log.name}\n{log.read_text(errors='replace')}" for _, log in self.processes
        )

    def stop_all(self) -> None:
        for process, _ in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process, _ in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill(process)


@pytest.fixture
def celery_processes(transactional_db, broker, mailbox, tmp_path):
    """Real workers and beats; all stopped before the test database is flushed."""
    folder = tmp_path / "celery"
    folder.mkdir()
    processes = Celery(folder, broker, mailbox)
    yield processes
    processes.stop_all()


# --- data ----------------------------------------------------------------------------------


def monday_weeks_ago(weeks: int) -> datetime.datetime:
    """09:00 Berlin on the Monday `weeks` weeks before this one: the clocks of a request
    filed then are past due now, and its week is closed."""
    today = timezone.localdate(timezone.now(), BERLIN)
    monday = today - datetime.timedelta(days=today.weekday(), weeks=weeks)
    return datetime.datetime.combine(monday, datetime.time(9), BERLIN)


def file_requests(org, service, count: int, when: datetime.datetime) -> list:
    return [
        request_services.request_create(
            requester=org.requester,
            service=service,
            title=f"Laptop #{number}",
            description="broken",
            now=when,
        )
        for number in range(count)
    ]


def breach_recipients() -> dict[str, list[str]]:
    """Who was told of each breach: {dedupe key: sorted usernames}."""
    found = {}
    for key, username in Notification.objects.filter(
        kind=NotificationKind.SLA_BREACHED
    ).values_list("dedupe_key", "user__username"):
        found.setdefault(key, []).append(username)
    return {key: sorted(usernames) for key, usernames in found.items()}


def emails_due(**filters) -> list[tuple[str, str]]:
    """(recipient, subject) of the email of every notification (or those `filters` select),
    sorted: what a mailbox holds when each was emailed exactly once."""
    rows = Notification.objects.filter(**filters).select_related("user", "request")
    return sorted(
        (notification.user.email, " ".join(notifications._email_for(notification)[0].split()))
        for notification in rows
    )


def backends_in_transaction(statement: str = "") -> list[int]:
    """PostgreSQL backends of other connections inside a transaction whose last (or current)
    statement begins with `statement`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL AND query LIKE %s",
            [statement + "%"],
        )
        return [pid for (pid,) in cursor.fetchall()]


@contextlib.contextmanager
def slow_inserts(table: str, seconds: float):
    """Each INSERT statement into `table` takes `seconds` more, inside its transaction: a
    real statement of a real database, slow enough to kill its client in the middle."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE OR REPLACE FUNCTION fault_pause() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_sleep(TG_ARGV[0]::float); RETURN NULL; END $$"
        )
        cursor.execute(f"DROP TRIGGER IF EXISTS fault_pause ON {table}")
        cursor.execute(
            f"CREATE TRIGGER fault_pause AFTER INSERT ON {table} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION fault_pause('{float(seconds)}')"
        )
    try:
        yield
    finally:
        # Outlives the test database's flush otherwise. Waits for a paused statement to end;
        # a connection of its own, should this thread's be broken.
        remover = connection.copy()
        try:
            with remover.cursor() as cursor:
                cursor.execute(f"DROP TRIGGER IF EXISTS fault_pause ON {table}")
                cursor.execute("DROP FUNCTION IF EXISTS fault_pause()")
        finally:
            remover.close()
