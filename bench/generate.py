"""The bench dataset: an organisation and N requests with their events, comments, wait
periods, notifications and two SLA clocks each, loaded with PostgreSQL COPY.

Every request is planned in Python and its clocks are computed with the app's own
`clock_events` + `compute_clock` over the request's generated events (open requests as of
`now0`, done ones as of their last change), so the stored clocks are exactly the cache the
app would hold; `manage.py rebuild_clocks` at `now0` would write the same values.

The dataset, per `--requests N` and `--open O` (default min(N, 100 000)):
- N - O done requests filed over the year before `now0` (closed or resolved, a few cancelled):
  mostly met, about one clock in ten breached, some with a wait on the requester;
- O open requests (new, in progress, waiting on requester) filed in the weeks before `now0`,
  many past due: a real backlog. The scanner has kept up until `now0`: every warning and
  breach up to then is notified (a breach also when its clock was completed late before
  the scan after it: that scan tells it), except those of the last seconds;
- of the open ones, `--crossings` (default 300) are placed so that one of their clocks passes
  75% or 100% of its target in the minute after `now0`: the scanner's work for that minute.

`now0` is the last weekday at 10:30:30 in Berlin (working time in every bench calendar) before
the run, so crossings happen in business hours. Requests are spread over 16 provider
departments with Zipf-like weights: the busiest gets about a quarter of them.

Loading: one transaction per run (TRUNCATE, COPY in chunks, indexes dropped during the load
and rebuilt after, foreign-key triggers off as superuser), then VACUUM ANALYZE.
"""

from __future__ import annotations

import datetime
import functools
import io
import json
import math
import random
import time
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from bench.common import columns_check, indexes_drop, load_session_prepare, sequences_reset
from core.markdown import render_markdown
from departments.business_time import add_business_seconds, business_seconds_between
from departments.models import (
    BusinessCalendar,
    CalendarVersion,
    Department,
    EscalationLevel,
    Membership,
    Service,
    SLATarget,
    WorkingHours,
)
from departments.services import calendar_version_current
from requests_app import workflow
from requests_app.choices import ClockKind, EventKind, NotificationKind, Status
from requests_app.clocks import clock_events, compute_clock, request_due_times, warning_seconds
from requests_app.escalation import escalation_plan, level_seconds, levels_due, next_escalation
from requests_app.models import (
    Comment,
    Notification,
    RequestEvent,
    ServiceRequest,
    SLAClock,
    WaitPeriod,
)
from requests_app.selectors import clock_basis
from requests_app.services import compute_fields

# 3: event data from requests_app.workflow's builders; 4: stored HTML; 5: escalation levels
GENERATOR_VERSION = 5
UTC = datetime.UTC
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
MINUTE, HOUR, DAY = 60, 3600, 86400
CHUNK = 5000  # requests per COPY round (fixed: the data do not depend on it)
HISTORY_DAYS = 365

PRIORITIES = ["low", "normal", "high", "urgent"]
# Every provider's escalation levels (unless --no-escalation): half the target tells the
# assignee, 90% the managers, four business hours past due the parent's and the customer's
# managers. No actions: an action is a service call, counted apart (scanner.ACTIONS_PER_SCAN).
BENCH_LEVELS = [
    {"threshold": "share", "value": 50, "notify": ["assignee"]},
    {"threshold": "share", "value": 90, "notify": ["managers"]},
    {"threshold": "overdue", "value": 4 * 3600, "notify": ["parent_managers", "customer_managers"]},
]
PRIORITY_WEIGHTS = [20, 55, 20, 5]
TARGET_HOURS = {"low": (16, 80), "normal": (8, 40), "high": (4, 16), "urgent": (1, 8)}

DEPARTMENTS = [
    # name, code, calendar kind, provider
    ("IT Service Desk", "IT", "office", True),
    ("Facilities", "FAC", "lunch", True),
    ("HR Services", "HR", "office", True),
    ("Payroll", "PAY", "office", True),
    ("Legal", "LEG", "office", True),
    ("Procurement", "PRO", "lunch", True),
    ("Finance", "FIN", "office", True),
    ("Security", "SEC", "24x7", True),
    ("Networks", "NET", "24x7", True),
    ("Workplace Technology", "WPT", "office", True),
    ("Data Platform", "DAT", "london", True),
    ("Travel", "TRV", "office", True),
    ("Fleet", "FLT", "lunch", True),
    ("Print and Mail", "PRM", "office", True),
    ("Training", "TRN", "london", True),
    ("Communications", "COM", "office", True),
    ("Sales", "SAL", "office", False),
    ("Marketing", "MKT", "office", False),
    ("Engineering", "ENG", "london", False),
    ("Customer Care", "CC", "24x7", False),
]
CALENDARS = {
    # timezone, holiday country, weekly hours [(weekdays, start, end), ...]
    "office": ("Europe/Berlin", "DE", [(range(5), "08:00", "17:00")]),
    "lunch": ("Europe/Berlin", "DE", [(range(5), "08:00", "12:00"), (range(5), "13:00", "17:00")]),
    "24x7": ("Europe/Berlin", "", [(range(7), "00:00", "00:00")]),
    "london": ("Europe/London", "GB", [(range(5), "09:00", "17:30")]),
}
SERVICES = ["Access and accounts", "Equipment", "Advice", "Changes", "Incidents"]
USERS_PER_DEPARTMENT = (1, 3, 6)  # managers, agents, members
FIRST_NAMES = ["Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hugo", "Ida", "Jonas"]
LAST_NAMES = ["Becker", "Fischer", "Hoffmann", "Klein", "Koch", "Meyer", "Schulz", "Wagner"]
VERBS = [
    "Cannot open",
    "Please set up",
    "Problem with",
    "Question about",
    "Need help with",
    "Broken",
    "Request for",
    "Change to",
    "Access to",
    "Update of",
]
OBJECTS = [
    "the shared drive",
    "my laptop",
    "the monthly report",
    "a new contract",
    "the meeting room",
    "the supplier invoice",
    "my travel booking",
    "the VPN",
    "the onboarding plan",
    "the parking permit",
    "the project budget",
    "a badge",
]
SENTENCES = [
    "It stopped working this morning.",
    "We need this before the end of the month.",
    "Please see the attached details.",
    "The team is blocked until this is done.",
    "This worked last week without problems.",
    "Could you tell me who is responsible?",
]
REPLIES = [
    "Thanks, we are on it.",
    "Could you send more details?",
    "Done, please check.",
    "We have ordered it.",
    "Here are the details you asked for.",
]

# The clock fields compute_clock fills in (its result's as_fields()), as the app updates them.
CLOCK_COMPUTED = compute_fields()
# COPY column lists; checked against the models so a new column fails loudly.
COLUMNS = {
    ServiceRequest: [
        "id",
        "requester_id",
        "requesting_department_id",
        "provider_department_id",
        "service_id",
        "priority",
        "title",
        "description",
        "description_html",
        "status",
        "assignee_id",
        "confidential",
        "promised_at",
        "created_at",
        "updated_at",
        "first_responded_at",
        "resolved_at",
        "closed_at",
        "cancelled_at",
        "declined_at",
        "promised_day",
        "resolution_due_at",
        "sla_due_at",
    ],
    SLAClock: [
        "id",
        "request_id",
        "kind",
        "department_id",
        "service_id",
        "priority",
        "is_current",
        "calendar_version_id",
        "target_seconds",
        "target_source",
        "agreement_id",
        "started_at",
        *CLOCK_COMPUTED,
        "warning_notified_at",
        "breach_notified_at",
        "escalation_levels",
        "escalation_level",
        "next_escalation_at",
    ],
    RequestEvent: [
        "id",
        "request_id",
        "actor_id",
        "kind",
        "created_at",
        "department_id",
        "data",
        "internal",
    ],
    Comment: ["id", "request_id", "author_id", "body", "body_html", "internal", "created_at"],
    WaitPeriod: [
        "id",
        "request_id",
        "requesting_department_id",
        "provider_department_id",
        "started_at",
        "ended_at",
        "business_seconds",
    ],
    Notification: [
        "id",
        "user_id",
        "request_id",
        "kind",
        "message",
        "link",
        "dedupe_key",
        "created_at",
        "read_at",
        "emailed_at",
        "email_claimed_until",
        "email_attempts",
    ],
}
LOADED_MODELS = list(COLUMNS)
# The stored HTML of a description or comment, as the lifecycle renders it. The texts come
# from short lists (SENTENCES, REPLIES, ...), so each is rendered once per process.
markdown_html = functools.lru_cache(maxsize=None)(render_markdown)
DUE_TIME_FIELDS = ("resolution_due_at", "sla_due_at")


# --- the organisation -----------------------------------------------------------------------


@dataclass
class BenchService:
    id: int
    name: str
    targets: dict[str, tuple[int, int]]  # priority -> (first response, resolution) seconds
    sources: dict[str, str] = field(default_factory=dict)  # priority -> TargetSource


@dataclass
class BenchDepartment:
    id: int
    slug: str
    name: str
    is_provider: bool
    version: CalendarVersion
    managers: list[tuple[int, str]] = field(default_factory=list)
    agents: list[tuple[int, str]] = field(default_factory=list)
    members: list[tuple[int, str]] = field(default_factory=list)
    services: list[BenchService] = field(default_factory=list)
    # The levels its clocks copy, per clock kind (requests_app.escalation.escalation_plan).
    levels: dict = field(default_factory=dict)

    @property
    def staff(self) -> list[tuple[int, str]]:
        return self.agents + self.managers

    @property
    def people(self) -> list[tuple[int, str]]:
        return self.managers + self.agents + self.members


@dataclass
class BenchOrg:
    departments: list[BenchDepartment]
    providers: list[int]  # indexes into departments
    provider_weights: list[float]


def _hhmm(text: str) -> datetime.time:
    return datetime.time.fromisoformat(text)


def org_build(rng: random.Random, *, escalation: bool = True) -> BenchOrg:
    """20 departments (16 providers), 10 people each, 5 services per provider, targets,
    and with `escalation` each provider's escalation levels (BENCH_LEVELS)."""
    user_model = get_user_model()
    unusable = make_password(None)
    departments = []
    for index, (name, code, kind, is_provider) in enumerate(DEPARTMENTS):
        zone, country, week = CALENDARS[kind]
        calendar = BusinessCalendar.objects.create(
            name=f"{name} hours", timezone=zone, holiday_country=country
        )
        WorkingHours.objects.bulk_create(
            WorkingHours(calendar=calendar, weekday=day, start=_hhmm(start), end=_hhmm(end))
            for days, start, end in week
            for day in days
        )
        department = Department.objects.create(
            name=name, slug=code.lower(), code=code, calendar=calendar, is_provider=is_provider
        )
        bench = BenchDepartment(
            id=department.pk,
            slug=department.slug,
            name=name,
            is_provider=is_provider,
            version=calendar_version_current(calendar=calendar),
        )
        managers, agents, members = USERS_PER_DEPARTMENT
        roles = ["manager"] * managers + ["agent"] * agents + ["member"] * members
        counters: Counter = Counter()
        users = []
        for number, role in enumerate(roles):
            counters[role] += 1
            users.append(
                user_model(
                    username=f"bench-{department.slug}-{role}{counters[role]}",
                    first_name=FIRST_NAMES[(index + number) % len(FIRST_NAMES)],
                    last_name=LAST_NAMES[(index * 3 + number) % len(LAST_NAMES)],
                    email=f"{department.slug}-{role}{counters[role]}@bench.example",
                    password=unusable,
                )
            )
        users = user_model.objects.bulk_create(users)
        Membership.objects.bulk_create(
            Membership(user=user, department=department, role=role, is_primary=True)
            for user, role in zip(users, roles, strict=True)
        )
        for user, role in zip(users, roles, strict=True):
            getattr(bench, f"{role}s").append((user.pk, user.username))
        if is_provider:
            factor = rng.choice([0.5, 1, 1, 1.5, 2])
            for priority in PRIORITIES:
                first, resolution = TARGET_HOURS[priority]
                SLATarget.objects.create(
                    department=department,
                    priority=priority,
                    first_response=datetime.timedelta(hours=first * factor),
                    resolution=datetime.timedelta(hours=resolution * factor),
                )
            for number, service_name in enumerate(SERVICES):
                service = Service.objects.create(
                    department=department,
                    name=service_name,
                    default_priority="high" if service_name == "Incidents" else "normal",
                )
                if number == 0:  # one service per department with tighter targets of its own
                    for priority in ("normal", "high"):
                        first, resolution = TARGET_HOURS[priority]
                        SLATarget.objects.create(
                            department=department,
                            service=service,
                            priority=priority,
                            first_response=datetime.timedelta(hours=first * factor / 2),
                            resolution=datetime.timedelta(hours=resolution * factor / 2),
                        )
                # What the app starts a clock with (service, department, fallback targets:
                # the bench has no agreements), and where it comes from.
                targets, sources = {}, {}
                for priority in PRIORITIES:
                    chosen = clock_basis(service, priority, customer_id=None, at=timezone.now())
                    targets[priority] = (chosen.first_response_seconds, chosen.resolution_seconds)
                    sources[priority] = chosen.source
                bench.services.append(BenchService(service.pk, service_name, targets, sources))
            if escalation:
                levels = EscalationLevel.objects.bulk_create(
                    EscalationLevel(department=department, number=number + 1, **level)
                    for number, level in enumerate(BENCH_LEVELS)
                )
                bench.levels = escalation_plan(levels, agreement_id=None)
        departments.append(bench)
    providers = [i for i, d in enumerate(departments) if d.is_provider]
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(providers))]
    return BenchOrg(departments=departments, providers=providers, provider_weights=weights)


def org_load() -> BenchOrg:
    """The organisation of an existing bench database (for --reuse)."""
    departments = []
    for department in Department.objects.select_related("calendar").order_by("pk"):
        bench = BenchDepartment(
            id=department.pk,
            slug=department.slug,
            name=department.name,
            is_provider=department.is_provider,
            version=calendar_version_current(calendar=department.calendar),
        )
        for membership in Membership.objects.filter(department=department).select_related("user"):
            getattr(bench, f"{membership.role}s").append(
                (membership.user_id, membership.user.username)
            )
        bench.levels = escalation_plan(
            EscalationLevel.objects.filter(department=department), agreement_id=None
        )
        departments.append(bench)
    providers = [i for i, d in enumerate(departments) if d.is_provider]
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(providers))]
    return BenchOrg(departments=departments, providers=providers, provider_weights=weights)


# --- planning -------------------------------------------------------------------------------


def now0_for(now: datetime.datetime, versions) -> datetime.datetime:
    """The last weekday 10:30:30 in Berlin, at least ten minutes ago, with a working minute
    after it in every calendar (no holiday anywhere). Not on a whole minute: due times of
    whole-hour targets from the start of a working day fall on whole minutes, and a clock
    exactly at its due second is due but not yet breached."""
    day = now.astimezone(BERLIN).date()
    while True:
        candidate = datetime.datetime.combine(day, datetime.time(10, 30, 30), BERLIN).astimezone(
            UTC
        )
        if (
            day.weekday() < 5
            and candidate <= now - datetime.timedelta(minutes=10)
            and all(
                business_seconds_between(v, candidate, candidate + datetime.timedelta(minutes=1))
                == 60
                for v in versions
            )
        ):
            return candidate
        day -= datetime.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Plan:
    """What the main process decides for a request; the rest is drawn per chunk."""

    created: int  # epoch seconds
    status: str  # done, new, in_progress, waiting
    provider: int  # index into org.departments
    service: int  # index into the department's services
    priority: str
    crossing: str = ""  # "first_response:warn" ... for a planted scanner crossing


def _epoch(moment: datetime.datetime) -> int:
    return int(moment.timestamp())


def _at(epoch: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, UTC)


def start_for_crossing(version, seconds: int, crossing: int) -> int | None:
    """A start from which `seconds` of business time end exactly at `crossing` (bisection:
    the end of a fixed amount of business time never moves back as the start moves on)."""
    low, high = crossing - 400 * DAY, crossing
    while high - low > 1:
        middle = (low + high) // 2
        if _epoch(add_business_seconds(version, _at(middle), seconds)) >= crossing:
            high = middle
        else:
            low = middle
    return high if _epoch(add_business_seconds(version, _at(high), seconds)) == crossing else None


def plans_make(
    org: BenchOrg, *, requests: int, open_requests: int, crossings: int, now0: int, seed: int
) -> list[Plan]:
    """Every request's time, state, provider, service and priority, in filing order."""
    rng = random.Random(seed)
    providers = rng.choices(org.providers, weights=org.provider_weights, k=requests)
    priorities = rng.choices(PRIORITIES, weights=PRIORITY_WEIGHTS, k=requests)
    plans = []
    for number in range(requests):
        provider = providers[number]
        service = rng.randrange(len(SERVICES))
        if number < requests - open_requests:
            created = now0 - rng.randint(2 * DAY, HISTORY_DAYS * DAY)
            status = "done"
        else:
            status = rng.choices(["new", "in_progress", "waiting"], weights=[25, 55, 20])[0]
            mean_days = 1.0 if status == "new" else 10.0
            age = min(rng.expovariate(1 / (mean_days * DAY)), 120 * DAY)
            created = now0 - max(int(age), 5 * MINUTE)
        plans.append(Plan(created, status, provider, service, priorities[number]))

    # Crossings in the minute after now0: the scanner's load for that minute.
    open_indexes = list(range(requests - open_requests, requests))
    rng.shuffle(open_indexes)
    planted = 0
    for index in open_indexes:
        if planted >= crossings:
            break
        plan = plans[index]
        department = org.departments[plan.provider]
        kind = rng.choice(["first_response", "resolution"])
        levels = department.levels.get(kind, [])
        # With levels, some clocks reach one of them in the minute instead.
        threshold = rng.choice(["warn", "due", *(f"level{n + 1}" for n in range(len(levels)))])
        targets = department.services[plan.service].targets[plan.priority]
        target = targets[0] if kind == "first_response" else targets[1]
        if threshold.startswith("level"):
            seconds = level_seconds(levels[int(threshold[5:]) - 1], target)
        else:
            seconds = warning_seconds(target) if threshold == "warn" else target
        start = start_for_crossing(department.version, seconds, now0 + rng.randint(1, 60))
        if start is None:
            continue
        status = "new" if kind == "first_response" else "in_progress"
        plans[index] = Plan(
            start, status, plan.provider, plan.service, plan.priority, f"{kind}:{threshold}"
        )
        planted += 1
    plans.sort(key=lambda plan: plan.created)
    return plans


# --- one request ----------------------------------------------------------------------------


class Event:
    """A RequestEvent row in the making (what clock_events reads, plus the row's fields)."""

    __slots__ = ("actor_id", "created_at", "data", "department_id", "id", "internal", "kind")

    def __init__(self, kind, created_at, department_id, actor_id=None, data=None, internal=False):
        self.kind = kind
        self.created_at = created_at
        self.department_id = department_id
        self.actor_id = actor_id
        self.data = data or {}
        self.internal = internal


def _lognormal_share(rng, median: float, sigma: float) -> float:
    return min(math.exp(rng.gauss(math.log(median), sigma)), 4.0)


def _text(value: str) -> str:
    """COPY text format: backslash, tab, newline and carriage return escaped."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = (
            value.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return value


def _value(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict | list):
        return _text(json.dumps(value, separators=(",", ":")))
    return str(value)


class ChunkWriter:
    """Rows of one chunk, per table, in COPY text format."""

    def __init__(self):
        self.buffers = {model: io.StringIO() for model in LOADED_MODELS}
        self.counts: Counter = Counter()

    def row(self, model, values) -> None:
        self.buffers[model].write("\t".join(map(_value, values)))
        self.buffers[model].write("\n")
        self.counts[model.__name__] += 1


def request_rows(org: BenchOrg, plan: Plan, rid: int, now0: int, rng, out: ChunkWriter, stats):
    """Write one request with everything that hangs off it."""
    department = org.departments[plan.provider]
    dept_id = department.id
    version = department.version
    service = department.services[plan.service]
    priority = plan.priority
    first_target, resolution_target = service.targets[priority]
    now = _at(now0)
    created = _at(plan.created)
    limit = now - datetime.timedelta(minutes=2)  # nothing happens after now0

    while True:
        customer = rng.choice(org.departments)
        if customer.id != dept_id:
            break
    requester_id, _requester_name = rng.choice(customer.people)
    staff = department.staff
    assignee = rng.choice(department.agents) if rng.random() < 0.85 else None
    worker_id = assignee[0] if assignee else rng.choice(staff)[0]
    confidential = rng.random() < 0.04
    title = f"{rng.choice(VERBS)} {rng.choice(OBJECTS)}"
    description = " ".join(rng.sample(SENTENCES, 2)) + "\n\nThanks!"

    events: list[Event] = []
    comments: list[tuple] = []  # (author_id, body, internal, at)
    waits: list[tuple] = []  # (started, ended, business seconds)

    def event(kind, at, actor_id=None, data=None, internal=False):
        events.append(Event(kind, at, dept_id, actor_id, data, internal))

    def comment(kind, at, author_id, body, by_provider, internal=False):
        comments.append((author_id, body, internal, at))
        event(
            kind,
            at,
            author_id,
            {"comment": rid * 5 + len(comments) - 1, "by_provider": by_provider},
            internal,
        )

    def status_changed(at, actor_id, before, to, **extra):
        event(EventKind.STATUS_CHANGED, at, actor_id, workflow.status_data(before, to, **extra))

    def after(start, seconds):
        return add_business_seconds(version, start, max(1, int(seconds)))

    event(
        EventKind.CREATED,
        created,
        requester_id,
        workflow.created_data(
            service_name=service.name, priority=priority, confidential=confidential
        ),
    )
    if (assignee and plan.status != "new") or (assignee and rng.random() < 0.5):
        event(
            EventKind.ASSIGNED,
            min(created + datetime.timedelta(minutes=rng.randint(1, 30)), limit),
            worker_id,
            workflow.assigned_data(None, assignee[1]),
        )
    else:
        assignee = None

    status = plan.status
    first_responded = resolved = closed = cancelled = promised = None
    fr_share = _lognormal_share(rng, 0.45, 0.6)
    res_share = _lognormal_share(rng, 0.5, 0.55)
    # Priority changes (2%): the clocks' targets follow, as if from the start.
    if status != "new" and not plan.crossing and rng.random() < 0.02:
        new_priority = rng.choice([p for p in PRIORITIES if p != priority])
        new_first, new_resolution = service.targets[new_priority]
        event(
            EventKind.PRIORITY_CHANGED,
            min(created + datetime.timedelta(minutes=rng.randint(1, 5)), limit),
            worker_id,
            workflow.priority_data(
                priority,
                new_priority,
                {ClockKind.FIRST_RESPONSE: new_first, ClockKind.RESOLUTION: new_resolution},
                source=service.sources.get(new_priority, ""),
                agreement_id=None,
            ),
        )
        start_targets, start_priority = (first_target, resolution_target), priority
        priority, first_target, resolution_target = new_priority, new_first, new_resolution
    else:
        start_targets, start_priority = (first_target, resolution_target), priority

    if status == "done" and rng.random() < 0.03:
        cancelled = min(created + datetime.timedelta(minutes=rng.randint(10, 1440)), limit)
        status_changed(cancelled, requester_id, Status.NEW, Status.CANCELLED)
        status = "cancelled"
    elif status != "new":
        first_used = first_target * fr_share
        resolution_used = max(resolution_target * res_share, first_used + 10 * MINUTE)
        if plan.crossing:  # answered early, resolution clock crossing in the next minute
            first_used = min(first_used, warning_seconds(resolution_target) / 2)
        available = None
        if plan.created > now0 - 150 * DAY:
            available = business_seconds_between(version, created, limit)
            budget = available * (0.9 if status == "done" else 0.6)
            if resolution_used > budget and status == "done":
                resolution_used = budget * rng.uniform(0.5, 1)
                first_used = min(first_used, resolution_used * 0.4)
            if first_used > budget:
                first_used = budget * rng.uniform(0.2, 1)
        if first_used < 60:
            status = "new"  # too young to have been answered
        else:
            first_responded = after(created, first_used)
            if rng.random() < 0.6:
                comment(EventKind.COMMENTED, first_responded, worker_id, rng.choice(REPLIES), True)
            else:
                event(EventKind.ACKNOWLEDGED, first_responded, worker_id)
            status_changed(first_responded, worker_id, Status.NEW, Status.IN_PROGRESS)
            if rng.random() < 0.3:
                comment(
                    EventKind.NOTE_ADDED,
                    min(first_responded + datetime.timedelta(minutes=rng.randint(1, 120)), limit),
                    worker_id,
                    "Checked with the supplier.",
                    True,
                    internal=True,
                )
            waits_here = status == "waiting" or (status == "done" and rng.random() < 0.15)
            if waits_here:
                waited_after = rng.uniform(first_used, resolution_used)
                wait_start = after(created, waited_after)
                if status == "waiting" and wait_start >= limit:
                    wait_start = first_responded + (limit - first_responded) / 2
                status_changed(
                    wait_start, worker_id, Status.IN_PROGRESS, Status.WAITING_ON_REQUESTER
                )
                if status == "done":
                    wait_end = min(
                        wait_start + datetime.timedelta(seconds=rng.randint(HOUR, 3 * DAY)),
                        wait_start + (limit - wait_start) / 2,
                    )
                    comment(EventKind.COMMENTED, wait_end, requester_id, "Here you are.", False)
                    status_changed(
                        wait_end,
                        requester_id,
                        Status.WAITING_ON_REQUESTER,
                        Status.IN_PROGRESS,
                        auto="reply",
                    )
                    waits.append(
                        (
                            wait_start,
                            wait_end,
                            business_seconds_between(version, wait_start, wait_end),
                        )
                    )
                    resolved = after(wait_end, resolution_used - waited_after)
                else:
                    waits.append((wait_start, None, None))
            elif status == "done":
                resolved = after(created, resolution_used)
            if status != "done" and rng.random() < 0.1:
                promised = first_responded + datetime.timedelta(days=rng.randint(1, 14))
                event(
                    EventKind.PROMISED,
                    min(first_responded + datetime.timedelta(minutes=5), limit),
                    worker_id,
                    workflow.promise_data(None, promised),
                )
            if resolved is not None:
                if resolved > limit:  # the budget guard keeps this rare
                    resolved = limit
                status_changed(resolved, worker_id, Status.IN_PROGRESS, Status.RESOLVED)
                close_at = resolved + datetime.timedelta(days=rng.randint(1, 10))
                if close_at < limit:
                    closed = close_at
                    status_changed(closed, requester_id, Status.RESOLVED, Status.CLOSED)
                    status = "closed"
                else:
                    status = "resolved"

    events.sort(key=lambda e: e.created_at)
    last_change = events[-1].created_at
    is_open = status in ("new", "in_progress", "waiting")
    computed_at = now if is_open else last_change

    # The two clocks, as the app computes them; then the scanner's marks and events.
    sla_events = []
    results = []
    for number, kind in enumerate((ClockKind.FIRST_RESPONSE, ClockKind.RESOLUTION)):
        target = start_targets[number]
        levels = department.levels.get(kind, [])
        result = compute_clock(
            clock_events(
                kind=kind, department_id=dept_id, started_at=created, request_events=events
            ),
            target,
            version,
            computed_at,
            priority=start_priority,
            levels=levels,
        )
        # The scanner runs every minute: a warning passed before now0 was notified within a
        # minute, or never if the clock was completed (or stopped running) first; a breach
        # within a minute in any case, since the scan after a late completion tells it
        # (completed since the scanner's last run). So the scan at now0 finds nothing, and
        # the one a minute later finds exactly the thresholds of that minute.
        warning_notified = breach_notified = None
        lag = datetime.timedelta(seconds=rng.randint(1, 59))
        # Levels due by now0 were fired, each within a minute (the clocks of past requests
        # are done: theirs are not counted, and none is due any more).
        fired = levels_due(result.escalation_at, 0, now) if is_open else []
        for index in fired:
            sla_events.append(
                Event(
                    EventKind.ESCALATED,
                    min(result.escalation_at[index] + lag, now),
                    dept_id,
                    None,
                    {"clock": kind, **levels[index]},
                    True,
                )
            )
        if result.warned_at is not None:
            if is_open:
                warning_notified = min(result.warned_at + lag, now)
            elif result.warned_at + lag <= (result.completed_at or computed_at):
                warning_notified = result.warned_at + lag
        if result.breached_at is not None:
            breach_notified = min(result.breached_at + lag, now)
        if (
            warning_notified is not None
            and not levels  # the levels replace the default warning
            and (breach_notified is None or warning_notified < breach_notified)
        ):
            sla_events.append(
                Event(
                    EventKind.SLA_WARNING,
                    warning_notified,
                    dept_id,
                    None,
                    workflow.clock_data(kind, result.due_at),
                    True,
                )
            )
        if breach_notified is not None:
            warning_notified = warning_notified or breach_notified
            sla_events.append(
                Event(
                    EventKind.SLA_BREACHED,
                    breach_notified,
                    dept_id,
                    None,
                    workflow.clock_data(kind, result.due_at),
                    True,
                )
            )
        computed = result.as_fields()
        out.row(
            SLAClock,
            (
                rid * 2 - 1 + number,
                rid,
                kind,
                dept_id,
                service.id,
                result.priority,
                True,
                version.pk,
                result.target_seconds,
                service.sources.get(priority, ""),
                None,  # the bench has no agreements
                created,
                *(computed[name] for name in CLOCK_COMPUTED),
                warning_notified,
                breach_notified,
                levels,
                len(fired),
                next_escalation(result.escalation_at, len(fired)),
            ),
        )
        stats[f"clock {kind} {result.state}"] += 1
        results.append(SimpleNamespace(kind=kind, state=result.state, due_at=result.due_at))
    stats[f"request {status}"] += 1
    if plan.crossing:
        stats[f"crossing {plan.crossing}"] += 1

    app_status = {"waiting": Status.WAITING_ON_REQUESTER}.get(status, status)
    out.row(
        ServiceRequest,
        (
            rid,
            requester_id,
            customer.id,
            dept_id,
            service.id,
            priority,
            title,
            description,
            markdown_html(description),
            app_status,
            assignee[0] if assignee else None,
            confidential,
            promised,
            created,
            last_change,
            first_responded or resolved,
            resolved,
            closed,
            cancelled,
            None,  # declined_at: the bench's requests are never declined
            None,  # promised_day: its promises are moments
            *request_due_times(results).values(),
        ),
    )
    for number, event_row in enumerate(sorted(events + sla_events, key=lambda e: e.created_at)):
        out.row(
            RequestEvent,
            (
                rid * 20 + number,
                rid,
                event_row.actor_id,
                event_row.kind,
                event_row.created_at,
                event_row.department_id,
                event_row.data,
                event_row.internal,
            ),
        )
    for number, (author_id, body, internal, at) in enumerate(comments):
        out.row(
            Comment, (rid * 5 + number, rid, author_id, body, markdown_html(body), internal, at)
        )
    for number, (started, ended, seconds) in enumerate(waits):
        out.row(WaitPeriod, (rid * 3 + number, rid, customer.id, dept_id, started, ended, seconds))
    recent = plan.created > now0 - 2 * DAY
    message, dedupe_key = workflow.filed_notice(
        pk=rid, priority=plan.priority, department_name=customer.name, title=title
    )
    out.row(
        Notification,
        (
            rid,
            worker_id,
            rid,
            NotificationKind.REQUEST_FILED,
            message,
            "",  # a request's notification links to the request
            dedupe_key,
            created,
            None if recent and is_open else created + datetime.timedelta(hours=2),
            created + datetime.timedelta(seconds=30),
            None,  # sent: no claim left
            1,
        ),
    )


def chunk_make(org: BenchOrg, plans: list[Plan], first_id: int, now0: int, seed: int):
    """The COPY text of one chunk of requests (ids first_id...), and what it holds."""
    rng = random.Random(seed * 1_000_003 + first_id)
    out = ChunkWriter()
    stats: Counter = Counter()
    for offset, plan in enumerate(plans):
        request_rows(org, plan, first_id + offset, now0, rng, out, stats)
    texts = {model: buffer.getvalue() for model, buffer in out.buffers.items()}
    return texts, out.counts, stats


# --- loading --------------------------------------------------------------------------------


def _tables() -> list[str]:
    return [model._meta.db_table for model in LOADED_MODELS]


def wipe(cursor) -> None:
    """Empty every table of the bench database but Django's own bookkeeping."""
    cursor.execute(
        """
        SELECT tablename FROM pg_tables WHERE schemaname = 'public'
        AND tablename NOT IN ('django_migrations', 'django_content_type', 'auth_permission',
                              'bench_meta')
        """
    )
    tables = ", ".join(f'"{name}"' for (name,) in cursor.fetchall())
    cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def dataset_load(
    *,
    requests: int,
    open_requests: int,
    crossings: int,
    seed: int,
    workers: int,
    progress,
    escalation: bool = True,
) -> dict:
    """Build the organisation and load the requests; returns the dataset's description."""
    columns_check(COLUMNS, "bench/generate.py")
    started = time.perf_counter()
    rng = random.Random(seed)
    with transaction.atomic(), connection.cursor() as cursor:
        wipe(cursor)
        org = org_build(rng, escalation=escalation)
        now0 = _epoch(now0_for(datetime.datetime.now(UTC), [d.version for d in org.departments]))
        plans = plans_make(
            org,
            requests=requests,
            open_requests=open_requests,
            crossings=crossings,
            now0=now0,
            seed=seed,
        )
        progress(f"planned {requests:,} requests in {time.perf_counter() - started:.1f} s")

        if not load_session_prepare(cursor):
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        definitions = indexes_drop(cursor, _tables())

        totals: Counter = Counter()
        stats: Counter = Counter()
        chunks = [(plans[i : i + CHUNK], i + 1) for i in range(0, len(plans), CHUNK)]
        copy_seconds = 0.0
        for number, (texts, counts, chunk_stats) in enumerate(
            _chunks_generate(org, chunks, now0, seed, workers)
        ):
            copy_started = time.perf_counter()
            for model, text in texts.items():
                if text:
                    cursor.cursor.copy_expert(
                        f"COPY {model._meta.db_table} ({', '.join(COLUMNS[model])}) FROM STDIN",
                        io.StringIO(text),
                    )
            copy_seconds += time.perf_counter() - copy_started
            totals.update(counts)
            stats.update(chunk_stats)
            done = min((number + 1) * CHUNK, requests)
            if (number + 1) % 20 == 0 or done == requests:
                elapsed = time.perf_counter() - started
                progress(f"loaded {done:,} requests ({elapsed:.0f} s, COPY {copy_seconds:.0f} s)")

        index_started = time.perf_counter()
        for definition in definitions:
            cursor.execute(definition)
        progress(
            f"rebuilt {len(definitions)} indexes in {time.perf_counter() - index_started:.1f} s"
        )
        sequences_reset(cursor, _tables())
        per_provider = Counter(plan.provider for plan in plans)
        busy = per_provider.most_common(1)[0][0]
        description = {
            "version": GENERATOR_VERSION,
            "requests": requests,
            "open": open_requests,
            "crossings": crossings,
            "escalation": escalation,
            "seed": seed,
            "now0": _at(now0).isoformat(),
            "busy_department": org.departments[busy].slug,
            "busy_department_requests": per_provider[busy],
            "busy_department_open": sum(
                1 for plan in plans if plan.provider == busy and plan.status != "done"
            ),
            "agent": org.departments[busy].agents[0][1],
            "rows": dict(totals),
            "states": dict(sorted(stats.items())),
            "load_seconds": round(time.perf_counter() - started, 1),
            "copy_seconds": round(copy_seconds, 1),
        }
        meta_write(cursor, description)
    vacuum_started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    description["vacuum_seconds"] = round(time.perf_counter() - vacuum_started, 1)
    description["verified"] = clocks_verify(sample=1000, seed=seed)
    progress(f"checked {description['verified']['clocks_checked']} clocks against compute_clock")
    description["total_seconds"] = round(time.perf_counter() - started, 1)
    with connection.cursor() as cursor:
        meta_write(cursor, description)
    return description


def _chunks_generate(org, chunks, now0, seed, workers):
    """Chunks in order; with workers > 1, made in child processes while the parent COPYs."""
    if workers <= 1:
        for plans, first_id in chunks:
            yield chunk_make(org, plans, first_id, now0, seed)
        return
    import multiprocessing

    # fork: the children inherit the organisation (calendar versions) and never use the
    # database connection, which they leave alone (they end with os._exit).
    global _FORKED_ORG
    _FORKED_ORG = org
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        yield from pool.imap(_chunk_job, [(p, f, now0, seed) for p, f in chunks])


_FORKED_ORG: BenchOrg | None = None


def _chunk_job(arguments):
    return chunk_make(_FORKED_ORG, *arguments)


def clocks_verify(*, sample: int, seed: int) -> dict:
    """Recompute a sample of stored clocks from the stored events with the app's function."""
    from collections import defaultdict

    rng = random.Random(seed)
    last = ServiceRequest.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    ids = rng.sample(range(1, last + 1), min(sample, last))
    events = defaultdict(list)
    for event in RequestEvent.objects.filter(request_id__in=ids).order_by("created_at", "id"):
        events[event.request_id].append(event)
    checked = mismatched = 0
    for clock in SLAClock.objects.filter(request_id__in=ids).select_related("calendar_version"):
        result = compute_clock(
            clock_events(
                kind=clock.kind,
                department_id=clock.department_id,
                started_at=clock.started_at,
                request_events=events[clock.request_id],
            ),
            clock.target_seconds,
            clock.calendar_version,
            clock.computed_at,
            priority=clock.priority,
            levels=clock.escalation_levels,
        )
        stored = {name: getattr(clock, name) for name in result.as_fields()}
        checked += 1
        if stored != result.as_fields() or (
            clock.target_seconds,
            clock.priority,
            clock.next_escalation_at,
        ) != (
            result.target_seconds,
            result.priority,
            next_escalation(result.escalation_at, clock.escalation_level),
        ):
            mismatched += 1
    if mismatched:
        raise SystemExit(f"{mismatched} of {checked} clocks differ from compute_clock")
    current = defaultdict(list)
    for clock in SLAClock.objects.filter(request_id__in=ids, is_current=True):
        current[clock.request_id].append(clock)
    stale = sum(
        1
        for request in ServiceRequest.objects.filter(pk__in=ids).only(*DUE_TIME_FIELDS)
        if request_due_times(current[request.pk])
        != {field: getattr(request, field) for field in DUE_TIME_FIELDS}
    )
    if stale:
        raise SystemExit(f"{stale} requests' due times differ from their clocks'")
    return {"clocks_checked": checked, "mismatched": mismatched}


# --- the dataset's description --------------------------------------------------------------


def meta_table_create(cursor) -> None:
    cursor.execute("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value jsonb)")


def meta_write(cursor, description: dict) -> None:
    meta_table_create(cursor)
    cursor.execute(
        "INSERT INTO bench_meta (key, value) VALUES ('dataset', %s) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        [json.dumps(description)],
    )


def meta_read(cursor) -> dict | None:
    cursor.execute("SELECT to_regclass('bench_meta') IS NOT NULL")
    if not cursor.fetchone()[0]:
        return None
    cursor.execute("SELECT value FROM bench_meta WHERE key = 'dataset'")
    row = cursor.fetchone()
    if row is None:
        return {}
    return row[0] if isinstance(row[0], dict) else json.loads(row[0])
