"""SLA clocks as a pure function of a request's events.

`compute_clock` knows nothing of the database: it takes the clock's own events (see
`clock_events`), the target copied when the clock started, a calendar and "now", and returns
every stored field of the clock. The stored `SLAClock` fields are a cache of its result, which
is why `rebuild_clocks` can reproduce them exactly.

Rules, in business time of the provider's calendar:
- the clock runs from `start`; `pause`/`resume` stop and restart it (the resolution clock
  pauses while the request waits on its requester); `complete` ends it; `reopen` resumes it;
  `stop` ends it without a verdict (a transfer or a cancellation), but a clock already due
  stays breached; a decline answers the first response and pauses the resolution clock
  (reopening the decline resumes it); `retarget` replaces the
  target (a priority change), and due times are recomputed as if the new target had applied
  from the start; the clock then counts under the new priority.
- `used_seconds` is business time spent running; the clock is due when that reaches the
  target, warned at 75% of it. Met: completed on or before the due instant. Breached: still
  running after the due instant (wall-clock: due 17:00 and resolved 23:00 is late), settled
  at its due time (`breached_at`), even if it was completed later.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from departments.business_time import add_business_seconds, business_seconds_between

from .choices import ClockKind, ClockState, EventKind, Status
from .escalation import level_seconds, next_escalation

WARNING_FRACTION_NUMERATOR, WARNING_FRACTION_DENOMINATOR = 3, 4  # warn at 75% of the target

START, PAUSE, RESUME, COMPLETE, REOPEN, RETARGET, STOP = (
    "start",
    "pause",
    "resume",
    "complete",
    "reopen",
    "retarget",
    "stop",
)


@dataclass(frozen=True)
class ClockEvent:
    """One thing that matters to a clock, at an instant."""

    at: datetime.datetime
    action: str
    target_seconds: int | None = None
    # A retarget's priority: the one whose target it is.
    priority: str | None = None


@dataclass(frozen=True)
class ClockResult:
    """Every cached field of a clock at `computed_at`."""

    state: str
    target_seconds: int
    # The priority whose target the clock follows (None: not known to the caller).
    priority: str | None
    used_seconds: int
    running_since: datetime.datetime | None
    due_at: datetime.datetime | None
    warn_at: datetime.datetime | None
    warned_at: datetime.datetime | None
    breached_at: datetime.datetime | None
    completed_at: datetime.datetime | None
    # When a stop (a transfer, a cancellation) ended the clock before it was completed:
    # with `completed_at`, when its figures stopped moving (the scanner's lookback reads both).
    stopped_at: datetime.datetime | None
    computed_at: datetime.datetime
    # When each of the clock's escalation levels is due (escalation.py), in their order:
    # reached, or ahead on the running clock; None once the clock is done or while paused
    # short of it.
    escalation_at: tuple = ()

    def as_fields(self) -> dict:
        return {name: getattr(self, name) for name in COMPUTED_FIELDS}


# The fields of an SLAClock that `compute` works out (its cache); target_seconds is the input.
COMPUTED_FIELDS = (
    "state",
    "used_seconds",
    "running_since",
    "due_at",
    "warn_at",
    "warned_at",
    "breached_at",
    "completed_at",
    "stopped_at",
    "computed_at",
)


# What `clock_refresh` sets on a stored clock: the target and its priority, the cache, and
# when its next escalation level is due (from the cache and the levels fired).
REFRESHED_FIELDS = ("target_seconds", "priority", *COMPUTED_FIELDS, "next_escalation_at")


def clocks_start_fields(
    request,
    *,
    department_id: int,
    calendar_version,
    targets,
    now,
    source: str = "",
    agreement_id: int | None = None,
    escalation: dict | None = None,
) -> list:
    """The fields of the two clocks a department's hold of a request starts, one per kind:
    every store creates its clocks from these (services, the demo's replay).

    This is where a clock is given the service and the priority it counts under on the
    scorecards: the request's, as the department holds it. Only a transfer changes the
    service, and it ends the clocks, so the service stays the clock's; a priority change
    while the department holds the request moves the clock to the new priority with the new
    target (`compute_clock`), so a clock counts under the priority it was measured by.
    `source` and `agreement_id` say where the target came from (departments.targets);
    `escalation` is the levels each kind follows (escalation.escalation_plan).
    """
    return [
        {
            "request_id": request.pk,
            "kind": kind,
            "department_id": department_id,
            "service_id": request.service_id,
            "priority": request.priority,
            "calendar_version": calendar_version,
            "target_seconds": targets[kind],
            "target_source": source,
            "agreement_id": agreement_id,
            "escalation_levels": (escalation or {}).get(kind, []),
            "started_at": now,
            "is_current": True,
        }
        for kind in ClockKind.values
    ]


def warning_seconds(target_seconds: int) -> int:
    return target_seconds * WARNING_FRACTION_NUMERATOR // WARNING_FRACTION_DENOMINATOR


def _crossing(calendar, segments, lengths, threshold: int):
    """When the running time reaches `threshold`, and when the running stretch that reached
    it ended (None: it is still running), or (None, None) if it never does.

    `segments` are (start, end) running intervals in order, the last one possibly open
    (end None); `lengths` their business seconds (the open one: its length up to now).
    An open segment runs on into the future, so a threshold beyond the elapsed time is
    still reached there: that is the due time of a running clock.
    """
    used = 0
    for (start, end), length in zip(segments, lengths, strict=True):
        if end is None or used + length >= threshold:
            return add_business_seconds(calendar, start, threshold - used), end
        used += length
    return None, None


def compute_clock(
    events: Sequence[ClockEvent],
    target_seconds: int,
    calendar,
    now: datetime.datetime,
    priority: str | None = None,
    levels: Sequence[dict] = (),
) -> ClockResult:
    """The state of a clock at `now` from its events (later events are ignored); `priority`
    is the one `target_seconds` is of, which a retarget replaces with its own; `levels` are
    the escalation levels it follows (escalation.py), each due at its own running time."""
    target = target_seconds
    segments: list[tuple[datetime.datetime, datetime.datetime | None]] = []
    running_since: datetime.datetime | None = None
    started = completed = stopped = False
    completed_at: datetime.datetime | None = None
    stopped_at: datetime.datetime | None = None

    for event in sorted(events, key=lambda e: e.at):
        if event.at > now:
            break
        action = event.action
        if action == RETARGET:
            target = event.target_seconds
            priority = event.priority or priority
        elif action == START and not started:
            started = True
            running_since = event.at
        elif not started or stopped:
            continue
        elif action == PAUSE and running_since is not None:
            segments.append((running_since, event.at))
            running_since = None
        elif action == RESUME and running_since is None and not completed:
            running_since = event.at
        elif action == COMPLETE and not completed:
            if running_since is not None:
                segments.append((running_since, event.at))
                running_since = None
            completed, completed_at = True, event.at
        elif action == REOPEN and completed:
            completed, completed_at = False, None
            running_since = event.at
        elif action == STOP:
            if running_since is not None:
                segments.append((running_since, event.at))
                running_since = None
            stopped = True
            stopped_at = None if completed else event.at

    if running_since is not None:
        segments.append((running_since, None))
    lengths = [
        business_seconds_between(calendar, start, end if end is not None else now)
        for start, end in segments
    ]
    used = sum(lengths)
    due_at, due_stretch_end = _crossing(calendar, segments, lengths, target)
    warn_at, warn_stretch_end = _crossing(calendar, segments, lengths, warning_seconds(target))
    # Late means the clock was still running after its due instant, in wall-clock time: a
    # request due at 17:00 and resolved at 23:00 is late even though no business time passed.
    breached = due_at is not None and due_at < (due_stretch_end or now)
    warned = warn_at is not None and warn_at <= (warn_stretch_end or now)
    running = running_since is not None
    escalation_at = []
    for level in levels:
        at, stretch_end = _crossing(calendar, segments, lengths, level_seconds(level, target))
        reached = at is not None and at <= (stretch_end or now)
        done = completed or stopped
        escalation_at.append(at if not done and (reached or running) else None)

    if breached:
        state = ClockState.BREACHED
    elif completed:
        state = ClockState.MET
    elif stopped:
        state = ClockState.STOPPED
    elif running:
        state = ClockState.RUNNING
    else:
        state = ClockState.PAUSED

    if due_at is None and completed:
        # Met early: the due time as it stood when the clock was met, for "met 2h early".
        due_at = add_business_seconds(calendar, completed_at, target - used)
    return ClockResult(
        state=state,
        target_seconds=target,
        priority=priority,
        used_seconds=used,
        running_since=running_since,
        due_at=due_at,
        warn_at=warn_at,
        warned_at=warn_at if warned else None,
        breached_at=due_at if breached else None,
        completed_at=completed_at,
        stopped_at=stopped_at,
        computed_at=now,
        escalation_at=tuple(escalation_at),
    )


def clock_events(
    *, kind: str, department_id: int, started_at: datetime.datetime, request_events: Iterable
) -> list[ClockEvent]:
    """The events of one clock: a request's events with one department, from its start.

    `request_events` are `RequestEvent`-like objects (kind, created_at, department_id, data)
    in time order. The clock's span ends at the transfer that takes the request away.
    """
    clock = [ClockEvent(at=started_at, action=START)]
    for event in request_events:
        if event.created_at < started_at:
            continue
        if event.kind == EventKind.CREATED or (
            event.kind == EventKind.TRANSFERRED and event.data.get("to_id") == department_id
        ):
            continue  # the clock's own start, already there
        if event.department_id != department_id:
            continue
        data = event.data or {}
        if event.kind == EventKind.TRANSFERRED:
            clock.append(ClockEvent(at=event.created_at, action=STOP))
            break
        if event.kind == EventKind.PRIORITY_CHANGED:
            clock.append(
                ClockEvent(
                    at=event.created_at,
                    action=RETARGET,
                    target_seconds=data["targets"][kind],
                    priority=data.get("to"),
                )
            )
        elif kind == ClockKind.FIRST_RESPONSE:
            if _is_first_response(event):
                clock.append(ClockEvent(at=event.created_at, action=COMPLETE))
            elif event.kind == EventKind.STATUS_CHANGED and data.get("to") == Status.CANCELLED:
                clock.append(ClockEvent(at=event.created_at, action=STOP))
        elif event.kind == EventKind.STATUS_CHANGED:
            action = _RESOLUTION_ACTIONS.get((data.get("from"), data.get("to"))) or (
                _RESOLUTION_ACTIONS.get((None, data.get("to")))
            )
            if action:
                clock.append(ClockEvent(at=event.created_at, action=action))
    return clock


def _is_first_response(event) -> bool:
    """A public reply by the provider, an acknowledgement, or a resolution (which answers)."""
    if event.kind == EventKind.ACKNOWLEDGED:
        return True
    if event.kind == EventKind.COMMENTED:
        return bool(event.data.get("by_provider"))
    return event.kind == EventKind.STATUS_CHANGED and event.data.get("to") in (
        Status.RESOLVED,
        Status.DECLINED,
    )


# (from, to) -> clock action for the resolution clock; (None, to) matches any `from`.
_RESOLUTION_ACTIONS = {
    (None, Status.WAITING_ON_REQUESTER): PAUSE,
    (Status.WAITING_ON_REQUESTER, Status.IN_PROGRESS): RESUME,
    (Status.RESOLVED, Status.IN_PROGRESS): REOPEN,
    (None, Status.RESOLVED): COMPLETE,
    (None, Status.CANCELLED): STOP,
    # A decline holds the resolution clock (a breach already due stays one); reopening the
    # decline runs it again.
    (None, Status.DECLINED): PAUSE,
    (Status.DECLINED, Status.IN_PROGRESS): RESUME,
}


def clock_refresh(clock, request_events, now: datetime.datetime) -> ClockResult:
    """Recompute a stored clock (an `SLAClock`) from its request's events and set the result
    on it, unsaved: the one way services and the scanner bring a clock's cache up to date.

    A retired clock (`is_current` false: a transfer took the request away) follows no
    escalation levels any more, and an ended one (met, stopped) reaches none (compute_clock):
    for both `next_escalation_at` is None, so the scanner, whose query takes retired clocks
    for their late breaches, never fires a level of theirs."""
    result = compute_clock(
        clock_events(
            kind=clock.kind,
            department_id=clock.department_id,
            started_at=clock.started_at,
            request_events=request_events,
        ),
        clock.target_seconds,
        clock.calendar_version,
        now,
        priority=clock.priority,
        levels=clock.escalation_levels if clock.is_current else (),
    )
    for field, value in result.as_fields().items():
        setattr(clock, field, value)
    clock.target_seconds = result.target_seconds
    clock.priority = result.priority
    clock.next_escalation_at = next_escalation(result.escalation_at, clock.escalation_level)
    return result


def request_due_times(clocks) -> dict:
    """The due times a request keeps from its current clocks (objects with kind, state,
    due_at), for queues to sort and filter by without reading the clocks:
    `resolution_due_at`, the resolution clock's due time, and `sla_due_at`, the earliest due
    time of a clock still running or breached, so that "breached" is `sla_due_at < now`."""
    resolution_due_at = sla_due_at = None
    for clock in clocks:
        if clock.kind == ClockKind.RESOLUTION:
            resolution_due_at = clock.due_at
        if clock.state in (ClockState.RUNNING, ClockState.BREACHED) and clock.due_at is not None:
            sla_due_at = clock.due_at if sla_due_at is None else min(sla_due_at, clock.due_at)
    return {"resolution_due_at": resolution_due_at, "sla_due_at": sla_due_at}
