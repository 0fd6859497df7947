"""The score definitions of DESIGN.md, computed with grouped SQL aggregates.

Each source below answers one part of the figures for a period with a few queries grouped
by department (provider, customer, and the provider x customer pair): no loop over requests
in Python. On PostgreSQL the percentiles are `percentile_cont` in the same query; SQLite has
no such aggregate, so there they are taken from the grouped values (development only).

The result is a dict keyed by (role, department id, counterpart id or None) -> figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from django.db import connection
from django.db.models import Aggregate, Count, F, FloatField, Q, Sum

from requests_app.choices import ClockKind, ClockState, Status
from requests_app.models import RequestLink, ServiceRequest, SLAClock, WaitPeriod

from .choices import ScoreRole
from .periods import Period
from .stats import percentile_cont, rate_figures

PROVIDER, CUSTOMER = ScoreRole.PROVIDER.value, ScoreRole.CUSTOMER.value
Key = tuple[str, int, int | None]
Figures = dict[Key, dict]

# Bump when a definition changes: stored reports record the version they were made with.
METHODOLOGY_VERSION = "2026.1"


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate percentile_cont(f) WITHIN GROUP (ORDER BY x)."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def has_percentile_cont() -> bool:
    return connection.vendor == "postgresql"


def _groupings(provider_field: str, customer_field: str):
    """(fields to group by, function mapping a row to the snapshot keys it feeds)."""
    return [
        ((provider_field,), lambda row: [(PROVIDER, row[provider_field], None)]),
        ((customer_field,), lambda row: [(CUSTOMER, row[customer_field], None)]),
        (
            (provider_field, customer_field),
            lambda row: [
                (PROVIDER, row[provider_field], row[customer_field]),
                (CUSTOMER, row[customer_field], row[provider_field]),
            ],
        ),
    ]


def _percentiles(queryset, group_fields, value_field, fractions, keys_of) -> dict:
    """{(keys..., fraction): value}: in SQL on PostgreSQL, from grouped values elsewhere."""
    results = {}
    if has_percentile_cont():
        annotations = {f"p{int(f * 100)}": PercentileCont(value_field, f) for f in fractions}
        for row in queryset.values(*group_fields).annotate(**annotations):
            for fraction in fractions:
                results[(keys_of(row), fraction)] = row[f"p{int(fraction * 100)}"]
        return results
    values = defaultdict(list)
    for row in queryset.values(*group_fields, value_field):
        values[keys_of(row)].append(row[value_field])
    for group, group_values in values.items():
        for fraction in fractions:
            results[(group, fraction)] = percentile_cont(group_values, fraction)
    return results


# --- clocks: timeliness and times to respond/resolve ---------------------------------------


def settled_clocks(period: Period, now) -> Q:
    """Clocks settled in the period: met in it, or due in it without being met."""
    start, end = period.start, period.end
    met = Q(state=ClockState.MET, completed_at__gte=start, completed_at__lt=end)
    breached = Q(state=ClockState.BREACHED, breached_at__gte=start, breached_at__lt=end)
    # A running clock past its due time that the scanner has not written yet is breached.
    overdue = Q(state=ClockState.RUNNING, due_at__gte=start, due_at__lt=min(end, now))
    return met | breached | overdue


def clock_figures(period: Period, now) -> Figures:
    figures: Figures = defaultdict(dict)
    clocks = SLAClock.objects.filter(settled_clocks(period, now)).exclude(
        request__status=Status.CANCELLED
    )
    provider, customer = "department_id", "request__requesting_department_id"
    for fields, keys_of in _groupings(provider, customer):
        counts: dict[Key, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
        rows = clocks.values(*fields, "kind").annotate(
            settled=Count("id"), met=Count("id", filter=Q(state=ClockState.MET))
        )
        for row in rows:
            for key in keys_of(row):
                counts[key][row["kind"]] = [row["met"], row["settled"]]
        for key, by_kind in counts.items():
            met = sum(pair[0] for pair in by_kind.values())
            settled = sum(pair[1] for pair in by_kind.values())
            figures[key].update(rate_figures("timeliness", met, settled))
            for kind in ClockKind.values:
                kind_met, kind_settled = by_kind.get(kind, [0, 0])
                figures[key].update(rate_figures(f"{kind}_timeliness", kind_met, kind_settled))

        completed = clocks.filter(completed_at__isnull=False)
        for kind in ClockKind.values:
            values = _percentiles(
                completed.filter(kind=kind),
                fields,
                "used_seconds",
                (0.5, 0.9),
                lambda row, keys_of=keys_of: tuple(keys_of(row)),
            )
            for (keys, fraction), value in values.items():
                name = f"{kind}_{'median' if fraction == 0.5 else 'p90'}_seconds"
                for key in keys:
                    figures[key][name] = value
    return figures


# --- promises ------------------------------------------------------------------------------


def promise_figures(period: Period, now) -> Figures:
    figures: Figures = defaultdict(dict)
    promised = ServiceRequest.objects.filter(
        promised_at__isnull=False, resolved_at__gte=period.start, resolved_at__lt=period.end
    )
    for fields, keys_of in _groupings("provider_department_id", "requesting_department_id"):
        rows = promised.values(*fields).annotate(
            total=Count("id"),
            kept=Count("id", filter=Q(resolved_at__lte=F("promised_at"))),
        )
        for row in rows:
            for key in keys_of(row):
                figures[key].update(rate_figures("promise_kept", row["kept"], row["total"]))
    return figures


# --- the customer's side: answering while the provider waits ------------------------------


def responsiveness_figures(period: Period, now) -> Figures:
    """Median business seconds requesters took to answer a request waiting on them."""
    figures: Figures = defaultdict(dict)
    waits = WaitPeriod.objects.filter(
        ended_at__gte=period.start, ended_at__lt=period.end, business_seconds__isnull=False
    )
    customer, provider = "requesting_department_id", "provider_department_id"
    groupings = [
        ((customer,), lambda row: [(CUSTOMER, row[customer], None)]),
        ((customer, provider), lambda row: [(CUSTOMER, row[customer], row[provider])]),
    ]
    for fields, keys_of in groupings:
        counts = waits.values(*fields).annotate(n=Count("id"))
        for row in counts:
            for key in keys_of(row):
                figures[key]["customer_responsiveness_n"] = row["n"]
        values = _percentiles(
            waits, fields, "business_seconds", (0.5,), lambda row, k=keys_of: tuple(k(row))
        )
        for (keys, _), value in values.items():
            for key in keys:
                figures[key]["customer_responsiveness_seconds"] = value
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


# --- breakdown of a provider's clocks by service and by priority --------------------------


def breakdown_figures(period: Period, now) -> Figures:
    """Each provider's timeliness and time to resolve per service and per priority.

    The same settled clocks as `clock_figures`, grouped by the request's service or priority:
    one grouped query per breakdown (plus, on SQLite only, the values for the medians).
    Stored as `by_service` {service id: {...}} and `by_priority` {priority: {...}} on the
    provider's own snapshot; keys are strings, as JSON keeps them.
    """
    figures: Figures = defaultdict(dict)
    clocks = SLAClock.objects.filter(settled_clocks(period, now)).exclude(
        request__status=Status.CANCELLED
    )
    first_response = Q(kind=ClockKind.FIRST_RESPONSE)
    resolution = Q(kind=ClockKind.RESOLUTION)
    met = Q(state=ClockState.MET)
    resolved = resolution & Q(completed_at__isnull=False)
    counts = {
        "settled": Count("id"),
        "met": Count("id", filter=met),
        "first_response_settled": Count("id", filter=first_response),
        "first_response_met": Count("id", filter=first_response & met),
        "resolution_settled": Count("id", filter=resolution),
        "resolution_met": Count("id", filter=resolution & met),
    }
    priority_labels = dict(ServiceRequest._meta.get_field("priority").flatchoices)
    breakdowns = [
        ("by_service", "request__service_id", lambda row: row["request__service__name"]),
        (
            "by_priority",
            "request__priority",
            lambda row: priority_labels.get(row["request__priority"]),
        ),
    ]
    for name, field, label_of in breakdowns:
        group = ["department_id", field]
        if name == "by_service":
            group.append("request__service__name")
        annotations = dict(counts)
        if has_percentile_cont():
            annotations["resolution_median"] = PercentileCont("used_seconds", 0.5, filter=resolved)
            medians = None
        else:
            medians = _percentiles(
                clocks.filter(resolved),
                ("department_id", field),
                "used_seconds",
                (0.5,),
                lambda row, field=field: (row["department_id"], str(row[field])),
            )
        for row in clocks.values(*group).annotate(**annotations).order_by():
            item = {"name": label_of(row)}
            item.update(rate_figures("timeliness", row["met"], row["settled"]))
            for kind in ClockKind.values:
                item.update(
                    rate_figures(f"{kind}_timeliness", row[f"{kind}_met"], row[f"{kind}_settled"])
                )
            group_key = (row["department_id"], str(row[field]))
            item["resolution_median_seconds"] = (
                row["resolution_median"] if medians is None else medians.get((group_key, 0.5))
            )
            provider_figures = figures[(PROVIDER, row["department_id"], None)]
            provider_figures.setdefault(name, {})[group_key[1]] = item
    return figures


# Sources of figures, in order; surveys and the relationship survey add theirs.
SOURCES: list[Callable[[Period, object], Figures]] = [
    clock_figures,
    promise_figures,
    responsiveness_figures,
    blocking_figures,
    breakdown_figures,
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
