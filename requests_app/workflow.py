"""The request lifecycle's decisions, each written once: who may take an action, what the
request's state refuses (with which message), and which statuses an action leads from and to.

Who may act is decided before anything else: `request_action_authorize` is the first thing
every service does (under the request's lock), and the API and page views call it too,
before they read a byte of the input. So a person who may not act is answered 403 (404
where they may not even see the request) whatever they send, never a 400 that tells them
how their input would have been judged. `actor_refusal` is the pure rule, for callers that
hold the facts in memory (the demo's replay).
"""

import datetime
import re
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from core.limits import datetime_error
from departments.choices import Priority, Role
from departments.models import Membership

from .choices import OPEN_STATUSES, ClockKind, EventKind, NotificationKind, Status
from .selectors import is_provider_staff


class Actors(StrEnum):
    """Who may take an action on a request."""

    PROVIDER = "provider"  # agents and managers of the provider department
    PARTIES = "parties"  # the requester, or agents and managers of the provider department
    # The requester, or managers of the requesting department: the customer's side. A
    # provider that finds a request invalid declines it (with a reason the requester can
    # answer by reopening); it cannot withdraw it and so take its late work out of the scores.
    CUSTOMER = "customer"


# Every action on a request, by who may take it. "comment" is a public reply, "note" an
# internal one; "attach" adds files without a reply.
ACTION_ACTORS: dict[str, Actors] = {
    "acknowledge": Actors.PROVIDER,
    "assign": Actors.PROVIDER,
    "start": Actors.PROVIDER,
    "wait": Actors.PROVIDER,
    "resolve": Actors.PROVIDER,
    "decline": Actors.PROVIDER,
    "priority": Actors.PROVIDER,
    "promise": Actors.PROVIDER,
    "transfer": Actors.PROVIDER,
    "block": Actors.PROVIDER,
    "unblock": Actors.PROVIDER,
    "note": Actors.PROVIDER,
    "resume": Actors.PARTIES,
    "reopen": Actors.PARTIES,
    "close": Actors.PARTIES,
    "cancel": Actors.CUSTOMER,
    "comment": Actors.PARTIES,
    "attach": Actors.PARTIES,
}

REFUSALS: dict[str, str] = {
    "note": "Only the provider department can write internal notes.",
    # Managers of the requesting department can read, not write, their team's requests.
    "comment": "Only the requester and the provider department can reply.",
    "attach": "Only the requester and the provider department can attach files.",
    Actors.PROVIDER: "Only agents and managers of the provider department can do this.",
    Actors.PARTIES: "Only the requester and the provider department can do this.",
    Actors.CUSTOMER: (
        "Only the requester and the managers of the requesting department can cancel a request."
    ),
}

# Status changes: action -> (statuses it may start from, status it leads to).
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "start": ((Status.NEW,), Status.IN_PROGRESS),
    "wait": ((Status.NEW, Status.IN_PROGRESS), Status.WAITING_ON_REQUESTER),
    "resume": ((Status.WAITING_ON_REQUESTER,), Status.IN_PROGRESS),
    "resolve": (OPEN_STATUSES, Status.RESOLVED),
    "decline": (OPEN_STATUSES, Status.DECLINED),
    "reopen": ((Status.RESOLVED, Status.DECLINED), Status.IN_PROGRESS),
    "close": ((Status.RESOLVED,), Status.CLOSED),
    "cancel": (OPEN_STATUSES, Status.CANCELLED),
}


# What an action needs of the request besides its status rules, and the message otherwise.
CLOSED_TO_REPLIES = (Status.CLOSED, Status.CANCELLED)
OPEN_ONLY = {
    "assign": ("assignee", "Only open requests can be assigned."),
    "priority": ("priority", "Only open requests can change priority."),
    "promise": ("promised_at", "Only open requests can get a promise."),
    "transfer": ("department", "Only open requests can be transferred."),
    "block": ("blocked_by", "Only open requests can be blocked."),
    "acknowledge": ("status", "Only open requests can be acknowledged."),
}


def reopen_until(request) -> datetime.datetime | None:
    """Until when a resolved or declined request may be reopened (None: neither)."""
    done_at = request.resolved_at or getattr(request, "declined_at", None)
    if done_at is None:
        return None
    return done_at + datetime.timedelta(days=settings.REOPEN_WINDOW_DAYS)


def state_refusal(action: str, request, *, now: datetime.datetime) -> dict[str, str] | None:
    """Why the request, as it is at `now`, refuses `action` ({field: message}), or None."""
    if action in TRANSITIONS:
        sources, _target = TRANSITIONS[action]
        if request.status not in sources:
            status = Status(request.status).label.lower()
            return {"status": f"Cannot {action} a request that is {status}."}
        until = reopen_until(request)
        if action == "reopen" and until is not None and now > until:
            return {
                "status": (
                    f"Requests can be reopened within {settings.REOPEN_WINDOW_DAYS} days "
                    "of their resolution or decline; file a new one."
                )
            }
        return None
    if action in OPEN_ONLY and request.status not in OPEN_STATUSES:
        field, message = OPEN_ONLY[action]
        return {field: message}
    if action == "acknowledge" and request.first_responded_at is not None:
        return {"status": "This request has had its first response already."}
    if action in ("comment", "note") and request.status in CLOSED_TO_REPLIES:
        return {"body": "This request is closed; file a new one."}
    if action == "attach" and request.status in CLOSED_TO_REPLIES:
        return {"file": "This request is closed."}
    return None


def state_check(action: str, request, *, now: datetime.datetime) -> None:
    """Raise ValidationError if the request's state refuses `action`."""
    refusal = state_refusal(action, request, now=now)
    if refusal is not None:
        raise ValidationError(refusal)


def actions_allowed(
    request,
    *,
    is_requester: bool,
    is_provider_staff: bool,
    is_customer_manager: bool = False,
    now: datetime.datetime,
) -> list[str]:
    """Every action the person may take on the request as it is at `now`, in a fixed order."""
    facts = {
        "is_requester": is_requester,
        "is_provider_staff": is_provider_staff,
        "is_customer_manager": is_customer_manager,
    }
    return [
        action
        for action in ACTION_ACTORS
        if actor_refusal(action, **facts) is None
        and state_refusal(action, request, now=now) is None
    ]


def actor_refusal(
    action: str, *, is_requester: bool, is_provider_staff: bool, is_customer_manager: bool = False
) -> str | None:
    """Why someone may not take `action` on a request they can see, or None if they may: who
    they are to it (its requester, staff of its provider, a manager of its requesting
    department) decides."""
    actors = ACTION_ACTORS[action]
    if actors == Actors.CUSTOMER:
        allowed = is_requester or is_customer_manager
    else:
        allowed = is_provider_staff or (actors == Actors.PARTIES and is_requester)
    return None if allowed else REFUSALS.get(action) or REFUSALS[actors]


def manages_department(user, department_id: int) -> bool:
    return Membership.objects.filter(
        user=user, department_id=department_id, role=Role.MANAGER
    ).exists()


def _facts(actor, request) -> dict[str, bool]:
    return {
        "is_requester": actor is not None and actor.pk == request.requester_id,
        "is_provider_staff": actor is not None
        and is_provider_staff(user=actor, department_id=request.provider_department_id),
        "is_customer_manager": actor is not None
        and manages_department(actor, request.requesting_department_id),
    }


def request_actions_for(user, request, *, now: datetime.datetime) -> list[str]:
    """The actions `user` may take on `request` (visible to them) now: what the pages draw
    as buttons and the API lists as `allowed_actions`."""
    return actions_allowed(request, now=now, **_facts(user, request))


def request_action_authorize(*, actor, request, action: str) -> None:
    """Raise PermissionDenied unless `actor` may take `action` on `request` (visible to
    them: the caller has checked that, or answers 404 first)."""
    refusal = actor_refusal(action, **_facts(actor, request))
    if refusal is not None:
        raise PermissionDenied(refusal)


def request_file_authorize(*, requester) -> None:
    """Raise PermissionDenied unless `requester` may file requests: a member of a department
    (the department they file for is their input, checked afterwards)."""
    if requester is None or not Membership.objects.filter(user=requester).exists():
        raise PermissionDenied("You are not a member of any department; ask an administrator.")


# --- what the input of an action refuses -----------------------------------------------------
# Pure: each takes the facts it needs (looked up by the caller, from the database or from
# memory) and answers {field: message} or None.


def decline_refusal(reason: str) -> dict[str, str] | None:
    """A decline says why: the requester reads it, and may answer by reopening."""
    if not (reason or "").strip():
        return {"comment": "Say why you decline the request: the requester will read it."}
    return None


def file_refusal(*, service, priority: str, requesting_department) -> dict[str, str] | None:
    """Why a request for `service` at `priority`, filed for `requesting_department`, is
    refused."""
    errors = {}
    if priority not in Priority.values:
        errors["priority"] = f"Choose one of: {', '.join(Priority.values)}."
    if not service.active or not service.department.is_provider:
        errors["service"] = "This service is not offered any more."
    if requesting_department.pk == service.department_id:
        errors["service"] = "Pick a service of another department: this is your own department."
    return errors or None


def body_refusal(body: str) -> dict[str, str] | None:
    """Why a reply is refused (its files are judged by `attachments.errors_for`)."""
    return None if (body or "").strip() else {"body": "Write something first."}


def assign_refusal(request, assignee, *, assignee_is_staff: bool) -> dict[str, str] | None:
    """Why `assignee` (None: unassign) cannot be given the request."""
    if assignee is None or assignee_is_staff:
        return None
    return {
        "assignee": (f"{assignee.username} is not an agent of {request.provider_department.name}.")
    }


def priority_refusal(priority: str) -> dict[str, str] | None:
    if priority in Priority.values:
        return None
    return {"priority": f"Choose one of: {', '.join(Priority.values)}."}


DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def promise_day(value) -> datetime.date | None:
    """The day a promise's input names ("2026-12-04"), None if it names no day but perhaps a
    moment; ValueError for a day that does not exist (2026-02-30)."""
    if isinstance(value, str) and DAY.fullmatch(value.strip()):
        return datetime.date.fromisoformat(value.strip())
    return None


def promise_deadline(promised, *, zone) -> datetime.datetime:
    """The instant a promise is kept by. A day ("promised Friday") is kept by delivering any
    time that day in the provider's timezone `zone`: its last instant. A datetime is itself."""
    if isinstance(promised, datetime.datetime):
        return promised
    next_day = datetime.datetime.combine(promised + datetime.timedelta(days=1), datetime.time())
    return next_day.replace(tzinfo=zone) - datetime.timedelta(microseconds=1)


def promise_refusal(promised, *, now: datetime.datetime, zone) -> dict[str, str] | None:
    """Why a promise (a day, or a datetime with its timezone) cannot be given at `now`."""
    if promised is None:
        return {"promised_at": "Give the date you commit to."}
    if isinstance(promised, datetime.datetime) and timezone.is_naive(promised):
        return {"promised_at": "Give a date with a timezone."}
    if datetime_error(promised):
        return {"promised_at": datetime_error(promised)}
    if promise_deadline(promised, zone=zone) < now:
        return {"promised_at": "A promise must be in the future."}
    return None


def transfer_service_pick(services, *, name: str):
    """The service a transfer lands on when none is given: the receiving department's active
    service of the same name, else its first active one by name (`services`: its active
    services, any order)."""
    ordered = sorted(services, key=lambda service: (service.name, service.pk))
    same = [service for service in ordered if service.name == name]
    return (same or ordered or [None])[0]


def transfer_refusal(request, *, department, service, service_given: bool) -> dict[str, str] | None:
    """Why the request cannot move to `department` (and `service`: the one given, or the one
    `transfer_service_pick` found, None if none)."""
    if department.pk == request.provider_department_id:
        return {"department": "The request is already with this department."}
    if not department.is_provider:
        return {"department": f"{department.name} does not take requests."}
    if department.pk == request.requesting_department_id:
        return {"department": "A request cannot be transferred to the department that filed it."}
    if not service_given and service is None:
        return {"service": f"{department.name} offers no service to transfer to."}
    if service_given and (service.department_id != department.pk or not service.active):
        return {"service": f"Pick an active service of {department.name}."}
    return None


def block_refusal(
    request, blocker, *, visible: bool, already_linked: bool, blocker_waits_on_request: bool
) -> dict[str, str] | None:
    """Why `blocker` cannot be recorded as holding up the request: unseen by the actor
    (`visible`), itself, finished, linked already, or (`blocker_waits_on_request`) a cycle."""
    if not visible:
        return {"blocked_by": "No such request."}
    if blocker.pk == request.pk:
        return {"blocked_by": "A request cannot block itself."}
    if blocker.status not in OPEN_STATUSES:
        status = Status(blocker.status).label.lower()
        return {"blocked_by": f"{blocker.reference} is already {status}."}
    if already_linked:
        return {"blocked_by": f"Already blocked by {blocker.reference}."}
    if blocker_waits_on_request:
        return {"blocked_by": f"{blocker.reference} is itself waiting on this request."}
    return None


def waits_on(start_pk: int, target_pk: int, *, blockers_of) -> bool:
    """Does request `start` wait, through open blocked-by links, on request `target`?
    `blockers_of(pks)` gives the ids of the requests blocking any of `pks`."""
    seen, frontier = set(), {start_pk}
    while frontier:
        if target_pk in frontier:
            return True
        seen |= frontier
        frontier = set(blockers_of(frontier)) - seen
    return False


def unblock_refusal(blocker, *, linked: bool) -> dict[str, str] | None:
    return None if linked else {"blocked_by": f"Not blocked by {blocker.reference}."}


def refuse(refusal: dict[str, str] | None) -> None:
    """Raise the ValidationError of a refusal, if any."""
    if refusal is not None:
        raise ValidationError(refusal)


# --- what an action records ----------------------------------------------------------------
# The data of the events that more than one writer makes (the lifecycle, and the bench that
# loads a year of history without it), so that they cannot drift apart.


def created_data(*, service_name: str, priority: str, confidential: bool) -> dict:
    return {"service": service_name, "priority": priority, "confidential": confidential}


def status_data(before: str, to: str, **extra) -> dict:
    """A status change; `extra` says why when it was not asked for (auto="reply")."""
    return {"from": before, "to": to, **extra}


def comment_data(comment_pk: int, *, by_provider: bool) -> dict:
    return {"comment": comment_pk, "by_provider": by_provider}


def assigned_data(before: str | None, to: str | None) -> dict:
    """An assignment, by username (None: nobody)."""
    return {"from": before, "to": to}


def priority_data(
    before: str,
    to: str,
    targets: dict[str, int],
    *,
    source: str | None = None,
    agreement_id: int | None = None,
) -> dict:
    """A priority change with the targets (seconds per clock kind) the clocks now follow,
    and where they come from (departments.targets)."""
    data = {"from": before, "to": to, "targets": targets}
    if source is not None:
        data["source"] = source
        data["agreement"] = agreement_id
    return data


def promise_data(
    before: datetime.datetime | None, to: datetime.datetime, *, day: datetime.date | None = None
) -> dict:
    """A promise: the instant it is kept by, and the day when it is one ("promised Friday")."""
    data = {"from": before.isoformat() if before else None, "to": to.isoformat()}
    if day is not None:
        data["day"] = day.isoformat()
    return data


def clock_data(kind: str, due_at: datetime.datetime | None) -> dict:
    """A clock's warning or breach."""
    return {"clock": kind, "due_at": due_at.isoformat() if due_at else None}


def filed_notice(*, pk: int, priority: str, department_name: str, title: str) -> tuple[str, str]:
    """The message and dedupe key of the notice to the provider of a new request."""
    return f"New {priority} request from {department_name}: {title}", f"filed:{pk}"


@dataclass(frozen=True)
class Crossing:
    """What a clock crossing its warning or its due time sets off: an internal event, and a
    notice to whom settings.SLA_NOTIFY names for it (`audience`)."""

    breached: bool
    clock_pk: int
    data: dict
    message: str

    @property
    def event_kind(self) -> str:
        return EventKind.SLA_BREACHED if self.breached else EventKind.SLA_WARNING

    @property
    def notification_kind(self) -> str:
        return NotificationKind.SLA_BREACHED if self.breached else NotificationKind.SLA_WARNING

    @property
    def audience(self) -> str:
        return "breach" if self.breached else "warning"

    @property
    def dedupe_key(self) -> str:
        return f"{self.audience}:{self.clock_pk}"


def clock_crossing(clock, result, request, *, now: datetime.datetime) -> Crossing | None:
    """The scanner's decision for one clock, once its figures (`result`, clocks.compute) are
    known at `now`: a breach not yet told, else a warning not yet told, else nothing. Marks
    the clock as told (a breach also counts as its warning: no late warning follows). A
    clock with escalation levels gets no default warning: its levels say who hears when."""
    label = ClockKind(clock.kind).label.lower()
    data = clock_data(clock.kind, result.due_at)
    if result.breached_at is not None and clock.breach_notified_at is None:
        clock.breach_notified_at = now
        clock.warning_notified_at = clock.warning_notified_at or now
        message = f"{request.reference}: {label} target breached"
        return Crossing(breached=True, clock_pk=clock.pk, data=data, message=message)
    if result.warned_at is not None and clock.warning_notified_at is None:
        clock.warning_notified_at = now
        if clock.escalation_levels:
            return None  # its levels replace the default warning (escalation.py)
        message = f"{request.reference}: {label} due {timezone.localtime(result.due_at):%a %H:%M}"
        return Crossing(breached=False, clock_pk=clock.pk, data=data, message=message)
    return None


def assignee_at_transfer(clock, events) -> str | None:
    """The username of whom the clock's department had assigned the request to when a
    transfer took it away (None: nobody): the last assignment it made while holding it
    (`events`: the request's, in time order; the transfer itself unassigns, with no event)."""
    username = None
    for event in events:
        if event.created_at < clock.started_at or event.department_id != clock.department_id:
            continue
        if event.kind == EventKind.TRANSFERRED:
            break
        if event.kind == EventKind.ASSIGNED:
            username = (event.data or {}).get("to")
    return username


def sla_recipients(clock, request, audience: str, *, staff, events=()) -> list:
    """Who hears of a clock's warning or breach (settings.SLA_NOTIFY[audience]): people of
    the department that held the clock, which for a clock a transfer retired is the one the
    request left, not the one it is with now (clock_staff)."""
    return clock_staff(clock, request, settings.SLA_NOTIFY[audience], staff=staff, events=events)


def clock_staff(clock, request, roles, *, staff, events=()) -> list:
    """The people of a clock's department in `roles` ("assignee", "agents", "managers"), the
    one decision of whom a clock's notices go to (sla_recipients, escalation_recipients):
    the assignee (or, with none, the agents), the agents, the managers. For a clock a
    transfer retired, the department is the one the request left and the assignee the last
    one it made (`events`: the request's, in time order), told only while still on that
    department's staff. `staff(department_id, role)` lists a department's people in a role,
    so callers can look them up once."""
    department_id = clock.department_id
    if clock.is_current:
        assignee = request.assignee if request.assignee_id else None
    else:
        username = assignee_at_transfer(clock, events)
        on_staff = staff(department_id, Role.AGENT) + staff(department_id, Role.MANAGER)
        assignee = next((user for user in on_staff if user.username == username), None)
    users = []
    if "assignee" in roles:
        if assignee is not None:
            users.append(assignee)
        elif "agents" not in roles:
            users += staff(department_id, Role.AGENT)
    if "agents" in roles:
        users += staff(department_id, Role.AGENT)
    if "managers" in roles:
        users += staff(department_id, Role.MANAGER)
    return users


@dataclass(frozen=True)
class Escalation:
    """An escalation level firing for a clock: an internal event on the timeline, a notice
    to the level's audiences, and its action, if any (lifecycle.escalate)."""

    clock_pk: int
    kind: str
    level: dict
    message: str

    @property
    def data(self) -> dict:
        return {"clock": self.kind, **self.level}

    @property
    def dedupe_key(self) -> str:
        return f"escalation:{self.clock_pk}:{self.level['number']}"

    @property
    def acts(self) -> bool:
        return bool(self.level.get("action"))


def clock_escalations(
    clock, result, request, *, now: datetime.datetime, may_act: bool = True
) -> list[Escalation]:
    """The escalation levels a clock fires at `now`, in order, once its figures (`result`,
    clocks.compute) are known: each level due after those fired (escalation.levels_due).
    Counts them on the clock and sets when the next is due. With `may_act` false (the
    request is busy, or the scan has acted enough) a level with an action and the levels
    after it wait for the next scan, never skipped."""
    from departments.describe import escalation_threshold_text

    from .escalation import levels_due, next_escalation

    fired = []
    for index in levels_due(result.escalation_at, clock.escalation_level, now):
        level = clock.escalation_levels[index]
        if level.get("action") and not may_act:
            break
        label = ClockKind(clock.kind).label.lower()
        threshold = escalation_threshold_text(level["threshold"], level["value"])
        message = f"{request.reference}: {label} escalated, level {level['number']} ({threshold})"
        fired.append(Escalation(clock_pk=clock.pk, kind=clock.kind, level=level, message=message))
        clock.escalation_level = index + 1
    clock.next_escalation_at = next_escalation(result.escalation_at, clock.escalation_level)
    return fired


def escalation_recipients(clock, request, audiences, *, staff, events=()) -> list:
    """Who hears of an escalation level (departments.choices.EscalationAudience): the
    clock's department's assignee, agents or managers as for a breach (clock_staff), the
    managers of its parent department or of the customer department; each person once. A
    level fires on a current clock only (clocks.clock_refresh), whose department is the
    request's provider. `staff(department_id, role)` as for `sla_recipients`."""
    users = clock_staff(clock, request, audiences, staff=staff, events=events)
    parent_id = request.provider_department.parent_id
    if "parent_managers" in audiences and parent_id is not None:
        users += staff(parent_id, Role.MANAGER)
    if "customer_managers" in audiences:
        users += staff(request.requesting_department_id, Role.MANAGER)
    unique = {}
    for user in users:
        unique.setdefault(user.pk, user)
    return list(unique.values())


def escalation_raises(priority: str, raise_to: str) -> bool:
    """Does a level's "raise the priority to" change a request at `priority`? Only upwards,
    so a rerun, or a request raised by hand meanwhile, is left alone."""
    order = list(Priority.values)
    return order.index(raise_to) > order.index(priority)
