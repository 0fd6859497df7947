"""manage.py audit_anonymity [QUARTER ...]

Reads every survey figure that is shown of each quarter (scorecards of the quarter, its
months and weeks; every department's survey results as HR sees them) and counts the groups
of fewer than ANONYMITY_MIN answers that a sum or difference of them isolates; and every
department's team pulse of the quarter. Exit 0 when
there are none; otherwise the groups by figure and an error.
"""

from django.core.management.base import BaseCommand, CommandError

from core.periods import parse_quarter, quarter_containing
from scorecards.anonymity import derivable_groups
from surveys.models import PulseAnswer, RelationshipAnswer, SurveyResponse


def _quarters_with_answers() -> list:
    moments = SurveyResponse.objects.values_list("answered_at", flat=True)
    keys = {quarter_containing(moment).key for moment in moments}
    keys |= set(RelationshipAnswer.objects.values_list("survey__quarter", flat=True))
    keys |= set(PulseAnswer.objects.values_list("survey__quarter", flat=True))
    return [parse_quarter(key) for key in sorted(keys)]


class Command(BaseCommand):
    help = (
        "Count the groups of fewer than ANONYMITY_MIN survey answers that the shown figures "
        "of each quarter give away by subtraction (none is the rule)."
    )

    def add_arguments(self, parser):
        parser.add_argument("quarters", nargs="*", metavar="QUARTER", help="like 2026-Q3")

    def handle(self, *args, quarters, **options):
        try:
            chosen = [parse_quarter(key) for key in quarters] or _quarters_with_answers()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        total = 0
        for quarter in chosen:
            found = derivable_groups(quarter)
            count = sum(len(groups) for groups in found.values())
            total += count
            detail = ", ".join(
                f"{family} {figure}: {len(groups)}"
                for (family, figure), groups in sorted(found.items())
            )
            self.stdout.write(f"{quarter.key}: {count}" + (f" ({detail})" if detail else ""))
        if total:
            raise CommandError(f"{total} group(s) of fewer answers than the threshold exposed.")
        self.stdout.write("no group of fewer answers than the threshold can be worked out")
