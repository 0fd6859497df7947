from django.core.management import call_command
from django.utils import timezone

from core.periods import KINDS, period_containing
from scorecards.models import ScoreSnapshot


def test_it_computes_the_demo_periods_so_dashboards_are_not_empty(db, capsys):
    call_command("seed_demo")
    now = timezone.now()
    for kind in KINDS:
        key = period_containing(now, kind).key
        it = ScoreSnapshot.objects.get(
            department__slug="it", role="provider", period=key, counterpart=None
        )
        assert it.figures.get("timeliness_n", 0) > 0, key
    assert "periods computed" in capsys.readouterr().out
