"""Filter pieces shared by every app's FilterSets (pages and API alike)."""

import django_filters
from django import forms
from django.db import models
from django_filters.fields import IsoDateTimeField

from .limits import MAX_ID, datetime_error

TRUE_WORDS = {"true", "1", "yes", "on"}
FALSE_WORDS = {"false", "0", "no", "off"}


class StrictBooleanField(forms.NullBooleanField):
    """true/false (also 1/0, yes/no); anything else is an error, not a silent "any"."""

    widget = forms.Select(choices=[("", "Any"), ("true", "Yes"), ("false", "No")])

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise forms.ValidationError("Use true or false.", code="invalid")

    def validate(self, value):
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class IdField(forms.IntegerField):
    """A whole number that can be an id: `1.5` or `10**30` is an error, not a crash."""

    default_error_messages = {"invalid": "Enter a number."}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class IdFilter(django_filters.NumberFilter):
    """An id (NumberFilter reads a decimal, which the database may not compare with a key)."""

    field_class = IdField


class BoundedIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time within core.limits: year 1 would overflow on its way to UTC."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is not None and (error := datetime_error(value)):
            raise forms.ValidationError(error, code="invalid")
        return value


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField


class FilterSet(django_filters.FilterSet):
    """django-filter's FilterSet with booleans that refuse bad values with a 400."""

    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": StrictBooleanFilter},
        models.NullBooleanField: {"filter_class": StrictBooleanFilter},
    }
