"""Template helpers of the survey pages: stars, percentages, hidden figures."""

from django import template
from django.utils.html import format_html

from ..choices import Dimension

register = template.Library()

DASH = "\N{EN DASH}"

DIMENSION_LABELS = dict(Dimension.choices)


@register.filter
def stars(value) -> str:
    """4 -> ★★★★☆ (with the number for screen readers)."""
    if value in (None, ""):
        return ""
    value = int(value)
    return format_html(
        '<span class="stars" aria-label="{} out of 5">{}{}</span>',
        value,
        "★" * value,
        "☆" * (5 - value),
    )


@register.filter
def percent(value, digits: int = 0) -> str:
    """0.734 -> 73%; None -> a dash."""
    if value is None:
        return DASH
    return f"{100 * value:.{int(digits)}f}%"


@register.filter
def mean(value) -> str:
    """A mean rating with one decimal; None -> a dash."""
    if value is None:
        return DASH
    return f"{value:.1f}"


@register.filter
def signed(value) -> str:
    """A hire-back score: +42, -7, 0."""
    if value is None:
        return DASH
    return f"{value:+.0f}"


@register.filter
def dimension_label(name: str) -> str:
    return DIMENSION_LABELS.get(name, name)


@register.filter
def get(mapping, key):
    """mapping[key] in a template (None when missing)."""
    try:
        return mapping.get(key) if hasattr(mapping, "get") else mapping[key]
    except (KeyError, IndexError, TypeError):
        return None
