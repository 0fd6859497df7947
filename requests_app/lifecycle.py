"""Each action on a request, written once: what it checks, in which order, what it changes,
which events it writes with which data, and whom it notifies with which message and key.

An action runs against a `Store`, which knows the facts it asks for (who works where, the
targets of a service, the open blocked-by links) and makes the changes it orders. Two stores
exist: the database (services.py, under the request's row lock, for every page, API call,
command and task) and the demo's replay in memory (FastReplay in requests_app/demo/replay.py,
which writes months of history in bulk). Both run these same steps, so the demo is by
construction what the app would have written; tests/requests_app/test_demo.py holds them
equal row for row, refusals and messages included.

The rules an action applies (who may, what the request's state and the input refuse) are in
workflow.py, and so is the scanner's warning and breach decision (workflow.clock_crossing).
"""

from __future__ import annotations

import datetime
import zoneinfo
from typing import Protocol

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from core.markdown import render_markdown

from . import workflow
from .choices import OPEN_STATUSES, EventKind, NotificationKind, Status
from .selectors import targets_by_kind
from .workflow import TRANSITIONS


class Store(Protocol):
    """What an action needs of where requests live. `request` is a ServiceRequest (the
    database's, locked; or the replay's row in memory)."""

    # --- facts
    def is_staff(self, user, request) -> bool: ...
    def manages(self, user, department_id: int) -> bool: ...
    def staff(self, department_id: int, *, agents_only: bool) -> list: ...
    def target_for(self, request, priority: str): ...
    def transfer_services(self, department) -> list: ...
    def sees(self, user, request) -> bool: ...
    def blockers_of(self, pks: set[int]) -> set[int]: ...
    def open_link(self, request, blocker): ...
    def links_blocked_by(self, blocker) -> list: ...
    def links_of(self, request) -> list: ...

    # --- changes
    def create(self, **fields): ...
    def save(self, request, *, fields: list[str], now) -> None: ...
    def event(self, request, *, actor, kind, now, data=None, internal=False) -> None: ...
    def notify(self, request, *, users, kind, message, dedupe_key, now, exclude=()) -> None: ...
    def comment(self, request, *, author, body, body_html, internal, now): ...
    def attach(self, request, *, files, uploaded_by, now, comment=None) -> list: ...
    def wait_start(self, request, *, now) -> None: ...
    def wait_end(self, request, *, now) -> None: ...
    def link_create(self, request, blocker, *, actor, now): ...
    def link_end(self, link, *, now) -> None: ...
    def clocks_start(self, request, *, department, now) -> None: ...
    def clocks_retarget(self, request, *, applied) -> None: ...
    def clocks_retire(self, request) -> None: ...
    def recompute(self, request, *, now) -> None: ...
    def resolved(self, request) -> None: ...


def authorize(store: Store, request, actor, action: str) -> None:
    """PermissionDenied unless `actor` may take `action` (workflow.actor_refusal)."""
    refusal = workflow.actor_refusal(
        action,
        is_requester=actor is not None and actor.pk == request.requester_id,
        is_provider_staff=actor is not None and store.is_staff(actor, request),
        is_customer_manager=actor is not None
        and store.manages(actor, request.requesting_department_id),
    )
    if refusal is not None:
        raise PermissionDenied(refusal)


def _assignee_or_agents(store: Store, request) -> list:
    if request.assignee_id:
        return [request.assignee]
    return store.staff(request.provider_department_id, agents_only=True)


def _tell_requester(store: Store, request, *, actor, message: str, dedupe_key: str, now) -> None:
    """A status notice to the requester (none when they did it themselves)."""
    store.notify(
        request,
        users=[request.requester],
        exclude=[actor],
        kind=NotificationKind.REQUEST_STATUS,
        message=message,
        dedupe_key=dedupe_key,
        now=now,
    )


def _agents_or_staff(store: Store, department_id: int) -> list:
    return store.staff(department_id, agents_only=True) or store.staff(
        department_id, agents_only=False
    )


# --- filing ----------------------------------------------------------------------------------


def file(
    store: Store,
    *,
    requester,
    requesting_department,
    service,
    priority: str,
    title: str,
    description: str,
    confidential: bool,
    files=(),
    now,
    file_errors=None,
):
    """A new request to the service's department: both clocks start, its agents are told.
    The caller has authorized the requester; bad input is refused here (workflow.file_refusal,
    and `file_errors` judges the files)."""
    errors = (
        workflow.file_refusal(
            service=service, priority=priority, requesting_department=requesting_department
        )
        or {}
    )
    if file_errors is not None:
        errors.update(file_errors(files))
    workflow.refuse(errors or None)
    description = description.strip()
    request = store.create(
        requester=requester,
        requesting_department=requesting_department,
        provider_department=service.department,
        service=service,
        priority=priority,
        title=title.strip(),
        description=description,
        # Rendered once, here: pages show the stored HTML (core.markdown).
        description_html=render_markdown(description),
        confidential=confidential,
        status=Status.NEW,
        created_at=now,
        updated_at=now,
    )
    store.event(
        request,
        actor=requester,
        kind=EventKind.CREATED,
        now=now,
        data=workflow.created_data(
            service_name=service.name, priority=priority, confidential=confidential
        ),
    )
    store.clocks_start(request, department=service.department, now=now)
    store.attach(request, files=files, uploaded_by=requester, now=now)
    store.recompute(request, now=now)
    message, dedupe_key = workflow.filed_notice(
        pk=request.pk,
        priority=priority,
        department_name=requesting_department.name,
        title=request.title,
    )
    store.notify(
        request,
        users=_agents_or_staff(store, service.department_id),
        kind=NotificationKind.REQUEST_FILED,
        message=message,
        dedupe_key=dedupe_key,
        now=now,
    )
    return request


# --- replies ---------------------------------------------------------------------------------


def comment(
    store: Store,
    request,
    *,
    author,
    body: str,
    internal: bool = False,
    files=(),
    now,
    resume_on_reply: bool = True,
    file_errors=None,
):
    """A reply. A provider's public reply is a first response; a requester's reply to a
    request waiting on them resumes it. Internal notes are for the provider only.
    `file_errors` judges the files ({field: message}, attachments.errors_for)."""
    action = "note" if internal else "comment"
    authorize(store, request, author, action)
    workflow.state_check(action, request, now=now)
    body = (body or "").strip()
    errors = workflow.body_refusal(body) or {}
    if file_errors is not None:
        errors.update(file_errors(files))
    workflow.refuse(errors or None)
    by_provider = store.is_staff(author, request)
    reply = store.comment(
        request,
        author=author,
        body=body,
        body_html=render_markdown(body),
        internal=internal,
        now=now,
    )
    store.event(
        request,
        actor=author,
        kind=EventKind.NOTE_ADDED if internal else EventKind.COMMENTED,
        now=now,
        data=workflow.comment_data(reply.pk, by_provider=by_provider),
        internal=internal,
    )
    store.attach(request, files=files, uploaded_by=author, now=now, comment=reply)
    fields = []
    if by_provider and not internal and request.first_responded_at is None:
        request.first_responded_at = now
        fields.append("first_responded_at")
    if (
        resume_on_reply
        and not by_provider
        and author.pk == request.requester_id
        and request.status == Status.WAITING_ON_REQUESTER
    ):
        _status_set(
            store, request, actor=author, to=Status.IN_PROGRESS, now=now, data={"auto": "reply"}
        )
        fields.append("status")
    store.save(request, fields=fields, now=now)
    store.recompute(request, now=now)
    if internal:
        users = [request.assignee] if request.assignee_id else []
    elif by_provider:
        users = [request.requester]
    else:
        users = _assignee_or_agents(store, request)
    store.notify(
        request,
        users=users,
        exclude=[author],
        kind=NotificationKind.REQUEST_COMMENTED,
        message=f"{author.get_full_name() or author.username} replied on {request.reference}",
        dedupe_key=f"comment:{reply.pk}",
        now=now,
    )
    return reply


def attach(store: Store, request, *, actor, files, now, file_errors) -> list:
    """Files on a request, without a reply (requester or provider staff)."""
    authorize(store, request, actor, "attach")
    workflow.state_check("attach", request, now=now)
    errors = file_errors(files) if files else {"file": ["Choose a file to attach."]}
    workflow.refuse(errors or None)
    saved = store.attach(request, files=files, uploaded_by=actor, now=now)
    store.save(request, fields=[], now=now)
    return saved


# --- status changes --------------------------------------------------------------------------


def _status_set(store: Store, request, *, actor, to, now, data=None) -> None:
    """Change the status and write its event; a wait on the requester ends or starts."""
    before = request.status
    request.status = to
    store.event(
        request,
        actor=actor,
        kind=EventKind.STATUS_CHANGED,
        now=now,
        data=workflow.status_data(before, to, **(data or {})),
    )
    if before == Status.WAITING_ON_REQUESTER:
        store.wait_end(request, now=now)
    if to == Status.WAITING_ON_REQUESTER:
        store.wait_start(request, now=now)


def _links_end_for_blocker(store: Store, blocker, *, now) -> None:
    """The blocker is done: every request it held up is free, with the time recorded."""
    for link in store.links_blocked_by(blocker):
        store.link_end(link, now=now)
        blocked = link.request
        store.event(
            blocked,
            actor=None,
            kind=EventKind.UNBLOCKED,
            now=now,
            data={"blocked_by": blocker.pk, "reason": blocker.status},
        )
        store.notify(
            blocked,
            users=_assignee_or_agents(store, blocked),
            kind=NotificationKind.BLOCKER_RESOLVED,
            message=(
                f"{blocker.reference}, which blocked {blocked.reference}, "
                f"is {blocker.get_status_display().lower()}"
            ),
            dedupe_key=f"unblocked:{link.pk}",
            now=now,
        )


def transition(store: Store, request, *, actor, action: str, comment_text: str = "", now):
    """Start, wait, resume, resolve, reopen, close or cancel; an optional comment is posted
    as a public reply first."""
    _sources, target = TRANSITIONS[action]
    authorize(store, request, actor, action)
    workflow.state_check(action, request, now=now)
    if action == "decline":
        workflow.refuse(workflow.decline_refusal(comment_text))
    if comment_text and comment_text.strip():
        comment(store, request, author=actor, body=comment_text, now=now, resume_on_reply=False)
    fields = ["status"]
    _status_set(store, request, actor=actor, to=target, now=now)
    if target in (Status.RESOLVED, Status.DECLINED):
        # Both answer the requester: a first response if none came before.
        done_at = "resolved_at" if target == Status.RESOLVED else "declined_at"
        setattr(request, done_at, now)
        fields.append(done_at)
        if request.first_responded_at is None:
            request.first_responded_at = now
            fields.append("first_responded_at")
    elif target == Status.IN_PROGRESS and action == "reopen":
        request.resolved_at = request.declined_at = None
        fields += ["resolved_at", "declined_at"]
    elif target == Status.CLOSED:
        request.closed_at = now
        fields.append("closed_at")
    elif target == Status.CANCELLED:
        request.cancelled_at = now
        fields.append("cancelled_at")
    store.save(request, fields=fields, now=now)
    store.recompute(request, now=now)
    if target in (Status.RESOLVED, Status.CANCELLED, Status.CLOSED, Status.DECLINED):
        _links_end_for_blocker(store, request, now=now)
        for link in store.links_of(request):
            store.link_end(link, now=now)
    if actor.pk == request.requester_id:
        users = _assignee_or_agents(store, request)
    else:
        users = [request.requester]
    store.notify(
        request,
        users=users,
        exclude=[actor],
        kind=NotificationKind.REQUEST_STATUS,
        message=f"{request.reference} is now {request.get_status_display().lower()}",
        dedupe_key=f"status:{request.pk}:{action}:{now.isoformat()}",
        now=now,
    )
    if target == Status.RESOLVED:
        store.resolved(request)
    return request


# --- working it ------------------------------------------------------------------------------


def acknowledge(store: Store, request, *, actor, now):
    """Tell the requester the request is seen: the first response, without a reply."""
    authorize(store, request, actor, "acknowledge")
    workflow.state_check("acknowledge", request, now=now)
    request.first_responded_at = now
    store.event(request, actor=actor, kind=EventKind.ACKNOWLEDGED, now=now)
    store.save(request, fields=["first_responded_at"], now=now)
    store.recompute(request, now=now)
    _tell_requester(
        store,
        request,
        actor=actor,
        message=f"{request.provider_department.name} has seen {request.reference}",
        dedupe_key=f"ack:{request.pk}",
        now=now,
    )
    return request


def assign(store: Store, request, *, actor, assignee, now):
    """Give the request to an agent or manager of the provider department (None: unassign)."""
    authorize(store, request, actor, "assign")
    workflow.state_check("assign", request, now=now)
    workflow.refuse(
        workflow.assign_refusal(
            request,
            assignee,
            assignee_is_staff=assignee is not None and store.is_staff(assignee, request),
        )
    )
    return _assignee_set(store, request, actor=actor, assignee=assignee, now=now)


def _assignee_set(store: Store, request, *, actor, assignee, now):
    """The assignment itself, once it is allowed: by a person (`assign`) or by an escalation
    level (`escalate`, actor None)."""
    before = request.assignee
    if (before.pk if before else None) == (assignee.pk if assignee else None):
        return request
    request.assignee = assignee
    store.event(
        request,
        actor=actor,
        kind=EventKind.ASSIGNED,
        now=now,
        data=workflow.assigned_data(
            before.username if before else None, assignee.username if assignee else None
        ),
    )
    store.save(request, fields=["assignee"], now=now)
    if assignee is not None:
        store.notify(
            request,
            users=[assignee],
            exclude=[actor],
            kind=NotificationKind.REQUEST_ASSIGNED,
            message=f"{request.reference} is assigned to you: {request.title}",
            dedupe_key=f"assigned:{request.pk}:{assignee.pk}:{now.isoformat()}",
            now=now,
        )
    return request


def priority_change(store: Store, request, *, actor, priority: str, now):
    """Change the priority; the clocks' due times are recomputed from the new priority's
    targets under the precedence that applied when they started (a version accepted since
    is not for this request), and the clocks say where the new targets come from."""
    authorize(store, request, actor, "priority")
    workflow.state_check("priority", request, now=now)
    workflow.refuse(workflow.priority_refusal(priority))
    return _priority_set(store, request, actor=actor, priority=priority, now=now)


def _priority_set(store: Store, request, *, actor, priority: str, now):
    """The priority change itself, once it is allowed: by a person (`priority_change`) or
    by an escalation level (`escalate`, actor None)."""
    if request.priority == priority:
        return request
    before = request.priority
    applied = store.target_for(request, priority)
    request.priority = priority
    store.event(
        request,
        actor=actor,
        kind=EventKind.PRIORITY_CHANGED,
        now=now,
        data=workflow.priority_data(
            before,
            priority,
            targets_by_kind(applied),
            source=applied.source,
            agreement_id=applied.agreement_id,
        ),
    )
    store.clocks_retarget(request, applied=applied)
    store.save(request, fields=["priority"], now=now)
    store.recompute(request, now=now)
    return request


def promise(store: Store, request, *, actor, promised_at, now):
    """Record the date the provider commits to ("promised Friday")."""
    authorize(store, request, actor, "promise")
    workflow.state_check("promise", request, now=now)
    zone = zoneinfo.ZoneInfo(request.provider_department.calendar.timezone)
    workflow.refuse(workflow.promise_refusal(promised_at, now=now, zone=zone))
    day = None if isinstance(promised_at, datetime.datetime) else promised_at
    before = request.promised_at
    request.promised_at = workflow.promise_deadline(promised_at, zone=zone)
    request.promised_day = day
    store.event(
        request,
        actor=actor,
        kind=EventKind.PROMISED,
        now=now,
        data=workflow.promise_data(before, request.promised_at, day=day),
    )
    store.save(request, fields=["promised_at", "promised_day"], now=now)
    when = (
        f"{day:%a %d %b}"
        if day is not None
        else f"{timezone.localtime(request.promised_at):%a %d %b %H:%M}"
    )
    _tell_requester(
        store,
        request,
        actor=actor,
        message=f"{request.provider_department.name} promised {request.reference} by {when}",
        dedupe_key=f"promise:{request.pk}:{now.isoformat()}",
        now=now,
    )
    return request


def transfer(store: Store, request, *, actor, department, service=None, now):
    """Move a request filed at the wrong place to another provider department.

    The time spent here stays on this department's clocks (stopped, or breached if already
    late); the receiving department's clocks start now under its own targets.
    """
    authorize(store, request, actor, "transfer")
    workflow.state_check("transfer", request, now=now)
    service_given = service is not None
    if not service_given:
        service = workflow.transfer_service_pick(
            store.transfer_services(department), name=request.service.name
        )
    workflow.refuse(
        workflow.transfer_refusal(
            request, department=department, service=service, service_given=service_given
        )
    )
    old = request.provider_department
    if request.status == Status.WAITING_ON_REQUESTER:
        store.wait_end(request, now=now)
    store.event(
        request,
        actor=actor,
        kind=EventKind.TRANSFERRED,
        now=now,
        data={
            "from": old.slug,
            "from_id": old.pk,
            "to": department.slug,
            "to_id": department.pk,
            "service_from": request.service.name,
            "service_to": service.name,
            "status_from": request.status,
        },
    )
    # The old department's clocks end here; compute them once more, then retire them.
    store.recompute(request, now=now)
    store.clocks_retire(request)
    request.provider_department = department
    request.service = service
    request.status = Status.NEW
    request.assignee = None
    request.first_responded_at = None
    store.save(
        request,
        fields=["provider_department", "service", "status", "assignee", "first_responded_at"],
        now=now,
    )
    store.clocks_start(request, department=department, now=now)
    store.recompute(request, now=now)
    store.notify(
        request,
        users=_agents_or_staff(store, department.pk),
        exclude=[actor],
        kind=NotificationKind.REQUEST_TRANSFERRED,
        message=f"{old.name} transferred {request.reference} to you: {request.title}",
        dedupe_key=f"transfer:{request.pk}:{now.isoformat()}",
        now=now,
    )
    _tell_requester(
        store,
        request,
        actor=actor,
        message=f"{request.reference} moved from {old.name} to {department.name}",
        dedupe_key=f"transfer-requester:{request.pk}:{now.isoformat()}",
        now=now,
    )
    return request


def block(store: Store, request, *, actor, blocked_by, now):
    """Record that the request waits on another one (usually filed to a third department)."""
    authorize(store, request, actor, "block")
    workflow.state_check("block", request, now=now)
    visible = store.sees(actor, blocked_by)
    workflow.refuse(
        workflow.block_refusal(
            request,
            blocked_by,
            visible=visible,
            already_linked=visible and store.open_link(request, blocked_by) is not None,
            blocker_waits_on_request=visible
            and workflow.waits_on(blocked_by.pk, request.pk, blockers_of=store.blockers_of),
        )
    )
    link = store.link_create(request, blocked_by, actor=actor, now=now)
    store.event(
        request,
        actor=actor,
        kind=EventKind.BLOCKED,
        now=now,
        data={
            "blocked_by": blocked_by.pk,
            "reference": blocked_by.reference,
            "department": blocked_by.provider_department.slug,
        },
    )
    store.save(request, fields=[], now=now)
    return link


def unblock(store: Store, request, *, actor, blocked_by, now):
    """End a blocked-by link by hand; the time blocked so far is recorded."""
    authorize(store, request, actor, "unblock")
    link = store.open_link(request, blocked_by)
    workflow.refuse(workflow.unblock_refusal(blocked_by, linked=link is not None))
    store.link_end(link, now=now)
    store.event(
        request,
        actor=actor,
        kind=EventKind.UNBLOCKED,
        now=now,
        data={"blocked_by": blocked_by.pk, "reason": "removed"},
    )
    store.save(request, fields=[], now=now)
    return link


def escalate(store: Store, request, *, level: dict, now):
    """An escalation level's action, taken by nobody (the scanner, actor None) through the
    same steps as a person's: assign to the level's person while they are still an agent or
    manager of the provider, or raise the priority to the level's (only upwards: a rerun,
    or a request already raised by hand, changes nothing). A request no longer open, or a
    level with no action, is left as it is."""
    if request.status not in OPEN_STATUSES:
        return request
    action = level.get("action")
    if action == "assign":
        staff = store.staff(request.provider_department_id, agents_only=False)
        assignee = next((user for user in staff if user.pk == level.get("assign_to")), None)
        if assignee is not None:
            _assignee_set(store, request, actor=None, assignee=assignee, now=now)
    elif action == "raise_priority" and workflow.escalation_raises(
        request.priority, level["raise_to"]
    ):
        _priority_set(store, request, actor=None, priority=level["raise_to"], now=now)
    return request
