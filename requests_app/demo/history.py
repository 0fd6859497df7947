"""The demo history's entry points: `history_generate` plans and replays it and brings
the clocks and notifications up to now; `seed_demo` is the step the project's seed_demo
command calls."""

from __future__ import annotations

import datetime
import random
import time
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, F, Q
from django.utils import timezone

from .. import services
from ..choices import OPEN_STATUSES, ClockKind, ClockState, EventKind, Status
from ..models import (
    Notification,
    RequestEvent,
    RequestLink,
    ServiceRequest,
    SLAClock,
    WaitPeriod,
)
from ..scanner import sla_clocks_scan
from .planner import HistoryPlanner, Plan
from .replay import (
    NOTIFICATION_READ_AFTER,
    NOTIFICATIONS_UNREAD_FOR,
    FastReplay,
    Outcome,
    ServicesReplay,
    history_replay,
)

DEFAULT_WEEKS = 26
DEFAULT_REQUESTS_PER_WEEK = 115
DEFAULT_SEED = 2026


@dataclass
class HistoryReport:
    plans: list[Plan]
    outcome: Outcome
    seconds: float
    lines: list[str]


def history_generate(
    *,
    weeks: int = DEFAULT_WEEKS,
    requests_per_week: int = DEFAULT_REQUESTS_PER_WEEK,
    seed: int = DEFAULT_SEED,
    now: datetime.datetime | None = None,
    stdout=None,
    engine: str = "fast",
    first_pks: dict | None = None,
) -> HistoryReport:
    """Plan and replay `weeks` weeks of requests up to `now`: with `engine="fast"` in
    memory and written in bulk, with `"services"` through the service functions (slow; the
    reference the fast engine is tested against). `first_pks` (model -> first id) lets a
    test give both engines the same ids."""
    started = time.monotonic()
    now = (now or timezone.now()).replace(microsecond=0)
    rng = random.Random(seed)  # noqa: S311 - made-up demo data, reproducible on purpose  # nosec B311
    planner = HistoryPlanner(rng=rng, now=now, weeks=weeks)
    if not planner.providers or not planner.people:
        return HistoryReport([], Outcome(), 0.0, ["No providers or people: no history."])
    plans = planner.plan(count=weeks * requests_per_week)
    if stdout is not None:
        stdout.write(
            f"Demo history: planned {len(plans)} requests over {_weeks(weeks)} up to "
            f"{timezone.localtime(now):%Y-%m-%d %H:%M} (seed {seed})..."
        )
    last_request, last_notification = (
        model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        for model in (ServiceRequest, Notification)
    )
    replay = (
        FastReplay(planner, first_pks=first_pks) if engine == "fast" else ServicesReplay(planner)
    )
    outcome = history_replay(plans, engine=replay, now=now, start=planner.start, stdout=stdout)

    # Clocks still running are brought up to now, and the scanner has its say once more.
    still_open = ServiceRequest.objects.filter(pk__gt=last_request, status__in=OPEN_STATUSES)
    for request in still_open.order_by("pk"):
        services.clocks_recompute(request, now=now)
    result = sla_clocks_scan(now=now, limit=100_000)
    outcome.warned += result["warned"]
    outcome.breached += result["breached"]
    outcome.escalated += result["escalated"]

    # The past has been told: no emails about it, and old news is read.
    seeded = Notification.objects.filter(pk__gt=last_notification)
    seeded.filter(emailed_at__isnull=True).update(emailed_at=now)
    seeded.filter(read_at__isnull=True, created_at__lt=now - NOTIFICATIONS_UNREAD_FOR).update(
        read_at=F("created_at") + NOTIFICATION_READ_AFTER
    )
    seconds = time.monotonic() - started
    lines = summary_lines(outcome=outcome, seconds=seconds, weeks=weeks)
    if stdout is not None:
        for line in lines:
            stdout.write(line)
    return HistoryReport(plans=plans, outcome=outcome, seconds=seconds, lines=lines)


def _weeks(weeks: int) -> str:
    return f"{weeks} week" if weeks == 1 else f"{weeks} weeks"


def summary_lines(*, outcome: Outcome, seconds: float, weeks: int) -> list[str]:
    """What the database holds after the history: the printed summary."""
    requests = ServiceRequest.objects.all()
    total = requests.count()
    statuses = dict(requests.values_list("status").annotate(n=Count("pk")).order_by())
    status_text = ", ".join(
        f"{label.lower()} {statuses.get(value, 0)}" for value, label in Status.choices
    )
    clocks = SLAClock.objects.exclude(state=ClockState.STOPPED)
    lines = [
        f"requests: {total} filed over {_weeks(weeks)} in {seconds:.1f} s "
        f"({sum(outcome.actions.values())} actions, {outcome.scans} scanner runs)",
        f"  status: {status_text}",
    ]
    for kind, label in ClockKind.choices:
        of_kind = clocks.filter(kind=kind)
        settled = of_kind.filter(state__in=[ClockState.MET, ClockState.BREACHED]).count()
        breached = of_kind.filter(state=ClockState.BREACHED).count()
        share = breached / settled if settled else 0
        lines.append(
            f"  {label.lower()}: {breached} of {settled} settled clocks breached ({share:.0%})"
        )
    by_provider = (
        SLAClock.objects.filter(state__in=[ClockState.MET, ClockState.BREACHED])
        .values("department__name")
        .annotate(
            settled=Count("pk"),
            breached=Count("pk", filter=Q(state=ClockState.BREACHED)),
            requests=Count("request", distinct=True),
        )
        .order_by("-requests")
    )
    lines.append(
        "  breached clocks by provider: "
        + ", ".join(
            f"{row['department__name']} {row['breached'] / row['settled']:.0%}"
            for row in by_provider
        )
    )
    promised = requests.filter(promised_at__isnull=False, resolved_at__isnull=False)
    kept = promised.filter(resolved_at__lte=F("promised_at")).count()
    reopened = (
        RequestEvent.objects.filter(
            kind=EventKind.STATUS_CHANGED, data__to=Status.IN_PROGRESS, data__from=Status.RESOLVED
        )
        .values("request")
        .distinct()
        .count()
    )
    lines += [
        f"  waits on requester: {WaitPeriod.objects.count()} "
        f"({WaitPeriod.objects.filter(ended_at__isnull=True).count()} open now); "
        f"reopened {reopened}; transferred "
        f"{RequestEvent.objects.filter(kind=EventKind.TRANSFERRED).count()}; "
        f"blocked-by links {RequestLink.objects.count()} "
        f"({RequestLink.objects.filter(ended_at__isnull=True).count()} still blocking)",
        f"  promises: {promised.count()} resolved, {kept} kept; "
        f"{requests.filter(promised_at__isnull=False, resolved_at__isnull=True).count()} pending",
        f"  SLA scanner: {outcome.warned} warnings, {outcome.breached} breaches, "
        f"{outcome.escalated} escalation levels notified; "
        f"notifications: {Notification.objects.count()} (all marked emailed)",
    ]
    if outcome.failures:
        lines.append(f"  skipped {len(outcome.failures)} actions the services refused")
    return lines


def seed_demo(*, stdout) -> None:
    """seed_demo's step: add the history once (never on top of existing requests)."""
    weeks = getattr(settings, "DEMO_HISTORY_WEEKS", DEFAULT_WEEKS)
    if weeks <= 0:
        return
    if ServiceRequest.objects.exists():
        stdout.write("Demo history: requests exist already, none added.")
        return
    history_generate(
        weeks=weeks,
        requests_per_week=getattr(
            settings, "DEMO_HISTORY_REQUESTS_PER_WEEK", DEFAULT_REQUESTS_PER_WEEK
        ),
        seed=getattr(settings, "DEMO_HISTORY_SEED", DEFAULT_SEED),
        stdout=stdout,
    )
