"""Which targets apply to a request, and why: the one place precedence is decided.

For a request from customer C to provider P for service S at priority p, filed at `at`, the
first of these that has a target for p applies:

1. the agreement between P and C in effect at `at`, its target for S;
2. the same agreement, its target for every service;
3. P's agreement with every customer in effect at `at`, its target for S;
4. the same agreement, its target for every service;
5. the service's own SLA target;
6. P's department default;
7. the company fallback, `settings.SLA_FALLBACK_TARGET_HOURS`.

An agreement is in effect from its `effective_from` (set when it is accepted: the later of
the acceptance and the start of its first day) until its `effective_until` (the end of its
last day, or when a later version took over). Proposed, declined and withdrawn versions
never apply. A clock copies the target, its source and the agreement when it starts
(requests_app), so a later version changes only requests filed after it takes effect.

`target_candidates` reads what may apply (two queries, whatever the number of services and
versions; `target_candidates_by_provider` the same for several providers at once);
`target_choose` picks from them without a query, so a page of many services
(the department page) or the demo's months of history cost the same two queries.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q

from .choices import Priority, TargetSource
from .models import Agreement, AgreementTarget, BusinessCalendar, SLATarget

AGREEMENT_SOURCES = (
    TargetSource.AGREEMENT_PAIR_SERVICE,
    TargetSource.AGREEMENT_PAIR,
    TargetSource.AGREEMENT_ALL_SERVICE,
    TargetSource.AGREEMENT_ALL,
)


@dataclass(frozen=True)
class AppliedTarget:
    """The targets that apply, where they come from and the calendar they run in."""

    first_response_seconds: int
    resolution_seconds: int
    source: str  # a TargetSource
    agreement: Agreement | None = None
    # The agreement's own support hours; None: the provider's calendar.
    calendar: BusinessCalendar | None = None

    @property
    def agreement_id(self) -> int | None:
        return self.agreement.pk if self.agreement is not None else None


@dataclass
class TargetCandidates:
    """Everything that may apply to a provider's requests from one customer."""

    provider_id: int
    customer_id: int | None
    agreement_targets: list[AgreementTarget] = field(default_factory=list)
    sla_targets: list[SLATarget] = field(default_factory=list)


def in_effect(agreement: Agreement, at: datetime.datetime) -> bool:
    """Whether the accepted agreement applies to a request filed at `at`."""
    return (
        agreement.effective_from is not None
        and agreement.effective_from <= at
        and (agreement.effective_until is None or at < agreement.effective_until)
    )


def target_candidates(
    *,
    provider_id: int,
    customer_id: int | None,
    service_id: int | None = None,
    priority: str | None = None,
    at: datetime.datetime | None = None,
) -> TargetCandidates:
    """The agreement and SLA targets that may apply (two queries). With `service_id`,
    `priority` or `at`, only those that may apply to that service, priority or instant."""
    return target_candidates_by_provider(
        provider_ids=[provider_id],
        customer_id=customer_id,
        service_id=service_id,
        priority=priority,
        at=at,
    )[provider_id]


def target_candidates_by_provider(
    *,
    provider_ids,
    customer_id: int | None,
    service_id: int | None = None,
    priority: str | None = None,
    at: datetime.datetime | None = None,
) -> dict[int, TargetCandidates]:
    """`target_candidates` of several providers for one customer, in the same two queries
    (a page of services of many departments)."""
    provider_ids = list(provider_ids)
    agreement_targets = AgreementTarget.objects.filter(
        agreement__provider_id__in=provider_ids, agreement__effective_from__isnull=False
    ).filter(Q(agreement__customer_id=customer_id) | Q(agreement__customer__isnull=True))
    sla_targets = SLATarget.objects.filter(department_id__in=provider_ids)
    if service_id is not None:
        agreement_targets = agreement_targets.filter(
            Q(service_id=service_id) | Q(service__isnull=True)
        )
        sla_targets = sla_targets.filter(Q(service_id=service_id) | Q(service__isnull=True))
    if priority is not None:
        Priority(priority)  # an unknown priority is a programming error: fail loudly
        agreement_targets = agreement_targets.filter(priority=priority)
        sla_targets = sla_targets.filter(priority=priority)
    if at is not None:
        agreement_targets = agreement_targets.filter(agreement__effective_from__lte=at).filter(
            Q(agreement__effective_until__isnull=True) | Q(agreement__effective_until__gt=at)
        )
    candidates = {
        provider_id: TargetCandidates(provider_id=provider_id, customer_id=customer_id)
        for provider_id in provider_ids
    }
    for target in agreement_targets.select_related(
        "agreement__provider", "agreement__customer", "agreement__calendar"
    ).order_by():
        candidates[target.agreement.provider_id].agreement_targets.append(target)
    for target in sla_targets.order_by():
        candidates[target.department_id].sla_targets.append(target)
    return candidates


def _agreement_source(target: AgreementTarget) -> str:
    if target.agreement.customer_id is not None:
        return (
            TargetSource.AGREEMENT_PAIR_SERVICE
            if target.service_id
            else TargetSource.AGREEMENT_PAIR
        )
    return TargetSource.AGREEMENT_ALL_SERVICE if target.service_id else TargetSource.AGREEMENT_ALL


def fallback_target(priority: str) -> AppliedTarget:
    """The company's fallback for a provider without targets."""
    first, resolution = settings.SLA_FALLBACK_TARGET_HOURS[priority]
    return AppliedTarget(
        first_response_seconds=first * 3600,
        resolution_seconds=resolution * 3600,
        source=TargetSource.FALLBACK,
    )


def target_choose(
    candidates: TargetCandidates, *, service_id: int, priority: str, at: datetime.datetime
) -> AppliedTarget:
    """The target that applies to a request for the service at the priority filed at `at`,
    by the precedence of this module's docstring. No query."""
    best: tuple[int, int] | None = None
    chosen: AgreementTarget | None = None
    for target in candidates.agreement_targets:
        agreement = target.agreement
        if (
            target.priority != priority
            or target.service_id not in (None, service_id)
            or agreement.customer_id not in (None, candidates.customer_id)
            or not in_effect(agreement, at)
        ):
            continue
        # Lower rank wins; within a rank (never two versions in effect at once, but a
        # database edited by hand may hold them) the later version.
        rank = (AGREEMENT_SOURCES.index(_agreement_source(target)), -agreement.version)
        if best is None or rank < best:
            best, chosen = rank, target
    if chosen is not None:
        return AppliedTarget(
            first_response_seconds=chosen.first_response_seconds,
            resolution_seconds=chosen.resolution_seconds,
            source=_agreement_source(chosen),
            agreement=chosen.agreement,
            calendar=chosen.agreement.calendar,
        )
    by_scope = {
        target.service_id: target
        for target in candidates.sla_targets
        if target.priority == priority and target.service_id in (None, service_id)
    }
    for scope, source in ((service_id, TargetSource.SERVICE), (None, TargetSource.DEPARTMENT)):
        target = by_scope.get(scope)
        if target is not None:
            return AppliedTarget(
                first_response_seconds=target.first_response_seconds,
                resolution_seconds=target.resolution_seconds,
                source=source,
            )
    return fallback_target(priority)


def target_applicable(*, service, priority: str, customer_id: int | None, at) -> AppliedTarget:
    """The target for a request to `service` from the customer department, filed at `at`:
    what a clock starts with (two queries)."""
    candidates = target_candidates(
        provider_id=service.department_id,
        customer_id=customer_id,
        service_id=service.pk,
        priority=priority,
        at=at,
    )
    return target_choose(candidates, service_id=service.pk, priority=priority, at=at)
