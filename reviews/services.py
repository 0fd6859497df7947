"""Writes for reviews. Each service asks rules.review_authorize first, then the state, then
its input; state changes are guarded, so a rerun or a race does nothing twice."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.periods import company_zone, parse_quarter
from departments.choices import Role
from departments.models import Department, Membership
from requests_app.choices import NotificationKind
from requests_app.models import ServiceRequest
from requests_app.notifications import Notice, notify_many
from requests_app.selectors import PROVIDER_ROLES, requests_visible_to

from . import triggers
from .choices import SECTION_FIELDS, ActionState, Factor, ReviewState, Side, Trigger
from .models import (
    Review,
    ReviewAction,
    ReviewDepartment,
    ReviewRequest,
    ReviewRule,
    ReviewSection,
)
from .rules import review_authorize, review_state_check, reviews_visible_to, rules_authorize


def _now(now):
    return now or timezone.now()


# --- opening --------------------------------------------------------------------------------


def review_participants(review: Review) -> list:
    """The people a review is for (rules.py): agents and managers of its provider and
    blocking departments, managers of its customer, the requesters of its requests; less
    those who may not see it (a confidential request)."""
    sides = dict(
        ReviewDepartment.objects.filter(review=review).values_list("department_id", "side")
    )
    staff_sides = [pk for pk, side in sides.items() if side != Side.CUSTOMER]
    # The requesters are read apart: an OR with them would join every request of every
    # member of the departments.
    requesters = ServiceRequest.objects.filter(review_links__review=review).values("requester_id")
    users = list(
        get_user_model()
        .objects.filter(
            Q(
                pk__in=Membership.objects.filter(
                    Q(department_id__in=staff_sides, role__in=PROVIDER_ROLES)
                    | Q(department_id__in=list(sides), role=Role.MANAGER)
                ).values("user_id")
            )
            | Q(pk__in=requesters),
            is_active=True,
        )
        .order_by("pk")
    )
    if not review.confidential:
        return users
    return [user for user in users if reviews_visible_to(user).filter(pk=review.pk).exists()]


def _open(found: triggers.Found, *, opened_by, now) -> tuple[Review, bool]:
    """Open the review of `found` unless its key has one; (review, opened now)."""
    existing = Review.objects.filter(trigger_key=found.key).first()
    if existing is not None:
        return existing, False
    confidential = ServiceRequest.objects.filter(
        pk__in=found.request_ids, confidential=True
    ).exists()
    try:
        with transaction.atomic():
            review = Review.objects.create(
                trigger=found.trigger,
                trigger_key=found.key,
                title=found.title[:200],
                provider_department_id=found.provider_id,
                customer_department_id=found.customer_id,
                period=found.period,
                opened_at=now,
                opened_by=opened_by,
                confidential=confidential,
            )
            ReviewRequest.objects.bulk_create(
                ReviewRequest(review=review, request_id=pk)
                for pk in dict.fromkeys(found.request_ids)
            )
            sides = {found.provider_id: Side.PROVIDER}
            sides.setdefault(found.customer_id, Side.CUSTOMER)
            for pk in sorted(found.blocking_ids):
                sides.setdefault(pk, Side.BLOCKING)
            ReviewDepartment.objects.bulk_create(
                ReviewDepartment(review=review, department_id=pk, side=side)
                for pk, side in sides.items()
            )
    except IntegrityError:
        # Opened at the same moment by another scan or manager: theirs is the review.
        return Review.objects.get(trigger_key=found.key), False
    _tell_opened(review, now=now, exclude=opened_by)
    return review, True


def _readers(review: Review, users: list) -> list:
    """Those of `users` who may read the review: a review's notices link to its page, not to
    a request, so nobody is told of a confidential one they could not open."""
    if not review.confidential:
        return users
    return [user for user in users if reviews_visible_to(user).filter(pk=review.pk).exists()]


def _tell_opened(review: Review, *, now, exclude=None) -> None:
    users = [user for user in review_participants(review) if exclude is None or user != exclude]
    notify_many(
        [
            Notice(
                users=users,
                kind=NotificationKind.REVIEW,
                message=f"Review opened: {review.title}. Write your department's part.",
                dedupe_key=f"review:{review.pk}:opened",
                link=review.get_absolute_url(),
            )
        ],
        now=now,
    )


def reviews_open_due(now: datetime.datetime | None = None) -> int:
    """Open the reviews the departments' rules call for now (triggers.py); returns how many
    were opened. Idempotent: a trigger already reviewed opens nothing."""
    now = _now(now)
    found = triggers.everything_found(now)
    if not found:
        return 0
    known = set(
        Review.objects.filter(trigger_key__in=[item.key for item in found]).values_list(
            "trigger_key", flat=True
        )
    )
    opened = 0
    for item in found:
        if item.key in known:
            continue
        with transaction.atomic():
            _review, created = _open(item, opened_by=None, now=now)
        opened += created
    return opened


def review_opener_authorize(*, actor) -> None:
    """Raise PermissionDenied unless `actor` manages some department: who may open a review
    by hand at all, asked before any input is read."""
    if actor is None or not Membership.objects.filter(user=actor, role=Role.MANAGER).exists():
        raise PermissionDenied("Only a department's managers open reviews.")


def review_open_authorize(*, actor, provider: Department, customer: Department) -> None:
    """Raise PermissionDenied unless `actor` manages the provider or the customer."""
    managed = set(
        Membership.objects.filter(
            user=actor, role=Role.MANAGER, department__in=[provider, customer]
        ).values_list("department_id", flat=True)
    )
    if not managed:
        raise PermissionDenied(
            f"Only managers of {provider.name} or {customer.name} open a review of their work."
        )


def review_open_manual(
    *,
    actor,
    requests: Sequence[ServiceRequest] = (),
    provider: Department | None = None,
    customer: Department | None = None,
    period: str = "",
    now=None,
) -> tuple[Review, bool]:
    """A manager opens a review on requests they may see (of one provider-customer pair) or
    on a pair and quarter; (review, opened now): the same trigger gives the same review."""
    now = _now(now)
    review_opener_authorize(actor=actor)
    if requests:
        pks = sorted({request.pk for request in requests})
        visible = list(requests_visible_to(actor).filter(pk__in=pks))
        if len(visible) != len(pks):
            raise ValidationError({"requests": "No such request."})
        pairs = {(r.provider_department_id, r.requesting_department_id) for r in visible}
        if len(pairs) != 1:
            raise ValidationError(
                {"requests": "Review requests of one provider and one customer together."}
            )
        (provider_id, customer_id) = pairs.pop()
        provider, customer = (
            Department.objects.get(pk=provider_id),
            Department.objects.get(pk=customer_id),
        )
        review_open_authorize(actor=actor, provider=provider, customer=customer)
        references = ", ".join(r.reference for r in sorted(visible, key=lambda r: r.pk))
        key = triggers.request_key(pks[0]) if len(pks) == 1 else triggers.requests_key(pks)
        found = triggers.Found(
            trigger=Trigger.MANUAL,
            key=key,
            title=f"Review of {references}",
            provider_id=provider_id,
            customer_id=customer_id,
            request_ids=pks,
        )
    else:
        if provider is None or customer is None:
            raise ValidationError({"requests": "Name requests, or a pair and a quarter."})
        review_open_authorize(actor=actor, provider=provider, customer=customer)
        if provider.pk == customer.pk:
            raise ValidationError({"customer": "A pair is two different departments."})
        try:
            quarter = parse_quarter(period).key
        except ValueError:
            raise ValidationError({"period": "Give a quarter, like 2026-Q3."}) from None
        found = triggers.Found(
            trigger=Trigger.MANUAL,
            key=triggers.pair_key(provider.pk, customer.pk, quarter),
            title=f"{provider.name} for {customer.name} in {quarter}",
            provider_id=provider.pk,
            customer_id=customer.pk,
            period=quarter,
        )
    with transaction.atomic():
        return _open(found, opened_by=actor, now=now)


# --- writing --------------------------------------------------------------------------------


def _locked(review: Review) -> Review:
    return Review.objects.select_for_update().get(pk=review.pk)


def factors_refusal(factors: Iterable[str]) -> dict[str, str] | None:
    unknown = sorted(set(factors) - set(Factor.values))
    if unknown:
        return {"factors": f"Unknown factor(s): {', '.join(unknown)}."}
    return None


def review_section_write(
    *, actor, review: Review, department: Department, factors=None, now=None, **texts
) -> ReviewSection:
    """Write the actor's department's part of the review (the parts given; others stay)."""
    now = _now(now)
    with transaction.atomic():
        review = _locked(review)
        review_authorize(
            actor=actor, review=review, action="write_section", department_id=department.pk
        )
        review_state_check("write_section", review)
        unknown = set(texts) - set(SECTION_FIELDS)
        if unknown:
            raise ValueError(f"not a part of a section: {sorted(unknown)}")
        if factors is not None and (refusal := factors_refusal(factors)):
            raise ValidationError(refusal)
        section, _ = ReviewSection.objects.get_or_create(
            review=review, department=department, defaults={"updated_at": now}
        )
        for name, text in texts.items():
            setattr(section, name, (text or "").strip())
        if factors is not None:
            section.factors = [value for value in Factor.values if value in set(factors)]
        section.updated_by, section.updated_at = actor, now
        section.full_clean()
        section.save()
        return section


def _owner_refusal(review: Review, owner_department, owner) -> dict[str, str] | None:
    involved = ReviewDepartment.objects.filter(review=review, department=owner_department)
    if owner_department is None or not involved.exists():
        return {"owner_department": "Pick a department involved in the review."}
    if (
        owner is None
        or not Membership.objects.filter(user=owner, department=owner_department).exists()
    ):
        return {"owner": f"Pick a member of {owner_department.name}."}
    return None


def _due_refusal(due_on, *, now) -> dict[str, str] | None:
    if not isinstance(due_on, datetime.date):
        return {"due_on": "Give a due date."}
    if due_on < timezone.localtime(now, company_zone()).date():
        return {"due_on": "A due date is today or later."}
    return None


def review_action_add(
    *, actor, review: Review, title: str, owner_department, owner, due_on, now=None
) -> ReviewAction:
    """Add an action to an open review, owned by an involved department and its member."""
    now = _now(now)
    with transaction.atomic():
        review = _locked(review)
        review_authorize(actor=actor, review=review, action="add_action")
        review_state_check("add_action", review)
        errors = {}
        if not (title or "").strip():
            errors["title"] = "Say what will change."
        errors |= _owner_refusal(review, owner_department, owner) or {}
        errors |= _due_refusal(due_on, now=now) or {}
        if errors:
            raise ValidationError(errors)
        action = ReviewAction(
            review=review,
            title=title.strip()[:200],
            owner_department=owner_department,
            owner=owner,
            due_on=due_on,
            created_by=actor,
            created_at=now,
        )
        action.full_clean()
        action.save()
    if owner != actor:
        notify_many(
            [
                Notice(
                    users=_readers(review, [owner]),
                    kind=NotificationKind.REVIEW,
                    message=f"An action of a review is yours, due {due_on:%d %b %Y}: {title}",
                    dedupe_key=f"review-action:{action.pk}:owner:{owner.pk}",
                    link=review.get_absolute_url(),
                )
            ],
            now=now,
        )
    return action


def _action_locked(action: ReviewAction) -> tuple[ReviewAction, Review]:
    review = _locked(action.review)
    return ReviewAction.objects.select_for_update().get(pk=action.pk), review


def review_action_update(
    *, actor, action: ReviewAction, title=None, owner=None, due_on=None, now=None
) -> ReviewAction:
    """Change an open action's title, owner (of the same department) or due date."""
    now = _now(now)
    with transaction.atomic():
        action, review = _action_locked(action)
        review_authorize(actor=actor, review=review, action="update", item=action)
        review_state_check("update", review, item=action)
        errors = {}
        if title is not None and not title.strip():
            errors["title"] = "Say what will change."
        if owner is not None:
            errors |= _owner_refusal(review, action.owner_department, owner) or {}
        if due_on is not None:
            errors |= _due_refusal(due_on, now=now) or {}
        if errors:
            raise ValidationError(errors)
        if title is not None:
            action.title = title.strip()[:200]
        if owner is not None:
            action.owner = owner
        if due_on is not None and due_on != action.due_on:
            # A new due date starts the overdue steps again.
            action.due_on, action.overdue_notified_step = due_on, 0
        action.save()
        return action


def review_action_settle(
    *, actor, action: ReviewAction, state: str, reason: str = "", now=None
) -> ReviewAction:
    """Mark an open action done, or drop it with a reason."""
    now = _now(now)
    verb = {ActionState.DONE: "done", ActionState.DROPPED: "drop"}.get(state)
    if verb is None:
        raise ValueError(f"an action is settled as done or dropped, not {state!r}")
    with transaction.atomic():
        action, review = _action_locked(action)
        review_authorize(actor=actor, review=review, action=verb, item=action)
        review_state_check(verb, review, item=action)
        if state == ActionState.DROPPED and not (reason or "").strip():
            raise ValidationError({"reason": "Say why the action is dropped."})
        changed = ReviewAction.objects.filter(pk=action.pk, state=ActionState.OPEN).update(
            state=state,
            dropped_reason=(reason or "").strip() if state == ActionState.DROPPED else "",
            done_at=now if state == ActionState.DONE else None,
            settled_at=now,
        )
        action.refresh_from_db()
    if changed and state == ActionState.DONE:
        _tell_done(action, review, actor=actor, now=now)
    return action


def _tell_done(action: ReviewAction, review: Review, *, actor, now) -> None:
    """The other involved departments are asked to confirm."""
    others = (
        ReviewDepartment.objects.filter(review=review)
        .exclude(department_id=action.owner_department_id)
        .values("department_id")
    )
    of_others = set(
        Membership.objects.filter(department_id__in=others).values_list("user_id", flat=True)
    )
    users = [user for user in review_participants(review) if user.pk in of_others]
    notify_many(
        [
            Notice(
                users=[user for user in users if user != actor],
                kind=NotificationKind.REVIEW,
                message=f"Done, please confirm: {action.title}",
                dedupe_key=f"review-action:{action.pk}:done",
                link=review.get_absolute_url(),
            )
        ],
        now=now,
    )


def review_action_confirm(*, actor, action: ReviewAction, now=None) -> ReviewAction:
    """Someone of another involved department confirms that a done action is done."""
    now = _now(now)
    with transaction.atomic():
        action, review = _action_locked(action)
        review_authorize(actor=actor, review=review, action="confirm", item=action)
        review_state_check("confirm", review, item=action)
        ReviewAction.objects.filter(
            pk=action.pk, state=ActionState.DONE, confirmed_at__isnull=True
        ).update(confirmed_by=actor, confirmed_at=now)
        action.refresh_from_db()
        return action


def review_close(*, actor, review: Review, now=None) -> Review:
    """A manager of an involved department closes the review once no action is open."""
    now = _now(now)
    with transaction.atomic():
        review = _locked(review)
        review_authorize(actor=actor, review=review, action="close")
        review_state_check("close", review)
        Review.objects.filter(pk=review.pk, state=ReviewState.OPEN).update(
            state=ReviewState.CLOSED, closed_at=now, closed_by=actor
        )
        review.refresh_from_db()
        return review


# --- rules and overdue actions -------------------------------------------------------------


RULE_FIELDS = (
    "breach_enabled",
    "breach_share_percent",
    "low_rating_enabled",
    "low_rating_max",
    "blocked_chain_enabled",
    "hire_back_enabled",
)


def review_rule_authorize(*, actor, department: Department) -> None:
    """Raise PermissionDenied unless `actor` manages the department (rules.rules_authorize)."""
    rules_authorize(actor=actor, department=department, edit=True)


def review_rule_set(*, actor, department: Department, now=None, **values) -> ReviewRule:
    """A manager of the department sets when reviews open on its service."""
    now = _now(now)
    review_rule_authorize(actor=actor, department=department)
    unknown = set(values) - set(RULE_FIELDS)
    if unknown:
        raise ValueError(f"not a review rule: {sorted(unknown)}")
    with transaction.atomic():
        rule, _ = ReviewRule.objects.select_for_update().get_or_create(department=department)
        for name, value in values.items():
            setattr(rule, name, value)
        rule.updated_by, rule.updated_at = actor, now
        rule.full_clean()
        rule.save()
        return rule


def overdue_step(days_overdue: int) -> int:
    """The last of settings.REVIEW_OVERDUE_STEPS (days) reached, 0 for none."""
    reached = [step for step in settings.REVIEW_OVERDUE_STEPS if days_overdue >= step]
    return max(reached, default=0)


def review_actions_notify_overdue(now=None) -> int:
    """Tell the owner of each open overdue action, and the managers of its department, once
    per overdue step; returns how many steps were told. Each step is claimed with a guarded
    update, so two runs at once tell it once."""
    now = _now(now)
    today = timezone.localtime(now, company_zone()).date()
    first = min(settings.REVIEW_OVERDUE_STEPS)
    candidates = ReviewAction.objects.filter(
        state=ActionState.OPEN,
        due_on__lte=today - datetime.timedelta(days=first),
        review__state=ReviewState.OPEN,
    ).select_related("owner", "owner_department", "review")
    managers = {}
    told = 0
    for action in candidates:
        step = overdue_step((today - action.due_on).days)
        if step <= action.overdue_notified_step:
            continue
        claimed = ReviewAction.objects.filter(
            pk=action.pk, state=ActionState.OPEN, overdue_notified_step=action.overdue_notified_step
        ).update(overdue_notified_step=step)
        if claimed != 1:
            continue
        if action.owner_department_id not in managers:
            managers[action.owner_department_id] = list(
                get_user_model().objects.filter(
                    memberships__department_id=action.owner_department_id,
                    memberships__role=Role.MANAGER,
                    is_active=True,
                )
            )
        days = (today - action.due_on).days
        users = [action.owner, *managers[action.owner_department_id]]
        users = _readers(action.review, users)
        notify_many(
            [
                Notice(
                    users=users,
                    kind=NotificationKind.REVIEW,
                    message=f"Review action {days} day(s) overdue: {action.title}",
                    dedupe_key=f"review-action:{action.pk}:overdue:{step}",
                    link=action.review.get_absolute_url(),
                )
            ],
            now=now,
        )
        told += 1
    return told
