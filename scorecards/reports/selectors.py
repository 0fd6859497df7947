"""Reads for HR quarterly reports: who may export them, the stored reports, the quarters,
when a quarter's snapshots were computed."""

from __future__ import annotations

from django.db.models import Max, Prefetch, QuerySet
from django.utils import timezone

from core.periods import QUARTER, Period, last_periods, period_containing

from ..models import ScoreSnapshot
from .choices import ReportStatus
from .models import QuarterlyReport, ReportDownload

EXPORT_PERMISSION = "scorecards.export_reports"


def user_can_export_reports(user) -> bool:
    """HR (the `hr` group holds scorecards.export_reports) and superusers."""
    return bool(user and user.is_authenticated and user.has_perm(EXPORT_PERMISSION))


def report_list() -> QuerySet[QuarterlyReport]:
    """Every report, newest first, with the requester and the downloads log."""
    downloads = ReportDownload.objects.select_related("user").order_by("-downloaded_at", "-pk")
    return (
        QuarterlyReport.objects.select_related("requested_by")
        .prefetch_related(Prefetch("downloads", queryset=downloads))
        .order_by("-requested_at", "-pk")
    )


def report_stored(*, quarter: str, format: str) -> QuarterlyReport | None:
    """The latest finished report of a quarter and format."""
    return (
        QuarterlyReport.objects.filter(quarter=quarter, format=format, status=ReportStatus.DONE)
        .order_by("-finished_at", "-pk")
        .first()
    )


def snapshots_computed_at(*, period_key: str):
    """When a period's snapshots were last computed (the latest of them); None without any."""
    return ScoreSnapshot.objects.filter(period=period_key).aggregate(at=Max("computed_at"))["at"]


def report_quarters(*, now=None, count: int = 8) -> list[Period]:
    """The quarters HR can pick, newest first: the current one and those before it."""
    current = period_containing(now or timezone.now(), QUARTER)
    return last_periods(current, count)[::-1]
