"""Shared by the request pages: lookups through the visibility gate, form errors, the 403 page."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import render
from django_htmx.http import HttpResponseClientRefresh

from ..choices import ClockKind
from ..live import current_clocks, sla_summary
from ..selectors import (
    request_list,
    requests_visible_to,
)


def visible_or_404(user, pk):
    request = requests_visible_to(user).filter(pk=pk).first()
    if request is None:
        raise Http404("No such request.")
    return request


def listed_or_404(user, pk):
    """The request with what its page shows (people, departments, clocks), if visible."""
    request = request_list(user=user).filter(pk=pk).first()
    if request is None:
        raise Http404("No such request.")
    return request


def with_live_clocks(rows, *, now) -> list:
    """Each row gets its clocks as of now and its overall SLA state, from the prefetch."""
    for row in rows:
        row.live_clocks = current_clocks(row, now=now)
        row.sla_state, row.sla_clock = sla_summary(row.live_clocks)
        row.resolution_clock = row.live_clocks.get(ClockKind.RESOLUTION)
    return rows


def errors_onto(form, exc: ValidationError, *, request=None, aliases=None) -> None:
    """A service's errors: beside the form's fields, the rest as messages (or form-wide)."""
    aliases = aliases or {}
    errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for field, field_errors in errors.items():
        name = aliases.get(field, field)
        if name in form.fields:
            form.add_error(name, field_errors)
        elif request is not None:
            for error in field_errors:
                messages.error(request, error)
        else:
            form.add_error(None, field_errors)


def forbidden(request, exc: PermissionDenied):
    reason = str(exc) or "You may not do this."
    if request.htmx:
        # htmx does not swap a 403: reload the page, which shows the message.
        messages.error(request, reason)
        return HttpResponseClientRefresh()
    return render(request, "requests/forbidden.html", {"reason": reason}, status=403)


def person_name(user) -> str:
    return (user.get_full_name() or user.username) if user else "nobody"
