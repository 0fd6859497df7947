"""Clocks as of now, from their cached fields, for pages and the API.

A running clock's cache is as of `computed_at`; business time is additive, so its used time
now is the cached figure plus the business time since. A running clock past its due time is
shown as breached before the scanner has written it.
"""

import datetime
from dataclasses import dataclass

from django.utils import timezone

from departments.business_time import business_seconds_between

from .choices import ClockState
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
        }


def clock_live(clock: SLAClock, *, now=None) -> LiveClock:
    """The clock at `now` without touching the database (the calendar version is cached)."""
    now = now or timezone.now()
    used = clock.used_seconds
    state = clock.state
    warned_at, breached_at = clock.warned_at, clock.breached_at
    running = state == ClockState.RUNNING or (
        state == ClockState.BREACHED and clock.running_since is not None
    )
    if running and clock.computed_at is not None and now > clock.computed_at:
        used += business_seconds_between(clock.calendar_version, clock.computed_at, now)
        if state == ClockState.RUNNING:
            if warned_at is None and clock.warn_at is not None and clock.warn_at <= now:
                warned_at = clock.warn_at
            if clock.due_at is not None and now > clock.due_at:
                state, breached_at = ClockState.BREACHED, clock.due_at
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
    )


def current_clocks(request, *, now=None) -> dict[str, LiveClock]:
    """The request's current clocks by kind (uses the `current_clocks` prefetch if present)."""
    clocks = getattr(request, "current_clocks", None)
    if clocks is None:
        clocks = request.clocks.filter(is_current=True).select_related("calendar_version")
    return {clock.kind: clock_live(clock, now=now) for clock in clocks}
