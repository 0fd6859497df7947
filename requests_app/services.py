"""Writes for requests: every change goes through one of these functions.

Each function takes the acting user, locks the request row, checks first that they may act
(`workflow.request_action_authorize`, PermissionDenied: 403), then their input and the state
of the request (ValidationError: form errors / 400), writes a RequestEvent, recomputes the
clocks from the events and notifies whom it concerns, all in one transaction.
"""

from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from departments.business_time import business_seconds_between
from departments.choices import Role
from departments.models import Department, Membership, Service
from departments.selectors import sla_target_for
from departments.services import calendar_version_current

from . import attachments as attachment_rules
from . import signals, workflow
from .choices import (
    ClockKind,
    EventKind,
    NotificationKind,
    Status,
)
from .clocks import clock_refresh, request_due_times
from .models import (
    Attachment,
    Comment,
    RequestEvent,
    RequestLink,
    ServiceRequest,
    SLAClock,
    WaitPeriod,
)
from .notifications import notify
from .selectors import is_provider_staff, provider_staff, requests_visible_to
from .workflow import TRANSITIONS, request_action_authorize, request_file_authorize, state_check

# --- helpers -------------------------------------------------------------------------------


def _now(now):
    return now or timezone.now()


def _lock(request: ServiceRequest) -> ServiceRequest:
    """Reload the request under a row lock: concurrent actions on it queue up.

    NO KEY UPDATE, not UPDATE: rows that reference the request (events, notifications) can
    still be inserted by others meanwhile. The scanner holds a clock's lock and then inserts
    an event; with a plain FOR UPDATE here, an action waiting for that clock deadlocked.
    """
    return (
        ServiceRequest.objects.select_for_update(no_key=True)
        .select_related("provider_department", "requesting_department", "service", "requester")
        .get(pk=request.pk)
    )


def _event(request, *, actor, kind, now, data=None, internal=False) -> RequestEvent:
    return RequestEvent.objects.create(
        request=request,
        actor=actor,
        kind=kind,
        created_at=now,
        department_id=request.provider_department_id,
        data=data or {},
        internal=internal,
    )


def _targets_for(service: Service, priority: str) -> dict[str, int]:
    """Target seconds per clock kind: the service's, the department's, or the fallback."""
    target = sla_target_for(service=service, priority=priority)
    if target is not None:
        return {
            ClockKind.FIRST_RESPONSE: target.first_response_seconds,
            ClockKind.RESOLUTION: target.resolution_seconds,
        }
    first, resolution = settings.SLA_FALLBACK_TARGET_HOURS[priority]
    return {ClockKind.FIRST_RESPONSE: first * 3600, ClockKind.RESOLUTION: resolution * 3600}


def _clocks_start(request: ServiceRequest, *, department: Department, now) -> None:
    targets = _targets_for(request.service, request.priority)
    version = calendar_version_current(calendar=department.calendar)
    SLAClock.objects.bulk_create(
        SLAClock(
            request=request,
            kind=kind,
            department=department,
            calendar_version=version,
            target_seconds=targets[kind],
            started_at=now,
            is_current=True,
        )
        for kind in ClockKind.values
    )


def clocks_recompute(request: ServiceRequest, *, now=None, current_only: bool = True) -> list:
    """Recompute the cached fields of the request's clocks from its events."""
    now = _now(now)
    events = list(request.events.order_by("created_at", "id"))
    clocks = request.clocks.select_related("calendar_version")
    if current_only:
        clocks = clocks.filter(is_current=True)
    updated = []
    for clock in clocks:
        clock_refresh(clock, events, now)
        updated.append(clock)
    SLAClock.objects.bulk_update(updated, ["target_seconds", *compute_fields()], batch_size=100)
    due_times = request_due_times(clock for clock in updated if clock.is_current)
    if any(getattr(request, field) != value for field, value in due_times.items()):
        ServiceRequest.objects.filter(pk=request.pk).update(**due_times)
        for field, value in due_times.items():
            setattr(request, field, value)
    return updated


def compute_fields() -> list[str]:
    return [
        "state",
        "used_seconds",
        "running_since",
        "due_at",
        "warn_at",
        "warned_at",
        "breached_at",
        "completed_at",
        "computed_at",
    ]


def _resolution_version(request: ServiceRequest):
    clock = (
        request.clocks.filter(kind=ClockKind.RESOLUTION, is_current=True)
        .select_related("calendar_version")
        .first()
    )
    return (
        clock.calendar_version
        if clock
        else calendar_version_current(calendar=request.provider_department.calendar)
    )


def _wait_end(request: ServiceRequest, *, now) -> None:
    wait = WaitPeriod.objects.filter(request=request, ended_at__isnull=True).first()
    if wait is None:
        return
    wait.ended_at = now
    wait.business_seconds = business_seconds_between(
        _resolution_version(request), wait.started_at, now
    )
    wait.save(update_fields=["ended_at", "business_seconds"])


def _links_end_for_blocker(blocker: ServiceRequest, *, now) -> None:
    """The blocker is done: every request it held up is free, with the time recorded."""
    links = RequestLink.objects.filter(blocked_by=blocker, ended_at__isnull=True).select_related(
        "request__provider_department", "request__assignee"
    )
    for link in links:
        _link_end(link, now=now)
        blocked = link.request
        _event(
            blocked,
            actor=None,
            kind=EventKind.UNBLOCKED,
            now=now,
            data={"blocked_by": blocker.pk, "reason": blocker.status},
        )
        users = (
            [blocked.assignee]
            if blocked.assignee_id
            else list(
                provider_staff(department_id=blocked.provider_department_id, roles=[Role.AGENT])
            )
        )
        notify(
            users=users,
            request=blocked,
            kind=NotificationKind.BLOCKER_RESOLVED,
            message=(
                f"{blocker.reference}, which blocked {blocked.reference}, "
                f"is {blocker.get_status_display().lower()}"
            ),
            dedupe_key=f"unblocked:{link.pk}",
            now=now,
        )


def _link_end(link: RequestLink, *, now) -> None:
    link.ended_at = now
    link.blocked_seconds = business_seconds_between(
        _resolution_version(link.request), link.created_at, now
    )
    link.save(update_fields=["ended_at", "blocked_seconds"])


def _touch(request: ServiceRequest, *, now, fields: Sequence[str]) -> None:
    request.updated_at = now
    request.full_clean(
        exclude=["requester", "service", "provider_department", "requesting_department"]
    )
    request.save(update_fields=[*fields, "updated_at"])


def _after_change(request: ServiceRequest, *, now) -> None:
    clocks_recompute(request, now=now)


# --- filing --------------------------------------------------------------------------------


def requesting_department_for(*, user, department: Department | None = None) -> Department:
    """The department a user files for: the given one if they belong to it, else their primary."""
    memberships = Membership.objects.filter(user=user).select_related("department")
    if department is not None:
        membership = memberships.filter(department=department).first()
        if membership is None:
            raise ValidationError(
                {"requesting_department": "You can only file for a department you belong to."}
            )
        return membership.department
    membership = memberships.order_by("-is_primary", "department__name").first()
    if membership is None:
        raise ValidationError(
            {
                "requesting_department": (
                    "You are not a member of any department; ask an administrator."
                )
            }
        )
    return membership.department


def request_create(
    *,
    requester,
    service: Service,
    title: str,
    description: str,
    priority: str | None = None,
    confidential: bool = False,
    requesting_department: Department | None = None,
    files: Sequence = (),
    now=None,
) -> ServiceRequest:
    """File a request to the service's department; starts both clocks and tells its agents."""
    now = _now(now)
    request_file_authorize(requester=requester)
    priority = priority or service.default_priority
    customer = requesting_department_for(user=requester, department=requesting_department)
    errors = (
        workflow.file_refusal(service=service, priority=priority, requesting_department=customer)
        or {}
    )
    errors.update(attachment_rules.errors_for(files))
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        request = ServiceRequest(
            requester=requester,
            requesting_department=customer,
            provider_department=service.department,
            service=service,
            priority=priority,
            title=title.strip(),
            description=description.strip(),
            confidential=confidential,
            status=Status.NEW,
            created_at=now,
            updated_at=now,
        )
        request.full_clean()
        request.save()
        _event(
            request,
            actor=requester,
            kind=EventKind.CREATED,
            now=now,
            data={"service": service.name, "priority": priority, "confidential": confidential},
        )
        _clocks_start(request, department=service.department, now=now)
        _attachments_save(request, files=files, uploaded_by=requester, now=now)
        _after_change(request, now=now)
        agents = list(provider_staff(department_id=service.department_id, roles=[Role.AGENT]))
        if not agents:
            agents = list(provider_staff(department_id=service.department_id))
        notify(
            users=agents,
            request=request,
            kind=NotificationKind.REQUEST_FILED,
            message=f"New {priority} request from {customer.name}: {request.title}",
            dedupe_key=f"filed:{request.pk}",
            now=now,
        )
    return request


def _attachments_save(request, *, files, uploaded_by, now, comment=None) -> list[Attachment]:
    saved = []
    for upload in files:
        attachment = Attachment(
            request=request,
            comment=comment,
            original_name=attachment_rules.safe_name(upload.name),
            content_type=attachment_rules.content_type_of(upload),
            size=upload.size,
            uploaded_by=uploaded_by,
            created_at=now,
        )
        attachment.file.save(upload.name, upload, save=False)
        attachment.save()
        saved.append(attachment)
        _event(
            request,
            actor=uploaded_by,
            kind=EventKind.ATTACHED,
            now=now,
            data={"attachment": attachment.pk, "name": attachment.original_name},
            internal=bool(comment and comment.internal),
        )
    return saved


# --- replies -------------------------------------------------------------------------------


def request_comment_add(
    *,
    request: ServiceRequest,
    author,
    body: str,
    internal: bool = False,
    files: Sequence = (),
    now=None,
    resume_on_reply: bool = True,
) -> Comment:
    """Reply on a request. A provider's public reply is a first response; a requester's
    reply to a request waiting on them resumes it. Internal notes are for the provider only."""
    now = _now(now)
    with transaction.atomic():
        request = _lock(request)
        action = "note" if internal else "comment"
        request_action_authorize(actor=author, request=request, action=action)
        state_check(action, request, now=now)
        body = (body or "").strip()
        errors = workflow.body_refusal(body) or {}
        errors.update(attachment_rules.errors_for(files))
        if errors:
            raise ValidationError(errors)
        by_provider = is_provider_staff(user=author, department_id=request.provider_department_id)
        comment = Comment.objects.create(
            request=request, author=author, body=body, internal=internal, created_at=now
        )
        _event(
            request,
            actor=author,
            kind=EventKind.NOTE_ADDED if internal else EventKind.COMMENTED,
            now=now,
            data={"comment": comment.pk, "by_provider": by_provider},
            internal=internal,
        )
        _attachments_save(request, files=files, uploaded_by=author, now=now, comment=comment)
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
                request, actor=author, to=Status.IN_PROGRESS, now=now, data={"auto": "reply"}
            )
            fields.append("status")
        _touch(request, now=now, fields=fields)
        _after_change(request, now=now)
        if internal:
            users = [request.assignee] if request.assignee_id else []
        elif by_provider:
            users = [request.requester]
        else:
            users = (
                [request.assignee]
                if request.assignee_id
                else list(
                    provider_staff(department_id=request.provider_department_id, roles=[Role.AGENT])
                )
            )
        notify(
            users=users,
            exclude=[author],
            request=request,
            kind=NotificationKind.REQUEST_COMMENTED,
            message=f"{author.get_full_name() or author.username} replied on {request.reference}",
            dedupe_key=f"comment:{comment.pk}",
            now=now,
        )
    return comment


# --- status changes ------------------------------------------------------------------------


def _status_set(request, *, actor, to, now, data=None) -> None:
    """Change the status and write its event; the caller holds the lock and saves."""
    before = request.status
    request.status = to
    _event(
        request,
        actor=actor,
        kind=EventKind.STATUS_CHANGED,
        now=now,
        data={"from": before, "to": to, **(data or {})},
    )
    if before == Status.WAITING_ON_REQUESTER:
        _wait_end(request, now=now)
    if to == Status.WAITING_ON_REQUESTER:
        WaitPeriod.objects.create(
            request=request,
            requesting_department_id=request.requesting_department_id,
            provider_department_id=request.provider_department_id,
            started_at=now,
        )


def request_transition(
    *, request: ServiceRequest, actor, action: str, comment: str = "", now=None
) -> ServiceRequest:
    """Move a request through its lifecycle (start, wait, resume, resolve, reopen, close,
    cancel); an optional comment is posted as a public reply first."""
    now = _now(now)
    if action not in TRANSITIONS:
        raise ValidationError({"action": f"Unknown action {action!r}."})
    _sources, target = TRANSITIONS[action]
    with transaction.atomic():
        request = _lock(request)
        request_action_authorize(actor=actor, request=request, action=action)
        state_check(action, request, now=now)
        if comment and comment.strip():
            request_comment_add(
                request=request, author=actor, body=comment, now=now, resume_on_reply=False
            )
            request.refresh_from_db()
        fields = ["status"]
        _status_set(request, actor=actor, to=target, now=now)
        if target == Status.RESOLVED:
            request.resolved_at = now
            fields.append("resolved_at")
            if request.first_responded_at is None:
                request.first_responded_at = now
                fields.append("first_responded_at")
        elif target == Status.IN_PROGRESS and action == "reopen":
            request.resolved_at = None
            fields.append("resolved_at")
        elif target == Status.CLOSED:
            request.closed_at = now
            fields.append("closed_at")
        elif target == Status.CANCELLED:
            request.cancelled_at = now
            fields.append("cancelled_at")
        _touch(request, now=now, fields=fields)
        _after_change(request, now=now)
        if target in (Status.RESOLVED, Status.CANCELLED, Status.CLOSED):
            _links_end_for_blocker(request, now=now)
            for link in RequestLink.objects.filter(request=request, ended_at__isnull=True):
                _link_end(link, now=now)
        _notify_status(request, actor=actor, action=action, now=now)
        if target == Status.RESOLVED:
            transaction.on_commit(
                lambda pk=request.pk: signals.request_resolved.send(
                    sender=ServiceRequest, request_id=pk
                )
            )
    return request


def _notify_status(request, *, actor, action, now) -> None:
    if actor.pk == request.requester_id:
        users = (
            [request.assignee]
            if request.assignee_id
            else list(
                provider_staff(department_id=request.provider_department_id, roles=[Role.AGENT])
            )
        )
    else:
        users = [request.requester]
    notify(
        users=users,
        exclude=[actor],
        request=request,
        kind=NotificationKind.REQUEST_STATUS,
        message=f"{request.reference} is now {request.get_status_display().lower()}",
        dedupe_key=f"status:{request.pk}:{action}:{now.isoformat()}",
        now=now,
    )


# --- working it ----------------------------------------------------------------------------


def request_acknowledge(*, request: ServiceRequest, actor, now=None) -> ServiceRequest:
    """Tell the requester the request is seen: the first response, without a reply."""
    now = _now(now)
    with transaction.atomic():
        request = _lock(request)
        request_action_authorize(actor=actor, request=request, action="acknowledge")
        state_check("acknowledge", request, now=now)
        request.first_responded_at = now
        _event(request, actor=actor, kind=EventKind.ACKNOWLEDGED, now=now)
        _touch(request, now=now, fields=["first_responded_at"])
        _after_change(request, now=now)
        notify(
            users=[request.requester],
            exclude=[actor],
            request=request,
            kind=NotificationKind.REQUEST_STATUS,
            message=f"{request.provider_department.name} has seen {request.reference}",
            dedupe_key=f"ack:{request.pk}",
            now=now,
        )
    return request


def request_assign(*, request: ServiceRequest, actor, assignee, now=None) -> ServiceRequest:
    """Give the request to an agent or manager of the provider department (None: unassign)."""
    now = _now(now)
    with transaction.atomic():
        request = _lock(request)
        request_action_authorize(actor=actor, request=request, action="assign")
        state_check("assign", request, now=now)
        workflow.refuse(
            workflow.assign_refusal(
                request,
                assignee,
                assignee_is_staff=assignee is not None
                and is_provider_staff(user=assignee, department_id=request.provider_department_id),
            )
        )
        before = request.assignee
        if (before.pk if before else None) == (assignee.pk if assignee else None):
            return request
        request.assignee = assignee
        _event(
            request,
            actor=actor,
            kind=EventKind.ASSIGNED,
            now=now,
            data={
                "from": before.username if before else None,
                "to": assignee.username if assignee else None,
            },
        )
        _touch(request, now=now, fields=["assignee"])
        if assignee is not None:
            notify(
                users=[assignee],
                exclude=[actor],
                request=request,
                kind=NotificationKind.REQUEST_ASSIGNED,
                message=f"{request.reference} is assigned to you: {request.title}",
                dedupe_key=f"assigned:{request.pk}:{assignee.pk}:{now.isoformat()}",
                now=now,
            )
    return request


def requests_bulk_assign(*, requests, actor, assignee, now=None) -> int:
    """Assign several requests at once; each is checked as if assigned alone."""
    count = 0
    with transaction.atomic():
        for request in requests:
            request_assign(request=request, actor=actor, assignee=assignee, now=now)
            count += 1
    return count


def request_priority_change(
    *, request: ServiceRequest, actor, priority: str, now=None
) -> ServiceRequest:
    """Change the priority; the clocks' due times are recomputed from the new targets."""
    now = _now(now)
    with transaction.atomic():
        request = _lock(request)
        request_action_authorize(actor=actor, request=request, action="priority")
        state_check("priority", request, now=now)
        workflow.refuse(workflow.priority_refusal(priority))
        if request.priority == priority:
            return request
        before = request.priority
        request.priority = priority
        _event(
            request,
            actor=actor,
            kind=EventKind.PRIORITY_CHANGED,
            now=now,
            data={
                "from": before,
                "to": priority,
                "targets": _targets_for(request.service, priority),
            },
        )
        _touch(request, now=now, fields=["priority"])
        _after_change(request, now=now)
    return request


def request_promise(*, request: ServiceRequest, actor, promised_at, now=None) -> ServiceRequest:
    """Record the date the provider commits to ("promised Friday")."""
    now = _now(now)
    with transaction.atomic():
        request = _lock(request)
        request_action_authorize(actor=actor, request=request, action="promise")
        state_check("promise", request, now=now)
        workflow.refuse(workflow.promise_refusal(promised_at, now=now))
        before = request.promised_at
        request.promised_at = promised_at
        _event(
            request,
            actor=actor,
            kind=EventKind.PROMISED,
            now=now,
            data={
                "from": before.isoformat() if before else None,
                "to": promised_at.isoformat(),
            },
        )
        _touch(request, now=now, fields=["promised_at"])
        notify(
            users=[request.requester],
            exclude=[actor],
            request=request,
            kind=NotificationKind.REQUEST_STATUS,
            message=(
                f"{request.provider_department.name} promised {request.reference} "
                f"by {timezone.localtime(promised_at):%a %d %b %H:%M}"
            ),
            dedupe_key=f"promise:{request.pk}:{now.isoformat()}",
            now=now,
        )
    return request


def request_transfer(
    *,
    request: ServiceRequest,
    actor,
    department: Department,
    service: Service | None = None,
    now=None,
) -> ServiceRequest:
    """Move a request filed at the wrong place to another provider department.

    The time spent here stays on this department's clocks (stopped, or breached if already
    late); the receiving department's clocks start now under its own targets.
    """
    now = _now(now)
    with transaction.atomic():
        request = _lock(request)
        request_action_authorize(actor=actor, request=request, action="transfer")
        state_check("transfer", request, now=now)
        service_given = service is not None
        if not service_given:
            service = workflow.transfer_service_pick(
                department.services.filter(active=True), name=request.service.name
            )
        workflow.refuse(
            workflow.transfer_refusal(
                request, department=department, service=service, service_given=service_given
            )
        )
        old = request.provider_department
        if request.status == Status.WAITING_ON_REQUESTER:
            _wait_end(request, now=now)
        _event(
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
        _after_change(request, now=now)
        request.clocks.filter(is_current=True).update(is_current=False)
        request.provider_department = department
        request.service = service
        request.status = Status.NEW
        request.assignee = None
        request.first_responded_at = None
        _touch(
            request,
            now=now,
            fields=["provider_department", "service", "status", "assignee", "first_responded_at"],
        )
        _clocks_start(request, department=department, now=now)
        _after_change(request, now=now)
        agents = list(provider_staff(department_id=department.pk, roles=[Role.AGENT])) or list(
            provider_staff(department_id=department.pk)
        )
        notify(
            users=agents,
            exclude=[actor],
            request=request,
            kind=NotificationKind.REQUEST_TRANSFERRED,
            message=f"{old.name} transferred {request.reference} to you: {request.title}",
            dedupe_key=f"transfer:{request.pk}:{now.isoformat()}",
            now=now,
        )
        notify(
            users=[request.requester],
            exclude=[actor],
            request=request,
            kind=NotificationKind.REQUEST_STATUS,
            message=f"{request.reference} moved from {old.name} to {department.name}",
            dedupe_key=f"transfer-requester:{request.pk}:{now.isoformat()}",
            now=now,
        )
    return request


def request_block(
    *, request: ServiceRequest, actor, blocked_by: ServiceRequest, now=None
) -> RequestLink:
    """Record that the request waits on another one (usually filed to a third department)."""
    now = _now(now)
    with transaction.atomic():
        request = _lock(request)
        request_action_authorize(actor=actor, request=request, action="block")
        state_check("block", request, now=now)
        visible = requests_visible_to(actor).filter(pk=blocked_by.pk).exists()
        workflow.refuse(
            workflow.block_refusal(
                request,
                blocked_by,
                visible=visible,
                already_linked=visible
                and RequestLink.objects.filter(
                    request=request, blocked_by=blocked_by, ended_at__isnull=True
                ).exists(),
                blocker_waits_on_request=visible
                and workflow.waits_on(blocked_by.pk, request.pk, blockers_of=_open_blockers),
            )
        )
        link = RequestLink.objects.create(
            request=request,
            blocked_by=blocked_by,
            blocking_department_id=blocked_by.provider_department_id,
            created_by=actor,
            created_at=now,
        )
        _event(
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
        _touch(request, now=now, fields=[])
    return link


def _open_blockers(pks: set[int]) -> set[int]:
    """The requests that the requests `pks` are blocked by now."""
    return set(
        RequestLink.objects.filter(request_id__in=pks, ended_at__isnull=True).values_list(
            "blocked_by_id", flat=True
        )
    )


def request_unblock(
    *, request: ServiceRequest, actor, blocked_by: ServiceRequest, now=None
) -> RequestLink:
    """End a blocked-by link by hand; the time blocked so far is recorded."""
    now = _now(now)
    with transaction.atomic():
        request = _lock(request)
        request_action_authorize(actor=actor, request=request, action="unblock")
        link = RequestLink.objects.filter(
            request=request, blocked_by=blocked_by, ended_at__isnull=True
        ).first()
        workflow.refuse(workflow.unblock_refusal(blocked_by, linked=link is not None))
        _link_end(link, now=now)
        _event(
            request,
            actor=actor,
            kind=EventKind.UNBLOCKED,
            now=now,
            data={"blocked_by": blocked_by.pk, "reason": "removed"},
        )
        _touch(request, now=now, fields=[])
    return link


def request_attachments_add(
    *, request: ServiceRequest, actor, files: Sequence, now=None
) -> list[Attachment]:
    """Attach files to a request (requester or provider staff, open or resolved requests)."""
    now = _now(now)
    with transaction.atomic():
        request = _lock(request)
        request_action_authorize(actor=actor, request=request, action="attach")
        state_check("attach", request, now=now)
        errors = attachment_rules.errors_for(files)
        if not files:
            errors = {"file": ["Choose a file to attach."]}
        if errors:
            raise ValidationError(errors)
        saved = _attachments_save(request, files=files, uploaded_by=actor, now=now)
        _touch(request, now=now, fields=[])
    return saved
