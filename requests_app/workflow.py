"""The request lifecycle's decisions, each written once: who may take an action, and which
statuses an action leads from and to.

Who may act is decided before anything else: `request_action_authorize` is the first thing
every service does (under the request's lock), and the API and page views call it too,
before they read a byte of the input. So a person who may not act is answered 403 (404
where they may not even see the request) whatever they send, never a 400 that tells them
how their input would have been judged. `actor_refusal` is the pure rule, for callers that
hold the facts in memory (the demo's replay).
"""

from enum import StrEnum

from django.core.exceptions import PermissionDenied

from departments.models import Membership

from .choices import OPEN_STATUSES, Status
from .selectors import is_provider_staff


class Actors(StrEnum):
    """Who may take an action on a request."""

    PROVIDER = "provider"  # agents and managers of the provider department
    PARTIES = "parties"  # the requester, or agents and managers of the provider department


# Every action on a request, by who may take it. "comment" is a public reply, "note" an
# internal one; "attach" adds files without a reply.
ACTION_ACTORS: dict[str, Actors] = {
    "acknowledge": Actors.PROVIDER,
    "assign": Actors.PROVIDER,
    "start": Actors.PROVIDER,
    "wait": Actors.PROVIDER,
    "resolve": Actors.PROVIDER,
    "priority": Actors.PROVIDER,
    "promise": Actors.PROVIDER,
    "transfer": Actors.PROVIDER,
    "block": Actors.PROVIDER,
    "unblock": Actors.PROVIDER,
    "note": Actors.PROVIDER,
    "resume": Actors.PARTIES,
    "reopen": Actors.PARTIES,
    "close": Actors.PARTIES,
    "cancel": Actors.PARTIES,
    "comment": Actors.PARTIES,
    "attach": Actors.PARTIES,
}

REFUSALS: dict[str, str] = {
    "note": "Only the provider department can write internal notes.",
    # Managers of the requesting department can read, not write, their team's requests.
    "comment": "Only the requester and the provider department can reply.",
    "attach": "Only the requester and the provider department can attach files.",
    Actors.PROVIDER: "Only agents and managers of the provider department can do this.",
    Actors.PARTIES: "Only the requester and the provider department can do this.",
}

# Status changes: action -> (statuses it may start from, status it leads to).
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "start": ((Status.NEW,), Status.IN_PROGRESS),
    "wait": ((Status.NEW, Status.IN_PROGRESS), Status.WAITING_ON_REQUESTER),
    "resume": ((Status.WAITING_ON_REQUESTER,), Status.IN_PROGRESS),
    "resolve": (OPEN_STATUSES, Status.RESOLVED),
    "reopen": ((Status.RESOLVED,), Status.IN_PROGRESS),
    "close": ((Status.RESOLVED,), Status.CLOSED),
    "cancel": (OPEN_STATUSES, Status.CANCELLED),
}


def actor_refusal(action: str, *, is_requester: bool, is_provider_staff: bool) -> str | None:
    """Why someone may not take `action` on a request they can see, or None if they may."""
    actors = ACTION_ACTORS[action]
    if is_provider_staff or (actors == Actors.PARTIES and is_requester):
        return None
    return REFUSALS.get(action) or REFUSALS[actors]


def request_action_authorize(*, actor, request, action: str) -> None:
    """Raise PermissionDenied unless `actor` may take `action` on `request` (visible to
    them: the caller has checked that, or answers 404 first)."""
    refusal = actor_refusal(
        action,
        is_requester=actor is not None and actor.pk == request.requester_id,
        is_provider_staff=actor is not None
        and is_provider_staff(user=actor, department_id=request.provider_department_id),
    )
    if refusal is not None:
        raise PermissionDenied(refusal)


def request_file_authorize(*, requester) -> None:
    """Raise PermissionDenied unless `requester` may file requests: a member of a department
    (the department they file for is their input, checked afterwards)."""
    if requester is None or not Membership.objects.filter(user=requester).exists():
        raise PermissionDenied("You are not a member of any department; ask an administrator.")
