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
from django.db.models import Avg, Case, Count, F, FloatField, Q, When

from surveys.choices import DIMENSIONS, HireBack
from surveys.models import RelationshipAnswer, RequestQualityRating, RequestSurvey, SurveyResponse

from .compute import CUSTOMER, Figures, _groupings
from .periods import QUARTER, Period
from .stats import rate_figures


def request_survey_figures(period: Period, now) -> Figures:
    figures: Figures = defaultdict(dict)
    answers = SurveyResponse.objects.filter(
        answered_at__gte=period.start, answered_at__lt=period.end
    )
    provider, customer = "survey__provider_department_id", "survey__requesting_department_id"
    aggregates = {
        "n": Count("pk"),
        "good": Count("pk", filter=Q(overall__gte=4)),
        "mean": Avg("overall"),
        **{f"{d}_mean": Avg(d) for d in DIMENSIONS},
        **{f"{d}_n": Count(d) for d in DIMENSIONS},
    }
    for fields, keys_of in _groupings(provider, customer):
        for row in answers.values(*fields).annotate(**aggregates):
            for key in keys_of(row):
                values = figures[key]
                values.update(rate_figures("csat", row["good"], row["n"]))
                values["mean_rating"] = row["mean"]
                values["mean_rating_n"] = row["n"]
                for dimension in DIMENSIONS:
                    values[f"{dimension}_mean"] = row[f"{dimension}_mean"]
                    values[f"{dimension}_mean_n"] = row[f"{dimension}_n"]

    sent = RequestSurvey.objects.filter(sent_at__gte=period.start, sent_at__lt=period.end)
    provider, customer = "provider_department_id", "requesting_department_id"
    for fields, keys_of in _groupings(provider, customer):
        rows = sent.values(*fields).annotate(
            sent=Count("pk"), answered=Count("pk", filter=Q(response__isnull=False))
        )
        for row in rows:
            for key in keys_of(row):
                figures[key].update(rate_figures("response_rate", row["answered"], row["sent"]))
    return figures


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
    answers = RelationshipAnswer.objects.filter(survey__quarter=period.key)
    provider, customer = "provider_department_id", "customer_department_id"
    rows_by_grouping = [
        (
            keys_of,
            list(
                answers.values(*fields).annotate(
                    n=Count("pk"),
                    yes=Count("pk", filter=Q(hire_back=HireBack.YES)),
                    no=Count("pk", filter=Q(hire_back=HireBack.NO)),
                )
            ),
        )
        for fields, keys_of in _groupings(provider, customer)
    ]
    pair_rows = rows_by_grouping[2][1]
    suppressed = _suppressed_pairs({(r[provider], r[customer]): r["n"] for r in pair_rows}, minimum)
    for index, (keys_of, rows) in enumerate(rows_by_grouping):
        for row in rows:
            is_pair = index == 2
            hidden = row["n"] < minimum or (
                is_pair and (row[provider], row[customer]) in suppressed
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
    customer, provider = "requesting_department_id", "provider_department_id"
    groupings = [
        ((customer,), lambda row: [(CUSTOMER, row[customer], None)]),
        ((customer, provider), lambda row: [(CUSTOMER, row[customer], row[provider])]),
    ]
    for fields, keys_of in groupings:
        for row in ratings.values(*fields).annotate(n=Count("pk"), quality=Avg(per_request)):
            for key in keys_of(row):
                figures[key]["request_quality_n"] = row["n"]
                figures[key]["request_quality"] = row["quality"]
    return figures


SOURCES = [request_survey_figures, hire_back_figures, request_quality_figures]
