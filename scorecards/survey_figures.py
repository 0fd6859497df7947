"""Survey figures of the scorecards, with the same grouped aggregates as compute.py.

- csat, mean_rating and the five dimension means: per-request survey answers first given in
  the period (`answered_at`), for the department that provided the service.
- response_rate: of the per-request surveys sent in the period, the share answered.
- hire_back: (% yes - % no) over the relationship survey of the quarter; quarters only.
  Under ANONYMITY_MIN answers it is not stored at all (only the count is).
- request_quality (customer side): mean of the provider's ratings of the customer's
  requests (clarity, and responsiveness when rated), rated in the period.
"""

from collections import defaultdict

from django.conf import settings
from django.db.models import Case, F, FloatField, Q, When

from core.periods import QUARTER, Period
from surveys.choices import DIMENSIONS, HireBack
from surveys.models import RelationshipAnswer, RequestQualityRating, RequestSurvey, SurveyResponse

from .compute import CUSTOMER, ROLE_SETS, Figures, flag_rate_figures, keyed_rows
from .grouping import AVG, COUNT, Measure, flag, grouped_aggregates
from .stats import rate_figures


def request_survey_figures(period: Period, now) -> Figures:
    """csat, mean rating and dimensions of the answers given in the period; response rate of
    the surveys sent in it."""
    figures: Figures = defaultdict(dict)
    answers = SurveyResponse.objects.filter(
        answered_at__gte=period.start, answered_at__lt=period.end
    ).values(
        "overall",
        *DIMENSIONS,
        provider=F("survey__provider_department_id"),
        customer=F("survey__requesting_department_id"),
        good=flag(Q(overall__gte=4)),
    )
    measures = {
        "n": Measure(COUNT),
        "good": Measure(COUNT, where="good"),
        "mean": Measure(AVG, "overall"),
        **{f"{d}_mean": Measure(AVG, d) for d in DIMENSIONS},
        **{f"{d}_n": Measure(COUNT, d) for d in DIMENSIONS},
    }
    groups = grouped_aggregates(answers, sets=list(ROLE_SETS), measures=measures)
    for key, row in keyed_rows(groups, ROLE_SETS):
        values = figures[key]
        values.update(rate_figures("csat", row["good"], row["n"]))
        values["mean_rating"] = row["mean"]
        values["mean_rating_n"] = row["n"]
        for dimension in DIMENSIONS:
            values[f"{dimension}_mean"] = row[f"{dimension}_mean"]
            values[f"{dimension}_mean_n"] = row[f"{dimension}_n"]

    sent = RequestSurvey.objects.filter(sent_at__gte=period.start, sent_at__lt=period.end)
    return flag_rate_figures(figures, sent, "response_rate", Q(response__isnull=False))


def _suppressed_pairs(pair_counts: dict[tuple[int, int], int], minimum: int) -> set:
    """Pairs whose hire-back must not be shown: those under the threshold, and enough of
    their siblings that a department total minus the shown pairs never reveals fewer than
    `minimum` answers (complementary suppression, per provider and per customer)."""
    hidden = {pair for pair, n in pair_counts.items() if n < minimum}
    changed = True
    while changed:
        changed = False
        for side in (0, 1):
            groups = defaultdict(list)
            for pair in pair_counts:
                groups[pair[side]].append(pair)
            for pairs in groups.values():
                hidden_total = sum(pair_counts[p] for p in pairs if p in hidden)
                shown = sorted((p for p in pairs if p not in hidden), key=pair_counts.get)
                if 0 < hidden_total < minimum and shown:
                    hidden.add(shown[0])
                    changed = True
    return hidden


def hire_back_figures(period: Period, now) -> Figures:
    figures: Figures = defaultdict(dict)
    if period.kind != QUARTER:
        return figures
    minimum = settings.ANONYMITY_MIN
    answers = RelationshipAnswer.objects.filter(survey__quarter=period.key).values(
        provider=F("provider_department_id"),
        customer=F("customer_department_id"),
        yes=flag(Q(hire_back=HireBack.YES)),
        no=flag(Q(hire_back=HireBack.NO)),
    )
    groups = grouped_aggregates(
        answers,
        sets=list(ROLE_SETS),
        measures={
            "n": Measure(COUNT),
            "yes": Measure(COUNT, where="yes"),
            "no": Measure(COUNT, where="no"),
        },
    )
    pair = ("provider", "customer")
    suppressed = _suppressed_pairs(
        {(r["provider"], r["customer"]): r["n"] for r in groups[pair]}, minimum
    )
    for grouping, keys_of in ROLE_SETS.items():
        for row in groups[grouping]:
            hidden = row["n"] < minimum or (
                grouping == pair and (row["provider"], row["customer"]) in suppressed
            )
            for key in keys_of(row):
                figures[key]["hire_back_n"] = row["n"]
                # Hidden figures are never stored, so no page or export can show them.
                if not hidden:
                    figures[key]["hire_back"] = 100 * (row["yes"] - row["no"]) / row["n"]
    return figures


def request_quality_figures(period: Period, now) -> Figures:
    figures: Figures = defaultdict(dict)
    ratings = RequestQualityRating.objects.filter(
        rated_at__gte=period.start, rated_at__lt=period.end
    )
    # One value per request: the mean of its two ratings, or clarity alone when the provider
    # had nothing to ask.
    per_request = Case(
        When(responsiveness__isnull=False, then=(F("clarity") + F("responsiveness")) / 2.0),
        default=F("clarity") * 1.0,
        output_field=FloatField(),
    )
    rows = ratings.values(
        customer=F("requesting_department_id"),
        provider=F("provider_department_id"),
        quality=per_request,
    )
    sets = {
        ("customer",): lambda row: [(CUSTOMER, row["customer"], None)],
        ("customer", "provider"): lambda row: [(CUSTOMER, row["customer"], row["provider"])],
    }
    groups = grouped_aggregates(
        rows, sets=list(sets), measures={"n": Measure(COUNT), "quality": Measure(AVG, "quality")}
    )
    for key, row in keyed_rows(groups, sets):
        figures[key]["request_quality_n"] = row["n"]
        figures[key]["request_quality"] = row["quality"]
    return figures


SOURCES = [request_survey_figures, hire_back_figures, request_quality_figures]
