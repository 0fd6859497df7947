"""The registry of figures (scorecards.figures.FIGURES): the pages, the HR report and the API
draw every figure's label, unit, roles, direction and count from it, and spell none of them
themselves."""

import ast
import inspect

import pytest

from scorecards import display, figures, forms
from scorecards.api import serializers
from scorecards.figures import FIGURE, FIGURE_NAMES, FIGURES, Figure, figures_shown, sample_of
from scorecards.reports import columns
from scorecards.reports.columns import FIGURE_COLUMNS, FigureColumn, columns_for

# The API's figure names, in order: a contract of DESIGN.md, written out once here so that a
# change to the registry that would change the API shows.
API_NAMES = [
    "service_score",
    *("timeliness", "timeliness_n", "timeliness_interval"),
    *("first_response_timeliness", "first_response_timeliness_n"),
    "first_response_timeliness_interval",
    *("resolution_timeliness", "resolution_timeliness_n", "resolution_timeliness_interval"),
    "first_response_median_seconds",
    "first_response_p90_seconds",
    "resolution_median_seconds",
    "resolution_p90_seconds",
    *("promise_kept", "promise_kept_n", "promise_kept_interval"),
    *("declined", "declined_n", "declined_interval"),
    *("csat", "csat_n", "csat_interval"),
    *("mean_rating", "mean_rating_n"),
    *("response_rate", "response_rate_n", "response_rate_interval"),
    *("hire_back", "hire_back_n"),
    *("attitude_mean", "communication_mean", "problem_solving_mean"),
    *("timeliness_mean", "teamwork_mean"),
    *("request_quality", "request_quality_n"),
    *("customer_responsiveness_seconds", "customer_responsiveness_n"),
    *("blocked_by_late_seconds", "blocked_by_late_departments"),
    *("caused_delay_seconds", "caused_delay_departments"),
    *("agreements_kept", "agreements_kept_n", "agreements_kept_interval"),
    *("agreement_timeliness", "agreement_timeliness_n", "agreement_timeliness_interval"),
    *("by_service", "by_priority", "by_agreement"),
    *("reviews_opened", "reviews_closed", "review_actions_due"),
    *("review_actions_done_on_time", "review_actions_overdue_open"),
]


def test_it_answers_the_api_figure_names_of_the_contract_in_order():
    assert FIGURE_NAMES == API_NAMES
    assert len(FIGURE) == len(FIGURES)


def test_it_draws_every_headline_card_from_the_registry():
    assert all(card in FIGURES for card in display.HEADLINE)
    assert [card.name for card in display.HEADLINE] == [f.name for f in FIGURES if f.card]
    current = figures_shown(None)
    for role in figures.BOTH:
        cards = display.headline_cards(role=role, current=current, previous=current)
        shown = [FIGURE[card.name] for card in cards]
        # An optional card (agreements kept) only where it has a figure.
        assert shown == [f for f in FIGURES if f.card and not f.card_optional and role in f.roles]
        assert all(card.label == FIGURE[card.name].label for card in cards)
        assert all(card.help == FIGURE[card.name].help_text for card in cards)
        with_all = {f.name: 0.5 for f in FIGURES}
        cards = display.headline_cards(role=role, current=with_all, previous=current)
        shown = [FIGURE[card.name] for card in cards]
        assert shown == [f for f in FIGURES if f.card and role in f.roles], role


def test_it_draws_every_report_column_from_the_registry():
    assert [column.figure for column in FIGURE_COLUMNS] == [figure.name for figure in FIGURES]
    for column in FIGURE_COLUMNS:
        figure = FIGURE[column.figure]
        assert column == FigureColumn.of(figure)
        assert column.label == figure.report_label
        assert column.unit is columns.UNITS[figure.unit]
        assert column.roles == figure.roles
    for role in figures.BOTH:
        assert [c.figure for c in columns_for(role)] == [f.name for f in FIGURES if role in f.roles]


def test_it_gives_the_report_the_count_of_a_figure_only_where_it_has_a_count_column():
    counted = {c.figure: c.sample for c in FIGURE_COLUMNS if c.sample}
    assert counted["timeliness"] == "timeliness_n"
    assert counted["customer_responsiveness_seconds"] == "customer_responsiveness_n"
    # The same ratings as csat, whose count column it would repeat.
    assert "mean_rating" not in counted
    assert all(FIGURE[name].sample[0] == sample for name, sample in counted.items())


def test_it_reads_a_figures_count_from_the_registry():
    assert sample_of({"mean_rating_n": 7, "csat_n": 9}, "mean_rating") == 7
    assert sample_of({"csat_n": 9}, "mean_rating") == 9
    assert sample_of({"timeliness_n": 4}, "timeliness") == 4
    assert sample_of({"service_score_n": 4}, "service_score") is None


def test_it_shows_no_count_on_the_customer_responsiveness_card_as_before():
    current = figures_shown(
        {"customer_responsiveness_seconds": 5400, "customer_responsiveness_n": 3}
    )
    card = display.figure_card(FIGURE["customer_responsiveness_seconds"], current, {})
    assert card.n is None
    assert not card.small
    # The report does have its count.
    column = columns.column_named("customer_responsiveness_seconds")
    assert column.sample == "customer_responsiveness_n"


def test_it_hides_only_survey_figures_under_the_anonymity_threshold(settings):
    settings.ANONYMITY_MIN = 5
    stored = {
        **{figure.name: 1.0 for figure in FIGURES},
        **{name: 2 for figure in FIGURES for name in figure.sample},
    }
    shown = figures_shown(stored)
    assert {name for name in FIGURE if shown[name] is None} == {
        figure.name for figure in FIGURES if figure.survey
    }


def test_it_says_which_way_is_better_from_the_registry():
    current, previous = {"resolution_median_seconds": 7200}, {"resolution_median_seconds": 3600}
    card = display.figure_card(FIGURE["resolution_median_seconds"], current, previous)
    assert (card.change.direction, card.change.good) == ("up", False)
    score = FIGURE["service_score"]
    card = display.figure_card(score, {"service_score": 80}, {"service_score": 70})
    assert (card.change.direction, card.change.good) == ("up", True)


def test_it_names_the_trend_chart_lines_after_the_registry_labels():
    data = display.trend_data([])
    labels = [series["label"] for chart in ("score", "times") for series in data[chart]]
    assert labels == [
        "Service score",
        "On time (%)",
        "CSAT (%)",
        "Median first response (h)",
        "Median time to resolve (h)",
    ]
    assert FIGURE["timeliness"].label == "On time"


def test_it_takes_the_dimension_labels_from_the_surveys():
    rows = display.dimension_rows(figures_shown({"problem_solving_mean": 4.0}))
    assert [row["label"] for row in rows] == [
        "Attitude",
        "Communication",
        "Problem solving",
        "Timeliness",
        "Teamwork",
    ]
    column = columns.column_named("problem_solving_mean")
    assert column.header == "Survey rating: problem solving (1-5)"
    assert column.sample_header == "problem solving ratings (count)"


def test_it_offers_the_matrix_figures_of_the_registry():
    assert forms.FIGURE_LABELS == {
        "timeliness": "Timeliness",
        "csat": "CSAT",
        "agreement_timeliness": "On time under agreements",
    }


def test_it_has_a_way_to_show_every_unit_in_every_reader():
    assert set(columns.UNITS) == set(figures.UNITS)
    assert set(serializers.UNIT_HELP) == set(figures.UNITS)
    for unit in figures.UNITS:
        assert display.format_value(unit, 1.0) != "1.0", unit


def test_it_refuses_a_figure_of_unknown_unit_or_direction():
    with pytest.raises(ValueError, match="unknown unit"):
        Figure("x", "X", "furlongs")
    with pytest.raises(ValueError, match="unknown unit"):
        Figure("x", "X", figures.RATE, better="sideways")


def _string_constants(module) -> set[str]:
    tree = ast.parse(inspect.getsource(module))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


# The modules that used to carry their own copies. (The report's About sheet and the pages'
# prose still mention figures in sentences of their own.)
@pytest.mark.parametrize("module", [display, columns, forms, serializers])
def test_it_spells_no_figure_label_outside_the_registry(module):
    texts = {
        text
        for figure in FIGURES
        for text in (
            figure.label,
            figure.report_label,
            figure.count_label,
            figure.short_label,
            figure.matrix_label,
            figure.help,
        )
        if text
    }
    assert sorted(texts & _string_constants(module)) == []
