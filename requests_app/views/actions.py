"""Every change to a request from its page: one POST per action, each a thin caller of a service."""

import datetime

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


def _submit(request, service_request, name: str, form, act, done, *, aliases=None):
    """A form's action: the form checked, then `act(cleaned_data)` (the service); on success
    the page again with `done(cleaned_data, result)` as its message, else the form as typed
    with the form's or the service's errors beside its fields."""
    if not form.is_valid():
        return _invalid(request, service_request, name, form)
    try:
        result = act(form.cleaned_data)
    except ValidationError as exc:
        return _invalid(request, service_request, name, form, exc, aliases=aliases)
    return _done(request, service_request, done(form.cleaned_data, result))


def _reply(request, service_request):
    form = CommentForm(
        request.POST,
        request.FILES,
        allow_internal=is_provider_staff(
            user=request.user, department_id=service_request.provider_department_id
        ),
    )
    return _submit(
        request,
        service_request,
        "reply",
        form,
        lambda data: services.request_comment_add(
            request=service_request,
            author=request.user,
            body=data["body"],
            internal=data.get("internal", False),
            files=data["files"],
        ),
        lambda data, _: "Internal note added." if data.get("internal") else "Reply posted.",
    )


def _attach(request, service_request):
    return _submit(
        request,
        service_request,
        "attach",
        AttachForm(request.POST, request.FILES),
        lambda data: services.request_attachments_add(
            request=service_request, actor=request.user, files=data["files"]
        ),
        lambda _, saved: f"Attached {len(saved)} file(s).",
        aliases={"file": "files"},
    )


TRANSITION_MESSAGES = {
    "start": "Started: the request is in progress.",
    "wait": "Waiting on the requester: the resolution clock is paused.",
    "resume": "Resumed: the resolution clock runs again.",
    "resolve": "Resolved. The requester is told.",
    "decline": "Declined. The requester is told why, and may reopen it.",
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
    return _submit(
        request,
        service_request,
        "assign",
        AssignForm(request.POST, staff=staff),
        lambda data: services.request_assign(
            request=service_request, actor=request.user, assignee=data["assignee"]
        ),
        lambda data, _: (
            f"Assigned to {person_name(data['assignee'])}." if data["assignee"] else "Unassigned."
        ),
    )


def _priority(request, service_request):
    return _submit(
        request,
        service_request,
        "priority",
        PriorityForm(request.POST),
        lambda data: services.request_priority_change(
            request=service_request, actor=request.user, priority=data["priority"]
        ),
        lambda data, _: (
            f"Priority is now {Priority(data['priority']).label.lower()}; "
            "the due times are recomputed."
        ),
    )


def _promise(request, service_request):
    def done(data, _):
        promised = data["promised_at"]
        if isinstance(promised, datetime.datetime):
            return (
                f"Promised by {formats.date_format(timezone.localtime(promised), 'D j M Y, H:i')}."
            )
        return f"Promised by {formats.date_format(promised, 'D j M Y')}."

    return _submit(
        request,
        service_request,
        "promise",
        PromiseForm(request.POST),
        lambda data: services.request_promise(
            request=service_request, actor=request.user, promised_at=data["promised_at"]
        ),
        done,
    )


def _transfer(request, service_request):
    return _submit(
        request,
        service_request,
        "transfer",
        TransferForm(request.POST, request=service_request),
        lambda data: services.request_transfer(
            request=service_request,
            actor=request.user,
            department=data["department"],
            service=data["service"],
        ),
        lambda data, _: f"{service_request.reference} is transferred to {data['department']}.",
    )


def _block(request, service_request):
    return _submit(
        request,
        service_request,
        "block",
        BlockForm(request.POST, user=request.user),
        lambda data: services.request_block(
            request=service_request, actor=request.user, blocked_by=data["blocked_by"]
        ),
        lambda data, _: f"Blocked by {data['blocked_by'].reference}.",
    )


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
