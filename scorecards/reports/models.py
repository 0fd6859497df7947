"""HR quarterly reports: the stored files of a quarter's figures, and who downloaded them."""

from django.conf import settings
from django.db import models

from .choices import DownloadVia, ReportFormat, ReportSource, ReportStatus


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
        # The tables of the time these models were part of scorecards.
        db_table = "scorecards_quarterlyreport"
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
        db_table = "scorecards_reportdownload"
        ordering = ["-downloaded_at", "-id"]
        indexes = [models.Index(fields=["report", "-downloaded_at"], name="report_download_idx")]

    def __str__(self):
        return f"{self.username} downloaded report {self.report_id} at {self.downloaded_at}"
