"""Filters shared by the reviews pages and API."""

import django_filters

from core.filters import FilterSet, IdFilter, StrictBooleanFilter

from .choices import ActionState, ReviewState, Trigger
from .models import Review, ReviewAction


class ReviewFilterSet(FilterSet):
    state = django_filters.ChoiceFilter(choices=ReviewState.choices)
    trigger = django_filters.ChoiceFilter(choices=Trigger.choices)
    provider_department = django_filters.CharFilter(field_name="provider_department__slug")
    customer_department = django_filters.CharFilter(field_name="customer_department__slug")

    class Meta:
        model = Review
        fields = ["state", "trigger", "provider_department", "customer_department"]


class ReviewActionFilterSet(FilterSet):
    state = django_filters.ChoiceFilter(choices=ActionState.choices)
    review = IdFilter(field_name="review_id")
    mine = StrictBooleanFilter(method="filter_mine")

    class Meta:
        model = ReviewAction
        fields = ["state", "review"]

    def filter_mine(self, queryset, name, value):
        if value:
            return queryset.filter(owner=self.request.user)
        return queryset
