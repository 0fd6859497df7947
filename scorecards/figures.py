"""The figures of a scorecard (a contract of DESIGN.md): one registry of what each figure is,
and how a stored snapshot becomes figures a reader may see.

`FIGURES` holds, once, what the pages, the API schema and the HR report each used to spell
out for themselves: a figure's name, its labels, its unit, the roles it belongs to, which way
is better and which figure holds its count. The scorecard display (display.py), the report's
columns (reports/columns.py) and the API all draw on it, so a figure is added or renamed in
one place. How a unit is shown (percent on a page, one decimal in a cell) stays with each
reader.

`FIGURE_NAMES` is the canonical list: the API answers every one of them, null when a figure
has no data or cannot be shown. A figure from fewer than ANONYMITY_MIN survey answers is
nulled here as well as at computation, so that a snapshot written before a threshold change
(or by a source that forgot) still never shows one.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from surveys.choices import Dimension

from .choices import ScoreRole

PROVIDER, CUSTOMER = ScoreRole.PROVIDER.value, ScoreRole.CUSTOMER.value
BOTH = (PROVIDER, CUSTOMER)

# Units, as stored: rates are fractions 0-1 (each with `<name>_n`, its sample size, and
# `<name>_interval`, its 95% Wilson interval), times are business seconds, the service score
# is 0-100, ratings are means of 1-5, hire-back is % yes minus % no (-100 to 100).
RATE, SECONDS, SCORE, RATING, HIRE_BACK = "rate", "seconds", "score", "rating", "hire_back"
UNITS = (RATE, SECONDS, SCORE, RATING, HIRE_BACK)
HIGHER, LOWER = "higher", "lower"


@dataclass(frozen=True)
class Figure:
    """One number of a scorecard and everything the readers need to show it."""

    name: str  # the snapshot's and the API's name
    label: str  # on the pages: cards, tables, charts
    unit: str  # one of UNITS
    roles: tuple[str, ...] = BOTH  # the scorecards (provider, customer) that show it
    better: str = HIGHER  # which way a change is good
    # The figures holding its count, the first one stored wins (mean_rating falls back to
    # csat_n: the same ratings).
    sample: tuple[str, ...] = ()
    survey: bool = False  # from survey answers: hidden under ANONYMITY_MIN of them
    # Names stored with it that the API answers right after it (its count, its interval,
    # the weakest link's split per department).
    details: tuple[str, ...] = ()
    card: bool = True  # a headline card on the scorecard pages
    help: str = ""  # the card's explanation
    card_count: bool = True  # the card shows its count (n = ...)
    report_label: str = ""  # the report's column header, without the unit; default `label`
    count_label: str = ""  # the report's column of its count; "" none
    short_label: str = ""  # in the narrow trend table; default `label`
    matrix_label: str = ""  # in the matrix's figure picker; "" not offered there
    # A rate whose card reads as a count of its sample ("2 of 3"), not a percentage.
    card_as_count: bool = False
    # A card only where the figure has data (this period or the previous): most departments
    # have no agreement, and a card saying so on every scorecard says nothing.
    card_optional: bool = False

    def __post_init__(self):
        if self.unit not in UNITS or self.better not in (HIGHER, LOWER):
            raise ValueError(f"{self.name}: unknown unit or direction")
        for name in ("report_label", "short_label"):
            if not getattr(self, name):
                object.__setattr__(self, name, self.label)

    @property
    def lower_is_better(self) -> bool:
        return self.better == LOWER

    @property
    def help_text(self) -> str:
        """The card's explanation, with the setting it depends on filled in."""
        return self.help.replace("{kept_rate}", kept_rate_text())

    @property
    def count(self) -> str | None:
        """The figure whose value the report shows in the count column, if it has one."""
        return self.sample[0] if self.count_label and self.sample else None


def _rate(name: str, label: str, **kwargs) -> Figure:
    own = f"{name}_n"
    return Figure(name, label, RATE, sample=(own,), details=(own, f"{name}_interval"), **kwargs)


def _time(name: str, label: str, **kwargs) -> Figure:
    return Figure(name, label, SECONDS, better=LOWER, **kwargs)


def _survey(name: str, label: str, unit: str, **kwargs) -> Figure:
    """A figure from survey answers, stored with its count."""
    own = f"{name}_n"
    kwargs.setdefault("sample", (own,))
    return Figure(name, label, unit, survey=True, details=(own,), **kwargs)


def _dimension(dimension: Dimension) -> Figure:
    """A survey dimension's mean: a row of the dimensions table, not a card. Its count is
    stored too, but after the canonical names (it was never among them)."""
    name, label = f"{dimension.value}_mean", dimension.label
    return Figure(
        name,
        label,
        RATING,
        sample=(f"{name}_n",),
        survey=True,
        card=False,
        report_label=f"Survey rating: {label.lower()}",
        count_label=f"{label.lower()} ratings (count)",
    )


def _weakest_link(prefix: str, label: str) -> Figure:
    """Business seconds a provider was held up or held others up, with {department id:
    seconds}; the pages show them in a section of their own, worded there."""
    return _time(
        f"{prefix}_seconds",
        label,
        roles=(PROVIDER,),
        details=(f"{prefix}_departments",),
        card=False,
    )


# In the API's order. The report has a column per figure, in this order too.
FIGURES: tuple[Figure, ...] = (
    Figure(
        "service_score",
        "Service score",
        SCORE,
        help="0-100 from timeliness (40), mean rating (40) and hire-back (20); a missing part "
        "is left out and the rest rescaled.",
    ),
    _rate(
        "timeliness",
        "On time",
        help="Clocks met of those settled, both clocks.",
        report_label="On time, both clocks",
        count_label="Clocks settled (count)",
        matrix_label="Timeliness",
    ),
    _rate(
        "first_response_timeliness",
        "First response on time",
        help="First responses.",
        count_label="First responses settled (count)",
    ),
    _rate(
        "resolution_timeliness",
        "Resolution on time",
        help="Resolutions.",
        count_label="Resolutions settled (count)",
    ),
    _time(
        "first_response_median_seconds",
        "Median first response",
        help="Business hours to first response, median.",
        report_label="Median time to first response",
    ),
    _time(
        "first_response_p90_seconds",
        "First response, 90th percentile",
        help="Nine in ten first responses came within this.",
        report_label="90th percentile time to first response",
    ),
    _time(
        "resolution_median_seconds",
        "Median time to resolve",
        help="Business hours to resolution, median.",
        short_label="Median resolution",  # the trend table's heading, as it always was
    ),
    _time(
        "resolution_p90_seconds",
        "Resolution, 90th percentile",
        help="Nine in ten resolutions came within this.",
        report_label="90th percentile time to resolve",
    ),
    _rate(
        "promise_kept",
        "Promises kept",
        help="Resolved by the date promised.",
        report_label="Promised dates kept",
        count_label="Promised requests resolved (count)",
    ),
    _rate(
        "declined",
        "Declined",
        better=LOWER,
        help="Requests declined, of those resolved or declined.",
        report_label="Requests declined, of those resolved or declined",
        count_label="Requests resolved or declined (count)",
    ),
    _rate(
        "csat",
        "CSAT",
        survey=True,
        help="Survey ratings of 4 or 5.",
        report_label="Satisfied requesters, rating 4 or 5",
        count_label="Survey ratings (count)",
        matrix_label="CSAT",
    ),
    # Over the same ratings as csat: the report has no second count column for it.
    _survey(
        "mean_rating",
        "Mean rating",
        RATING,
        sample=("mean_rating_n", "csat_n"),
        help="Mean survey rating, 1-5.",
        report_label="Mean satisfaction rating",
    ),
    _rate(
        "response_rate",
        "Survey response rate",
        help="Surveys answered of those sent.",
        count_label="Surveys sent (count)",
    ),
    _survey(
        "hire_back",
        "Hire-back",
        HIRE_BACK,
        roles=(PROVIDER,),
        help="% yes minus % no to \u201cwould you keep this department?\u201d, -100 to 100.",
        count_label="Hire-back answers (count)",
    ),
    *(_dimension(dimension) for dimension in Dimension),
    _survey(
        "request_quality",
        "Request quality",
        RATING,
        roles=(CUSTOMER,),
        help="Providers' 1-5 rating of how clear the requests were and how quickly requesters "
        "answered.",
        report_label="Quality of its requests, rated by providers",
        count_label="Request quality ratings (count)",
    ),
    # Its card has never shown the count that the report has a column for.
    _time(
        "customer_responsiveness_seconds",
        "Customer responsiveness",
        roles=(CUSTOMER,),
        sample=("customer_responsiveness_n",),
        details=("customer_responsiveness_n",),
        help="Median business hours requesters took to answer a request waiting on them.",
        card_count=False,
        report_label="Median time its requesters took to answer",
        count_label="Answers to providers' questions (count)",
    ),
    _weakest_link("blocked_by_late", "Time held up by late requests of other departments"),
    _weakest_link("caused_delay", "Delay its late requests caused other departments"),
    # Agreements between departments (scorecards.compute.agreement_figures).
    _rate(
        "agreements_kept",
        "Agreements kept",
        roles=(PROVIDER,),
        help="Agreements whose first responses and resolutions each met the agreed targets "
        "at least {kept_rate} of the time, of the agreements clocks were measured under.",
        card_as_count=True,
        card_optional=True,
        card_count=False,
        report_label="Agreements kept, of those measured",
        count_label="Agreements measured (count)",
    ),
    _rate(
        "agreement_timeliness",
        "On time under agreements",
        roles=(PROVIDER,),
        help="Clocks met of those settled under an agreement's targets, both clocks.",
        card=False,
        report_label="On time under agreements, both clocks",
        count_label="Clocks settled under agreements (count)",
        matrix_label="On time under agreements",
    ),
)
FIGURE: dict[str, Figure] = {figure.name: figure for figure in FIGURES}

# A provider's clocks per service ({service id: {...}}) and per priority, each item holding
# BREAKDOWN_FIGURES (see compute.breakdown_figures).
BREAKDOWNS = ("by_service", "by_priority")
BREAKDOWN_FIGURES = (
    "timeliness",
    "first_response_timeliness",
    "resolution_timeliness",
    "resolution_median_seconds",
)

# Each agreement of a provider (or of a pair) measured in the period, keyed by the
# customer's id or "all" (compute.agreement_figures).
AGREEMENT_BREAKDOWN = "by_agreement"

# Reviews (scorecards.review_figures): counts of reviews and of their actions, per
# department as provider (with the blocking departments) and as customer, each with its
# label on the scorecard's Reviews card and in the report's Reviews sheet. Counts, not
# survey answers: no anonymity threshold applies, and no review text is ever stored here.
REVIEW_FIGURES: dict[str, str] = {
    "reviews_opened": "Reviews opened",
    "reviews_closed": "Reviews closed",
    "review_actions_due": "Actions due",
    "review_actions_done_on_time": "Actions done on time",
    "review_actions_overdue_open": "Actions open and overdue",
}

FIGURE_NAMES: list[str] = [
    *(name for figure in FIGURES for name in (figure.name, *figure.details)),
    *BREAKDOWNS,
    AGREEMENT_BREAKDOWN,
    *REVIEW_FIGURES,
]
DIMENSION_NAMES = [f"{dimension.value}_mean" for dimension in Dimension]
SURVEY_FIGURES = [figure for figure in FIGURES if figure.survey]


def kept_rate_text() -> str:
    """AGREEMENT_KEPT_RATE as people read it: "90%"."""
    return f"{settings.AGREEMENT_KEPT_RATE * 100:g}%"


def anonymity_min() -> int:
    return settings.ANONYMITY_MIN


def sample_of(figures: dict, name: str) -> int | None:
    """The sample size of a figure, if the snapshot holds one."""
    figure = FIGURE.get(name)
    for sample_name in figure.sample if figure else ():
        if figures.get(sample_name) is not None:
            return figures[sample_name]
    return None


def is_hidden(figures: dict, name: str) -> bool:
    """A survey figure from fewer answers than the anonymity threshold."""
    figure = FIGURE.get(name)
    if figure is None or not figure.survey:
        return False
    sample = sample_of(figures, name)
    return sample is not None and 0 < sample < anonymity_min()


def figures_shown(stored: dict | None) -> dict:
    """Every known figure (null when missing or hidden), then any other stored figure."""
    stored = stored or {}
    shown = {name: stored.get(name) for name in FIGURE_NAMES}
    shown.update({name: value for name, value in stored.items() if name not in shown})
    for figure in SURVEY_FIGURES:
        if is_hidden(stored, figure.name):
            shown[figure.name] = None
            if f"{figure.name}_interval" in shown:
                shown[f"{figure.name}_interval"] = None
    return shown
