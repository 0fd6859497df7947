"""Writes for departments."""

import datetime
import hashlib
import json
import zoneinfo
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from core.limits import datetime_error

from . import agreements as agreement_rules
from . import escalation as escalation_rules
from . import signals
from .business_time import business_schedule
from .choices import AgreementState
from .models import (
    Agreement,
    AgreementTarget,
    BusinessCalendar,
    CalendarVersion,
    Department,
    EscalationLevel,
    Service,
)
from .selectors import agreement_pair_versions


def calendar_rules(calendar: BusinessCalendar) -> dict:
    """Everything that decides business time, as plain data."""
    return {
        "timezone": calendar.timezone,
        "holiday_country": calendar.holiday_country,
        "holiday_subdivision": calendar.holiday_subdivision,
        "hours": sorted(
            [row.weekday, row.start.strftime("%H:%M"), row.end.strftime("%H:%M")]
            for row in calendar.working_hours.all()
        ),
        "custom_holidays": sorted(
            d.isoformat() for d in calendar.holidays.values_list("date", flat=True)
        ),
    }


def calendar_version_current(*, calendar: BusinessCalendar) -> CalendarVersion:
    """The immutable version of the calendar's current rules, created on first use."""
    rules = calendar_rules(calendar)
    digest = hashlib.sha256(json.dumps(rules, sort_keys=True).encode()).hexdigest()
    version, _ = CalendarVersion.objects.get_or_create(
        calendar=calendar, digest=digest, defaults=rules
    )
    return version


# --- agreements ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetInput:
    """One target of a proposal: for `service` (None: every service) at `priority`."""

    service: Service | None
    priority: str
    first_response: datetime.timedelta
    resolution: datetime.timedelta


def proposal_errors(
    *,
    provider: Department,
    customer: Department | None,
    valid_from: datetime.date,
    valid_until: datetime.date | None,
    calendar: BusinessCalendar | None,
    targets: list[TargetInput],
    today: datetime.date | None,
) -> tuple[dict[str, list[str]], dict[int, dict[str, list[str]]]]:
    """What is wrong with a proposed version: ({field: messages}, {target index: {field:
    messages}}), both empty when nothing is. With `today`, it must still be able to apply
    (a proposal); without, it may be history (the org import's agreed versions). The
    services and the org import ask here."""
    errors: dict[str, list[str]] = {}
    for name, day in (("valid_from", valid_from), ("valid_until", valid_until)):
        if day is not None and datetime_error(day):
            errors[name] = [datetime_error(day)]
    if not provider.is_provider:
        errors["provider"] = [f"{provider.name} takes no requests: it has nothing to agree."]
    # Compared as objects too: the org import checks departments it has not saved yet.
    if customer is not None and (
        customer is provider or (customer.pk is not None and customer.pk == provider.pk)
    ):
        errors["customer"] = ["A department has no agreement with itself."]
    if errors:
        pass  # a date out of bounds: nothing more to say of the dates
    elif valid_until is not None and valid_from is not None and valid_until < valid_from:
        errors["valid_until"] = ["The agreement cannot end before it starts."]
    elif valid_until is not None and today is not None and valid_until < today:
        errors["valid_until"] = ["It would end before it could apply."]
    if calendar is not None and not business_schedule(calendar).has_working_time:
        errors["calendar"] = [f"{calendar.name} has no working hours."]
    if not targets:
        errors["targets"] = ["Give at least one target."]
    target_errors: dict[int, dict[str, list[str]]] = {}
    seen: dict[tuple, int] = {}
    for index, spec in enumerate(targets):
        problems: dict[str, list[str]] = {}
        if spec.service is not None and spec.service.department != provider:
            problems["service"] = [
                f"{spec.service.name} is a service of {spec.service.department.name}, "
                f"not {provider.name}."
            ]
        key = (spec.service.pk if spec.service else None, spec.priority)
        if key in seen:
            problems.setdefault("priority", []).append(
                f"{spec.priority} is given twice for "
                f"{spec.service.name if spec.service else 'every service'} "
                f"(first in target {seen[key] + 1})."
            )
        seen.setdefault(key, index)
        row = AgreementTarget(
            service=spec.service,
            priority=spec.priority,
            first_response=spec.first_response,
            resolution=spec.resolution,
        )
        try:
            row.clean()
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                if name != "service":  # said above, with names
                    problems.setdefault(name, []).extend(messages)
        if problems:
            target_errors[index] = problems
    return errors, target_errors


def _raise_proposal_errors(errors: dict, target_errors: dict) -> None:
    if not errors and not target_errors:
        return
    combined = dict(errors)
    for index, problems in sorted(target_errors.items()):
        for name, messages in problems.items():
            for message in messages:
                combined.setdefault("targets", []).append(f"Target {index + 1}, {name}: {message}")
    raise ValidationError(combined)


def _notify(action: str, agreement: Agreement, *, actor, now) -> None:
    notice = agreement_rules.notice_for(action, agreement, actor=actor)
    if notice.users:
        signals.agreement_notice.send(sender=Agreement, agreement=agreement, notice=notice, now=now)


def _pending_proposal(provider: Department, customer: Department | None) -> Agreement | None:
    return Agreement.objects.filter(
        provider=provider, customer=customer, state=AgreementState.PROPOSED
    ).first()


def agreement_propose(
    *,
    actor,
    provider: Department,
    customer: Department | None,
    valid_from: datetime.date,
    valid_until: datetime.date | None = None,
    calendar: BusinessCalendar | None = None,
    targets: list[TargetInput],
    comment: str = "",
    escalation_levels: list | None = None,
    now=None,
) -> Agreement:
    """Propose the next version of the pair's agreement (a manager of either side; of the
    provider for every customer); the other side's managers are told. `escalation_levels`
    (departments.escalation.LevelInput), if any, replace the provider's levels for the
    clocks under this version."""
    now = now or timezone.now()
    standing = agreement_rules.standing_for(
        actor, provider_id=provider.pk, customer_id=customer.pk if customer else None
    )
    refusal = agreement_rules.propose_refusal(standing, provider=provider, customer=customer)
    if refusal:
        raise PermissionDenied(refusal)
    zone = zoneinfo.ZoneInfo((calendar or provider.calendar).timezone)
    _raise_proposal_errors(
        *proposal_errors(
            provider=provider,
            customer=customer,
            valid_from=valid_from,
            valid_until=valid_until,
            calendar=calendar,
            targets=targets,
            today=now.astimezone(zone).date(),
        )
    )
    escalation_rules.levels_check(provider, escalation_levels or [])
    with transaction.atomic():
        # Versions of a provider's agreements are numbered one at a time.
        Department.objects.select_for_update().filter(pk=provider.pk).first()
        pending = _pending_proposal(provider, customer)
        if pending is not None:
            raise ValidationError(
                f"{pending.label} is waiting for an answer: withdraw it or wait for the "
                "answer before proposing another version."
            )
        latest = (
            agreement_pair_versions(
                provider_id=provider.pk, customer_id=customer.pk if customer else None
            )
            .values_list("version", flat=True)
            .first()
        )
        agreement = Agreement(
            provider=provider,
            customer=customer,
            version=(latest or 0) + 1,
            state=AgreementState.PROPOSED,
            valid_from=valid_from,
            valid_until=valid_until,
            calendar=calendar,
            proposed_side=standing.side,
            proposed_by=actor,
            proposed_at=now,
            comment=(comment or "").strip(),
        )
        agreement.full_clean()
        agreement.save()
        AgreementTarget.objects.bulk_create(
            AgreementTarget(
                agreement=agreement,
                service=spec.service,
                priority=spec.priority,
                first_response=spec.first_response,
                resolution=spec.resolution,
            )
            for spec in targets
        )
        EscalationLevel.objects.bulk_create(
            escalation_rules.level_rows(provider, escalation_levels or [], agreement=agreement)
        )
        _notify("propose", agreement, actor=actor, now=now)
    return agreement


def agreement_decide_authorize(*, actor, agreement: Agreement, action: str) -> None:
    """PermissionDenied unless the actor may take `action` (accept, decline, withdraw) on the
    agreement: asked before any input is read. The agreement is visible to the actor."""
    refusal = agreement_rules.decision_refusal(
        action, agreement, agreement_rules.standing_on(actor, agreement)
    )
    if refusal:
        raise PermissionDenied(refusal)


def agreement_accepted_apply(agreement: Agreement, *, accepted_at) -> list[Agreement]:
    """Make an accepted version apply from `accepted_at` (or its first day, if later) and
    retire the versions before it: each applies no longer once this one takes effect. The
    accept step and the org import both write acceptance through here. Returns the
    versions it superseded."""
    agreement.effective_from, agreement.effective_until = agreement_rules.effective_window(
        agreement, accepted_at=accepted_at
    )
    agreement.save(update_fields=["state", "effective_from", "effective_until", "superseded_by"])
    superseded = list(
        Agreement.objects.select_for_update()
        .filter(
            provider_id=agreement.provider_id,
            customer_id=agreement.customer_id,
            state=AgreementState.ACCEPTED,
            version__lt=agreement.version,
        )
        .order_by("version")
    )
    for earlier in superseded:
        earlier.state = AgreementState.SUPERSEDED
        earlier.superseded_by = agreement
        if earlier.effective_until is None or earlier.effective_until > agreement.effective_from:
            earlier.effective_until = agreement.effective_from
        earlier.save(update_fields=["state", "superseded_by", "effective_until"])
    return superseded


def _decide(*, actor, agreement: Agreement, action: str, comment: str, now) -> Agreement:
    now = now or timezone.now()
    agreement_decide_authorize(actor=actor, agreement=agreement, action=action)
    with transaction.atomic():
        locked = (
            # Only the agreement's row: PostgreSQL locks no nullable side of a join.
            Agreement.objects.select_for_update(of=("self",))
            .select_related("provider__calendar", "customer", "calendar")
            .get(pk=agreement.pk)
        )
        agreement_decide_authorize(actor=actor, agreement=locked, action=action)
        refusal = agreement_rules.state_refusal(action, locked, now=now)
        if refusal:
            raise ValidationError(refusal)
        if action == "decline":
            errors = agreement_rules.decline_refusal(comment)
            if errors:
                raise ValidationError(errors)
        locked.state = {
            "accept": AgreementState.ACCEPTED,
            "decline": AgreementState.DECLINED,
            "withdraw": AgreementState.WITHDRAWN,
        }[action]
        locked.decided_by, locked.decided_at = actor, now
        locked.decision_comment = (comment or "").strip()
        locked.save(update_fields=["state", "decided_by", "decided_at", "decision_comment"])
        if action == "accept":
            agreement_accepted_apply(locked, accepted_at=now)
        _notify(action, locked, actor=actor, now=now)
    return locked


def agreement_accept(*, actor, agreement: Agreement, comment: str = "", now=None) -> Agreement:
    """Accept a proposal (a manager of the other side): it applies to requests filed from
    its first day (or now, if later), and the versions before it end then."""
    return _decide(actor=actor, agreement=agreement, action="accept", comment=comment, now=now)


def agreement_decline(*, actor, agreement: Agreement, comment: str, now=None) -> Agreement:
    """Decline a proposal, saying why (a manager of the other side); the defaults, or the
    version in effect, go on applying."""
    return _decide(actor=actor, agreement=agreement, action="decline", comment=comment, now=now)


def agreement_withdraw(*, actor, agreement: Agreement, comment: str = "", now=None) -> Agreement:
    """Withdraw a proposal nobody has answered (a manager of the proposing side)."""
    return _decide(actor=actor, agreement=agreement, action="withdraw", comment=comment, now=now)


def escalation_levels_set(*, actor, department: Department, levels: list) -> list:
    """Replace the department's own escalation levels (its managers; `levels` are
    departments.escalation.LevelInput, numbered by position). Clocks already running keep
    the levels they started with; only clocks started afterwards follow the new ones."""
    if not escalation_rules.edits_levels(actor, department):
        raise PermissionDenied(escalation_rules.EDIT_REFUSAL)
    return escalation_levels_write(department=department, levels=levels)


def escalation_levels_write(*, department: Department, levels: list, agreement=None) -> list:
    """Check and write a set of levels in place of the old (no permission asked: the caller
    has, or is the org import, which checked the file). Unchanged levels are left as they
    are, so writing the same set twice changes nothing."""
    escalation_rules.levels_check(department, levels)
    with transaction.atomic():
        Department.objects.select_for_update().filter(pk=department.pk).first()
        current = list(
            EscalationLevel.objects.filter(department=department, agreement=agreement)
            .select_related("assign_to")
            .order_by("number")
        )
        if [escalation_rules.level_input(level) for level in current] == list(levels):
            return current
        EscalationLevel.objects.filter(department=department, agreement=agreement).delete()
        rows = escalation_rules.level_rows(department, levels, agreement=agreement)
        EscalationLevel.objects.bulk_create(rows)
    return rows
