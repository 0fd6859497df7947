import datetime
import io
import zoneinfo

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from core.periods import KINDS, period_containing
from requests_app.choices import ClockState
from requests_app.models import SLAClock
from scorecards.models import ScoreSnapshot
from tests.scorecards.helpers import assert_breakdowns_list_own_services

# A Wednesday afternoon: the demo history's "now", so that runs do not depend on the clock.
NOW = datetime.datetime(2026, 11, 18, 15, 20, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))

# The clock stands still at NOW for the whole module.
pytestmark = pytest.mark.clock(NOW)


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


def test_its_breakdowns_by_service_list_only_each_providers_own_services(db, settings):
    settings.DEMO_HISTORY_WEEKS = 2
    settings.DEMO_HISTORY_REQUESTS_PER_WEEK = 50
    call_command("seed_demo", stdout=io.StringIO())
    # The history hands requests on after the first department answered: clocks settled
    # under a service that is no longer the request's, so the check below has work to do.
    handed_on = SLAClock.objects.filter(
        is_current=False, state__in=[ClockState.MET, ClockState.BREACHED]
    ).exclude(service=F("request__service"))
    assert handed_on.exists()
    assert assert_breakdowns_list_own_services() > 0


def test_the_demo_reads_it_against_its_agreement_with_sales(db):
    call_command("seed_demo", stdout=io.StringIO())
    quarter = period_containing(timezone.now(), "quarter").key
    sales = ScoreSnapshot.objects.get(
        department__slug="it", role="provider", period=quarter, counterpart__slug="sales"
    )
    item = sales.figures["by_agreement"][str(sales.counterpart_id)]
    assert sales.figures["agreements_kept_n"] >= 1
    assert 2 in item["versions"]  # the version with IT's extended support hours
    assert sales.figures["agreement_timeliness_n"] > 0
