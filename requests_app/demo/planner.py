"""The demo history's plan: who files what with which department and when, and each
request's later steps at their instants, drawn with one seeded random generator from the
story (stories.toml) and the organisation in the database. Same seed, organisation and "now":
same plan."""

from __future__ import annotations

import datetime
import random
import re
import zoneinfo
from dataclasses import dataclass, field

from django.conf import settings

from departments.business_time import add_business_seconds, business_seconds_between
from departments.choices import Priority, Role
from departments.models import Department, EscalationLevel, Membership, Service
from departments.services import calendar_version_current
from departments.targets import AppliedTarget, target_candidates, target_choose

from ..choices import ClockKind
from ..escalation import escalation_plan
from ..selectors import targets_by_kind
from .stories import (
    ANSWER_HOURS,
    ANSWERS,
    BEHAVIOUR,
    BLOCKED_NOTES,
    BLOCKERS,
    CANCELS,
    DEFAULT_BEHAVIOUR,
    FILLERS,
    FIRST_REPLIES,
    GENERIC_TEXTS,
    NOTES,
    QUESTIONS,
    REMINDERS,
    REOPENS,
    RESOLUTIONS,
    SERVICE_TEXTS,
    TRANSFER_NOTES,
    TRANSFERS,
    UNBLOCKED_REPLIES,
    Behaviour,
)

MINUTE = 60
HOUR = 3600
DAY = 24 * HOUR

AUTO_CLOSE_AFTER = datetime.timedelta(days=10)

PRIORITY_ORDER = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]
PRIORITY_MIX = {Priority.LOW: 20, Priority.NORMAL: 50, Priority.HIGH: 22, Priority.URGENT: 8}

# Shares of all requests (quotas, so that a small history has some of each too).
REOPEN_SHARE = 0.05
CANCEL_SHARE = 0.03
TRANSFER_SHARE = 0.024  # some are not possible (filed by the right department itself)
BLOCKED_SHARE = 0.012
PROMISE_SHARE = 0.15
PROMISE_BROKEN = 0.25
PRIORITY_CHANGE_SHARE = 0.05


MAX_BLOCK_DEPTH = 2

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _fill(rng: random.Random, text: str, values: dict) -> str:
    """Replace {placeholders} from `values`, else with a random filler (the same key, the
    same choice within one request); unknown ones ({blocker}) are left for later."""

    def replace(match):
        key = match.group(1)
        if key not in values and key in FILLERS:
            values[key] = rng.choice(FILLERS[key])
        return str(values.get(key, match.group(0)))

    return _PLACEHOLDER.sub(replace, text)


# --- the plan --------------------------------------------------------------------------------


@dataclass
class Step:
    at: datetime.datetime
    action: str
    args: dict


@dataclass
class Plan:
    """One request to be: what is filed, and every later action at its instant."""

    order: int
    requester: object
    service: Service
    priority: str
    title: str
    description: str
    confidential: bool
    steps: list[Step] = field(default_factory=list)
    values: dict = field(default_factory=dict)

    def add(self, at: datetime.datetime, action: str, /, **args) -> datetime.datetime:
        """Append a step; instants within a request strictly increase (a minute apart)."""
        if self.steps and at <= self.steps[-1].at:
            at = self.steps[-1].at + datetime.timedelta(minutes=1)
        self.steps.append(Step(at=at, action=action, args=args))
        return at


@dataclass
class Provider:
    department: Department
    calendar: object  # CalendarVersion: the clocks' calendar
    behaviour: Behaviour
    agents: list
    agent_weights: list
    managers: list
    services: list
    service_weights: list


@dataclass
class Person:
    user: object
    department: Department
    calendar: object
    weight: float


class HistoryPlanner:
    """Plans the requests of `weeks` weeks up to `now` with one random generator."""

    def __init__(self, *, rng: random.Random, now: datetime.datetime, weeks: int):
        self.rng = rng
        self.now = now
        self.start = now - datetime.timedelta(weeks=weeks)
        self.weeks = weeks
        self.plans: list[Plan] = []
        self._candidates: dict = {}
        self._agreement_calendars: dict = {}
        self._levels: dict | None = None
        self._load_org()

    # --- the organisation --------------------------------------------------------------------

    def _load_org(self) -> None:
        departments = list(
            Department.objects.select_related("calendar")
            .prefetch_related("calendar__working_hours", "calendar__holidays")
            .order_by("pk")
        )
        versions = {}
        for department in departments:
            key = department.calendar_id
            if key not in versions:
                versions[key] = calendar_version_current(calendar=department.calendar)
        by_pk = {d.pk: d for d in departments}
        self.calendar_of = {d.pk: versions[d.calendar_id] for d in departments}
        memberships = list(
            Membership.objects.filter(user__is_active=True)
            .select_related("user")
            .order_by("department_id", "user__username")
        )
        self.people: list[Person] = []
        staff_of: dict[int, dict[str, list]] = {}
        for membership in memberships:
            department = by_pk[membership.department_id]
            staff_of.setdefault(department.pk, {Role.AGENT: [], Role.MANAGER: []})
            if membership.role in (Role.AGENT, Role.MANAGER):
                staff_of[department.pk][membership.role].append(membership.user)
            if membership.is_primary:
                user = membership.user
                # The demo logins file and work more, so their pages are the liveliest.
                weight = {"staff": 5, "hr": 2, "manager": 0.5}.get(user.username)
                if weight is None:
                    weight = 2 if membership.role == Role.MEMBER else 1
                self.people.append(
                    Person(user, department, self.calendar_of[department.pk], weight)
                )
        self.people.sort(key=lambda p: p.user.username)
        self.primary_of = {p.user.pk: p for p in self.people}

        services_by_department: dict[int, list[Service]] = {}
        for service in (
            Service.objects.filter(active=True, department__is_provider=True)
            .select_related("department")
            .order_by("pk")
        ):
            service.department = by_pk[service.department_id]  # with its prefetched calendar
            services_by_department.setdefault(service.department_id, []).append(service)
        self.services_by_department = services_by_department  # active, of providers
        self.providers: list[Provider] = []
        self.service_by_name: dict[str, Service] = {}
        for department in departments:
            offered = services_by_department.get(department.pk)
            staff = staff_of.get(department.pk, {Role.AGENT: [], Role.MANAGER: []})
            if not department.is_provider or not offered:
                continue
            agents = staff[Role.AGENT] or staff[Role.MANAGER]
            if not agents:
                continue
            for service in offered:
                self.service_by_name.setdefault(service.name, service)
            self.providers.append(
                Provider(
                    department=department,
                    calendar=self.calendar_of[department.pk],
                    behaviour=BEHAVIOUR.get(department.slug, DEFAULT_BEHAVIOUR),
                    agents=agents,
                    agent_weights=[3 if a.username == "agent" else 1 for a in agents],
                    managers=staff[Role.MANAGER] or agents,
                    services=offered,
                    service_weights=[SERVICE_TEXTS.get(s.name, (1,))[0] for s in offered],
                )
            )
        self.provider_of = {p.department.pk: p for p in self.providers}

    def basis(self, service: Service, priority: str, *, customer_id: int, at) -> AppliedTarget:
        """selectors.clock_basis (the same precedence, departments.targets.target_choose),
        from what may apply to each provider and customer, read once."""
        key = (service.department_id, customer_id)
        candidates = self._candidates.get(key)
        if candidates is None:
            candidates = self._candidates[key] = target_candidates(
                provider_id=service.department_id, customer_id=customer_id
            )
        return target_choose(candidates, service_id=service.pk, priority=priority, at=at)

    def escalation(self, department_id: int, agreement_id: int | None) -> dict:
        """selectors.clock_escalation, from every department's levels read once."""
        if self._levels is None:
            self._levels = {}
            for level in EscalationLevel.objects.order_by("pk"):
                self._levels.setdefault(level.department_id, []).append(level)
        return escalation_plan(self._levels.get(department_id, []), agreement_id=agreement_id)

    def targets(self, service: Service, priority: str, *, customer_id: int, at) -> dict[str, int]:
        """Target seconds per clock kind of `basis`."""
        return targets_by_kind(self.basis(service, priority, customer_id=customer_id, at=at))

    def clock_calendar(self, applied: AppliedTarget, department_id: int):
        """The calendar version a clock runs in: the agreement's support hours, else the
        department's calendar (as services._clocks_start)."""
        if applied.calendar is None:
            return self.calendar_of[department_id]
        version = self._agreement_calendars.get(applied.calendar.pk)
        if version is None:
            version = calendar_version_current(calendar=applied.calendar)
            self._agreement_calendars[applied.calendar.pk] = version
        return version

    # --- random pieces -----------------------------------------------------------------------

    def pick(self, items, weights=None):
        return self.rng.choices(items, weights=weights)[0] if weights else self.rng.choice(items)

    def later(self, calendar, start, seconds) -> datetime.datetime:
        """`seconds` of business time after `start` in `calendar`."""
        return add_business_seconds(calendar, start, max(1, int(seconds)))

    def on_time_fraction(self, pace: float) -> float:
        """The share of a target used by work that is on time: mean about `pace`."""
        a = 2.0
        b = a * (1 - pace) / pace
        return 0.03 + 0.94 * self.rng.betavariate(a, b)

    def late_fraction(self) -> float:
        return min(4.0, 1.03 + self.rng.expovariate(1 / 0.5))

    def answer_delay(self, person: Person) -> float:
        """Business seconds a requester takes to answer (log-normal around the median)."""
        median = ANSWER_HOURS.get(person.department.slug, 3.0) * HOUR
        return min(8 * DAY, max(10 * MINUTE, self.rng.lognormvariate(0, 0.9) * median))

    def filing_instant(self, person: Person) -> datetime.datetime:
        """A moment in the history window: working days in working hours of the requester's
        calendar mostly, some early, late or weekend filings."""
        calendar = person.calendar
        span_days = (self.now - self.start).days + 1
        for _ in range(200):
            day = self.start + datetime.timedelta(days=self.rng.randrange(span_days))
            midnight = day.astimezone(zoneinfo.ZoneInfo(calendar.timezone)).replace(
                hour=0, minute=0, second=0, microsecond=0
            )
            next_midnight = midnight + datetime.timedelta(days=1)
            working = business_seconds_between(calendar, midnight, next_midnight)
            roll = self.rng.random()
            if working and roll < 0.93:
                instant = add_business_seconds(
                    calendar, midnight, self.rng.randrange(1, working + 1)
                )
            elif (working and roll < 0.99) or roll < 0.03:
                # Before work, in the evening, or on a weekend.
                hour = self.rng.choice([7, 8, 18, 19, 20, 21, 22])
                instant = midnight.replace(hour=hour, minute=self.rng.randrange(60))
            else:
                continue
            instant = instant.replace(microsecond=0)
            if self.start <= instant <= self.now:
                return instant.astimezone(datetime.UTC)
        return (self.now - datetime.timedelta(hours=1)).replace(microsecond=0)

    def pick_priority(self, service: Service) -> str:
        if service.name == "Security incident" or self.rng.random() < 0.6:
            return service.default_priority
        return self.pick(list(PRIORITY_MIX), list(PRIORITY_MIX.values()))

    def texts(self, plan_values: dict, service: Service) -> tuple[str, str]:
        entries = SERVICE_TEXTS.get(service.name, (1, 0, GENERIC_TEXTS))[2]
        title, body = self.rng.choice(entries)
        return _fill(self.rng, title, plan_values)[:200], _fill(self.rng, body, plan_values)

    def requester_for(self, provider: Provider, *, exclude=()) -> Person:
        candidates = [
            p
            for p in self.people
            if p.department.pk != provider.department.pk and p.department.pk not in exclude
        ]
        return self.pick(candidates, [p.weight for p in candidates])

    # --- planning ----------------------------------------------------------------------------

    def plan(self, *, count: int) -> list[Plan]:
        """Plan `count` requests (plus the requests their agents file for blocked-by links)."""
        providers = self.providers
        seeds = []
        for _ in range(count):
            provider = self.pick(providers, [p.behaviour.volume for p in providers])
            service = self.pick(provider.services, provider.service_weights)
            person = self.requester_for(provider)
            seeds.append((self.filing_instant(person), provider, service, person))
        seeds.sort(key=lambda seed: seed[0])

        # Special fates by quota among requests old enough for them to have happened.
        def eligible(days, predicate=lambda seed: True):
            cutoff = self.now - datetime.timedelta(days=days)
            return [i for i, seed in enumerate(seeds) if seed[0] < cutoff and predicate(seed)]

        def quota(share, candidates, taken):
            free = [i for i in candidates if i not in taken]
            chosen = self.rng.sample(free, min(len(free), max(2, round(share * count))))
            return set(chosen)

        taken: set[int] = set()
        transfer_pairs = [
            (wrong, right)
            for wrong, right in TRANSFERS
            if wrong in self.service_by_name and right in self.service_by_name
        ]
        wrong_names = {wrong for wrong, _ in transfer_pairs}
        transfers = quota(TRANSFER_SHARE, eligible(2, lambda s: s[2].name in wrong_names), taken)
        taken |= transfers
        blocked = quota(
            BLOCKED_SHARE,
            eligible(3, lambda s: self.blockers_of(s[2], s[1].department) != []),
            taken,
        )
        taken |= blocked
        reopened = quota(REOPEN_SHARE, eligible(4), taken)
        taken |= reopened
        cancelled = quota(CANCEL_SHARE, eligible(1), taken)

        for index, (filed_at, provider, service, person) in enumerate(seeds):
            fate = {
                "transfer": index in transfers,
                "blocked": index in blocked,
                "reopen": index in reopened,
                "cancel": index in cancelled,
            }
            if fate["transfer"]:
                right = self.pick([r for w, r in transfer_pairs if w == service.name])
                right_service = self.service_by_name[right]
                customer = person.department.pk
                if customer == right_service.department_id:
                    fate["transfer"] = False
                else:
                    self.plan_transferred(filed_at, provider, service, person, right_service)
                    continue
            self.plan_request(filed_at, provider, service, person, fate=fate)
        self.plans.sort(key=lambda plan: (plan.steps[0].at, plan.order))
        return self.plans

    def new_plan(self, person: Person, service: Service, *, title=None, body=None) -> Plan:
        values = {"first": person.user.first_name or person.user.username}
        priority = self.pick_priority(service)
        if title is None:
            title, body = self.texts(values, service)
        else:
            title, body = _fill(self.rng, title, values), _fill(self.rng, body, values)
        confidential_share = SERVICE_TEXTS.get(service.name, (1, 0))[1]
        plan = Plan(
            order=len(self.plans),
            requester=person.user,
            service=service,
            priority=priority,
            title=title,
            description=body,
            confidential=self.rng.random() < confidential_share,
            values=values,
        )
        self.plans.append(plan)
        return plan

    def blockers_of(self, service: Service, department: Department) -> list:
        return [
            entry
            for entry in BLOCKERS.get(service.name, [])
            if entry[0] in self.service_by_name
            and self.service_by_name[entry[0]].department_id != department.pk
        ]

    def plan_request(self, filed_at, provider, service, person, *, fate, depth=0, late=None):
        """A request filed at `filed_at` and worked to its end (or to now, whichever first)."""
        plan = self.new_plan(person, service)
        plan.add(filed_at, "create")
        self.plan_work(
            plan,
            provider,
            person,
            service=service,
            start=filed_at,
            fate=fate,
            depth=depth,
            late=late,
        )
        return plan

    def plan_transferred(self, filed_at, wrong_provider, wrong_service, person, right_service):
        """Filed at the wrong department, which answers, passes it on; the right one works it."""
        # The text is about the right service; the requester picked the wrong one.
        plan = self.new_plan(person, right_service)
        plan.service = wrong_service
        plan.add(filed_at, "create")
        right_provider = self.provider_of[right_service.department_id]
        agent = self.pick(wrong_provider.agents, wrong_provider.agent_weights)
        customer_id = person.department.pk
        basis = self.basis(wrong_service, plan.priority, customer_id=customer_id, at=filed_at)
        fr_target = targets_by_kind(basis)[ClockKind.FIRST_RESPONSE]
        answered = self.later(
            self.clock_calendar(basis, wrong_provider.department.pk),
            filed_at,
            fr_target * self.on_time_fraction(wrong_provider.behaviour.pace),
        )
        note = _fill(
            self.rng,
            self.rng.choice(TRANSFER_NOTES),
            {**plan.values, "department": right_provider.department.name},
        )
        plan.add(answered, "comment", author=agent, body=note)
        moved = plan.add(
            answered + datetime.timedelta(minutes=2),
            "transfer",
            actor=agent,
            department=right_provider.department,
            service=right_service,
        )
        self.plan_work(plan, right_provider, person, service=right_service, start=moved, fate={})

    def plan_work(
        self,
        plan: Plan,
        provider: Provider,
        person: Person,
        *,
        service: Service,
        start,
        fate,
        depth=0,
        late=None,
    ):
        """The provider's work on a request from `start` (filing or transfer) to its end.

        Instants come from business time in the provider's calendar, so what is planned as
        on time or late is what the clocks will say: the first response after `first` business
        seconds, the resolution when the running (not waiting) time reaches `budget`.
        """
        rng = self.rng
        behaviour = provider.behaviour
        customer_id = person.department.pk
        # The clocks' calendar: the agreement's support hours, if the target comes from one.
        calendar = self.clock_calendar(
            self.basis(service, plan.priority, customer_id=customer_id, at=start),
            provider.department.pk,
        )
        department_slug = provider.department.slug
        agent = self.pick(provider.agents, provider.agent_weights)
        manager = self.pick(provider.managers)

        priority = plan.priority
        change_priority = not fate.get("blocked") and rng.random() < PRIORITY_CHANGE_SHARE
        if change_priority:
            position = PRIORITY_ORDER.index(priority)
            step = 1 if position == 0 or (position < 3 and rng.random() < 0.7) else -1
            priority = PRIORITY_ORDER[position + step]
        targets = self.targets(service, priority, customer_id=customer_id, at=start)
        first_late = rng.random() < behaviour.first_late
        if late is None:
            late = rng.random() < behaviour.resolution_late
        first = targets[ClockKind.FIRST_RESPONSE] * (
            self.late_fraction() if first_late else self.on_time_fraction(behaviour.pace * 0.8)
        )
        budget = targets[ClockKind.RESOLUTION] * (
            self.late_fraction() if late else self.on_time_fraction(behaviour.pace)
        )
        budget = max(budget, first + 5 * MINUTE)

        # Triage: assigned (by the manager or the agent themself), maybe a new priority.
        triaged = self.later(calendar, start, first * rng.uniform(0.3, 0.9))
        assigner = manager if rng.random() < 0.4 else agent
        plan.add(triaged, "assign", actor=assigner, assignee=agent)
        if change_priority:
            plan.add(triaged, "priority", actor=assigner, priority=priority)
        responded = self.later(calendar, start, first)
        used = first  # business seconds on the resolution clock so far
        cursor = responded

        if fate.get("cancel") and rng.random() < 0.3:
            # Withdrawn before anyone answered.
            cancel_at = self.later(person.calendar, start, first * rng.uniform(0.2, 0.9))
            self.plan_cancel(plan, cancel_at)
            return

        quick = budget < targets[ClockKind.RESOLUTION] * 0.15 and not any(fate.values())
        kind = rng.choices(["ack", "reply", "ask"], [35, 45, 20 * behaviour.asks / 0.3])[0]
        if quick and rng.random() < 0.5:
            resolved = plan.add(
                responded,
                "transition",
                actor=agent,
                action="resolve",
                comment=_fill(
                    rng, rng.choice(RESOLUTIONS.get(department_slug, ["Done."])), plan.values
                ),
            )
            self.plan_after_resolution(plan, provider, person, agent, resolved, fate=fate)
            return
        if kind == "ask":
            question = rng.choice(QUESTIONS.get(department_slug, ["Could you tell me more?"]))
            plan.add(responded, "transition", actor=agent, action="wait", comment=question)
            cursor = self.plan_answer(plan, person, responded, agent, provider)
        else:
            if kind == "ack":
                plan.add(responded, "ack", actor=agent)
            else:
                plan.add(
                    responded,
                    "comment",
                    author=agent,
                    body=_fill(rng, rng.choice(FIRST_REPLIES), plan.values),
                )
            cursor = plan.add(
                self.later(calendar, responded, rng.randrange(1, 30) * MINUTE),
                "transition",
                actor=agent,
                action="start",
            )
            used += business_seconds_between(calendar, responded, cursor)

        def advance(to_used):
            """The instant the resolution clock reaches `to_used`, running from `cursor`."""
            nonlocal used, cursor
            if to_used > used:
                cursor = self.later(calendar, cursor, to_used - used)
                used = to_used
            return cursor

        # Questions to the requester while working (the resolution clock pauses meanwhile).
        asks = 0
        if rng.random() < behaviour.asks * 0.8:
            asks = 2 if rng.random() < 0.2 else 1
        for _ in range(asks):
            asked = advance(used + (budget - used) * rng.uniform(0.15, 0.5))
            question = rng.choice(QUESTIONS.get(department_slug, ["Could you tell me more?"]))
            plan.add(asked, "transition", actor=agent, action="wait", comment=question)
            cursor = self.plan_answer(plan, person, asked, agent, provider)

        if rng.random() < 0.15:
            noted = advance(used + (budget - used) * rng.uniform(0.1, 0.5))
            note = rng.choice(NOTES.get(department_slug, ["Looking into it."]))
            plan.add(noted, "comment", author=agent, body=note, internal=True)

        if fate.get("cancel"):
            cancel_at = advance(used + (budget - used) * rng.uniform(0.1, 0.8))
            if rng.random() < 0.7:
                self.plan_cancel(plan, cancel_at)
            else:
                # Not for this department, or not possible: the provider declines it.
                plan.add(
                    cancel_at,
                    "transition",
                    actor=agent,
                    action="decline",
                    comment="We can't do this one, as discussed on the phone.",
                )
            return

        if fate.get("blocked") and depth < MAX_BLOCK_DEPTH:
            blocked_at = advance(used + MINUTE * rng.randrange(5, 90))
            blocker = self.plan_blocker(plan, service, provider, agent, blocked_at, depth)
            if blocker is None:
                resolved = advance(budget)
            else:
                resolved = self.later(calendar, blocker[1], rng.uniform(0.5, 8) * HOUR)
                blocker = blocker[0]
        else:
            blocker = None
            resolved = advance(budget)

        if not fate.get("reopen") and not fate.get("blocked") and rng.random() < PROMISE_SHARE:
            self.plan_promise(plan, provider, agent, after=plan.steps[-1].at, resolved=resolved)

        if blocker is not None:
            body = rng.choice(UNBLOCKED_REPLIES)
        else:
            body = _fill(rng, rng.choice(RESOLUTIONS.get(department_slug, ["Done."])), plan.values)
        plan.add(
            resolved,
            "transition",
            actor=agent,
            action="resolve",
            comment=body if rng.random() < 0.8 else "",
            blocker=blocker,
        )
        if fate.get("reopen"):
            reopened = self.later(person.calendar, resolved, rng.uniform(0.5, 3) * 8 * HOUR)
            if reopened - resolved < datetime.timedelta(days=settings.REOPEN_WINDOW_DAYS - 1):
                plan.add(
                    reopened,
                    "transition",
                    actor=plan.requester,
                    action="reopen",
                    comment=rng.choice(REOPENS),
                )
                resolved = self.later(
                    calendar, reopened, targets[ClockKind.RESOLUTION] * rng.uniform(0.1, 0.5)
                )
                plan.add(
                    resolved,
                    "transition",
                    actor=agent,
                    action="resolve",
                    comment="Fixed for good this time, I hope. Sorry about that!",
                )
        self.plan_after_resolution(plan, provider, person, agent, resolved, fate=fate)

    def plan_cancel(self, plan: Plan, at) -> None:
        """The requester withdraws the request, saying why."""
        reason = self.rng.choice(CANCELS)
        plan.add(at, "transition", actor=plan.requester, action="cancel", comment=reason)

    def plan_answer(self, plan: Plan, person: Person, asked, agent, provider) -> datetime.datetime:
        """The requester answers a question (which resumes the request); some need a nudge."""
        rng = self.rng
        delay = self.answer_delay(person)
        if delay > 2 * 8 * HOUR and rng.random() < 0.5:
            nudged = self.later(provider.calendar, asked, 8 * HOUR + rng.randrange(HOUR))
            answered_at = self.later(person.calendar, asked, delay)
            if nudged < answered_at:
                plan.add(
                    nudged,
                    "comment",
                    author=agent,
                    body=_fill(rng, rng.choice(REMINDERS), plan.values),
                )
        answered = self.later(person.calendar, asked, delay)
        return plan.add(answered, "comment", author=plan.requester, body=rng.choice(ANSWERS))

    def plan_promise(self, plan: Plan, provider, agent, *, after, resolved) -> None:
        """Commit to a date: kept about three times in four."""
        rng = self.rng
        promised_on = self.later(provider.calendar, after, rng.randrange(5, 120) * MINUTE)
        if promised_on >= resolved:
            return
        broken = rng.random() < PROMISE_BROKEN
        if broken:
            promised_at = promised_on + (resolved - promised_on) * rng.uniform(0.3, 0.9)
            if promised_at - promised_on < datetime.timedelta(hours=1):
                broken = False
        if not broken:
            promised_at = resolved + datetime.timedelta(hours=rng.uniform(1, 30))
        promised_at = promised_at.replace(minute=0, second=0, microsecond=0) + datetime.timedelta(
            hours=1
        )
        plan.add(promised_on, "promise", actor=agent, promised_at=promised_at)

    def plan_blocker(self, plan, service, provider, agent, blocked_at, depth):
        """The agent files a request to a third department and marks this one blocked by it.

        Returns the blocker's plan and when it is resolved (None if it cannot be planned)."""
        rng = self.rng
        options = self.blockers_of(service, provider.department)
        person = self.primary_of.get(agent.pk)
        if not options or person is None or person.department.pk != provider.department.pk:
            return None
        name, title, body = rng.choice(options)
        blocker_service = self.service_by_name[name]
        blocker_provider = self.provider_of[blocker_service.department_id]
        blocker = self.new_plan(person, blocker_service, title=title, body=body)
        blocker.add(blocked_at, "create")
        deeper = (
            depth + 1 < MAX_BLOCK_DEPTH
            and bool(self.blockers_of(blocker_service, blocker_provider.department))
            and rng.random() < 0.35
        )
        # The blocker is usually late itself: the "weakest link" the scorecards show.
        self.plan_work(
            blocker,
            blocker_provider,
            person,
            service=blocker_service,
            start=blocked_at,
            fate={"blocked": deeper},
            depth=depth + 1,
            late=rng.random() < 0.65,
        )
        plan.add(blocked_at + datetime.timedelta(minutes=1), "block", actor=agent, blocker=blocker)
        plan.add(
            blocked_at + datetime.timedelta(minutes=2),
            "comment",
            author=agent,
            body=rng.choice(BLOCKED_NOTES),
            internal=True,
            blocker=blocker,
        )
        last = blocker.steps[-1]
        resolve = next(
            (s for s in reversed(blocker.steps) if s.args.get("action") == "resolve"), None
        )
        return blocker, (resolve.at if resolve is not None else last.at)

    def plan_after_resolution(self, plan, provider, person, agent, resolved, *, fate) -> None:
        """Closed by the requester who confirms, or by the agent after ten quiet days."""
        rng = self.rng
        if rng.random() < 0.35:
            closed = self.later(person.calendar, resolved, rng.uniform(0.2, 16) * HOUR)
            plan.add(closed, "transition", actor=plan.requester, action="close")
        else:
            closed = self.later(
                provider.calendar, resolved + AUTO_CLOSE_AFTER, rng.uniform(0, 4) * HOUR
            )
            plan.add(closed, "transition", actor=agent, action="close")
