"""Filing a request."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from departments.models import Department

from .. import services
from ..forms import (
    RequestCreateForm,
    offered_services,
)
from ..workflow import (
    request_file_authorize,
)
from .common import errors_onto, forbidden

# --- filing --------------------------------------------------------------------------------


def _new_request_initial(request) -> dict:
    """Pre-selection from the query string: ?service=ID (from a department page) or
    ?department=slug."""
    initial = {}
    service_id = request.GET.get("service", "")
    if service_id.isdigit():
        service = offered_services().filter(pk=int(service_id)).first()
        if service is not None:
            initial.update(
                service=service.pk,
                department=service.department.slug,
                priority=service.default_priority,
            )
            return initial
    slug = request.GET.get("department", "")
    if slug:
        initial["department"] = slug
    return initial


@login_required
def request_new(request):
    """File a request: a department, one of its services, and what is needed."""
    try:
        request_file_authorize(requester=request.user)
    except PermissionDenied as exc:
        return forbidden(request, exc)
    if request.method == "POST":
        form = RequestCreateForm(request.POST, request.FILES, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                created = services.request_create(
                    requester=request.user,
                    service=data["service"],
                    title=data["title"],
                    description=data["description"],
                    priority=data["priority"] or None,
                    confidential=data["confidential"],
                    requesting_department=data.get("requesting_department"),
                    files=data["files"],
                )
            except ValidationError as exc:
                errors_onto(form, exc)
            else:
                messages.success(
                    request,
                    f"{created.reference} is filed with {created.provider_department.name}.",
                )
                return redirect("requests:detail", pk=created.pk)
    else:
        form = RequestCreateForm(initial=_new_request_initial(request), user=request.user)
    return render(request, "requests/new.html", {"form": form})


@login_required
@require_GET
def request_new_services(request):
    """The service <select> for one department (htmx swaps it in when the department changes)."""
    slug = request.GET.get("department", "")
    department = Department.objects.filter(slug=slug, is_provider=True).first() if slug else None
    form = RequestCreateForm(user=request.user, department=department)
    return render(request, "requests/partials/service_select.html", {"form": form})
