"""Small statistics used by the score definitions."""

import math

# The 97.5th percentile of the standard normal distribution: a two-sided 95% interval.
Z_95 = 1.959963984540054


def wilson_interval(successes: int, total: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion; None without a sample."""
    if total <= 0:
        return None
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return (max(0.0, centre - margin), min(1.0, centre + margin))


def percentile_cont(values, fraction: float) -> float | None:
    """Continuous percentile with linear interpolation, as PostgreSQL's percentile_cont."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * fraction
    lower = math.floor(position)
    upper = math.ceil(position)
    if lower == upper:
        return float(ordered[lower])
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def rate_figures(name: str, successes: int, total: int) -> dict:
    """A rate with its sample size and 95% Wilson interval, as snapshot figures."""
    interval = wilson_interval(successes, total)
    return {
        name: successes / total if total else None,
        f"{name}_n": total,
        f"{name}_interval": list(interval) if interval else None,
    }
