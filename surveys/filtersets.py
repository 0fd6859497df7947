"""The FilterSet of the request survey list (the API)."""

import django_filters
from django.db.models import Q
from django.utils import timezone

from core.filters import FilterSet, IdFilter, IsoDateTimeFilter, StrictBooleanFilter
from departments.models import Department

from .choices import SurveyStatus
from .models import RequestSurvey


class RequestSurveyFilterSet(FilterSet):
    mine = StrictBooleanFilter(method="filter_mine", label="Sent to me (true) or not (false)")
    status = django_filters.ChoiceFilter(choices=SurveyStatus.choices, method="filter_status")
    request = IdFilter(field_name="request_id", label="Request id")
    provider_department = django_filters.ModelChoiceFilter(
        queryset=Department.objects.all(), to_field_name="slug", label="Provider department (slug)"
    )
    sent_after = IsoDateTimeFilter(field_name="sent_at", lookup_expr="gte")
    sent_before = IsoDateTimeFilter(field_name="sent_at", lookup_expr="lt")

    class Meta:
        model = RequestSurvey
        fields: list[str] = []

    def filter_mine(self, queryset, name, value):
        user = self.request.user if self.request else None
        condition = Q(requester=user)
        return queryset.filter(condition) if value else queryset.exclude(condition)

    def filter_status(self, queryset, name, value):
        now = timezone.now()
        if value == SurveyStatus.ANSWERED:
            return queryset.filter(response__isnull=False)
        if value == SurveyStatus.WAITING:
            return queryset.filter(response__isnull=True, closes_at__gt=now)
        return queryset.filter(response__isnull=True, closes_at__lte=now)
