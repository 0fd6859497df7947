"""The figure names of a scorecard (a contract of DESIGN.md) and how a stored snapshot becomes
figures a reader may see.

`FIGURE_NAMES` is the canonical list: the API answers every one of them, null when a figure
has no data or cannot be shown. A figure from fewer than ANONYMITY_MIN survey answers is
nulled here as well as at computation, so that a snapshot written before a threshold change
(or by a source that forgot) still never shows one.
"""

from __future__ import annotations

from django.conf import settings

# Rates are fractions 0-1, each with `<name>_n` (sample size) and `<name>_interval` (95% Wilson).
RATE_NAMES = [
    "timeliness",
    "first_response_timeliness",
    "resolution_timeliness",
    "promise_kept",
    "csat",
    "response_rate",
]
TIME_NAMES = [
    "first_response_median_seconds",
    "first_response_p90_seconds",
    "resolution_median_seconds",
    "resolution_p90_seconds",
]
DIMENSIONS = ["attitude", "communication", "problem_solving", "timeliness", "teamwork"]
DIMENSION_NAMES = [f"{dimension}_mean" for dimension in DIMENSIONS]

# Survey figures and the figure that holds their number of answers: hidden under the
# anonymity threshold. `mean_rating` is over the same ratings as `csat`.
SURVEY_SAMPLES = {
    "csat": ("csat_n",),
    "mean_rating": ("mean_rating_n", "csat_n"),
    "hire_back": ("hire_back_n",),
    "request_quality": ("request_quality_n",),
    **{name: (f"{name}_n",) for name in DIMENSION_NAMES},
}


def _rate(name: str) -> list[str]:
    return [name, f"{name}_n", f"{name}_interval"]


FIGURE_NAMES: list[str] = [
    "service_score",
    *_rate("timeliness"),
    *_rate("first_response_timeliness"),
    *_rate("resolution_timeliness"),
    *TIME_NAMES,
    *_rate("promise_kept"),
    *_rate("csat"),
    "mean_rating",
    "mean_rating_n",
    *_rate("response_rate"),
    "hire_back",
    "hire_back_n",
    *DIMENSION_NAMES,
    "request_quality",
    "request_quality_n",
    "customer_responsiveness_seconds",
    "customer_responsiveness_n",
    # The weakest link: {department id: business seconds} both ways round.
    "blocked_by_late_seconds",
    "blocked_by_late_departments",
    "caused_delay_seconds",
    "caused_delay_departments",
    # A provider's clocks per service ({service id: {...}}) and per priority.
    "by_service",
    "by_priority",
]


def anonymity_min() -> int:
    return settings.ANONYMITY_MIN


def sample_of(figures: dict, name: str) -> int | None:
    """The sample size of a figure, if the snapshot holds one."""
    for sample_name in SURVEY_SAMPLES.get(name, (f"{name}_n",)):
        if figures.get(sample_name) is not None:
            return figures[sample_name]
    return None


def is_hidden(figures: dict, name: str) -> bool:
    """A survey figure from fewer answers than the anonymity threshold."""
    if name not in SURVEY_SAMPLES:
        return False
    sample = sample_of(figures, name)
    return sample is not None and 0 < sample < anonymity_min()


def figures_shown(stored: dict | None) -> dict:
    """Every known figure (null when missing or hidden), then any other stored figure."""
    stored = stored or {}
    shown = {name: stored.get(name) for name in FIGURE_NAMES}
    shown.update({name: value for name, value in stored.items() if name not in shown})
    for name in SURVEY_SAMPLES:
        if is_hidden(stored, name):
            shown[name] = None
            if f"{name}_interval" in shown:
                shown[f"{name}_interval"] = None
    return shown
