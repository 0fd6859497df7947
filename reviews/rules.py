"""Who may do what with a review, written once: the services, the API, the pages ask here.

Participants are, on the provider's and the blocking departments' side, their agents and
managers (PROVIDER_ROLES: they worked the requests); on the customer's side its managers and
the requesters of the reviewed requests, who write for the department they filed for: the
customer's people who may see its requests. Plain members who filed nothing reviewed are
not asked. A blocking department takes part in a chain's review though it may not see the
held-up request itself: looking at the chain together is the point. Then:

- a review is seen by its participants, and only by them; a review with a confidential
  request only by participants who may see every one of its requests
  (`requests_visible_to`'s rule), so the review never tells more than the requests do. HR sees
  counts (scorecards), not text: the review itself answers 404 to HR;
- a participant writes their own department's section (one per department), while open;
- any participant adds an action, owned by an involved department and one of its members;
  the owner's department (its participants) and the managers of every involved department
  change it, mark it done, or drop it with a reason;
- a participant of another involved department than the owner's confirms a done action:
  the other side checks it;
- a manager of an involved department closes the review, once every action is done or
  dropped; a closed review is read-only;
- a department's review rules (when reviews open on its service by themselves) are read by
  its members, whatever their role, and changed by its managers (`rules_standing`); others
  are refused (403: departments are public, so that leaks nothing).

`review_authorize` is the first thing every service does, and the API and page views call
it too before reading their input: a person who may not act gets 403 (404 when they may not
see the review) whatever they send.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet

from departments.choices import Role
from departments.models import Membership
from requests_app.selectors import PROVIDER_ROLES, visible_through

from .choices import SETTLED_ACTION_STATES, ActionState, ReviewState, Side
from .models import Review, ReviewAction, ReviewDepartment, ReviewRequest

# Actions on a review, and on one of its actions.
REVIEW_ACTIONS = ("view", "write_section", "add_action", "close")
ACTION_ACTIONS = ("update", "done", "drop", "confirm")


def reviews_visible_to(user) -> QuerySet[Review]:
    """Reviews the user takes part in, less those with a confidential request they may not
    see: the one gate of every list, page, API view and notification of reviews."""
    if user is None or not user.is_authenticated:
        return Review.objects.none()
    memberships = Membership.objects.filter(user=user)
    staff_of = memberships.filter(role__in=PROVIDER_ROLES).values("department_id")
    manager_of = memberships.filter(role=Role.MANAGER).values("department_id")
    involved = ReviewDepartment.objects.filter(review=OuterRef("pk"))
    takes_part = (
        Exists(involved.filter(department__in=staff_of).exclude(side=Side.CUSTOMER))
        | Exists(involved.filter(department__in=manager_of))
        | Exists(ReviewRequest.objects.filter(review=OuterRef("pk"), request__requester=user))
    )
    hidden_request = Exists(
        ReviewRequest.objects.filter(review=OuterRef("pk")).exclude(
            visible_through(user, "request__")
        )
    )
    return Review.objects.filter(takes_part).filter(Q(confidential=False) | ~hidden_request)


@dataclass(frozen=True)
class Standing:
    """Where a user stands to a review they may see: the involved departments they take
    part for, and those they manage."""

    sees: bool
    departments: frozenset[int]  # involved departments they are a participant of
    managed: frozenset[int]  # involved departments they manage

    @property
    def participant(self) -> bool:
        return bool(self.departments)


def standing_on(user, review: Review) -> Standing:
    """The user's standing to the review (four queries)."""
    nobody = Standing(sees=False, departments=frozenset(), managed=frozenset())
    if user is None or not user.is_authenticated:
        return nobody
    if not reviews_visible_to(user).filter(pk=review.pk).exists():
        return nobody
    involved = dict(
        ReviewDepartment.objects.filter(review=review).values_list("department_id", "side")
    )
    roles = dict(
        Membership.objects.filter(user=user, department_id__in=involved).values_list(
            "department_id", "role"
        )
    )
    managed = {pk for pk, role in roles.items() if role == Role.MANAGER}
    departments = managed | {
        pk for pk, role in roles.items() if role in PROVIDER_ROLES and involved[pk] != Side.CUSTOMER
    }
    # A requester writes for the department they filed for.
    departments |= set(
        ReviewRequest.objects.filter(
            review=review,
            request__requester=user,
            request__requesting_department_id__in=involved,
        ).values_list("request__requesting_department_id", flat=True)
    )
    return Standing(sees=True, departments=frozenset(departments), managed=frozenset(managed))


def actor_refusal(
    action: str, standing: Standing, *, department_id: int | None = None, item=None
) -> str | None:
    """Why someone who sees the review may not take `action` (on its department
    `department_id`, or its action `item`), or None."""
    if action == "view":
        return None
    if action == "write_section":
        if department_id is None:
            return None if standing.participant else "Only the review's participants write it."
        if department_id not in standing.departments:
            return "You write your own department's part only."
        return None
    if action == "add_action":
        return None if standing.participant else "Only the review's participants add actions."
    if action == "close":
        if not standing.managed:
            return "Only a manager of an involved department closes the review."
        return None
    if action in ("update", "done", "drop"):
        owner = item.owner_department_id
        if owner in standing.departments or standing.managed:
            return None
        return "Only the owning department and the involved managers change this action."
    if action == "confirm":
        if standing.departments - {item.owner_department_id}:
            return None
        return "Another involved department than the owner's confirms that it is done."
    raise ValueError(f"unknown review action {action!r}")


def state_refusal(action: str, review: Review, *, item=None, open_actions: int = 0):
    """Why the review (or its action `item`) as it is refuses `action` ({field: message})."""
    if action == "view":
        return None
    if review.state == ReviewState.CLOSED:
        return {"state": "This review is closed."}
    if action == "close" and open_actions:
        return {"state": f"{open_actions} action(s) still open: mark them done or drop them."}
    if action in ("update", "done", "drop") and item.state != ActionState.OPEN:
        return {"state": f"This action is {ActionState(item.state).label.lower()} already."}
    if action == "confirm":
        if item.state != ActionState.DONE:
            return {"state": "Only a done action is confirmed."}
        if item.confirmed_at is not None:
            return {"state": "This action is confirmed already."}
    return None


def review_authorize(*, actor, review: Review, action: str, department_id=None, item=None):
    """Raise PermissionDenied unless `actor` may take `action` on the review; returns their
    standing. The caller answers 404 first when the review is not visible to them."""
    standing = standing_on(actor, review)
    if not standing.sees:
        raise PermissionDenied("You may not see this review.")
    refusal = actor_refusal(action, standing, department_id=department_id, item=item)
    if refusal is not None:
        raise PermissionDenied(refusal)
    return standing


def review_state_check(action: str, review: Review, *, item=None) -> None:
    """Raise ValidationError if the review's state refuses `action`."""
    open_actions = 0
    if action == "close":
        open_actions = ReviewAction.objects.filter(review=review, state=ActionState.OPEN).count()
    refusal = state_refusal(action, review, item=item, open_actions=open_actions)
    if refusal is not None:
        raise ValidationError(refusal)


def allowed_for(standing: Standing, review: Review, *, item=None) -> list[str]:
    """The actions a standing allows on the review (or its action `item`), for buttons."""
    names = ACTION_ACTIONS if item is not None else REVIEW_ACTIONS
    allowed = []
    for name in names:
        if not standing.sees or actor_refusal(name, standing, item=item) is not None:
            continue
        if name != "close" and state_refusal(name, review, item=item) is not None:
            continue
        if name == "close" and review.state == ReviewState.CLOSED:
            continue
        allowed.append(name)
    return allowed


def is_settled(state: str) -> bool:
    return state in SETTLED_ACTION_STATES


RULES_READ_REFUSAL = "Only the department's members see its review rules."


def rules_standing(user, department) -> tuple[bool, bool]:
    """(reads, edits): may the user read the department's review rules (its members), may
    they change them (its managers)? One query."""
    if user is None or not user.is_authenticated:
        return False, False
    role = (
        Membership.objects.filter(user=user, department=department)
        .values_list("role", flat=True)
        .first()
    )
    return role is not None, role == Role.MANAGER


def rules_authorize(*, actor, department, edit: bool) -> bool:
    """Raise PermissionDenied unless `actor` may read (or, with `edit`, change) the
    department's review rules; returns whether they may change them."""
    reads, edits = rules_standing(actor, department)
    if not reads:
        raise PermissionDenied(RULES_READ_REFUSAL)
    if edit and not edits:
        raise PermissionDenied(f"Only managers of {department.name} set its review rules.")
    return edits
