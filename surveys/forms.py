"""Forms of the survey pages. They check the shape of the input; the rules (who may answer,
until when, once) live in the services, whose ValidationErrors the views put back here."""

from django import forms

from .choices import (
    DIMENSION_QUESTIONS,
    DIMENSIONS,
    HIRE_BACK_QUESTION,
    PULSE_QUESTIONS,
    RATING_LABELS,
    Dimension,
    HireBack,
)
from .services import COMMENT_MAX_LENGTH

RATING_CHOICES = [(value, str(value)) for value in RATING_LABELS]


def _rating(label: str, *, required: bool, help_text: str = "") -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=RATING_CHOICES if required else [("", "No answer"), *RATING_CHOICES],
        coerce=int,
        empty_value=None,
        required=required,
        widget=forms.RadioSelect,
        help_text=help_text,
    )


def _comment() -> forms.CharField:
    return forms.CharField(
        label="Anything else?",
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class OverallForm(forms.Form):
    """The one question of the first page: one click on 1-5 answers it."""

    overall = _rating("Overall", required=True)


class ResponseForm(forms.Form):
    """The whole answer: overall, the five optional dimensions and a comment."""

    overall = _rating("Overall", required=True)
    attitude = _rating(
        Dimension.ATTITUDE.label, required=False, help_text=DIMENSION_QUESTIONS["attitude"]
    )
    communication = _rating(
        Dimension.COMMUNICATION.label,
        required=False,
        help_text=DIMENSION_QUESTIONS["communication"],
    )
    problem_solving = _rating(
        Dimension.PROBLEM_SOLVING.label,
        required=False,
        help_text=DIMENSION_QUESTIONS["problem_solving"],
    )
    timeliness = _rating(
        Dimension.TIMELINESS.label, required=False, help_text=DIMENSION_QUESTIONS["timeliness"]
    )
    teamwork = _rating(
        Dimension.TEAMWORK.label, required=False, help_text=DIMENSION_QUESTIONS["teamwork"]
    )
    comment = _comment()

    def dimension_fields(self):
        return [self[name] for name in DIMENSIONS]

    def ratings(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in DIMENSIONS}


class RelationshipItemForm(forms.Form):
    """One provider to rate in the quarterly survey; left blank, it is skipped."""

    hire_back = forms.TypedChoiceField(
        label=HIRE_BACK_QUESTION,
        choices=HireBack.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    attitude = _rating(Dimension.ATTITUDE.label, required=False)
    communication = _rating(Dimension.COMMUNICATION.label, required=False)
    problem_solving = _rating(Dimension.PROBLEM_SOLVING.label, required=False)
    timeliness = _rating(Dimension.TIMELINESS.label, required=False)
    teamwork = _rating(Dimension.TEAMWORK.label, required=False)
    comment = _comment()

    def __init__(self, *args, item, **kwargs):
        kwargs.setdefault("prefix", f"item-{item.pk}")
        super().__init__(*args, **kwargs)
        self.item = item

    def dimension_fields(self):
        return [self[name] for name in DIMENSIONS]

    def clean(self):
        data = super().clean()
        if not data.get("hire_back") and (
            any(data.get(name) for name in DIMENSIONS) or data.get("comment")
        ):
            self.add_error("hire_back", "Answer this question to rate the department.")
        return data

    @property
    def answered(self) -> bool:
        return bool(self.is_bound and self.is_valid() and self.cleaned_data.get("hire_back"))

    def answer(self) -> dict:
        return {"item": self.item.pk, **self.cleaned_data}


def relationship_forms(items, data=None) -> list[RelationshipItemForm]:
    return [RelationshipItemForm(data, item=item) for item in items]


class PulseItemForm(forms.Form):
    """The team pulse about one of the invitee's own departments; left blank, it is skipped,
    but half an answer is not taken (both questions make one answer)."""

    morale = _rating(
        PULSE_QUESTIONS["morale"], required=False, help_text="1 (not good at all) to 5 (great)."
    )
    collaboration = _rating(
        PULSE_QUESTIONS["collaboration"],
        required=False,
        help_text="1 (not well at all) to 5 (very well).",
    )

    def __init__(self, *args, item, **kwargs):
        kwargs.setdefault("prefix", f"pulse-{item.pk}")
        super().__init__(*args, **kwargs)
        self.item = item

    def clean(self):
        data = super().clean()
        given = [name for name in PULSE_QUESTIONS if data.get(name) is not None]
        if given and len(given) < len(PULSE_QUESTIONS):
            for name in PULSE_QUESTIONS:
                if data.get(name) is None and name not in self.errors:
                    self.add_error(name, "Answer both questions, or neither.")
        return data

    @property
    def answered(self) -> bool:
        return bool(self.is_bound and self.is_valid() and self.cleaned_data.get("morale"))

    def answer(self) -> dict:
        return {"item": self.item.pk, **self.cleaned_data}


def pulse_forms(items, data=None) -> list[PulseItemForm]:
    return [PulseItemForm(data, item=item) for item in items]


class QualityRatingForm(forms.Form):
    """The provider's rating of a request (two-sided rating)."""

    clarity = _rating(
        "Clear and complete", required=True, help_text="Did the request say what was needed?"
    )
    responsiveness = _rating(
        "Requester's responsiveness",
        required=False,
        help_text="How quickly did the requester answer your questions?",
    )
