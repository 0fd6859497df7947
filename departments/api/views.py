from rest_framework import viewsets

from ..filtersets import DepartmentFilterSet, ServiceFilterSet
from ..selectors import department_list, service_list
from .serializers import DepartmentSerializer, ServiceSerializer


class DepartmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Departments of the company (every signed-in user may see the directory)."""

    serializer_class = DepartmentSerializer
    filterset_class = DepartmentFilterSet
    ordering_fields = ["name", "code"]
    lookup_field = "slug"

    def get_queryset(self):
        return department_list()


class ServiceViewSet(viewsets.ReadOnlyModelViewSet):
    """The service catalog of every provider, with effective SLA targets."""

    serializer_class = ServiceSerializer
    filterset_class = ServiceFilterSet
    ordering_fields = ["name", "department__name"]

    def get_queryset(self):
        return service_list().prefetch_related("sla_targets", "department__sla_targets")
