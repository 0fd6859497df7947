"""The Celery settings that make a lost worker or a lost message harmless, checked.

With acks_late on Redis a message is handed to another worker when it has not been
acknowledged within the broker's visibility timeout. So every task must finish, and every
countdown or ETA must fall, well within it; otherwise a task runs twice at once. And a task
whose pool process dies must be retried a bounded number of times, not requeued for ever.
"""

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest
from celery.schedules import crontab
from django.apps import apps
from django.conf import settings

from servicedesk.celery import app as celery_app

PROJECT_PACKAGES = (
    "servicedesk",
    "departments",
    "requests_app",
    "surveys",
    "reviews",
    "scorecards",
)
# A bounded number of attempts: max_retries=None would retry for ever.
MOST_RETRIES = 10


@pytest.fixture(scope="module")
def visibility_timeout(redis_settings) -> float:
    return redis_settings["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"]


def project_tasks() -> dict:
    """servicedesk's registered tasks: those of every installed app's tasks.py
    (autodiscover_tasks()) and of the modules in CELERY_IMPORTS, as a worker loads them."""
    modules = [
        f"{config.name}.tasks"
        for config in apps.get_app_configs()
        if config.name.split(".")[0] in PROJECT_PACKAGES
    ]
    for module in [*celery_app.conf.imports, *modules]:
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)
    tasks = {
        name: task
        for name, task in celery_app.tasks.items()
        if name.split(".")[0] in PROJECT_PACKAGES
    }
    assert len(tasks) >= 9  # a broken import must not make this module pass on nothing
    return tasks


@pytest.mark.parametrize("name", sorted(project_tasks()))
def test_it_acknowledges_every_task_late_and_bounds_its_retries(name):
    task = celery_app.tasks[name]

    assert task.acks_late is True
    assert task.retry_on_worker_lost is True, "a lost pool process retries, bounded"
    assert task.reject_on_worker_lost is True, "the fallback when the retry cannot be sent"
    assert task.max_retries is not None
    assert 0 < task.max_retries <= MOST_RETRIES
    # A task that failed or overran its time limit would again: not redelivered.
    assert task.acks_on_failure is True
    assert task.acks_on_timeout is True


@pytest.mark.parametrize("name", sorted(project_tasks()))
def test_it_keeps_every_task_and_retry_within_the_visibility_timeout(name, visibility_timeout):
    task = celery_app.tasks[name]

    time_limit = task.time_limit or celery_app.conf.task_time_limit
    assert time_limit is not None, "an unbounded task would be handed to a second worker"
    assert time_limit < visibility_timeout
    assert task.default_retry_delay < visibility_timeout
    if getattr(task, "autoretry_for", ()):
        assert getattr(task, "retry_backoff", False), "back off, or every retry comes at once"
        assert hasattr(task, "retry_backoff_max"), "say how long the longest wait is"
        assert task.retry_backoff_max < visibility_timeout
        assert task.max_retries is not None
    countdown = getattr(task, "retry_kwargs", {}).get("countdown", 0)
    assert countdown < visibility_timeout


def test_it_acknowledges_late_and_prefetches_one_in_production(redis_settings):
    assert redis_settings["CELERY_TASK_ACKS_LATE"] is True
    assert redis_settings["CELERY_TASK_REJECT_ON_WORKER_LOST"] is True
    assert redis_settings["CELERY_TASK_RETRY_ON_WORKER_LOST"] is True
    assert redis_settings["CELERY_TASK_ACKS_ON_FAILURE"] is True
    assert redis_settings["CELERY_TASK_ACKS_ON_TIMEOUT"] is True
    # A message a busy worker prefetched waits unacknowledged, its visibility timeout running.
    assert redis_settings["CELERY_WORKER_PREFETCH_MULTIPLIER"] == 1
    assert (
        redis_settings["CELERY_TASK_TIME_LIMIT"]
        < redis_settings["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"]
    )
    assert redis_settings["CELERY_TASK_SOFT_TIME_LIMIT"] < redis_settings["CELERY_TASK_TIME_LIMIT"]


def beat_entries():
    return sorted(settings.CELERY_BEAT_SCHEDULE.items())


@pytest.mark.parametrize(("name", "entry"), beat_entries())
def test_it_schedules_only_registered_tasks_without_overlapping_runs(
    name, entry, visibility_timeout
):
    tasks = project_tasks()
    options = entry.get("options", {})

    assert entry["task"] in tasks, f"{name}: no task {entry['task']!r}"
    assert "eta" not in options
    assert options.get("countdown", 0) < visibility_timeout
    if isinstance(entry["schedule"], crontab):
        return
    # A run that could not start before the next is due is dropped, not piled up.
    assert 0 < options.get("expires", 0) < entry["schedule"], name


def delayed_sends() -> list[tuple[str, int, str, ast.expr]]:
    """Every `countdown=`/`eta=` passed to a call in the project's code: (file, line, which,
    value)."""
    found = []
    for package in PROJECT_PACKAGES:
        for path in sorted((settings.BASE_DIR / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                for keyword in node.keywords:
                    if keyword.arg in ("countdown", "eta"):
                        where = str(Path(path).relative_to(settings.BASE_DIR))
                        found.append((where, node.lineno, keyword.arg, keyword.value))
    return found


def test_it_sends_no_task_for_later_than_the_visibility_timeout(visibility_timeout):
    for where, line, which, value in delayed_sends():
        # A countdown must be a number this test can read; an ETA is not checkable here.
        assert which == "countdown", f"{where}:{line}: an ETA; use a countdown"
        assert isinstance(value, ast.Constant), f"{where}:{line}: a countdown not a number"
        assert value.value < visibility_timeout, f"{where}:{line}: countdown {value.value}"


def test_it_finds_countdowns_in_code(tmp_path, monkeypatch, visibility_timeout):
    """The walk above would pass on nothing: it must see a countdown where there is one."""
    package = tmp_path / "servicedesk"
    package.mkdir()
    (package / "late.py").write_text("task.apply_async(countdown=7200)\n")
    monkeypatch.setattr(settings, "BASE_DIR", tmp_path)

    [(where, line, which, value)] = delayed_sends()

    assert (where, line, which, value.value) == ("servicedesk/late.py", 1, "countdown", 7200)
    with pytest.raises(AssertionError, match="countdown 7200"):
        test_it_sends_no_task_for_later_than_the_visibility_timeout(visibility_timeout)
