"""Forms of the review pages; the decisions are the services', the forms only parse."""

from django import forms

from core.limits import TEXT_MAX_LENGTH

from .choices import Factor


def _text(label, help_text=""):
    return forms.CharField(
        label=label,
        required=False,
        max_length=TEXT_MAX_LENGTH,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class SectionForm(forms.Form):
    what_happened = _text("What happened")
    went_well = _text("What went well")
    went_wrong = _text("What went wrong")
    contributing_factors = _text(
        "Contributing factors", "Conditions that made it likely, not people: nobody is a cause."
    )
    factors = forms.MultipleChoiceField(
        label="Factor categories",
        choices=Factor.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class ActionForm(forms.Form):
    title = forms.CharField(label="What will change", max_length=200)
    owner = forms.ChoiceField(label="Owner", help_text="A person of an involved department.")
    due_on = forms.DateField(label="Due", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, owners=(), **kwargs):
        """`owners`: (department, [users]) pairs; the value names both, "dept:user"."""
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [
            (
                department.name,
                [
                    (f"{department.pk}:{user.pk}", user.get_full_name() or user.username)
                    for user in users
                ],
            )
            for department, users in owners
        ]

    def owner_ids(self) -> tuple[int, int]:
        department_id, user_id = self.cleaned_data["owner"].split(":")
        return int(department_id), int(user_id)


class DropForm(forms.Form):
    reason = forms.CharField(
        label="Why drop it",
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class OpenForm(forms.Form):
    references = forms.CharField(
        label="Requests",
        required=False,
        max_length=2000,
        help_text="References or ids, separated by spaces or commas (one provider and customer).",
    )
    provider = forms.SlugField(label="Provider (slug)", required=False)
    customer = forms.SlugField(label="Customer (slug)", required=False)
    period = forms.CharField(
        label="Quarter", required=False, max_length=7, help_text="Like 2026-Q3."
    )


class RuleForm(forms.ModelForm):
    class Meta:
        from .models import ReviewRule

        model = ReviewRule
        fields = [
            "breach_enabled",
            "breach_share_percent",
            "low_rating_enabled",
            "low_rating_max",
            "blocked_chain_enabled",
            "hire_back_enabled",
        ]
        labels = {
            "breach_enabled": "Review requests resolved well past their target",
            "breach_share_percent": "…when past the target by more than (%)",
            "low_rating_enabled": "Review requests rated low",
            "low_rating_max": "…rated at most",
            "blocked_chain_enabled": "Review requests held up by a late blocking request",
            "hire_back_enabled": "Review a customer's quarter when its hire-back turns negative",
        }
