"""The query parameters of the scorecard pages: a period (with its kind), a role, a figure."""

from django import forms
from django.utils import timezone

from core.periods import KINDS, QUARTER, Period, parse_period, period_containing

from .choices import ScoreRole
from .display import KIND_LABELS, period_in_kind
from .figures import FIGURE
from .selectors import MATRIX_FIGURES

FIGURE_LABELS = {name: FIGURE[name].matrix_label for name in MATRIX_FIGURES}


class PeriodForm(forms.Form):
    """`?period=2026-Q3&kind=month`: a period key, moved to another kind if one is given.

    A bad value is reported beside its field and the page falls back to the default, so a
    mistyped link still shows something useful.
    """

    period = forms.CharField(required=False, label="Period")
    kind = forms.ChoiceField(
        required=False, label="Period kind", choices=[(k, KIND_LABELS[k]) for k in KINDS]
    )

    def __init__(self, data=None, *, now=None, **kwargs):
        super().__init__(data, **kwargs)
        self.now = now or timezone.now()

    def clean_period(self):
        key = self.cleaned_data["period"]
        if not key:
            return None
        try:
            return parse_period(key)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def chosen_period(self) -> Period:
        """The period asked for, else the current quarter."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        period = data.get("period") or period_containing(self.now, QUARTER)
        if data.get("kind"):
            period = period_in_kind(period, data["kind"], self.now)
        return period


class ScorecardForm(PeriodForm):
    role = forms.ChoiceField(required=False, label="Role", choices=ScoreRole.choices)

    def chosen_role(self, default: str) -> str:
        self.is_valid()
        return getattr(self, "cleaned_data", {}).get("role") or default


class MatrixForm(PeriodForm):
    figure = forms.ChoiceField(
        required=False,
        label="Figure",
        choices=[(name, FIGURE_LABELS[name]) for name in MATRIX_FIGURES],
    )

    def chosen_figure(self) -> str:
        self.is_valid()
        return getattr(self, "cleaned_data", {}).get("figure") or MATRIX_FIGURES[0]
