"""The request page (clocks, timeline, files, requester history, what the viewer may do)
and its attachments."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from core.htmx import htmx_render
from core.keyset import Cursor, page_before
from departments.models import Department, Membership

from .. import signals
from ..choices import ClockKind, EventKind, Status
from ..forms import (
    AssignForm,
    AttachForm,
    BlockForm,
    CommentForm,
    PriorityForm,
    PromiseForm,
    TransferForm,
    TransitionForm,
)
from ..live import current_clocks
from ..models import Notification, RequestLink, ServiceRequest
from ..notifications import notifications_mark_read
from ..selectors import (
    attachments_visible_to,
    clock_bases,
    comments_visible_to,
    is_provider_staff,
    provider_staff,
    requester_history,
    requests_visible_to,
    timeline_for,
)
from ..templatetags.request_extras import timeline_entries
from ..workflow import (
    ACTION_ACTORS,
    actions_allowed,
    manages_department,
    reopen_until,
)
from .common import listed_or_404, person_name, visible_or_404

# --- attachments ---------------------------------------------------------------------------


@login_required
def attachment_download(request, pk, attachment_pk):
    """Files only through here: visibility checked, always sent as a download."""
    service_request = visible_or_404(request.user, pk)
    attachment = (
        attachments_visible_to(user=request.user, request=service_request)
        .filter(pk=attachment_pk)
        .first()
    )
    if attachment is None:
        raise Http404("No such file.")
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- the request page ----------------------------------------------------------------------


# The page's buttons for the workflow's actions (a reply is "comment", an internal one "note").
PAGE_BUTTONS = {"reply": "comment", "internal": "note"}


def _can(user, service_request, *, is_staff: bool, now) -> dict:
    """Which buttons and forms the page shows: exactly the actions the workflow allows the
    viewer (`workflow.actions_allowed`, which the API lists as `allowed_actions`)."""
    is_requester = service_request.requester_id == user.pk
    allowed = set(
        actions_allowed(
            service_request,
            is_requester=is_requester,
            is_provider_staff=is_staff,
            is_customer_manager=manages_department(user, service_request.requesting_department_id),
            now=now,
        )
    )
    can = {action: action in allowed for action in ACTION_ACTORS}
    can.update({button: action in allowed for button, action in PAGE_BUTTONS.items()})
    can["assign_me"] = can["assign"] and service_request.assignee_id != user.pk
    # The requester's reply resumes a request waiting on them (services.request_comment_add).
    can["resume_by_reply"] = (
        can["reply"] and is_requester and service_request.status == Status.WAITING_ON_REQUESTER
    )
    can["act"] = bool(allowed - {"comment", "note", "attach", "unblock"})
    can["reopen_until"] = reopen_until(service_request) if can["reopen"] else None
    return can


# The request page shows the latest entries of its timeline, a page of this many events;
# "Show earlier" fetches the page before (request_timeline, or ?before= without script). A
# request of two hundred replies is drawn in the time of one of twenty, with the queries of
# one of ten. Twenty, not fifty: the cost above a page of one description is about
# proportional to it, and with fifty of the longest replies (70 kB of HTML each) the page
# took 1.7 times one of one description, past its 50 ms (issue 16; bench/render.py). A
# reply's files are shown with it: their events take a place and draw nothing.
TIMELINE_PAGE_SIZE = 20


def _timeline(user, service_request, *, before: Cursor | None = None) -> tuple[list, dict, str]:
    """A page of the viewer's timeline, the events just before `before` (None: the latest)
    with their replies and files merged in, oldest first; the names its sentences need; and
    the cursor of the page before it ("" when this is the first). A fixed number of
    queries, whatever the number of replies: the page's events, then its replies and its
    files by id, through the same selectors as ever."""
    events, earlier = page_before(
        timeline_for(user=user, request=service_request), before, size=TIMELINE_PAGE_SIZE
    )
    comment_ids = {
        event.data.get("comment")
        for event in events
        if event.kind in (EventKind.COMMENTED, EventKind.NOTE_ADDED) and event.data
    } - {None}
    attachment_ids = {
        event.data.get("attachment")
        for event in events
        if event.kind == EventKind.ATTACHED and event.data
    } - {None}
    # The page shows each reply's stored HTML, not its Markdown: that stays in the database.
    comments = (
        {
            c.pk: c
            for c in comments_visible_to(user=user, request=service_request)
            .filter(pk__in=comment_ids)
            .defer("body")
        }
        if comment_ids
        else {}
    )
    attachment_by_pk = (
        {
            a.pk: a
            for a in attachments_visible_to(user=user, request=service_request).filter(
                pk__in=attachment_ids
            )
        }
        if attachment_ids
        else {}
    )
    entries = []
    for event in events:
        data = event.data or {}
        if event.kind in (EventKind.COMMENTED, EventKind.NOTE_ADDED):
            comment = comments.get(data.get("comment"))
            if comment is not None:
                entries.append({"event": event, "comment": comment})
        elif event.kind == EventKind.ATTACHED:
            attachment = attachment_by_pk.get(data.get("attachment"))
            if attachment is None or attachment.comment_id is None:
                entries.append({"event": event, "attachment": attachment})
            # A reply's files are shown with the reply.
        else:
            entries.append({"event": event})
    usernames = {
        event.data.get(key)
        for event in events
        if event.kind == EventKind.ASSIGNED
        for key in ("from", "to")
    } - {None}
    department_ids = {
        event.data.get(key)
        for event in events
        if event.kind == EventKind.TRANSFERRED
        for key in ("from_id", "to_id")
    } - {None}
    lookups = {
        "users": {
            u.username: person_name(u)
            for u in get_user_model().objects.filter(username__in=usernames)
        }
        if usernames
        else {},
        "departments": dict(
            Department.objects.filter(pk__in=department_ids).values_list("pk", "name")
        )
        if department_ids
        else {},
        "blocked_refs": {
            event.data.get("blocked_by")
            for event in events
            if event.kind in (EventKind.BLOCKED, EventKind.UNBLOCKED)
        }
        - {None},
    }
    return entries, lookups, str(earlier) if earlier else ""


def _visible_of(user, pks: set[int]) -> set[int]:
    """Which of these requests the viewer may open (links are drawn only to those)."""
    if not pks:
        return set()
    return set(requests_visible_to(user).filter(pk__in=pks).values_list("pk", flat=True))


def timeline_cursor(http_request) -> Cursor | None:
    """The `?before=` of a timeline link; a 400 for one that names no position."""
    try:
        return Cursor.parse(http_request.GET.get("before"))
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def _panels(place: str, http_request, service_request) -> list[dict]:
    """What the apps above add to the page at `place` (signals.request_page_panels)."""
    answers = signals.request_page_panels.send(
        sender=ServiceRequest,
        place=place,
        http_request=http_request,
        service_request=service_request,
        user=http_request.user,
    )
    return [panel for _receiver, panel in answers if panel]


def _detail_context(http_request, service_request, *, bound=None, before=None) -> dict:
    user = http_request.user
    now = timezone.now()
    is_staff = is_provider_staff(user=user, department_id=service_request.provider_department_id)
    can = _can(user, service_request, is_staff=is_staff, now=now)
    clocks = current_clocks(service_request, now=now)
    bases = clock_bases(request=service_request, now=now)
    timeline, lookups, earlier = _timeline(user, service_request, before=before)
    attachments = list(attachments_visible_to(user=user, request=service_request))

    blocked_by = list(
        RequestLink.objects.filter(request=service_request, ended_at__isnull=True).select_related(
            "blocked_by__provider_department"
        )
    )
    blocking = list(
        RequestLink.objects.filter(
            blocked_by=service_request, ended_at__isnull=True
        ).select_related("request__provider_department")
    )
    # Only requests the viewer may open are linked (and named); the rest are described.
    referenced = (
        {link.blocked_by_id for link in blocked_by}
        | {link.request_id for link in blocking}
        | lookups.pop("blocked_refs")
    )
    lookups["visible"] = _visible_of(user, referenced)

    forms = {}
    if can["reply"]:
        forms["reply"] = CommentForm(allow_internal=is_staff)
        forms["attach"] = AttachForm()
    for action in ("wait", "resolve", "reopen"):
        forms[action] = TransitionForm(action=action)
    if is_staff:
        staff = provider_staff(department_id=service_request.provider_department_id)
        forms["assign"] = AssignForm(staff=staff, initial={"assignee": service_request.assignee_id})
        forms["priority"] = PriorityForm(initial={"priority": service_request.priority})
        promised = service_request.promised_day or (
            timezone.localtime(service_request.promised_at).date()
            if service_request.promised_at
            else None
        )
        forms["promise"] = PromiseForm(initial={"promised_at": promised})
        if can["transfer"]:
            forms["transfer"] = TransferForm(request=service_request)
        forms["block"] = BlockForm(user=user)
    forms.update(bound or {})

    requester_membership = Membership.objects.filter(
        user_id=service_request.requester_id,
        department_id=service_request.requesting_department_id,
    ).first()
    return {
        "sr": service_request,
        "is_staff": is_staff,
        "can": can,
        "clocks": [clocks[kind] for kind in ClockKind.values if kind in clocks],
        # Each clock with the basis of its target: which applied, and why it is due then.
        "clock_panels": [
            (clocks[kind], bases.get(kind)) for kind in ClockKind.values if kind in clocks
        ],
        "timeline": timeline,
        "timeline_earlier": earlier,
        # Not the latest entries (?before=, without script): the page links back to them.
        "timeline_before": before is not None,
        "lookups": lookups,
        "attachments": attachments,
        "blocked_by": blocked_by,
        "blocking": blocking,
        "forms": forms,
        "requester_title": requester_membership.title if requester_membership else "",
        "history": requester_history(request=service_request) if is_staff else None,
        "panels": _panels("detail", http_request, service_request),
        "history_panels": _panels("history", http_request, service_request) if is_staff else [],
        "open_forms": {name for name, form in (bound or {}).items() if form.errors},
    }


def render_detail(request, service_request, *, bound=None, before=None):
    """The page (or for htmx its body), its timeline entries put in after the rest.

    A page of long replies is megabytes of HTML, and each template level around it (the
    list, the section, the include, the block, the layout) copies it once more, twice as
    much time as drawing the entries. So the template draws a marker no text can forge (a
    fresh random comment; user text is escaped or sanitised, and nh3 strips comments) and
    the entries, drawn once, replace it in the finished response: one copy."""
    context = _detail_context(request, service_request, bound=bound, before=before)
    slot = mark_safe(f"<!--timeline-{secrets.token_hex(16)}-->")  # nosec B308, B703: our own
    entries = timeline_entries(context["timeline"], service_request.pk, context["lookups"])
    context["timeline_slot"] = slot
    response = htmx_render(
        request, "requests/detail.html", "requests/partials/detail_body.html", context
    )
    response.content = response.content.replace(slot.encode(), entries.encode(response.charset), 1)
    return response


@login_required
@require_GET
def request_detail(request, pk):
    """A request with its clocks, timeline (the latest entries, or with ?before= the ones
    before that position), files and what the viewer may do with it."""
    service_request = listed_or_404(request.user, pk)
    before = timeline_cursor(request)
    # Opening the request reads its notifications.
    notifications_mark_read(
        user=request.user,
        ids=Notification.objects.filter(
            user=request.user, request=service_request, read_at__isnull=True
        ).values("pk"),
    )
    return render_detail(request, service_request, before=before)


@login_required
@require_GET
def request_timeline(request, pk):
    """The timeline entries before `?before=` and the link to those before them: what
    "Show earlier" swaps in. Behind the same gate as the page (404 for a request the viewer
    may not see) and read through the same selectors (internal entries for the provider's
    staff only)."""
    service_request = visible_or_404(request.user, pk)
    before = timeline_cursor(request)
    timeline, lookups, earlier = _timeline(request.user, service_request, before=before)
    lookups["visible"] = _visible_of(request.user, lookups.pop("blocked_refs"))
    return render(
        request,
        "requests/partials/timeline_entries.html",
        {
            "sr": service_request,
            "timeline": timeline,
            "timeline_earlier": earlier,
            "lookups": lookups,
        },
    )
