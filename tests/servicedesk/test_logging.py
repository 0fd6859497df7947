"""Logs: JSON lines in production (web, gunicorn, Celery), a request id on every response."""

import json
import re

import pytest

from servicedesk.request_id import HEADER
from tests.servicedesk.test_settings import production, run

# The keys every JSON log line has; `task_id` and `task_name` are added inside a Celery task.
LINE_KEYS = {"time", "level", "logger", "message", "request_id"}


def json_lines(stderr: str) -> list[dict]:
    """The JSON log lines among a process's stderr lines (a crash prints a traceback)."""
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_it_logs_json_lines_with_the_expected_keys():
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('requests_app.scanner').warning("
        "'%s clocks breached', 3, extra={'department': 'it'})"
    )

    result = run("-c", code, LOG_FORMAT="json")

    assert result.returncode == 0, result.stderr
    (line,) = json_lines(result.stderr)
    assert set(line) == LINE_KEYS | {"department"}
    assert line["level"] == "WARNING"
    assert line["logger"] == "requests_app.scanner"
    assert line["message"] == "3 clocks breached"
    assert line["department"] == "it"
    assert line["request_id"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", line["time"])


def test_it_logs_an_exception_with_its_traceback():
    code = (
        "import django, logging; django.setup()\n"
        "try:\n    1 / 0\n"
        "except ZeroDivisionError:\n    logging.getLogger('servicedesk').exception('failed')\n"
    )

    result = run("-c", code, LOG_FORMAT="json")

    (line,) = json_lines(result.stderr)
    assert line["message"] == "failed"
    assert line["exc_info"].startswith("Traceback (most recent call last):")
    assert "ZeroDivisionError: division by zero" in line["exc_info"]


def test_it_logs_json_by_default_in_production_and_plain_text_in_development():
    code = "from django.conf import settings; print(settings.LOG_FORMAT)"

    assert run("-c", code, **production()).stdout.strip() == "json"
    assert run("-c", code).stdout.strip() == "plain"
    assert run("-c", code, **production(LOG_FORMAT="plain")).stdout.strip() == "plain"


def test_it_logs_plain_text_in_development():
    code = "import django, logging; django.setup(); logging.getLogger('x').warning('hello')"

    result = run("-c", code)

    assert result.returncode == 0, result.stderr
    assert re.search(r"^\S+ \S+ WARNING x hello$", result.stderr, re.MULTILINE)
    assert json_lines(result.stderr) == []


def test_it_refuses_an_unknown_log_format():
    result = run("manage.py", "check", LOG_FORMAT="xml")

    assert result.returncode != 0
    assert "ImproperlyConfigured: LOG_FORMAT='xml' is neither 'json' nor 'plain'." in result.stderr


def test_it_logs_the_request_id_with_the_lines_of_a_request():
    # A 404 is logged by Django after the middleware has returned, so this is the hard case.
    code = (
        "import django; django.setup(); from django.test import Client; "
        "response = Client().get('/no-such-page/'); "
        f"print(response['{HEADER}'])"
    )

    result = run("-c", code, LOG_FORMAT="json", ALLOWED_HOSTS="testserver")

    assert result.returncode == 0, result.stderr
    request_id = result.stdout.strip()
    (not_found,) = [
        line for line in json_lines(result.stderr) if line["logger"] == "django.request"
    ]
    assert not_found["message"] == "Not Found: /no-such-page/"
    assert not_found["request_id"] == request_id


def test_it_logs_celery_lines_as_json_with_the_task():
    # With our setup_logging receiver Celery keeps Django's handler instead of its own.
    code = (
        "import logging\n"
        "from servicedesk.celery import app\n"
        "app.log.setup(loglevel='INFO')\n"
        "logging.getLogger('celery.worker').info('worker ready')\n"
        "@app.task(name='probe.log_something')\n"
        "def log_something():\n"
        "    logging.getLogger('celery.task').info('inside')\n"
        "log_something.apply(task_id='task-1234')\n"
    )

    result = run("-c", code, LOG_FORMAT="json")

    assert result.returncode == 0, result.stderr
    lines = {line["message"]: line for line in json_lines(result.stderr)}
    assert lines["worker ready"]["logger"] == "celery.worker"
    assert set(lines["worker ready"]) == LINE_KEYS
    assert lines["inside"]["task_id"] == "task-1234"
    assert lines["inside"]["task_name"] == "probe.log_something"


def test_it_logs_gunicorn_lines_through_the_same_handler():
    code = (
        "import logging.config, runpy\n"
        "config = runpy.run_path('gunicorn.conf.py')\n"
        "logging.config.dictConfig(config['logconfig_dict'])\n"
        "logging.getLogger('gunicorn.error').info('Booting worker')\n"
        "print(config['access_log_format'])\n"
    )

    result = run("-c", code, LOG_FORMAT="json")

    assert result.returncode == 0, result.stderr
    (line,) = json_lines(result.stderr)
    assert line["logger"] == "gunicorn.error"
    assert line["message"] == "Booting worker"
    assert "%({x-request-id}o)s" in result.stdout


def test_it_answers_with_a_request_id(client, db):
    first = client.get("/login/")
    second = client.get("/login/")

    assert re.fullmatch(r"[0-9a-f]{32}", first[HEADER])
    assert first[HEADER] != second[HEADER]


def test_it_keeps_the_request_id_the_proxy_sent(client, db):
    response = client.get("/login/", HTTP_X_REQUEST_ID="lb-2f6c1a9e-0001")

    assert response[HEADER] == "lb-2f6c1a9e-0001"


@pytest.mark.parametrize("sent", ["short", "has spaces in it", 'quote"d-id-123', "x" * 129])
def test_it_replaces_a_request_id_that_could_forge_a_log_line(client, db, sent):
    response = client.get("/login/", HTTP_X_REQUEST_ID=sent)

    assert re.fullmatch(r"[0-9a-f]{32}", response[HEADER])
