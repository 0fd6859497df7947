"""Survey figures of the scorecards: what surveys/disclosure.py has released, nothing else.

- csat, mean_rating and the five dimension means: per-request survey answers first given in
  the period (`answered_at`), for the department that provided the service.
- request_quality (customer side): mean of the provider's ratings of the customer's
  requests (clarity and responsiveness averaged, or clarity alone), rated in the period.
- hire_back: (% yes - % no) over the relationship survey of the quarter; quarters only.

These are published per month and per quarter only, once the answers are final (a running
quarter shows the months released so far), with primary and complementary suppression
decided by the surveys app for everything a quarter publishes: a withheld figure is not
stored here at all, only its count. Weeks and running months have none.
- surveys_through and request_quality_through: the last day of the answers the figures hold
  (a running quarter's are its months released so far).
- response_rate: of the per-request surveys sent in the period, the share answered (counts
  of people, not of what they answered: every period has it).
"""

from collections import defaultdict

from django.db.models import Q

from core.periods import Period
from surveys.choices import DIMENSIONS, HireBack
from surveys.disclosure import CUSTOMER as CUSTOMER_GROUP
from surveys.disclosure import PROVIDER as PROVIDER_GROUP
from surveys.disclosure import Family, period_cells
from surveys.models import RequestSurvey

from .compute import CUSTOMER, PROVIDER, Figures, flag_rate_figures
from .stats import rate_figures


def _keys(group: str, provider, customer, *, sides=(PROVIDER, CUSTOMER)) -> list:
    """The snapshot keys a released cell feeds."""
    if group == PROVIDER_GROUP:
        return [(PROVIDER, provider, None)]
    if group == CUSTOMER_GROUP:
        return [(CUSTOMER, customer, None)]
    keys = {PROVIDER: (PROVIDER, provider, customer), CUSTOMER: (CUSTOMER, customer, provider)}
    return [keys[side] for side in sides]


def _mean(total, count):
    return total / count if total is not None and count else None


def request_survey_figures(period: Period, now) -> Figures:
    """csat, mean rating and dimensions as released; response rate of the surveys sent in
    the period."""
    figures: Figures = defaultdict(dict)
    released = period_cells(Family.REQUEST, period, now=now)
    for (group, provider, customer), totals in released.cells.items():
        for key in _keys(group, provider, customer):
            values = figures[key]
            n = totals["n"]
            if totals["good"] is not None:
                values.update(rate_figures("csat", totals["good"], n))
                values["mean_rating"] = _mean(totals["sum"], n)
            else:
                values["csat_n"] = n
            values["mean_rating_n"] = n
            values["surveys_through"] = released.through.isoformat()
            for d in DIMENSIONS:
                values[f"{d}_mean_n"] = totals[f"{d}_n"]
                mean = _mean(totals[f"{d}_sum"], totals[f"{d}_n"])
                if mean is not None:
                    values[f"{d}_mean"] = mean
    sent = RequestSurvey.objects.filter(sent_at__gte=period.start, sent_at__lt=period.end)
    return flag_rate_figures(figures, sent, "response_rate", Q(response__isnull=False))


def hire_back_figures(period: Period, now) -> Figures:
    figures: Figures = defaultdict(dict)
    released = period_cells(Family.RELATIONSHIP, period, now=now)
    for (group, provider, customer), totals in released.cells.items():
        for key in _keys(group, provider, customer):
            n = totals["n"]
            figures[key]["hire_back_n"] = n
            if totals[HireBack.YES] is not None and n:
                figures[key]["hire_back"] = 100 * (totals[HireBack.YES] - totals[HireBack.NO]) / n
    return figures


def request_quality_figures(period: Period, now) -> Figures:
    figures: Figures = defaultdict(dict)
    released = period_cells(Family.QUALITY, period, now=now)
    for (group, provider, customer), totals in released.cells.items():
        for key in _keys(group, provider, customer, sides=(CUSTOMER,)):
            figures[key]["request_quality_n"] = totals["n"]
            figures[key]["request_quality_through"] = released.through.isoformat()
            mean = _mean(totals["sum"], totals["n"])
            if mean is not None:
                figures[key]["request_quality"] = mean
    return figures


SOURCES = [request_survey_figures, hire_back_figures, request_quality_figures]
