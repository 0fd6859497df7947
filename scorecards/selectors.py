"""Reads for scorecards: who may see which scorecard, and the stored snapshots.

Who sees what (every page and API call goes through `scorecard_access`):
- HR (group `hr` or permission scorecards.view_all_scorecards): every department.
- Everybody else: the departments they belong to, in any role, both as provider and as
  customer. A pair (provider x customer) is visible with either of its departments, so the
  pair of two other departments never shows to a manager of a third.
- The matrix: HR in full; a manager sees the row of each department they manage (as
  provider) and its column (as customer), every other cell hidden. The organisation league
  table: HR and department managers. Nobody else sees either page.
- Agreements: how a provider did under its agreements (kept or not, the on-time rates) is a
  scorecard figure, shown as the scorecard is; every viewer of a matrix cell manages one of
  its two sides or is HR, so each visible cell marks its pair's agreements. An agreement's
  terms (its targets, its page) are shown beside the figures only to those who may see the
  agreement (`pair_agreements_visible`: departments.selectors.agreements_visible_to).

Dashboards only read snapshots: nothing here computes a figure.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q, QuerySet

from core.periods import Period, last_periods
from departments.choices import HR_GROUP, Role
from departments.models import AgreementTarget, Department, Membership
from departments.selectors import agreements_visible_to

from .choices import ScoreRole
from .figures import FIGURE, FIGURES, figures_shown, is_hidden, sample_of
from .models import ScoreSnapshot

PROVIDER, CUSTOMER = ScoreRole.PROVIDER.value, ScoreRole.CUSTOMER.value
VIEW_ALL_PERMISSION = "scorecards.view_all_scorecards"
MATRIX_FIGURES = tuple(figure.name for figure in FIGURES if figure.matrix_label)
# Every cell of the matrix marks the pair's agreements, kept or not, whatever the figure.
MATRIX_AGREEMENT_FIGURES = ("agreements_kept", "agreements_kept_n")


# --- access --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScorecardAccess:
    """What one user may see of the scorecards; decided once per request."""

    sees_all: bool = False
    member_of: frozenset[int] = frozenset()
    manages: frozenset[int] = frozenset()

    def sees_department(self, department_id: int) -> bool:
        return self.sees_all or department_id in self.member_of

    def sees_pair(self, provider_id: int, customer_id: int) -> bool:
        return self.sees_department(provider_id) or self.sees_department(customer_id)

    @property
    def sees_overview(self) -> bool:
        """The matrix and the organisation league table: HR and department managers."""
        return self.sees_all or bool(self.manages)

    def sees_matrix_cell(self, provider_id: int, customer_id: int) -> bool:
        return self.sees_all or provider_id in self.manages or customer_id in self.manages


def is_scorecard_hr(user) -> bool:
    """HR sees every department's scorecard."""
    if not user.is_authenticated:
        return False
    return user.has_perm(VIEW_ALL_PERMISSION) or user.groups.filter(name=HR_GROUP).exists()


def scorecard_access(*, user) -> ScorecardAccess:
    """The user's scorecard rights: HR, and the departments they belong to and manage."""
    if user is None or not user.is_authenticated:
        return ScorecardAccess()
    if is_scorecard_hr(user):
        return ScorecardAccess(sees_all=True)
    rows = list(
        Membership.objects.filter(user=user).order_by().values_list("department_id", "role")
    )
    return ScorecardAccess(
        member_of=frozenset(department_id for department_id, _ in rows),
        manages=frozenset(department_id for department_id, role in rows if role == Role.MANAGER),
    )


def departments_with_visible_scorecards(
    user, *, access: ScorecardAccess | None = None
) -> QuerySet[Department]:
    """Departments whose scorecards the user may see, by name (pass `access` if known)."""
    access = access or scorecard_access(user=user)
    departments = Department.objects.order_by("name")
    if access.sees_all:
        return departments
    return departments.filter(pk__in=access.member_of)


# --- snapshots -----------------------------------------------------------------------------


@dataclass
class Scorecard:
    """The figures of one department, role, period (and pair), as a reader may see them."""

    department: Department
    role: str
    period: str
    counterpart: Department | None = None
    computed_at: datetime.datetime | None = None
    figures: dict = field(default_factory=lambda: figures_shown(None))

    @property
    def has_data(self) -> bool:
        return self.computed_at is not None


def _snapshots(*, department, role, period_keys, counterpart=None) -> dict[str, ScoreSnapshot]:
    rows = ScoreSnapshot.objects.filter(
        department=department, role=role, period__in=period_keys, counterpart=counterpart
    )
    return {row.period: row for row in rows}


def _scorecard(department, role, key, counterpart, row) -> Scorecard:
    if row is None:
        return Scorecard(department=department, role=role, period=key, counterpart=counterpart)
    return Scorecard(
        department=department,
        role=role,
        period=key,
        counterpart=counterpart,
        computed_at=row.computed_at,
        figures=figures_shown(row.figures),
    )


def scorecard_get(
    *, department: Department, role: str, period: Period, counterpart: Department | None = None
) -> Scorecard:
    """One scorecard from its snapshot; every figure null (and no computed_at) without one."""
    return scorecard_history(
        department=department, role=role, periods=[period], counterpart=counterpart
    )[period.key]


def scorecard_history(
    *,
    department: Department,
    role: str,
    periods: list[Period],
    counterpart: Department | None = None,
) -> dict[str, Scorecard]:
    """Scorecards of several periods in one query, keyed by period key, in the given order."""
    keys = [period.key for period in periods]
    rows = _snapshots(department=department, role=role, period_keys=keys, counterpart=counterpart)
    return {key: _scorecard(department, role, key, counterpart, rows.get(key)) for key in keys}


def pair_scorecards(
    *, provider: Department, customer: Department, periods: list[Period]
) -> dict[tuple[str, str, str], Scorecard]:
    """Both directions of a pair, from both sides, for some periods, in one query.

    Keyed by (role, department slug, period key): the provider's snapshot of the customer,
    the customer's of the provider, and the same for the reverse direction.
    """
    keys = [period.key for period in periods]
    departments = {provider.pk: provider, customer.pk: customer}
    rows = ScoreSnapshot.objects.filter(
        department__in=[provider, customer],
        counterpart__in=[provider, customer],
        period__in=keys,
    )
    found = {(row.role, row.department_id, row.counterpart_id, row.period): row for row in rows}
    result = {}
    for department, other in ((provider, customer), (customer, provider)):
        for role in (PROVIDER, CUSTOMER):
            for key in keys:
                row = found.get((role, department.pk, other.pk, key))
                result[(role, department.slug, key)] = _scorecard(
                    departments[department.pk], role, key, departments[other.pk], row
                )
    return result


# What the pair page reads of an agreement to show its terms in business days.
AGREEMENT_TERMS = (
    Prefetch("targets", queryset=AgreementTarget.objects.select_related("service")),
    "calendar__working_hours",
    "calendar__holidays",
    "provider__calendar__working_hours",
    "provider__calendar__holidays",
)


def pair_agreements_visible(*, user, by_agreement_of: dict) -> dict[int, dict]:
    """The agreements a pair's snapshots measured ({serving department: its `by_agreement`})
    that the user may see, with their targets and calendars: {provider id: {(customer id or
    None, version): Agreement}}. Who may see one is departments.selectors'
    `agreements_visible_to` (the two sides' managers and HR); the rest see the figures
    only. No query when the snapshots measured none; a constant few when they did."""
    wanted = Q()
    for serving, by_agreement in by_agreement_of.items():
        for item in (by_agreement or {}).values():
            versions = item.get("versions") or []
            customer = item.get("customer")
            if versions:
                wanted |= Q(
                    provider_id=serving.pk,
                    version__in=versions,
                    **({"customer_id": customer} if customer is not None else {"customer": None}),
                )
    if not wanted:
        return {}
    found: dict[int, dict] = {}
    visible = agreements_visible_to(user).filter(wanted).prefetch_related(*AGREEMENT_TERMS)
    for agreement in visible:
        key = (agreement.customer_id, agreement.version)
        found.setdefault(agreement.provider_id, {})[key] = agreement
    return found


# --- the matrix ----------------------------------------------------------------------------


@dataclass
class MatrixCell:
    provider: Department
    customer: Department
    value: float | None = None
    n: int | None = None
    interval: list | None = None
    # Why there is no value: "not_visible", "anonymity" (too few answers), "no_data".
    reason: str | None = None
    # The pair's agreements measured in the period: the share kept and how many (None: no
    # agreement measured, or a cell the viewer may not see).
    agreements_kept: float | None = None
    agreements_n: int | None = None

    @property
    def hidden(self) -> bool:
        return self.reason in ("not_visible", "anonymity")


@dataclass
class Matrix:
    period: str
    figure: str
    providers: list[Department]
    customers: list[Department]
    rows: list[list[MatrixCell | None]]  # None on the diagonal


def matrix_get(*, period: Period, figure: str, access: ScorecardAccess) -> Matrix:
    """Providers x customers for one figure: two queries, whatever the organisation's size.

    Rows are the providers, columns every department; a cell the viewer may not see carries
    no figure at all, and a survey figure from too few answers is hidden for everybody.
    """
    if figure not in MATRIX_FIGURES:
        raise ValueError(f"The matrix shows one of: {', '.join(MATRIX_FIGURES)}.")
    departments = list(Department.objects.order_by("name"))
    providers = [department for department in departments if department.is_provider]
    wanted = list(
        dict.fromkeys(
            [figure, f"{figure}_interval", *FIGURE[figure].sample, *MATRIX_AGREEMENT_FIGURES]
        )
    )
    rows = ScoreSnapshot.objects.filter(
        period=period.key, role=PROVIDER, counterpart__isnull=False
    ).values("department_id", "counterpart_id", *(f"figures__{name}" for name in wanted))
    stored = {
        (row["department_id"], row["counterpart_id"]): {
            name: row[f"figures__{name}"] for name in wanted
        }
        for row in rows
    }
    grid = []
    for provider in providers:
        cells: list[MatrixCell | None] = []
        for customer in departments:
            if customer.pk == provider.pk:
                cells.append(None)
                continue
            cell = MatrixCell(provider=provider, customer=customer)
            figures = stored.get((provider.pk, customer.pk), {})
            if not access.sees_matrix_cell(provider.pk, customer.pk):
                cell.reason = "not_visible"
                cells.append(cell)
                continue
            if figures.get("agreements_kept_n"):
                cell.agreements_kept = figures.get("agreements_kept")
                cell.agreements_n = figures["agreements_kept_n"]
            if is_hidden(figures, figure):
                cell.reason = "anonymity"
            elif figures.get(figure) is None:
                cell.reason = "no_data"
                cell.n = sample_of(figures, figure)
            else:
                cell.value = figures[figure]
                cell.n = sample_of(figures, figure)
                cell.interval = figures.get(f"{figure}_interval")
            cells.append(cell)
        grid.append(cells)
    return Matrix(
        period=period.key, figure=figure, providers=providers, customers=departments, rows=grid
    )


# --- the organisation league table --------------------------------------------------------


@dataclass
class LeagueRow:
    department: Department
    service_score: float | None
    timeliness: float | None
    timeliness_n: int | None
    rank: int | None
    previous_rank: int | None
    trend: list[tuple[str, float | None]]  # (period key, service score), oldest first

    @property
    def rank_change(self) -> int | None:
        """Places gained since the previous period (positive: up)."""
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank


def _ranks(scores: dict[int, float | None]) -> dict[int, int]:
    """Competition ranking (1, 2, 2, 4) of departments by score, highest first."""
    ordered = sorted((score for score in scores.values() if score is not None), reverse=True)
    return {pk: 1 + ordered.index(score) for pk, score in scores.items() if score is not None}


def league_get(*, period: Period, length: int = 8) -> list[LeagueRow]:
    """Provider departments by service score, with rank change and the last `length`
    periods' scores: two queries."""
    periods = last_periods(period, length)
    keys = [p.key for p in periods]
    previous_key = period.previous().key
    providers = list(Department.objects.filter(is_provider=True).order_by("name"))
    rows = ScoreSnapshot.objects.filter(
        role=PROVIDER, counterpart__isnull=True, period__in=[*keys, previous_key]
    ).values(
        "department_id",
        "period",
        "figures__service_score",
        "figures__timeliness",
        "figures__timeliness_n",
    )
    stored = {(row["department_id"], row["period"]): row for row in rows}

    def figure(department, key, name):
        row = stored.get((department.pk, key))
        return row[f"figures__{name}"] if row else None

    ranks = _ranks({d.pk: figure(d, period.key, "service_score") for d in providers})
    previous_ranks = _ranks({d.pk: figure(d, previous_key, "service_score") for d in providers})
    league = [
        LeagueRow(
            department=department,
            service_score=figure(department, period.key, "service_score"),
            timeliness=figure(department, period.key, "timeliness"),
            timeliness_n=figure(department, period.key, "timeliness_n"),
            rank=ranks.get(department.pk),
            previous_rank=previous_ranks.get(department.pk),
            trend=[(key, figure(department, key, "service_score")) for key in keys],
        )
        for department in providers
    ]
    league.sort(key=lambda row: (row.rank is None, row.rank or 0, row.department.name))
    return league
