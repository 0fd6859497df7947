"""The figures of the report and how they are shown: a header for people with its unit, the
conversion from the snapshot's stored value, and the number format of the XLSX cell.

Snapshots store rates as fractions (0-1) and times as business seconds; the report shows
percentages and business hours with one decimal, and every change from the previous quarter
in the same unit (percentage points for rates).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..choices import ScoreRole
from ..figures import FIGURE_NAMES, RATE_NAMES

PROVIDER, CUSTOMER = ScoreRole.PROVIDER.value, ScoreRole.CUSTOMER.value
BOTH = (PROVIDER, CUSTOMER)


@dataclass(frozen=True)
class Unit:
    """How a stored value becomes a shown one: value * scale, rounded to `decimals`."""

    name: str
    scale: float
    decimals: int
    change_unit: str

    def show(self, value):
        if value is None:
            return None
        return round(value * self.scale, self.decimals)

    def change(self, current, previous):
        if current is None or previous is None:
            return None
        # Rounded after the subtraction, so a change is not off by a rounding step.
        return round((current - previous) * self.scale, self.decimals)

    @property
    def number_format(self) -> str:
        return "0" if self.decimals == 0 else "0." + "0" * self.decimals

    @property
    def change_format(self) -> str:
        body = self.number_format
        return f"+{body};-{body};{body}"


PERCENT = Unit("%", 100.0, 1, "percentage points")
HOURS = Unit("business hours", 1 / 3600, 1, "business hours")
POINTS = Unit("0-100", 1.0, 1, "points")
RATING = Unit("1-5", 1.0, 2, "points")
HIRE_BACK = Unit("% yes minus % no, -100 to 100", 1.0, 1, "points")
COUNT = Unit("count", 1.0, 0, "count")


@dataclass(frozen=True)
class FigureColumn:
    """One figure of the scorecards in the report: its value, change and sample size."""

    figure: str  # the snapshot figure name (a contract of DESIGN.md)
    label: str  # for people, without the unit
    unit: Unit
    sample: str | None = None  # the figure holding the sample size, if any
    sample_label: str = ""
    roles: tuple[str, ...] = BOTH

    @property
    def header(self) -> str:
        return f"{self.label} ({self.unit.name})"

    @property
    def change_header(self) -> str:
        return f"{self.label}: change from previous quarter ({self.unit.change_unit})"

    @property
    def sample_header(self) -> str:
        return self.sample_label


def _rate(figure, label, sample_label, roles=BOTH) -> FigureColumn:
    return FigureColumn(figure, label, PERCENT, f"{figure}_n", sample_label, roles)


def _dimension(figure, label) -> FigureColumn:
    return FigureColumn(
        figure, f"Survey rating: {label}", RATING, f"{figure}_n", f"{label} ratings (count)"
    )


# How each figure of the scorecards (scorecards.figures.FIGURE_NAMES) is shown. A figure
# missing from a snapshot (not computed, no data, or hidden under the anonymity threshold) is
# a blank cell.
KNOWN_COLUMNS: dict[str, FigureColumn] = {
    column.figure: column
    for column in [
        FigureColumn("service_score", "Service score", POINTS),
        _rate("timeliness", "On time, both clocks", "Clocks settled (count)"),
        _rate(
            "first_response_timeliness", "First response on time", "First responses settled (count)"
        ),
        _rate("resolution_timeliness", "Resolution on time", "Resolutions settled (count)"),
        FigureColumn("first_response_median_seconds", "Median time to first response", HOURS),
        FigureColumn("first_response_p90_seconds", "90th percentile time to first response", HOURS),
        FigureColumn("resolution_median_seconds", "Median time to resolve", HOURS),
        FigureColumn("resolution_p90_seconds", "90th percentile time to resolve", HOURS),
        _rate("promise_kept", "Promised dates kept", "Promised requests resolved (count)"),
        _rate("csat", "Satisfied requesters, rating 4 or 5", "Survey ratings (count)"),
        # Over the same ratings as csat: its count is csat's, so no second count column.
        FigureColumn("mean_rating", "Mean satisfaction rating", RATING),
        _rate("response_rate", "Survey response rate", "Surveys sent (count)"),
        FigureColumn(
            "hire_back",
            "Hire-back",
            HIRE_BACK,
            "hire_back_n",
            "Hire-back answers (count)",
            roles=(PROVIDER,),
        ),
        _dimension("attitude_mean", "attitude"),
        _dimension("communication_mean", "communication"),
        _dimension("problem_solving_mean", "problem solving"),
        _dimension("timeliness_mean", "timeliness"),
        _dimension("teamwork_mean", "teamwork"),
        FigureColumn(
            "request_quality",
            "Quality of its requests, rated by providers",
            RATING,
            "request_quality_n",
            "Request quality ratings (count)",
            roles=(CUSTOMER,),
        ),
        FigureColumn(
            "customer_responsiveness_seconds",
            "Median time its requesters took to answer",
            HOURS,
            "customer_responsiveness_n",
            "Answers to providers' questions (count)",
            roles=(CUSTOMER,),
        ),
        FigureColumn(
            "blocked_by_late_seconds",
            "Time held up by late requests of other departments",
            HOURS,
            roles=(PROVIDER,),
        ),
        FigureColumn(
            "caused_delay_seconds",
            "Delay its late requests caused other departments",
            HOURS,
            roles=(PROVIDER,),
        ),
    ]
}

# Figures of FIGURE_NAMES that are not one number: sample sizes and intervals go with their
# figure; the breakdowns have their own sheets; the weakest-link details are per department.
NOT_COLUMNS = ("_n", "_interval")
STRUCTURED = {
    "by_service",
    "by_priority",
    "blocked_by_late_departments",
    "caused_delay_departments",
}


def _generic(figure: str) -> FigureColumn:
    """A figure the report does not know yet: shown plainly rather than left out."""
    label = figure.removesuffix("_seconds").replace("_", " ").capitalize()
    if figure.endswith("_seconds"):
        return FigureColumn(figure, label, HOURS)
    if figure in RATE_NAMES:
        return _rate(figure, label, f"{label} (count)")
    return FigureColumn(figure, label, Unit("value", 1.0, 2, "value"))


def figure_columns() -> list[FigureColumn]:
    """A column per figure of the scorecards, in the canonical order of FIGURE_NAMES."""
    columns = []
    for figure in FIGURE_NAMES:
        if figure.endswith(NOT_COLUMNS) or figure in STRUCTURED:
            continue
        columns.append(KNOWN_COLUMNS.get(figure) or _generic(figure))
    return columns


FIGURE_COLUMNS: list[FigureColumn] = figure_columns()

# A provider's breakdown by service and by priority (compute.breakdown_figures): the
# figures it holds.
BREAKDOWN_FIGURES = (
    "timeliness",
    "first_response_timeliness",
    "resolution_timeliness",
    "resolution_median_seconds",
)

# The figures of "Biggest changes": on the same 0-100 scale, so their changes compare.
CHANGE_FIGURES = ("service_score", "timeliness")


def columns_for(role: str, figures: tuple[str, ...] | None = None) -> list[FigureColumn]:
    """The figure columns of a role (and of a subset of figures, in report order)."""
    columns = [column for column in FIGURE_COLUMNS if role in column.roles]
    if figures is not None:
        columns = [column for column in columns if column.figure in figures]
    return columns


def column_named(figure: str) -> FigureColumn:
    return next(column for column in FIGURE_COLUMNS if column.figure == figure)
