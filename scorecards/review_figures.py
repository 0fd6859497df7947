"""Reviews on the scorecards: how many a department opened and closed, and how it kept the
actions it agreed to (README, "Reviews on the scorecards").

A department's side in a review (reviews.ReviewDepartment.side) decides the scorecard the
review counts on: the provider and the blocking departments on their provider scorecard
(each gave a service that went wrong: a blocking department's late request held the chain
up), the customer on its customer scorecard. An action counts for its owning department,
on the scorecard of that department's side in the action's review. Figures are for the
whole department only, not per provider x customer pair (a review with blocking
departments has no single pair).

For a period, with `cutoff` the period's end, or now while it runs:

- `reviews_opened`, `reviews_closed`: reviews opened, closed in the period.
- `review_actions_due`: actions done in the period, or due in it and still open at the
  cutoff (done later, or not yet). A dropped action counts in neither figure: it was let go
  with a reason, it was not kept late.
- `review_actions_done_on_time`: of those, the ones done on or before their due day (in the
  company's time zone).
- `review_actions_overdue_open`: actions open at the cutoff past their due day, whenever
  they were due: the backlog the period ended with. Read from `settled_at`, so recomputing
  a past period gives the same figure.

These are counts of what departments did, not answers to a survey: no anonymity rule
applies to them (scorecards.anonymity), and they carry no review text.

Two grouped queries, one over the reviews' departments and one over the actions, each
grouped by department and side: no loop over reviews in Python.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import TruncDate

from core.periods import Period, company_zone
from reviews.choices import ActionState, Side
from reviews.models import ReviewAction, ReviewDepartment

from .choices import ScoreRole
from .figures import REVIEW_FIGURES

PROVIDER, CUSTOMER = ScoreRole.PROVIDER.value, ScoreRole.CUSTOMER.value
# The scorecard each side of a review counts on.
ROLE_OF_SIDE = {Side.PROVIDER: PROVIDER, Side.BLOCKING: PROVIDER, Side.CUSTOMER: CUSTOMER}
REVIEW_FIGURE_NAMES = tuple(REVIEW_FIGURES)  # the registry's (figures.py)
REVIEW_COUNTS, ACTION_COUNTS = REVIEW_FIGURE_NAMES[:2], REVIEW_FIGURE_NAMES[2:]


def _within(field: str, start, end) -> Q:
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


def review_count_figures(period: Period, now) -> dict:
    """Reviews opened and closed in the period, per department and scorecard."""
    start, end = period.start, period.end
    opened, closed = (
        _within("review__opened_at", start, end),
        _within("review__closed_at", start, end),
    )
    rows = (
        ReviewDepartment.objects.filter(opened | closed)
        .values("department_id", "side")
        .annotate(opened=Count("id", filter=opened), closed=Count("id", filter=closed))
        .order_by()
    )
    figures: dict = defaultdict(lambda: dict.fromkeys(REVIEW_COUNTS, 0))
    for row in rows:
        values = figures[(ROLE_OF_SIDE[row["side"]], row["department_id"], None)]
        values["reviews_opened"] += row["opened"]
        values["reviews_closed"] += row["closed"]
    return figures


def action_figures(period: Period, now) -> dict:
    """Actions due and done on time in the period, and open overdue at its cutoff, per owning
    department and the scorecard of its side in the review."""
    cutoff = min(period.end, now)
    zone = company_zone()
    # An action is overdue from the day after its due day.
    cutoff_day = cutoff.astimezone(zone).date()
    done_in_period = Q(state=ActionState.DONE) & _within("done_at", period.start, period.end)
    open_at_cutoff = Q(created_at__lt=cutoff) & (
        Q(state=ActionState.OPEN) | Q(settled_at__gte=cutoff)
    )
    overdue = open_at_cutoff & Q(due_on__lt=cutoff_day)
    due = done_in_period | (overdue & Q(due_on__gte=period.first_day))
    on_time = done_in_period & Q(done_day__lte=F("due_on"))
    # The owner's side in the action's review: one row (review_department_once), unordered.
    side = (
        ReviewDepartment.objects.filter(
            review=OuterRef("review"), department=OuterRef("owner_department")
        )
        .order_by()
        .values("side")[:1]
    )
    rows = (
        ReviewAction.objects.filter(done_in_period | overdue)
        .annotate(side=Subquery(side), done_day=TruncDate("done_at", tzinfo=zone))
        .values("owner_department_id", "side")
        .annotate(
            due=Count("id", filter=due),
            on_time=Count("id", filter=on_time),
            overdue=Count("id", filter=overdue),
        )
        .order_by()
    )
    figures: dict = defaultdict(lambda: dict.fromkeys(ACTION_COUNTS, 0))
    for row in rows:
        if row["side"] is None:
            continue  # an owner not involved in the review: review_action_add refuses one
        values = figures[(ROLE_OF_SIDE[row["side"]], row["owner_department_id"], None)]
        values["review_actions_due"] += row["due"]
        values["review_actions_done_on_time"] += row["on_time"]
        values["review_actions_overdue_open"] += row["overdue"]
    return figures


def review_figures(period: Period, now) -> dict:
    """Every review figure of every department and scorecard that has any: a department
    with reviews but no action due has 0 actions, not none (null means no reviews and no
    actions at all)."""
    figures: dict = {}
    for source in (review_count_figures, action_figures):
        for key, values in source(period, now).items():
            figures.setdefault(key, dict.fromkeys(REVIEW_FIGURE_NAMES, 0)).update(values)
    return figures


SOURCES = [review_figures]
