"""The attacker's view of the survey figures: everything that is shown of a quarter, and the
small groups of answers it gives away (`manage.py audit_anonymity`).

It reads what the readers show, not how they were decided: the scorecards (as the pages, the
API and the HR reports read them, through `figures_shown`) for the quarter, its months and
its weeks, the survey results of every department as HR sees them, and every department's
team pulse as HR sees it (the widest view: a department's members see only their own).
Each shown figure is the total of a known set of answers (those of its department or pair in
its period); the answers are split into atoms (answers that every shown figure treats
alike), and
`core.disclosure.small_groups` finds every group of fewer than ANONYMITY_MIN answers that
some sum or difference of the shown figures isolates.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings

from core.disclosure import small_groups
from core.periods import MONTH, QUARTER, WEEK, Period, company_zone, period_for_date
from departments.models import Department
from surveys.choices import DIMENSIONS, PULSE_QUESTIONS
from surveys.models import PulseAnswer, RelationshipAnswer, RequestQualityRating, SurveyResponse
from surveys.selectors import department_pulse, department_survey_summary

from .choices import ScoreRole
from .figures import figures_shown
from .models import ScoreSnapshot


@dataclass(frozen=True)
class Answer:
    id: object
    provider: int
    customer: int
    at: object  # when answered or rated; None for the relationship survey
    given: frozenset  # the figures it has a value for


def _periods(quarter: Period) -> list[Period]:
    periods, day = [quarter], quarter.first_day
    for kind in (MONTH, WEEK):
        day = quarter.first_day
        while day < quarter.next_first_day:
            period = period_for_date(day, kind)
            periods.append(period)
            day = period.next_first_day
    return periods


def _answers(quarter: Period, periods: list[Period]) -> dict[str, list[Answer]]:
    start = min(p.start for p in periods)
    end = max(p.end for p in periods)
    request = [
        Answer(
            row["id"],
            row["survey__provider_department_id"],
            row["survey__requesting_department_id"],
            row["answered_at"],
            frozenset(["rating", *(f"{d}_mean" for d in DIMENSIONS if row[d] is not None)]),
        )
        for row in SurveyResponse.objects.filter(
            answered_at__gte=start, answered_at__lt=end
        ).values(
            "id",
            "survey__provider_department_id",
            "survey__requesting_department_id",
            "answered_at",
            *DIMENSIONS,
        )
    ]
    quality = [
        Answer(row["id"], row["provider_department_id"], row["requesting_department_id"],
               row["rated_at"], frozenset(["request_quality"]))
        for row in RequestQualityRating.objects.filter(
            rated_at__gte=start, rated_at__lt=end
        ).values("id", "provider_department_id", "requesting_department_id", "rated_at")
    ]  # fmt: skip
    relationship = [
        Answer(
            row["id"],
            row["provider_department_id"],
            row["customer_department_id"],
            None,
            frozenset(["hire_back", *(f"{d}_mean" for d in DIMENSIONS if row[d] is not None)]),
        )
        for row in RelationshipAnswer.objects.filter(survey__quarter=quarter.key).values(
            "id", "provider_department_id", "customer_department_id", *DIMENSIONS
        )
    ]
    # The team pulse: `provider` is the department the answer is about.
    pulse = [
        Answer(row["id"], row["department_id"], None, None, frozenset(PULSE_QUESTIONS))
        for row in PulseAnswer.objects.filter(survey__quarter=quarter.key).values(
            "id", "department_id"
        )
    ]
    return {
        "request": request,
        "quality": quality,
        "relationship": relationship,
        "pulse": pulse,
    }


# Snapshot figure -> (family, the figure of the family whose answers it sums). Only survey
# figures: the review counts (review_figures.py) and the service figures count what
# departments did, not what anyone answered, so no anonymity rule applies to them.
SNAPSHOT_FIGURES = {
    "csat": ("request", "rating"),
    "mean_rating": ("request", "rating"),
    **{f"{d}_mean": ("request", f"{d}_mean") for d in DIMENSIONS},
    "request_quality": ("quality", "request_quality"),
    "hire_back": ("relationship", "hire_back"),
}


THROUGH = {"request": "surveys_through", "quality": "request_quality_through"}


def shown_cells(quarter: Period) -> dict[tuple[str, str], list[frozenset]]:
    """(family, figure) -> the sets of answers (by id) of every shown figure of the quarter."""
    periods = _periods(quarter)
    answers = _answers(quarter, periods)
    cells: dict[tuple[str, str], list[frozenset]] = defaultdict(list)

    def add(family, figure, period, provider=None, customer=None, through=None):
        # A figure "through" a day holds the answers of its period up to that day.
        end = None
        if through:
            day = datetime.date.fromisoformat(through) + datetime.timedelta(days=1)
            end = datetime.datetime.combine(day, datetime.time(), tzinfo=company_zone())
        chosen = frozenset(
            a.id
            for a in answers[family]
            if figure in a.given
            and (provider is None or a.provider == provider)
            and (customer is None or a.customer == customer)
            and (a.at is None or period is None or period.contains(a.at))
            and (end is None or a.at < end)
        )
        cells[(family, figure)].append(chosen)

    by_key = {p.key: p for p in periods}
    for snapshot in ScoreSnapshot.objects.filter(period__in=by_key):
        period = by_key[snapshot.period]
        shown = figures_shown(snapshot.figures)
        provider, customer = snapshot.department_id, snapshot.counterpart_id
        if snapshot.role == ScoreRole.CUSTOMER:
            provider, customer = customer, provider
        for name, (family, figure) in SNAPSHOT_FIGURES.items():
            if shown.get(name) is None:
                continue
            if family == "relationship" and period.kind != QUARTER:
                continue
            through = shown.get(THROUGH.get(family, ""))
            add(family, figure, period, provider, customer, through)
    for department in Department.objects.all():
        summary = department_survey_summary(department=department, quarter=quarter)
        relationship = summary["relationship"]
        if relationship and relationship["survey"].quarter == quarter.key:
            rows = [(None, relationship["overall"])]
            rows += [(row["department"].pk, row["figures"]) for row in relationship["customers"]]
            for customer, figures in rows:
                if figures is None or figures.hidden:
                    continue
                add("relationship", "hire_back", None, department.pk, customer)
                for d, value in figures.dimensions.items():
                    if value.value is not None:
                        add("relationship", f"{d}_mean", None, department.pk, customer)
        quality = summary["request_quality"]
        if quality["request_quality"].value is not None:
            through = quality.get("through")
            add(
                "quality", "request_quality", quarter, None, department.pk, through and str(through)
            )
        request = summary["request_surveys"]
        if request and request.get("through"):
            # Answers given in the quarter up to `through` (before: surveys sent in it).
            through = str(request["through"])
            if request["mean_rating"].value is not None:
                add("request", "rating", quarter, department.pk, None, through)
            for d, value in request["dimensions"].items():
                if value.value is not None:
                    add("request", f"{d}_mean", quarter, department.pk, None, through)
        # Every quarter of the pulse trend that ends at this one shows this one's figures too;
        # reading the quarter alone reads them all.
        (pulse,) = department_pulse(department=department, last=quarter, length=1)
        for question, figure in pulse.figures.items():
            if figure.value is not None:
                add("pulse", question, None, department.pk, None)
    return cells


def derivable_groups(quarter: Period) -> dict[tuple[str, str], list[frozenset]]:
    """(family, figure) -> the groups of fewer than ANONYMITY_MIN answers that the shown
    figures of the quarter isolate, as sets of answer ids."""
    found = {}
    for key, cells in shown_cells(quarter).items():
        signature: dict[object, list[int]] = defaultdict(list)
        for index, cell in enumerate(cells):
            for answer in cell:
                signature[answer].append(index)
        atoms: dict[tuple, set] = defaultdict(set)
        for answer, indices in signature.items():
            atoms[tuple(indices)].add(answer)
        atom_of = {answer: sig for sig, members in atoms.items() for answer in members}
        sizes = {sig: len(members) for sig, members in atoms.items()}
        atom_cells = [{atom_of[a] for a in cell} for cell in cells]
        groups = small_groups(atom_cells, sizes, settings.ANONYMITY_MIN)
        if groups:
            found[key] = [frozenset().union(*(atoms[sig] for sig in g)) for g in groups]
    return found
