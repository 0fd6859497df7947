"""Reads for requests. `requests_visible_to` is the one gate every page, API view, download,
search, notification and export goes through."""

import datetime
import zoneinfo
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import (
    Prefetch,
    Q,
    QuerySet,
)
from django.utils import timezone

from departments.choices import Role
from departments.describe import basis_text, calendar_duration, working_day_seconds
from departments.models import Department, EscalationLevel, Membership, Service
from departments.targets import AppliedTarget, target_applicable

from .choices import ClockKind, Status
from .escalation import escalation_plan, escalation_status
from .live import clock_glance, current_clock_values, sla_summary
from .models import (
    Comment,
    Notification,
    RequestEvent,
    ServiceRequest,
    SLAClock,
    pk_from_reference,
    reference_for,
)

PROVIDER_ROLES = (Role.AGENT, Role.MANAGER)


def clock_basis(
    service: Service, priority: str, *, customer_id: int | None, at: datetime.datetime
) -> AppliedTarget:
    """The target a request's clocks start with, and why: an agreement between the
    provider and the customer, the provider's agreement with every customer, the service's
    targets, its department's, else settings.SLA_FALLBACK_TARGET_HOURS (the precedence of
    departments.targets). What the lifecycle starts clocks with, the demo plans against and
    the bench loads. Two queries."""
    return target_applicable(service=service, priority=priority, customer_id=customer_id, at=at)


def clock_escalation(*, department_id: int, agreement_id: int | None) -> dict[str, list[dict]]:
    """The escalation levels a department's new clocks follow, per kind, under the agreement
    version their target came from (escalation.escalation_plan). One query."""
    levels = EscalationLevel.objects.filter(department_id=department_id).filter(
        Q(agreement__isnull=True) | Q(agreement_id=agreement_id)
    )
    return escalation_plan(levels, agreement_id=agreement_id)


def targets_by_kind(applied: AppliedTarget) -> dict[str, int]:
    """Target seconds per clock kind."""
    return {
        ClockKind.FIRST_RESPONSE: applied.first_response_seconds,
        ClockKind.RESOLUTION: applied.resolution_seconds,
    }


def clock_targets(
    service: Service,
    priority: str,
    *,
    customer_id: int | None = None,
    at: datetime.datetime | None = None,
) -> dict[str, int]:
    """Target seconds per clock kind of `clock_basis` (at now by default)."""
    return targets_by_kind(
        clock_basis(service, priority, customer_id=customer_id, at=at or timezone.now())
    )


def _departments_where(user, roles) -> QuerySet:
    return Membership.objects.filter(user=user, role__in=roles).values("department_id")


def _visible(user, through: str = "") -> Q:
    """The visibility rule as a condition on requests, or on the request `through` a
    relation (`"request__"`): the one place it is written."""
    return (
        Q(**{f"{through}requester": user})
        | Q(**{f"{through}provider_department__in": _departments_where(user, PROVIDER_ROLES)})
        | Q(
            **{
                f"{through}requesting_department__in": _departments_where(user, (Role.MANAGER,)),
                f"{through}confidential": False,
            }
        )
    )


def visible_through(user, through: str) -> Q:
    """`_visible` on the request `through` a relation ("request__"), for apps above this one
    whose objects follow their requests' visibility (reviews): a condition on each row,
    where a `pk__in=requests_visible_to(...)` would list every request the user sees."""
    return _visible(user, through)


def visible_by_rule(request, *, user_pk: int, provider_of: set[int], manager_of: set[int]) -> bool:
    """`_visible` for one request held in memory (the demo's replay), given the departments
    the user works for (agent, manager) and manages: tests hold the two equal."""
    return (
        request.requester_id == user_pk
        or request.provider_department_id in provider_of
        or (request.requesting_department_id in manager_of and not request.confidential)
    )


def requests_visible_to(
    user, *, provider_department: Department | None = None
) -> QuerySet[ServiceRequest]:
    """Requests the user may see: theirs; their provider department's (agents, managers);
    their department's as its manager, unless confidential. With `provider_department`,
    only the ones that department provides."""
    if user is None or not user.is_authenticated:
        return ServiceRequest.objects.none()
    visible = _visible(user)
    if provider_department is None:
        return ServiceRequest.objects.filter(visible)
    requests = ServiceRequest.objects.filter(provider_department=provider_department)
    if is_provider_staff(user=user, department_id=provider_department.pk):
        # Its agents and managers see all of them: the same rule as the OR above, said so
        # that PostgreSQL answers from the department's indexes (the OR needs every row of
        # the department, a cost that grows with its history: counts, sorted pages).
        return requests
    return requests.filter(visible)


def request_get_visible(*, user, key) -> ServiceRequest | None:
    """One request by id or reference (REQ-000123), or None if the user may not see it."""
    pk = key if isinstance(key, int) else None
    if pk is None:
        text = str(key)
        pk = int(text) if text.isdigit() else pk_from_reference(text)
    if pk is None:
        return None
    return requests_visible_to(user).filter(pk=pk).first()


def is_provider_staff(*, user, department_id: int) -> bool:
    """Agent or manager of the department: may work its requests."""
    return Membership.objects.filter(
        user=user, department_id=department_id, role__in=PROVIDER_ROLES
    ).exists()


def provider_staff(*, department_id: int, roles=PROVIDER_ROLES) -> QuerySet:
    """Users who work the department's requests."""
    return (
        get_user_model()
        .objects.filter(
            memberships__department_id=department_id, memberships__role__in=roles, is_active=True
        )
        .distinct()
    )


# What list pages and the API show of each request besides its own columns. Fetched for the
# page (a query each) rather than joined: a join to every matching request comes before the
# sort and the LIMIT, and makes PostgreSQL sort a whole department instead of reading one
# page of an index.
LIST_PREFETCH = (
    "requester",
    "assignee",
    "service",
    "provider_department",
    "requesting_department",
)


def request_list(
    *, user, provider_department: Department | None = None
) -> QuerySet[ServiceRequest]:
    """Visible requests with what list pages and the API show, clocks prefetched."""
    return requests_visible_to(user, provider_department=provider_department).prefetch_related(
        *LIST_PREFETCH,
        # Unordered (the default order joins each clock's request to sort by it), and their
        # calendar versions fetched once each and shared: a few rows, where a join would
        # build and decode one per clock.
        Prefetch(
            "clocks",
            queryset=SLAClock.objects.filter(is_current=True).order_by(),
            to_attr="current_clocks",
        ),
        "current_clocks__calendar_version",
        Prefetch("links", to_attr="all_links"),
    )


def queue_for(*, user, department: Department) -> QuerySet[ServiceRequest]:
    """A provider department's queue, for its agents and managers (empty for anyone else):
    ids to page through, whose rows `queue_rows` reads."""
    if not is_provider_staff(user=user, department_id=department.pk):
        return ServiceRequest.objects.none()
    # What requests_visible_to answers its provider staff, without asking again.
    return ServiceRequest.objects.filter(provider_department=department)


@dataclass
class QueueRow:
    """What a queue row shows of a request: names instead of related objects, its clocks at
    a glance (see `live.ClockGlance`)."""

    pk: int
    title: str
    confidential: bool
    status: str
    priority: str
    created_at: datetime.datetime
    requester: str
    assignee: str
    requesting_department: str
    service: str
    clocks: dict = field(default_factory=dict)
    sla_state: str = "none"
    sla_clock: str | None = None

    @property
    def reference(self) -> str:
        return reference_for(self.pk)

    @property
    def resolution_clock(self):
        return self.clocks.get(ClockKind.RESOLUTION)


def _full_name(first: str, last: str, username: str | None) -> str:
    """`User.get_full_name() or username`, from the three columns."""
    return f"{first} {last}".strip() or (username or "")


QUEUE_ROW_VALUES = {
    "title": "title",
    "confidential": "confidential",
    "status": "status",
    "priority": "priority",
    "created_at": "created_at",
    "requesting_department": "requesting_department__name",
    "service": "service__name",
}


def queue_rows(ids: list[int], *, now) -> list[QueueRow]:
    """The queue's rows for these request ids, in their order: two queries (the requests
    with the names they show, their current clocks), no model instances. The ids must come
    from `requests_visible_to`/`queue_for`: this reads whatever it is given."""
    people = ("first_name", "last_name", "username")
    values = (
        ServiceRequest.objects.filter(pk__in=ids)
        .order_by()
        .values_list(
            "pk",
            *QUEUE_ROW_VALUES.values(),
            *(f"requester__{name}" for name in people),
            *(f"assignee__{name}" for name in people),
        )
    )
    rows = {}
    for pk, *columns in values:
        fields = dict(zip(QUEUE_ROW_VALUES, columns[: len(QUEUE_ROW_VALUES)], strict=True))
        requester, assignee = columns[len(QUEUE_ROW_VALUES) :][:3], columns[-3:]
        rows[pk] = QueueRow(
            pk=pk,
            requester=_full_name(*requester),
            assignee=_full_name(*assignee) if assignee[2] else "",
            **fields,
        )
    for clock in current_clock_values(ids):
        row = rows.get(clock.request_id)
        if row is not None:
            row.clocks[clock.kind] = clock_glance(clock, now=now)
    ordered = [rows[pk] for pk in ids if pk in rows]
    for row in ordered:
        row.sla_state, row.sla_clock = sla_summary(row.clocks)
    return ordered


def comments_visible_to(*, user, request: ServiceRequest) -> QuerySet[Comment]:
    """Public comments, plus internal notes for the provider department's staff."""
    comments = request.comments.select_related("author").prefetch_related("attachments")
    if not is_provider_staff(user=user, department_id=request.provider_department_id):
        comments = comments.filter(internal=False)
    return comments


def timeline_for(*, user, request: ServiceRequest) -> QuerySet[RequestEvent]:
    """The request's events, without the internal ones for those outside the provider."""
    events = request.events.select_related("actor", "department")
    if not is_provider_staff(user=user, department_id=request.provider_department_id):
        events = events.filter(internal=False)
    return events


def requester_history(*, request: ServiceRequest, limit: int = 10) -> dict:
    """The requester's other requests with this provider: open ones and the latest past ones."""
    others = (
        ServiceRequest.objects.filter(
            requester_id=request.requester_id, provider_department_id=request.provider_department_id
        )
        .exclude(pk=request.pk)
        .select_related("service")
        .order_by("-created_at")
    )
    open_statuses = [Status.NEW, Status.IN_PROGRESS, Status.WAITING_ON_REQUESTER]
    return {
        "open": list(others.filter(status__in=open_statuses)[:limit]),
        "past": list(others.exclude(status__in=open_statuses)[:limit]),
        "total": others.count(),
    }


def notifications_for(*, user) -> QuerySet[Notification]:
    """The user's notifications about requests they can still see, newest first."""
    if user is None or not user.is_authenticated:
        return Notification.objects.none()
    # The rule applied through the join to each notification's request, row by row: an
    # EXISTS on requests_visible_to would make PostgreSQL build the user's whole visible set
    # (every request of their department) to count a badge.
    return (
        Notification.objects.filter(user=user)
        .filter(Q(request__isnull=True) | _visible(user, "request__"))
        .select_related("request")
    )


def unread_count(*, user, cap: int | None = None) -> int:
    """The user's unread notifications; with `cap`, counted no further than that (a badge
    shows "99+", and counting thousands on every page would cost more than the page)."""
    unread = notifications_for(user=user).filter(read_at__isnull=True)
    if cap is not None:
        unread = unread.order_by("-created_at")[:cap]  # read along notification_unread_idx
    return unread.count()


def attachments_visible_to(*, user, request: ServiceRequest) -> QuerySet:
    """The request's files, without those of internal notes for those outside the provider."""
    from .models import Attachment

    attachments = Attachment.objects.filter(request=request).select_related("uploaded_by")
    if not is_provider_staff(user=user, department_id=request.provider_department_id):
        attachments = attachments.exclude(comment__internal=True)
    return attachments


@dataclass(frozen=True)
class ClockBasis:
    """Which target a clock follows and why it is due when it is, in words."""

    target: str  # "4 business hours"
    text: str  # "4 business hours under the Sales-IT agreement v3; IT works ...; closed ..."
    day_seconds: int | None  # the clock calendar's business day, for its other durations
    # Where it stands in its escalation levels (escalation.escalation_status), for the staff.
    escalation: str = ""


def clock_bases(*, request: ServiceRequest, now) -> dict[str, ClockBasis]:
    """The basis of each current clock of the request (one query): the target it copied
    when it started, where that came from (departments.targets) and the hours it runs in,
    with the days off between its start and its due time."""
    clocks = request.clocks.filter(is_current=True).select_related(
        "calendar_version", "agreement__provider", "agreement__customer"
    )
    bases = {}
    for clock in clocks:
        calendar = clock.calendar_version
        zone = zoneinfo.ZoneInfo(calendar.timezone)
        until = clock.due_at or now
        bases[clock.kind] = ClockBasis(
            target=calendar_duration(clock.target_seconds, calendar),
            text=basis_text(
                seconds=clock.target_seconds,
                calendar=calendar,
                source=clock.target_source,
                agreement=clock.agreement,
                department_name=request.provider_department.name,
                service_name=request.service.name,
                priority=request.get_priority_display().lower(),
                first_day=clock.started_at.astimezone(zone).date(),
                last_day=max(until, clock.started_at).astimezone(zone).date(),
            ),
            day_seconds=working_day_seconds(calendar),
            escalation=escalation_status(clock),
        )
    return bases
