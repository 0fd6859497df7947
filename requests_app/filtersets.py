"""One FilterSet for the request lists: the queue page, "my requests" and the API."""

import django_filters
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from core.filters import FilterSet, IsoDateTimeFilter, StrictBooleanFilter
from departments.choices import Priority
from departments.models import Department, Service

from .choices import ClockState, Status
from .models import ServiceRequest, SLAClock, pk_from_reference

SLA_STATES = [
    ("running", "Running"),
    ("warning", "Warning (past 75%)"),
    ("breached", "Breached"),
    ("paused", "Paused"),
    ("met", "Met"),
]


class RequestFilterSet(FilterSet):
    # Columns of the request itself: no join to repeat rows, so no DISTINCT (django-filter's
    # default for multiple choices), which would sort every matching row before paginating.
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, distinct=False)
    open = StrictBooleanFilter(method="filter_open", label="Open (new, in progress, waiting)")
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices, distinct=False)
    service = django_filters.ModelChoiceFilter(queryset=Service.objects.all())
    provider_department = django_filters.ModelChoiceFilter(
        queryset=Department.objects.all(), to_field_name="slug", label="Provider department (slug)"
    )
    requesting_department = django_filters.ModelChoiceFilter(
        queryset=Department.objects.all(),
        to_field_name="slug",
        label="Requesting department (slug)",
    )
    assignee = django_filters.CharFilter(
        method="filter_assignee", label='Assignee username ("none" for unassigned)'
    )
    requester = django_filters.CharFilter(
        field_name="requester__username", label="Requester username"
    )
    sla_state = django_filters.ChoiceFilter(
        choices=SLA_STATES, method="filter_sla_state", label="SLA state"
    )
    confidential = StrictBooleanFilter()
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    q = django_filters.CharFilter(method="filter_q", label="Reference or words of the title")

    class Meta:
        model = ServiceRequest
        fields: list[str] = []

    def filter_open(self, queryset, name, value):
        open_statuses = [Status.NEW, Status.IN_PROGRESS, Status.WAITING_ON_REQUESTER]
        return (
            queryset.filter(status__in=open_statuses)
            if value
            else queryset.exclude(status__in=open_statuses)
        )

    def filter_assignee(self, queryset, name, value):
        if value.lower() == "none":
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(assignee__username=value)

    def filter_q(self, queryset, name, value):
        value = value.strip()
        pk = pk_from_reference(value)
        if pk is not None:
            return queryset.filter(pk=pk)
        return queryset.filter(Q(title__icontains=value))

    def filter_sla_state(self, queryset, name, value):
        now = timezone.now()
        clocks = SLAClock.objects.filter(request=OuterRef("pk"), is_current=True)
        if value == "breached":
            # A clock breached, or running past its due time: see ServiceRequest.sla_due_at.
            return queryset.filter(sla_due_at__lt=now)
        if value == "warning":
            condition = Q(state=ClockState.RUNNING, warn_at__lte=now, due_at__gte=now)
        elif value == "running":
            condition = Q(state=ClockState.RUNNING, due_at__gte=now)
        elif value == "paused":
            condition = Q(state=ClockState.PAUSED)
        else:  # met: every current clock met
            return queryset.filter(Exists(clocks.filter(state=ClockState.MET))).exclude(
                Exists(clocks.exclude(state=ClockState.MET))
            )
        return queryset.filter(Exists(clocks.filter(condition)))
