"""Writes for scorecards: the HR group, and the snapshots the dashboards read."""

import datetime
import zlib

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from django.utils import timezone

from core.periods import KINDS, Period, open_periods, period_containing
from departments.choices import HR_GROUP
from departments.models import Department

from .choices import ScoreRole
from .compute import figures_for_period
from .models import ScoreSnapshot

HR_PERMISSIONS = ("view_all_scorecards", "export_reports")
# A closed period is recomputed for this long after its end, to take in late events.
CLOSE_GRACE = datetime.timedelta(days=1)


def hr_group_ensure(*, using: str = "default") -> Group:
    """Create the `hr` group with the HR permissions, if it is not there yet."""
    group, _ = Group.objects.using(using).get_or_create(name=HR_GROUP)
    permissions = Permission.objects.using(using).filter(
        content_type__app_label="scorecards", codename__in=HR_PERMISSIONS
    )
    group.permissions.add(*permissions)
    return group


def _lock_period(key: str) -> None:
    """Serialise writers of one period (SQLite's IMMEDIATE transactions already do)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # One 64-bit lock key per period: a fixed prefix for this app, the key's checksum.
            lock_key = (7211 << 32) | zlib.crc32(key.encode())
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key])


def scores_compute(*, period: Period, now=None) -> int:
    """Recompute every snapshot of a period; idempotent and safe to run concurrently."""
    now = now or timezone.now()
    figures = figures_for_period(period, now, settings.SCORE_WEIGHTS)
    department_ids = list(Department.objects.values_list("pk", flat=True))
    keys = {(role, pk, None) for pk in department_ids for role in ScoreRole.values}
    keys |= {key for key in figures if key[2] is not None}
    rows = [
        ScoreSnapshot(
            department_id=department_id,
            role=role,
            period=period.key,
            counterpart_id=counterpart_id,
            computed_at=now,
            figures=figures.get((role, department_id, counterpart_id), {}),
        )
        for role, department_id, counterpart_id in sorted(
            keys, key=lambda k: (k[0], k[1], k[2] or 0)
        )
    ]
    with transaction.atomic():
        _lock_period(period.key)
        ScoreSnapshot.objects.filter(period=period.key).delete()
        ScoreSnapshot.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def periods_due(*, now=None) -> list[Period]:
    """The open week, month and quarter, and those that closed within the grace period."""
    now = now or timezone.now()
    periods = open_periods(now)
    for kind in KINDS:
        previous = period_containing(now, kind).previous()
        if now - previous.end < CLOSE_GRACE:
            periods.append(previous)
    return periods
