"""The SLA breach scanner: warns at 75% of a target and reports breaches, once each.

A breach is told even when it happened between two runs: a clock that fell due and then
ended before the next run, completed late (answered or resolved) or stopped (the request
was transferred or cancelled), is BREACHED, ended and not told, and the next run tells it
(a breach, never a warning). A transferred request's clock is retired (`is_current` false)
when it stops; its breach is its old department's, told to that department's people
(workflow.sla_recipients), not to the one that holds the request now. Its recompute at
that run changes none of its figures (an ended clock's do not move with time), only
`computed_at`. The scanner looks back for such clocks only `settings.SLA_SCAN_LOOKBACK` (a
day) from their end (`completed_at`, `stopped_at`): far enough to catch up after the
scanner was down for a night or a working day, near enough that a database holding history
nobody told (requests imported from another tool, a copy of production loaded elsewhere)
is not flooded with notices about last year. Clocks still open (running, paused) and past
due have no such bound: they are told whenever the scanner gets to them. Warnings are never
sent for an ended clock.

Safe to run twice at once and after a crash: clocks are claimed with row locks that skip
rows another scanner holds, the "notified" marks are set in the same transaction as the
events and notifications, and notifications are unique per clock and event.

A busy minute (hundreds of clocks crossing at once, as at 9:00 on a Monday) is handled in
batches: one transaction, one query for the events and one write per table for each batch,
rather than a transaction and a dozen queries per clock.

Escalation levels (escalation.py) are told in the same batches: a clock whose next level is
due is found by one more indexed condition (clock_escalation_scan_idx), its due levels fire
in order with an internal event and a notice each, and the count of levels fired is saved
with the clock in the batch's transaction. A level's action (assign, raise the priority)
runs through the services after the clock is saved, in the same transaction, only if the
request's row lock is free at once (a person acting on it waits for nothing, and no lock
order can deadlock); otherwise, or beyond `ACTIONS_PER_SCAN` actions, that level waits for
the next run, its count not raised. Levels are a current clock's only: a retired or stopped
clock has no next level (clocks.clock_refresh), and the escalation condition asks current
clocks only, so a transferred clock is taken for its late breach, never for a level. A
level's people are the clock's department's, chosen as for a breach (workflow.clock_staff).
"""

from collections import defaultdict

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from departments.choices import EscalationThreshold

from .choices import ClockState, EventKind, NotificationKind
from .clocks import REFRESHED_FIELDS, clock_refresh
from .escalation import levels_due
from .models import RequestEvent, ServiceRequest, SLAClock
from .notifications import Notice, notify_many
from .selectors import provider_staff
from .services import request_escalate
from .workflow import clock_crossing, clock_escalations, escalation_recipients, sla_recipients

BATCH_SIZE = 100
# A level's action is a service call (a dozen queries): at most this many a run, so a busy
# minute stays within its budget; the rest are taken at the next runs.
ACTIONS_PER_SCAN = 100


def _due_clock_ids(now, limit):
    """The clocks with something to tell at `now`, soonest due first; each of the five
    questions is answered by a partial index (clock_warn_scan_idx, clock_open_breach_scan_idx,
    clock_late_scan_idx, clock_stopped_scan_idx, clock_escalation_scan_idx). The late and
    stopped ones take retired clocks too: a clock that fell due and was then transferred
    away is its old department's breach. Escalation levels are a current clock's only."""
    lookback_from = now - settings.SLA_SCAN_LOOKBACK
    return list(
        SLAClock.objects.filter(
            Q(state=ClockState.RUNNING, warning_notified_at__isnull=True, warn_at__lte=now)
            | Q(
                state__in=[ClockState.RUNNING, ClockState.BREACHED],
                completed_at__isnull=True,
                stopped_at__isnull=True,
                breach_notified_at__isnull=True,
                due_at__lte=now,
            )
            # Ended since the scanner last ran (within the lookback), late and never told:
            # completed (answered, resolved)...
            | Q(
                state=ClockState.BREACHED,
                breach_notified_at__isnull=True,
                completed_at__gte=lookback_from,
                completed_at__lte=now,
            )
            # ...or stopped (transferred, cancelled).
            | Q(
                state=ClockState.BREACHED,
                breach_notified_at__isnull=True,
                stopped_at__gte=lookback_from,
                stopped_at__lte=now,
            )
            # An escalation level due on a current clock (clock_escalation_scan_idx).
            | Q(is_current=True, next_escalation_at__lte=now)
        )
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


class _Staff:
    """A department's people in a role, each looked up once per scan instead of once per
    clock (for workflow.sla_recipients)."""

    def __init__(self):
        self._staff = {}

    def __call__(self, department_id: int, role: str) -> list:
        key = (department_id, role)
        if key not in self._staff:
            self._staff[key] = list(provider_staff(department_id=department_id, roles=[role]))
        return self._staff[key]


def _clocks_save(clocks: list[SLAClock], fields: list[str]) -> None:
    """Write these fields of the clocks: on PostgreSQL in one UPDATE ... FROM (VALUES ...),
    elsewhere an UPDATE a clock. (`bulk_update` builds a CASE per field and row, which for a
    hundred clocks costs far more to build than to run.)"""
    if connection.vendor != "postgresql":
        for clock in clocks:
            SLAClock.objects.filter(pk=clock.pk).update(
                **{field: getattr(clock, field) for field in fields}
            )
        return
    quote = connection.ops.quote_name
    model_fields = [SLAClock._meta.get_field(name) for name in fields]
    row = "(%s::integer, " + ", ".join(f"%s::{f.db_type(connection)}" for f in model_fields) + ")"
    columns = ", ".join(quote(f.column) for f in model_fields)
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in model_fields)
    params = []
    for clock in clocks:
        params.append(clock.pk)
        params += [f.get_db_prep_save(getattr(clock, f.attname), connection) for f in model_fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(SLAClock._meta.db_table)} AS c SET {assignments} "  # noqa: S608 - names from the model  # nosec B608
            f"FROM (VALUES {', '.join([row] * len(clocks))}) AS v(id, {columns}) "
            "WHERE c.id = v.id",
            params,
        )


def _acting(clocks, results, now, budget: list[int]) -> set[int]:
    """The requests whose clocks may take a level's action in this batch: those with one
    due whose row lock is free now (SKIP LOCKED), within the scan's remaining `budget`."""
    wanted = {
        clock.request_id
        for clock, result in zip(clocks, results, strict=True)
        if any(
            clock.escalation_levels[index].get("action")
            for index in levels_due(result.escalation_at, clock.escalation_level, now)
        )
    }
    if not wanted or budget[0] <= 0:
        return set()
    free = ServiceRequest.objects.select_for_update(no_key=True, skip_locked=True).filter(
        pk__in=wanted
    )
    return set(free.order_by("pk").values_list("pk", flat=True)[: budget[0]])


def _event_for(clock, *, kind, data, now) -> RequestEvent:
    return RequestEvent(
        request=clock.request,
        kind=kind,
        created_at=now,
        department_id=clock.department_id,
        data=data,
        internal=True,
    )


def _scan_batch(
    clock_ids: list[int], now, recipients: _Staff, budget: list[int] | None = None
) -> dict:
    budget = [ACTIONS_PER_SCAN] if budget is None else budget
    counts = {"warned": 0, "breached": 0, "escalated": 0}
    with transaction.atomic():
        clocks = list(
            SLAClock.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related(
                "request", "request__assignee", "request__provider_department", "calendar_version"
            )
            .filter(pk__in=clock_ids)
            .order_by("due_at", "pk")
        )
        if not clocks:
            return counts  # other scanners hold them
        events = defaultdict(list)
        for event in RequestEvent.objects.filter(
            request_id__in={clock.request_id for clock in clocks}
        ).order_by("created_at", "id"):
            events[event.request_id].append(event)
        results = [clock_refresh(clock, events[clock.request_id], now) for clock in clocks]
        acting = _acting(clocks, results, now, budget)
        new_events, notices, actions = [], [], []
        for clock, result in zip(clocks, results, strict=True):
            crossing = clock_crossing(clock, result, clock.request, now=now)
            may_act = clock.request_id in acting and budget[0] > 0
            escalations = clock_escalations(clock, result, clock.request, now=now, may_act=may_act)
            # On the timeline in the order they happened: levels before the due time, the
            # breach, levels past due.
            before = [e for e in escalations if e.level["threshold"] == EscalationThreshold.SHARE]
            after = [e for e in escalations if e.level["threshold"] != EscalationThreshold.SHARE]
            for escalation in before:
                new_events.append(
                    _event_for(clock, kind=EventKind.ESCALATED, data=escalation.data, now=now)
                )
            if crossing is not None:
                counts["breached" if crossing.breached else "warned"] += 1
                new_events.append(
                    _event_for(clock, kind=crossing.event_kind, data=crossing.data, now=now)
                )
                notices.append(
                    Notice(
                        users=sla_recipients(
                            clock,
                            clock.request,
                            crossing.audience,
                            staff=recipients,
                            events=events[clock.request_id],
                        ),
                        request=clock.request,
                        kind=crossing.notification_kind,
                        message=crossing.message,
                        dedupe_key=crossing.dedupe_key,
                    )
                )
            for escalation in after:
                new_events.append(
                    _event_for(clock, kind=EventKind.ESCALATED, data=escalation.data, now=now)
                )
            for escalation in escalations:
                counts["escalated"] += 1
                notices.append(
                    Notice(
                        users=escalation_recipients(
                            clock,
                            clock.request,
                            escalation.level["notify"],
                            staff=recipients,
                            events=events[clock.request_id],
                        ),
                        request=clock.request,
                        kind=NotificationKind.ESCALATED,
                        message=escalation.message,
                        dedupe_key=escalation.dedupe_key,
                    )
                )
                if escalation.acts:
                    budget[0] -= 1
                    actions.append((clock.request, escalation.level))
        RequestEvent.objects.bulk_create(new_events)
        notify_many(notices, now=now)
        _clocks_save(
            clocks,
            [*REFRESHED_FIELDS, "warning_notified_at", "breach_notified_at", "escalation_level"],
        )
        # After the clocks are saved: an action recomputes them from the database, the
        # levels fired included.
        for request, level in actions:
            request_escalate(request=request, level=level, now=now)
    return counts


def sla_clocks_scan(*, now=None, limit: int = 1000, batch_size: int = BATCH_SIZE) -> dict:
    """Warn and report breaches for clocks that passed 75% or 100% of their target, report
    those that were completed late since the last run (settings.SLA_SCAN_LOOKBACK), and fire
    the escalation levels that fell due."""
    now = now or timezone.now()
    recipients = _Staff()
    clock_ids = _due_clock_ids(now, limit)
    totals = {"warned": 0, "breached": 0, "escalated": 0}
    budget = [ACTIONS_PER_SCAN]
    for start in range(0, len(clock_ids), batch_size):
        counts = _scan_batch(clock_ids[start : start + batch_size], now, recipients, budget)
        for name, count in counts.items():
            totals[name] += count
    return totals
