"""Template helpers of the request pages: durations, countdowns, timeline sentences, the
unread-notifications badge."""

import datetime

from django import template
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html

from departments.choices import Priority

from ..choices import ClockKind, ClockState, EventKind, Status
from ..models import reference_for
from ..selectors import unread_count

register = template.Library()

STATUS_LABELS = dict(Status.choices)
PRIORITY_LABELS = dict(Priority.choices)
CLOCK_LABELS = {kind: label.lower() for kind, label in ClockKind.choices}


def duration_text(seconds) -> str:
    """3 h 20 min, 45 min, 2 h: the shape of business durations and countdowns."""
    seconds = abs(int(seconds or 0))
    hours, minutes = seconds // 3600, (seconds % 3600) // 60
    if hours and minutes:
        return f"{hours} h {minutes} min"
    if hours:
        return f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return "less than a minute" if seconds else "0 min"


@register.filter
def business_duration(seconds) -> str:
    return duration_text(seconds)


def _wall_duration(seconds: int) -> str:
    # Countdowns past a day read better in days: "in 2 d 3 h" (wall-clock time).
    seconds = abs(int(seconds))
    days = seconds // 86400
    if days:
        hours = (seconds % 86400) // 3600
        return f"{days} d {hours} h" if hours else f"{days} d"
    return duration_text(seconds)


@register.filter
def countdown(due: datetime.datetime | None) -> str:
    """Wall-clock time to `due` as of now; static/js/requests.js keeps it current."""
    if due is None:
        return ""
    left = (due - timezone.now()).total_seconds()
    if left >= 0:
        return f"in {_wall_duration(left)}"
    return f"{_wall_duration(left)} overdue"


@register.filter
def is_overdue(due: datetime.datetime | None) -> bool:
    return due is not None and due < timezone.now()


@register.filter
def sla_class(clock) -> str:
    """The colour of a live clock: running, warning, paused, met, breached or stopped."""
    if clock is None:
        return "none"
    if clock.state == ClockState.RUNNING and clock.warned_at is not None:
        return "warning"
    return clock.state


SLA_LABELS = {
    "running": "On track",
    "warning": "Due soon",
    "paused": "Paused",
    "met": "Met",
    "breached": "Breached",
    "stopped": "Stopped",
    "none": "No SLA",
}


@register.filter
def sla_label(state: str) -> str:
    return SLA_LABELS.get(state, state)


@register.filter
def clock_label(kind: str) -> str:
    return dict(ClockKind.choices).get(kind, kind)


@register.filter
def person(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


@register.simple_tag(takes_context=True)
def unread_notification_count(context) -> int:
    """One COUNT query, for the badge in the navigation bar."""
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return 0
    return unread_count(user=user)


# --- timeline sentences -------------------------------------------------------------------


def _actor(event) -> str:
    return person(event.actor) if event.actor_id else "servicedesk"


def _when(value: str | None) -> str:
    moment = parse_datetime(value) if value else None
    if moment is None:
        return ""
    return formats.date_format(timezone.localtime(moment), "D j M Y, H:i")


def _request_ref(pk, lookups) -> str:
    """A reference, linked when the viewer may open it."""
    if pk is None:
        return "another request"
    reference = reference_for(int(pk))
    if int(pk) in lookups.get("visible", ()):
        return format_html('<a href="{}">{}</a>', reverse("requests:detail", args=[pk]), reference)
    return reference


@register.simple_tag
def event_sentence(event, lookups=None) -> str:
    """What happened, as a sentence: "Anna Agent changed status from New to In progress"."""
    lookups = lookups or {}
    data = event.data or {}
    who = _actor(event)
    users = lookups.get("users", {})
    departments = lookups.get("departments", {})
    kind = event.kind
    if kind == EventKind.CREATED:
        return format_html(
            "{} filed the request ({} priority{})",
            who,
            PRIORITY_LABELS.get(data.get("priority"), data.get("priority", "")).lower(),
            ", confidential" if data.get("confidential") else "",
        )
    if kind == EventKind.COMMENTED:
        return format_html("{} replied", who)
    if kind == EventKind.NOTE_ADDED:
        return format_html("{} added an internal note", who)
    if kind == EventKind.ACKNOWLEDGED:
        return format_html("{} acknowledged the request", who)
    if kind == EventKind.ASSIGNED:
        to, before = data.get("to"), data.get("from")
        if to is None:
            return format_html("{} unassigned {}", who, users.get(before, before) or "it")
        if event.actor and event.actor.username == to:
            return format_html("{} took the request", who)
        return format_html("{} assigned the request to {}", who, users.get(to, to))
    if kind == EventKind.STATUS_CHANGED:
        sentence = format_html(
            "{} changed status from {} to {}",
            who,
            STATUS_LABELS.get(data.get("from"), data.get("from")),
            STATUS_LABELS.get(data.get("to"), data.get("to")),
        )
        if data.get("auto") == "reply":
            sentence = format_html("{} by replying", sentence)
        return sentence
    if kind == EventKind.PRIORITY_CHANGED:
        return format_html(
            "{} changed priority from {} to {}",
            who,
            PRIORITY_LABELS.get(data.get("from"), data.get("from")),
            PRIORITY_LABELS.get(data.get("to"), data.get("to")),
        )
    if kind == EventKind.PROMISED:
        return format_html("{} promised a resolution by {}", who, _when(data.get("to")))
    if kind == EventKind.TRANSFERRED:
        return format_html(
            "{} transferred the request from {} to {} ({} → {})",
            who,
            departments.get(data.get("from_id"), data.get("from")),
            departments.get(data.get("to_id"), data.get("to")),
            data.get("service_from", ""),
            data.get("service_to", ""),
        )
    if kind == EventKind.BLOCKED:
        return format_html(
            "{} marked the request as blocked by {}",
            who,
            _request_ref(data.get("blocked_by"), lookups),
        )
    if kind == EventKind.UNBLOCKED:
        blocker = _request_ref(data.get("blocked_by"), lookups)
        reason = data.get("reason")
        if reason == "removed":
            return format_html("{} removed the block by {}", who, blocker)
        return format_html(
            "No longer blocked: {} is {}",
            blocker,
            STATUS_LABELS.get(reason, reason or "done").lower(),
        )
    if kind == EventKind.ATTACHED:
        return format_html("{} attached {}", who, data.get("name", "a file"))
    if kind == EventKind.SLA_WARNING:
        return format_html(
            "SLA warning: {} due {}",
            CLOCK_LABELS.get(data.get("clock"), data.get("clock")),
            _when(data.get("due_at")),
        )
    if kind == EventKind.SLA_BREACHED:
        return format_html(
            "SLA breached: {}", CLOCK_LABELS.get(data.get("clock"), data.get("clock"))
        )
    return format_html("{}: {}", who, event.get_kind_display())
