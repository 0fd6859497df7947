"""Demo reviews for `manage.py seed_demo` (called after the surveys' demo, before the scores).

The demo company switched reviews on REVIEWS_SINCE before "now": beat's scan
(`services.reviews_open_due`) runs at weekly moments of that stretch and at now, so the rules
open what they would have opened (breaches, low ratings, late blocking chains, negative
hire-back). Then the reviews are worked through the services, at the time it would have
happened, so permissions and notifications are the real ones; the older a review, the
further it got, in a cycle of stages: just opened, the provider's part written, both sides'
parts and an action, an action done and confirmed beside one left open (overdue once its
due date passed), and closed with one action done and confirmed and one dropped with a
reason. A step that would fall after now is not taken: that review stays where it got.

Idempotent: a review that has a section or an action already is left as it is, and the
scans open nothing twice. Notifications it causes are marked emailed (and read when older
than two days): starting the worker sends no flood about the past.
"""

from __future__ import annotations

import datetime
import random

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.periods import company_zone
from departments.choices import Role
from departments.models import Department, Membership
from requests_app.models import Notification, ServiceRequest
from requests_app.selectors import PROVIDER_ROLES

from . import services
from .choices import ActionState, Factor, ReviewState, Side
from .models import Review, ReviewAction, ReviewDepartment, ReviewSection

SEED = 2026
REVIEWS_SINCE = datetime.timedelta(weeks=6)
SCAN_EVERY = datetime.timedelta(days=7)
NOTIFICATIONS_UNREAD_FOR = datetime.timedelta(days=2)
# The stages of the cycle, in order: how far a review gets (if time allows).
STAGES = ("opened", "provider_written", "both_written", "acting", "closed")
# When each step happens, after the review opened.
PROVIDER_WRITES_AFTER = datetime.timedelta(hours=20)
CUSTOMER_WRITES_AFTER = datetime.timedelta(days=1, hours=4)
ACTIONS_ADDED_AFTER = datetime.timedelta(days=1, hours=6)
ACTION_DUE_AFTER_DAYS = 7
ACTION_DONE_AFTER = datetime.timedelta(days=5)
ACTION_CONFIRMED_AFTER = datetime.timedelta(days=6)
CLOSED_AFTER = datetime.timedelta(days=9)

WRITING = {
    Side.PROVIDER: {
        "what_happened": [
            "The request waited in the queue over a busy week before anyone picked it up.",
            "We needed a part from a supplier and did not tell the requester how long it took.",
            "The request went to the wrong team first and lost a day in the hand-off.",
        ],
        "went_well": [
            "Once assigned, the fix itself took under an hour.",
            "The requester got a clear explanation of what was done.",
        ],
        "went_wrong": [
            "Nobody owned the queue on the days our lead was away.",
            "We promised a date without checking the supplier's lead time.",
        ],
        "factors": [[Factor.CAPACITY], [Factor.HAND_OFF, Factor.TOOLING], [Factor.KNOWLEDGE]],
    },
    Side.CUSTOMER: {
        "what_happened": [
            "We filed it as normal priority although a customer visit depended on it.",
            "Our answer to the agent's question took two days: the person who knew was away.",
        ],
        "went_well": ["The agent kept us informed once the work had started."],
        "went_wrong": [
            "We did not say in the request why it was urgent.",
            "Nobody on our side was named to answer questions while the requester was away.",
        ],
        "factors": [[Factor.REQUESTER_INPUT], [Factor.POLICY, Factor.REQUESTER_INPUT]],
    },
    Side.BLOCKING: {
        "what_happened": ["The purchase order this depended on waited for a second approval."],
        "went_well": ["The order went out the same day it was approved."],
        "went_wrong": ["We did not know that another request was waiting on ours."],
        "factors": [[Factor.POLICY, Factor.HAND_OFF]],
    },
}
ACTIONS = {
    Side.PROVIDER: [
        "Name a stand-in for the queue when the lead is away",
        "Check supplier lead times before promising a date",
        "Add a triage rota for Monday mornings",
    ],
    Side.CUSTOMER: [
        "Say in the request what depends on it and by when",
        "Name a second contact for requests filed before a holiday",
    ],
}
DROP_REASONS = [
    "The new intake form asks for this already.",
    "Replaced by the department-wide rota agreed in the monthly meeting.",
]


def seed_demo(*, stdout) -> None:
    now = timezone.now()
    first = (
        ServiceRequest.objects.order_by("created_at").values_list("created_at", flat=True).first()
    )
    if first is None:
        return
    opened = 0
    moment = max(first, now - REVIEWS_SINCE)
    while moment < now:
        opened += services.reviews_open_due(now=moment)
        moment += SCAN_EVERY
    opened += services.reviews_open_due(now=now)
    worked = _work_reviews(now)
    overdue = services.review_actions_notify_overdue(now=now)
    seeded = Notification.objects.filter(dedupe_key__startswith="review", emailed_at__isnull=True)
    seeded.filter(created_at__lt=now - NOTIFICATIONS_UNREAD_FOR, read_at__isnull=True).update(
        read_at=F("created_at") + datetime.timedelta(hours=3)
    )
    seeded.update(emailed_at=now)
    states = dict.fromkeys(ActionState.values, 0)
    for state in ReviewAction.objects.values_list("state", flat=True):
        states[state] += 1
    stdout.write(
        f"Reviews: {opened} opened by the rules, {worked} worked on; "
        f"{Review.objects.filter(state=ReviewState.CLOSED).count()} closed; actions "
        + ", ".join(f"{count} {state}" for state, count in states.items())
        + f" ({overdue} overdue owners told)."
    )


def _work_reviews(now) -> int:
    """Bring each untouched review as far as its stage and its age allow."""
    reviews = list(
        Review.objects.filter(confidential=False)
        .select_related("provider_department", "customer_department")
        .order_by("opened_at", "pk")
    )
    touched = set(ReviewSection.objects.values_list("review_id", flat=True)) | set(
        ReviewAction.objects.values_list("review_id", flat=True)
    )
    worked = 0
    for index, review in enumerate(reviews):
        if review.pk in touched or review.state != ReviewState.OPEN:
            continue
        stage = index % len(STAGES)
        if stage == 0:
            continue
        try:
            with transaction.atomic():
                worked += _work(review, stage=stage, now=now)
        except (PermissionDenied, ValidationError):
            # A participant who left since, say: the review stays as it was.
            continue
    return worked


def _staff(department_id: int, roles) -> object | None:
    membership = (
        Membership.objects.filter(department_id=department_id, role__in=roles, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
        .first()
    )
    return membership.user if membership else None


def _writers(review: Review) -> dict[int, tuple[str, object]]:
    """Who writes for each involved department: {department id: (side, user)}. On the
    provider's side the request's assignee when there is one, on the customer's its
    requester, or else the department's first agent or manager."""
    request = (
        ServiceRequest.objects.filter(review_links__review=review)
        .select_related("assignee", "requester")
        .order_by("pk")
        .first()
    )
    writers = {}
    for department_id, side in ReviewDepartment.objects.filter(review=review).values_list(
        "department_id", "side"
    ):
        user = None
        if side == Side.CUSTOMER:
            if request is not None and request.requesting_department_id == department_id:
                user = request.requester
            user = user if user and user.is_active else _staff(department_id, [Role.MANAGER])
        else:
            if (
                request is not None
                and request.provider_department_id == department_id
                and request.assignee is not None
                and Membership.objects.filter(
                    user=request.assignee, department_id=department_id, role__in=PROVIDER_ROLES
                ).exists()
            ):
                user = request.assignee
            user = user or _staff(department_id, PROVIDER_ROLES)
        if user is not None:
            writers[department_id] = (side, user)
    return writers


def _write(review, department_id, side, user, rng, *, now) -> None:
    words = WRITING[side]
    services.review_section_write(
        actor=user,
        review=review,
        department=Department.objects.get(pk=department_id),
        what_happened=rng.choice(words["what_happened"]),
        went_well=rng.choice(words["went_well"]),
        went_wrong=rng.choice(words["went_wrong"]),
        factors=rng.choice(words["factors"]),
        now=now,
    )


def _work(review: Review, *, stage: int, now) -> bool:
    """Take the steps of `stage` (an index of STAGES) that fall before now; whether any was
    taken."""
    rng = random.Random(f"{SEED}-review-{review.pk}")  # noqa: S311 - demo data  # nosec B311
    writers = _writers(review)
    provider = writers.get(review.provider_department_id)
    customer = writers.get(review.customer_department_id)
    if provider is None or customer is None:
        return False
    opened_at = review.opened_at

    def before_now(delta):
        return opened_at + delta < now

    if not before_now(PROVIDER_WRITES_AFTER):
        return False
    _write(
        review, review.provider_department_id, *provider, rng, now=opened_at + PROVIDER_WRITES_AFTER
    )
    if stage < STAGES.index("both_written") or not before_now(ACTIONS_ADDED_AFTER):
        return True
    for department_id, (side, user) in writers.items():
        if department_id != review.provider_department_id:
            _write(review, department_id, side, user, rng, now=opened_at + CUSTOMER_WRITES_AFTER)
    added_at = opened_at + ACTIONS_ADDED_AFTER
    due_on = timezone.localtime(added_at, company_zone()).date() + datetime.timedelta(
        days=ACTION_DUE_AFTER_DAYS
    )
    provider_user, customer_user = provider[1], customer[1]
    fix = services.review_action_add(
        actor=provider_user,
        review=review,
        title=rng.choice(ACTIONS[Side.PROVIDER]),
        owner_department=review.provider_department,
        owner=provider_user,
        due_on=due_on,
        now=added_at,
    )
    if stage < STAGES.index("acting"):
        return True
    ours = services.review_action_add(
        actor=customer_user,
        review=review,
        title=rng.choice(ACTIONS[Side.CUSTOMER]),
        owner_department=review.customer_department,
        owner=customer_user,
        due_on=due_on,
        now=added_at,
    )
    if not before_now(ACTION_CONFIRMED_AFTER):
        return True
    services.review_action_settle(
        actor=provider_user,
        action=fix,
        state=ActionState.DONE,
        now=opened_at + ACTION_DONE_AFTER,
    )
    services.review_action_confirm(
        actor=customer_user, action=fix, now=opened_at + ACTION_CONFIRMED_AFTER
    )
    # "acting" leaves the customer's action open: overdue once its due date has passed.
    if stage < STAGES.index("closed") or not before_now(CLOSED_AFTER):
        return True
    services.review_action_settle(
        actor=customer_user,
        action=ours,
        state=ActionState.DROPPED,
        reason=rng.choice(DROP_REASONS),
        now=opened_at + CLOSED_AFTER - datetime.timedelta(hours=2),
    )
    closer = _staff(review.provider_department_id, [Role.MANAGER])
    if closer is not None:
        services.review_close(actor=closer, review=review, now=opened_at + CLOSED_AFTER)
    return True
