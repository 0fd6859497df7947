"""The figures of the report and how they are shown: a header for people with its unit, the
conversion from the snapshot's stored value, and the number format of the XLSX cell.

The figures, their labels, units, roles and counts are those of the registry
(`scorecards.figures.FIGURES`), which the scorecard pages read too; this module only decides
how a unit reads in a cell. Snapshots store rates as fractions (0-1) and times as business
seconds; the report shows percentages and business hours with one decimal, and every
change from the previous quarter in the same unit (percentage points for rates).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import figures
from ..figures import BOTH


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


# How the report shows each unit of the registry (scorecards.figures.UNITS).
UNITS = {
    figures.RATE: PERCENT,
    figures.SECONDS: HOURS,
    figures.SCORE: POINTS,
    figures.RATING: RATING,
    figures.HIRE_BACK: HIRE_BACK,
}


@dataclass(frozen=True)
class FigureColumn:
    """One figure of the scorecards in the report: its value, change and sample size."""

    figure: str  # the snapshot figure name (a contract of DESIGN.md)
    label: str  # for people, without the unit
    unit: Unit
    sample: str | None = None  # the figure holding the sample size, if any
    sample_label: str = ""
    roles: tuple[str, ...] = BOTH

    @classmethod
    def of(cls, figure: figures.Figure) -> FigureColumn:
        return cls(
            figure=figure.name,
            label=figure.report_label,
            unit=UNITS[figure.unit],
            sample=figure.count,
            sample_label=figure.count_label if figure.count else "",
            roles=figure.roles,
        )

    @property
    def header(self) -> str:
        return f"{self.label} ({self.unit.name})"

    @property
    def change_header(self) -> str:
        return f"{self.label}: change from previous quarter ({self.unit.change_unit})"

    @property
    def sample_header(self) -> str:
        return self.sample_label


# A column per figure of the registry, in its order. A figure missing from a snapshot (not
# computed, no data, or hidden under the anonymity threshold) is a blank cell.
KNOWN_COLUMNS: dict[str, FigureColumn] = {
    figure.name: FigureColumn.of(figure) for figure in figures.FIGURES
}
FIGURE_COLUMNS: list[FigureColumn] = list(KNOWN_COLUMNS.values())

# Figures of FIGURE_NAMES that are not one number: sample sizes and intervals go with their
# figure; the breakdowns and the reviews have their own sheets; the weakest-link details
# are per department.
NOT_COLUMNS = ("_n", "_interval")
STRUCTURED = {
    name
    for name in figures.FIGURE_NAMES
    if name not in KNOWN_COLUMNS and not name.endswith(NOT_COLUMNS)
}

# The figures of "Biggest changes": on the same 0-100 scale, so their changes compare.
CHANGE_FIGURES = ("service_score", "timeliness")


def columns_for(role: str, names: tuple[str, ...] | None = None) -> list[FigureColumn]:
    """The figure columns of a role (and of a subset of figures, in report order)."""
    columns = [column for column in FIGURE_COLUMNS if role in column.roles]
    if names is not None:
        columns = [column for column in columns if column.figure in names]
    return columns


def column_named(figure: str) -> FigureColumn:
    return KNOWN_COLUMNS[figure]
