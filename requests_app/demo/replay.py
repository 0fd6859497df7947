"""The demo history's replay: the plans' steps in time order across requests, with the
SLA scanner every simulated hour, through one of two engines that run the same lifecycle:
ServicesReplay (the service functions, on the database) and FastReplay (in memory, written
in bulk at the end)."""

from __future__ import annotations

import datetime
import heapq
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.color import no_style
from django.db import connection
from django.utils import timezone

from departments.business_time import business_seconds_between
from departments.choices import EscalationThreshold, Role
from departments.models import Membership

from .. import lifecycle, services
from ..choices import ClockKind, ClockState, EventKind, NotificationKind, Status
from ..clocks import clock_refresh, clocks_start_fields, request_due_times
from ..escalation import levels_due
from ..models import (
    Comment,
    Notification,
    RequestEvent,
    RequestLink,
    ServiceRequest,
    SLAClock,
    WaitPeriod,
)
from ..scanner import ACTIONS_PER_SCAN, BATCH_SIZE, sla_clocks_scan
from ..selectors import PROVIDER_ROLES, provider_staff, targets_by_kind, visible_by_rule
from ..workflow import clock_crossing, clock_escalations, escalation_recipients, sla_recipients
from .planner import HistoryPlanner, Plan, Step

# The scanner runs every minute in production; hourly is close enough for history.
SCAN_EVERY = datetime.timedelta(hours=1)
# The history's notifications are read when older than this, that long after they came.
NOTIFICATIONS_UNREAD_FOR = datetime.timedelta(days=2)
NOTIFICATION_READ_AFTER = datetime.timedelta(hours=3)
PROGRESS_EVERY = datetime.timedelta(weeks=4)


@dataclass
class Outcome:
    """What the replay did, for the summary."""

    failures: list = field(default_factory=list)
    scans: int = 0
    warned: int = 0
    breached: int = 0
    escalated: int = 0
    actions: Counter = field(default_factory=Counter)


# --- the replay ------------------------------------------------------------------------------
#
# Two engines with one interface (run a step, scan, finish); see the module docstring. Each
# service call costs a dozen ORM queries (about 15 ms on a small machine), too slow for the
# 20,000 actions of six months at `make run`: hence the store in memory. It holds no rule of
# its own (the lifecycle and workflow decide), only how rows are kept; test_demo compares.


def step_run(engine, ops, plan: Plan, step: Step) -> None:
    """One planned step, through `ops`: the service functions (`services`), or the same
    signatures on the replay in memory (FastReplay), which run the same lifecycle."""
    args, now = step.args, step.at
    if step.action == "create":
        engine.requests[plan.order] = ops.request_create(
            requester=plan.requester,
            service=plan.service,
            title=plan.title,
            description=plan.description,
            priority=plan.priority,
            confidential=plan.confidential,
            now=now,
        )
        return
    request = engine.requests.get(plan.order)
    if request is None:
        raise ValidationError("The request was never filed.")
    if step.action == "assign":
        ops.request_assign(request=request, actor=args["actor"], assignee=args["assignee"], now=now)
    elif step.action == "priority":
        ops.request_priority_change(
            request=request, actor=args["actor"], priority=args["priority"], now=now
        )
    elif step.action == "ack":
        ops.request_acknowledge(request=request, actor=args["actor"], now=now)
    elif step.action == "comment":
        ops.request_comment_add(
            request=request,
            author=args["author"],
            body=_text(engine, args, "body"),
            internal=args.get("internal", False),
            now=now,
        )
    elif step.action == "transition":
        ops.request_transition(
            request=request,
            actor=args["actor"],
            action=args["action"],
            comment=_text(engine, args, "comment"),
            now=now,
        )
    elif step.action == "promise":
        ops.request_promise(
            request=request, actor=args["actor"], promised_at=args["promised_at"], now=now
        )
    elif step.action == "transfer":
        ops.request_transfer(
            request=request,
            actor=args["actor"],
            department=args["department"],
            service=args["service"],
            now=now,
        )
    elif step.action == "block":
        blocker = engine.current(args["blocker"])
        if blocker is None:
            raise ValidationError("The blocking request was never filed.")
        ops.request_block(request=request, actor=args["actor"], blocked_by=blocker, now=now)
    else:  # pragma: no cover - a planning bug
        raise ValueError(f"Unknown step {step.action}.")


class ServicesReplay:
    """Every step through the service that the app would call."""

    def __init__(self, planner: HistoryPlanner):
        self.requests: dict[int, ServiceRequest] = {}

    def reference(self, plan: Plan) -> str | None:
        request = self.requests.get(plan.order)
        return request.reference if request is not None else None

    def current(self, plan: Plan) -> ServiceRequest | None:
        """The request of a plan as the database has it now."""
        request = self.requests.get(plan.order)
        return ServiceRequest.objects.get(pk=request.pk) if request is not None else None

    def run(self, plan: Plan, step: Step) -> None:
        step_run(self, services, plan, step)

    def scan(self, at) -> dict:
        return sla_clocks_scan(now=at, limit=10_000)

    def finish(self) -> None:
        pass


def _text(engine, args: dict, key: str) -> str:
    """A planned text, with the blocking request's reference filled in."""
    text = args.get(key, "")
    blocker = args.get("blocker")
    if blocker is not None and "{blocker}" in text:
        text = text.replace("{blocker}", engine.reference(blocker) or "the other request")
    return text


class _Simulated:
    """A request as FastReplay keeps it: the row and every row that hangs off it."""

    __slots__ = ("clocks", "events", "links_in", "links_out", "row", "wait")

    def __init__(self, row: ServiceRequest):
        self.row = row
        self.events: list[RequestEvent] = []
        self.clocks: list[SLAClock] = []
        self.wait: WaitPeriod | None = None
        self.links_out: list[RequestLink] = []  # active links: this request is blocked by
        self.links_in: list[RequestLink] = []  # active links: this request blocks

    def current_clocks(self) -> list[SLAClock]:
        return [clock for clock in self.clocks if clock.is_current]


FAST_MODELS = (
    ServiceRequest,
    Comment,
    RequestEvent,
    SLAClock,
    WaitPeriod,
    RequestLink,
    Notification,
)


# A clock the scanner picks for an escalation level may have no due time (paused while
# waiting on the requester): the scanner's ORDER BY due_at puts it where the database puts
# NULLs (last on PostgreSQL, first on SQLite), and the replay must order it the same way.
NO_DUE_TIME = datetime.datetime.min.replace(tzinfo=datetime.UTC)


def scan_order(clock) -> tuple:
    """The key of the scanner's `order_by("due_at", "pk")` on this database."""
    nulls_last = connection.features.nulls_order_largest
    if clock.due_at is None:
        return (nulls_last, NO_DUE_TIME, clock.pk)
    return (not nulls_last, clock.due_at, clock.pk)


class FastReplay:
    """A lifecycle.Store in memory, written in bulk by `finish`.

    Its `request_*` methods have the services' signatures and run the same lifecycle
    functions; `scan` runs the scanner's decision. Rows get their primary keys in the order
    the database would give them, so every field comes out as the services would have
    written it (test_demo compares the two).
    """

    def __init__(self, planner: HistoryPlanner, *, first_pks: dict | None = None):
        self.planner = planner
        self.requests: dict[int, ServiceRequest] = {}  # plan order -> its row
        self.requests_by_pk: dict[int, _Simulated] = {}
        self.rows: dict = {model: [] for model in FAST_MODELS}
        self.next_pk = {}
        for model in FAST_MODELS:
            last = model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            self.next_pk[model] = max(last + 1, (first_pks or {}).get(model, 0))
        self.dedupe_keys: set = set()
        self.triggers: list = []
        self.armed: dict[int, int] = {}  # clock id -> how often armed: stale triggers skip
        self.computed_upto: dict[int, int] = {}  # clock id -> events seen when last computed
        staff = Membership.objects.filter(role__in=PROVIDER_ROLES).values_list(
            "user_id", "department_id"
        )
        self.staff_pairs = set(staff)
        self.manager_pairs = set(
            Membership.objects.filter(role=Role.MANAGER).values_list("user_id", "department_id")
        )
        self._staff_lists: dict = {}

    # --- bookkeeping ---------------------------------------------------------------------

    def _new(self, model, **fields):
        row = model(pk=self.next_pk[model], **fields)
        self.next_pk[model] += 1
        self.rows[model].append(row)
        return row

    def reference(self, plan: Plan) -> str | None:
        row = self.requests.get(plan.order)
        return row.reference if row is not None else None

    def _people(self, department_id: int, roles) -> list:
        key = (department_id, tuple(roles))
        if key not in self._staff_lists:
            self._staff_lists[key] = list(provider_staff(department_id=department_id, roles=roles))
        return self._staff_lists[key]

    def _agents(self, department_id: int) -> list:
        return self._people(department_id, [Role.AGENT])

    # --- bookkeeping of the rows in memory --------------------------------------------

    def _event(self, simulated, *, actor, kind, now, data=None, internal=False, department_id=None):
        event = self._new(
            RequestEvent,
            request_id=simulated.row.pk,
            actor_id=actor.pk if actor is not None else None,
            kind=kind,
            created_at=now,
            department_id=department_id or simulated.row.provider_department_id,
            data=data or {},
            internal=internal,
        )
        simulated.events.append(event)
        return event

    def _notify(self, *, users, kind, message, dedupe_key, simulated, exclude=(), now) -> None:
        exclude_ids = {u.pk for u in exclude if u is not None}
        recipients = {u.pk: u for u in users if u is not None and u.pk not in exclude_ids}
        for user_id in recipients:
            if (user_id, dedupe_key) in self.dedupe_keys:
                continue
            self.dedupe_keys.add((user_id, dedupe_key))
            self._new(
                Notification,
                user_id=user_id,
                request_id=simulated.row.pk,
                kind=kind,
                message=message[:300],
                dedupe_key=dedupe_key,
                created_at=now,
            )

    def _compute(self, simulated, clock: SLAClock, now) -> object:
        result = clock_refresh(clock, simulated.events, now)
        self.computed_upto[clock.pk] = len(simulated.events)
        return result

    def _may_change(self, simulated, clock: SLAClock) -> bool:
        for event in simulated.events[self.computed_upto[clock.pk] :]:
            if event.kind == EventKind.PRIORITY_CHANGED or (
                event.kind == EventKind.STATUS_CHANGED and event.data.get("from") == Status.RESOLVED
            ):
                return True
        return False

    def _arm(self, simulated, clock: SLAClock) -> None:
        """When would the scanner's query first pick this clock, as cached now? A clock
        that ended late (completed, or stopped: transferred, cancelled) and not told is
        picked from its end while the end is within settings.SLA_SCAN_LOOKBACK (`scan`
        checks the bound), retired or not."""
        self.armed[clock.pk] = self.armed.get(clock.pk, 0) + 1
        moments = []
        if (
            clock.state == ClockState.RUNNING
            and clock.warning_notified_at is None
            and clock.warn_at is not None
        ):
            moments.append(clock.warn_at)
        if (
            clock.state in (ClockState.RUNNING, ClockState.BREACHED)
            and clock.completed_at is None
            and clock.stopped_at is None
            and clock.breach_notified_at is None
            and clock.due_at is not None
        ):
            moments.append(clock.due_at)
        ended_at = clock.completed_at or clock.stopped_at
        if (
            clock.state == ClockState.BREACHED
            and ended_at is not None
            and clock.breach_notified_at is None
        ):
            moments.append(ended_at)  # late, then completed or stopped between two scans
        if clock.next_escalation_at is not None:
            moments.append(clock.next_escalation_at)  # None for a retired clock
        if moments:
            heapq.heappush(
                self.triggers, (min(moments), clock.pk, self.armed[clock.pk], clock, simulated)
            )

    def _resolution_version(self, simulated):
        for clock in simulated.current_clocks():
            if clock.kind == ClockKind.RESOLUTION:
                return clock.calendar_version
        return self.planner.calendar_of[simulated.row.provider_department_id]

    # --- the lifecycle's Store, in memory (see lifecycle.Store) ---------------------------

    def _sim(self, request) -> _Simulated:
        return self.requests_by_pk[request.pk]

    def is_staff(self, user, request) -> bool:
        return (user.pk, request.provider_department_id) in self.staff_pairs

    def manages(self, user, department_id: int) -> bool:
        return (user.pk, department_id) in self.manager_pairs

    def staff(self, department_id: int, *, agents_only: bool) -> list:
        return self._people(department_id, [Role.AGENT] if agents_only else PROVIDER_ROLES)

    def target_for(self, request, priority: str):
        started_at = next(
            (clock.started_at for clock in self._sim(request).current_clocks()),
            request.created_at,
        )
        return self.planner.basis(
            request.service,
            priority,
            customer_id=request.requesting_department_id,
            at=started_at,
        )

    def transfer_services(self, department) -> list:
        return self.planner.services_by_department.get(department.pk, [])

    def sees(self, user, request) -> bool:
        return visible_by_rule(
            request,
            user_pk=user.pk,
            provider_of={department for who, department in self.staff_pairs if who == user.pk},
            manager_of={department for who, department in self.manager_pairs if who == user.pk},
        )

    def blockers_of(self, pks) -> set[int]:
        return {link.blocked_by_id for pk in pks for link in self.requests_by_pk[pk].links_out}

    def open_link(self, request, blocker):
        return next(
            (link for link in self._sim(request).links_out if link.blocked_by_id == blocker.pk),
            None,
        )

    def links_blocked_by(self, blocker) -> list:
        return sorted(self._sim(blocker).links_in, key=lambda link: (link.created_at, link.pk))

    def links_of(self, request) -> list:
        return list(self._sim(request).links_out)

    def create(self, **fields) -> ServiceRequest:
        row = self._new(ServiceRequest, **fields)
        self.requests_by_pk[row.pk] = _Simulated(row)
        return row

    def save(self, request, *, fields, now) -> None:
        request.updated_at = now

    def event(self, request, *, actor, kind, now, data=None, internal=False) -> None:
        self._event(
            self._sim(request), actor=actor, kind=kind, now=now, data=data, internal=internal
        )

    def notify(self, request, *, users, kind, message, dedupe_key, now, exclude=()) -> None:
        self._notify(
            users=users,
            exclude=exclude,
            simulated=self._sim(request),
            kind=kind,
            message=message,
            dedupe_key=dedupe_key,
            now=now,
        )

    def comment(self, request, *, author, body, body_html, internal, now) -> Comment:
        return self._new(
            Comment,
            request_id=request.pk,
            author_id=author.pk,
            body=body,
            body_html=body_html,
            internal=internal,
            created_at=now,
        )

    def attach(self, request, *, files, uploaded_by, now, comment=None) -> list:
        if files:  # pragma: no cover - the demo plans no files
            raise ValueError("The demo history attaches no files.")
        return []

    def wait_start(self, request, *, now) -> None:
        self._sim(request).wait = self._new(
            WaitPeriod,
            request_id=request.pk,
            requesting_department_id=request.requesting_department_id,
            provider_department_id=request.provider_department_id,
            started_at=now,
        )

    def wait_end(self, request, *, now) -> None:
        simulated = self._sim(request)
        wait = simulated.wait
        if wait is None:
            return
        wait.ended_at = now
        wait.business_seconds = business_seconds_between(
            self._resolution_version(simulated), wait.started_at, now
        )
        simulated.wait = None

    def link_create(self, request, blocker, *, actor, now) -> RequestLink:
        link = self._new(
            RequestLink,
            request=request,
            blocked_by_id=blocker.pk,
            blocking_department_id=blocker.provider_department_id,
            created_by_id=actor.pk,
            created_at=now,
        )
        self._sim(request).links_out.append(link)
        self._sim(blocker).links_in.append(link)
        return link

    def link_end(self, link, *, now) -> None:
        blocked = self.requests_by_pk[link.request_id]
        link.ended_at = now
        link.blocked_seconds = business_seconds_between(
            self._resolution_version(blocked), link.created_at, now
        )
        blocked.links_out.remove(link)
        self.requests_by_pk[link.blocked_by_id].links_in.remove(link)

    def clocks_start(self, request, *, department, now) -> None:
        simulated = self._sim(request)
        applied = self.planner.basis(
            request.service,
            request.priority,
            customer_id=request.requesting_department_id,
            at=now,
        )
        for fields in clocks_start_fields(
            request,
            department_id=department.pk,
            calendar_version=self.planner.clock_calendar(applied, department.pk),
            targets=targets_by_kind(applied),
            source=applied.source,
            agreement_id=applied.agreement_id,
            escalation=self.planner.escalation(department.pk, applied.agreement_id),
            now=now,
        ):
            simulated.clocks.append(self._new(SLAClock, **fields))

    def clocks_retarget(self, request, *, applied) -> None:
        for clock in self._sim(request).current_clocks():
            clock.target_source = applied.source
            clock.agreement_id = applied.agreement_id

    def clocks_retire(self, request) -> None:
        for clock in self._sim(request).current_clocks():
            clock.is_current = False

    def recompute(self, request, *, now) -> None:
        """services.clocks_recompute, then arm the scanner for the clocks' new state.

        A completed clock only changes again with a new target or a reopen: until then its
        recomputation gives the same fields with a new `computed_at`, so only that is set.
        """
        simulated = self._sim(request)
        for clock in simulated.current_clocks():
            if clock.completed_at is None or self._may_change(simulated, clock):
                self._compute(simulated, clock, now)
            else:
                clock.computed_at = now
            self._arm(simulated, clock)
        for name, value in request_due_times(simulated.current_clocks()).items():
            setattr(simulated.row, name, value)

    def resolved(self, request) -> None:
        """Nothing: surveys have a demo of their own (surveys/demo.py)."""

    # --- the services' signatures, on this store (step_run calls them) -------------------

    def request_create(
        self, *, requester, service, title, description, priority, confidential, now
    ):
        return lifecycle.file(
            self,
            requester=requester,
            requesting_department=self.planner.primary_of[requester.pk].department,
            service=service,
            priority=priority,
            title=title,
            description=description,
            confidential=confidential,
            now=now,
        )

    def request_comment_add(self, *, request, author, body, internal=False, now):
        return lifecycle.comment(
            self, request, author=author, body=body, internal=internal, now=now
        )

    def request_transition(self, *, request, actor, action, comment="", now):
        return lifecycle.transition(
            self, request, actor=actor, action=action, comment_text=comment, now=now
        )

    def request_acknowledge(self, *, request, actor, now):
        return lifecycle.acknowledge(self, request, actor=actor, now=now)

    def request_assign(self, *, request, actor, assignee, now):
        return lifecycle.assign(self, request, actor=actor, assignee=assignee, now=now)

    def request_priority_change(self, *, request, actor, priority, now):
        return lifecycle.priority_change(self, request, actor=actor, priority=priority, now=now)

    def request_promise(self, *, request, actor, promised_at, now):
        return lifecycle.promise(self, request, actor=actor, promised_at=promised_at, now=now)

    def request_transfer(self, *, request, actor, department, service, now):
        return lifecycle.transfer(
            self, request, actor=actor, department=department, service=service, now=now
        )

    def request_block(self, *, request, actor, blocked_by, now):
        return lifecycle.block(self, request, actor=actor, blocked_by=blocked_by, now=now)

    # --- the engine interface ------------------------------------------------------------

    def current(self, plan: Plan) -> ServiceRequest | None:
        return self.requests.get(plan.order)

    def run(self, plan: Plan, step: Step) -> None:
        step_run(self, self, plan, step)

    def scan(self, at) -> dict:
        """scanner.sla_clocks_scan at `at`: the clocks its query would pick, by due time."""
        due = {}
        lookback_from = at - settings.SLA_SCAN_LOOKBACK
        while self.triggers and self.triggers[0][0] <= at:
            _, pk, armed, clock, simulated = heapq.heappop(self.triggers)
            if armed != self.armed[pk]:
                continue
            ended_at = clock.completed_at or clock.stopped_at
            if ended_at is not None and ended_at < lookback_from:
                continue  # ended late before the scanner's lookback: it is left alone
            due[pk] = (clock, simulated)
        counts = {"warned": 0, "breached": 0, "escalated": 0}
        budget = [ACTIONS_PER_SCAN]
        ordered = sorted(due.values(), key=lambda item: scan_order(item[0]))
        # In the scanner's batches: a batch's actions run after its clocks are told.
        for start in range(0, len(ordered), BATCH_SIZE):
            batch = ordered[start : start + BATCH_SIZE]
            results = [self._compute(simulated, clock, at) for clock, simulated in batch]
            acting = self._acting(batch, results, at, budget)
            actions = []
            for (clock, simulated), result in zip(batch, results, strict=True):
                actions += self._scan_one(clock, simulated, result, at, acting, budget, counts)
            for simulated, level in actions:
                lifecycle.escalate(self, simulated.row, level=level, now=at)
        return counts

    @staticmethod
    def _acting(batch, results, now, budget) -> set[int]:
        """scanner._acting: nothing holds a lock here, so each request with an action due,
        by primary key, within the budget."""
        wanted = {
            clock.request_id
            for (clock, _), result in zip(batch, results, strict=True)
            if any(
                clock.escalation_levels[index].get("action")
                for index in levels_due(result.escalation_at, clock.escalation_level, now)
            )
        }
        if budget[0] <= 0:
            return set()
        return set(sorted(wanted)[: budget[0]])

    def _scan_one(self, clock: SLAClock, simulated, result, now, acting, budget, counts) -> list:
        """scanner._scan_batch for one clock: its breach or warning, its levels, in the
        scanner's order; returns the levels' actions to take."""
        crossing = clock_crossing(clock, result, simulated.row, now=now)
        may_act = clock.request_id in acting and budget[0] > 0
        escalations = clock_escalations(clock, result, simulated.row, now=now, may_act=may_act)
        share = [e for e in escalations if e.level["threshold"] == EscalationThreshold.SHARE]
        past_due = [e for e in escalations if e.level["threshold"] != EscalationThreshold.SHARE]
        for escalation in share:
            self._escalation_event(simulated, clock, escalation, now)
        if crossing is not None:
            counts["breached" if crossing.breached else "warned"] += 1
            self._event(
                simulated,
                actor=None,
                kind=crossing.event_kind,
                now=now,
                department_id=clock.department_id,
                data=crossing.data,
                internal=True,
            )
        for escalation in past_due:
            self._escalation_event(simulated, clock, escalation, now)
        if crossing is not None:
            self._notify(
                users=sla_recipients(
                    clock,
                    simulated.row,
                    crossing.audience,
                    staff=self._role_staff,
                    events=simulated.events,
                ),
                simulated=simulated,
                kind=crossing.notification_kind,
                message=crossing.message,
                dedupe_key=crossing.dedupe_key,
                now=now,
            )
        actions = []
        for escalation in escalations:
            counts["escalated"] += 1
            self._notify(
                users=escalation_recipients(
                    clock,
                    simulated.row,
                    escalation.level["notify"],
                    staff=self._role_staff,
                    events=simulated.events,
                ),
                simulated=simulated,
                kind=NotificationKind.ESCALATED,
                message=escalation.message,
                dedupe_key=escalation.dedupe_key,
                now=now,
            )
            if escalation.acts:
                budget[0] -= 1
                actions.append((simulated, escalation.level))
        self._arm(simulated, clock)
        return actions

    def _escalation_event(self, simulated, clock, escalation, now) -> None:
        self._event(
            simulated,
            actor=None,
            kind=EventKind.ESCALATED,
            now=now,
            department_id=clock.department_id,
            data=escalation.data,
            internal=True,
        )

    def _role_staff(self, department_id: int, role: str) -> list:
        return self._people(department_id, [role])

    def finish(self) -> None:
        """Write every row, parents first, then move the id sequences past them."""
        # What history_generate does to the history's notifications, done before writing
        # them rather than by updating 30,000 rows afterwards.
        now = self.planner.now
        for notification in self.rows[Notification]:
            notification.emailed_at = now
            if notification.created_at < now - NOTIFICATIONS_UNREAD_FOR:
                notification.read_at = notification.created_at + NOTIFICATION_READ_AFTER
        for model in FAST_MODELS:
            model.objects.bulk_create(self.rows[model], batch_size=500)
        statements = connection.ops.sequence_reset_sql(no_style(), list(FAST_MODELS))
        if statements:
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)


def history_replay(plans: list[Plan], *, engine, now, start, stdout=None) -> Outcome:
    """Run every plan's steps up to `now` in time order across plans, with the scanner
    every simulated hour, so each step sees the world as it was at that instant."""
    outcome = Outcome()
    queue: list = []
    for index, plan in enumerate(plans):
        if plan.steps:
            heapq.heappush(queue, (plan.steps[0].at, 0, index, 0))
    heapq.heappush(queue, (start + SCAN_EVERY, 1, -1, 0))
    next_progress = start + PROGRESS_EVERY
    filed = 0
    while queue:
        at, _, index, step_index = heapq.heappop(queue)
        if at > now:
            continue
        while at >= next_progress:
            if stdout is not None:
                stdout.write(
                    f"  {timezone.localtime(next_progress):%Y-%m-%d}: {filed} requests filed, "
                    f"{sum(outcome.actions.values())} actions"
                )
            next_progress += PROGRESS_EVERY
        if index < 0:
            result = engine.scan(at)
            outcome.scans += 1
            outcome.warned += result["warned"]
            outcome.breached += result["breached"]
            outcome.escalated += result["escalated"]
            heapq.heappush(queue, (at + SCAN_EVERY, 1, -1, 0))
            continue
        plan = plans[index]
        step = plan.steps[step_index]
        try:
            engine.run(plan, step)
        except (ValidationError, PermissionDenied) as exc:
            # A planning mistake should not sink the whole demo: the request stops here.
            outcome.failures.append((plan.title, step.action, step.at, exc))
            continue
        outcome.actions[step.action] += 1
        filed += step.action == "create"
        if step_index + 1 < len(plan.steps):
            heapq.heappush(queue, (plan.steps[step_index + 1].at, 0, index, step_index + 1))
    engine.finish()
    return outcome
