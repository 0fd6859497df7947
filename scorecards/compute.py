"""The score definitions of DESIGN.md, computed with grouped SQL aggregates.

Each source below answers one part of the figures for a period with one query that reads
its rows once and groups them by department every way at once (provider, customer, and the
provider x customer pair; see grouping.py): no loop over requests in Python, and no second
pass over the same rows. Counts and means are grouped once by provider and customer and
added up per grouping; percentiles are `percentile_cont` under GROUPING SETS on PostgreSQL.
SQLite has no such aggregate, so there the rows of a percentile are grouped in Python
(development only).

The result is a dict keyed by (role, department id, counterpart id or None) -> figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from django.db.models import Count, F, Q, QuerySet, Sum

from core.periods import Period
from departments.choices import Priority
from departments.models import Service
from requests_app.choices import ClockKind, ClockState, EventKind, Status
from requests_app.models import RequestEvent, RequestLink, ServiceRequest, SLAClock, WaitPeriod

from .choices import ScoreRole
from .grouping import COUNT, PERCENTILE, Measure, coded, decoded, flag, grouped_aggregates
from .stats import rate_figures

PROVIDER, CUSTOMER = ScoreRole.PROVIDER.value, ScoreRole.CUSTOMER.value
Key = tuple[str, int, int | None]
Figures = dict[Key, dict]

# Bump when a definition changes: stored reports record the version they were made with.
# 2026.2: late clocks of cancelled requests count; declines.
# 2026.3: a clock counts under the service and priority its department held the request as
# (SLAClock.service, SLAClock.priority), no longer the request's current ones: a transferred
# request's time with the first department stays under that department's service. Survey
# figures are published per month and quarter only, once final, with primary and
# complementary suppression over everything a quarter publishes (surveys/disclosure.py).
METHODOLOGY_VERSION = "2026.3"


def _role_sets(provider: str = "provider", customer: str = "customer") -> dict:
    """The three groupings of every figure, each with the snapshot keys a group feeds: by
    provider, by customer, and by pair (the provider's figures of that customer, and the
    customer's of that provider)."""
    return {
        (provider,): lambda row: [(PROVIDER, row[provider], None)],
        (customer,): lambda row: [(CUSTOMER, row[customer], None)],
        (provider, customer): lambda row: [
            (PROVIDER, row[provider], row[customer]),
            (CUSTOMER, row[customer], row[provider]),
        ],
    }


def keyed_rows(groups: dict, sets: dict):
    """(snapshot key, group) for every group of every grouping in `sets` (grouping -> the
    snapshot keys a group feeds, as `_role_sets` gives)."""
    for grouping, keys_of in sets.items():
        for row in groups[grouping]:
            for key in keys_of(row):
                yield key, row


# --- clocks: timeliness and times to respond/resolve, and the provider's breakdowns ---------


def settled_clocks(period: Period, now) -> Q:
    """Clocks settled in the period: met in it, or due in it without being met."""
    start, end = period.start, period.end
    met = Q(state=ClockState.MET, completed_at__gte=start, completed_at__lt=end)
    breached = Q(state=ClockState.BREACHED, breached_at__gte=start, breached_at__lt=end)
    # A running clock past its due time that the scanner has not written yet is breached.
    overdue = Q(state=ClockState.RUNNING, due_at__gte=start, due_at__lt=min(end, now))
    return met | breached | overdue


ROLE_SETS = _role_sets()
BREAKDOWNS = {"by_service": "service", "by_priority": "priority"}
CLOCK_SETS = [
    *(("kind", *grouping) for grouping in ROLE_SETS),
    *(("kind", "provider", column) for column in BREAKDOWNS.values()),
]
CLOCK_KINDS, PRIORITIES = list(ClockKind.values), list(Priority.values)
CLOCK_MEASURES = {
    "settled": Measure(COUNT),
    "met": Measure(COUNT, where="met"),
    # Times over the completed clocks only (a clock breached while running has no time yet).
    "median": Measure(PERCENTILE, "used", where="completed", fraction=0.5),
    "p90": Measure(PERCENTILE, "used", where="completed", fraction=0.9),
}


def _clock_groups(period: Period, now) -> dict:
    """The settled clocks, read once and grouped by kind and provider, customer, pair,
    provider and service, provider and priority. A cancelled request's clocks leave the
    scores, except those already breached when it was cancelled: withdrawing a request
    never erases the late work on it. The service and priority are the clock's own, those
    its department held the request as (a transfer changes the request's, not the clock's):
    so a provider's breakdown lists only its own services."""
    rows = (
        SLAClock.objects.filter(settled_clocks(period, now))
        .exclude(Q(request__status=Status.CANCELLED) & ~Q(state=ClockState.BREACHED))
        .values(
            "service",
            # Kind and priority as integers: the groupings sort the rows by them.
            kind_code=coded("kind", CLOCK_KINDS),
            priority_code=coded("priority", PRIORITIES),
            provider=F("department_id"),
            customer=F("request__requesting_department_id"),
            used=F("used_seconds"),
            met=flag(Q(state=ClockState.MET)),
            completed=flag(Q(completed_at__isnull=False)),
        )
    )
    codes = {"kind": "kind_code", "priority": "priority_code"}
    sets = {grouping: tuple(codes.get(name, name) for name in grouping) for grouping in CLOCK_SETS}
    groups = grouped_aggregates(rows, sets=list(sets.values()), measures=CLOCK_MEASURES)
    for group in (row for rows in groups.values() for row in rows):
        group["kind"] = decoded(group.pop("kind_code"), CLOCK_KINDS)
        if "priority_code" in group:
            group["priority"] = decoded(group.pop("priority_code"), PRIORITIES)
    return {grouping: groups[coded_set] for grouping, coded_set in sets.items()}


def _by_kind(rows, keys_of) -> dict[Key, dict[str, dict]]:
    """{snapshot key: {clock kind: group}} of one grouping's groups."""
    result: dict[Key, dict[str, dict]] = defaultdict(dict)
    for row in rows:
        for key in keys_of(row):
            result[key][row["kind"]] = row
    return result


def _timeliness(by_kind: dict[str, dict]) -> dict:
    """Timeliness over both clocks and per clock kind, from the groups of each kind."""
    values = rate_figures(
        "timeliness",
        sum(row["met"] for row in by_kind.values()),
        sum(row["settled"] for row in by_kind.values()),
    )
    for kind in ClockKind.values:
        row = by_kind.get(kind) or {"met": 0, "settled": 0}
        values.update(rate_figures(f"{kind}_timeliness", row["met"], row["settled"]))
    return values


def clock_figures(period: Period, now) -> Figures:
    """Timeliness, times to respond and to resolve, and the provider's breakdowns by service
    and priority (see `breakdown_figures`): one grouped query over the settled clocks."""
    groups = _clock_groups(period, now)
    figures: Figures = defaultdict(dict)
    for grouping, keys_of in ROLE_SETS.items():
        for key, by_kind in _by_kind(groups[("kind", *grouping)], keys_of).items():
            figures[key].update(_timeliness(by_kind))
            for kind, row in by_kind.items():
                if row["median"] is not None:
                    figures[key][f"{kind}_median_seconds"] = row["median"]
                    figures[key][f"{kind}_p90_seconds"] = row["p90"]
    for key, values in _breakdowns(groups).items():
        figures[key].update(values)
    return figures


def _breakdowns(groups: dict) -> Figures:
    figures: Figures = defaultdict(dict)
    service_ids = {row["service"] for row in groups[("kind", "provider", "service")]}
    service_names = dict(Service.objects.filter(pk__in=service_ids).values_list("pk", "name"))
    labels = {
        "service": service_names,
        "priority": dict(ServiceRequest._meta.get_field("priority").flatchoices),
    }
    for name, column in BREAKDOWNS.items():
        rows = groups[("kind", "provider", column)]
        grouped = _by_kind(rows, lambda row, column=column: [(row["provider"], row[column])])
        for (provider, value), by_kind in grouped.items():
            if value is None:
                continue  # a clock of old history whose service is not known (SLAClock.service)
            item = {"name": labels[column].get(value), **_timeliness(by_kind)}
            resolution = by_kind.get(ClockKind.RESOLUTION) or {}
            item["resolution_median_seconds"] = resolution.get("median")
            figures[(PROVIDER, provider, None)].setdefault(name, {})[str(value)] = item
    return figures


def breakdown_figures(period: Period, now) -> Figures:
    """Each provider's timeliness and time to resolve per service and per priority.

    The same settled clocks as `clock_figures` (which stores them with the rest), grouped by
    the service or priority the provider held the request as (the clock's own). Stored as
    `by_service` {service id: {...}} and `by_priority` {priority: {...}} on the provider's
    own snapshot; keys are strings, as JSON keeps them.
    """
    return _breakdowns(_clock_groups(period, now))


# --- promises ------------------------------------------------------------------------------


def flag_rate_figures(
    figures: Figures,
    rows: QuerySet,
    name: str,
    hit: Q,
    *,
    provider: str = "provider_department_id",
    customer: str = "requesting_department_id",
) -> Figures:
    """The rate `name` of the rows that match `hit`, by every grouping (the rows' `provider`
    and `customer` fields), into `figures`."""
    rows = rows.values(provider=F(provider), customer=F(customer), hit=flag(hit))
    groups = grouped_aggregates(
        rows,
        sets=list(ROLE_SETS),
        measures={"total": Measure(COUNT), "hit": Measure(COUNT, where="hit")},
    )
    for key, row in keyed_rows(groups, ROLE_SETS):
        figures[key].update(rate_figures(name, row["hit"], row["total"]))
    return figures


def promise_figures(period: Period, now) -> Figures:
    rows = ServiceRequest.objects.filter(
        promised_at__isnull=False, resolved_at__gte=period.start, resolved_at__lt=period.end
    )
    return flag_rate_figures(
        defaultdict(dict), rows, "promise_kept", Q(resolved_at__lte=F("promised_at"))
    )


# --- the customer's side: answering while the provider waits ------------------------------


def responsiveness_figures(period: Period, now) -> Figures:
    """Median business seconds requesters took to answer a request waiting on them."""
    figures: Figures = defaultdict(dict)
    rows = WaitPeriod.objects.filter(
        ended_at__gte=period.start, ended_at__lt=period.end, business_seconds__isnull=False
    ).values(
        customer=F("requesting_department_id"),
        provider=F("provider_department_id"),
        seconds=F("business_seconds"),
    )
    sets = {
        ("customer",): lambda row: [(CUSTOMER, row["customer"], None)],
        ("customer", "provider"): lambda row: [(CUSTOMER, row["customer"], row["provider"])],
    }
    groups = grouped_aggregates(
        rows,
        sets=list(sets),
        measures={"n": Measure(COUNT), "median": Measure(PERCENTILE, "seconds", fraction=0.5)},
    )
    for key, row in keyed_rows(groups, sets):
        figures[key]["customer_responsiveness_n"] = row["n"]
        figures[key]["customer_responsiveness_seconds"] = row["median"]
    return figures


# --- the weakest link -----------------------------------------------------------------------


def blocking_figures(period: Period, now) -> Figures:
    """Time requests were held up by late requests of other departments, both ways round.

    A blocker is late when its resolution clock with the blocking department breached.
    """
    figures: Figures = defaultdict(dict)
    late_blockers = SLAClock.objects.filter(
        kind=ClockKind.RESOLUTION, state=ClockState.BREACHED
    ).values("request_id")
    links = RequestLink.objects.filter(
        ended_at__gte=period.start,
        ended_at__lt=period.end,
        blocked_seconds__isnull=False,
        blocked_by__in=late_blockers,
    )
    rows = links.values("request__provider_department_id", "blocking_department_id").annotate(
        seconds=Sum("blocked_seconds"), links=Count("id")
    )
    for row in rows:
        held_up, blocker = row["request__provider_department_id"], row["blocking_department_id"]
        held = figures[(PROVIDER, held_up, None)]
        held["blocked_by_late_seconds"] = held.get("blocked_by_late_seconds", 0) + row["seconds"]
        held.setdefault("blocked_by_late_departments", {})[str(blocker)] = row["seconds"]
        caused = figures[(PROVIDER, blocker, None)]
        caused["caused_delay_seconds"] = caused.get("caused_delay_seconds", 0) + row["seconds"]
        caused.setdefault("caused_delay_departments", {})[str(held_up)] = row["seconds"]
    return figures


# Sources of figures, in order; surveys and the relationship survey add theirs.
def decline_figures(period: Period, now) -> Figures:
    """Of the requests a provider finished in the period (resolved or declined, each time
    it did), the share it declined: every decline counts, even one reopened later."""
    finished = RequestEvent.objects.filter(
        kind=EventKind.STATUS_CHANGED,
        data__to__in=[Status.RESOLVED, Status.DECLINED],
        created_at__gte=period.start,
        created_at__lt=period.end,
    )
    return flag_rate_figures(
        defaultdict(dict),
        finished,
        "declined",
        Q(data__to=Status.DECLINED),
        provider="department_id",
        customer="request__requesting_department_id",
    )


SOURCES: list[Callable[[Period, object], Figures]] = [
    clock_figures,
    promise_figures,
    decline_figures,
    responsiveness_figures,
    blocking_figures,
]


def service_score(figures: dict, weights: dict) -> float | None:
    """0-100 from timeliness, mean rating and hire-back; a missing part is left out and the
    remaining weights are rescaled."""
    parts = []
    if figures.get("timeliness") is not None:
        parts.append((weights["timeliness"], figures["timeliness"]))
    if figures.get("mean_rating") is not None:
        parts.append((weights["mean_rating"], (figures["mean_rating"] - 1) / 4))
    if figures.get("hire_back") is not None:
        parts.append((weights["hire_back"], (figures["hire_back"] + 100) / 200))
    total_weight = sum(weight for weight, _ in parts)
    if not total_weight:
        return None
    return 100 * sum(weight * value for weight, value in parts) / total_weight


def figures_for_period(period: Period, now, weights: dict) -> Figures:
    """Every figure of every department, role and pair for the period."""
    from .survey_figures import SOURCES as SURVEY_SOURCES  # it builds on this module

    merged: Figures = defaultdict(dict)
    for source in [*SOURCES, *SURVEY_SOURCES]:
        for key, values in source(period, now).items():
            merged[key].update(values)
    for values in merged.values():
        values["service_score"] = service_score(values, weights)
    return merged
