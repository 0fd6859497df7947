"""Filters shared by the reviews pages and API."""

import django_filters

from .choices import ActionState, ReviewState, Trigger
from .models import Review, ReviewAction


class ReviewFilterSet(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=ReviewState.choices)
    trigger = django_filters.ChoiceFilter(choices=Trigger.choices)
    provider_department = django_filters.CharFilter(field_name="provider_department__slug")
    customer_department = django_filters.CharFilter(field_name="customer_department__slug")

    class Meta:
        model = Review
        fields = ["state", "trigger", "provider_department", "customer_department"]


class ReviewActionFilterSet(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=ActionState.choices)
    review = django_filters.NumberFilter(field_name="review_id")
    mine = django_filters.BooleanFilter(method="filter_mine")

    class Meta:
        model = ReviewAction
        fields = ["state", "review"]

    def filter_mine(self, queryset, name, value):
        if value:
            return queryset.filter(owner=self.request.user)
        return queryset
