"""How figures are shown: units, changes, sparklines and the period picker."""

import datetime
import zoneinfo

import pytest

from core.periods import parse_period
from scorecards import display
from scorecards.figures import FIGURE_NAMES, figures_shown

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = datetime.datetime(2026, 11, 25, 12, tzinfo=BERLIN)

# The clock stands still at NOW for the whole module.
pytestmark = pytest.mark.clock(NOW)


@pytest.mark.parametrize(
    ("unit", "value", "shown"),
    [
        (display.RATE, 0.8349, "83%"),
        (display.SECONDS, 1800, "30 min"),
        (display.SECONDS, 5 * 3600 + 360, "5.1 h"),
        (display.SCORE, 72.5, "72"),
        (display.RATING, 4.1, "4.10"),
        (display.HIRE_BACK, 35.0, "+35"),
        (display.RATE, None, "no data"),
    ],
)
def test_it_shows_each_unit(unit, value, shown):
    assert display.format_value(unit, value) == shown


def test_it_shows_a_change_with_direction_and_whether_it_is_better():
    change = display.change_of(display.RATE, 0.8, 0.7)
    assert (change.text, change.direction, change.good) == ("+10.0 pts", "up", True)
    slower = display.change_of(display.SECONDS, 3 * 3600, 2 * 3600, lower_is_better=True)
    assert (slower.text, slower.direction, slower.good) == ("+1.0 h", "up", False)
    same = display.change_of(display.SCORE, 70.01, 70.0)
    assert (same.direction, same.good) == ("flat", None)
    assert display.change_of(display.RATE, 0.8, None) is None


def test_it_greys_a_small_sample_and_keeps_its_count():
    figures = figures_shown({"promise_kept": 0.5, "promise_kept_n": 4})
    spec = next(spec for spec in display.HEADLINE if spec.name == "promise_kept")
    card = display.figure_card(spec, figures, figures_shown(None))
    assert card.small
    assert card.n == 4
    assert card.change is None


def test_it_keeps_every_figure_name_and_nulls_the_missing():
    shown = figures_shown({"timeliness": 0.5})
    assert list(shown)[: len(FIGURE_NAMES)] == FIGURE_NAMES
    assert shown["timeliness"] == 0.5
    assert shown["csat"] is None


def test_it_draws_a_sparkline_with_gaps_and_the_last_point():
    line = display.sparkline([50.0, 60.0, None, 70.0, 80.0])
    assert len(line["lines"]) == 2
    assert line["last"] is not None
    # Higher scores sit higher (smaller y).
    first_y = float(line["lines"][0].split()[0].split(",")[1])
    last_y = float(line["last"][1])
    assert last_y < first_y


def test_it_draws_nothing_without_scores():
    assert display.sparkline([None, None]) == {"lines": [], "last": None}


def test_it_moves_a_period_to_another_kind_not_past_now():
    assert display.period_in_kind(parse_period("2026-Q3"), "month", NOW).key == "2026-09"
    assert display.period_in_kind(parse_period("2026-Q4"), "month", NOW).key == "2026-11"
    assert display.period_in_kind(parse_period("2026-W48"), "quarter", NOW).key == "2026-Q4"


def test_it_offers_the_last_periods_up_to_now_and_the_chosen_one():
    options = display.period_options(parse_period("2026-11"), NOW)
    assert options[0].key == "2026-11"
    assert len(options) == display.PICKER_LENGTH
    old = display.period_options(parse_period("2020-01"), NOW)
    assert old[-1].key == "2020-01"


def test_it_ranks_the_worst_services_from_enough_clocks():
    rows = [
        {"name": "A", "timeliness_value": 0.2, "n": 2},
        {"name": "B", "timeliness_value": 0.4, "n": 3},
        {"name": "C", "timeliness_value": 0.3, "n": 12},
        {"name": "D", "timeliness_value": None, "n": 0},
    ]
    assert [row["name"] for row in display.worst_services(rows)] == ["C", "B"]
