"""Every change to a request from its page: one POST per action, each a thin caller of a service."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import formats, timezone
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from departments.choices import Priority
from departments.selectors import departments_served_by

from .. import services
from ..forms import (
    AssignForm,
    AttachForm,
    BlockForm,
    CommentForm,
    PriorityForm,
    PromiseForm,
    TransferForm,
    TransitionForm,
    UnblockForm,
)
from ..models import RequestLink
from ..selectors import (
    is_provider_staff,
    provider_staff,
    request_list,
)
from ..workflow import (
    TRANSITIONS,
    request_action_authorize,
)
from .common import errors_onto, forbidden, listed_or_404, person_name, visible_or_404
from .detail import render_detail

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
        return render_detail(request, fresh)
    return redirect("requests:detail", pk=service_request.pk)


def _invalid(request, service_request, name, form, exc=None, aliases=None):
    """The page again with the form as typed, its errors beside its fields."""
    if exc is not None:
        errors_onto(form, exc, request=request, aliases=aliases)
    fresh = listed_or_404(request.user, service_request.pk)
    return render_detail(request, fresh, bound={name: form})


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
        return render_detail(request, listed_or_404(request.user, service_request.pk))
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
    message = f"Assigned to {person_name(assignee)}." if assignee else "Unassigned."
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
        return render_detail(request, listed_or_404(request.user, service_request.pk))
    try:
        services.request_unblock(
            request=service_request, actor=request.user, blocked_by=link.blocked_by
        )
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
        return render_detail(request, listed_or_404(request.user, service_request.pk))
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
    service_request = visible_or_404(request.user, pk)
    try:
        # Who may act, before the form is read: a refusal never depends on what was sent.
        request_action_authorize(
            actor=request.user,
            request=service_request,
            action=AUTHORIZED_AS.get(action, action),
        )
        return handler(request, service_request)
    except PermissionDenied as exc:
        return forbidden(request, exc)
