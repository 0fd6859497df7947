import django_filters

from core.filters import FilterSet, IdFilter

from .choices import AgreementState, Priority
from .models import Agreement, Department, Service


class DepartmentFilterSet(FilterSet):
    parent = django_filters.CharFilter(field_name="parent__slug", label="Parent (slug)")
    parent_id = IdFilter(field_name="parent_id")
    q = django_filters.CharFilter(method="filter_q", label="Name or code contains")

    class Meta:
        model = Department
        fields = ["is_provider", "code", "slug"]

    def filter_q(self, queryset, name, value):
        from django.db.models import Q

        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value))


class ServiceFilterSet(FilterSet):
    department = django_filters.CharFilter(field_name="department__slug", label="Department (slug)")
    department_id = IdFilter(field_name="department_id")
    default_priority = django_filters.ChoiceFilter(choices=Priority.choices)
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")

    class Meta:
        model = Service
        fields = ["active"]


class AgreementFilterSet(FilterSet):
    provider = django_filters.CharFilter(field_name="provider__slug", label="Provider (slug)")
    customer = django_filters.CharFilter(
        method="filter_customer", label="Customer (slug; `all` for every customer)"
    )
    state = django_filters.ChoiceFilter(choices=AgreementState.choices)

    class Meta:
        model = Agreement
        fields: list[str] = []

    def filter_customer(self, queryset, name, value):
        if value == "all":
            return queryset.filter(customer__isnull=True)
        return queryset.filter(customer__slug=value)
