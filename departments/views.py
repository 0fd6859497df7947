"""The directory, a department's page (its hours, days off, the targets that apply to the
viewer's department and why, its agreements) and the agreement pages: thin callers of the
selectors, departments.agreements and the services."""

import zoneinfo
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from . import agreements as agreement_rules
from . import escalation as escalation_rules
from . import services
from .choices import AgreementState, Priority, Role, TargetSource
from .describe import (
    agreement_target_rows,
    business_duration,
    escalation_audience_text,
    escalation_threshold_text,
    next_days_off,
    working_day_seconds,
    working_hours_text,
)
from .forms import (
    EVERY_CUSTOMER,
    DecisionForm,
    EscalationLevelFormSet,
    ProposalForm,
    level_initial,
)
from .models import Agreement, Department, EscalationLevel, Service
from .selectors import agreements_visible_to, department_list, user_navigation
from .targets import AGREEMENT_SOURCES, in_effect, target_candidates, target_choose


def _navigation(request):
    """The viewer's roles, shared with the navigation bar (one look-up per request)."""
    nav = getattr(request, "_navigation", None)
    if nav is None:
        nav = request._navigation = user_navigation(user=request.user)
    return nav


@login_required
def department_directory(request):
    """Every department with its services: where a staff member finds whom to ask."""
    departments = department_list().prefetch_related(
        Prefetch("services", queryset=Service.objects.filter(active=True).order_by("name"))
    )
    return render(request, "departments/directory.html", {"departments": departments})


@dataclass(frozen=True)
class TargetCell:
    priority: str
    first_response: str
    resolution: str
    agreement: Agreement | None


def _catalog(department, services, customer, *, now) -> tuple[list, list]:
    """Each service with the target of each priority that applies to the customer's
    requests now (departments.targets; two queries for the whole catalog), and the
    agreements among them with support hours of their own, with those hours."""
    candidates = target_candidates(
        provider_id=department.pk, customer_id=customer.pk if customer else None, at=now
    )
    day_of = {}

    def day_seconds(calendar):
        key = calendar.pk if calendar is not None else None
        if key not in day_of:
            day_of[key] = working_day_seconds(calendar or department.calendar)
        return day_of[key]

    catalog = []
    own_hours = {}  # agreements with support hours of their own, among those that apply
    for service in services:
        cells = []
        for priority, label in Priority.choices:
            applied = target_choose(candidates, service_id=service.pk, priority=priority, at=now)
            if applied.source == TargetSource.FALLBACK:
                continue
            day = day_seconds(applied.calendar)
            if applied.calendar is not None and applied.source in AGREEMENT_SOURCES:
                own_hours[applied.agreement.pk] = (
                    applied.agreement,
                    f"{working_hours_text(applied.calendar)} ({applied.calendar.timezone})",
                )
            cells.append(
                TargetCell(
                    priority=label,
                    first_response=business_duration(
                        applied.first_response_seconds, day_seconds=day
                    ),
                    resolution=business_duration(applied.resolution_seconds, day_seconds=day),
                    agreement=applied.agreement if applied.source in AGREEMENT_SOURCES else None,
                )
            )
        catalog.append((service, cells))
    return catalog, sorted(own_hours.values(), key=lambda pair: pair[0].label)


def _agreement_sections(user, nav, department, *, now) -> dict:
    """The department's agreements the viewer may see: all of them for its managers and HR;
    for a customer's manager, "our agreement with IT" per department they manage."""
    if not (nav.is_manager or nav.is_hr):
        return {"all_agreements": [], "our_agreements": [], "may_propose": False}
    visible = list(
        agreements_visible_to(user, hr=nav.is_hr)
        .filter(provider=department)
        .order_by("customer__name", "-version")
    )
    for agreement in visible:
        agreement.status = agreement_rules.status_text(agreement, now=now)
        agreement.in_effect = in_effect(agreement, now)
    managed = {d.pk: d for d in nav.managed_departments}
    ours = []
    for customer in sorted(managed.values(), key=lambda d: d.name):
        if customer.pk == department.pk or not department.is_provider:
            continue
        versions = [a for a in visible if a.customer_id in (customer.pk, None)]
        ours.append(
            {
                "customer": customer,
                "current": next((a for a in versions if a.in_effect and a.customer_id), None),
                "every": next((a for a in versions if a.in_effect and not a.customer_id), None),
                # Waiting for an answer: the pair's proposal, and the provider's offer to
                # every customer (which any customer's manager may answer).
                "proposals": [a for a in versions if a.state == AgreementState.PROPOSED],
            }
        )
    sees_all = department.pk in managed or nav.is_hr
    return {
        "all_agreements": visible if sees_all else [],
        "our_agreements": ours,
        "may_propose": bool(managed) and department.is_provider,
    }


@login_required
def department_detail(request, slug):
    """A department's hours, next days off and catalog with the targets that apply to the
    viewer's department (and why), and the agreements the viewer may see."""
    department = get_object_or_404(
        department_list().prefetch_related(
            "children", "calendar__working_hours", "calendar__holidays"
        ),
        slug=slug,
    )
    now = timezone.now()
    nav = _navigation(request)
    # The viewer's own department as a customer; the department's own people see what
    # every customer gets.
    primary = nav.primary.department if nav.primary is not None else None
    customer = primary if primary is not None and primary.pk != department.pk else None
    services = list(department.services.filter(active=True))
    calendar = department.calendar
    catalog, agreement_hours = _catalog(department, services, customer, now=now)
    return render(
        request,
        "departments/detail.html",
        {
            "department": department,
            "customer": customer,
            "catalog": catalog,
            "agreement_hours": agreement_hours,
            "working_hours": working_hours_text(calendar),
            "days_off": next_days_off(
                calendar, today=timezone.localdate(now, zoneinfo.ZoneInfo(calendar.timezone))
            ),
            **_agreement_sections(request.user, nav, department, now=now),
            **_escalation_section(request.user, nav, department),
        },
    )


# --- escalation levels ---------------------------------------------------------------------


def escalation_rows(levels) -> list[dict]:
    """Each level in words, for the pages: "at 50% of the target of the resolution clock,
    tell the assignee; then raise the priority to high"."""
    rows = []
    for level in levels:
        then = ""
        if level.action == "assign" and level.assign_to is not None:
            then = f"assign it to {level.assign_to.get_full_name() or level.assign_to.username}"
        elif level.action == "raise_priority":
            then = f"raise the priority to {level.raise_to}"
        rows.append(
            {
                "number": level.number,
                "when": escalation_threshold_text(level.threshold, level.value),
                "clock": level.get_clock_display().lower(),
                "notify": escalation_audience_text(level.notify),
                "then": then,
            }
        )
    return rows


def _department_levels(department) -> list:
    return list(
        EscalationLevel.objects.filter(department=department, agreement__isnull=True)
        .select_related("assign_to")
        .order_by("number")
    )


def _escalation_section(user, nav, department) -> dict:
    sees, edits = escalation_rules.levels_standing(
        user,
        department,
        roles={m.department_id: m.role for m in nav.memberships},
        hr=nav.is_hr,
    )
    if not sees:
        return {}
    return {
        "escalation": {"rows": escalation_rows(_department_levels(department)), "can_edit": edits}
    }


def _level_staff(department):
    """Whom a level may assign requests to: the department's agents and managers."""
    return (
        get_user_model()
        .objects.filter(
            memberships__department=department,
            memberships__role__in=[Role.AGENT, Role.MANAGER],
            is_active=True,
        )
        .distinct()
        .order_by("username")
    )


@login_required
def department_escalation(request, slug):
    """The department's escalation levels: its members and HR read them, its managers
    edit them (the set replaces the old one; running clocks keep the levels they started
    with)."""
    department = get_object_or_404(Department, slug=slug)
    sees, can_edit = escalation_rules.levels_standing(request.user, department)
    if not sees:
        return _forbidden(
            request, PermissionDenied("Only the department's members see its escalation levels.")
        )
    if request.method == "POST" and not can_edit:
        return _forbidden(request, PermissionDenied(escalation_rules.EDIT_REFUSAL))
    levels = _department_levels(department)
    data = request.POST if request.method == "POST" else None
    formset = EscalationLevelFormSet(
        data,
        initial=[level_initial(level) for level in levels],
        staff=_level_staff(department),
        prefix="levels",
    )
    errors = []
    if data is not None and formset.is_valid():
        try:
            services.escalation_levels_set(
                actor=request.user, department=department, levels=formset.level_inputs()
            )
        except ValidationError as exc:
            errors = [message for messages in exc.message_dict.values() for message in messages]
        else:
            messages.success(request, f"The escalation levels of {department.name} are saved.")
            return redirect("departments:escalation", slug=slug)
    return render(
        request,
        "departments/escalation.html",
        {
            "department": department,
            "rows": escalation_rows(levels),
            "can_edit": can_edit,
            "formset": formset,
            "errors": errors,
        },
        status=400 if data is not None else 200,
    )


# --- agreements ----------------------------------------------------------------------------


def _forbidden(request, exc: PermissionDenied):
    return render(
        request,
        "departments/forbidden.html",
        {"reason": str(exc) or "You may not do this."},
        status=403,
    )


def _visible_agreement(user, slug, pk) -> Agreement:
    agreement = (
        agreements_visible_to(user)
        .filter(pk=pk, provider__slug=slug)
        .prefetch_related("targets__service")
        .first()
    )
    if agreement is None:
        raise Http404("No such agreement.")
    return agreement


def _agreement_page(request, agreement, *, forms=None, status=200):
    now = timezone.now()
    standing = agreement_rules.standing_on(request.user, agreement)
    allowed = agreement_rules.actions_for(agreement, standing, now=now)
    versions = list(
        agreements_visible_to(request.user)
        .filter(provider_id=agreement.provider_id, customer_id=agreement.customer_id)
        .order_by("-version")
    )
    for version in versions:
        version.status = agreement_rules.status_text(version, now=now)
    forms = forms or {}
    for action in allowed:
        forms.setdefault(action, DecisionForm(prefix=action))
    hours_calendar = agreement.calendar or agreement.provider.calendar
    return render(
        request,
        "departments/agreement.html",
        {
            "agreement": agreement,
            "status": agreement_rules.status_text(agreement, now=now),
            "targets": agreement_target_rows(agreement),
            "escalation_rows": escalation_rows(
                agreement.escalation_levels.select_related("assign_to").order_by("number")
            ),
            "hours": working_hours_text(hours_calendar),
            "hours_zone": hours_calendar.timezone,
            "versions": versions,
            "decisions": [(action, forms[action]) for action in allowed],
            "may_propose": agreement_rules.propose_refusal(
                standing, provider=agreement.provider, customer=agreement.customer
            )
            is None,
        },
        status=status,
    )


@login_required
def agreement_detail(request, slug, pk):
    """One version of an agreement: for the two sides' managers and HR (404 otherwise)."""
    return _agreement_page(request, _visible_agreement(request.user, slug, pk))


DECISIONS = {
    "accept": (services.agreement_accept, "You accepted the {label}."),
    "decline": (services.agreement_decline, "You declined the {label}."),
    "withdraw": (services.agreement_withdraw, "You withdrew the {label}."),
}


@login_required
@require_POST
def agreement_decide(request, slug, pk, action):
    """Accept, decline or withdraw from the agreement's page: who may is decided before the
    form is read (403), then the form and the service (errors beside the comment)."""
    if action not in DECISIONS:
        raise Http404("No such action.")
    agreement = _visible_agreement(request.user, slug, pk)
    try:
        services.agreement_decide_authorize(actor=request.user, agreement=agreement, action=action)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    form = DecisionForm(request.POST, prefix=action)
    decide, done = DECISIONS[action]
    if form.is_valid():
        try:
            decided = decide(
                actor=request.user, agreement=agreement, comment=form.cleaned_data["comment"]
            )
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
            for field, field_errors in errors.items():
                form.add_error("comment" if field == "comment" else None, field_errors)
        else:
            messages.success(request, done.format(label=decided.label))
            return redirect("departments:agreement", slug=slug, pk=pk)
    return _agreement_page(request, agreement, forms={action: form}, status=400)


def _proposal_choices(user, department, nav) -> list[tuple[str, str]]:
    """Whom the viewer may propose an agreement to, as the customer field's choices."""
    managed = {d.pk: d for d in nav.managed_departments}
    if department.pk in managed:
        others = Department.objects.exclude(pk=department.pk).order_by("name")
        return [(EVERY_CUSTOMER, "Every customer"), *((d.slug, d.name) for d in others)]
    return [
        (d.slug, d.name)
        for d in sorted(managed.values(), key=lambda d: d.name)
        if d.pk != department.pk
    ]


def _version_in_effect(department, customer, *, now) -> Agreement | None:
    """The pair's version in effect: a change starts from it."""
    current = (
        Agreement.objects.filter(provider=department, customer=customer)
        .exclude(effective_from=None)
        .prefetch_related("targets")
        .order_by("-version")
    )
    return next((agreement for agreement in current if in_effect(agreement, now)), None)


def _initial_targets(agreement: Agreement | None) -> dict:
    if agreement is None:
        return {}
    return {
        (t.service_id, t.priority, kind): getattr(t, f"{kind}_seconds")
        for t in agreement.targets.all()
        for kind in ("first_response", "resolution")
    }


@login_required
def agreement_propose(request, slug):
    """Propose a new version of an agreement with the department (as its manager, to a
    customer or every customer; as a customer's manager, for that customer)."""
    department = get_object_or_404(Department.objects.select_related("calendar"), slug=slug)
    nav = _navigation(request)
    if not nav.is_manager:
        return _forbidden(
            request, PermissionDenied("Only a department's managers propose agreements.")
        )
    choices = _proposal_choices(request.user, department, nav)
    if not choices:
        return _forbidden(
            request,
            PermissionDenied(
                f"Only managers of {department.name} or of its customers propose its agreements."
            ),
        )
    services_offered = list(department.services.filter(active=True).order_by("name"))
    now = timezone.now()
    data = request.POST if request.method == "POST" else None
    chosen = (data or request.GET).get("customer") or choices[0][0]
    customer = None
    if chosen != EVERY_CUSTOMER:
        customer = Department.objects.filter(slug=chosen).first()
    current = None
    if data is None and (customer is not None or chosen == EVERY_CUSTOMER):
        current = _version_in_effect(department, customer, now=now)
    initial = {
        "customer": chosen,
        "valid_from": timezone.localdate(now),
        "calendar": current.calendar_id if current else None,
        "valid_until": current.valid_until if current else None,
    }
    form = ProposalForm(
        data,
        customers=choices,
        services=services_offered,
        initial=initial,
        initial_targets=_initial_targets(current),
    )
    # The version's own escalation levels, if any (blank: the provider's apply), starting
    # from those of the version in effect.
    # A form posted without the levels' rows (an older page, a script) proposes none.
    levels_data = data if data is not None and "levels-TOTAL_FORMS" in data else None
    levels_formset = EscalationLevelFormSet(
        levels_data,
        initial=[
            level_initial(level)
            for level in (
                current.escalation_levels.order_by("number") if current is not None else []
            )
        ],
        staff=_level_staff(department),
        prefix="levels",
    )
    manages_provider = department.pk in {d.pk for d in nav.managed_departments}
    if data is not None:
        if not manages_provider and chosen not in {value for value, _ in choices}:
            # Not a side the viewer manages: refused before the rest is read.
            return _forbidden(
                request,
                PermissionDenied(
                    f"Only managers of {department.name} or of that department propose it."
                ),
            )
        levels_ok = levels_formset.is_valid() if levels_formset.is_bound else True
        if form.is_valid() and levels_ok:
            values = form.cleaned_data
            try:
                agreement = services.agreement_propose(
                    actor=request.user,
                    provider=department,
                    customer=customer,
                    valid_from=values["valid_from"],
                    valid_until=values["valid_until"],
                    calendar=values["calendar"],
                    targets=values["targets"],
                    comment=values["comment"],
                    escalation_levels=(
                        levels_formset.level_inputs() if levels_formset.is_bound else []
                    ),
                    now=now,
                )
            except PermissionDenied as exc:
                return _forbidden(request, exc)
            except ValidationError as exc:
                errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
                for field, field_errors in errors.items():
                    form.add_error(field if field in form.fields else None, field_errors)
            else:
                messages.success(request, f"You proposed the {agreement.label}.")
                return redirect("departments:agreement", slug=slug, pk=agreement.pk)
    return render(
        request,
        "departments/propose.html",
        {"department": department, "form": form, "levels_formset": levels_formset},
        status=400 if data is not None else 200,
    )
