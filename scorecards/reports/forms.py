from django import forms

from .choices import ReportFormat
from .selectors import report_quarters


class ReportRequestForm(forms.Form):
    """The Reports page's form: a recent quarter, a format, and whether to make it anew."""

    quarter = forms.ChoiceField(label="Quarter")
    format = forms.ChoiceField(
        label="Format", choices=ReportFormat.choices, initial=ReportFormat.XLSX
    )
    force = forms.BooleanField(
        label="Generate again even if a report of this quarter and format is stored",
        required=False,
    )

    def __init__(self, *args, now=None, **kwargs):
        super().__init__(*args, **kwargs)
        quarters = report_quarters(now=now)
        self.fields["quarter"].choices = [
            (q.key, f"{q.key} (in progress)" if not q.is_closed(now) else q.key) for q in quarters
        ]
        # The last closed quarter: what HR usually wants.
        self.fields["quarter"].initial = quarters[1].key if len(quarters) > 1 else quarters[0].key
