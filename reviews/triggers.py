"""What the rules find to review: each finder reads a window of recent facts with one or two
set-based queries over indexes, and answers `Trigger`s; opening them is the services' job
(services.reviews_open_due), where `trigger_key` makes a second finding of the same thing
open nothing.

Keys, so that one thing is reviewed once:
- `request:<id>`: a request on its own, whichever rule found it first (a breach or a low
  rating; a manager opening a review on that one request finds the same);
- `chain:<id>`: a request held up by a late blocker, with its whole chain of blockers; the
  topmost held-up request of a chain names it, so a chain is one review;
- `pair:<provider>:<customer>:<quarter>`: a pair's quarter (hire-back, or by hand).

Whose rule decides: the provider's (the department whose service is reviewed; for a chain,
the provider of the held-up request). The other side can always open a review by hand.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import F, Q

from core.periods import parse_quarter, quarter_containing
from departments.models import Department
from requests_app.choices import ClockKind, ClockState
from requests_app.models import RequestLink, ServiceRequest, SLAClock, reference_for
from surveys import disclosure
from surveys.models import RelationshipSurvey, SurveyResponse
from surveys.selectors import hire_back_of

from .choices import Trigger
from .models import ReviewRule

# A chain deeper than this is cut: blocking chains are short in practice, and the walk
# costs a query per level.
MAX_CHAIN_DEPTH = 10


@dataclass
class Found:
    """Something a rule found to review."""

    trigger: str
    key: str
    title: str
    provider_id: int
    customer_id: int
    request_ids: list[int] = field(default_factory=list)
    # Departments of the chain's blockers, besides the provider and the customer.
    blocking_ids: set[int] = field(default_factory=set)
    period: str = ""


def request_key(request_id: int) -> str:
    return f"request:{request_id}"


def chain_key(request_id: int) -> str:
    return f"chain:{request_id}"


def pair_key(provider_id: int, customer_id: int, quarter: str) -> str:
    return f"pair:{provider_id}:{customer_id}:{quarter}"


def requests_key(request_ids) -> str:
    return "requests:" + ",".join(str(pk) for pk in sorted(set(request_ids)))


def rules_by_department() -> dict[int, ReviewRule]:
    """Every department's rules (unsaved defaults where it set none): one query each."""
    rules = {rule.department_id: rule for rule in ReviewRule.objects.all()}
    for pk in Department.objects.values_list("pk", flat=True):
        rules.setdefault(pk, ReviewRule(department_id=pk))
    return rules


def breaches_found(*, since, now, rules) -> list[Found]:
    """Resolution clocks completed in the window more than the provider's share beyond
    their target (`used * 100 > target * (100 + share)`), by share: one query."""
    by_share = defaultdict(list)
    for pk, rule in rules.items():
        if rule.breach_enabled:
            by_share[rule.breach_share_percent].append(pk)
    if not by_share:
        return []
    beyond = Q()
    for share, departments in by_share.items():
        beyond |= Q(department_id__in=departments, over__gt=F("target_seconds") * (100 + share))
    clocks = (
        SLAClock.objects.filter(
            kind=ClockKind.RESOLUTION,
            state=ClockState.BREACHED,
            department_id__in=[pk for pks in by_share.values() for pk in pks],
            completed_at__gte=since,
            completed_at__lte=now,
        )
        .annotate(over=F("used_seconds") * 100)
        .filter(beyond)
        .values_list("request_id", "department_id", "request__requesting_department_id")
    )
    return [
        Found(
            trigger=Trigger.BREACH,
            key=request_key(request_id),
            title=f"{reference_for(request_id)} took well past its target",
            provider_id=provider_id,
            customer_id=customer_id,
            request_ids=[request_id],
        )
        for request_id, provider_id, customer_id in clocks
    ]


def low_ratings_found(*, since, now, rules) -> list[Found]:
    """Survey answers of the window rated at or under the provider's `low_rating_max`."""
    by_max = defaultdict(list)
    for pk, rule in rules.items():
        if rule.low_rating_enabled:
            by_max[rule.low_rating_max].append(pk)
    if not by_max:
        return []
    low = Q()
    for highest, departments in by_max.items():
        low |= Q(survey__provider_department_id__in=departments, overall__lte=highest)
    answers = (
        SurveyResponse.objects.filter(answered_at__gte=since, answered_at__lte=now)
        .filter(low)
        .values_list(
            "survey__request_id",
            "survey__provider_department_id",
            "survey__requesting_department_id",
            "overall",
        )
    )
    return [
        Found(
            trigger=Trigger.LOW_RATING,
            key=request_key(request_id),
            title=f"{reference_for(request_id)} was rated {overall} of 5",
            provider_id=provider_id,
            customer_id=customer_id,
            request_ids=[request_id],
        )
        for request_id, provider_id, customer_id, overall in answers
    ]


def _links_around(request_ids: set[int]) -> list[tuple[int, int]]:
    """Every (blocked, blocker) link of the chains through `request_ids`, both ways: a
    query per level, at most MAX_CHAIN_DEPTH."""
    seen, frontier, links = set(request_ids), set(request_ids), set()
    for _ in range(MAX_CHAIN_DEPTH):
        if not frontier:
            break
        found = set(
            RequestLink.objects.filter(
                Q(request_id__in=frontier) | Q(blocked_by_id__in=frontier)
            ).values_list("request_id", "blocked_by_id")
        )
        links |= found
        frontier = {pk for pair in found for pk in pair} - seen
        seen |= frontier
    return sorted(links)


def _reach(start: int, edges: dict[int, set[int]]) -> set[int]:
    reached, stack = set(), [start]
    while stack:
        for nxt in edges.get(stack.pop(), ()):
            if nxt not in reached and nxt != start:
                reached.add(nxt)
                stack.append(nxt)
    return reached


def blocked_chains_found(*, since, now, rules) -> list[Found]:
    """Requests held up by a blocker that was late: a blocker whose resolution clock fell
    due in the window while the link held (made before the due time, not ended by then).
    The topmost held-up request of each chain names one review of the whole chain."""
    late = dict(
        SLAClock.objects.filter(
            kind=ClockKind.RESOLUTION,
            state=ClockState.BREACHED,
            department_id__in=list(rules),
            due_at__gte=since,
            due_at__lte=now,
            request__blocking_links__isnull=False,
        )
        .values_list("request_id", "due_at")
        .distinct()
    )
    if not late:
        return []
    held_up = set()
    for request_id, blocker_id, created_at, ended_at in RequestLink.objects.filter(
        blocked_by_id__in=list(late)
    ).values_list("request_id", "blocked_by_id", "created_at", "ended_at"):
        due = late[blocker_id]
        if created_at < due and (ended_at is None or ended_at > due):
            held_up.add(request_id)
    if not held_up:
        return []
    links = _links_around(held_up)
    blockers, blocked = defaultdict(set), defaultdict(set)
    for request_id, blocker_id in links:
        blockers[request_id].add(blocker_id)
        blocked[blocker_id].add(request_id)
    tops = [pk for pk in held_up if not (_reach(pk, blocked) & held_up)]
    chains = {top: [top, *sorted(_reach(top, blockers))] for top in tops}
    requests = ServiceRequest.objects.in_bulk(
        {pk for chain in chains.values() for pk in chain}, field_name="pk"
    )
    found = []
    for top, chain in sorted(chains.items()):
        root = requests[top]
        rule = rules.get(root.provider_department_id)
        if rule is None or not rule.blocked_chain_enabled:
            continue
        pair = {root.provider_department_id, root.requesting_department_id}
        found.append(
            Found(
                trigger=Trigger.BLOCKED_CHAIN,
                key=chain_key(top),
                title=f"{root.reference} was held up by late blocking requests",
                provider_id=root.provider_department_id,
                customer_id=root.requesting_department_id,
                request_ids=chain,
                blocking_ids={requests[pk].provider_department_id for pk in chain} - pair,
            )
        )
    return found


def negative_hire_back_found(*, now, rules) -> list[Found]:
    """Pairs whose released hire-back (disclosure.py: never under ANONYMITY_MIN answers,
    never by subtraction) is below zero, for the quarters whose survey has closed within
    the look-back of settings.REVIEW_HIRE_BACK_QUARTERS."""
    quarters = []
    quarter = quarter_containing(now)
    for _ in range(settings.REVIEW_HIRE_BACK_QUARTERS):
        quarter = quarter.previous()
        quarters.append(quarter.key)
    closed = RelationshipSurvey.objects.filter(quarter__in=quarters, closes_at__lte=now)
    found = []
    for key in closed.values_list("quarter", flat=True):
        cells = disclosure.period_cells(disclosure.Family.RELATIONSHIP, parse_quarter(key), now=now)
        for (group, provider_id, customer_id), totals in sorted(cells.cells.items(), key=str):
            if group != disclosure.PAIR:
                continue
            rule = rules.get(provider_id)
            figures = hire_back_of(totals)
            if rule is None or not rule.hire_back_enabled or figures.hidden:
                continue
            if figures.score is not None and figures.score < 0:
                found.append(
                    Found(
                        trigger=Trigger.HIRE_BACK_NEGATIVE,
                        key=pair_key(provider_id, customer_id, key),
                        title=f"Hire-back turned negative in {key}",
                        provider_id=provider_id,
                        customer_id=customer_id,
                        period=key,
                    )
                )
    return found


def everything_found(now: datetime.datetime) -> list[Found]:
    """What every rule finds now, each key once (the first rule to find it names it)."""
    rules = rules_by_department()
    since = now - datetime.timedelta(days=settings.REVIEW_TRIGGER_LOOKBACK_DAYS)
    found = [
        *breaches_found(since=since, now=now, rules=rules),
        *low_ratings_found(since=since, now=now, rules=rules),
        *blocked_chains_found(since=since, now=now, rules=rules),
        *negative_hire_back_found(now=now, rules=rules),
    ]
    unique = {}
    for item in found:
        unique.setdefault(item.key, item)
    return list(unique.values())
