"""Review pages: thin callers of the services. Who may act is asked (rules.py) before a form
is read: 404 for a review the viewer may not see, 403 for an action they may not take."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from departments.models import Department
from requests_app.models import ServiceRequest, pk_from_reference

from . import services
from .choices import ActionState, ReviewState
from .forms import ActionForm, DropForm, OpenForm, RuleForm, SectionForm
from .models import ReviewAction, ReviewRule
from .rules import allowed_for, review_authorize, rules_authorize, standing_on
from .selectors import (
    actions_of,
    department_members,
    review_actions,
    review_departments,
    review_facts,
    review_get_visible,
    review_list,
    review_sections,
)


def _forbidden(request, exc: PermissionDenied):
    return render(
        request,
        "departments/forbidden.html",
        {"reason": str(exc) or "You may not do this."},
        status=403,
    )


def _visible(user, pk):
    review = review_get_visible(user=user, pk=pk)
    if review is None:
        raise Http404("No such review.")
    return review


def _errors_into(form, exc: ValidationError) -> None:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for field, field_errors in errors.items():
        form.add_error(field if field in form.fields else None, field_errors)


@login_required
def review_mine(request):
    """The reviews I take part in (open or closed) and the open actions I own."""
    state = request.GET.get("state", ReviewState.OPEN)
    if state not in ReviewState.values:
        state = ReviewState.OPEN
    return render(
        request,
        "reviews/mine.html",
        {
            "reviews": review_list(user=request.user, state=state)[:100],
            "state": state,
            "states": ReviewState.choices,
            "actions": actions_of(request.user)[:100],
            "today": timezone.localdate(),
        },
    )


def _page(request, review, *, section_forms=None, action_form=None, drop_forms=None, status=200):
    standing = standing_on(request.user, review)
    departments = review_departments(review)
    sections = {section.department_id: section for section in review_sections(review)}
    actions = review_actions(review)
    members = department_members([d.department_id for d in departments])
    owners = [(d.department, members[d.department_id]) for d in departments]
    section_forms = section_forms or {}
    parts = []
    for involved in departments:
        section = sections.get(involved.department_id)
        form = None
        if involved.department_id in standing.departments and review.is_open:
            form = section_forms.get(involved.department_id) or SectionForm(
                initial={
                    "what_happened": getattr(section, "what_happened", ""),
                    "went_well": getattr(section, "went_well", ""),
                    "went_wrong": getattr(section, "went_wrong", ""),
                    "contributing_factors": getattr(section, "contributing_factors", ""),
                    "factors": getattr(section, "factors", []),
                },
                prefix=f"s{involved.department_id}",
            )
        parts.append({"involved": involved, "section": section, "form": form})
    drop_forms = drop_forms or {}
    rows = [
        {
            "action": action,
            "allowed": allowed_for(standing, review, item=action),
            "drop_form": drop_forms.get(action.pk) or DropForm(prefix=f"a{action.pk}"),
        }
        for action in actions
    ]
    allowed = allowed_for(standing, review)
    return render(
        request,
        "reviews/detail.html",
        {
            "review": review,
            "facts": review_facts(review, user=request.user),
            "parts": parts,
            "rows": rows,
            "allowed": allowed,
            "action_form": action_form
            or (ActionForm(owners=owners) if "add_action" in allowed else None),
            "open_actions": sum(1 for a in actions if a.state == ActionState.OPEN),
        },
        status=status,
    )


@login_required
def review_detail(request, pk):
    """A review: the facts, the customer's view, each department's part, the actions."""
    return _page(request, _visible(request.user, pk))


@login_required
@require_POST
def review_section(request, pk, slug):
    """Write one's department's part."""
    review = _visible(request.user, pk)
    department = get_object_or_404(Department, slug=slug)
    try:
        review_authorize(
            actor=request.user, review=review, action="write_section", department_id=department.pk
        )
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    form = SectionForm(request.POST, prefix=f"s{department.pk}")
    if form.is_valid():
        values = dict(form.cleaned_data)
        factors = values.pop("factors")
        try:
            services.review_section_write(
                actor=request.user, review=review, department=department, factors=factors, **values
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, f"{department.name}'s part is saved.")
            return redirect("reviews:detail", pk=review.pk)
    return _page(request, review, section_forms={department.pk: form}, status=400)


@login_required
@require_POST
def review_action_add(request, pk):
    """Add an action."""
    review = _visible(request.user, pk)
    try:
        review_authorize(actor=request.user, review=review, action="add_action")
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    departments = review_departments(review)
    members = department_members([d.department_id for d in departments])
    form = ActionForm(
        request.POST, owners=[(d.department, members[d.department_id]) for d in departments]
    )
    if form.is_valid():
        department_id, user_id = form.owner_ids()
        try:
            services.review_action_add(
                actor=request.user,
                review=review,
                title=form.cleaned_data["title"],
                owner_department=Department.objects.get(pk=department_id),
                owner=get_user_model().objects.get(pk=user_id),
                due_on=form.cleaned_data["due_on"],
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, "The action is added.")
            return redirect("reviews:detail", pk=review.pk)
    return _page(request, review, action_form=form, status=400)


@login_required
@require_POST
def review_close(request, pk):
    review = _visible(request.user, pk)
    try:
        services.review_close(actor=request.user, review=review)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, "The review is closed.")
    return redirect("reviews:detail", pk=review.pk)


VERBS = ("done", "drop", "confirm")


@login_required
@require_POST
def review_action_change(request, pk, action_pk, verb):
    """Mark an action done, drop it (with a reason), or confirm it."""
    review = _visible(request.user, pk)
    if verb not in VERBS:
        raise Http404("No such change.")
    item = get_object_or_404(ReviewAction, pk=action_pk, review=review)
    try:
        review_authorize(actor=request.user, review=review, action=verb, item=item)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    try:
        if verb == "done":
            services.review_action_settle(actor=request.user, action=item, state=ActionState.DONE)
        elif verb == "confirm":
            services.review_action_confirm(actor=request.user, action=item)
        else:
            form = DropForm(request.POST, prefix=f"a{item.pk}")
            if not form.is_valid():
                return _page(request, review, drop_forms={item.pk: form}, status=400)
            services.review_action_settle(
                actor=request.user,
                action=item,
                state=ActionState.DROPPED,
                reason=form.cleaned_data["reason"],
            )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect("reviews:detail", pk=review.pk)


def _requests_named(text: str) -> list[int] | None:
    pks = []
    for part in text.replace(",", " ").split():
        pk = int(part) if part.isdigit() else pk_from_reference(part)
        if pk is None:
            return None
        pks.append(pk)
    return pks


@login_required
def review_open(request):
    """A manager opens a review on requests or on a pair and quarter."""
    try:
        services.review_opener_authorize(actor=request.user)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    form = OpenForm(request.POST or None, initial={"references": request.GET.get("requests", "")})
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        pks = _requests_named(values["references"])
        try:
            if pks is None:
                raise ValidationError({"references": "Name requests by reference (REQ-000123)."})
            requests = list(ServiceRequest.objects.filter(pk__in=pks))
            if len(requests) != len(set(pks)):
                raise ValidationError({"references": "No such request."})
            provider = Department.objects.filter(slug=values["provider"]).first()
            customer = Department.objects.filter(slug=values["customer"]).first()
            if not requests and (provider is None or customer is None):
                raise ValidationError({"references": "Name requests, or a provider and customer."})
            review, opened = services.review_open_manual(
                actor=request.user,
                requests=requests,
                provider=provider,
                customer=customer,
                period=values["period"],
            )
        except PermissionDenied as exc:
            return _forbidden(request, exc)
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(
                request, "The review is open." if opened else "This has a review already."
            )
            return redirect("reviews:detail", pk=review.pk)
    return render(request, "reviews/open.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def review_rules(request, slug):
    """A department's managers set when reviews open by themselves on its service; its
    members read them."""
    department = get_object_or_404(Department, slug=slug)
    try:
        can_edit = rules_authorize(
            actor=request.user, department=department, edit=request.method == "POST"
        )
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    rule = ReviewRule.objects.filter(department=department).first() or ReviewRule(
        department=department
    )
    form = RuleForm(request.POST or None, instance=rule)
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST" and form.is_valid():
        services.review_rule_set(
            actor=request.user,
            department=department,
            **{name: form.cleaned_data[name] for name in services.RULE_FIELDS},
        )
        messages.success(request, f"{department.name}'s review rules are saved.")
        return redirect("reviews:rules", slug=slug)
    return render(
        request,
        "reviews/rules.html",
        {"department": department, "form": form, "can_edit": can_edit},
        status=400 if form.errors else 200,
    )
