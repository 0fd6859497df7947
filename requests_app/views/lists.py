"""My requests and the department queue, with its bulk assign."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.htmx import htmx_render
from departments.models import Department
from departments.selectors import departments_managed_by, departments_served_by

from .. import services
from ..filtersets import RequestFilterSet
from ..forms import (
    BulkAssignForm,
    MyRequestsFilterForm,
    QueueFilterForm,
    staff_ordered,
)
from ..models import PRIORITY_RANK
from ..selectors import (
    provider_staff,
    queue_for,
    queue_rows,
    request_list,
    requests_visible_to,
)
from .common import forbidden, person_name, with_live_clocks

MY_REQUESTS_PAGE_SIZE = 25
QUEUE_PAGE_SIZE = 50


# --- my requests ---------------------------------------------------------------------------


@login_required
def my_requests(request):
    """The requests I filed; for managers, a tab with their departments' requests."""
    managed = list(departments_managed_by(user=request.user).order_by("name"))
    scope = "department" if managed and request.GET.get("scope") == "department" else "mine"
    # The list shows no description: neither its Markdown nor its HTML leaves the database.
    requests = request_list(user=request.user).defer("description", "description_html")
    if scope == "department":
        requests = requests.filter(requesting_department__in=managed)
    else:
        requests = requests.filter(requester=request.user)
    form = MyRequestsFilterForm(request.GET)
    form.is_valid()
    filterset = RequestFilterSet(form.filterset_data(), queryset=requests, request=request)
    page = Paginator(filterset.qs.order_by("-created_at", "-pk"), MY_REQUESTS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = with_live_clocks(list(page.object_list), now=timezone.now())
    return render(
        request,
        "requests/list.html",
        {
            "scope": scope,
            "managed": managed,
            "filter_form": form,
            "page": page,
            "rows": rows,
            "filtered": any(form.filterset_data().values()),
        },
    )


# --- department queue ----------------------------------------------------------------------

RESOLUTION_DUE = F("resolution_due_at").asc(nulls_last=True)


def _queue_sorted(requests, sort: str):
    if sort == "created":
        return requests.order_by("created_at", "pk")
    if sort == "-created":
        return requests.order_by("-created_at", "-pk")
    if sort == "priority":
        return requests.alias(priority_rank=PRIORITY_RANK).order_by(
            "-priority_rank", RESOLUTION_DUE, "pk"
        )
    return requests.order_by(RESOLUTION_DUE, "created_at", "pk")


def _served_department_or_404(user, slug) -> tuple[Department, list[Department]]:
    served = list(departments_served_by(user=user).order_by("name"))
    department = next((d for d in served if d.slug == slug), None)
    if department is None:
        raise Http404("No such queue.")
    return department, served


@login_required
def queue(request, slug=None):
    """A provider department's open work, soonest due first, for its agents and managers."""
    if slug is None:
        first = departments_served_by(user=request.user).order_by("name").first()
        if first is None:
            raise Http404("You work no department's queue.")
        return redirect("requests:queue-department", slug=first.slug)
    department, served = _served_department_or_404(request.user, slug)
    staff = provider_staff(department_id=department.pk)
    data = request.GET.copy()
    if "status" not in data:
        data["status"] = "open"
    people = list(staff_ordered(staff))
    form = QueueFilterForm(data, user=request.user, department=department, people=people)
    form.is_valid()
    requests = queue_for(user=request.user, department=department)
    filterset = RequestFilterSet(form.filterset_data(), queryset=requests, request=request)
    # The page is chosen by id along the queue's indexes; its rows are then read by id.
    ids = _queue_sorted(filterset.qs, form.ordering).values_list("pk", flat=True)
    page = Paginator(ids, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "department": department,
        "served": served,
        "filter_form": form,
        "page": page,
        "rows": queue_rows(list(page.object_list), now=timezone.now()),
        "bulk_form": BulkAssignForm(requests=requests, staff=staff, people=people),
    }
    return htmx_render(
        request,
        "requests/queue.html",
        "requests/partials/queue_table.html",
        context,
        partial_wanted=bool(request.htmx) and not request.htmx.history_restore_request,
    )


@login_required
@require_POST
def queue_assign(request, slug):
    """Assign the ticked requests of the queue to one person."""
    department, _served = _served_department_or_404(request.user, slug)
    query = QueryDict(request.POST.get("query", "")).urlencode()
    back = reverse("requests:queue-department", args=[department.slug]) + (
        f"?{query}" if query else ""
    )
    form = BulkAssignForm(
        request.POST,
        requests=requests_visible_to(request.user).filter(provider_department=department),
        staff=provider_staff(department_id=department.pk),
    )
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    assignee = form.cleaned_data["assignee"]
    try:
        count = services.requests_bulk_assign(
            requests=list(form.cleaned_data["ids"]), actor=request.user, assignee=assignee
        )
    except ValidationError as exc:
        messages.error(request, "Nothing was assigned: " + " ".join(exc.messages))
        return redirect(back)
    except PermissionDenied as exc:
        return forbidden(request, exc)
    plural = "request" if count == 1 else "requests"
    messages.success(request, f"Assigned {count} {plural} to {person_name(assignee)}.")
    return redirect(back)
