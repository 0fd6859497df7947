"""Pages for requests: thin views over the selectors and services.

Every request is fetched through `requests_visible_to` (others' requests answer 404), every
write is a POST that calls a service; the services' ValidationErrors go back onto the form
(or into a message), their PermissionDenied becomes a 403 page. A successful POST redirects,
or for htmx answers with the part of the page it changed.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import F
from django.http import FileResponse, Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from departments.choices import Priority
from departments.models import Department, Membership
from departments.selectors import departments_managed_by, departments_served_by

from . import services, signals
from .choices import ClockKind, EventKind, Status
from .filtersets import RequestFilterSet
from .forms import (
    AssignForm,
    AttachForm,
    BlockForm,
    BulkAssignForm,
    CommentForm,
    MyRequestsFilterForm,
    PriorityForm,
    PromiseForm,
    QueueFilterForm,
    RequestCreateForm,
    TransferForm,
    TransitionForm,
    UnblockForm,
    offered_services,
    staff_ordered,
)
from .live import current_clocks, sla_summary
from .models import PRIORITY_RANK, Notification, RequestLink, ServiceRequest
from .notifications import notifications_mark_read
from .selectors import (
    attachments_visible_to,
    comments_visible_to,
    is_provider_staff,
    notifications_for,
    provider_staff,
    queue_for,
    queue_rows,
    request_list,
    requester_history,
    requests_visible_to,
    timeline_for,
)
from .workflow import (
    ACTION_ACTORS,
    TRANSITIONS,
    actions_allowed,
    reopen_until,
    request_action_authorize,
    request_file_authorize,
)

MY_REQUESTS_PAGE_SIZE = 25
QUEUE_PAGE_SIZE = 50
NOTIFICATIONS_PAGE_SIZE = 25
MAX_NOTIFICATION_PAGE = 10_000


@dataclass
class UncountedPage:
    """A page for `partials/pagination.html` that knows whether there is a next page, not
    how many there are (no `paginator`)."""

    object_list: list
    number: int
    has_next: bool
    paginator = None

    def __iter__(self):
        return iter(self.object_list)

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_previous() or self.has_next

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


def _visible_or_404(user, pk):
    request = requests_visible_to(user).filter(pk=pk).first()
    if request is None:
        raise Http404("No such request.")
    return request


def _listed_or_404(user, pk):
    """The request with what its page shows (people, departments, clocks), if visible."""
    request = request_list(user=user).filter(pk=pk).first()
    if request is None:
        raise Http404("No such request.")
    return request


def _with_live_clocks(rows, *, now) -> list:
    """Each row gets its clocks as of now and its overall SLA state, from the prefetch."""
    for row in rows:
        row.live_clocks = current_clocks(row, now=now)
        row.sla_state, row.sla_clock = sla_summary(row.live_clocks)
        row.resolution_clock = row.live_clocks.get(ClockKind.RESOLUTION)
    return rows


def _errors_onto(form, exc: ValidationError, *, request=None, aliases=None) -> None:
    """A service's errors: beside the form's fields, the rest as messages (or form-wide)."""
    aliases = aliases or {}
    errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for field, field_errors in errors.items():
        name = aliases.get(field, field)
        if name in form.fields:
            form.add_error(name, field_errors)
        elif request is not None:
            for error in field_errors:
                messages.error(request, error)
        else:
            form.add_error(None, field_errors)


def _forbidden(request, exc: PermissionDenied):
    reason = str(exc) or "You may not do this."
    if request.htmx:
        # htmx does not swap a 403: reload the page, which shows the message.
        messages.error(request, reason)
        return HttpResponseClientRefresh()
    return render(request, "requests/forbidden.html", {"reason": reason}, status=403)


def _person(user) -> str:
    return (user.get_full_name() or user.username) if user else "nobody"


# --- attachments ---------------------------------------------------------------------------


@login_required
def attachment_download(request, pk, attachment_pk):
    """Files only through here: visibility checked, always sent as a download."""
    service_request = _visible_or_404(request.user, pk)
    attachment = (
        attachments_visible_to(user=request.user, request=service_request)
        .filter(pk=attachment_pk)
        .first()
    )
    if attachment is None:
        raise Http404("No such file.")
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- my requests ---------------------------------------------------------------------------


@login_required
def my_requests(request):
    """The requests I filed; for managers, a tab with their departments' requests."""
    managed = list(departments_managed_by(user=request.user).order_by("name"))
    scope = "department" if managed and request.GET.get("scope") == "department" else "mine"
    requests = request_list(user=request.user)
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
    rows = _with_live_clocks(list(page.object_list), now=timezone.now())
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
        return _forbidden(request, exc)
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
                _errors_onto(form, exc)
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


# --- the request page ----------------------------------------------------------------------


# The page's buttons for the workflow's actions (a reply is "comment", an internal one "note").
PAGE_BUTTONS = {"reply": "comment", "internal": "note"}


def _can(user, service_request, *, is_staff: bool, now) -> dict:
    """Which buttons and forms the page shows: exactly the actions the workflow allows the
    viewer (`workflow.actions_allowed`, which the API lists as `allowed_actions`)."""
    is_requester = service_request.requester_id == user.pk
    allowed = set(
        actions_allowed(
            service_request, is_requester=is_requester, is_provider_staff=is_staff, now=now
        )
    )
    can = {action: action in allowed for action in ACTION_ACTORS}
    can.update({button: action in allowed for button, action in PAGE_BUTTONS.items()})
    can["assign_me"] = can["assign"] and service_request.assignee_id != user.pk
    # The requester's reply resumes a request waiting on them (services.request_comment_add).
    can["resume_by_reply"] = (
        can["reply"] and is_requester and service_request.status == Status.WAITING_ON_REQUESTER
    )
    can["act"] = bool(allowed - {"comment", "note", "attach", "unblock"})
    can["reopen_until"] = reopen_until(service_request) if can["reopen"] else None
    return can


def _timeline(user, service_request) -> tuple[list, list, dict]:
    """Events and comments merged in order, the visible attachments, and the names the
    timeline sentences need, in a fixed number of queries."""
    comments = {c.pk: c for c in comments_visible_to(user=user, request=service_request)}
    attachments = list(attachments_visible_to(user=user, request=service_request))
    attachment_by_pk = {a.pk: a for a in attachments}
    events = list(timeline_for(user=user, request=service_request))
    entries = []
    for event in events:
        data = event.data or {}
        if event.kind in (EventKind.COMMENTED, EventKind.NOTE_ADDED):
            comment = comments.get(data.get("comment"))
            if comment is not None:
                entries.append({"event": event, "comment": comment})
        elif event.kind == EventKind.ATTACHED:
            attachment = attachment_by_pk.get(data.get("attachment"))
            if attachment is None or attachment.comment_id is None:
                entries.append({"event": event, "attachment": attachment})
            # A reply's files are shown with the reply.
        else:
            entries.append({"event": event})
    usernames = {
        event.data.get(key)
        for event in events
        if event.kind == EventKind.ASSIGNED
        for key in ("from", "to")
    } - {None}
    department_ids = {
        event.data.get(key)
        for event in events
        if event.kind == EventKind.TRANSFERRED
        for key in ("from_id", "to_id")
    } - {None}
    lookups = {
        "users": {
            u.username: _person(u) for u in get_user_model().objects.filter(username__in=usernames)
        }
        if usernames
        else {},
        "departments": dict(
            Department.objects.filter(pk__in=department_ids).values_list("pk", "name")
        )
        if department_ids
        else {},
        "blocked_refs": {
            event.data.get("blocked_by")
            for event in events
            if event.kind in (EventKind.BLOCKED, EventKind.UNBLOCKED)
        }
        - {None},
    }
    return entries, attachments, lookups


def _panels(place: str, http_request, service_request) -> list[dict]:
    """What the apps above add to the page at `place` (signals.request_page_panels)."""
    answers = signals.request_page_panels.send(
        sender=ServiceRequest,
        place=place,
        http_request=http_request,
        service_request=service_request,
        user=http_request.user,
    )
    return [panel for _receiver, panel in answers if panel]


def _detail_context(http_request, service_request, *, bound=None) -> dict:
    user = http_request.user
    now = timezone.now()
    is_staff = is_provider_staff(user=user, department_id=service_request.provider_department_id)
    can = _can(user, service_request, is_staff=is_staff, now=now)
    clocks = current_clocks(service_request, now=now)
    timeline, attachments, lookups = _timeline(user, service_request)

    blocked_by = list(
        RequestLink.objects.filter(request=service_request, ended_at__isnull=True).select_related(
            "blocked_by__provider_department"
        )
    )
    blocking = list(
        RequestLink.objects.filter(
            blocked_by=service_request, ended_at__isnull=True
        ).select_related("request__provider_department")
    )
    # Only requests the viewer may open are linked (and named); the rest are described.
    referenced = (
        {link.blocked_by_id for link in blocked_by}
        | {link.request_id for link in blocking}
        | lookups.pop("blocked_refs")
    )
    lookups["visible"] = (
        set(requests_visible_to(user).filter(pk__in=referenced).values_list("pk", flat=True))
        if referenced
        else set()
    )

    forms = {}
    if can["reply"]:
        forms["reply"] = CommentForm(allow_internal=is_staff)
        forms["attach"] = AttachForm()
    for action in ("wait", "resolve", "reopen"):
        forms[action] = TransitionForm(action=action)
    if is_staff:
        staff = provider_staff(department_id=service_request.provider_department_id)
        forms["assign"] = AssignForm(staff=staff, initial={"assignee": service_request.assignee_id})
        forms["priority"] = PriorityForm(initial={"priority": service_request.priority})
        forms["promise"] = PromiseForm(initial={"promised_at": service_request.promised_at})
        if can["transfer"]:
            forms["transfer"] = TransferForm(request=service_request)
        forms["block"] = BlockForm(user=user)
    forms.update(bound or {})

    requester_membership = Membership.objects.filter(
        user_id=service_request.requester_id,
        department_id=service_request.requesting_department_id,
    ).first()
    return {
        "sr": service_request,
        "is_staff": is_staff,
        "can": can,
        "clocks": [clocks[kind] for kind in ClockKind.values if kind in clocks],
        "timeline": timeline,
        "lookups": lookups,
        "attachments": attachments,
        "blocked_by": blocked_by,
        "blocking": blocking,
        "forms": forms,
        "requester_title": requester_membership.title if requester_membership else "",
        "history": requester_history(request=service_request) if is_staff else None,
        "panels": _panels("detail", http_request, service_request),
        "history_panels": _panels("history", http_request, service_request) if is_staff else [],
        "open_forms": {name for name, form in (bound or {}).items() if form.errors},
    }


def _render_detail(request, service_request, *, bound=None):
    context = _detail_context(request, service_request, bound=bound)
    template = "requests/partials/detail_body.html" if request.htmx else "requests/detail.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_GET
def request_detail(request, pk):
    """A request with its clocks, timeline, files and what the viewer may do with it."""
    service_request = _listed_or_404(request.user, pk)
    # Opening the request reads its notifications.
    notifications_mark_read(
        user=request.user,
        ids=Notification.objects.filter(
            user=request.user, request=service_request, read_at__isnull=True
        ).values("pk"),
    )
    return _render_detail(request, service_request)


# --- actions on a request ------------------------------------------------------------------


def _done(request, service_request, message: str):
    """After a successful action: the page again (PRG), or its new body for htmx."""
    messages.success(request, message)
    fresh = request_list(user=request.user).filter(pk=service_request.pk).first()
    if fresh is None:
        # Transferred to a department the actor does not work for: back to their queue.
        url = (
            reverse("requests:queue")
            if departments_served_by(user=request.user).exists()
            else reverse("requests:mine")
        )
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    if request.htmx:
        return _render_detail(request, fresh)
    return redirect("requests:detail", pk=service_request.pk)


def _invalid(request, service_request, name, form, exc=None, aliases=None):
    """The page again with the form as typed, its errors beside its fields."""
    if exc is not None:
        _errors_onto(form, exc, request=request, aliases=aliases)
    fresh = _listed_or_404(request.user, service_request.pk)
    return _render_detail(request, fresh, bound={name: form})


def _reply(request, service_request):
    form = CommentForm(
        request.POST,
        request.FILES,
        allow_internal=is_provider_staff(
            user=request.user, department_id=service_request.provider_department_id
        ),
    )
    if not form.is_valid():
        return _invalid(request, service_request, "reply", form)
    internal = form.cleaned_data.get("internal", False)
    try:
        services.request_comment_add(
            request=service_request,
            author=request.user,
            body=form.cleaned_data["body"],
            internal=internal,
            files=form.cleaned_data["files"],
        )
    except ValidationError as exc:
        return _invalid(request, service_request, "reply", form, exc)
    return _done(request, service_request, "Internal note added." if internal else "Reply posted.")


def _attach(request, service_request):
    form = AttachForm(request.POST, request.FILES)
    if not form.is_valid():
        return _invalid(request, service_request, "attach", form)
    try:
        saved = services.request_attachments_add(
            request=service_request, actor=request.user, files=form.cleaned_data["files"]
        )
    except ValidationError as exc:
        return _invalid(request, service_request, "attach", form, exc, aliases={"file": "files"})
    return _done(request, service_request, f"Attached {len(saved)} file(s).")


TRANSITION_MESSAGES = {
    "start": "Started: the request is in progress.",
    "wait": "Waiting on the requester: the resolution clock is paused.",
    "resume": "Resumed: the resolution clock runs again.",
    "resolve": "Resolved. The requester is told.",
    "reopen": "Reopened.",
    "close": "Closed.",
    "cancel": "Cancelled.",
}


def _transition(action: str):
    def handler(request, service_request):
        form = TransitionForm(request.POST, action=action)
        form.is_valid()  # the comment is optional: always valid
        try:
            services.request_transition(
                request=service_request,
                actor=request.user,
                action=action,
                comment=form.cleaned_data.get("comment", ""),
            )
        except ValidationError as exc:
            return _invalid(request, service_request, action, form, exc)
        return _done(request, service_request, TRANSITION_MESSAGES[action])

    return handler


def _acknowledge(request, service_request):
    try:
        services.request_acknowledge(request=service_request, actor=request.user)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
        return _render_detail(request, _listed_or_404(request.user, service_request.pk))
    return _done(request, service_request, "Acknowledged: the requester knows it is seen.")


def _assign(request, service_request):
    staff = provider_staff(department_id=service_request.provider_department_id)
    form = AssignForm(request.POST, staff=staff)
    if not form.is_valid():
        return _invalid(request, service_request, "assign", form)
    assignee = form.cleaned_data["assignee"]
    try:
        services.request_assign(request=service_request, actor=request.user, assignee=assignee)
    except ValidationError as exc:
        return _invalid(request, service_request, "assign", form, exc)
    message = f"Assigned to {_person(assignee)}." if assignee else "Unassigned."
    return _done(request, service_request, message)


def _priority(request, service_request):
    form = PriorityForm(request.POST)
    if not form.is_valid():
        return _invalid(request, service_request, "priority", form)
    priority = form.cleaned_data["priority"]
    try:
        services.request_priority_change(
            request=service_request, actor=request.user, priority=priority
        )
    except ValidationError as exc:
        return _invalid(request, service_request, "priority", form, exc)
    return _done(
        request,
        service_request,
        f"Priority is now {Priority(priority).label.lower()}; the due times are recomputed.",
    )


def _promise(request, service_request):
    form = PromiseForm(request.POST)
    if not form.is_valid():
        return _invalid(request, service_request, "promise", form)
    promised_at = form.cleaned_data["promised_at"]
    try:
        services.request_promise(
            request=service_request, actor=request.user, promised_at=promised_at
        )
    except ValidationError as exc:
        return _invalid(request, service_request, "promise", form, exc)
    when = formats.date_format(timezone.localtime(promised_at), "D j M Y, H:i")
    return _done(request, service_request, f"Promised by {when}.")


def _transfer(request, service_request):
    form = TransferForm(request.POST, request=service_request)
    if not form.is_valid():
        return _invalid(request, service_request, "transfer", form)
    department = form.cleaned_data["department"]
    try:
        services.request_transfer(
            request=service_request,
            actor=request.user,
            department=department,
            service=form.cleaned_data["service"],
        )
    except ValidationError as exc:
        return _invalid(request, service_request, "transfer", form, exc)
    return _done(
        request, service_request, f"{service_request.reference} is transferred to {department}."
    )


def _block(request, service_request):
    form = BlockForm(request.POST, user=request.user)
    if not form.is_valid():
        return _invalid(request, service_request, "block", form)
    blocker = form.cleaned_data["blocked_by"]
    try:
        services.request_block(request=service_request, actor=request.user, blocked_by=blocker)
    except ValidationError as exc:
        return _invalid(request, service_request, "block", form, exc)
    return _done(request, service_request, f"Blocked by {blocker.reference}.")


def _unblock(request, service_request):
    form = UnblockForm(request.POST)
    link = None
    if form.is_valid():
        link = (
            RequestLink.objects.filter(
                request=service_request,
                blocked_by_id=form.cleaned_data["blocked_by"],
                ended_at__isnull=True,
            )
            .select_related("blocked_by")
            .first()
        )
    if link is None:
        messages.error(request, "This request is not blocked by that one (any more).")
        return _render_detail(request, _listed_or_404(request.user, service_request.pk))
    try:
        services.request_unblock(
            request=service_request, actor=request.user, blocked_by=link.blocked_by
        )
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
        return _render_detail(request, _listed_or_404(request.user, service_request.pk))
    return _done(request, service_request, f"No longer blocked by {link.blocked_by.reference}.")


ACTIONS = {
    "reply": _reply,
    "attach": _attach,
    "acknowledge": _acknowledge,
    "assign": _assign,
    "priority": _priority,
    "promise": _promise,
    "transfer": _transfer,
    "block": _block,
    "unblock": _unblock,
    **{action: _transition(action) for action in TRANSITIONS},
}
# The page's actions under the workflow's names (a reply may be an internal note: the
# service decides that one from the form).
AUTHORIZED_AS = {"reply": "comment"}


@login_required
@require_POST
def request_action(request, pk, action):
    """Every change to a request from its page: one POST per action."""
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404("No such action.")
    service_request = _visible_or_404(request.user, pk)
    try:
        # Who may act, before the form is read: a refusal never depends on what was sent.
        request_action_authorize(
            actor=request.user,
            request=service_request,
            action=AUTHORIZED_AS.get(action, action),
        )
        return handler(request, service_request)
    except PermissionDenied as exc:
        return _forbidden(request, exc)


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
    partial = request.htmx and not request.htmx.history_restore_request
    template = "requests/partials/queue_table.html" if partial else "requests/queue.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


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
        return _forbidden(request, exc)
    plural = "request" if count == 1 else "requests"
    messages.success(request, f"Assigned {count} {plural} to {_person(assignee)}.")
    return redirect(back)


# --- notifications -------------------------------------------------------------------------


@login_required
@require_GET
def notifications(request):
    """The viewer's notifications, newest first; opening a request reads its ones.

    Paged without a total: counting every notification the viewer can still see (through
    the visibility rule) grows with their history and took most of the page's time; one row
    more than a page tells whether there is an older page.
    """
    try:
        number = max(1, min(int(request.GET.get("page", 1)), MAX_NOTIFICATION_PAGE))
    except ValueError:
        number = 1
    start = (number - 1) * NOTIFICATIONS_PAGE_SIZE
    rows = list(notifications_for(user=request.user)[start : start + NOTIFICATIONS_PAGE_SIZE + 1])
    page = UncountedPage(
        rows[:NOTIFICATIONS_PAGE_SIZE], number, len(rows) > NOTIFICATIONS_PAGE_SIZE
    )
    return render(request, "requests/notifications.html", {"page": page})


@login_required
@require_POST
def notifications_read(request):
    """Mark every notification of the viewer read."""
    count = notifications_mark_read(user=request.user)
    plural = "notification" if count == 1 else "notifications"
    messages.success(request, f"Marked {count} {plural} read.")
    return redirect("requests:notifications")
