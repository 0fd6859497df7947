from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render

from .models import Service
from .selectors import department_list, effective_targets


@login_required
def department_directory(request):
    """Every department with its services: where a staff member finds whom to ask."""
    departments = department_list().prefetch_related(
        Prefetch("services", queryset=Service.objects.filter(active=True).order_by("name"))
    )
    return render(request, "departments/directory.html", {"departments": departments})


@login_required
def department_detail(request, slug):
    """A department's catalog with the SLA targets that apply to each service."""
    department = get_object_or_404(
        department_list().prefetch_related("sla_targets", "children"), slug=slug
    )
    services = department.services.filter(active=True).prefetch_related("sla_targets")
    catalog = []
    for service in services:
        service.department = department  # reuse the prefetched default targets
        catalog.append((service, effective_targets(service=service)))
    return render(
        request, "departments/detail.html", {"department": department, "catalog": catalog}
    )
