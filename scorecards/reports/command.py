"""The export_quarterly_report command (scorecards/management/commands/ imports it)."""

import hashlib
import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from .choices import ReportFormat, ReportSource, ReportStatus
from .models import QuarterlyReport
from .services import report_generate, report_request

POLL_SECONDS = 1.0


class Command(BaseCommand):
    help = (
        "Generate the HR quarterly report of a quarter (like 2026-Q3) as XLSX or a zip of CSV "
        "files, store it (listed on the Reports page) and copy it to -o FILE. A stored report "
        "of the same quarter and format is reused unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("quarter", help="Like 2026-Q3.")
        parser.add_argument("--format", choices=ReportFormat.values, default=ReportFormat.XLSX)
        parser.add_argument("-o", "--output", help="Where to copy the file.")
        parser.add_argument("--force", action="store_true", help="Generate a new report.")
        parser.add_argument(
            "--timeout",
            type=float,
            default=30 * 60,
            help="Seconds to wait for a report another worker is generating (default 1800).",
        )

    def handle(self, *args, quarter, format, output, force, timeout, **options):
        try:
            report, created = report_request(
                quarter=quarter,
                format=format,
                force=force,
                source=ReportSource.COMMAND,
                enqueue=False,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        if not created and report.status == ReportStatus.DONE:
            self.stdout.write(f"Stored report {report.pk} reused (--force for a new one).")
        report = self._finish(report, timeout)
        if report.status != ReportStatus.DONE:
            raise CommandError(f"Report {report.pk} failed: {report.error}")
        self.stdout.write(
            f"Report {report.pk}: {report.quarter} {report.format}, {report.size} bytes, "
            f"methodology {report.methodology_version}, sha256 {report.sha256}"
        )
        if output:
            self._copy(report, Path(output))

    def _finish(self, report: QuarterlyReport, timeout: float) -> QuarterlyReport:
        """Generate it here if nobody has; otherwise wait for the worker that has it."""
        deadline = time.monotonic() + timeout
        while True:
            if report.status == ReportStatus.QUEUED:
                report_generate(report_id=report.pk)
            elif report.status in (ReportStatus.DONE, ReportStatus.FAILED):
                return report
            elif time.monotonic() > deadline:
                raise CommandError(f"Report {report.pk} is still {report.status}; try later.")
            else:
                time.sleep(POLL_SECONDS)
            report.refresh_from_db()

    def _copy(self, report: QuarterlyReport, output: Path) -> None:
        digest = hashlib.sha256()
        with report.file.open("rb") as source, output.open("wb") as target:
            while chunk := source.read(1024 * 1024):
                digest.update(chunk)
                target.write(chunk)
        if digest.hexdigest() != report.sha256:
            raise CommandError(
                f"The stored file of report {report.pk} does not match its recorded sha256."
            )
        self.stdout.write(f"Written to {output}")
