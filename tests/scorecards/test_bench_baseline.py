"""The scores bench's baseline: one hand-written statement that computes the app's own figures
of the settled clocks and the survey answers, checked figure for figure against the snapshots
(PostgreSQL only: percentile_cont)."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from bench.scores import (
    PROVIDER_HEADLINE_SQL,
    baseline_check,
    baseline_run,
    headline_check,
)
from core.periods import parse_period
from scorecards.services import scores_compute

NOW = datetime.datetime(2026, 11, 18, 15, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the bench's statements need PostgreSQL"
    ),
    # The clock stands still at NOW for the whole module.
    pytest.mark.clock(NOW),
]


@pytest.fixture
def quarter(db, settings):
    """The demo organisation with six weeks of history, its quarter computed at NOW."""
    settings.DEMO_HISTORY_WEEKS = 6
    with time_machine.travel(NOW):
        call_command("seed_demo")
    period = parse_period("2026-Q4")
    scores_compute(period=period, now=NOW)
    return period


def test_the_baseline_computes_every_figure_the_app_stored(quarter):
    rows = baseline_run(quarter, NOW)
    check = baseline_check(rows, quarter)
    assert check["differences"] == []
    assert check["same"]
    # Every role grouping, both breakdowns and the answers were compared.
    sources = {(row["source"], row["bits"]) for row in rows}
    assert {("clocks", bits) for bits in (0b0111, 0b1011, 0b0011, 0b0101, 0b0110)} <= sources
    assert {("answers", bits) for bits in (0b01, 0b10, 0b00)} <= sources
    assert check["figures_compared"] >= len(rows)  # every row was compared


def test_a_different_figure_is_reported(quarter):
    rows = baseline_run(quarter, NOW)
    changed = next(row for row in rows if row["source"] == "clocks" and row["bits"] == 0b0011)
    rows[rows.index(changed)] = {**changed, "n": changed["n"] + 1}
    check = baseline_check(rows, quarter)
    assert not check["same"]
    assert {difference[3] for difference in check["differences"]} >= {
        f"{'resolution' if changed['kind'] else 'first_response'}_timeliness_n"
    }


def test_the_provider_headline_reads_the_same_rows(quarter):
    rows = baseline_run(quarter, NOW, PROVIDER_HEADLINE_SQL)
    assert rows
    assert headline_check(rows, quarter)["same"]
