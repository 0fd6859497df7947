"""Escalation levels of a clock: which apply, when each is due, and what firing one does.

Precedence of the levels a clock follows, decided once when it starts (`escalation_plan`):
the levels of the agreement version its target came from, if that version has any; else
its department's levels; else none, which keeps the company default (the warning at 75% to
`settings.SLA_NOTIFY["warning"]`). The clock copies its plan (`SLAClock.escalation_levels`,
one clock kind's levels, in order) as it copies its target, so editing levels later never
changes what a running clock fires.

A level is due when the clock has run a business time: a share of the target
(`target * percent // 100`) or the target plus a business time past due. That is a point on
the clock's own running time, like its warning and due time (clocks.compute_clock finds the
instants), so pausing holds it back, a priority change moves it with the new target, and
`rebuild_clocks`, the scanner and the demo's replay all get the same instants from the
same events.

`SLAClock.escalation_level` counts the levels fired, in order; it only rises, and is set in
the transaction that writes the levels' events and notices, so a level fires once: after a
crash, with two scanners, and after a pause and a resume (the count does not go back).
`next_escalation_at` is when the next level is due (None: none is, or the clock is done),
the one indexed condition the scanner asks. Levels fire while the clock is open (running,
or paused after reaching them); a clock met or stopped fires no more. The breach notice is
not a level: it is always sent, as before.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence

from departments.choices import EscalationClock, EscalationThreshold

# The fields of a level a clock copies (SLAClock.escalation_levels holds a list of these).
PLAN_KEYS = ("number", "threshold", "value", "notify", "action", "assign_to", "raise_to")


def level_plan(level) -> dict:
    """A level (an EscalationLevel) as a clock copies it."""
    return {
        "number": level.number,
        "threshold": level.threshold,
        "value": level.value,
        "notify": list(level.notify),
        "action": level.action,
        "assign_to": level.assign_to_id,
        "raise_to": level.raise_to,
    }


def escalation_plan(levels: Iterable, *, agreement_id: int | None) -> dict[str, list[dict]]:
    """The levels a department's clocks follow, per clock kind, from the department's levels
    and those of its agreements (`levels`, EscalationLevel rows): the agreement version's if
    it has any, else the department's own. No query."""
    own, of_agreement = [], []
    for level in levels:
        if level.agreement_id is None:
            own.append(level)
        elif level.agreement_id == agreement_id:
            of_agreement.append(level)
    chosen = sorted(of_agreement or own, key=lambda level: level.number)
    return {
        kind: [level_plan(level) for level in chosen if level.clock in (kind, EscalationClock.BOTH)]
        for kind in (EscalationClock.FIRST_RESPONSE, EscalationClock.RESOLUTION)
    }


def level_seconds(level: dict, target_seconds: int) -> int:
    """The running time, in business seconds, at which a level is due for this target."""
    if level["threshold"] == EscalationThreshold.SHARE:
        return max(1, target_seconds * level["value"] // 100)
    return target_seconds + level["value"]


def next_escalation(
    escalation_at: Sequence[datetime.datetime | None], fired: int
) -> datetime.datetime | None:
    """When the first level not yet fired is due (clocks.ClockResult.escalation_at)."""
    return escalation_at[fired] if fired < len(escalation_at) else None


def levels_due(
    escalation_at: Sequence[datetime.datetime | None], fired: int, now: datetime.datetime
) -> list[int]:
    """The indexes of the levels to fire at `now`, in order: each due one after the fired,
    stopping at the first not yet due (levels fire in order, never one past another)."""
    due = []
    for index in range(fired, len(escalation_at)):
        at = escalation_at[index]
        if at is None or at > now:
            break
        due.append(index)
    return due


def escalation_status(clock) -> str:
    """Where a stored clock stands in its levels, for the provider's staff: "1 of 3 levels
    told; next level 2 (90% of the target) at Tue 24 Nov, 14:12"; blank without levels."""
    from django.utils import dateformat, timezone

    from departments.describe import escalation_threshold_text

    levels = clock.escalation_levels or []
    if not levels:
        return ""
    text = f"{clock.escalation_level} of {len(levels)} levels told"
    if clock.escalation_level < len(levels) and clock.next_escalation_at is not None:
        level = levels[clock.escalation_level]
        when = escalation_threshold_text(level["threshold"], level["value"])
        moment = dateformat.format(timezone.localtime(clock.next_escalation_at), "D j M, H:i")
        text += f"; next level {level['number']} ({when}) at {moment}"
    return text
