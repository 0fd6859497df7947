"""The SLA breach scanner: warns at 75% of a target and reports breaches, once each.

Safe to run twice at once and after a crash: each clock is claimed with a row lock that
skips rows another scanner holds, the "notified" marks are set in the same transaction as
the notifications, and notifications are unique per clock and event.
"""

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from departments.choices import Role

from .choices import ClockKind, ClockState, EventKind, NotificationKind
from .clocks import clock_refresh
from .models import RequestEvent, SLAClock
from .notifications import notify
from .selectors import provider_staff


def _due_clock_ids(now, limit):
    return list(
        SLAClock.objects.filter(is_current=True)
        .filter(
            Q(state=ClockState.RUNNING, warning_notified_at__isnull=True, warn_at__lte=now)
            | Q(
                state__in=[ClockState.RUNNING, ClockState.BREACHED],
                completed_at__isnull=True,
                breach_notified_at__isnull=True,
                due_at__lte=now,
            )
        )
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )


def _recipients(clock: SLAClock, event: str) -> list:
    request = clock.request
    roles = settings.SLA_NOTIFY[event]
    users = []
    if "assignee" in roles:
        if request.assignee_id:
            users.append(request.assignee)
        elif "agents" not in roles:
            users += list(
                provider_staff(department_id=request.provider_department_id, roles=[Role.AGENT])
            )
    if "agents" in roles:
        users += list(
            provider_staff(department_id=request.provider_department_id, roles=[Role.AGENT])
        )
    if "managers" in roles:
        users += list(
            provider_staff(department_id=request.provider_department_id, roles=[Role.MANAGER])
        )
    return users


def _scan_one(clock_id: int, now) -> tuple[bool, bool]:
    with transaction.atomic():
        clock = (
            SLAClock.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("request", "request__assignee", "calendar_version")
            .filter(pk=clock_id, is_current=True)
            .first()
        )
        if clock is None:
            return False, False  # another scanner holds it, or it moved on
        events = list(
            RequestEvent.objects.filter(request_id=clock.request_id).order_by("created_at", "id")
        )
        result = clock_refresh(clock, events, now)
        warned = breached = False
        label = ClockKind(clock.kind).label.lower()
        request = clock.request
        if result.breached_at is not None and clock.breach_notified_at is None:
            breached = True
            clock.breach_notified_at = now
            clock.warning_notified_at = clock.warning_notified_at or now  # no late warning
            RequestEvent.objects.create(
                request=request,
                kind=EventKind.SLA_BREACHED,
                created_at=now,
                department_id=clock.department_id,
                data={"clock": clock.kind, "due_at": result.due_at.isoformat()},
                internal=True,
            )
            notify(
                users=_recipients(clock, "breach"),
                request=request,
                kind=NotificationKind.SLA_BREACHED,
                message=f"{request.reference}: {label} target breached",
                dedupe_key=f"breach:{clock.pk}",
                now=now,
            )
        elif result.warned_at is not None and clock.warning_notified_at is None:
            warned = True
            clock.warning_notified_at = now
            RequestEvent.objects.create(
                request=request,
                kind=EventKind.SLA_WARNING,
                created_at=now,
                department_id=clock.department_id,
                data={
                    "clock": clock.kind,
                    "due_at": result.due_at.isoformat() if result.due_at else None,
                },
                internal=True,
            )
            notify(
                users=_recipients(clock, "warning"),
                request=request,
                kind=NotificationKind.SLA_WARNING,
                message=(
                    f"{request.reference}: {label} due {timezone.localtime(result.due_at):%a %H:%M}"
                ),
                dedupe_key=f"warning:{clock.pk}",
                now=now,
            )
        clock.save()
    return warned, breached


def sla_clocks_scan(*, now=None, limit: int = 1000) -> dict:
    """Warn and report breaches for clocks that passed 75% or 100% of their target."""
    now = now or timezone.now()
    warned = breached = 0
    for clock_id in _due_clock_ids(now, limit):
        was_warned, was_breached = _scan_one(clock_id, now)
        warned += was_warned
        breached += was_breached
    return {"warned": warned, "breached": breached}
