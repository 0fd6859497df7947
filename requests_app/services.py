"""Writes for requests: every change goes through one of these functions.

Each takes the acting user, locks the request row and runs the action's steps
(requests_app/lifecycle.py) against the database, in one transaction: first who may act
(PermissionDenied: 403), then the request's state and the input (ValidationError: form
errors / 400), then the RequestEvent, the clocks recomputed from the events and the
notifications. The demo's replay runs the same steps in memory (requests_app/demo/replay.py).
"""

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from departments.business_time import business_seconds_between
from departments.choices import Role
from departments.models import Department, Service
from departments.selectors import memberships_of
from departments.services import calendar_version_current
from departments.targets import AppliedTarget

from . import attachments as attachment_rules
from . import lifecycle, signals, workflow
from .choices import (
    ClockKind,
    EventKind,
)
from .clocks import (
    COMPUTED_FIELDS,
    REFRESHED_FIELDS,
    clock_refresh,
    clocks_start_fields,
    request_due_times,
)
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
from .selectors import (
    PROVIDER_ROLES,
    clock_basis,
    clock_escalation,
    is_provider_staff,
    provider_staff,
    requests_visible_to,
    targets_by_kind,
)
from .workflow import TRANSITIONS, request_file_authorize

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


def _clocks_start(request: ServiceRequest, *, department: Department, now) -> None:
    """Both clocks, with the target that applies now and why (selectors.clock_basis), in
    the agreement's support hours if it has its own, else the department's calendar."""
    applied = clock_basis(
        request.service, request.priority, customer_id=request.requesting_department_id, at=now
    )
    SLAClock.objects.bulk_create(
        SLAClock(**fields)
        for fields in clocks_start_fields(
            request,
            department_id=department.pk,
            calendar_version=calendar_version_current(
                calendar=applied.calendar or department.calendar
            ),
            targets=targets_by_kind(applied),
            source=applied.source,
            agreement_id=applied.agreement_id,
            escalation=clock_escalation(
                department_id=department.pk, agreement_id=applied.agreement_id
            ),
            now=now,
        )
    )


def _clocks_started_at(request: ServiceRequest):
    return (
        request.clocks.filter(is_current=True).values_list("started_at", flat=True).first()
        or request.created_at
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
    SLAClock.objects.bulk_update(updated, REFRESHED_FIELDS, batch_size=100)
    due_times = request_due_times(clock for clock in updated if clock.is_current)
    if any(getattr(request, field) != value for field, value in due_times.items()):
        ServiceRequest.objects.filter(pk=request.pk).update(**due_times)
        for field, value in due_times.items():
            setattr(request, field, value)
    return updated


def compute_fields() -> list[str]:
    """The clock fields `clocks.compute` writes."""
    return list(COMPUTED_FIELDS)


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
    memberships = memberships_of(user=user)
    if department is not None:
        membership = memberships.filter(department=department).first()
        if membership is None:
            raise ValidationError(
                {"requesting_department": "You can only file for a department you belong to."}
            )
        return membership.department
    membership = memberships.first()
    if membership is None:
        raise ValidationError(
            {
                "requesting_department": (
                    "You are not a member of any department; ask an administrator."
                )
            }
        )
    return membership.department


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


def _open_blockers(pks: set[int]) -> set[int]:
    """The requests that the requests `pks` are blocked by now."""
    return set(
        RequestLink.objects.filter(request_id__in=pks, ended_at__isnull=True).values_list(
            "blocked_by_id", flat=True
        )
    )


class DatabaseStore:
    """The lifecycle's Store on the database (see lifecycle.Store); the caller holds the
    request's row lock."""

    # --- facts

    def is_staff(self, user, request) -> bool:
        return is_provider_staff(user=user, department_id=request.provider_department_id)

    def manages(self, user, department_id: int) -> bool:
        return workflow.manages_department(user, department_id)

    def staff(self, department_id: int, *, agents_only: bool) -> list:
        roles = [Role.AGENT] if agents_only else PROVIDER_ROLES
        return list(provider_staff(department_id=department_id, roles=roles))

    def target_for(self, request, priority: str) -> AppliedTarget:
        # The precedence as it stood when the current clocks started: a version accepted
        # since applies to requests filed after it, not to this one.
        return clock_basis(
            request.service,
            priority,
            customer_id=request.requesting_department_id,
            at=_clocks_started_at(request),
        )

    def transfer_services(self, department) -> list:
        return list(department.services.filter(active=True))

    def sees(self, user, request) -> bool:
        return requests_visible_to(user).filter(pk=request.pk).exists()

    def blockers_of(self, pks: set[int]) -> set[int]:
        return _open_blockers(pks)

    def open_link(self, request, blocker):
        return RequestLink.objects.filter(
            request=request, blocked_by=blocker, ended_at__isnull=True
        ).first()

    def links_blocked_by(self, blocker) -> list:
        return list(
            RequestLink.objects.filter(blocked_by=blocker, ended_at__isnull=True).select_related(
                "request__provider_department", "request__assignee"
            )
        )

    def links_of(self, request) -> list:
        return list(RequestLink.objects.filter(request=request, ended_at__isnull=True))

    # --- changes

    def create(self, **fields) -> ServiceRequest:
        request = ServiceRequest(**fields)
        request.full_clean()
        request.save()
        return request

    def save(self, request, *, fields, now) -> None:
        _touch(request, now=now, fields=fields)

    def event(self, request, *, actor, kind, now, data=None, internal=False) -> None:
        _event(request, actor=actor, kind=kind, now=now, data=data, internal=internal)

    def notify(self, request, *, users, kind, message, dedupe_key, now, exclude=()) -> None:
        notify(
            users=users,
            exclude=exclude,
            request=request,
            kind=kind,
            message=message,
            dedupe_key=dedupe_key,
            now=now,
        )

    def comment(self, request, *, author, body, body_html, internal, now) -> Comment:
        return Comment.objects.create(
            request=request,
            author=author,
            body=body,
            body_html=body_html,
            internal=internal,
            created_at=now,
        )

    def attach(self, request, *, files, uploaded_by, now, comment=None) -> list:
        return _attachments_save(
            request, files=files, uploaded_by=uploaded_by, now=now, comment=comment
        )

    def wait_start(self, request, *, now) -> None:
        WaitPeriod.objects.create(
            request=request,
            requesting_department_id=request.requesting_department_id,
            provider_department_id=request.provider_department_id,
            started_at=now,
        )

    def wait_end(self, request, *, now) -> None:
        _wait_end(request, now=now)

    def link_create(self, request, blocker, *, actor, now) -> RequestLink:
        return RequestLink.objects.create(
            request=request,
            blocked_by=blocker,
            blocking_department_id=blocker.provider_department_id,
            created_by=actor,
            created_at=now,
        )

    def link_end(self, link, *, now) -> None:
        _link_end(link, now=now)

    def clocks_start(self, request, *, department, now) -> None:
        _clocks_start(request, department=department, now=now)

    def clocks_retarget(self, request, *, applied) -> None:
        request.clocks.filter(is_current=True).update(
            target_source=applied.source, agreement=applied.agreement
        )

    def clocks_retire(self, request) -> None:
        request.clocks.filter(is_current=True).update(is_current=False)

    def recompute(self, request, *, now) -> None:
        _after_change(request, now=now)

    def resolved(self, request) -> None:
        # Surveys (an app above this one) react after the resolution commits.
        transaction.on_commit(
            lambda pk=request.pk: signals.request_resolved.send(
                sender=ServiceRequest, request_id=pk
            )
        )


STORE = DatabaseStore()


# --- filing --------------------------------------------------------------------------------


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
    with transaction.atomic():
        return lifecycle.file(
            STORE,
            requester=requester,
            requesting_department=customer,
            service=service,
            priority=priority,
            title=title,
            description=description,
            confidential=confidential,
            files=files,
            now=now,
            file_errors=attachment_rules.errors_for,
        )


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
        return lifecycle.comment(
            STORE,
            _lock(request),
            author=author,
            body=body,
            internal=internal,
            files=files,
            now=now,
            resume_on_reply=resume_on_reply,
            file_errors=attachment_rules.errors_for,
        )


def request_attachments_add(
    *, request: ServiceRequest, actor, files: Sequence, now=None
) -> list[Attachment]:
    """Attach files to a request (requester or provider staff, open or resolved requests)."""
    now = _now(now)
    with transaction.atomic():
        return lifecycle.attach(
            STORE,
            _lock(request),
            actor=actor,
            files=files,
            now=now,
            file_errors=attachment_rules.errors_for,
        )


# --- status changes ------------------------------------------------------------------------


def request_transition(
    *, request: ServiceRequest, actor, action: str, comment: str = "", now=None
) -> ServiceRequest:
    """Move a request through its lifecycle (start, wait, resume, resolve, reopen, close,
    cancel); an optional comment is posted as a public reply first."""
    now = _now(now)
    if action not in TRANSITIONS:
        raise ValidationError({"action": f"Unknown action {action!r}."})
    with transaction.atomic():
        return lifecycle.transition(
            STORE, _lock(request), actor=actor, action=action, comment_text=comment, now=now
        )


# --- working it ----------------------------------------------------------------------------


def request_acknowledge(*, request: ServiceRequest, actor, now=None) -> ServiceRequest:
    """Tell the requester the request is seen: the first response, without a reply."""
    with transaction.atomic():
        return lifecycle.acknowledge(STORE, _lock(request), actor=actor, now=_now(now))


def request_assign(*, request: ServiceRequest, actor, assignee, now=None) -> ServiceRequest:
    """Give the request to an agent or manager of the provider department (None: unassign)."""
    with transaction.atomic():
        return lifecycle.assign(
            STORE, _lock(request), actor=actor, assignee=assignee, now=_now(now)
        )


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
    with transaction.atomic():
        return lifecycle.priority_change(
            STORE, _lock(request), actor=actor, priority=priority, now=_now(now)
        )


def request_escalate(*, request: ServiceRequest, level: dict, now=None) -> ServiceRequest:
    """Take an escalation level's action on the request (lifecycle.escalate): the scanner's
    way in, inside its transaction, after it has recorded the level as fired."""
    with transaction.atomic():
        return lifecycle.escalate(STORE, _lock(request), level=level, now=_now(now))


def request_promise(*, request: ServiceRequest, actor, promised_at, now=None) -> ServiceRequest:
    """Record the date the provider commits to ("promised Friday")."""
    with transaction.atomic():
        return lifecycle.promise(
            STORE, _lock(request), actor=actor, promised_at=promised_at, now=_now(now)
        )


def request_transfer(
    *,
    request: ServiceRequest,
    actor,
    department: Department,
    service: Service | None = None,
    now=None,
) -> ServiceRequest:
    """Move a request filed at the wrong place to another provider department (see
    lifecycle.transfer)."""
    with transaction.atomic():
        return lifecycle.transfer(
            STORE,
            _lock(request),
            actor=actor,
            department=department,
            service=service,
            now=_now(now),
        )


def request_block(
    *, request: ServiceRequest, actor, blocked_by: ServiceRequest, now=None
) -> RequestLink:
    """Record that the request waits on another one (usually filed to a third department)."""
    with transaction.atomic():
        return lifecycle.block(
            STORE, _lock(request), actor=actor, blocked_by=blocked_by, now=_now(now)
        )


def request_unblock(
    *, request: ServiceRequest, actor, blocked_by: ServiceRequest, now=None
) -> RequestLink:
    """End a blocked-by link by hand; the time blocked so far is recorded."""
    with transaction.atomic():
        return lifecycle.unblock(
            STORE, _lock(request), actor=actor, blocked_by=blocked_by, now=_now(now)
        )
