from django.db import models

from departments.models import Department

from .choices import ScoreRole


class ScoreSnapshot(models.Model):
    """The figures of one department, as provider or customer, for one period."""

    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="score_snapshots"
    )
    role = models.CharField(max_length=10, choices=ScoreRole.choices)
    period = models.CharField(max_length=10, help_text="2026-Q3, 2026-09 or 2026-W38.")
    counterpart = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The other side of a provider x customer pair; blank for the whole department.",
    )
    computed_at = models.DateTimeField()
    figures = models.JSONField(default=dict)

    class Meta:
        ordering = ["department", "role", "period"]
        permissions = [
            ("view_all_scorecards", "Can view the scorecards of every department"),
            ("export_reports", "Can export the quarterly HR reports"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["department", "role", "period", "counterpart"],
                name="score_snapshot_unique_pair",
            ),
            models.UniqueConstraint(
                fields=["department", "role", "period"],
                condition=models.Q(counterpart__isnull=True),
                name="score_snapshot_unique_department",
            ),
        ]

    def __str__(self):
        return f"{self.department.code} {self.role} {self.period}"


# --- HR quarterly reports (scorecards/reports/) ---------------------------------------------
# Imports here rather than at the top: this block is appended as a whole by the reports
# feature, so the rest of the module stays untouched.
from django.conf import settings  # noqa: E402

from .reports.choices import DownloadVia, ReportFormat, ReportSource, ReportStatus  # noqa: E402


class QuarterlyReport(models.Model):
    """One generated HR report file of a quarter: who asked, its progress, its fingerprint.

    The file sits under MEDIA_ROOT/reports/ with an unguessable name and is only ever sent
    through the HR download view (which records each download), never by a media URL.
    """

    quarter = models.CharField(max_length=7, help_text="Like 2026-Q3.")
    format = models.CharField(max_length=4, choices=ReportFormat.choices)
    status = models.CharField(
        max_length=8, choices=ReportStatus.choices, default=ReportStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(default=0, help_text="0-100.")
    source = models.CharField(max_length=8, choices=ReportSource.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Blank: the automatic report at the close of a quarter, or the command line.",
    )
    requested_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Named by the writer: reports/<quarter>-<random>.<ext> (see reports.services).
    file = models.FileField(upload_to="reports/", max_length=200, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True, help_text="Bytes.")
    sha256 = models.CharField(max_length=64, blank=True)
    methodology_version = models.CharField(
        max_length=20, blank=True, help_text="scorecards.compute.METHODOLOGY_VERSION at generation."
    )
    figures_computed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the quarter's snapshots in the report were computed."
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            # One job at a time per quarter and format: a second request gets the running one.
            models.UniqueConstraint(
                fields=["quarter", "format"],
                condition=models.Q(status__in=[ReportStatus.QUEUED, ReportStatus.RUNNING]),
                name="quarterly_report_one_active",
            ),
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="quarterly_report_progress_range"
            ),
        ]
        indexes = [
            models.Index(fields=["quarter", "format", "status"], name="quarterly_report_idx")
        ]

    def __str__(self):
        return f"HR report {self.quarter} {self.format} ({self.status})"

    @property
    def filename(self) -> str:
        """The name the file gets when downloaded."""
        extension = "xlsx" if self.format == ReportFormat.XLSX else "zip"
        return f"servicedesk-hr-report-{self.quarter}-{self.format}.{extension}"


class ReportDownload(models.Model):
    """Audit: one download of a stored report, by whom and when."""

    report = models.ForeignKey(QuarterlyReport, on_delete=models.CASCADE, related_name="downloads")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Copied so that the audit trail keeps the name after the account is deleted.
    username = models.CharField(max_length=150)
    downloaded_at = models.DateTimeField()
    via = models.CharField(max_length=8, choices=DownloadVia.choices, default=DownloadVia.PAGE)

    class Meta:
        ordering = ["-downloaded_at", "-id"]
        indexes = [models.Index(fields=["report", "-downloaded_at"], name="report_download_idx")]

    def __str__(self):
        return f"{self.username} downloaded report {self.report_id} at {self.downloaded_at}"
