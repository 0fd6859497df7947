"""Load or update the organisation from a YAML or JSON file: `org_import`.

The file format is described in docs/org-import.md. In short:

- Objects are matched by natural key (calendar name, department slug, username,
  department + service name, department/service + priority, user + department) and are
  created or updated; running the same file twice changes nothing the second time.
- Nothing is ever deleted: departments, services, targets, people and memberships that
  the file does not mention stay as they are. Only the parts of a calendar the file
  spells out (its weekly working hours and company holidays) are replaced as a whole.
- A field the file leaves out of an object it names takes the model default
  (`description: ""`, `is_provider: true`, `is_hr: false`, ...), so the file is the truth
  for what it describes. Passwords are the exception: a new user gets the file's
  password, else `default_password`, else an unusable one; an existing user's password
  changes only when the file gives one that differs.
- Every problem is collected with its line number before anything is written; the
  changes are then applied in one transaction, so a bad file changes nothing.
"""

import datetime
import itertools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import yaml
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import Group
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DatabaseError, models, transaction
from django.utils import timezone
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from . import escalation as escalation_rules
from .agreements import day_start
from .choices import (
    HR_GROUP,
    AgreementSide,
    AgreementState,
    EscalationAudience,
    EscalationClock,
    EscalationThreshold,
    Priority,
    Role,
    Weekday,
)
from .describe import parse_business_duration
from .models import (
    Agreement,
    AgreementTarget,
    BusinessCalendar,
    Department,
    EscalationLevel,
    Holiday,
    Membership,
    Service,
    SLATarget,
    WorkingHours,
)
from .services import (
    TargetInput,
    agreement_accepted_apply,
    escalation_levels_write,
    proposal_errors,
)
from .validators import validate_working_hours

KINDS = (
    "calendars",
    "departments",
    "services",
    "targets",
    "people",
    "memberships",
    "agreements",
    "escalation",
)
EVERY_CUSTOMER = "*"
AGREEMENT_STATES = [
    AgreementState.PROPOSED,
    AgreementState.ACCEPTED,
    AgreementState.DECLINED,
    AgreementState.WITHDRAWN,
]

WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
INTERVAL_PATTERN = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
MIDNIGHT = datetime.time(0, 0)
HOLIDAY_NAME_LENGTH = Holiday._meta.get_field("name").max_length

NULL_TAG = "tag:yaml.org,2002:null"
BOOL_TAG = "tag:yaml.org,2002:bool"
TRUE_WORDS = {"true", "yes", "on", "y"}


# -- Results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportProblem:
    """One thing wrong with the file, where it is and what it is."""

    line: int | None
    path: str
    message: str

    def format(self, source_name: str) -> str:
        where = f"{source_name} line {self.line}" if self.line else source_name
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class OrgImportError(Exception):
    """The file has problems; nothing was changed. `messages` lists every one of them."""

    def __init__(self, *, source_name: str, problems: list[ImportProblem]):
        self.source_name = source_name
        self.problems = sorted(problems, key=lambda p: p.line or 0)
        super().__init__("\n".join(self.messages))

    @property
    def messages(self) -> list[str]:
        return [problem.format(self.source_name) for problem in self.problems]


@dataclass
class KindCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, *, is_new: bool, changed: bool) -> None:
        if is_new:
            self.created += 1
        elif changed:
            self.updated += 1
        else:
            self.unchanged += 1


@dataclass
class ImportReport:
    """What an import created, updated and left unchanged, per kind of object."""

    source_name: str
    dry_run: bool = False
    counts: dict[str, KindCounts] = field(default_factory=lambda: {k: KindCounts() for k in KINDS})

    @property
    def changed(self) -> bool:
        return any(c.created or c.updated for c in self.counts.values())

    def summary_lines(self) -> list[str]:
        lines = []
        for kind, counts in self.counts.items():
            lines.append(
                f"{kind:<12} {counts.created:>4} created {counts.updated:>4} updated "
                f"{counts.unchanged:>4} unchanged"
            )
        return lines


# -- Reading the file into specs that remember where they came from ---------------------


@dataclass
class _Spec:
    path: str
    node: Node
    nodes: dict[str, Node]  # value node of each key present in the file
    ok: bool = True  # False when the item is not even a mapping: nothing to validate

    def where(self, key: str) -> tuple[Node, str]:
        return self.nodes.get(key, self.node), _join(self.path, key)


@dataclass
class _HoursRow:
    weekday: int
    start: datetime.time
    end: datetime.time
    node: Node
    path: str


@dataclass
class _CalendarSpec(_Spec):
    name: str | None = None
    timezone: str = ""
    holiday_country: str = ""
    holiday_subdivision: str = ""
    hours: list[_HoursRow] = field(default_factory=list)
    holidays: dict[datetime.date, str] = field(default_factory=dict)


@dataclass
class _TargetSpec(_Spec):
    priority: str = ""
    first_response: datetime.timedelta | None = None
    resolution: datetime.timedelta | None = None


@dataclass
class _ServiceSpec(_Spec):
    name: str | None = None
    description: str = ""
    default_priority: str = Priority.NORMAL
    active: bool = True
    targets: list[_TargetSpec] = field(default_factory=list)


@dataclass
class _DepartmentSpec(_Spec):
    slug: str | None = None
    name: str = ""
    code: str = ""
    calendar: str | None = None
    parent: str | None = None
    is_provider: bool = True
    description: str = ""
    targets: list[_TargetSpec] = field(default_factory=list)
    services: list[_ServiceSpec] = field(default_factory=list)
    # None: the file says nothing of the levels, which stay as they are.
    escalation: "list[_LevelSpec] | None" = None


@dataclass
class _LevelSpec(_Spec):
    threshold: str = ""
    value: int | None = None
    clock: str = EscalationClock.BOTH
    notify: list = field(default_factory=list)
    assign_to: str | None = None
    raise_to: str = ""


@dataclass
class _MembershipSpec(_Spec):
    department: str | None = None
    role: str = Role.MEMBER
    primary: bool = False
    title: str = ""


@dataclass
class _PersonSpec(_Spec):
    username: str | None = None
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    password: str | None = None
    is_hr: bool = False
    memberships: list[_MembershipSpec] = field(default_factory=list)


@dataclass
class _AgreementServiceSpec(_Spec):
    name: str | None = None
    targets: list[_TargetSpec] = field(default_factory=list)


@dataclass
class _AgreementSpec(_Spec):
    provider: str | None = None
    customer: str | None = None  # a slug, or EVERY_CUSTOMER
    version: int | None = None
    state: str = AgreementState.ACCEPTED
    valid_from: datetime.date | None = None
    valid_until: datetime.date | None = None
    calendar: str | None = None
    proposed_side: str = AgreementSide.PROVIDER
    proposed_by: str | None = None
    decided_by: str | None = None
    comment: str = ""
    decision_comment: str = ""
    targets: list[_TargetSpec] = field(default_factory=list)
    services: list[_AgreementServiceSpec] = field(default_factory=list)
    escalation: list = field(default_factory=list)  # of _LevelSpec: the version's own levels

    @property
    def pair(self) -> tuple[str | None, str | None]:
        return (self.provider, self.customer)

    @property
    def name(self) -> str:
        customer = "every customer" if self.customer == EVERY_CUSTOMER else self.customer
        return f"{self.provider} agreement with {customer} v{self.version}"


@dataclass
class _Organisation:
    calendars: list[_CalendarSpec] = field(default_factory=list)
    departments: list[_DepartmentSpec] = field(default_factory=list)
    people: list[_PersonSpec] = field(default_factory=list)
    agreements: list[_AgreementSpec] = field(default_factory=list)


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _describe(node: Node | None) -> str:
    if node is None or (isinstance(node, ScalarNode) and node.tag == NULL_TAG):
        return "nothing"
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return f"'{node.value}'"


def _interval_text(row: _HoursRow) -> str:
    end = "24:00" if row.end == MIDNIGHT else f"{row.end:%H:%M}"
    return f"{row.start:%H:%M}-{end}"


def _line(node: Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


class _Reader:
    """Turns YAML nodes into specs, collecting every problem with its line."""

    def __init__(self):
        self.problems: list[ImportProblem] = []
        self.reported_paths: set[str] = set()

    def problem(self, node: Node | None, path: str, message: str) -> None:
        self.problems.append(ImportProblem(_line(node), path, message))
        self.reported_paths.add(path)

    # Shapes

    def fields(
        self,
        node: Node,
        path: str,
        *,
        required: Iterable[str] = (),
        optional: Iterable[str] = (),
        unknown: str = "key",
    ) -> dict[str, Node] | None:
        """The value node of each key of a mapping; unknown, repeated and missing keys are
        problems."""
        required, optional = list(required), list(optional)
        if not isinstance(node, MappingNode):
            self.problem(node, path, f"expected a mapping, found {_describe(node)}")
            return None
        allowed = required + optional
        found: dict[str, Node] = {}
        first_line: dict[str, int | None] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == NULL_TAG:
                self.problem(key_node, path, f"{_describe(key_node)} cannot be a key")
                continue
            key = key_node.value
            if key not in allowed:
                self.problem(
                    key_node,
                    _join(path, key),
                    f"unknown {unknown} '{key}' (expected one of: {', '.join(allowed)})",
                )
            elif key in found:
                self.problem(
                    key_node,
                    _join(path, key),
                    f"'{key}' is given twice (first at line {first_line[key]})",
                )
            else:
                found[key] = value_node
                first_line[key] = _line(key_node)
        for key in required:
            if key not in found:
                self.problem(node, path, f"missing required key '{key}'")
        return found

    def items(self, node: Node | None, path: str) -> list[tuple[str, Node]]:
        """The items of a list with their paths; a missing list is empty."""
        if node is None or (isinstance(node, ScalarNode) and node.tag == NULL_TAG):
            return []
        if not isinstance(node, SequenceNode):
            self.problem(node, path, f"expected a list, found {_describe(node)}")
            return []
        return [(_join(path, index), item) for index, item in enumerate(node.value)]

    # Scalars: the raw text of the node, so that YAML 1.1 never turns a code like NO
    # into false or 17:00 into a number behind the writer's back.

    def text(self, node: Node | None, path: str, *, required: bool = False) -> str | None:
        if node is None or (isinstance(node, ScalarNode) and node.tag == NULL_TAG):
            if required and node is not None:
                self.problem(node, path, "needs a value")
            return None if required else ""
        if not isinstance(node, ScalarNode):
            self.problem(node, path, f"expected text, found {_describe(node)}")
            return None
        value = node.value.strip()
        if required and not value:
            self.problem(node, path, "needs a value")
            return None
        return value

    def boolean(self, node: Node | None, path: str, *, default: bool) -> bool:
        if node is None:
            return default
        if isinstance(node, ScalarNode) and node.tag == BOOL_TAG:
            return node.value.lower() in TRUE_WORDS
        self.problem(node, path, f"expected true or false, found {_describe(node)}")
        return default

    def choice(self, node: Node | None, path: str, choices: list[str], *, default: str) -> str:
        if node is None:
            return default
        value = self.text(node, path, required=True)
        if value is None:
            return default
        if value not in choices:
            self.problem(node, path, f"'{value}' is not one of: {', '.join(choices)}")
            return default
        return value

    def duration(self, node: Node | None, path: str) -> datetime.timedelta | None:
        value = self.text(node, path, required=True)
        if value is None:
            return None
        try:
            return parse_business_duration(value)
        except ValueError as exc:
            self.problem(node, path, str(exc))
            return None

    def date(self, node: Node | None, path: str) -> datetime.date | None:
        value = self.text(node, path, required=True)
        if value is None:
            return None
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            self.problem(node, path, f"'{value}' is not a date (write YYYY-MM-DD)")
            return None

    # Sections

    def organisation(self, root: Node | None) -> _Organisation:
        organisation = _Organisation()
        if root is None:
            self.problem(None, "", "the file is empty")
            return organisation
        nodes = self.fields(root, "", optional=("calendars", "departments", "people", "agreements"))
        if nodes is None:
            return organisation
        for path, node in self.items(nodes.get("calendars"), "calendars"):
            organisation.calendars.append(self.calendar(node, path))
        for path, node in self.items(nodes.get("departments"), "departments"):
            organisation.departments.append(self.department(node, path))
        for path, node in self.items(nodes.get("people"), "people"):
            organisation.people.append(self.person(node, path))
        for path, node in self.items(nodes.get("agreements"), "agreements"):
            organisation.agreements.append(self.agreement(node, path))
        return organisation

    def agreement(self, node: Node, path: str) -> _AgreementSpec:
        spec = self._spec(
            _AgreementSpec,
            node,
            path,
            required=("provider", "customer", "version", "valid_from"),
            optional=(
                "state",
                "valid_until",
                "calendar",
                "proposed_side",
                "proposed_by",
                "decided_by",
                "comment",
                "decision_comment",
                "targets",
                "services",
                "escalation",
            ),
        )
        n = spec.nodes
        spec.provider = self.text(n.get("provider"), _join(path, "provider"), required=True)
        spec.customer = self.text(n.get("customer"), _join(path, "customer"), required=True)
        version = self.text(n.get("version"), _join(path, "version"), required=True)
        if version is not None:
            if version.isdigit() and 0 < int(version) < 2**31:
                spec.version = int(version)
            else:
                self.problem(
                    n["version"],
                    _join(path, "version"),
                    f"'{version}' is not a version (1, 2, ...)",
                )
        spec.state = self.choice(
            n.get("state"), _join(path, "state"), AGREEMENT_STATES, default=AgreementState.ACCEPTED
        )
        if "valid_from" in n:
            spec.valid_from = self.date(n["valid_from"], _join(path, "valid_from"))
        if "valid_until" in n:
            spec.valid_until = self.date(n["valid_until"], _join(path, "valid_until"))
        spec.calendar = self.text(n.get("calendar"), _join(path, "calendar")) or None
        spec.proposed_side = self.choice(
            n.get("proposed_side"),
            _join(path, "proposed_side"),
            AgreementSide.values,
            default=AgreementSide.PROVIDER,
        )
        spec.proposed_by = self.text(n.get("proposed_by"), _join(path, "proposed_by")) or None
        spec.decided_by = self.text(n.get("decided_by"), _join(path, "decided_by")) or None
        spec.comment = self.text(n.get("comment"), _join(path, "comment")) or ""
        spec.decision_comment = (
            self.text(n.get("decision_comment"), _join(path, "decision_comment")) or ""
        )
        spec.targets = self.targets(n.get("targets"), _join(path, "targets"))
        for service_path, service_node in self.items(n.get("services"), _join(path, "services")):
            service = self._spec(
                _AgreementServiceSpec,
                service_node,
                service_path,
                required=("name", "targets"),
            )
            service.name = self.text(
                service.nodes.get("name"), _join(service_path, "name"), required=True
            )
            service.targets = self.targets(
                service.nodes.get("targets"), _join(service_path, "targets")
            )
            spec.services.append(service)
        spec.escalation = [
            self.level(level_node, level_path)
            for level_path, level_node in self.items(n.get("escalation"), _join(path, "escalation"))
        ]
        return spec

    def _spec(self, cls, node: Node, path: str, **keys):
        nodes = self.fields(node, path, **keys)
        return cls(path=path, node=node, nodes=nodes or {}, ok=nodes is not None)

    def calendar(self, node: Node, path: str) -> _CalendarSpec:
        spec = self._spec(
            _CalendarSpec,
            node,
            path,
            required=("name", "timezone", "working_hours"),
            optional=("holiday_country", "holiday_subdivision", "holidays"),
        )
        n = spec.nodes
        spec.name = self.text(n.get("name"), _join(path, "name"), required=True)
        spec.timezone = self.text(n.get("timezone"), _join(path, "timezone"), required=True) or ""
        spec.holiday_country = (
            self.text(n.get("holiday_country"), _join(path, "holiday_country")) or ""
        )
        spec.holiday_subdivision = (
            self.text(n.get("holiday_subdivision"), _join(path, "holiday_subdivision")) or ""
        )
        if "working_hours" in n:
            spec.hours = self.working_hours(n["working_hours"], _join(path, "working_hours"))
        for item_path, item in self.items(n.get("holidays"), _join(path, "holidays")):
            holiday = self.fields(item, item_path, required=("date", "name"))
            if holiday is None:
                continue
            date = self.date(holiday.get("date"), _join(item_path, "date"))
            name = self.text(holiday.get("name"), _join(item_path, "name"), required=True)
            if date is None or name is None:
                continue
            if date in spec.holidays:
                self.problem(item, _join(item_path, "date"), f"{date} is listed twice")
            if len(name) > HOLIDAY_NAME_LENGTH:
                self.problem(
                    holiday["name"],
                    _join(item_path, "name"),
                    f"at most {HOLIDAY_NAME_LENGTH} characters",
                )
            spec.holidays[date] = name
        return spec

    def working_hours(self, node: Node, path: str) -> list[_HoursRow]:
        """`{mon-fri: "09:00-17:00", sat: ["08:00-12:00", "13:00-15:00"]}` as rows."""
        if not isinstance(node, MappingNode) or not node.value:
            found = "no working hours" if isinstance(node, MappingNode) else _describe(node)
            self.problem(
                node,
                path,
                f'expected days mapped to hours, e.g. {{mon-fri: "09:00-17:00"}}, found {found}',
            )
            return []
        rows = []
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else ""
            key_path = _join(path, key)
            days = self.weekdays(key_node, key_path)
            if isinstance(value_node, SequenceNode):
                interval_nodes = value_node.value
            else:
                interval_nodes = [value_node]
            for interval_node in interval_nodes:
                interval = self.interval(interval_node, key_path)
                if days is None or interval is None:
                    continue
                for day in days:
                    rows.append(_HoursRow(day, *interval, node=interval_node, path=key_path))
        for day in range(7):
            self.check_day([row for row in rows if row.weekday == day])
        return rows

    def weekdays(self, node: Node, path: str) -> list[int] | None:
        """`mon`, `mon-fri` or `mon,wed,fri-sun` as weekday numbers (0 = Monday)."""
        text = node.value.strip().lower() if isinstance(node, ScalarNode) else ""
        days: list[int] = []
        for part in text.split(","):
            first, _, last = (piece.strip() for piece in part.partition("-"))
            if first not in WEEKDAYS or (last and last not in WEEKDAYS):
                self.problem(
                    node,
                    path,
                    f"'{part.strip()}' is not a day or range of days "
                    "(use mon, tue, wed, thu, fri, sat, sun, e.g. mon-fri)",
                )
                return None
            start, end = WEEKDAYS[first], WEEKDAYS[last or first]
            if end < start:
                self.problem(node, path, f"'{part.strip()}' runs backwards (write e.g. mon-fri)")
                return None
            days.extend(range(start, end + 1))
        return days

    def interval(self, node: Node, path: str) -> tuple[datetime.time, datetime.time] | None:
        """`"09:00-17:00"`; an end of 24:00 or 00:00 is midnight at the end of the day."""
        text = node.value.strip() if isinstance(node, ScalarNode) else ""
        match = INTERVAL_PATTERN.match(text)
        if match:
            start_hour, start_minute, end_hour, end_minute = (int(g) for g in match.groups())
            start_ok = start_hour < 24 and start_minute < 60
            end_ok = (end_hour < 24 and end_minute < 60) or (end_hour, end_minute) == (24, 0)
            if start_ok and end_ok:
                start = datetime.time(start_hour, start_minute)
                end = MIDNIGHT if end_hour == 24 else datetime.time(end_hour, end_minute)
                if end != MIDNIGHT and end <= start:
                    self.problem(node, path, f"'{text}' ends before it starts")
                    return None
                return start, end
        self.problem(
            node,
            path,
            f"{_describe(node)} is not a time interval (write HH:MM-HH:MM, e.g. 09:00-17:00; "
            "24:00 ends at midnight)",
        )
        return None

    def check_day(self, rows: list[_HoursRow]) -> None:
        """One weekday's intervals must not overlap (the same rule as the admin)."""
        try:
            validate_working_hours([(row.weekday, row.start, row.end) for row in rows])
        except ValidationError as exc:
            # The validator decides; find the pair it objects to, to point at its line.
            ordered = sorted(rows, key=lambda row: row.start)
            culprit, message = ordered[-1], "; ".join(exc.messages)
            for previous, row in itertools.pairwise(ordered):
                if row.start < previous.end or previous.end == MIDNIGHT:
                    culprit = row
                    message = (
                        f"working hours overlap on {Weekday(row.weekday).label}: "
                        f"{_interval_text(previous)} and {_interval_text(row)}"
                    )
                    break
            self.problem(culprit.node, culprit.path, message)

    def targets(self, node: Node | None, path: str) -> list[_TargetSpec]:
        """`{urgent: {first_response: 30m, resolution: 4h}, ...}` as target specs."""
        if node is None:
            return []
        nodes = self.fields(node, path, optional=Priority.values, unknown="priority")
        targets = []
        for priority, value_node in (nodes or {}).items():
            target_path = _join(path, priority)
            spec = self._spec(
                _TargetSpec,
                value_node,
                target_path,
                required=("first_response", "resolution"),
            )
            spec.priority = priority
            spec.first_response = self.duration(
                spec.nodes.get("first_response"), _join(target_path, "first_response")
            )
            spec.resolution = self.duration(
                spec.nodes.get("resolution"), _join(target_path, "resolution")
            )
            targets.append(spec)
        return targets

    def department(self, node: Node, path: str) -> _DepartmentSpec:
        spec = self._spec(
            _DepartmentSpec,
            node,
            path,
            required=("slug", "name", "code", "calendar"),
            optional=(
                "parent",
                "is_provider",
                "description",
                "targets",
                "services",
                "escalation",
            ),
        )
        n = spec.nodes
        spec.slug = self.text(n.get("slug"), _join(path, "slug"), required=True)
        spec.name = self.text(n.get("name"), _join(path, "name"), required=True) or ""
        spec.code = self.text(n.get("code"), _join(path, "code"), required=True) or ""
        spec.calendar = self.text(n.get("calendar"), _join(path, "calendar"), required=True)
        spec.parent = self.text(n.get("parent"), _join(path, "parent")) or None
        spec.is_provider = self.boolean(
            n.get("is_provider"), _join(path, "is_provider"), default=True
        )
        spec.description = self.text(n.get("description"), _join(path, "description")) or ""
        spec.targets = self.targets(n.get("targets"), _join(path, "targets"))
        for service_path, service_node in self.items(n.get("services"), _join(path, "services")):
            spec.services.append(self.service(service_node, service_path))
        if "escalation" in n:
            spec.escalation = [
                self.level(level_node, level_path)
                for level_path, level_node in self.items(n["escalation"], _join(path, "escalation"))
            ]
        return spec

    def level(self, node: Node, path: str) -> _LevelSpec:
        """`{share: 50%, notify: [assignee]}` or `{overdue: 4h, notify: [managers],
        raise_to: urgent}` as a level spec."""
        spec = self._spec(
            _LevelSpec,
            node,
            path,
            optional=("share", "overdue", "clock", "notify", "assign_to", "raise_to"),
        )
        n = spec.nodes
        given = [key for key in ("share", "overdue") if key in n]
        if spec.ok and len(given) != 1:
            self.problem(node, path, "give one of 'share' (e.g. 50%) or 'overdue' (e.g. 4h)")
        elif given == ["share"]:
            spec.threshold = EscalationThreshold.SHARE
            text = self.text(n["share"], _join(path, "share"), required=True)
            match = re.fullmatch(r"(\d{1,3})\s*%?", text or "")
            if text is not None and match is None:
                self.problem(n["share"], _join(path, "share"), f"'{text}' is not a percentage")
            elif match is not None:
                spec.value = int(match.group(1))
        elif given == ["overdue"]:
            spec.threshold = EscalationThreshold.OVERDUE
            duration = self.duration(n["overdue"], _join(path, "overdue"))
            spec.value = int(duration.total_seconds()) if duration is not None else None
        spec.clock = self.choice(
            n.get("clock"), _join(path, "clock"), EscalationClock.values, default="both"
        )
        for item_path, item in self.items(n.get("notify"), _join(path, "notify")):
            audience = self.choice(item, item_path, EscalationAudience.values, default="")
            if audience:
                spec.notify.append(audience)
        spec.assign_to = self.text(n.get("assign_to"), _join(path, "assign_to")) or None
        spec.raise_to = self.choice(
            n.get("raise_to"), _join(path, "raise_to"), Priority.values, default=""
        )
        if spec.assign_to and spec.raise_to:
            node_, path_ = spec.where("raise_to")
            self.problem(node_, path_, "a level either assigns or raises the priority, not both")
        return spec

    def service(self, node: Node, path: str) -> _ServiceSpec:
        spec = self._spec(
            _ServiceSpec,
            node,
            path,
            required=("name",),
            optional=("description", "default_priority", "active", "targets"),
        )
        n = spec.nodes
        spec.name = self.text(n.get("name"), _join(path, "name"), required=True)
        spec.description = self.text(n.get("description"), _join(path, "description")) or ""
        spec.default_priority = self.choice(
            n.get("default_priority"),
            _join(path, "default_priority"),
            Priority.values,
            default=Priority.NORMAL,
        )
        spec.active = self.boolean(n.get("active"), _join(path, "active"), default=True)
        spec.targets = self.targets(n.get("targets"), _join(path, "targets"))
        return spec

    def person(self, node: Node, path: str) -> _PersonSpec:
        spec = self._spec(
            _PersonSpec,
            node,
            path,
            required=("username", "memberships"),
            optional=("first_name", "last_name", "email", "password", "is_hr"),
        )
        n = spec.nodes
        spec.username = self.text(n.get("username"), _join(path, "username"), required=True)
        spec.first_name = self.text(n.get("first_name"), _join(path, "first_name")) or ""
        spec.last_name = self.text(n.get("last_name"), _join(path, "last_name")) or ""
        spec.email = self.text(n.get("email"), _join(path, "email")) or ""
        if "password" in n:
            spec.password = self.text(n["password"], _join(path, "password"), required=True)
        spec.is_hr = self.boolean(n.get("is_hr"), _join(path, "is_hr"), default=False)
        memberships_path = _join(path, "memberships")
        for item_path, item in self.items(n.get("memberships"), memberships_path):
            spec.memberships.append(self.membership(item, item_path))
        if "memberships" in n:
            self.check_primary(spec, memberships_path)
        return spec

    def membership(self, node: Node, path: str) -> _MembershipSpec:
        spec = self._spec(
            _MembershipSpec,
            node,
            path,
            required=("department",),
            optional=("role", "primary", "title"),
        )
        n = spec.nodes
        spec.department = self.text(n.get("department"), _join(path, "department"), required=True)
        spec.role = self.choice(
            n.get("role"), _join(path, "role"), Role.values, default=Role.MEMBER
        )
        spec.primary = self.boolean(n.get("primary"), _join(path, "primary"), default=False)
        spec.title = self.text(n.get("title"), _join(path, "title")) or ""
        return spec

    def check_primary(self, person: _PersonSpec, path: str) -> None:
        """Exactly one primary membership; a single membership is primary unless it says not."""
        memberships = person.memberships
        node = person.nodes["memberships"]
        if not memberships:
            self.problem(node, path, "a person needs at least one membership")
            return
        if len(memberships) == 1 and "primary" not in memberships[0].nodes:
            memberships[0].primary = True
        primaries = [m for m in memberships if m.primary]
        if not primaries:
            self.problem(node, path, "exactly one membership must be primary: true (none is)")
        elif len(primaries) > 1:
            lines = ", ".join(str(_line(m.node)) for m in primaries)
            node, path = primaries[1].where("primary")
            self.problem(
                node,
                path,
                f"exactly one membership must be primary: true (primary at lines {lines})",
            )


def _parse(*, data_text: str, source_name: str) -> Node | None:
    """The document's node tree; a syntax error is raised as an OrgImportError."""
    if source_name.lower().endswith(".json"):
        # json reports JSON mistakes more plainly than YAML would. Valid JSON is YAML once
        # its tabs are spaces (a tab can only be whitespace there), which keeps the lines.
        try:
            json.loads(data_text)
        except json.JSONDecodeError as exc:
            problem = ImportProblem(exc.lineno, "", f"JSON syntax error: {exc.msg}")
            raise OrgImportError(source_name=source_name, problems=[problem]) from exc
        data_text = data_text.replace("\t", " ")
    try:
        return yaml.compose(data_text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(part for part in (exc.context, exc.problem) if part)
        problem = ImportProblem(
            mark.line + 1 if mark else None, "", f"YAML syntax error: {message}"
        )
        raise OrgImportError(source_name=source_name, problems=[problem]) from exc
    except yaml.YAMLError as exc:
        problem = ImportProblem(None, "", f"YAML syntax error: {exc}")
        raise OrgImportError(source_name=source_name, problems=[problem]) from exc


# -- Checking the specs against each other and the models -------------------------------


@dataclass
class _Plan:
    """A model instance carrying the file's values, and whether saving it changes anything."""

    instance: models.Model
    is_new: bool
    changed: bool
    spec: _Spec
    extra: dict = field(default_factory=dict)


class _Planner:
    """Resolves references, runs the model validation and plans every write."""

    # file key of each model field whose name differs
    FIELD_KEYS = {"is_primary": "primary", "user": "username"}

    def __init__(self, reader: _Reader, organisation: _Organisation):
        self.reader = reader
        self.organisation = organisation
        self.calendars: dict[str, _Plan] = {}
        self.departments: dict[str, _Plan] = {}
        self.services: list[_Plan] = []
        self.targets: list[_Plan] = []
        self.people: list[_Plan] = []
        self.memberships: dict[str, list[_Plan]] = {}
        self.agreements: list[_AgreementPlan] = []
        # (department, [LevelInput], is new, changed) per department whose file lists levels
        self.escalations: list[tuple] = []

    def problem(self, node, path, message):
        self.reader.problem(node, path, message)

    def clean(self, plan: _Plan, *, exclude: Iterable[str] = ()) -> None:
        """`full_clean()` the instance, pinning each message to the line of its key.

        A field the reading already found wrong, or a required key that is missing (both
        reported), gets no second message from the model.
        """
        if not plan.spec.ok:
            return
        instance = plan.instance
        skip = set(exclude)
        for field_name in ("calendar", "parent", "department", "service", "user"):
            related = getattr(instance, field_name, None) if hasattr(instance, field_name) else None
            if isinstance(related, models.Model) and related.pk is None:
                skip.add(field_name)  # saved later in the same transaction
        try:
            instance.full_clean(exclude=sorted(skip), validate_constraints=False)
        except ValidationError as exc:
            for field_name, messages in exc.message_dict.items():
                key = self.FIELD_KEYS.get(field_name, field_name)
                if field_name == NON_FIELD_ERRORS:
                    node, path = plan.spec.node, plan.spec.path
                elif key in plan.spec.nodes:
                    node, path = plan.spec.where(key)
                else:
                    continue
                if path in self.reader.reported_paths:
                    continue
                for message in messages:
                    self.problem(node, path, message)

    @staticmethod
    def assign(instance: models.Model, values: dict, snapshot) -> bool:
        """Set the values; True when the instance differs from what was stored."""
        before = snapshot(instance) if instance.pk else None
        for name, value in values.items():
            setattr(instance, name, value)
        return instance.pk is not None and before != snapshot(instance)

    def planned(
        self, instance: models.Model, spec: _Spec, values: dict, snapshot, *, exclude=()
    ) -> _Plan:
        """The plan of saving `values` on `instance` (see `assign`), validated (`clean`)."""
        changed = self.assign(instance, values, snapshot)
        plan = _Plan(instance, instance.pk is None, changed, spec)
        self.clean(plan, exclude=exclude)
        return plan

    def repeated(self, spec: _Spec, key: str, first: _Spec, message: str) -> None:
        """`spec` gives `key` the value `first` gave already: `message`, and where `first` is."""
        node, path = spec.where(key)
        self.problem(node, path, f"{message} (first at line {_line(first.node)})")

    def run(self) -> None:
        self.plan_calendars()
        self.plan_departments()
        self.plan_services_and_targets()
        self.plan_people()
        self.plan_agreements()
        self.plan_escalations()

    def plan_calendars(self) -> None:
        stored = {c.name: c for c in BusinessCalendar.objects.all()}
        for spec in self.organisation.calendars:
            if spec.name is None:
                continue
            if spec.name in self.calendars:
                first = self.calendars[spec.name].spec
                self.repeated(spec, "name", first, f"calendar '{spec.name}' is defined twice")
                continue
            self.calendars[spec.name] = self.planned(
                stored.get(spec.name) or BusinessCalendar(name=spec.name),
                spec,
                {
                    "timezone": spec.timezone,
                    "holiday_country": spec.holiday_country,
                    "holiday_subdivision": spec.holiday_subdivision,
                },
                lambda c: (c.timezone, c.holiday_country, c.holiday_subdivision),
            )
        self.stored_calendars = stored

    def calendar_ref(self, name: str) -> BusinessCalendar | None:
        if name in self.calendars:
            return self.calendars[name].instance
        return self.stored_calendars.get(name)

    def plan_departments(self) -> None:
        stored = {d.slug: d for d in Department.objects.all()}
        slug_by_id = {d.pk: d.slug for d in stored.values()}
        calendar_name_by_id = dict(BusinessCalendar.objects.values_list("pk", "name"))
        names: dict[str, _DepartmentSpec] = {}
        codes: dict[str, _DepartmentSpec] = {}
        specs = []
        for spec in self.organisation.departments:
            if spec.slug is None:
                continue
            if spec.slug in self.departments:
                first = self.departments[spec.slug].spec
                self.repeated(spec, "slug", first, f"department '{spec.slug}' is defined twice")
                continue
            for key, seen in (("name", names), ("code", codes)):
                value = getattr(spec, key)
                if value and value in seen:
                    node, path = spec.where(key)
                    self.problem(
                        node,
                        path,
                        f"{key} '{value}' is already used by department '{seen[value].slug}' "
                        f"(line {_line(seen[value].node)})",
                    )
                elif value:
                    seen[value] = spec
            instance = stored.get(spec.slug) or Department(slug=spec.slug)
            plan = _Plan(instance, instance.pk is None, False, spec)
            self.departments[spec.slug] = plan
            specs.append(spec)

        self.check_cycles(stored, slug_by_id)
        for spec in specs:
            plan = self.departments[spec.slug]
            instance = plan.instance
            before = (
                instance.name,
                instance.code,
                instance.description,
                instance.is_provider,
                slug_by_id.get(instance.parent_id),
                calendar_name_by_id.get(instance.calendar_id),
            )
            instance.name, instance.code = spec.name, spec.code
            instance.description, instance.is_provider = spec.description, spec.is_provider
            calendar = self.calendar_ref(spec.calendar) if spec.calendar else None
            if spec.calendar and calendar is None:
                node, path = spec.where("calendar")
                self.problem(node, path, f"unknown calendar '{spec.calendar}'")
            elif calendar is not None:
                instance.calendar = calendar
            parent = None
            if spec.parent:
                parent_plan = self.departments.get(spec.parent)
                parent = parent_plan.instance if parent_plan else stored.get(spec.parent)
                if parent is None:
                    node, path = spec.where("parent")
                    self.problem(node, path, f"unknown department '{spec.parent}'")
            instance.parent = parent
            after = (
                spec.name,
                spec.code,
                spec.description,
                spec.is_provider,
                spec.parent if parent is not None else None,
                spec.calendar if calendar is not None else None,
            )
            plan.changed = not plan.is_new and before != after
            self.clean(plan)
        self.stored_departments = stored

    def check_cycles(self, stored: dict[str, Department], slug_by_id: dict[int, str]) -> None:
        """No department may end up below itself, counting the stored tree too."""
        parent_of = {slug: slug_by_id.get(d.parent_id) for slug, d in stored.items()}
        for slug, plan in self.departments.items():
            parent_of[slug] = plan.spec.parent
        for slug, plan in self.departments.items():
            seen = [slug]
            node = parent_of.get(slug)
            while node is not None and node not in seen:
                seen.append(node)
                node = parent_of.get(node)
            if node == slug:
                where_node, path = plan.spec.where("parent")
                self.problem(
                    where_node,
                    path,
                    "this parent makes a loop: " + " -> ".join([*seen, slug]),
                )

    def department_ref(self, slug: str) -> Department | None:
        if slug in self.departments:
            return self.departments[slug].instance
        return self.stored_departments.get(slug)

    def plan_services_and_targets(self) -> None:
        stored_services = {(s.department_id, s.name): s for s in Service.objects.all()}
        stored_targets = {
            (t.department_id, t.service_id, t.priority): t for t in SLATarget.objects.all()
        }
        for department_plan in self.departments.values():
            spec: _DepartmentSpec = department_plan.spec
            department = department_plan.instance
            self.plan_targets(department, None, spec.targets, stored_targets)
            seen: dict[str, _ServiceSpec] = {}
            for service_spec in spec.services:
                if service_spec.name is None:
                    continue
                if service_spec.name in seen:
                    self.repeated(
                        service_spec,
                        "name",
                        seen[service_spec.name],
                        f"service '{service_spec.name}' is listed twice in this department",
                    )
                    continue
                seen[service_spec.name] = service_spec
                instance = stored_services.get((department.pk, service_spec.name)) or Service(
                    department=department, name=service_spec.name
                )
                plan = self.planned(
                    instance,
                    service_spec,
                    {
                        "description": service_spec.description,
                        "default_priority": service_spec.default_priority,
                        "active": service_spec.active,
                    },
                    lambda s: (s.description, s.default_priority, s.active),
                )
                self.services.append(plan)
                self.plan_targets(department, instance, service_spec.targets, stored_targets)

    def plan_targets(self, department, service, specs, stored) -> None:
        for spec in specs:
            key = (department.pk, service.pk if service else None, spec.priority)
            instance = (stored.get(key) if department.pk else None) or SLATarget(
                department=department, service=service, priority=spec.priority
            )
            plan = self.planned(
                instance,
                spec,
                {"first_response": spec.first_response, "resolution": spec.resolution},
                lambda t: (t.first_response, t.resolution),
            )
            self.targets.append(plan)

    def plan_people(self) -> None:
        user_model = get_user_model()
        usernames = [spec.username for spec in self.organisation.people if spec.username]
        stored = {u.username: u for u in user_model.objects.filter(username__in=usernames)}
        hr_members = set(
            user_model.objects.filter(groups__name=HR_GROUP, username__in=usernames).values_list(
                "username", flat=True
            )
        )
        stored_memberships = {
            (m.user_id, m.department_id): m
            for m in Membership.objects.filter(user__username__in=usernames)
        }
        seen: dict[str, _PersonSpec] = {}
        for spec in self.organisation.people:
            if spec.username is None:
                continue
            if spec.username in seen:
                first = seen[spec.username]
                self.repeated(spec, "username", first, f"person '{spec.username}' is listed twice")
                continue
            seen[spec.username] = spec
            user = stored.get(spec.username) or user_model(username=spec.username)
            plan = self.planned(
                user,
                spec,
                {"first_name": spec.first_name, "last_name": spec.last_name, "email": spec.email},
                lambda u: (u.first_name, u.last_name, u.email),
                exclude=["password"],
            )
            hr_change = (spec.username in hr_members) != spec.is_hr
            plan.changed = plan.changed or hr_change
            plan.extra["hr_change"] = hr_change
            if user.pk is None:
                plan.extra["password"] = spec.password
            elif spec.password is not None and not check_password(spec.password, user.password):
                # hashers.check_password, not user.check_password: the latter may save an
                # upgraded hash, and nothing may be written before the file is known good.
                plan.extra["password"] = spec.password
                plan.changed = True
            self.people.append(plan)
            if spec.password is not None:
                try:
                    password_validation.validate_password(spec.password, user=user)
                except ValidationError as exc:
                    node, path = spec.where("password")
                    for message in exc.messages:
                        self.problem(node, path, message)
            self.memberships[spec.username] = self.plan_memberships(user, spec, stored_memberships)

    def plan_memberships(self, user, person: _PersonSpec, stored) -> list[_Plan]:
        plans = []
        seen: dict[str, _MembershipSpec] = {}
        for spec in person.memberships:
            if spec.department is None:
                continue
            department = self.department_ref(spec.department)
            if department is None:
                node, path = spec.where("department")
                self.problem(node, path, f"unknown department '{spec.department}'")
                continue
            if spec.department in seen:
                first = seen[spec.department]
                message = f"'{spec.department}' is listed twice for this person"
                self.repeated(spec, "department", first, message)
                continue
            seen[spec.department] = spec
            instance = stored.get((user.pk, department.pk)) if user.pk and department.pk else None
            plan = self.planned(
                instance or Membership(user=user, department=department),
                spec,
                {"role": spec.role, "is_primary": spec.primary, "title": spec.title},
                lambda m: (m.role, m.is_primary, m.title),
            )
            plans.append(plan)
        return plans

    # Escalation levels: a department whose file lists them gets exactly those, in order;
    # one that does not keeps its own. The rules of a set are departments.escalation's.

    def level_people(self) -> tuple[dict, dict]:
        """The people levels may assign to (username -> user, the file's or stored) and
        their roles once the file is in ((username, department slug) -> role)."""
        if getattr(self, "_level_people", None) is not None:
            return self._level_people
        specs = [plan.spec.escalation or [] for plan in self.departments.values()]
        specs += [spec.escalation for spec in self.organisation.agreements]
        wanted = {level.assign_to for levels in specs for level in levels if level.assign_to}
        users = {plan.instance.username: plan.instance for plan in self.people}
        for user in get_user_model().objects.filter(username__in=wanted - set(users)):
            users[user.username] = user
        roles = {
            (m.user.username, m.department.slug): m.role
            for m in Membership.objects.filter(user__username__in=wanted).select_related(
                "user", "department"
            )
        }
        for username, plans in self.memberships.items():
            for membership in plans:
                roles[(username, membership.instance.department.slug)] = membership.instance.role
        self._level_people = users, roles
        return self._level_people

    def plan_levels(self, department, slug: str, spec: _Spec, levels_spec: list) -> list:
        """A set of levels of the file as LevelInput, every problem reported at its line."""
        users, roles = self.level_people()
        levels = []
        for level in levels_spec:
            assignee = users.get(level.assign_to) if level.assign_to else None
            if level.assign_to and assignee is None:
                node, path = level.where("assign_to")
                self.problem(node, path, f"unknown person '{level.assign_to}'")
            action = "assign" if level.assign_to else "raise_priority" if level.raise_to else ""
            levels.append(
                escalation_rules.LevelInput(
                    threshold=level.threshold,
                    value=level.value or 0,
                    clock=level.clock,
                    notify=level.notify,
                    action=action,
                    assign_to=assignee,
                    raise_to=level.raise_to,
                )
            )
        # Levels the reading found wrong are checked too: the model's messages on what was
        # reported already are left out below, so each problem is told once.
        errors = escalation_rules.levels_errors(
            department,
            levels,
            is_staff=lambda user: roles.get((user.username, slug)) in (Role.AGENT, Role.MANAGER),
        )
        for key, problems in errors.items():
            if key == "levels":
                node, path = spec.where("escalation")
                for message in problems:
                    self.problem(node, path, message)
                continue
            level = levels_spec[key]
            if not level.ok:
                continue
            for name, messages in problems.items():
                file_key = level.threshold if name == "value" else name
                if file_key in level.nodes:
                    node, path = level.where(file_key)
                else:
                    node, path = level.node, level.path
                if any(
                    reported == path or reported.startswith(path + "[")
                    for reported in self.reader.reported_paths
                ):
                    continue
                for message in messages:
                    self.problem(node, path, message)
        return levels

    def plan_escalations(self) -> None:
        specs = [plan for plan in self.departments.values() if plan.spec.escalation is not None]
        if not specs:
            return
        stored = {}
        for level in EscalationLevel.objects.filter(agreement__isnull=True).select_related(
            "assign_to"
        ):
            stored.setdefault(level.department_id, []).append(level)
        for plan in specs:
            department, spec = plan.instance, plan.spec
            levels = self.plan_levels(department, spec.slug, spec, spec.escalation)
            before = [
                escalation_rules.level_input(level)
                for level in sorted(stored.get(department.pk, []), key=lambda lv: lv.number)
            ]
            is_new = department.pk is None or department.pk not in stored
            self.escalations.append((department, levels, is_new and bool(levels), before != levels))

    # Agreements: a version that was agreed never changes (clocks point at it); a new
    # version says what changed. A proposal in the file may still change, or be answered.

    def plan_agreements(self) -> None:
        specs = [spec for spec in self.organisation.agreements if spec.ok]
        if not specs:
            return
        stored_versions: dict[tuple, dict[int, Agreement]] = {}
        for agreement in Agreement.objects.select_related(
            "provider", "customer", "calendar", "proposed_by", "decided_by"
        ).prefetch_related("targets__service", "escalation_levels__assign_to"):
            key = (agreement.provider.slug, _customer_key(agreement))
            stored_versions.setdefault(key, {})[agreement.version] = agreement
        services = {}
        for plan in self.services:
            services[(plan.instance.department.slug, plan.instance.name)] = plan.instance
        for service in Service.objects.select_related("department"):
            services.setdefault((service.department.slug, service.name), service)
        usernames = {plan.instance.username: plan.instance for plan in self.people}
        wanted = {spec.proposed_by for spec in specs} | {spec.decided_by for spec in specs}
        for user in get_user_model().objects.filter(username__in=wanted - set(usernames)):
            usernames[user.username] = user

        seen: dict[tuple, _AgreementSpec] = {}
        file_versions: dict[tuple, dict[int, _AgreementSpec]] = {}
        for spec in specs:
            if None in (spec.provider, spec.customer, spec.version):
                continue
            key = (*spec.pair, spec.version)
            if key in seen:
                self.repeated(spec, "version", seen[key], f"{spec.name} is listed twice")
                continue
            seen[key] = spec
            file_versions.setdefault(spec.pair, {})[spec.version] = spec
            plan = self.plan_agreement(spec, services, usernames, stored_versions)
            if plan is not None:
                self.agreements.append(plan)
        for pair, versions in file_versions.items():
            self.check_versions(pair, versions, stored_versions.get(pair, {}))
        # Applied version by version, so that accepting one supersedes those before it.
        self.agreements.sort(key=lambda plan: (plan.spec.pair, plan.spec.version))

    def plan_agreement(self, spec, services, usernames, stored_versions):
        provider = self.department_ref(spec.provider)
        if provider is None:
            node, path = spec.where("provider")
            self.problem(node, path, f"unknown department '{spec.provider}'")
        customer = None
        if spec.customer != EVERY_CUSTOMER:
            customer = self.department_ref(spec.customer)
            if customer is None:
                node, path = spec.where("customer")
                self.problem(
                    node,
                    path,
                    f"unknown department '{spec.customer}' (write '{EVERY_CUSTOMER}' for "
                    "every customer)",
                )
        elif spec.proposed_side != AgreementSide.PROVIDER:
            node, path = spec.where("proposed_side")
            self.problem(node, path, "an agreement with every customer is the provider's proposal")
        calendar = None
        if spec.calendar:
            calendar = self.calendar_ref(spec.calendar)
            if calendar is None:
                node, path = spec.where("calendar")
                self.problem(node, path, f"unknown calendar '{spec.calendar}'")
        people = {}
        for key in ("proposed_by", "decided_by"):
            username = getattr(spec, key)
            if username and username not in usernames:
                node, path = spec.where(key)
                self.problem(node, path, f"unknown person '{username}'")
            people[key] = usernames.get(username) if username else None
        if spec.state == AgreementState.PROPOSED and (spec.decided_by or spec.decision_comment):
            node, path = spec.where("decided_by" if spec.decided_by else "decision_comment")
            self.problem(node, path, "a proposal is not decided yet (state: proposed)")
        targets: list[tuple[_TargetSpec, TargetInput]] = []
        for target in spec.targets:
            targets.append((target, self.target_input(None, target)))
        for service_spec in spec.services:
            if service_spec.name is None or provider is None:
                continue
            service = services.get((spec.provider, service_spec.name))
            if service is None:
                node, path = service_spec.where("name")
                self.problem(
                    node, path, f"unknown service '{service_spec.name}' of '{spec.provider}'"
                )
                continue
            for target in service_spec.targets:
                targets.append((target, self.target_input(service, target)))
        if provider is None or (spec.customer != EVERY_CUSTOMER and customer is None):
            return None
        if any(value is None for _, value in targets) or spec.valid_from is None:
            return None  # a duration already reported
        inputs = [value for _, value in targets]
        errors, target_errors = proposal_errors(
            provider=provider,
            customer=customer,
            valid_from=spec.valid_from,
            valid_until=spec.valid_until,
            # A calendar the file defines has working hours (the reading requires them).
            calendar=calendar if calendar is not None and calendar.pk else None,
            targets=inputs,
            # Agreed versions may be history; a proposal must still be able to apply.
            today=timezone.localdate() if spec.state == AgreementState.PROPOSED else None,
        )
        for name, messages in errors.items():
            node, path = spec.where(name)
            for message in messages:
                self.problem(node, path, message)
        for index, problems in target_errors.items():
            target_spec = targets[index][0]
            for name, messages in problems.items():
                key = name if name in target_spec.nodes else None
                node, path = target_spec.where(key) if key else (target_spec.node, target_spec.path)
                for message in messages:
                    self.problem(node, path, message)
        levels = self.plan_levels(provider, spec.provider, spec, spec.escalation)
        stored = stored_versions.get(spec.pair, {}).get(spec.version)
        plan = _AgreementPlan(
            spec=spec,
            provider=provider,
            customer=customer,
            calendar=calendar,
            people=people,
            targets=inputs,
            levels=levels,
            stored=stored,
        )
        if stored is not None:
            self.check_stored_agreement(plan)
        return plan

    def target_input(self, service, target: _TargetSpec) -> TargetInput | None:
        if target.first_response is None or target.resolution is None:
            return None
        return TargetInput(
            service=service,
            priority=target.priority,
            first_response=target.first_response,
            resolution=target.resolution,
        )

    def check_stored_agreement(self, plan: "_AgreementPlan") -> None:
        """A stored version matches the file, or is a proposal the file changes or answers."""
        spec, stored = plan.spec, plan.stored
        plan.content_changed = _agreement_content(stored) != plan.content()
        plan.decision_changed = (
            _decided_state(stored.state) != spec.state
            or _username(stored.decided_by) != spec.decided_by
            or stored.decision_comment != spec.decision_comment
        )
        if stored.state == AgreementState.PROPOSED:
            return
        label = stored.label
        if plan.content_changed:
            self.problem(
                spec.node,
                spec.path,
                f"{label} is {stored.get_state_display().lower()}: an agreed version never "
                f"changes; add version {spec.version + 1} with the changes",
            )
        elif plan.decision_changed:
            node, path = spec.where("state" if "state" in spec.nodes else "decided_by")
            self.problem(
                node,
                path,
                f"{label} is {stored.get_state_display().lower()} already: its answer "
                "stays as it was given",
            )

    def check_versions(self, pair, versions: dict[int, _AgreementSpec], stored) -> None:
        """One proposal per pair, and it is the pair's latest version; a new accepted version
        comes after every version accepted before it."""
        proposals = [v for v, spec in versions.items() if spec.state == AgreementState.PROPOSED]
        proposals += [
            v
            for v, agreement in stored.items()
            if agreement.state == AgreementState.PROPOSED and v not in versions
        ]
        latest = max([*versions, *stored])
        for version in sorted(proposals):
            spec = versions.get(version)
            if spec is None:
                continue
            if len(proposals) > 1:
                others = ", ".join(f"v{v}" for v in sorted(proposals) if v != version)
                node, path = spec.where("state")
                self.problem(node, path, f"one proposal at a time per pair ({others} too)")
            elif version != latest:
                node, path = spec.where("version")
                self.problem(node, path, f"a proposal is the latest version (v{latest} exists)")
        agreed = [
            v
            for v, agreement in stored.items()
            if agreement.state in (AgreementState.ACCEPTED, AgreementState.SUPERSEDED)
        ]
        for version, spec in versions.items():
            later = [v for v in agreed if v > version]
            if spec.state == AgreementState.ACCEPTED and version not in stored and later:
                node, path = spec.where("version")
                self.problem(
                    node,
                    path,
                    f"v{max(later)} is accepted already: number the new version "
                    f"{max(latest, *later) + 1}",
                )


def _customer_key(agreement: Agreement) -> str:
    return agreement.customer.slug if agreement.customer_id else EVERY_CUSTOMER


def _username(user) -> str | None:
    return user.username if user is not None else None


def _decided_state(state: str) -> str:
    """A superseded version was accepted: the file says so."""
    return AgreementState.ACCEPTED if state == AgreementState.SUPERSEDED else state


def _targets_key(targets) -> list[tuple]:
    return sorted(
        (
            target.service.name if target.service is not None else "",
            target.priority,
            target.first_response,
            target.resolution,
        )
        for target in targets
    )


def _agreement_content(agreement: Agreement) -> tuple:
    return (
        agreement.valid_from,
        agreement.valid_until,
        agreement.calendar.name if agreement.calendar_id else None,
        agreement.proposed_side,
        _username(agreement.proposed_by),
        agreement.comment,
        _targets_key(agreement.targets.all()),
        _levels_key(
            escalation_rules.level_input(level) for level in agreement.escalation_levels.all()
        ),
    )


def _levels_key(levels) -> list[tuple]:
    return [
        (
            level.threshold,
            level.value,
            level.clock,
            tuple(level.notify),
            level.action,
            _username(level.assign_to),
            level.raise_to,
        )
        for level in levels
    ]


@dataclass
class _AgreementPlan:
    spec: _AgreementSpec
    provider: Department
    customer: Department | None
    calendar: BusinessCalendar | None
    people: dict
    targets: list[TargetInput]
    levels: list = field(default_factory=list)
    stored: Agreement | None = None
    content_changed: bool = False
    decision_changed: bool = False

    def content(self) -> tuple:
        spec = self.spec
        return (
            spec.valid_from,
            spec.valid_until,
            spec.calendar,
            spec.proposed_side,
            spec.proposed_by,
            spec.comment,
            _targets_key(self.targets),
            _levels_key(self.levels),
        )


# -- Writing ----------------------------------------------------------------------------


class _Writer:
    """Saves the plans in dependency order and counts what changed."""

    def __init__(self, planner: _Planner, report: ImportReport, default_password: str | None):
        self.planner = planner
        self.counts = report.counts
        self.default_password = default_password
        self._default_hash: str | None = None

    def save(self, kind: str, plan: _Plan) -> None:
        if plan.is_new or plan.changed:
            plan.instance.save()
        self.counts[kind].add(is_new=plan.is_new, changed=plan.changed)

    def run(self) -> None:
        for plan in self.planner.calendars.values():
            self.save_calendar(plan)
        for plan in self.departments_parents_first():
            self.save("departments", plan)
        for plan in self.planner.services:
            self.save("services", plan)
        for plan in self.planner.targets:
            self.save("targets", plan)
        for plan in self.planner.people:
            self.save_person(plan)
        for plan in self.planner.agreements:
            self.save_agreement(plan)
        for department, levels, is_new, changed in self.planner.escalations:
            if changed:
                escalation_levels_write(department=department, levels=levels)
            self.counts["escalation"].add(is_new=is_new, changed=changed)

    def save_agreement(self, plan: _AgreementPlan) -> None:
        """Create a version, change a proposal, or record its answer; an accepted version
        applies through departments.services.agreement_accepted_apply, as when accepted in
        the app (from its first day: the file records what was agreed)."""
        spec, agreement = plan.spec, plan.stored
        now = timezone.now()
        is_new = agreement is None
        if is_new:
            agreement = Agreement(
                provider=plan.provider,
                customer=plan.customer,
                version=spec.version,
                proposed_at=now,
            )
        if is_new or plan.content_changed:
            agreement.valid_from, agreement.valid_until = spec.valid_from, spec.valid_until
            agreement.calendar = plan.calendar
            agreement.proposed_side = spec.proposed_side
            agreement.proposed_by = plan.people["proposed_by"]
            agreement.comment = spec.comment
            agreement.state = AgreementState.PROPOSED
            agreement.full_clean(validate_constraints=False)
            agreement.save()
            agreement.targets.all().delete()
            AgreementTarget.objects.bulk_create(
                AgreementTarget(
                    agreement=agreement,
                    service=target.service,
                    priority=target.priority,
                    first_response=target.first_response,
                    resolution=target.resolution,
                )
                for target in plan.targets
            )
            agreement.escalation_levels.all().delete()
            EscalationLevel.objects.bulk_create(
                escalation_rules.level_rows(plan.provider, plan.levels, agreement=agreement)
            )
        if (is_new or plan.decision_changed) and spec.state != AgreementState.PROPOSED:
            agreement.state = spec.state
            agreement.decided_by = plan.people["decided_by"]
            agreement.decided_at = now
            agreement.decision_comment = spec.decision_comment
            agreement.save(update_fields=["state", "decided_by", "decided_at", "decision_comment"])
            if spec.state == AgreementState.ACCEPTED:
                agreement_accepted_apply(
                    agreement, accepted_at=day_start(agreement, agreement.valid_from)
                )
        changed = not is_new and (plan.content_changed or plan.decision_changed)
        self.counts["agreements"].add(is_new=is_new, changed=changed)

    def save_calendar(self, plan: _Plan) -> None:
        calendar, spec = plan.instance, plan.spec
        if plan.is_new or plan.changed:
            calendar.save()
        wanted_hours = {(row.weekday, row.start, row.end) for row in spec.hours}
        stored_hours = set(calendar.working_hours.values_list("weekday", "start", "end"))
        if wanted_hours != stored_hours:
            calendar.working_hours.all().delete()
            WorkingHours.objects.bulk_create(
                WorkingHours(calendar=calendar, weekday=weekday, start=start, end=end)
                for weekday, start, end in sorted(wanted_hours)
            )
            plan.changed = True
        stored_holidays = {h.date: h for h in calendar.holidays.all()}
        for date, holiday in stored_holidays.items():
            if date not in spec.holidays:
                holiday.delete()
                plan.changed = True
            elif holiday.name != spec.holidays[date]:
                holiday.name = spec.holidays[date]
                holiday.save(update_fields=["name"])
                plan.changed = True
        for date, name in spec.holidays.items():
            if date not in stored_holidays:
                Holiday.objects.create(calendar=calendar, date=date, name=name)
                plan.changed = True
        self.counts["calendars"].add(is_new=plan.is_new, changed=plan.changed)

    def departments_parents_first(self) -> list[_Plan]:
        ordered: list[_Plan] = []
        placed: set[str] = set()

        def place(slug: str) -> None:
            if slug in placed or slug not in self.planner.departments:
                return
            placed.add(slug)
            plan = self.planner.departments[slug]
            if plan.spec.parent:
                place(plan.spec.parent)
            ordered.append(plan)

        for slug in self.planner.departments:
            place(slug)
        return ordered

    def password_hash(self, password: str | None) -> str | None:
        if password is not None:
            return make_password(password)
        if self.default_password is None:
            return None
        # Hashing is slow on purpose; the shared demo password is hashed once per import.
        if self._default_hash is None:
            self._default_hash = make_password(self.default_password)
        return self._default_hash

    def save_person(self, plan: _Plan) -> None:
        user, spec = plan.instance, plan.spec
        if plan.is_new:
            encoded = self.password_hash(plan.extra.get("password"))
            if encoded is None:
                user.set_unusable_password()
            else:
                user.password = encoded
        elif "password" in plan.extra:
            user.set_password(plan.extra["password"])
        if plan.is_new or plan.changed:
            user.save()
        if plan.extra["hr_change"]:
            group, _ = Group.objects.get_or_create(name=HR_GROUP)
            if spec.is_hr:
                user.groups.add(group)
            else:
                user.groups.remove(group)
        self.counts["people"].add(is_new=plan.is_new, changed=plan.changed)

        memberships = self.planner.memberships.get(spec.username, [])
        listed = [membership.instance.department.pk for membership in memberships]
        # The file names the primary department; a primary elsewhere steps down first so
        # that the one-primary constraint holds at every statement.
        if not plan.is_new:
            stepped_down = (
                Membership.objects.filter(user=user, is_primary=True)
                .exclude(department_id__in=listed)
                .update(is_primary=False)
            )
            self.counts["memberships"].updated += stepped_down
        for membership in sorted(memberships, key=lambda m: m.instance.is_primary):
            self.save("memberships", membership)


# -- The service ------------------------------------------------------------------------


def org_import(
    *,
    data_text: str,
    source_name: str,
    dry_run: bool = False,
    default_password: str | None = None,
) -> ImportReport:
    """Create or update the organisation described by a YAML or JSON text, all or nothing.

    Raises `OrgImportError` listing every problem (with line numbers) and changes nothing
    when the file is not valid. `default_password` is given to newly created users whose
    entry has no password; without it they get an unusable password. `dry_run` checks and
    counts everything, then rolls back.
    """
    root = _parse(data_text=data_text, source_name=source_name)
    reader = _Reader()
    organisation = reader.organisation(root)
    # Resolve and validate even after problems in the reading, so that one run reports
    # every problem of the file.
    planner = _Planner(reader, organisation)
    planner.run()
    if reader.problems:
        raise OrgImportError(source_name=source_name, problems=reader.problems)

    report = ImportReport(source_name=source_name, dry_run=dry_run)
    try:
        with transaction.atomic():
            _Writer(planner, report, default_password).run()
            if dry_run:
                transaction.set_rollback(True)
    except DatabaseError as exc:
        # Validation should have caught this; the transaction has rolled back either way.
        problem = ImportProblem(None, "", f"the database refused the import: {exc}")
        raise OrgImportError(source_name=source_name, problems=[problem]) from exc
    return report
