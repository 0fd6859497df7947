"""Clocks as of now, from their cached fields, for pages and the API.

A running clock's cache is as of `computed_at`; business time is additive, so its used time
now is the cached figure plus the business time since. A running clock past its due time is
shown as breached before the scanner has written it.
"""

import datetime
from dataclasses import dataclass

from django.utils import timezone

from departments.business_time import business_seconds_between

from .choices import ClockKind, ClockState
from .clocks import COMPUTED_FIELDS
from .models import SLAClock


@dataclass(frozen=True)
class LiveClock:
    kind: str
    state: str
    target_seconds: int
    used_seconds: int
    due_at: datetime.datetime | None
    warned_at: datetime.datetime | None
    breached_at: datetime.datetime | None
    completed_at: datetime.datetime | None
    started_at: datetime.datetime
    department_id: int
    # Where the target came from (departments.choices.TargetSource) and, under an agreement,
    # the version whose target it is.
    target_source: str = ""
    agreement_id: int | None = None

    @property
    def remaining_seconds(self) -> int:
        return self.target_seconds - self.used_seconds

    @property
    def percent_used(self) -> int:
        return (
            min(100, round(100 * self.used_seconds / self.target_seconds))
            if self.target_seconds
            else 100
        )

    @property
    def is_warning(self) -> bool:
        return self.state == ClockState.RUNNING and self.warned_at is not None

    def as_api(self) -> dict:
        return {
            "target_seconds": self.target_seconds,
            "due_at": self.due_at,
            "used_seconds": self.used_seconds,
            "state": self.state,
            "warned_at": self.warned_at,
            "breached_at": self.breached_at,
            "target_source": self.target_source,
            "agreement": self.agreement_id,
        }


def _is_ticking(clock, now) -> bool:
    """Still counting business time since its cache was computed (running, or breached and
    still running)."""
    running = clock.state == ClockState.RUNNING or (
        clock.state == ClockState.BREACHED and clock.running_since is not None
    )
    return running and clock.computed_at is not None and now > clock.computed_at


def _state_at(clock, now) -> tuple[str, datetime.datetime | None, datetime.datetime | None]:
    """(state, warned_at, breached_at) at `now`: a running clock past its warning time has
    warned, past its due time has breached, before the scanner has written either."""
    state, warned_at, breached_at = clock.state, clock.warned_at, clock.breached_at
    if state == ClockState.RUNNING and _is_ticking(clock, now):
        if warned_at is None and clock.warn_at is not None and clock.warn_at <= now:
            warned_at = clock.warn_at
        if clock.due_at is not None and now > clock.due_at:
            state, breached_at = ClockState.BREACHED, clock.due_at
    return state, warned_at, breached_at


def clock_live(clock: SLAClock, *, now=None) -> LiveClock:
    """The clock at `now` without touching the database (the calendar version is cached)."""
    now = now or timezone.now()
    used = clock.used_seconds
    if _is_ticking(clock, now):
        used += business_seconds_between(clock.calendar_version, clock.computed_at, now)
    state, warned_at, breached_at = _state_at(clock, now)
    return LiveClock(
        kind=clock.kind,
        state=state,
        target_seconds=clock.target_seconds,
        used_seconds=used,
        due_at=clock.due_at,
        warned_at=warned_at,
        breached_at=breached_at,
        completed_at=clock.completed_at,
        started_at=clock.started_at,
        department_id=clock.department_id,
        target_source=clock.target_source,
        agreement_id=clock.agreement_id,
    )


def current_clocks(request, *, now=None) -> dict[str, LiveClock]:
    """The request's current clocks by kind (uses the `current_clocks` prefetch if present)."""
    clocks = getattr(request, "current_clocks", None)
    if clocks is None:
        clocks = request.clocks.filter(is_current=True).select_related("calendar_version")
    return {clock.kind: clock_live(clock, now=now) for clock in clocks}


# --- clocks read as values: the list pages and the API's list ------------------------------

CLOCK_VALUES = (
    "request_id",
    "kind",
    "target_seconds",
    *COMPUTED_FIELDS,
    "started_at",
    "department_id",
    "calendar_version_id",
    "target_source",
    "agreement_id",
)


class ClockValues:
    """A current clock read as plain values, with attribute access for the rules written
    for clocks (`clock_glance`; `clock_live` once `calendar_version` is set)."""

    def __init__(self, values: dict):
        self.__dict__.update(values)


def current_clock_values(request_ids) -> list[ClockValues]:
    """The current clocks of these requests, one query, no model instances."""
    rows = (
        SLAClock.objects.filter(request_id__in=request_ids, is_current=True)
        .order_by()
        .values(*CLOCK_VALUES)
    )
    return [ClockValues(row) for row in rows]


@dataclass(frozen=True)
class ClockGlance:
    """A clock's state and due time at `now`, without its business time used (which needs
    its calendar): all a list row shows."""

    kind: str
    state: str
    due_at: datetime.datetime | None
    warned_at: datetime.datetime | None
    completed_at: datetime.datetime | None


def clock_glance(clock: ClockValues, *, now) -> ClockGlance:
    state, warned_at, _breached_at = _state_at(clock, now)
    return ClockGlance(
        kind=clock.kind,
        state=state,
        due_at=clock.due_at,
        warned_at=warned_at,
        completed_at=clock.completed_at,
    )


# The overall SLA state of a request: its worst current clock's, most severe first.
SLA_SEVERITY = ["breached", "warning", "running", "paused", "met", "stopped"]


def sla_class(clock) -> str:
    """The colour of a live clock: running, warning, paused, met, breached or stopped."""
    if clock is None:
        return "none"
    if clock.state == ClockState.RUNNING and clock.warned_at is not None:
        return "warning"
    return clock.state


def sla_summary(clocks: dict) -> tuple[str, str | None]:
    """(the worst state of a request's current clocks, the kind of the clock in it), from
    its clocks by kind; ("none", None) without clocks."""
    states = {kind: sla_class(clock) for kind, clock in clocks.items()}
    state = next((s for s in SLA_SEVERITY if s in states.values()), "none")
    kind = next((k for k in ClockKind.values if states.get(k) == state), None)
    return state, kind
