"""The workflow's decisions (requests_app/workflow.py): what it allows is what the services do.

For requests in every state and every role that can see them, each action the workflow lists
(`request_actions_for`: the page's buttons, the API's `allowed_actions`) succeeds through its
service with valid input, and each action it does not list is refused.
"""

import datetime
import zoneinfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from requests_app import services
from requests_app.choices import Status
from requests_app.workflow import (
    ACTION_ACTORS,
    actor_refusal,
    request_actions_for,
    state_refusal,
)
from tests.factories import ServiceFactory, SLATargetFactory

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
FILED = datetime.datetime(2026, 11, 23, 9, tzinfo=BERLIN)
pytestmark = pytest.mark.clock(FILED + datetime.timedelta(days=30))
ROLES = ["requester", "customer_manager", "agent", "provider_manager"]


class Undo(Exception):
    pass


def _call(action, request, user, *, org, blockers, now):
    """The service of `action`, with input it accepts: `blockers` is the request's blocker
    and another request it could be blocked by."""
    blocker, other = blockers
    if action == "acknowledge":
        return services.request_acknowledge(request=request, actor=user, now=now)
    if action == "assign":
        return services.request_assign(request=request, actor=user, assignee=org.agent, now=now)
    if action == "priority":
        return services.request_priority_change(
            request=request, actor=user, priority="urgent", now=now
        )
    if action == "promise":
        return services.request_promise(
            request=request, actor=user, promised_at=now + datetime.timedelta(days=2), now=now
        )
    if action == "transfer":
        return services.request_transfer(request=request, actor=user, department=org.other, now=now)
    if action == "block":
        return services.request_block(request=request, actor=user, blocked_by=other, now=now)
    if action == "unblock":
        return services.request_unblock(request=request, actor=user, blocked_by=blocker, now=now)
    if action in ("comment", "note"):
        return services.request_comment_add(
            request=request, author=user, body="Noted", internal=action == "note", now=now
        )
    if action == "attach":
        upload = SimpleUploadedFile("notes.txt", b"serial 123", content_type="text/plain")
        return services.request_attachments_add(
            request=request, actor=user, files=[upload], now=now
        )
    reason = "Not ours: Facilities orders chairs." if action == "decline" else ""
    return services.request_transition(
        request=request, actor=user, action=action, comment=reason, now=now
    )


def _taken(action, request, user, **kwargs) -> bool:
    try:
        with transaction.atomic():
            _call(action, request, user, **kwargs)
            raise Undo
    except Undo:
        return True
    except (PermissionDenied, ValidationError):
        return False


@pytest.fixture
def cast(org):
    laptop = ServiceFactory(department=org.provider, name="Laptop")
    ServiceFactory(department=org.other, name="Laptop")
    for department in (org.provider, org.other):
        SLATargetFactory(department=department, priority="normal")
    return org, laptop


def _in_state(org, laptop, state):
    """A request of Sales to IT, blocked by a request of IT's agent to Legal, in `state`;
    that blocker and another request of IT's to Legal; the instant at which to act on it."""
    request = services.request_create(
        requester=org.requester, service=laptop, title="Laptop", description="x", now=FILED
    )
    legal = ServiceFactory(department=org.other, name=f"Review {state}")
    blocker, other = (
        services.request_create(
            requester=org.agent, service=legal, title=title, description="x", now=FILED
        )
        for title in ("Licence", "Contract")
    )
    later = FILED + datetime.timedelta(hours=1)
    services.request_block(request=request, actor=org.agent, blocked_by=blocker, now=later)
    steps = {
        "new": [],
        "in_progress": ["start"],
        "waiting_on_requester": ["wait"],
        "resolved": ["resolve"],
        "resolved_long_ago": ["resolve"],
        "closed": ["resolve", "close"],
        "cancelled": ["cancel"],
        "declined": ["decline"],
    }[state]
    for action in steps:
        services.request_transition(
            request=request,
            actor=org.requester if action == "cancel" else org.agent,
            action=action,
            comment="Not ours." if action == "decline" else "",
            now=later,
        )
    acting = later + datetime.timedelta(minutes=5)
    if state == "resolved_long_ago":
        acting = later + datetime.timedelta(days=60)
    request.refresh_from_db()
    return request, (blocker, other), acting


STATES = [
    "new",
    "in_progress",
    "waiting_on_requester",
    "resolved",
    "resolved_long_ago",
    "closed",
    "cancelled",
    "declined",
]


@pytest.mark.parametrize("state", STATES)
def test_what_the_workflow_allows_is_what_the_services_take(cast, state):
    org, laptop = cast
    request, blockers, now = _in_state(org, laptop, state)
    expected_status = Status.RESOLVED if state == "resolved_long_ago" else state
    assert request.status == expected_status
    taken_by_anyone = set()
    for role in ROLES:
        user = getattr(org, role)
        allowed = request_actions_for(user, request, now=now)
        for action in ACTION_ACTORS:
            taken = _taken(action, request, user, org=org, blockers=blockers, now=now)
            if action == "unblock" and request.status not in (
                Status.NEW,
                Status.IN_PROGRESS,
                Status.WAITING_ON_REQUESTER,
            ):
                # Allowed to staff, but a finished request is blocked by nothing any more.
                assert not taken
                continue
            assert taken == (action in allowed), (role, action, allowed)
            taken_by_anyone |= {action} if taken else set()
    # A finished request takes nothing more; any other takes something from someone.
    assert bool(taken_by_anyone) == (state not in ("closed", "cancelled"))


def test_the_requester_may_reply_and_cancel_a_new_request_and_nothing_of_the_providers():
    new = type("Request", (), {"status": Status.NEW, "first_responded_at": None})()
    new.resolved_at = None
    now = FILED
    for action in ("cancel", "comment", "attach"):
        assert actor_refusal(action, is_requester=True, is_provider_staff=False) is None
        assert state_refusal(action, new, now=now) is None
    for action in ("assign", "start", "promise", "transfer", "note"):
        assert actor_refusal(action, is_requester=True, is_provider_staff=False)
    assert state_refusal("reopen", new, now=now) == {
        "status": "Cannot reopen a request that is new."
    }
