"""manage.py verify_report ID

Writes a finished HR report again from the quarter's snapshots as they are now, in memory
(nothing is stored or computed), and compares its sha256 with the one recorded when the
report was made and with the stored file's. Exit 0 with "reproduced: <sha256>"; otherwise
an error saying what differs (sizes, and whether the snapshots were computed again since).
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from scorecards.reports.services import report_verify


class Command(BaseCommand):
    help = (
        "Write a finished HR quarterly report again from its quarter's snapshots (in memory) "
        "and check that it gives the recorded sha256, byte for byte the stored file."
    )

    def add_arguments(self, parser):
        parser.add_argument("report_id", type=int, metavar="ID", help="The report's id.")

    def handle(self, *args, report_id, **options):
        try:
            verification = report_verify(report_id=report_id)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        if not verification.reproduced:
            raise CommandError(verification.problem())
        report = verification.report
        self.stdout.write(
            f"reproduced: {report.sha256} (report {report.pk}, {report.quarter} "
            f"{report.format}, {report.size} bytes)"
        )
