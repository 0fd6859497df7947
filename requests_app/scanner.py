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
"""

from collections import defaultdict

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from .choices import ClockState
from .clocks import REFRESHED_FIELDS, clock_refresh
from .models import RequestEvent, SLAClock
from .notifications import Notice, notify_many
from .selectors import provider_staff
from .workflow import clock_crossing, sla_recipients

BATCH_SIZE = 100


def _due_clock_ids(now, limit):
    """The clocks with something to tell at `now`, soonest due first; each of the four
    questions is answered by a partial index (clock_warn_scan_idx, clock_open_breach_scan_idx,
    clock_late_scan_idx, clock_stopped_scan_idx). The last two take retired clocks too: a
    clock that fell due and was then transferred away is its old department's breach."""
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


def _scan_batch(clock_ids: list[int], now, recipients: _Staff) -> tuple[int, int]:
    with transaction.atomic():
        clocks = list(
            SLAClock.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("request", "request__assignee", "calendar_version")
            .filter(pk__in=clock_ids)
            .order_by("due_at", "pk")
        )
        if not clocks:
            return 0, 0  # other scanners hold them
        events = defaultdict(list)
        for event in RequestEvent.objects.filter(
            request_id__in={clock.request_id for clock in clocks}
        ).order_by("created_at", "id"):
            events[event.request_id].append(event)
        new_events, notices = [], []
        warned = breached = 0
        for clock in clocks:
            result = clock_refresh(clock, events[clock.request_id], now)
            crossing = clock_crossing(clock, result, clock.request, now=now)
            if crossing is None:
                continue
            breached += crossing.breached
            warned += not crossing.breached
            new_events.append(
                RequestEvent(
                    request=clock.request,
                    kind=crossing.event_kind,
                    created_at=now,
                    department_id=clock.department_id,
                    data=crossing.data,
                    internal=True,
                )
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
        RequestEvent.objects.bulk_create(new_events)
        notify_many(notices, now=now)
        _clocks_save(
            clocks,
            [*REFRESHED_FIELDS, "warning_notified_at", "breach_notified_at"],
        )
    return warned, breached


def sla_clocks_scan(*, now=None, limit: int = 1000, batch_size: int = BATCH_SIZE) -> dict:
    """Warn and report breaches for clocks that passed 75% or 100% of their target, and
    report those that were completed late since the last run (settings.SLA_SCAN_LOOKBACK)."""
    now = now or timezone.now()
    recipients = _Staff()
    clock_ids = _due_clock_ids(now, limit)
    warned = breached = 0
    for start in range(0, len(clock_ids), batch_size):
        batch_warned, batch_breached = _scan_batch(
            clock_ids[start : start + batch_size], now, recipients
        )
        warned += batch_warned
        breached += batch_breached
    return {"warned": warned, "breached": breached}
