"""Agreements between departments: who sees them, who may propose, accept, decline or
withdraw one, what each refuses with which message, and whom each step is told to. Written
once; the services (departments.services), the API, the pages and the org import ask here.

The two sides of an agreement are the provider and the customer department; for an
agreement with every customer, the customer side is every other department. Then:

- the managers of either side and HR (read-only) see it; nobody else does (404);
- a manager of either side proposes a version for the pair (only the provider's managers
  propose one for every customer);
- a manager of the other side than the one that proposed accepts or declines it (a decline
  says why); the proposer never decides their own proposal, even if they manage both sides;
- a manager of the proposing side may withdraw it while nobody has answered;
- only a proposal is accepted, declined or withdrawn, one proposal at a time per pair.
"""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass

from django.contrib.auth import get_user_model

from .choices import HR_GROUP, AgreementSide, AgreementState, Role
from .models import Agreement, Department, Membership

DECISIONS = ("accept", "decline", "withdraw")


@dataclass(frozen=True)
class Standing:
    """Where a user stands to an agreement's (or a pair's) two sides."""

    user_id: int | None
    provider_manager: bool
    customer_manager: bool
    is_hr: bool

    @property
    def sees(self) -> bool:
        return self.provider_manager or self.customer_manager or self.is_hr

    @property
    def side(self) -> str | None:
        """The side the user acts for (the provider's, if they manage both)."""
        if self.provider_manager:
            return AgreementSide.PROVIDER
        if self.customer_manager:
            return AgreementSide.CUSTOMER
        return None


def managed_department_ids(user) -> set[int]:
    if user is None or not user.is_authenticated:
        return set()
    return set(
        Membership.objects.filter(user=user, role=Role.MANAGER).values_list(
            "department_id", flat=True
        )
    )


def is_hr(user) -> bool:
    return bool(user and user.is_authenticated and user.groups.filter(name=HR_GROUP).exists())


def standing_for(
    user, *, provider_id: int, customer_id: int | None, managed=None, hr=None
) -> Standing:
    """The user's standing to the pair (two queries, none with `managed` and `hr` given)."""
    managed = managed_department_ids(user) if managed is None else managed
    hr = is_hr(user) if hr is None else hr
    if customer_id is None:
        customer_manager = bool(managed - {provider_id})
    else:
        customer_manager = customer_id in managed
    return Standing(
        user_id=user.pk if user is not None else None,
        provider_manager=provider_id in managed,
        customer_manager=customer_manager,
        is_hr=hr,
    )


def standing_on(user, agreement: Agreement, **known) -> Standing:
    return standing_for(
        user, provider_id=agreement.provider_id, customer_id=agreement.customer_id, **known
    )


def _customer_side_name(agreement_or_customer) -> str:
    customer = getattr(agreement_or_customer, "customer", agreement_or_customer)
    return customer.name if customer is not None else "a customer department"


# --- refusals (403): who may --------------------------------------------------------------


def propose_refusal(standing: Standing, *, provider: Department, customer) -> str | None:
    """Why the user may not propose an agreement for the pair, or None."""
    if customer is None:
        if not standing.provider_manager:
            return f"Only {provider.name}'s managers propose an agreement with every customer."
        return None
    if standing.side is None:
        return f"Only managers of {provider.name} or {customer.name} propose their agreement."
    return None


def _side_name(agreement: Agreement, side: str) -> str:
    if side == AgreementSide.PROVIDER:
        return agreement.provider.name
    return _customer_side_name(agreement)


def decision_refusal(action: str, agreement: Agreement, standing: Standing) -> str | None:
    """Why the user may not accept, decline or withdraw the agreement, or None. The user
    sees it (the caller answered 404 otherwise)."""
    proposing = agreement.proposed_side
    other = (
        AgreementSide.CUSTOMER if proposing == AgreementSide.PROVIDER else AgreementSide.PROVIDER
    )
    manages = {
        AgreementSide.PROVIDER: standing.provider_manager,
        AgreementSide.CUSTOMER: standing.customer_manager,
    }
    if standing.side is None:
        return "HR sees agreements but does not decide them."
    if action == "withdraw":
        if not manages[proposing]:
            return (
                f"Only {_side_name(agreement, proposing)}'s managers withdraw what "
                f"{_side_name(agreement, proposing)} proposed."
            )
        return None
    if not manages[other]:
        return (
            f"{_side_name(agreement, proposing)} proposed it: a manager of "
            f"{_side_name(agreement, other)} accepts or declines it."
        )
    if agreement.proposed_by_id is not None and agreement.proposed_by_id == standing.user_id:
        return (
            f"You proposed it: another manager of {_side_name(agreement, other)} accepts or "
            "declines it."
        )
    return None


def actions_for(agreement: Agreement, standing: Standing, *, now) -> list[str]:
    """What the user may do with the agreement now: the page's buttons, the API's
    `allowed_actions`."""
    return [
        action
        for action in DECISIONS
        if decision_refusal(action, agreement, standing) is None
        and state_refusal(action, agreement, now=now) is None
    ]


# --- refusals (400): what the state and the input refuse ----------------------------------


def state_refusal(action: str, agreement: Agreement, *, now) -> str | None:
    """Why the agreement's state refuses the step, or None."""
    if agreement.state != AgreementState.PROPOSED:
        return (
            f"{agreement.label} is {agreement.get_state_display().lower()}: only a proposal "
            f"is {'withdrawn' if action == 'withdraw' else 'accepted or declined'}."
        )
    if (
        action == "accept"
        and agreement.valid_until is not None
        and day_end(agreement, agreement.valid_until) <= now
    ):
        return (
            f"It was to end on {agreement.valid_until:%d %b %Y}, before it was accepted: "
            "propose a new version."
        )
    return None


def decline_refusal(comment: str) -> dict | None:
    if not (comment or "").strip():
        return {"comment": "Say why you decline it, so the other side can propose again."}
    return None


# --- when it applies -----------------------------------------------------------------------


def agreement_zone(agreement: Agreement) -> zoneinfo.ZoneInfo:
    """The timezone of its days: its own calendar's, else the provider's."""
    calendar = agreement.calendar if agreement.calendar_id else agreement.provider.calendar
    return zoneinfo.ZoneInfo(calendar.timezone)


def day_start(agreement: Agreement, day: datetime.date) -> datetime.datetime:
    zone = agreement_zone(agreement)
    return datetime.datetime.combine(day, datetime.time(0), tzinfo=zone).astimezone(datetime.UTC)


def day_end(agreement: Agreement, day: datetime.date) -> datetime.datetime:
    """The first instant after the day, in the agreement's timezone."""
    return day_start(agreement, day + datetime.timedelta(days=1))


def effective_window(
    agreement: Agreement, *, accepted_at: datetime.datetime
) -> tuple[datetime.datetime, datetime.datetime | None]:
    """[from, until) of requests filed under it: from the later of its acceptance and its
    first day, to the end of its last day (None: until a later version)."""
    start = max(accepted_at, day_start(agreement, agreement.valid_from))
    until = day_end(agreement, agreement.valid_until) if agreement.valid_until else None
    return start, until


# --- whom each step is told to ------------------------------------------------------------


def _managers(department_ids) -> list:
    return list(
        get_user_model()
        .objects.filter(
            memberships__department_id__in=department_ids,
            memberships__role=Role.MANAGER,
            is_active=True,
        )
        .distinct()
        .order_by("pk")
    )


def side_managers(agreement: Agreement, side: str) -> list:
    if side == AgreementSide.PROVIDER:
        return _managers([agreement.provider_id])
    if agreement.customer_id is not None:
        return _managers([agreement.customer_id])
    others = Department.objects.exclude(pk=agreement.provider_id).values("pk")
    return _managers(others)


@dataclass(frozen=True)
class AgreementNotice:
    users: list
    message: str
    dedupe_key: str


def notice_for(action: str, agreement: Agreement, *, actor) -> AgreementNotice:
    """Who hears of a step and what they read: a proposal (or its withdrawal) goes to the
    other side's managers, an answer to the proposing side's."""
    proposing = agreement.proposed_side
    other = (
        AgreementSide.CUSTOMER if proposing == AgreementSide.PROVIDER else AgreementSide.PROVIDER
    )
    who = _side_name(agreement, proposing if action in ("propose", "withdraw") else other)
    if action == "propose":
        users, message = side_managers(agreement, other), f"{who} proposes the {agreement.label}"
    elif action == "withdraw":
        users, message = side_managers(agreement, other), f"{who} withdrew the {agreement.label}"
    else:
        past = {"accept": "accepted", "decline": "declined"}[action]
        users = side_managers(agreement, proposing)
        message = f"{actor_name(actor)} ({who}) {past} the {agreement.label}"
        if action == "decline" and agreement.decision_comment:
            message += f": {agreement.decision_comment}"
    users = [user for user in users if actor is None or user.pk != actor.pk]
    return AgreementNotice(
        users=users, message=message[:300], dedupe_key=f"agreement:{agreement.pk}:{action}"
    )


def actor_name(user) -> str:
    return (user.get_full_name() or user.username) if user is not None else "Someone"


# --- in words ------------------------------------------------------------------------------


def _day(moment: datetime.datetime, agreement: Agreement) -> str:
    return f"{moment.astimezone(agreement_zone(agreement)):%a %d %b %Y}"


def status_text(agreement: Agreement, *, now) -> str:
    """Where the version stands, for its pages: "In effect since Tue 01 Sep 2026",
    "Proposed by IT on ..., waiting for Sales to answer", "Superseded by v3 from ...", ..."""
    state = agreement.state
    if state == AgreementState.PROPOSED:
        other = (
            _customer_side_name(agreement)
            if agreement.proposed_side == AgreementSide.PROVIDER
            else agreement.provider.name
        )
        who = _side_name(agreement, agreement.proposed_side)
        return (
            f"Proposed by {who} on {_day(agreement.proposed_at, agreement)}, waiting for "
            f"{other} to answer"
        )
    decided = f" on {_day(agreement.decided_at, agreement)}" if agreement.decided_at else ""
    if state == AgreementState.DECLINED:
        return f"Declined{decided}" + (
            f": {agreement.decision_comment}" if agreement.decision_comment else ""
        )
    if state == AgreementState.WITHDRAWN:
        return f"Withdrawn{decided}"
    start, until = agreement.effective_from, agreement.effective_until
    if state == AgreementState.SUPERSEDED and agreement.superseded_by_id:
        later = f"v{agreement.superseded_by.version}"
        if until is not None and start is not None and until <= start:
            return f"Superseded by {later} before it took effect"
        if until is not None and until > now:
            return f"In effect until {_day(until, agreement)}, then superseded by {later}"
        return f"Superseded by {later} on {_day(until, agreement)}" if until else "Superseded"
    if start is not None and start > now:
        return f"Accepted{decided}; applies from {_day(start, agreement)}"
    if until is not None and until <= now:
        return f"Ended on {_day(until - datetime.timedelta(seconds=1), agreement)}"
    text = f"In effect since {_day(start, agreement)}" if start else "Accepted"
    if agreement.valid_until is not None:
        text += f", until {agreement.valid_until:%a %d %b %Y}"
    return text
