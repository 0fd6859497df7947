"""`manage.py open_quarterly_survey [2026-Q3]`: open a quarter's relationship survey."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from surveys.services import relationship_survey_open


class Command(BaseCommand):
    help = (
        "Open the relationship survey of a quarter (default: the one that just ended) and "
        "invite every member of each department to rate the providers it used. Safe to run "
        "again: nobody is invited or emailed twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("quarter", nargs="?", help="like 2026-Q3")

    def handle(self, *args, quarter=None, **options):
        try:
            report = relationship_survey_open(quarter=quarter)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(report.summary())
