"""What an HR quarterly report says, section by section, read from the quarter's snapshots.

The report shows the dashboards' data: the ScoreSnapshot rows of the quarter and of the
quarter before (for the changes), plus the relationship survey's hire-back counts and each
department's team pulse from the surveys app (as released by surveys/disclosure.py, never
recomputed). Each section is
a list of columns and a generator of rows, so a writer pulls rows one at a time: the rows
of the provider x customer pairs are streamed from the database, and only the figures the
report needs from the previous quarter are held in memory.

What a report says depends on its quarter's data only, never on the clock or on who asked:
its "generated at" is the latest computation of the quarter's snapshots, so that the same
snapshots always give the same file (see writers.py for the bytes).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings

from core.periods import Period, company_zone
from departments.choices import Priority
from departments.models import Department, Service
from surveys.choices import PULSE_LABELS
from surveys.disclosure import PROVIDER as PROVIDER_GROUP
from surveys.disclosure import PULSE_SCALE, Family, period_cells
from surveys.models import RelationshipSurvey
from surveys.selectors import department_pulse, hire_back_of

from ..figures import (
    BREAKDOWN_FIGURES,
    CUSTOMER,
    PROVIDER,
    REVIEW_FIGURES,
    figures_shown,
    kept_rate_text,
)
from ..models import ScoreSnapshot
from .columns import CHANGE_FIGURES, COUNT, FigureColumn, column_named, columns_for
from .selectors import snapshots_computed_at

NAME_WIDTH = 28
FIGURE_WIDTH = 16
BIGGEST_CHANGES = 5


@dataclass(frozen=True)
class Column:
    header: str
    number_format: str | None = None  # None: text
    width: float = FIGURE_WIDTH


@dataclass
class Section:
    """One sheet of the workbook, one CSV file of the zip."""

    slug: str  # the CSV file's name
    title: str  # the sheet's name (at most 31 characters)
    columns: list[Column]
    rows: Callable[[], Iterator[list]]
    frozen_columns: int = 1
    formats: tuple[str, ...] = ("xlsx", "csv")


@dataclass(frozen=True)
class ChartData:
    """Service score per provider department, this quarter and the previous one."""

    title: str
    section: str  # the slug of the section holding the data
    rows: int


def hidden_note() -> str:
    return f"hidden (fewer than {settings.ANONYMITY_MIN} answers)"


def _number(figures: dict, name: str):
    value = figures.get(name)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _figure_cells(column: FigureColumn, current: dict, previous: dict) -> list:
    value, before = _number(current, column.figure), _number(previous, column.figure)
    cells = [column.unit.show(value), column.unit.change(value, before)]
    if column.sample:
        cells.append(_number(current, column.sample))
    return cells


def _figure_columns(columns: list[FigureColumn]) -> list[Column]:
    result = []
    for column in columns:
        result.append(Column(column.header, column.unit.number_format))
        result.append(Column(column.change_header, column.unit.change_format))
        if column.sample:
            result.append(Column(column.sample_header, COUNT.number_format))
    return result


@dataclass
class ReportContent:
    """The sections of the report of a quarter."""

    period: Period
    methodology_version: str
    previous: Period = field(init=False)

    def __post_init__(self):
        self.previous = self.period.previous()
        self.departments = {
            d.pk: d for d in Department.objects.only("pk", "name", "code", "is_provider")
        }
        self.current_figures = self._department_figures(self.period.key)
        self.previous_figures = self._department_figures(self.previous.key)
        self.figures_computed_at = snapshots_computed_at(period_key=self.period.key)
        self.previous_computed_at = snapshots_computed_at(period_key=self.previous.key)

    @property
    def generated_at(self) -> datetime.datetime | None:
        """When the report says it was made: the latest computation of the quarter's
        snapshots (None without any), not the moment the file is written."""
        return self.figures_computed_at

    # --- reading --------------------------------------------------------------------------

    @staticmethod
    def _department_figures(period_key: str) -> dict[tuple[str, int], dict]:
        rows = ScoreSnapshot.objects.filter(period=period_key, counterpart__isnull=True)
        return {
            (row.role, row.department_id): figures_shown(row.figures) for row in rows.iterator()
        }

    def _sorted(self, ids) -> list[Department]:
        return sorted((self.departments[i] for i in ids if i in self.departments), key=_by_name)

    def provider_departments(self) -> list[Department]:
        ids = {pk for pk, d in self.departments.items() if d.is_provider}
        ids |= {pk for (role, pk), f in self.current_figures.items() if role == PROVIDER and f}
        ids |= {pk for (role, pk), f in self.previous_figures.items() if role == PROVIDER and f}
        return self._sorted(ids)

    def _figures(self, role: str, department_id: int, previous: bool = False) -> dict:
        source = self.previous_figures if previous else self.current_figures
        return source.get((role, department_id)) or {}

    # --- sections -------------------------------------------------------------------------

    def sections(self) -> list[Section]:
        return [
            self.about_section(),
            self.biggest_changes_section(),
            self.department_section(PROVIDER),
            self.department_section(CUSTOMER),
            self.services_section(),
            self.priorities_section(),
            self.pairs_section(),
            self.matrix_section(),
            self.hire_back_section(),
            self.pulse_section(),
            self.reviews_section(),
            self.chart_section(),
        ]

    def about_section(self) -> Section:
        zone = company_zone()
        last_day = self.period.next_first_day - datetime.timedelta(days=1)

        def when(moment):
            return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if moment else "never"

        weights = ", ".join(f"{name} {value:g}" for name, value in settings.SCORE_WEIGHTS.items())
        rows = [
            ["Report", "HR quarterly report: every department's service level"],
            [
                "Quarter",
                f"{self.period.key}: {self.period.first_day:%d %b %Y} to {last_day:%d %b %Y} "
                f"({settings.TIME_ZONE})",
            ],
            ["Compared with", self.previous.key],
            [
                "Generated at",
                f"{when(self.generated_at)}: when the figures of {self.period.key} were last "
                "computed (the latest of its snapshots), not when this file was written, so "
                "that the same snapshots always give the same file.",
            ],
            ["Methodology version of the score definitions", self.methodology_version],
            ["Service score weights", weights],
            [
                "Agreements kept",
                "A provider's agreement with a customer (or with every customer), all its "
                "versions, is kept in a quarter when its first responses and its resolutions "
                f"each met the agreed targets at least {kept_rate_text()} of the time; each "
                "request counts under the version in effect when it was filed, and an "
                "agreement no request settled under in the quarter counts neither way.",
            ],
            [f"Figures of {self.period.key} computed at", when(self.figures_computed_at)],
            [f"Figures of {self.previous.key} computed at", when(self.previous_computed_at)],
            [
                "Times",
                "Business hours in the provider's business calendar (working hours and "
                "holidays), one decimal.",
            ],
            [
                "Rates",
                "Percentages with one decimal; a change of a rate is in percentage points. "
                "Each rate comes with the count it is based on.",
            ],
            [
                "Changes",
                f"This quarter minus {self.previous.key}, blank when either quarter has no figure.",
            ],
            [
                "Hire-back",
                "% yes minus % no to 'would you keep this department?', from -100 to 100. "
                f"Any figure from fewer than {settings.ANONYMITY_MIN} answers is hidden: "
                f"blank in the department sheets, '{hidden_note()}' in the Hire-back sheet.",
            ],
            ["Blank cells", "No data for that figure in the quarter, or hidden as above."],
            [
                "Reviews",
                "Counts only, never what a review says: reviews opened and closed in the "
                "quarter, and the actions a department owns in them (due in the quarter or "
                "done in it, done by their due day, and open past it at the quarter's end). "
                "A department counts as provider where it gave the reviewed service or a "
                "blocking request, as customer where it asked. Counts of what departments "
                "did, not survey answers: no anonymity threshold applies.",
            ],
            [
                "Provider and customer",
                "Providers: the service a department gave. Customers: the service it "
                "received, how quickly its requesters answered and how good its requests were.",
            ],
            [
                "Fingerprint",
                "servicedesk records the sha256 of this file and shows it on the Reports page "
                "and in the API. The file depends only on the snapshots (not on when it was "
                "written, nor who asked: that is recorded beside it), so regenerating it from "
                "the same snapshots gives the same bytes and the same sha256 "
                "(manage.py verify_report): the sha256 proves both that the file is unchanged "
                "and that it reproduces.",
            ],
        ]
        return Section(
            slug="about",
            title="About",
            columns=[Column("Item", width=40), Column("Value", width=100)],
            rows=lambda: iter(rows),
        )

    def department_section(self, role: str) -> Section:
        columns = columns_for(role)
        if role == PROVIDER:
            departments = self.provider_departments()
            title, slug = "Providers", "providers"
        else:
            departments = self._sorted(self.departments)
            title, slug = "Customers", "customers"

        def rows():
            for department in departments:
                current = self._figures(role, department.pk)
                previous = self._figures(role, department.pk, previous=True)
                row = [department.name, department.code]
                for column in columns:
                    row += _figure_cells(column, current, previous)
                yield row

        return Section(
            slug=slug,
            title=title,
            columns=[
                Column("Department", width=NAME_WIDTH),
                Column("Code", width=8),
                *_figure_columns(columns),
            ],
            rows=rows,
            frozen_columns=2,
        )

    def biggest_changes(self) -> list[dict]:
        """The largest changes of service score and timeliness from the previous quarter."""
        changes = []
        for department in self.provider_departments():
            current = self._figures(PROVIDER, department.pk)
            previous = self._figures(PROVIDER, department.pk, previous=True)
            for name in CHANGE_FIGURES:
                column = column_named(name)
                change = column.unit.change(current.get(name), previous.get(name))
                if change is None:
                    continue
                changes.append(
                    {
                        "department": department,
                        "column": column,
                        "previous": column.unit.show(previous.get(name)),
                        "current": column.unit.show(current.get(name)),
                        "change": change,
                    }
                )
        changes.sort(
            key=lambda c: (-abs(c["change"]), _by_name(c["department"]), c["column"].label)
        )
        return changes[:BIGGEST_CHANGES]

    def biggest_changes_section(self) -> Section:
        def rows():
            for rank, change in enumerate(self.biggest_changes(), 1):
                column = change["column"]
                yield [
                    rank,
                    change["department"].name,
                    f"{column.label} ({column.unit.name})",
                    change["previous"],
                    change["current"],
                    change["change"],
                ]

        return Section(
            slug="biggest-changes",
            title="Biggest changes",
            columns=[
                Column("Rank", "0", width=6),
                Column("Department (as provider)", width=NAME_WIDTH),
                Column("Figure", width=30),
                Column(f"{self.previous.key}", "0.0"),
                Column(f"{self.period.key}", "0.0"),
                Column("Change (points)", "+0.0;-0.0;0.0"),
            ],
            rows=rows,
            frozen_columns=2,
        )

    def _breakdown_rows(self, name: str, label_of, order_of) -> Iterator[list]:
        """(provider, item) rows of a breakdown stored on the provider snapshots."""
        columns = columns_for(PROVIDER, BREAKDOWN_FIGURES)
        for department in self.provider_departments():
            current = (self._figures(PROVIDER, department.pk).get(name)) or {}
            previous = (self._figures(PROVIDER, department.pk, previous=True).get(name)) or {}
            if not isinstance(current, dict) or not isinstance(previous, dict):
                continue
            keys = sorted(set(current) | set(previous), key=order_of)
            for key in keys:
                item = current.get(key) or {}
                row = [department.name, label_of(key, item or previous.get(key) or {})]
                for column in columns:
                    row += _figure_cells(column, item, previous.get(key) or {})
                yield row

    def _breakdown_section(self, slug, title, item_header, rows) -> Section:
        return Section(
            slug=slug,
            title=title,
            columns=[
                Column("Provider", width=NAME_WIDTH),
                Column(item_header, width=NAME_WIDTH),
                *_figure_columns(columns_for(PROVIDER, BREAKDOWN_FIGURES)),
            ],
            rows=rows,
            frozen_columns=2,
        )

    def services_section(self) -> Section:
        """Each provider's figures per service (`by_service` of compute.breakdown_figures)."""

        def rows():
            names = dict(Service.objects.values_list("pk", "name"))

            def label(key, item):
                try:
                    return names.get(int(key)) or item.get("name") or f"Service {key}"
                except ValueError:
                    return item.get("name") or str(key)

            yield from self._breakdown_rows(
                "by_service",
                label,
                lambda key: (label(key, {}).casefold(), key),
            )

        return self._breakdown_section("services", "Services", "Service", rows)

    def priorities_section(self) -> Section:
        """Each provider's figures per priority (`by_priority`), urgent first."""
        labels = dict(Priority.choices)
        order = {value: index for index, value in enumerate(reversed(Priority.values))}

        def rows():
            yield from self._breakdown_rows(
                "by_priority",
                lambda key, item: labels.get(key) or item.get("name") or key,
                lambda key: (order.get(key, len(order)), key),
            )

        return self._breakdown_section("priorities", "Priorities", "Priority", rows)

    def _pair_rows(self, period_key: str, role: str):
        return (
            ScoreSnapshot.objects.filter(period=period_key, role=role, counterpart__isnull=False)
            .order_by("department__name", "counterpart__name", "pk")
            .values_list("department_id", "counterpart_id", "figures")
        )

    def _pair_columns(self) -> list[FigureColumn]:
        # Not per pair: the weakest-link totals (per department), and hire-back, whose pairs
        # a reader could subtract from the department's figure to uncover a customer's
        # answers under the anonymity threshold (the Hire-back sheet has it per provider).
        left_out = ("blocked_by_late_seconds", "caused_delay_seconds", "hire_back")
        provider_columns = [c for c in columns_for(PROVIDER) if c.figure not in left_out]
        return [*provider_columns, column_named("customer_responsiveness_seconds")]

    def pairs_section(self) -> Section:
        columns = self._pair_columns()
        customer_names = {"customer_responsiveness_seconds", "customer_responsiveness_n"}
        provider_names = {c.figure for c in columns} | {c.sample for c in columns if c.sample}
        provider_names -= customer_names

        def kept(figures: dict, names: set[str]) -> dict:
            return {k: v for k, v in figures.items() if k in names and v is not None}

        def side(period_key: str, role: str) -> Iterator[tuple[tuple[int, int], dict]]:
            """((provider, customer), the figures shown) of one side of the pairs."""
            names = provider_names if role == PROVIDER else customer_names
            for department, counterpart, figures in self._pair_rows(period_key, role).iterator(
                chunk_size=2000
            ):
                pair = (department, counterpart) if role == PROVIDER else (counterpart, department)
                yield pair, kept(figures_shown(figures), names)

        def rows():
            # The customer's side of a pair (its answering time) and the previous quarter are
            # held in memory, only the figures shown; the quarter's pairs are streamed.
            customer_side = dict(side(self.period.key, CUSTOMER))
            previous: dict[tuple[int, int], dict] = {}
            for role in (PROVIDER, CUSTOMER):
                for pair, figures in side(self.previous.key, role):
                    previous.setdefault(pair, {}).update(figures)

            def row(pair: tuple[int, int], provider_figures: dict) -> list:
                current = {**provider_figures, **customer_side.get(pair, {})}
                cells = [self.departments[pair[0]].name, self.departments[pair[1]].name]
                for column in columns:
                    cells += _figure_cells(column, current, previous.get(pair, {}))
                return cells

            seen = set()
            for pair, figures in side(self.period.key, PROVIDER):
                if pair[0] in self.departments and pair[1] in self.departments:
                    seen.add(pair)
                    yield row(pair, figures)
            # Pairs with only a customer's side (its requesters answered, nothing settled).
            rest = [
                pair
                for pair in customer_side
                if pair not in seen and pair[0] in self.departments and pair[1] in self.departments
            ]
            rest.sort(
                key=lambda p: (_by_name(self.departments[p[0]]), _by_name(self.departments[p[1]]))
            )
            for pair in rest:
                yield row(pair, {})

        return Section(
            slug="pairs",
            title="Provider x customer",
            columns=[
                Column("Provider", width=NAME_WIDTH),
                Column("Customer", width=NAME_WIDTH),
                *_figure_columns(columns),
            ],
            rows=rows,
            frozen_columns=2,
        )

    def matrix_section(self) -> Section:
        """The service score of every provider (rows) for every customer (columns)."""
        column = column_named("service_score")
        scores: dict[tuple[int, int], float | None] = {}
        for provider, customer, figures in self._pair_rows(self.period.key, PROVIDER).iterator(
            chunk_size=2000
        ):
            scores[(provider, customer)] = column.unit.show(figures.get("service_score"))
        providers = self._sorted({p for p, _ in scores})
        customers = self._sorted({c for _, c in scores})

        def rows():
            for provider in providers:
                yield [provider.name] + [scores.get((provider.pk, c.pk)) for c in customers]

        return Section(
            slug="matrix",
            title="Matrix of service scores",
            columns=[
                Column("Provider \\ customer: service score (0-100)", width=NAME_WIDTH + 8),
                *(Column(c.name, column.unit.number_format) for c in customers),
            ],
            rows=rows,
        )

    def hire_back_section(self) -> Section:
        hire_back = column_named("hire_back")
        surveys = set(
            RelationshipSurvey.objects.filter(
                quarter__in=[self.period.key, self.previous.key]
            ).values_list("quarter", flat=True)
        )
        released = {
            quarter: period_cells(Family.RELATIONSHIP, quarter)
            for quarter in (self.period, self.previous)
        }

        def figures_for(quarter, provider: Department):
            # The released figures (surveys/disclosure.py), as every page shows them.
            if quarter.key not in surveys:
                return None
            return hire_back_of(released[quarter].get(PROVIDER_GROUP, provider=provider.pk))

        def rows():
            for provider in self.provider_departments():
                current = figures_for(self.period, provider)
                previous = figures_for(self.previous, provider)
                if current is None:
                    note, shown = f"no relationship survey for {self.period.key}", None
                elif current.respondents == 0:
                    note, shown = "no answers", None
                elif current.hidden:
                    note, shown = hidden_note(), None
                else:
                    note, shown = "", current
                previous_score = previous.score if previous and not previous.hidden else None
                score = shown.score if shown else None
                yield [
                    provider.name,
                    current.respondents if current is not None else None,
                    shown.yes if shown else None,
                    shown.unsure if shown else None,
                    shown.no if shown else None,
                    hire_back.unit.show(score),
                    hire_back.unit.change(score, previous_score),
                    note,
                ]

        return Section(
            slug="hire-back",
            title="Hire-back",
            columns=[
                Column("Provider", width=NAME_WIDTH),
                Column("Answers (count)", "0"),
                Column("Would keep: yes (count)", "0"),
                Column("Not sure (count)", "0"),
                Column("Would not keep: no (count)", "0"),
                Column(hire_back.header, hire_back.unit.number_format, width=20),
                Column(
                    f"{hire_back.label}: change from {self.previous.key} "
                    f"({hire_back.unit.change_unit})",
                    hire_back.unit.change_format,
                ),
                Column("Note", width=34),
            ],
            rows=rows,
        )

    def pulse_section(self) -> Section:
        """Each department's team pulse of the quarter against the quarter before, as
        released (whole quarters, once the survey closed; a withheld figure stays empty)."""

        def rows():
            for department in self._sorted(self.departments):
                previous, current = department_pulse(
                    department=department, last=self.period, length=2
                )
                if not current.released:
                    note = f"not released for {self.period.key}"
                elif current.answered == 0:
                    note = "no answers"
                elif current.hidden:
                    note = hidden_note()
                else:
                    note = ""
                row = [department.name, current.invited, current.answered]
                for question in PULSE_LABELS:
                    value = current.figures[question].value
                    before = previous.figures[question].value
                    row += [
                        None if value is None else round(value, 2),
                        None if value is None or before is None else round(value - before, 2),
                    ]
                for question in PULSE_LABELS:
                    distribution = (current.distributions or {}).get(question) or {}
                    row += [distribution.get(rating) for rating in PULSE_SCALE]
                yield [*row, note]

        means = []
        for label in PULSE_LABELS.values():
            means += [
                Column(f"{label} (mean, 1-5)", "0.00"),
                Column(f"{label}: change from {self.previous.key}", "+0.00;-0.00;0.00"),
            ]
        return Section(
            slug="team-pulse",
            title="Team pulse",
            columns=[
                Column("Department", width=NAME_WIDTH),
                Column("Members asked (count)", "0"),
                Column("Answers (count)", "0"),
                *means,
                *(
                    Column(f"{label} {rating} (count)", "0")
                    for label in PULSE_LABELS.values()
                    for rating in PULSE_SCALE
                ),
                Column("Note", width=34),
            ],
            rows=rows,
        )

    def reviews_section(self) -> Section:
        """Each department's review counts of the quarter, as provider and as customer,
        from its snapshots (REVIEW_FIGURES): counts only, never a review's title, section or
        action text, whoever the report is for. A department and side with no review nor
        action counted has no row."""
        sides = ((PROVIDER, "Provider"), (CUSTOMER, "Customer"))

        def rows():
            for department in self._sorted(self.departments):
                for role, label in sides:
                    figures = self._figures(role, department.pk)
                    counts = [_number(figures, name) for name in REVIEW_FIGURES]
                    if all(count is None for count in counts):
                        continue
                    yield [department.name, department.code, label, *counts]

        return Section(
            slug="reviews",
            title="Reviews",
            columns=[
                Column("Department", width=NAME_WIDTH),
                Column("Code", width=8),
                Column("Side", width=10),
                *(Column(f"{label} (count)", "0") for label in REVIEW_FIGURES.values()),
            ],
            rows=rows,
            frozen_columns=3,
        )

    def chart_rows(self) -> list[list]:
        column = column_named("service_score")
        rows = []
        for department in self.provider_departments():
            current = self._figures(PROVIDER, department.pk).get("service_score")
            previous = self._figures(PROVIDER, department.pk, previous=True).get("service_score")
            if current is None and previous is None:
                continue
            rows.append([department.name, column.unit.show(current), column.unit.show(previous)])
        return rows

    def chart_section(self) -> Section:
        score = column_named("service_score")
        rows = self.chart_rows()
        self.chart = ChartData(
            title=(
                f"Service score per department (0-100), {self.period.key} and {self.previous.key}"
            ),
            section="chart",
            rows=len(rows),
        )
        return Section(
            slug="chart",
            title="Chart",
            columns=[
                Column("Department (as provider)", width=NAME_WIDTH),
                *(
                    Column(f"{score.label} {key} ({score.unit.name})", score.unit.number_format)
                    for key in (self.period.key, self.previous.key)
                ),
            ],
            rows=lambda: iter(rows),
            formats=("xlsx",),
        )


def _by_name(department: Department) -> tuple[str, int]:
    return (department.name.casefold(), department.pk)
