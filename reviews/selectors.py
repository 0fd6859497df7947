"""Reads for reviews: lists through rules.reviews_visible_to, and a review's facts."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from departments.business_time import business_seconds_between
from departments.models import Department, Membership
from requests_app.choices import EventKind, Status
from requests_app.models import (
    Comment,
    RequestEvent,
    RequestLink,
    ServiceRequest,
    SLAClock,
    WaitPeriod,
)
from requests_app.selectors import PROVIDER_ROLES
from surveys.models import SurveyResponse

from .choices import ActionState, ReviewState
from .models import Review, ReviewAction, ReviewDepartment, ReviewSection
from .rules import reviews_visible_to


def review_list(*, user, state: str | None = None) -> QuerySet[Review]:
    """The reviews the user takes part in, newest first, with their departments and counts
    of open actions (a fixed number of queries for any page)."""
    reviews = reviews_visible_to(user)
    if state in ReviewState.values:
        reviews = reviews.filter(state=state)
    return (
        reviews.select_related("provider_department", "customer_department")
        .prefetch_related(
            Prefetch(
                "review_departments",
                queryset=ReviewDepartment.objects.select_related("department"),
            )
        )
        .annotate(
            open_actions=Count("actions", filter=Q(actions__state=ActionState.OPEN)),
            action_count=Count("actions"),
        )
        .order_by("-opened_at", "-id")
    )


def review_get_visible(*, user, pk) -> Review | None:
    """One review by id, or None if the user may not see it."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return (
        reviews_visible_to(user)
        .select_related("provider_department", "customer_department", "opened_by")
        .filter(pk=pk)
        .first()
    )


def actions_of(user) -> QuerySet[ReviewAction]:
    """Open actions the user owns, in reviews they may see, soonest due first."""
    return (
        ReviewAction.objects.filter(
            owner=user, state=ActionState.OPEN, review__in=reviews_visible_to(user)
        )
        .select_related("review", "owner_department")
        .order_by("due_on", "id")
    )


def review_sections(review: Review) -> list[ReviewSection]:
    return list(ReviewSection.objects.filter(review=review).select_related("department"))


def review_actions(review: Review) -> list[ReviewAction]:
    return list(
        ReviewAction.objects.filter(review=review).select_related(
            "owner", "owner_department", "confirmed_by"
        )
    )


def review_departments(review: Review) -> list[ReviewDepartment]:
    return list(ReviewDepartment.objects.filter(review=review).select_related("department"))


def department_members(department_ids) -> dict[int, list]:
    """Members of each department, for an action's owner choice (one query)."""
    members: dict[int, list] = {pk: [] for pk in department_ids}
    for membership in Membership.objects.filter(department_id__in=members).select_related("user"):
        members[membership.department_id].append(membership.user)
    return members


# --- facts ------------------------------------------------------------------------------------


@dataclass
class Span:
    """A stretch of time: who it is attributed to, and how long, wall and business."""

    label: str
    department: Department | None
    start: datetime.datetime
    end: datetime.datetime | None  # None: still going (measured to now)
    wall_seconds: int
    business_seconds: int
    request: ServiceRequest | None = None


@dataclass
class Entry:
    """One line of the timeline."""

    at: datetime.datetime
    kind: str
    label: str
    side: str  # "requester", a department's name, or "servicedesk": never a person
    request: ServiceRequest
    detail: str = ""


@dataclass
class RequestFacts:
    request: ServiceRequest
    holds: list[Span] = field(default_factory=list)
    waits_on_requester: list[Span] = field(default_factory=list)
    blocked: list[Span] = field(default_factory=list)
    # The customer's view: each time the requester waited for an answer.
    waited_for_answer: list[Span] = field(default_factory=list)
    rating: int | None = None

    @property
    def longest_wait_for_answer(self) -> Span | None:
        return max(self.waited_for_answer, key=lambda s: s.wall_seconds, default=None)


@dataclass
class Facts:
    timeline: list[Entry]
    requests: list[RequestFacts]


def _span(label, department, start, end, *, now, calendar, request=None) -> Span:
    until = end or now
    business = business_seconds_between(calendar, start, until) if until > start else 0
    return Span(
        label=label,
        department=department,
        start=start,
        end=end,
        wall_seconds=max(0, int((until - start).total_seconds())),
        business_seconds=business,
        request=request,
    )


def _ended_at(request: ServiceRequest):
    if request.status in (Status.RESOLVED, Status.CLOSED):
        return request.resolved_at or request.closed_at
    if request.status == Status.CANCELLED:
        return request.cancelled_at
    if request.status == Status.DECLINED:
        return request.declined_at
    return None


# What answers the requester, and what makes them wait for an answer.
ANSWERING_STATUSES = (Status.WAITING_ON_REQUESTER, Status.RESOLVED, Status.DECLINED)


def review_facts(review: Review, *, user, now=None) -> Facts:
    """The review's facts, for `user`: per request the holds of each department, the waits
    on the requester, the blocked periods with the department they are attributed to (the
    blocker's when it was late, else the holder's), the times the requester waited for an
    answer (wall time and the provider's business time), and one timeline of events,
    breaches, promises, ratings and comments. Internal notes only for the provider's staff.
    A fixed number of queries, whatever the number of events."""
    now = now or timezone.now()
    requests = list(
        review.requests.select_related("requesting_department", "provider_department").order_by(
            "pk"
        )
    )
    ids = [request.pk for request in requests]
    events = list(RequestEvent.objects.filter(request_id__in=ids).order_by("created_at", "id"))
    links = list(RequestLink.objects.filter(request_id__in=ids).select_related("blocked_by"))
    blocker_ids = {link.blocked_by_id for link in links}
    late_blockers = set(
        SLAClock.objects.filter(
            request_id__in=blocker_ids, kind="resolution", state="breached"
        ).values_list("request_id", flat=True)
    )
    breaches = list(
        SLAClock.objects.filter(request_id__in=ids, breached_at__isnull=False).order_by(
            "breached_at"
        )
    )
    waits = list(WaitPeriod.objects.filter(request_id__in=ids))
    ratings = dict(
        SurveyResponse.objects.filter(survey__request_id__in=ids).values_list(
            "survey__request_id", "overall"
        )
    )
    comments = {
        comment.pk: comment
        for comment in Comment.objects.filter(request_id__in=ids).only(
            "pk", "internal", "body", "request_id"
        )
    }
    department_ids = {r.provider_department_id for r in requests} | {
        r.requesting_department_id for r in requests
    }
    department_ids |= {link.blocking_department_id for link in links}
    department_ids |= {e.department_id for e in events}
    for event in events:
        if event.kind == EventKind.TRANSFERRED:
            department_ids |= {event.data.get("from_id"), event.data.get("to_id")} - {None}
    departments = Department.objects.select_related("calendar").in_bulk(department_ids)
    # One calendar instance per calendar, so that each schedule is loaded once.
    calendars = {}
    for department in departments.values():
        department.calendar = calendars.setdefault(department.calendar_id, department.calendar)
    staff_of = set(
        Membership.objects.filter(
            user=user, role__in=PROVIDER_ROLES, department_id__in=department_ids
        ).values_list("department_id", flat=True)
    )

    by_request = {pk: [] for pk in ids}
    for event in events:
        by_request[event.request_id].append(event)
    timeline, facts = [], []
    for request in requests:
        provider = departments[request.provider_department_id]
        facts.append(
            _request_facts(
                request,
                by_request[request.pk],
                departments=departments,
                links=[link for link in links if link.request_id == request.pk],
                late_blockers=late_blockers,
                waits=[wait for wait in waits if wait.request_id == request.pk],
                rating=ratings.get(request.pk),
                now=now,
            )
        )
        sees_internal = request.provider_department_id in staff_of
        for event in by_request[request.pk]:
            if event.internal and event.department_id not in staff_of:
                continue
            entry = _entry(event, request, departments, comments, sees_internal)
            if entry is not None:
                timeline.append(entry)
        for clock in breaches:
            if clock.request_id == request.pk:
                timeline.append(
                    Entry(
                        at=clock.breached_at,
                        kind="breach",
                        label=f"{clock.get_kind_display()} target missed",
                        side=departments[clock.department_id].name
                        if clock.department_id in departments
                        else provider.name,
                        request=request,
                    )
                )
        if request.pk in ratings:
            timeline.append(
                Entry(
                    at=_ended_at(request) or request.updated_at,
                    kind="rating",
                    label=f"Rated {ratings[request.pk]} of 5",
                    side="requester",
                    request=request,
                )
            )
    timeline.sort(key=lambda entry: (entry.at, entry.request.pk))
    return Facts(timeline=timeline, requests=facts)


def _side_of(event, request, departments) -> str:
    if event.actor_id is None:
        return "servicedesk"
    if event.actor_id == request.requester_id:
        return "requester"
    department = departments.get(event.department_id)
    return department.name if department else ""


def _entry(event, request, departments, comments, sees_internal) -> Entry | None:
    """An event as a timeline line; SLA events come from the clocks instead."""
    if event.kind in (EventKind.SLA_WARNING, EventKind.SLA_BREACHED, EventKind.ATTACHED):
        return None
    detail = ""
    if event.kind in (EventKind.COMMENTED, EventKind.NOTE_ADDED):
        comment = comments.get(event.data.get("comment"))
        if comment is None or (comment.internal and not sees_internal):
            return None
        detail = comment.body
    elif event.kind == EventKind.STATUS_CHANGED:
        to = event.data.get("to")
        detail = Status(to).label if to in Status.values else ""
    elif event.kind == EventKind.TRANSFERRED:
        detail = f"{event.data.get('from', '')} to {event.data.get('to', '')}"
    elif event.kind == EventKind.PROMISED:
        detail = event.data.get("day") or event.data.get("to", "")
    elif event.kind in (EventKind.BLOCKED, EventKind.UNBLOCKED):
        detail = event.data.get("reference", "")
    return Entry(
        at=event.created_at,
        kind=event.kind,
        label=EventKind(event.kind).label,
        side=_side_of(event, request, departments),
        request=request,
        detail=detail,
    )


def _request_facts(request, events, *, departments, links, late_blockers, waits, rating, now):
    end = _ended_at(request)
    facts = RequestFacts(request=request, rating=rating)
    # Holds: from filing, department by department through the transfers.
    holder_id, since = None, request.created_at
    for event in events:
        if event.kind == EventKind.CREATED:
            holder_id, since = event.department_id, event.created_at
        elif event.kind == EventKind.TRANSFERRED:
            holder = departments[event.data.get("from_id") or holder_id or event.department_id]
            facts.holds.append(
                _span("Held", holder, since, event.created_at, now=now, calendar=holder.calendar)
            )
            holder_id, since = event.data.get("to_id"), event.created_at
    holder = departments[holder_id or request.provider_department_id]
    facts.holds.append(_span("Held", holder, since, end, now=now, calendar=holder.calendar))
    provider = departments[request.provider_department_id]
    for wait in waits:
        facts.waits_on_requester.append(
            _span(
                "Waiting on the requester",
                departments.get(wait.requesting_department_id),
                wait.started_at,
                wait.ended_at,
                now=now,
                calendar=departments[wait.provider_department_id].calendar,
            )
        )
    for link in links:
        late = link.blocked_by_id in late_blockers
        # Time blocked by a late blocker is the blocking department's; else the holder's.
        attributed = departments[link.blocking_department_id] if late else provider
        facts.blocked.append(
            _span(
                f"Blocked by {link.blocked_by.reference}" + (" (late)" if late else ""),
                attributed,
                link.created_at,
                link.ended_at,
                now=now,
                calendar=provider.calendar,
                request=link.blocked_by,
            )
        )
    facts.waited_for_answer = _waits_for_answer(request, events, departments, end=end, now=now)
    return facts


def _waits_for_answer(request, events, departments, *, end, now) -> list[Span]:
    """Each time the requester waited for the provider: from their filing, reply, resume
    or reopen until the provider's next public answer (a reply, an acknowledgement, a
    question, a resolution or a decline), in the provider's business time and wall time."""
    spans, waiting_since, holder = [], None, None
    for event in events:
        by_requester = event.actor_id == request.requester_id
        kind, to = event.kind, event.data.get("to")
        starts = event.kind == EventKind.CREATED or (
            by_requester
            and (
                kind == EventKind.COMMENTED
                or (kind == EventKind.STATUS_CHANGED and to == Status.IN_PROGRESS)
            )
        )
        answers = not by_requester and (
            (kind == EventKind.COMMENTED and event.data.get("by_provider"))
            or kind == EventKind.ACKNOWLEDGED
            or (kind == EventKind.STATUS_CHANGED and to in ANSWERING_STATUSES)
        )
        if starts and waiting_since is None:
            waiting_since, holder = event.created_at, departments.get(event.department_id)
        elif answers and waiting_since is not None:
            spans.append(
                _span(
                    "Waited for an answer",
                    holder,
                    waiting_since,
                    event.created_at,
                    now=now,
                    calendar=holder.calendar,
                )
            )
            waiting_since = None
    if waiting_since is not None:
        spans.append(
            _span(
                "Waited for an answer",
                holder,
                waiting_since,
                end,
                now=now,
                calendar=holder.calendar,
            )
        )
    return spans
