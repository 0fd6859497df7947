"""The survey figures servicedesk publishes, decided in one place.

The rule: no figure anyone can see (on a page, in the API, in an export) lets anyone work out
anything about fewer than ANONYMITY_MIN answers, alone or combined with any other published
figure. Three families of answers give figures:

- request surveys (`SurveyResponse`, by the month first answered): csat and mean rating, and
  the five dimension means; by provider, by customer and by pair;
- the provider's ratings of requests (`RequestQualityRating`, by the month rated): the
  customer's request_quality, by customer and by pair;
- the quarterly relationship survey (`RelationshipAnswer`): hire-back (yes, not sure, no) and
  the dimension means, by provider, by customer and by pair;
- the team pulse (`PulseAnswer`), asked with it: morale and collaboration, their means and
  distributions (how many gave each of 1-5), by department only (the whole department: no
  sub-teams, no divisions summing their departments, which subtraction would open), released
  with the relationship survey when it closes, never to date. A cell's `provider` is the
  department the pulse is about.

How it holds:

- Figures are published per month and per quarter, never per week (weeks straddle months and
  quarters, and would let months be cut into smaller pieces).
- Figures are published once answers are final, in *releases* that never change: a month's
  at its end plus the edit window of answers (RESPONSE_EDIT_DAYS), together with the quarter
  to date (the months released so far); the relationship survey's when it closes. A running
  period shows no survey figure, so no one can read a new answer off the difference between
  yesterday's figure and today's, and an answer changed after its release changes nothing.
- Each release decides which of its cells are shown with `core.disclosure.suppress`, over
  every cell released for the quarter before it (those stay as they were): cells under
  ANONYMITY_MIN answers are withheld, then more cells until no combination of shown cells
  (the whole minus its parts, the quarter minus its months, any longer sum) isolates fewer
  than ANONYMITY_MIN answers. Each figure is decided on its own answers: a dimension that
  fewer people answered can be withheld where the overall rating is shown.
- The scorecards (scorecards/survey_figures.py), the survey results page and API
  (selectors.department_survey_summary) and the HR reports read only `SurveyRelease` rows,
  through `cells_of` and `period_cells`. Counts of answers are shown even when a figure is
  withheld: they tell how many answered, not what.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, FloatField, Min, Q, Sum
from django.db.models.functions import Cast
from django.utils import timezone

from core.disclosure import suppress
from core.periods import MONTH, QUARTER, Period, parse_quarter, period_for_date, quarter_containing

from .choices import DIMENSIONS, PULSE_QUESTIONS, HireBack
from .models import (
    PulseAnswer,
    RelationshipAnswer,
    RelationshipSurvey,
    RequestQualityRating,
    SurveyResponse,
)
from .models import SurveyRelease as Release

Family = Release.Family
PROVIDER, CUSTOMER, PAIR = "provider", "customer", "pair"
DEPARTMENT = "department"  # the team pulse: a department about itself
PULSE_SCALE = (1, 2, 3, 4, 5)
# Answers can be changed for this many days (services.RESPONSE_EDIT_DAYS): a month is
# released once they are final.
SETTLE_DAYS = 7


@dataclass(frozen=True)
class Spec:
    """A family of answers: the groups it publishes, and its figures, each a count of
    answers and the totals shown with it (a withheld figure's totals are null)."""

    groups: tuple[str, ...]
    figures: dict[str, tuple[str, tuple[str, ...]]]  # figure -> (count, totals)
    monthly: bool


def _dimension_figures() -> dict:
    return {d: (f"{d}_n", (f"{d}_sum",)) for d in DIMENSIONS}


def _pulse_figures() -> dict:
    # Both questions are required: one count. The distribution is shown with the mean.
    return {
        question: ("n", (f"{question}_sum", *(f"{question}_{v}" for v in PULSE_SCALE)))
        for question in PULSE_QUESTIONS
    }


SPECS = {
    Family.REQUEST: Spec(
        groups=(PROVIDER, CUSTOMER, PAIR),
        figures={"rating": ("n", ("good", "sum")), **_dimension_figures()},
        monthly=True,
    ),
    Family.QUALITY: Spec(
        groups=(CUSTOMER, PAIR), figures={"request_quality": ("n", ("sum",))}, monthly=True
    ),
    Family.RELATIONSHIP: Spec(
        groups=(PROVIDER, CUSTOMER, PAIR),
        figures={"hire_back": ("n", HireBack.values), **_dimension_figures()},
        monthly=False,
    ),
    Family.PULSE: Spec(groups=(DEPARTMENT,), figures=_pulse_figures(), monthly=False),
}


def _dimension_totals() -> dict:
    totals = {}
    for d in DIMENSIONS:
        totals[f"{d}_n"] = Count(d)
        totals[f"{d}_sum"] = Sum(d)
    return totals


def _atoms(family: str, quarter: Period, months: list[Period]) -> dict[tuple, dict]:
    """(provider, customer, month index) -> totals of the family's answers; month index 0
    for the relationship survey."""
    found: dict[tuple, dict] = {}
    if family == Family.PULSE:
        rows = (
            PulseAnswer.objects.filter(survey__quarter=quarter.key)
            .values(d=F("department_id"))
            .order_by()
            .annotate(
                n=Count("id"),
                **{
                    name: aggregate
                    for question in PULSE_QUESTIONS
                    for name, aggregate in [
                        (f"{question}_sum", Sum(question)),
                        *(
                            (f"{question}_{v}", Count("id", filter=Q(**{question: v})))
                            for v in PULSE_SCALE
                        ),
                    ]
                },
            )
        )
        return {(row.pop("d"), None, 0): row for row in rows}
    if family == Family.RELATIONSHIP:
        rows = (
            RelationshipAnswer.objects.filter(survey__quarter=quarter.key)
            .values(p=F("provider_department_id"), c=F("customer_department_id"))
            .order_by()
            .annotate(
                n=Count("id"),
                **{value: Count("id", filter=Q(hire_back=value)) for value in HireBack.values},
                **_dimension_totals(),
            )
        )
        return {(row.pop("p"), row.pop("c"), 0): row for row in rows}
    for index, month in enumerate(months, start=1):
        if family == Family.REQUEST:
            rows = (
                SurveyResponse.objects.filter(
                    answered_at__gte=month.start, answered_at__lt=month.end
                )
                .values(
                    p=F("survey__provider_department_id"),
                    c=F("survey__requesting_department_id"),
                )
                .order_by()
                .annotate(
                    n=Count("id"),
                    good=Count("id", filter=Q(overall__gte=4)),
                    sum=Sum("overall"),
                    **_dimension_totals(),
                )
            )
        else:
            # One value per request: the mean of its two ratings, or clarity alone when the
            # provider had nothing to ask (see DESIGN.md, request_quality).
            rows = (
                RequestQualityRating.objects.filter(
                    rated_at__gte=month.start, rated_at__lt=month.end
                )
                .values(p=F("provider_department_id"), c=F("requesting_department_id"))
                .order_by()
                .annotate(
                    n=Count("id"),
                    paired=Sum(
                        Cast(F("clarity") + F("responsiveness"), FloatField()),
                        filter=Q(responsiveness__isnull=False),
                    ),
                    plain=Sum("clarity", filter=Q(responsiveness__isnull=True)),
                )
            )
        for row in rows:
            if family == Family.QUALITY:
                row["sum"] = (row.pop("paired") or 0) / 2 + (row.pop("plain") or 0)
            found[(row.pop("p"), row.pop("c"), index)] = row
    return found


def _group_key(group: str, atom: tuple) -> tuple:
    provider, customer, _ = atom
    if group == DEPARTMENT:
        return (group, provider, None)
    return (
        group,
        provider if group in (PROVIDER, PAIR) else None,
        customer if group in (CUSTOMER, PAIR) else None,
    )


def _spans(family: str, stage: int) -> list[tuple[int, ...]]:
    """The spans of months a stage publishes: the month, and the quarter to date."""
    if not SPECS[family].monthly:
        return [(0,)]
    month_only, to_date = (stage,), tuple(range(1, stage + 1))
    return [month_only] if stage == 1 else [month_only, to_date]


def months_of(quarter: Period) -> list[Period]:
    months = [period_for_date(quarter.first_day, MONTH)]
    while len(months) < 3:
        months.append(months[-1].next())
    return months


def _release(family: str, quarter: Period, stage: int, now) -> None:
    """Decide and store one release: its cells, each shown or withheld per figure, given
    every earlier release of the quarter."""
    spec = SPECS[family]
    earlier = list(Release.objects.filter(family=family, quarter=quarter.key, stage__lt=stage))
    months = months_of(quarter)[: max(stage, 1)] if spec.monthly else []
    atoms = _atoms(family, quarter, months)
    cells: dict[tuple, set] = defaultdict(set)
    spans = [span for s in range(1, stage + 1) for span in _spans(family, s)] or [(0,)]
    new_spans = set(_spans(family, stage))
    for atom in atoms:
        for group in spec.groups:
            for span in spans:
                if atom[2] in span:
                    cells[(*_group_key(group, atom), span)].add(atom)
    cells = {key: frozenset(value) for key, value in cells.items()}
    released = {
        (c["group"], c["provider"], c["customer"], tuple(c["months"])): c
        for release in earlier
        for c in release.cells
    }
    shown_by_figure = {}
    for figure, (count, totals) in spec.figures.items():
        sizes = {atom: values[count] for atom, values in atoms.items()}
        published = [k for k, c in released.items() if c["totals"].get(totals[0]) is not None]
        withheld = [k for k in released if k not in set(published)]
        shown_by_figure[figure] = suppress(
            {k: v for k, v in cells.items() if k[3] in new_spans or k in released},
            sizes,
            settings.ANONYMITY_MIN,
            published=published,
            withheld=withheld,
        )
    stored = []
    for key in sorted(cells, key=repr):
        group, provider, customer, span = key
        if span not in new_spans or key in released:
            continue
        sums: dict[str, float | int] = defaultdict(int)
        for atom in cells[key]:
            for name, value in atoms[atom].items():
                sums[name] += value or 0
        if not sums["n"]:
            continue
        values = {}
        for figure, (count, totals) in spec.figures.items():
            values[count] = sums[count]
            shown = key in shown_by_figure[figure] and sums[count] > 0
            for total in totals:
                values[total] = sums[total] if shown else None
        stored.append(
            {
                "group": group,
                "provider": provider,
                "customer": customer,
                "months": list(span) if spec.monthly else [],
                "totals": values,
            }
        )
    try:
        with transaction.atomic():
            Release.objects.create(
                family=family, quarter=quarter.key, stage=stage, released_at=now, cells=stored
            )
    except IntegrityError:
        pass  # a concurrent reader released it first, from the same answers


def release_date(family: str, quarter: Period, stage: int) -> datetime.datetime | None:
    """When a monthly stage is released: the month's end plus the edit window."""
    if not SPECS[family].monthly:
        return None
    return months_of(quarter)[stage - 1].end + datetime.timedelta(days=SETTLE_DAYS)


def _first_answer(family: str):
    if family == Family.REQUEST:
        return SurveyResponse.objects.aggregate(first=Min("answered_at"))["first"]
    return RequestQualityRating.objects.aggregate(first=Min("rated_at"))["first"]


def release_due(now=None) -> int:
    """Make every release that is due and not made yet, in order; returns how many were made.
    Idempotent, and safe to run from several processes at once."""
    now = now or timezone.now()
    existing = set(Release.objects.values_list("family", "quarter", "stage"))
    made = 0
    for family in (Family.REQUEST, Family.QUALITY):
        first = _first_answer(family)
        if first is None:
            continue
        quarter = quarter_containing(first)
        while quarter.start <= now:
            for stage in (1, 2, 3):
                if release_date(family, quarter, stage) > now:
                    break
                if (family, quarter.key, stage) not in existing:
                    _release(family, quarter, stage, now)
                    made += 1
            quarter = quarter.next()
    closed = RelationshipSurvey.objects.filter(
        Q(closed_at__isnull=False) | Q(closes_at__lte=now)
    ).values_list("quarter", flat=True)
    for key in sorted(closed):
        for family in (Family.RELATIONSHIP, Family.PULSE):
            if (family, key, 0) not in existing:
                _release(family, parse_quarter(key), 0, now)
                made += 1
    return made


def releases_of(family: str, quarter_key: str, *, now=None) -> list[Release]:
    """The releases of a quarter, oldest first, after making those that are due."""
    release_due(now)
    return list(Release.objects.filter(family=family, quarter=quarter_key).order_by("stage"))


def cells_of(family: str, quarter_key: str, *, now=None) -> list[dict]:
    """Every cell released for a quarter."""
    return [cell for release in releases_of(family, quarter_key, now=now) for cell in release.cells]


@dataclass(frozen=True)
class PeriodCells:
    """The cells a period shows, by (group, provider, customer): their totals; and the last
    day of the answers they hold (None when nothing is released for the period yet)."""

    cells: dict[tuple, dict]
    through: datetime.date | None

    def get(self, group: str, provider=None, customer=None) -> dict | None:
        return self.cells.get((group, provider, customer))


NOTHING = PeriodCells({}, None)


def period_cells(family: str, period: Period, *, now=None) -> PeriodCells:
    """What a month or a quarter shows of a family: a month its own release; a quarter the
    latest quarter to date (all three months once the last is released); the relationship
    survey and the team pulse their quarter only, once closed. Weeks show nothing."""
    if period.kind not in (MONTH, QUARTER):
        return NOTHING
    monthly = SPECS[family].monthly
    if not monthly and period.kind != QUARTER:
        return NOTHING
    quarter = quarter_containing(period.start)
    releases = releases_of(family, quarter.key, now=now)
    if not releases:
        return NOTHING
    months = months_of(quarter)
    if not monthly:
        span, last_day = [], quarter.next_first_day
    elif period.kind == MONTH:
        index = months.index(period) + 1
        if index > releases[-1].stage:
            return NOTHING
        span, last_day = [index], period.next_first_day
    else:
        stage = releases[-1].stage
        span, last_day = list(range(1, stage + 1)), months[stage - 1].next_first_day
    cells = {
        (c["group"], c["provider"], c["customer"]): c["totals"]
        for release in releases
        for c in release.cells
        if c["months"] == span
    }
    return PeriodCells(cells, last_day - datetime.timedelta(days=1))


def quarterly_cells(
    family: str, quarter_keys: list[str], *, now=None, make_due: bool = True
) -> dict[str, PeriodCells]:
    """What each quarter shows of a family released once per quarter (the relationship
    survey, the team pulse), for a trend: quarter key -> its cells (NOTHING before its
    release). One read of the releases for all of them; with `make_due` False, of those
    made already (a dashboard that only reads: compute_scores makes them every 15 minutes)."""
    if SPECS[family].monthly:
        raise ValueError(f"{family} is released by month: use period_cells.")
    if make_due:
        release_due(now)
    found = dict.fromkeys(quarter_keys, NOTHING)
    for release in Release.objects.filter(family=family, quarter__in=quarter_keys, stage=0):
        quarter = parse_quarter(release.quarter)
        cells = {(c["group"], c["provider"], c["customer"]): c["totals"] for c in release.cells}
        found[release.quarter] = PeriodCells(
            cells, quarter.next_first_day - datetime.timedelta(days=1)
        )
    return found
