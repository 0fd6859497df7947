"""Template helpers of the request pages: durations, countdowns, timeline sentences, the
unread-notifications badge."""

import datetime
import functools
from typing import NamedTuple

from django import template
from django.template.defaultfilters import filesizeformat
from django.urls import get_script_prefix, reverse
from django.utils import dateformat, dates, formats, timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from core.html import html_format
from departments import describe
from departments.choices import Priority

from ..choices import ClockKind, ClockState, EventKind, Status
from ..live import sla_class
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
def business_duration(seconds, day_seconds=None) -> str:
    """Business seconds in words ("4 business hours"; in business days with the calendar's
    `day_seconds`): departments.describe.business_duration, the one way pages say them."""
    return describe.business_duration(seconds, day_seconds=day_seconds or None)


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


register.filter("sla_class", sla_class)


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


# The date filter's codes that list cells use, without the cost of its general parser
# (a tenth of a millisecond a date, a few hundred dates a page); the same translated names,
# translated once per language instead of once per date.
_DATE_CODES = {
    "D": lambda d, names: names.weekdays[d.weekday()],
    "j": lambda d, names: str(d.day),
    "M": lambda d, names: names.months[d.month],
    "Y": lambda d, names: str(d.year),
    "H": lambda d, names: f"{d.hour:02d}",
    "i": lambda d, names: f"{d.minute:02d}",
}
_DATE_LITERALS = frozenset(" ,:-")


class _DateNames(NamedTuple):
    weekdays: tuple[str, ...]
    months: dict[int, str]


@functools.lru_cache(maxsize=16)
def _date_names(language: str | None) -> _DateNames:
    with translation.override(language):
        return _DateNames(
            tuple(str(dates.WEEKDAYS_ABBR[day]) for day in range(7)),
            {month: str(name).title() for month, name in dates.MONTHS_3.items()},
        )


@functools.lru_cache(maxsize=32)
def _date_parts(date_format: str) -> tuple | None:
    """The format as (code or literal) parts, or None when it needs the general parser."""
    if set(date_format) - set(_DATE_CODES) - _DATE_LITERALS:
        return None
    return tuple(_DATE_CODES.get(char, char) for char in date_format)


def _local_text(local: datetime.datetime, date_format: str) -> str:
    parts = _date_parts(date_format)
    if parts is None:
        return dateformat.format(local, date_format)
    names = _date_names(translation.get_language())
    return "".join(part if isinstance(part, str) else part(local, names) for part in parts)


def local_date(value: datetime.datetime, date_format: str) -> str:
    """`value|date:date_format` in the current timezone, for the codes D j M Y H i."""
    return _local_text(timezone.localtime(value), date_format)


# The cells below are drawn once per row of the queue and of "my requests": as tags rather
# than included templates, which cost several times more to render, fifty times a page, and
# with `html_format` rather than format_html (see servicedesk/html.py).


def _time_tag(value: datetime.datetime, text_format: str, title_format: str = "") -> str:
    local = timezone.localtime(value)
    title = html_format(' title="{}"', _local_text(local, title_format)) if title_format else ""
    return html_format(
        '<time datetime="{}"{}>{}</time>', local.isoformat(), title, _local_text(local, text_format)
    )


@register.simple_tag
def time_tag(value, text_format: str, title_format: str = "") -> str:
    """`<time>` with the ISO instant and the local time in `text_format` (date filter codes)."""
    return _time_tag(value, text_format, title_format) if value else ""


MUTED_DASH = mark_safe('<span class="muted">—</span>')  # nosec B308, B703
MUTED_PAUSED = mark_safe('<span class="muted">Paused</span>')  # nosec B308, B703


@register.simple_tag
def due_cell(clock) -> str:
    """A list's "resolution due" cell: the due time with a live countdown, or why there is
    none (paused, done)."""
    if clock is None:
        return MUTED_DASH
    if clock.state == ClockState.PAUSED:
        return MUTED_PAUSED
    if clock.completed_at:
        return html_format(
            '<span class="muted">Done {}</span>', local_date(clock.completed_at, "j M")
        )
    if clock.due_at is None or clock.state == ClockState.STOPPED:
        return MUTED_DASH
    overdue = " overdue" if is_overdue(clock.due_at) else ""
    return html_format(
        '{}<br><span class="countdown{}" data-due="{}">{}</span>',
        _time_tag(clock.due_at, "D j M, H:i", "D j M Y, H:i"),
        overdue,
        timezone.localtime(clock.due_at).isoformat(),
        countdown(clock.due_at),
    )


@register.simple_tag
def sla_badge(row) -> str:
    """A list row's SLA pill: its worst clock's state, and which clock when it is late."""
    badge = html_format(
        '<span class="pill sla sla-{}">{}</span>', row.sla_state, sla_label(row.sla_state)
    )
    if row.sla_clock and row.sla_state in ("breached", "warning"):
        badge += html_format('<br><small class="muted">{}</small>', clock_label(row.sla_clock))
    return badge


@register.filter
def person(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


# A queue row, cells and all: the template loop cost about half a millisecond a row (forty
# variable lookups and filters), the page's largest cost after the database.
QUEUE_ROW = (
    '<tr class="row-sla-{sla_state}">'
    '<td class="cell-check"><input type="checkbox" name="ids" value="{pk}" form="bulk-assign"'
    ' aria-label="Tick {reference}"></td>'
    '<td class="cell-title"><a href="{url}"><span class="ref">{reference}</span> {title}</a>'
    "{confidential}"
    '<br><small class="muted">{requester} · {requesting_department}</small></td>'
    '<td class="cell-due">{due}</td>'
    "<td>{sla}</td>"
    '<td><span class="pill status status-{status}">{status_label}</span></td>'
    '<td><span class="priority priority-{priority}">{priority_label}</span></td>'
    "<td>{assignee}</td>"
    "<td>{service}</td>"
    "<td>{created}</td>"
    "</tr>"
)
CONFIDENTIAL_PILL = mark_safe(' <span class="pill pill-confidential">Confidential</span>')  # nosec B308, B703
UNASSIGNED = mark_safe('<span class="muted">Unassigned</span>')  # nosec B308, B703


@functools.lru_cache(maxsize=8)
def _detail_url_pattern(script_prefix: str) -> str:
    marker = 918273645  # a request id, to find where ids go in the path
    return reverse("requests:detail", args=[marker]).replace(str(marker), "{}")


def _detail_url(pk: int) -> str:
    """reverse("requests:detail", args=[pk]) at a fraction of its cost, fifty times a page."""
    return _detail_url_pattern(get_script_prefix()).format(int(pk))


@register.simple_tag
def queue_row(row) -> str:
    """A row of the department queue (a `selectors.QueueRow`)."""
    return html_format(
        QUEUE_ROW,
        sla_state=row.sla_state,
        pk=row.pk,
        reference=row.reference,
        url=_detail_url(row.pk),
        title=row.title,
        confidential=CONFIDENTIAL_PILL if row.confidential else "",
        requester=row.requester,
        requesting_department=row.requesting_department,
        due=due_cell(row.resolution_clock),
        sla=sla_badge(row),
        status=row.status,
        status_label=STATUS_LABELS.get(row.status, row.status),
        priority=row.priority,
        priority_label=PRIORITY_LABELS.get(row.priority, row.priority),
        assignee=row.assignee or UNASSIGNED,
        service=row.service,
        created=_time_tag(row.created_at, "j M, H:i"),
    )


BADGE_CAP = 100


@register.simple_tag(takes_context=True)
def unread_notification_count(context) -> int:
    """One COUNT query, for the badge in the navigation bar: up to BADGE_CAP (shown "99+")."""
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return 0
    return unread_count(user=user, cap=BADGE_CAP)


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
        day = parse_date(data["day"]) if data.get("day") else None
        when = formats.date_format(day, "D j M Y") if day else _when(data.get("to"))
        return format_html("{} promised a resolution by {}", who, when)
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
    if kind == EventKind.ESCALATED:
        return _escalated_text(data)
    return format_html("{}: {}", who, event.get_kind_display())


def _escalated_text(data: dict):
    """ "Escalated: resolution, level 2 (4 business hours overdue); notified the
    department's managers; raises the priority to high"."""
    text = format_html(
        "Escalated: {}, level {} ({})",
        CLOCK_LABELS.get(data.get("clock"), data.get("clock")),
        data.get("number"),
        describe.escalation_threshold_text(data.get("threshold"), data.get("value") or 0),
    )
    if data.get("notify"):
        text = format_html(
            "{}; notified {}", text, describe.escalation_audience_text(data["notify"])
        )
    if data.get("action") == "raise_priority":
        text = format_html("{}; raises the priority to {}", text, data.get("raise_to"))
    elif data.get("action") == "assign":
        text = format_html("{}; assigns it", text)
    return text


# --- timeline entries -----------------------------------------------------------------------
# As tags, like the queue's rows: a page draws up to views.detail.TIMELINE_PAGE_SIZE entries,
# and the template loop with its date filters cost about a tenth of a millisecond an entry
# more than the entry itself.

TIMELINE_COMMENT = (
    '<li class="timeline-comment{internal}">'
    '<div class="comment-head"><strong>{author}</strong>{pill} '
    '<time class="muted" datetime="{iso}">{when}</time></div>'
    '<div class="markdown">{body}</div>{files}</li>'
)
TIMELINE_EVENT = (
    '<li class="timeline-event kind-{kind}{internal}"><span>{sentence}{download}</span> '
    '<time class="muted" datetime="{iso}">{when}</time></li>'
)
INTERNAL_PILL = mark_safe(' <span class="pill pill-internal">Internal note</span>')  # nosec B308, B703
TIMELINE_WHEN = "D j M Y, H:i"


def _attachment_url(request_pk: int, attachment_pk: int) -> str:
    return reverse("requests:attachment", args=[request_pk, attachment_pk])


@register.simple_tag
def timeline_entries(entries: list, request_pk: int, lookups=None) -> str:
    """The entries of a timeline page, joined once: a page of long replies is megabytes of
    HTML, which each template loop and include around it would copy again."""
    return mark_safe("".join(timeline_entry(entry, request_pk, lookups) for entry in entries))  # nosec B308, B703: each entry is escaped


def timeline_entry(entry: dict, request_pk: int, lookups=None) -> str:
    """One entry of the timeline (views.detail._timeline): a reply with its files, or an
    event's sentence with, for a file attached alone, its download link."""
    if "comment" in entry:
        comment = entry["comment"]
        local = timezone.localtime(comment.created_at)
        files = comment.attachments.all()
        listed = "".join(
            html_format(
                '<li><a href="{}">{}</a> <small class="muted">{}</small></li>',
                _attachment_url(request_pk, attachment.pk),
                attachment.original_name,
                filesizeformat(attachment.size),
            )
            for attachment in files
        )
        return html_format(
            TIMELINE_COMMENT,
            internal=" internal" if comment.internal else "",
            author=person(comment.author),
            pill=INTERNAL_PILL if comment.internal else "",
            iso=local.isoformat(),
            when=_local_text(local, TIMELINE_WHEN),
            body=comment.body_markup,
            files=mark_safe(f'<ul class="links attachments">{listed}</ul>') if files else "",  # nosec B308, B703: each item escaped
        )
    event, attachment = entry["event"], entry.get("attachment")
    local = timezone.localtime(event.created_at)
    download = (
        html_format(' · <a href="{}">download</a>', _attachment_url(request_pk, attachment.pk))
        if attachment is not None
        else ""
    )
    return html_format(
        TIMELINE_EVENT,
        kind=event.kind,
        internal=" internal" if event.internal else "",
        sentence=event_sentence(event, lookups),
        download=download,
        iso=local.isoformat(),
        when=_local_text(local, TIMELINE_WHEN),
    )
