"""A request id on every response (`X-Request-ID`) and on every log line written meanwhile.

The id comes from the proxy in front when it sends a well-formed `X-Request-ID` (so its
access log and ours share it), otherwise it is made here. Log records get it, and in a
Celery task the task's id and name instead, through `ContextFilter` on the log handler.
"""

import contextvars
import logging
import re
import uuid

from django.core.signals import request_finished
from django.dispatch import receiver

HEADER = "X-Request-ID"
# Anything else (too long, spaces, quotes, newlines) could forge or break a log line.
ACCEPTED_ID = re.compile(r"[A-Za-z0-9._-]{8,128}")

_current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)


def current_request_id() -> str | None:
    """The id of the request being served in this context, if any."""
    return _current_request_id.get()


class RequestIdMiddleware:
    """Take or make the request's id, expose it as `request.id` and answer with it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(HEADER, "")
        request.id = incoming if ACCEPTED_ID.fullmatch(incoming) else uuid.uuid4().hex
        # Kept until the response is closed (below), not just while the view runs: Django
        # logs a 4xx/5xx response, and gunicorn its access line, after the middleware.
        _current_request_id.set(request.id)
        response = self.get_response(request)
        response[HEADER] = request.id
        return response


@receiver(request_finished)
def _forget_request_id(**kwargs):
    _current_request_id.set(None)


class ContextFilter(logging.Filter):
    """Adds `request_id`, and `task_id` and `task_name` inside a Celery task, to a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current_request_id.get()
        task = _current_task()
        if task is not None:
            record.task_id = task.request.id
            record.task_name = task.name
        return True


def _current_task():
    # Imported late: this module is loaded while logging is configured, before Celery is.
    from celery import current_task

    if current_task and current_task.request.id:
        return current_task
    return None
