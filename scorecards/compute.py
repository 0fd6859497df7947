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
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When

from core.periods import Period
from departments.choices import Priority, TargetSource
from departments.describe import target_key
from departments.models import Agreement, Service
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
# 2026.4: agreements between departments: the share of its agreements a provider kept
# (`agreements_kept`: each kind of clock measured under an agreement met its target at least
# AGREEMENT_KEPT_RATE of the time), the timeliness of the clocks under them
# (`agreement_timeliness`) and each agreement's figures (`by_agreement`), per provider and
# per pair. No earlier figure changes.
# 2026.5: reviews (scorecards/review_figures.py): reviews opened and closed, review actions
# due, done on time and open overdue, per department as provider (with the blocking
# departments) and as customer. No earlier figure changes.
METHODOLOGY_VERSION = "2026.5"


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


def scored_clocks(period: Period, now) -> QuerySet:
    """The clocks the scores count for the period: those settled in it, less a cancelled
    request's clocks, except those already breached when it was cancelled (withdrawing a
    request never erases the late work on it)."""
    return SLAClock.objects.filter(settled_clocks(period, now)).exclude(
        Q(request__status=Status.CANCELLED) & ~Q(state=ClockState.BREACHED)
    )


def _clock_groups(period: Period, now) -> dict:
    """The scored clocks, read once and grouped by kind and provider, customer, pair,
    provider and service, provider and priority. The service and priority are the clock's
    own, those its department held the request as (a transfer changes the request's, not
    the clock's): so a provider's breakdown lists only its own services."""
    rows = scored_clocks(period, now).values(
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


# --- agreements: the clocks measured under each, and whether it was kept --------------------
#
# What "kept" means (README, "Agreements kept"): the clocks of an agreement are the scored
# clocks whose target came from it (SLAClock.agreement: the clock copied it when it
# started), each met or breached against its own version's target. An agreement is a
# provider's agreement with one customer, or with every customer, over all its versions: a
# version superseded in the period and the one after it are one agreement, each clock
# judged by the version it started under. It is kept in the period when, for each kind of
# clock measured under it (first response, resolution), at least AGREEMENT_KEPT_RATE of
# them met their target; an agreement no clock was measured under in the period is neither
# kept nor broken, and is not counted. The agreements carry no agreed rate of their own.

AGREEMENT_EVERY_CUSTOMER = "all"  # the key of the provider's agreement with every customer
# Clocks whose target was the agreement's for their service (else: for every service).
SERVICE_TARGET_SOURCES = (TargetSource.AGREEMENT_PAIR_SERVICE, TargetSource.AGREEMENT_ALL_SERVICE)
AGREEMENT_GROUPING = ("kind_code", "provider", "customer", "agreement", "scope", "priority_code")


def agreement_kept(by_kind: dict[str, dict], rate: float) -> bool:
    """Each kind of clock measured ({kind: {met, settled}}) met its target at least `rate`
    of the time."""
    return all(row["met"] / row["settled"] >= rate for row in by_kind.values() if row["settled"])


def _tally() -> dict:
    return {"met": 0, "settled": 0}


def _kinds() -> defaultdict:
    return defaultdict(_tally)


@dataclass
class _AgreementTally:
    """The clocks of one agreement (all its versions) for a provider or a pair."""

    customer: int | None
    kinds: defaultdict = field(default_factory=_kinds)
    versions: defaultdict = field(default_factory=lambda: defaultdict(_kinds))
    # version -> target row (describe.target_key) -> kind -> tally; pairs only
    targets: defaultdict = field(default_factory=lambda: defaultdict(lambda: defaultdict(_kinds)))


def _agreement_groups(period: Period, now) -> list[dict]:
    """The scored clocks with an agreement, counted by kind, provider, customer, agreement
    version, target row (the service's, or every service's) and priority: one query."""
    rows = (
        scored_clocks(period, now)
        .filter(agreement__isnull=False)
        .values(
            "agreement",
            kind_code=coded("kind", CLOCK_KINDS),
            priority_code=coded("priority", PRIORITIES),
            provider=F("department_id"),
            customer=F("request__requesting_department_id"),
            scope=Case(
                When(target_source__in=SERVICE_TARGET_SOURCES, then=F("service_id")),
                default=Value(None),
                output_field=IntegerField(),
            ),
            met=flag(Q(state=ClockState.MET)),
        )
    )
    measures = {"settled": Measure(COUNT), "met": Measure(COUNT, where="met")}
    return grouped_aggregates(rows, sets=[AGREEMENT_GROUPING], measures=measures)[
        AGREEMENT_GROUPING
    ]


def _kind_rates(by_kind: dict) -> dict:
    """Each clock kind's timeliness and count, without intervals (a target row's)."""
    values = {}
    for kind in ClockKind.values:
        row = by_kind.get(kind) or _tally()
        rate = rate_figures(f"{kind}_timeliness", row["met"], row["settled"])
        values.update({name: value for name, value in rate.items() if "interval" not in name})
    return values


def _agreement_item(tally: _AgreementTally, *, rate: float, pair: bool) -> dict:
    item = {
        "customer": tally.customer,
        "versions": sorted(tally.versions),
        "kept": agreement_kept(tally.kinds, rate),
        **_timeliness(tally.kinds),
    }
    if pair:
        item["by_version"] = {
            str(version): {
                **_timeliness(kinds),
                "targets": {
                    key: _kind_rates(by_kind)
                    for key, by_kind in sorted(tally.targets[version].items())
                },
            }
            for version, kinds in sorted(tally.versions.items())
        }
    return item


def agreement_figures(period: Period, now) -> Figures:
    """For each provider, and each provider x customer pair: the share of its agreements it
    kept (`agreements_kept`, of those measured), the timeliness of the clocks under them
    (`agreement_timeliness`), and per agreement (`by_agreement`, keyed by the customer's id
    or "all") its timeliness, whether it was kept and, for a pair, per version and target
    row. One grouped query and a look-up of the versions."""
    groups = _agreement_groups(period, now)
    if not groups:
        return {}
    versions = {
        pk: (customer, version)
        for pk, customer, version in Agreement.objects.filter(
            pk__in={group["agreement"] for group in groups}
        ).values_list("pk", "customer_id", "version")
    }
    tallies: dict[Key, dict[str, _AgreementTally]] = defaultdict(dict)
    for group in groups:
        customer, version = versions[group["agreement"]]
        kind = decoded(group["kind_code"], CLOCK_KINDS)
        line = str(customer) if customer is not None else AGREEMENT_EVERY_CUSTOMER
        target = target_key(group["scope"], decoded(group["priority_code"], PRIORITIES))
        provider = group["provider"]
        for key in ((PROVIDER, provider, None), (PROVIDER, provider, group["customer"])):
            tally = tallies[key].setdefault(line, _AgreementTally(customer=customer))
            for counts in (
                tally.kinds[kind],
                tally.versions[version][kind],
                tally.targets[version][target][kind],
            ):
                counts["met"] += group["met"]
                counts["settled"] += group["settled"]
    rate = settings.AGREEMENT_KEPT_RATE
    figures: Figures = {}
    for key, lines in tallies.items():
        items = {
            line: _agreement_item(tally, rate=rate, pair=key[2] is not None)
            for line, tally in sorted(lines.items())
        }
        met = sum(t.kinds[k]["met"] for t in lines.values() for k in t.kinds)
        settled = sum(t.kinds[k]["settled"] for t in lines.values() for k in t.kinds)
        figures[key] = {
            **rate_figures(
                "agreements_kept", sum(item["kept"] for item in items.values()), len(items)
            ),
            **rate_figures("agreement_timeliness", met, settled),
            "by_agreement": items,
        }
    return figures


# Sources of figures, in order; surveys and the relationship survey add theirs.
SOURCES: list[Callable[[Period, object], Figures]] = [
    clock_figures,
    promise_figures,
    decline_figures,
    responsiveness_figures,
    blocking_figures,
    agreement_figures,
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
    from .review_figures import SOURCES as REVIEW_SOURCES  # reviews build on the scorecards
    from .survey_figures import SOURCES as SURVEY_SOURCES  # it builds on this module

    merged: Figures = defaultdict(dict)
    for source in [*SOURCES, *SURVEY_SOURCES, *REVIEW_SOURCES]:
        for key, values in source(period, now).items():
            merged[key].update(values)
    for values in merged.values():
        values["service_score"] = service_score(values, weights)
    return merged
