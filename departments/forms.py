"""The forms of the agreement pages: a proposal (its targets a grid of services by
priorities, written as durations: 30m, 4h, 1h30m) and an answer with a comment; and the
escalation page's formset of levels."""

from django import forms

from core.limits import TEXT_MAX_LENGTH, datetime_error

from .choices import (
    EscalationAction,
    EscalationAudience,
    EscalationClock,
    EscalationThreshold,
    Priority,
)
from .describe import duration_input, parse_business_duration
from .escalation import MAX_LEVELS, LevelInput
from .models import BusinessCalendar
from .services import TargetInput

EVERY_CUSTOMER = "*"
KINDS = (("first_response", "first response"), ("resolution", "resolution"))


def target_field_name(service, priority: str, kind: str) -> str:
    return f"t-{service.pk if service else 'all'}-{priority}-{kind}"


class ProposalForm(forms.Form):
    """A new version of a pair's agreement. `customers`: (value, label) choices the
    proposer may name (a slug, or "*" for every customer); `services`: the provider's."""

    customer = forms.ChoiceField(label="Customer")
    valid_from = forms.DateField(label="Valid from", widget=forms.DateInput(attrs={"type": "date"}))
    valid_until = forms.DateField(
        label="Valid until",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Its last day; blank: until a later version.",
    )
    calendar = forms.ModelChoiceField(
        label="Support hours",
        queryset=BusinessCalendar.objects.order_by("name"),
        required=False,
        empty_label="The provider's working hours",
    )
    comment = forms.CharField(
        label="Why",
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, customers, services, initial_targets=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = customers
        self.services = [None, *services]
        initial_targets = initial_targets or {}
        self.grid = []
        for service in self.services:
            row = {"service": service, "cells": []}
            for priority, priority_label in Priority.choices:
                for kind, kind_label in KINDS:
                    name = target_field_name(service, priority, kind)
                    scope = service.name if service else "every service"
                    self.fields[name] = forms.CharField(
                        label=f"{scope}, {priority_label.lower()}, {kind_label}",
                        required=False,
                        max_length=20,
                        initial=duration_input(
                            initial_targets.get((service.pk if service else None, priority, kind))
                        ),
                        widget=forms.TextInput(attrs={"placeholder": "4h", "size": 6}),
                    )
                    row["cells"].append(name)
            self.grid.append(row)
        self.priorities = Priority.choices

    def rows(self):
        """The grid for the template: each service with its bound fields."""
        return [
            {"service": row["service"], "fields": [self[name] for name in row["cells"]]}
            for row in self.grid
        ]

    def clean_valid_from(self):
        value = self.cleaned_data["valid_from"]
        if datetime_error(value):
            raise forms.ValidationError(datetime_error(value))
        return value

    def clean_valid_until(self):
        value = self.cleaned_data["valid_until"]
        if value is not None and datetime_error(value):
            raise forms.ValidationError(datetime_error(value))
        return value

    def clean(self):
        data = super().clean()
        targets = []
        for service in self.services:
            for priority, _label in Priority.choices:
                names = [target_field_name(service, priority, kind) for kind, _ in KINDS]
                texts = [(data.get(name) or "").strip() for name in names]
                if not any(texts):
                    continue
                values = []
                for name, text in zip(names, texts, strict=True):
                    if not text:
                        self.add_error(name, "Give both targets, or neither.")
                        continue
                    try:
                        values.append(parse_business_duration(text))
                    except ValueError as exc:
                        self.add_error(name, str(exc))
                if len(values) == 2:
                    targets.append(TargetInput(service, priority, *values))
        data["targets"] = targets
        return data


class DecisionForm(forms.Form):
    comment = forms.CharField(
        label="Comment",
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class EscalationLevelForm(forms.Form):
    """One level of the escalation page: when (a share of the target, or a business time
    past due, written as the org import writes them: 50%, 4h), whom to tell, what to do."""

    # Initial values, so that a blank extra row posts as unchanged and is left out.
    clock = forms.ChoiceField(
        label="Clock", choices=EscalationClock.choices, initial=EscalationClock.BOTH
    )
    threshold = forms.ChoiceField(
        label="When", choices=EscalationThreshold.choices, initial=EscalationThreshold.SHARE
    )
    amount = forms.CharField(
        label="How much",
        max_length=20,
        help_text="A share as 50%, or a time past due as 4h or 1h30m.",
        widget=forms.TextInput(attrs={"size": 6}),
    )
    notify = forms.MultipleChoiceField(
        label="Tell",
        choices=EscalationAudience.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    action = forms.ChoiceField(label="Then", choices=EscalationAction.choices, required=False)
    assign_to = forms.ModelChoiceField(
        label="Assign to", queryset=None, required=False, empty_label="Nobody"
    )
    raise_to = forms.ChoiceField(
        label="Raise to", choices=[("", "-"), *Priority.choices], required=False
    )

    def __init__(self, *args, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assign_to"].queryset = staff

    def clean(self):
        data = super().clean()
        text = (data.get("amount") or "").strip()
        if data.get("threshold") == EscalationThreshold.SHARE:
            number = text.rstrip("%").strip()
            if not number.isdigit():
                self.add_error("amount", f"'{text}' is not a percentage (write e.g. 50%).")
            else:
                data["value"] = int(number)
        elif data.get("threshold") == EscalationThreshold.OVERDUE and text:
            try:
                data["value"] = int(parse_business_duration(text).total_seconds())
            except ValueError as exc:
                self.add_error("amount", str(exc))
        return data

    def level_input(self) -> LevelInput:
        data = self.cleaned_data
        return LevelInput(
            threshold=data["threshold"],
            value=data.get("value", 0),
            clock=data["clock"],
            notify=list(data.get("notify") or []),
            action=data.get("action") or "",
            assign_to=data.get("assign_to"),
            raise_to=data.get("raise_to") or "",
        )


def level_initial(level) -> dict:
    """A stored level as the form's initial data."""
    amount = (
        f"{level.value}%"
        if level.threshold == EscalationThreshold.SHARE
        else duration_input(level.value)
    )
    return {
        "clock": level.clock,
        "threshold": level.threshold,
        "amount": amount,
        "notify": list(level.notify),
        "action": level.action,
        "assign_to": level.assign_to_id,
        "raise_to": level.raise_to,
    }


class BaseLevelFormSet(forms.BaseFormSet):
    def __init__(self, *args, staff=None, **kwargs):
        self.staff = staff
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "staff": self.staff}

    def level_inputs(self) -> list[LevelInput]:
        """The levels kept (filled in, not deleted), in the page's order."""
        return [
            form.level_input()
            for form in self.forms
            if form.has_changed() and not self._should_delete_form(form)
        ]


EscalationLevelFormSet = forms.formset_factory(
    EscalationLevelForm,
    formset=BaseLevelFormSet,
    extra=2,
    can_delete=True,
    max_num=MAX_LEVELS,
    validate_max=True,
)
