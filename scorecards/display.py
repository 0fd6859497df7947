"""How scorecard figures are shown on the pages: units, changes and how sure they are.

What a figure is (its label, unit, roles, which way is better, its count) comes from the
registry, `figures.FIGURES`, which the HR report reads too; this module only decides how a
unit reads on a page. Snapshots store rates as fractions (0-1) and times as business
seconds; pages show percent and business hours. Everything here works on the figures a
reader may see (see `figures.figures_shown`), so a hidden figure is already null.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from core.html import html_format
from core.periods import KINDS, MONTH, QUARTER, WEEK, Period, last_periods, period_containing
from departments.agreements import status_text
from departments.choices import Priority
from departments.describe import agreement_target_rows
from departments.models import Agreement
from requests_app.choices import ClockKind
from surveys.choices import PULSE_LABELS, PULSE_QUESTIONS

from .figures import (
    DIMENSION_NAMES,
    FIGURE,
    FIGURES,
    HIRE_BACK,
    RATE,
    RATING,
    REVIEW_FIGURES,
    SCORE,
    SECONDS,
    Figure,
    anonymity_min,
    is_hidden,
    sample_of,
)

# Below this many cases a figure is shown greyed, with its count.
SMALL_SAMPLE = 10
# Breakdown rows from fewer clocks than this are not ranked among the worst services.
WORST_MIN_SAMPLE = 3
WORST_COUNT = 5
TREND_LENGTH = 12
PICKER_LENGTH = 12

KIND_LABELS = {WEEK: "Week", MONTH: "Month", QUARTER: "Quarter"}

# The headline cards, in the registry's order (the role decides which show).
HEADLINE: list[Figure] = [figure for figure in FIGURES if figure.card]
# The trend charts: their figures, and how a unit is scaled and named on a chart's axis.
SCORE_CHART = ("service_score", "timeliness", "csat")
TIMES_CHART = ("first_response_median_seconds", "resolution_median_seconds")
CHART_UNITS = {SCORE: (1, ""), RATE: (100, " (%)"), SECONDS: (1 / 3600, " (h)")}


# --- numbers -------------------------------------------------------------------------------


def hours(seconds: float | None) -> str:
    """Business seconds as hours (minutes under an hour)."""
    if seconds is None:
        return "no data"
    if abs(seconds) < 3600:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def percent(value: float | None) -> str:
    return "no data" if value is None else f"{value * 100:.0f}%"


def format_value(unit: str, value) -> str:
    if value is None:
        return "no data"
    if unit == RATE:
        return percent(value)
    if unit == SECONDS:
        return hours(value)
    if unit == SCORE:
        return f"{value:.0f}"
    if unit == RATING:
        return f"{value:.2f}"
    if unit == HIRE_BACK:
        return f"{value:+.0f}"
    return str(value)


def _delta(unit: str, change: float) -> tuple[str, float]:
    """The change as shown, and its value rounded as shown (0 means no visible change)."""
    if unit == RATE:
        shown = round(change * 100, 1)
        return f"{shown:+.1f} pts", shown
    if unit == SECONDS:
        if abs(change) < 3600:
            shown = round(change / 60)
            return f"{shown:+d} min", shown
        shown = round(change / 3600, 1)
        return f"{shown:+.1f} h", shown
    if unit == RATING:
        shown = round(change, 2)
        return f"{shown:+.2f}", shown
    shown = round(change, 1) if unit == SCORE else round(change)
    return (f"{shown:+.1f}" if unit == SCORE else f"{shown:+d}"), shown


@dataclass
class Change:
    text: str
    direction: str  # up, down or flat
    good: bool | None  # None: no better or worse


def change_of(spec_unit: str, current, previous, lower_is_better: bool = False) -> Change | None:
    """The change from the previous period, or None if either side has no figure."""
    if current is None or previous is None:
        return None
    text, shown = _delta(spec_unit, current - previous)
    if not shown:
        return Change(text="no change", direction="flat", good=None)
    direction = "up" if shown > 0 else "down"
    return Change(text=text, direction=direction, good=(shown > 0) != lower_is_better)


def interval_text(interval) -> str:
    if not interval:
        return ""
    low, high = interval
    return f"95% CI {low * 100:.0f}\u2013{high * 100:.0f}%"


# --- the matrix ----------------------------------------------------------------------------

# Constant markup, no data in it.
MATRIX_SELF = mark_safe(  # nosec B308 B703
    '<td class="matrix-cell matrix-self" aria-label="same department"></td>'
)
MATRIX_HIDDEN = mark_safe(  # nosec B308 B703
    '<td class="matrix-cell heat-none matrix-hidden"><span class="cell-label">hidden</span></td>'
)


def matrix_cell_html(*, provider, cell, heat: str, url: str) -> SafeString:
    """One cell of the matrix heatmap (escaped by core.html.html_format).

    Built here rather than in the template: the matrix has a cell per provider and department
    (320 for 16 providers and 20 departments), and the template engine's lookups for that many
    cells cost most of the page's time.
    """
    if cell is None:
        return MATRIX_SELF
    if cell.reason == "not_visible":
        return MATRIX_HIDDEN
    marker, said = agreement_marker(cell)
    minimum = anonymity_min()
    if cell.reason == "anonymity":
        return html_format(
            '<td class="matrix-cell heat-none matrix-hidden" title="Fewer than {} answers{}">'
            '<a href="{}"><span class="cell-label">&lt; {} answers</span>{}</a></td>',
            minimum,
            said,
            url,
            minimum,
            marker,
        )
    if cell.reason == "no_data":
        return html_format(
            '<td class="matrix-cell heat-none"{}><a href="{}">'
            '<span class="cell-label">no data</span>{}</a></td>',
            html_format(' title="{}"', said.removeprefix("; ")) if said else "",
            url,
            marker,
        )
    text = percent(cell.value)
    interval = interval_text(cell.interval)
    small = cell.n is not None and cell.n < SMALL_SAMPLE
    return html_format(
        '<td class="matrix-cell {}{}" title="{} \u2192 {}: {}{}{}"><a href="{}"><strong>{}</strong>'
        '<span class="cell-n">n={}</span>{}</a></td>',
        heat,
        " matrix-small" if small else "",
        provider.name,
        cell.customer.name,
        text,
        f", {interval}" if interval else "",
        said,
        url,
        text,
        cell.n,
        marker,
    )


NO_MARKER = (mark_safe(""), "")  # nosec B308 B703: constant


def agreement_marker(cell) -> tuple[SafeString, str]:
    """The mark of a pair's agreements measured in the period, and its words for the cell's
    title: "✓ kept", "✗ not kept", "✗ 1 of 2 kept"; none without an agreement."""
    if not cell.agreements_n or cell.agreements_kept is None:
        return NO_MARKER
    kept = round(cell.agreements_kept * cell.agreements_n)
    every = kept == cell.agreements_n
    if cell.agreements_n == 1:
        words = "kept" if every else "not kept"
        said = f"; agreement {words}"
    else:
        words = f"{kept} of {cell.agreements_n} kept"
        said = f"; agreements {words}"
    return (
        html_format(
            '<span class="cell-agreement {}">{} {}</span>',
            "agreement-kept" if every else "agreement-broken",
            "\u2713" if every else "\u2717",
            words,
        ),
        said,
    )


# --- headline cards ------------------------------------------------------------------------


@dataclass
class FigureCard:
    name: str
    label: str
    help: str
    value: str
    has_value: bool
    n: int | None
    small: bool
    hidden: bool
    interval: str
    change: Change | None


def count_of_text(value: float | None, n: int | None) -> str:
    """A rate as a count of its sample: "2 of 3"."""
    if value is None or not n:
        return "no data"
    return f"{round(value * n)} of {n}"


def figure_card(figure: Figure, current: dict, previous: dict) -> FigureCard:
    value = current.get(figure.name)
    n = sample_of(current, figure.name) if figure.card_count else None
    hidden = is_hidden(current, figure.name)
    if hidden:
        text = f"hidden (under {anonymity_min()} answers)"
    elif figure.card_as_count:
        text = count_of_text(value, sample_of(current, figure.name))
    else:
        text = format_value(figure.unit, value)
    return FigureCard(
        name=figure.name,
        label=figure.label,
        help=figure.help_text,
        value=text,
        has_value=value is not None,
        n=n,
        small=n is not None and n < SMALL_SAMPLE,
        hidden=hidden,
        # A count ("2 of 3") says how sure it is itself.
        interval=interval_text(current.get(f"{figure.name}_interval"))
        if figure.unit == RATE and not figure.card_as_count
        else "",
        change=change_of(figure.unit, value, previous.get(figure.name), figure.lower_is_better),
    )


def headline_cards(*, role: str, current: dict, previous: dict) -> list[FigureCard]:
    """The headline figures of a role with their change from the previous period (an
    optional card only where it has a figure in either)."""
    return [
        figure_card(figure, current, previous)
        for figure in HEADLINE
        if role in figure.roles
        and (
            not figure.card_optional
            or current.get(figure.name) is not None
            or previous.get(figure.name) is not None
        )
    ]


def figure_text(figures: dict, name: str) -> str:
    """A figure as text, in its unit."""
    return format_value(FIGURE[name].unit, figures.get(name))


def dimension_rows(figures: dict) -> list[dict]:
    """The survey dimensions present in the figures (all missing: none shown)."""
    rows = [
        {"label": FIGURE[name].label, "value": figure_text(figures, name)}
        for name in DIMENSION_NAMES
    ]
    return rows if any(figures.get(name) is not None for name in DIMENSION_NAMES) else []


# --- trends --------------------------------------------------------------------------------


def _scaled(value, factor: float):
    return None if value is None else round(value * factor, 2)


def _series(scorecards, name: str) -> dict:
    """One line of a trend chart: the figure's label with its unit, and its values."""
    figure = FIGURE[name]
    factor, unit = CHART_UNITS[figure.unit]
    return {
        "label": f"{figure.label}{unit}",
        "values": [_scaled(card.figures[name], factor) for card in scorecards],
    }


def trend_data(scorecards) -> dict:
    """The chart data of a run of scorecards (oldest first), for static/js/scorecards.js."""
    return {
        "labels": [card.period for card in scorecards],
        "score": [_series(scorecards, name) for name in SCORE_CHART],
        "times": [_series(scorecards, name) for name in TIMES_CHART],
    }


def trend_rows(scorecards) -> list[dict]:
    """The same trends as a table, for readers without the charts."""
    return [
        {
            "period": card.period,
            "service_score": figure_text(card.figures, "service_score"),
            "timeliness": figure_text(card.figures, "timeliness"),
            "timeliness_n": card.figures["timeliness_n"],
            "csat": figure_text(card.figures, "csat"),
            "first_response_median": figure_text(card.figures, "first_response_median_seconds"),
            "resolution_median": figure_text(card.figures, "resolution_median_seconds"),
        }
        for card in scorecards
    ]


# --- breakdowns ----------------------------------------------------------------------------


def _breakdown_row(key: str, item: dict) -> dict:
    n = item.get("timeliness_n")
    return {
        "key": key,
        "name": item.get("name") or key,
        "timeliness_value": item.get("timeliness"),
        "timeliness": percent(item.get("timeliness")),
        "interval": interval_text(item.get("timeliness_interval")),
        "n": n,
        "small": n is not None and n < SMALL_SAMPLE,
        "first_response": percent(item.get("first_response_timeliness")),
        "first_response_n": item.get("first_response_timeliness_n"),
        "resolution": percent(item.get("resolution_timeliness")),
        "resolution_n": item.get("resolution_timeliness_n"),
        "resolution_median": hours(item.get("resolution_median_seconds")),
    }


def service_rows(figures: dict) -> list[dict]:
    rows = [_breakdown_row(key, item) for key, item in (figures.get("by_service") or {}).items()]
    return sorted(rows, key=lambda row: row["name"].lower())


def priority_rows(figures: dict) -> list[dict]:
    by_priority = figures.get("by_priority") or {}
    order = list(reversed(Priority.values))  # urgent first
    rows = [_breakdown_row(key, item) for key, item in by_priority.items()]
    return sorted(rows, key=lambda row: order.index(row["key"]) if row["key"] in order else 99)


def worst_services(rows: list[dict]) -> list[dict]:
    """The services least often on time, from at least WORST_MIN_SAMPLE clocks."""
    ranked = [
        row
        for row in rows
        if row["timeliness_value"] is not None and (row["n"] or 0) >= WORST_MIN_SAMPLE
    ]
    ranked.sort(key=lambda row: (row["timeliness_value"], -(row["n"] or 0), row["name"]))
    return ranked[:WORST_COUNT]


# --- the weakest link ----------------------------------------------------------------------


def weakest_link_rows(seconds_by_department: dict | None, departments: dict, visible) -> list[dict]:
    """{department id: seconds} as rows with names, business hours and a link if visible."""
    rows = []
    for key, seconds in (seconds_by_department or {}).items():
        department = departments.get(int(key))
        rows.append(
            {
                "department": department,
                "name": department.name if department else "(deleted department)",
                "seconds": seconds,
                "hours": hours(seconds),
                "linked": department is not None and visible(department.pk),
            }
        )
    return sorted(rows, key=lambda row: (-row["seconds"], row["name"]))


def department_ids_in(*mappings) -> set[int]:
    return {int(key) for mapping in mappings for key in (mapping or {})}


# --- agreements ----------------------------------------------------------------------------


def agreement_label(provider, customer, version: int) -> str:
    """The agreement's name as its own pages say it ("Sales-IT agreement v2"), from the
    departments and the version a snapshot records, without reading the agreement."""
    return Agreement(provider=provider, customer=customer, version=version).label


def _kind_cells(item: dict) -> dict:
    """An agreement's (or a version's, or a target row's) on-time rates per clock kind."""
    cells = {}
    for kind in ClockKind.values:
        n = item.get(f"{kind}_timeliness_n") or 0
        cells[kind] = {
            "rate": percent(item.get(f"{kind}_timeliness")) if n else "no clocks",
            "n": n,
            "small": 0 < n < SMALL_SAMPLE,
            "interval": interval_text(item.get(f"{kind}_timeliness_interval")),
        }
    return cells


def agreement_customer_ids(by_agreement: dict | None) -> set[int]:
    """The customer departments of a snapshot's agreements (not the "every customer" one)."""
    return {
        int(item["customer"])
        for item in (by_agreement or {}).values()
        if item.get("customer") is not None
    }


def _line_customer(item: dict, departments: dict):
    """The customer department of a `by_agreement` item (None: every customer)."""
    customer_id = item.get("customer")
    return departments.get(int(customer_id)) if customer_id is not None else None


def agreement_rows(by_agreement: dict | None, *, provider, departments: dict) -> list[dict]:
    """A provider's agreements measured in the period (`by_agreement`), for its scorecard:
    the agreement with each customer by name, the one with every customer last."""
    rows = []
    for key, item in (by_agreement or {}).items():
        customer = _line_customer(item, departments)
        if item.get("customer") is not None and customer is None:
            continue  # a department deleted since (agreements protect theirs: not expected)
        versions = item.get("versions") or []
        rows.append(
            {
                "key": key,
                "customer": customer,
                "label": agreement_label(provider, customer, versions[-1]) if versions else key,
                "versions": ", ".join(f"v{version}" for version in versions),
                "several_versions": len(versions) > 1,
                "kept": bool(item.get("kept")),
                "kinds": _kind_cells(item),
            }
        )
    return sorted(rows, key=lambda row: (row["customer"] is None, row["label"].lower()))


def pair_agreement_sections(
    by_agreement: dict | None, *, serving, served, agreements: dict, now
) -> list[dict]:
    """How `serving` kept its agreements with `served` (its own, and its agreement with
    every customer) in the period: per agreement its verdict and rates, per version its
    rates and, where the viewer may see the agreement (`agreements`: {(customer id or None,
    version): Agreement}), its terms, each target beside the results measured under it."""
    sections = []
    for key, item in (by_agreement or {}).items():
        customer = served if item.get("customer") is not None else None
        versions = []
        for version in item.get("versions") or []:
            measured = (item.get("by_version") or {}).get(str(version)) or {}
            agreement = agreements.get((customer.pk if customer else None, version))
            results = measured.get("targets") or {}
            targets = [
                {**row, "kinds": _kind_cells(results.get(row["key"]) or {})}
                for row in (agreement_target_rows(agreement) if agreement is not None else [])
            ]
            versions.append(
                {
                    "version": version,
                    "label": agreement_label(serving, customer, version),
                    "agreement": agreement,
                    "status": status_text(agreement, now=now) if agreement is not None else "",
                    "targets": targets,
                    "kinds": _kind_cells(measured),
                }
            )
        if not versions:
            continue
        sections.append(
            {
                "key": key,
                "label": versions[-1]["label"],
                "every_customer": customer is None,
                "kept": bool(item.get("kept")),
                "kinds": _kind_cells(item),
                "versions": versions,
                "terms_shown": any(version["agreement"] is not None for version in versions),
            }
        )
    return sorted(sections, key=lambda section: section["every_customer"])


# --- the period picker --------------------------------------------------------------------


def period_in_kind(period: Period, kind: str, now=None) -> Period:
    """The period of another kind for the same time: its last moment, or now if earlier."""
    if kind == period.kind:
        return period
    now = now or timezone.now()
    moment = min(period.end - datetime.timedelta(seconds=1), now)
    return period_containing(moment, kind)


def period_options(period: Period, now=None) -> list[Period]:
    """The last periods of the selected kind up to the current one, newest first."""
    now = now or timezone.now()
    anchor = max(period_containing(now, period.kind), period)
    options = last_periods(anchor, PICKER_LENGTH)[::-1]
    if period not in options:
        options.append(period)
    return options


def kind_choices() -> list[tuple[str, str]]:
    return [(kind, KIND_LABELS[kind]) for kind in KINDS]


# --- sparklines ----------------------------------------------------------------------------


def sparkline(
    values: list[float | None], width: int = 100, height: int = 28, min_span: float = 20.0
) -> dict:
    """An SVG sparkline of 0-100 values: polylines (a gap breaks the line) and the last point.

    The vertical scale fits the values (at least `min_span` points high, within 0-100), so
    that a change shows without a small wobble looking like a collapse.
    """
    known = [value for value in values if value is not None]
    if not known:
        return {"lines": [], "last": None}
    low, high = min(known), max(known)
    if high - low < min_span:
        middle = (low + high) / 2
        low, high = middle - min_span / 2, middle + min_span / 2
    if low < 0:
        low, high = 0.0, high - low
    if high > 100:
        low, high = low - (high - 100), 100.0
    step = (width - 4) / max(len(values) - 1, 1)
    points: list[tuple[float, float] | None] = [
        None
        if value is None
        else (2 + index * step, height - 2 - (value - low) / (high - low) * (height - 4))
        for index, value in enumerate(values)
    ]
    lines, run = [], []
    for point in [*points, None]:
        if point is None:
            if len(run) == 1:  # a lone point: a tiny segment, so that it shows
                run.append((run[0][0] + 1.5, run[0][1]))
            if run:
                lines.append(" ".join(f"{x:.1f},{y:.1f}" for x, y in run))
            run = []
        else:
            run.append(point)
    last = next((point for point in reversed(points) if point is not None), None)
    return {"lines": lines, "last": (f"{last[0]:.1f}", f"{last[1]:.1f}") if last else None}


# --- the team pulse ------------------------------------------------------------------------


def review_panel(figures: dict, *, linked: bool) -> dict | None:
    """The Reviews card: the period's counts (REVIEW_FIGURES), or None where the department
    had no review nor action counted. Counts only, never a review's text: the text is on the
    review's own page, behind its visibility (reviews.rules). `linked`: the viewer is a
    member of the department, so /reviews/ may list some of its reviews for them; others
    (HR, a viewer of every scorecard) see the counts without a link."""
    if all(figures.get(name) is None for name in REVIEW_FIGURES):
        return None
    rows = [
        {"name": name, "label": label, "value": figures.get(name) or 0}
        for name, label in REVIEW_FIGURES.items()
    ]
    return {"rows": rows, "linked": linked}


def _pulse_mean(figure) -> str:
    return "no data" if figure.value is None else f"{figure.value:.1f}"


def pulse_panel(quarters) -> dict:
    """The team pulse beside the service figures: the latest released quarter's means and
    distribution against the one before, the trend as chart data (static/js/scorecards.js)
    and as table rows. `quarters` are surveys.selectors.PulseQuarter, oldest first."""
    released = [quarter for quarter in quarters if quarter.released]
    latest = released[-1] if released else None
    before = released[-2] if len(released) > 1 else None
    cards = []
    if latest is not None:
        for question, label in PULSE_LABELS.items():
            figure = latest.figures[question]
            earlier = before.figures[question] if before else None
            change = (
                figure.value - earlier.value
                if earlier is not None and figure.value is not None and earlier.value is not None
                else None
            )
            distribution = (latest.distributions or {}).get(question)
            cards.append(
                {
                    "label": label,
                    "question": PULSE_QUESTIONS[question],
                    "value": _pulse_mean(figure),
                    "hidden": figure.hidden,
                    "count": figure.count,
                    "change": None if change is None else f"{change:+.1f}",
                    "distribution": [
                        {"rating": rating, "count": count}
                        for rating, count in (distribution or {}).items()
                    ],
                }
            )
    return {
        "latest": latest,
        "before": before,
        "cards": cards,
        "rows": [
            {
                "quarter": quarter.quarter,
                "invited": quarter.invited,
                "answered": quarter.answered,
                "released": quarter.released,
                "hidden": quarter.hidden,
                **{q: _pulse_mean(quarter.figures[q]) for q in PULSE_QUESTIONS},
            }
            for quarter in quarters
        ],
        "chart": {
            "labels": [quarter.quarter for quarter in quarters],
            "pulse": [
                {
                    "label": f"{label} (1-5)",
                    "values": [quarter.figures[question].value for quarter in quarters],
                }
                for question, label in PULSE_LABELS.items()
            ],
        },
    }
