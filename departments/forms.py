"""The forms of the agreement pages: a proposal (its targets a grid of services by
priorities, written as durations: 30m, 4h, 1h30m) and an answer with a comment."""

from django import forms

from core.limits import TEXT_MAX_LENGTH, datetime_error

from .choices import Priority
from .describe import duration_input, parse_business_duration
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
