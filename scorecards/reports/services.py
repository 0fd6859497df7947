"""Writes for HR quarterly reports: request one, generate it, record its downloads.

Flow: `report_request` stores a queued QuarterlyReport and enqueues `generate_report` on
commit (or returns the stored or running one); a worker runs `report_generate`, which
claims the row with a guarded update (queued -> running), so two workers never both
generate it, computes the quarter's snapshots if they are missing or were taken before the
quarter closed, writes the file to a temporary file, stores it under MEDIA_ROOT/reports/
with an unguessable name, and records its size, sha256 and the methodology version. The
file depends on the quarter's snapshots only (not the clock, not who asked), so writing it
again from the same snapshots gives the same bytes: `report_verify` does, in memory, and
compares them with the recorded sha256 and the stored file.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import secrets
import tempfile
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from core.periods import (
    QUARTER,
    Period,
    company_zone,
    not_a_period,
    parse_period,
    period_containing,
)
from departments.choices import HR_GROUP
from requests_app.notifications import notify

from ..compute import METHODOLOGY_VERSION
from ..services import CLOSE_GRACE, scores_compute
from .choices import (
    ACTIVE_STATUSES,
    NOTIFICATION_REPORT_READY,
    DownloadVia,
    ReportFormat,
    ReportSource,
    ReportStatus,
)
from .content import ReportContent
from .models import QuarterlyReport, ReportDownload
from .selectors import report_stored, snapshots_computed_at, user_can_export_reports
from .writers import write_report

logger = logging.getLogger(__name__)

# A running report whose worker has not finished within the task time limit has died: it may
# be claimed again.
STALE_AFTER = datetime.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
# Share of the progress bar spent computing missing snapshots before writing.
COMPUTE_SHARE = 40
HASH_CHUNK = 1024 * 1024
# A report written again to be verified stays in memory up to this size (then a temporary file).
VERIFY_IN_MEMORY = 64 * 1024 * 1024


def report_quarter_parse(quarter: str, *, now=None) -> Period:
    """A quarter key that has begun -> Period; ValidationError for anything else."""
    try:
        period = parse_period(quarter)
    except ValueError as exc:
        raise ValidationError({"quarter": str(exc)}) from exc
    if period.kind != QUARTER:
        raise ValidationError({"quarter": not_a_period(quarter, (QUARTER,))})
    if period.start > (now or timezone.now()):
        raise ValidationError({"quarter": f"{period.key} has not begun yet."})
    return period


def _report_active(*, quarter: str, report_format: str) -> QuarterlyReport | None:
    return QuarterlyReport.objects.filter(
        quarter=quarter, format=report_format, status__in=ACTIVE_STATUSES
    ).first()


def report_request(
    *,
    quarter: str,
    format: str,
    user=None,
    force: bool = False,
    source: str = ReportSource.PAGE,
    enqueue: bool = True,
    now=None,
) -> tuple[QuarterlyReport, bool]:
    """Queue the report of a quarter in a format; (report, True) when a job was queued.

    Without `force`, a stored report of the same quarter and format is returned instead.
    A report of that quarter and format already queued or running is returned either way:
    one job at a time (a unique constraint makes it so under concurrent requests).
    `enqueue=False` leaves the generation to the caller (the command runs it itself).
    A `user` must be allowed to export reports (HR); without one, the system asks (the
    command, the job at quarter close).
    """
    now = now or timezone.now()
    if user is not None and not user_can_export_reports(user):
        raise PermissionDenied("Quarterly reports are for HR.")
    period = report_quarter_parse(quarter, now=now)
    report_format = format
    if report_format not in ReportFormat.values:
        raise ValidationError({"format": f"Choose one of {', '.join(ReportFormat.values)}."})
    with transaction.atomic():
        active = _report_active(quarter=period.key, report_format=report_format)
        if active is not None:
            return active, False
        if not force:
            stored = report_stored(quarter=period.key, format=report_format)
            if stored is not None:
                return stored, False
        report = QuarterlyReport(
            quarter=period.key,
            format=report_format,
            source=source,
            requested_by=user if user is not None and user.is_authenticated else None,
            requested_at=now,
        )
        report.full_clean(validate_constraints=False)
        try:
            with transaction.atomic():
                report.save()
        except IntegrityError:
            # A concurrent request queued the same quarter and format first: that job it is.
            active = _report_active(quarter=period.key, report_format=report_format)
            if active is None:
                raise
            return active, False
        if enqueue:
            transaction.on_commit(lambda: report_enqueue(report_id=report.pk))
    return report, True


def report_enqueue(*, report_id: int) -> None:
    """Ask a worker to generate a report; if the broker is down, beat's resume retries."""
    from .tasks import generate_report

    try:
        generate_report.delay(report_id)
    except Exception as exc:  # the broker being down must not fail the user's request
        logger.warning("reports: could not enqueue report %s (%s); beat will retry", report_id, exc)


def _progress(report_id: int, claimed_at, value: float) -> None:
    QuarterlyReport.objects.filter(
        pk=report_id, status=ReportStatus.RUNNING, started_at=claimed_at
    ).update(progress=max(0, min(99, int(value))))


def _snapshots_due(period: Period, now) -> bool:
    """A quarter needs computing when it has no snapshots, or only some taken before it
    closed (a report of a closed quarter never shows a half-quarter)."""
    latest = snapshots_computed_at(period_key=period.key)
    if latest is None:
        return True
    return period.is_closed(now) and latest < period.end


def _ensure_snapshots(period: Period, now, progress) -> None:
    due = [p for p in (period, period.previous()) if _snapshots_due(p, now)]
    for index, due_period in enumerate(due, 1):
        scores_compute(period=due_period, now=now)
        progress(COMPUTE_SHARE * index / len(due))


def _sha256_and_size(fileobj) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    fileobj.seek(0)
    while chunk := fileobj.read(HASH_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    fileobj.seek(0)
    return digest.hexdigest(), size


def report_generate(*, report_id: int, now=None) -> bool:
    """Generate a queued report (or one whose worker died); False if another worker has it."""
    claimed_at = now or timezone.now()
    claimable = Q(status=ReportStatus.QUEUED) | Q(
        status=ReportStatus.RUNNING, started_at__lt=claimed_at - STALE_AFTER
    )
    claimed = QuarterlyReport.objects.filter(claimable, pk=report_id).update(
        status=ReportStatus.RUNNING, started_at=claimed_at, progress=0, error=""
    )
    if claimed != 1:
        return False
    report = QuarterlyReport.objects.get(pk=report_id)
    mine = QuarterlyReport.objects.filter(
        pk=report_id, status=ReportStatus.RUNNING, started_at=claimed_at
    )
    stored_name = ""
    try:
        period = parse_period(report.quarter)
        _ensure_snapshots(period, claimed_at, lambda v: _progress(report_id, claimed_at, v))
        # From the snapshots alone (not the clock, not the requester): see reports.content.
        content = ReportContent(period=period, methodology_version=METHODOLOGY_VERSION)
        with tempfile.TemporaryFile() as temporary:
            write_report(
                content,
                report.format,
                temporary,
                lambda fraction: _progress(
                    report_id, claimed_at, COMPUTE_SHARE + (99 - COMPUTE_SHARE) * fraction
                ),
            )
            sha256, size = _sha256_and_size(temporary)
            extension = "xlsx" if report.format == ReportFormat.XLSX else "zip"
            # Unguessable: the name alone never gives the file away, even if listed.
            name = f"reports/{report.quarter}-{secrets.token_urlsafe(24)}.{extension}"
            stored_name = default_storage.save(name, File(temporary, name=name))
        finished = mine.update(
            status=ReportStatus.DONE,
            progress=100,
            file=stored_name,
            size=size,
            sha256=sha256,
            methodology_version=METHODOLOGY_VERSION,
            figures_computed_at=content.figures_computed_at,
            finished_at=timezone.now(),
        )
    except Exception as exc:
        logger.exception("reports: report %s failed", report_id)
        if stored_name:
            default_storage.delete(stored_name)
        mine.update(
            status=ReportStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        return False
    if finished != 1:
        # Another worker reclaimed it as stale meanwhile: its file is the one kept.
        default_storage.delete(stored_name)
        return False
    if report.source == ReportSource.SCHEDULE:
        report_ready_notify(report=QuarterlyReport.objects.get(pk=report_id))
    return True


def _moment(value) -> str:
    return f"{value.astimezone(company_zone()):%Y-%m-%d %H:%M:%S %Z}" if value else "never"


@dataclass(frozen=True)
class ReportVerification:
    """A finished report written again from the snapshots, beside its record and stored file."""

    report: QuarterlyReport
    sha256: str  # of the file written again
    size: int
    stored_sha256: str | None  # of the stored file as it is now; None: it is missing
    stored_size: int | None
    changes: tuple[str, ...]  # what changed since the report was made, as far as can be told

    @property
    def reproduced(self) -> bool:
        return self.sha256 == self.report.sha256 == self.stored_sha256

    def problem(self) -> str:
        """Why it does not reproduce, for people ("" when it does)."""
        if self.reproduced:
            return ""
        report = self.report
        recorded = f"the recorded {report.sha256} ({report.size} bytes)"
        if self.stored_sha256 is None:
            stored = f"Its stored file {report.file.name or '(none)'} is missing."
        elif self.stored_sha256 != report.sha256:
            stored = (
                f"Its stored file changed after it was written: sha256 {self.stored_sha256} "
                f"({self.stored_size} bytes), not {recorded}."
            )
        else:
            stored = ""
        lines = [f"Report {report.pk} ({report.quarter} {report.format}) does not reproduce."]
        if self.sha256 == report.sha256:
            lines.append(stored)
            lines.append(
                "Written again from the snapshots it gives the recorded sha256: the record "
                + (
                    "holds, only the file is gone."
                    if self.stored_sha256 is None
                    else "holds, the stored file is not the one that was written."
                )
            )
            return " ".join(lines)
        lines.append(
            f"Written again from the snapshots it gives sha256 {self.sha256} "
            f"({self.size} bytes), not {recorded}."
        )
        if self.changes:
            lines.append("Changed since the report was made: " + "; ".join(self.changes) + ".")
        else:
            lines.append(
                "The quarter's snapshots were not computed again since, so something else "
                "the report reads differs: department or service names, the hire-back "
                "answers, the settings (score weights, anonymity threshold, time zone), "
                "snapshot figures edited in place, or the code that writes the file (a "
                "report made before reports were reproducible never reproduces)."
            )
        if stored:
            lines.append(stored)
        return " ".join(lines)


def _stored_sha256_and_size(report: QuarterlyReport) -> tuple[str | None, int | None]:
    if not report.file:
        return None, None
    try:
        with report.file.open("rb") as stored:
            return _sha256_and_size(stored)
    except FileNotFoundError:
        return None, None


def _changes_since(report: QuarterlyReport, content: ReportContent) -> tuple[str, ...]:
    """What the snapshots (and the methodology) tell of changes since the report was made."""
    changes = []
    now_at, then_at = content.figures_computed_at, report.figures_computed_at
    if now_at is None and then_at is not None:
        changes.append(f"the snapshots of {report.quarter} were deleted")
    elif now_at != then_at:
        changes.append(
            f"the snapshots of {report.quarter} were computed again, at {_moment(now_at)} "
            f"(the report shows those computed at {_moment(then_at)})"
        )
    previous_at = content.previous_computed_at
    # The report's own generation may compute them, at the moment it claimed the report.
    if previous_at is not None and report.started_at and previous_at > report.started_at:
        changes.append(
            f"the snapshots of {content.previous.key} were computed again, at "
            f"{_moment(previous_at)} (the report was made at {_moment(report.started_at)})"
        )
    if report.methodology_version != METHODOLOGY_VERSION:
        changes.append(
            f"the methodology version is {METHODOLOGY_VERSION} now, "
            f"{report.methodology_version or 'unknown'} in the report"
        )
    return tuple(changes)


def report_verify(*, report_id: int) -> ReportVerification:
    """Write a finished report again from the snapshots as they are (in memory, nothing is
    stored or computed) and compare it with its recorded sha256 and its stored file."""
    report = QuarterlyReport.objects.filter(pk=report_id).first()
    if report is None:
        raise ValidationError(f"There is no report {report_id}.")
    if report.status != ReportStatus.DONE:
        raise ValidationError(
            f"Report {report.pk} ({report.quarter} {report.format}) is {report.status}, not "
            "done: only a finished report can be verified."
        )
    content = ReportContent(
        period=parse_period(report.quarter), methodology_version=METHODOLOGY_VERSION
    )
    with tempfile.SpooledTemporaryFile(max_size=VERIFY_IN_MEMORY) as regenerated:
        write_report(content, report.format, regenerated, lambda fraction: None)
        sha256, size = _sha256_and_size(regenerated)
    stored_sha256, stored_size = _stored_sha256_and_size(report)
    return ReportVerification(
        report=report,
        sha256=sha256,
        size=size,
        stored_sha256=stored_sha256,
        stored_size=stored_size,
        changes=_changes_since(report, content),
    )


def hr_users():
    return get_user_model().objects.filter(groups__name=HR_GROUP, is_active=True).distinct()


def report_ready_notify(*, report: QuarterlyReport, now=None) -> int:
    """Tell HR that the report of a closed quarter is ready: once per quarter and person."""
    url = settings.SITE_URL + reverse("reports:index")
    return notify(
        users=list(hr_users()),
        kind=NOTIFICATION_REPORT_READY,
        message=f"The HR quarterly report for {report.quarter} is ready: {url}",
        dedupe_key=f"hr-report:{report.quarter}",
        now=now,
    )


def reports_for_closed_quarter(*, now=None) -> QuarterlyReport | None:
    """After a quarter closes, make its XLSX report if there is none, and tell HR.

    Waits for CLOSE_GRACE after the close: scores_compute takes in late events of a closed
    period for that long, and the report should show the final figures. Safe to run again:
    an existing report is kept, and HR hears of it once.
    """
    now = now or timezone.now()
    quarter = period_containing(now, QUARTER).previous()
    if now < quarter.end + CLOSE_GRACE:
        return None
    report, created = report_request(
        quarter=quarter.key,
        format=ReportFormat.XLSX,
        source=ReportSource.SCHEDULE,
        now=now,
    )
    if not created and report.status == ReportStatus.DONE:
        report_ready_notify(report=report, now=now)
    return report


def reports_resume(*, now=None) -> int:
    """Re-enqueue reports the broker lost (queued for a while) or whose worker died."""
    now = now or timezone.now()
    stuck = QuarterlyReport.objects.filter(
        Q(status=ReportStatus.QUEUED, requested_at__lt=now - datetime.timedelta(minutes=2))
        | Q(status=ReportStatus.RUNNING, started_at__lt=now - STALE_AFTER)
    ).values_list("pk", flat=True)
    count = 0
    for report_id in stuck:
        report_enqueue(report_id=report_id)
        count += 1
    return count


def report_download_record(
    *, report: QuarterlyReport, user, via: str = DownloadVia.PAGE, now=None
) -> ReportDownload:
    """Record that a user downloaded a stored report (the audit trail HR can show)."""
    return ReportDownload.objects.create(
        report=report,
        user=user,
        username=user.get_username(),
        via=via,
        downloaded_at=now or timezone.now(),
    )
