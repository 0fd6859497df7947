"""GET /api/v1/scorecards/ (and matrix/, league/): figures as stored, every name present."""

import datetime
import zoneinfo

import pytest
import time_machine

from core.periods import parse_period
from requests_app import services
from scorecards.figures import FIGURE_NAMES
from scorecards.services import scores_compute
from tests.factories import DepartmentFactory, ServiceFactory, SLATargetFactory

from .helpers import COMPUTED_AT, provider_figures, rates, snapshot

# The snapshots are computed at COMPUTED_AT; the clock stands still there.
pytestmark = pytest.mark.clock(COMPUTED_AT)

URL = "/api/v1/scorecards/"
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


@pytest.fixture
def as_hr(api_client, org):
    api_client.force_authenticate(org.hr)
    return api_client


def test_it_returns_every_figure_name_with_null_for_the_missing(as_hr, org):
    snapshot(org.provider, "provider", "2026-Q4", **rates("timeliness", 3, 4))
    response = as_hr.get(URL, {"department": "it", "role": "provider", "period": "2026-Q4"})
    assert response.status_code == 200
    body = response.json()
    assert body["department"] == "it"
    assert body["role"] == "provider"
    assert body["period"] == "2026-Q4"
    assert body["counterpart"] is None
    assert datetime.datetime.fromisoformat(body["computed_at"]) == COMPUTED_AT
    figures = body["figures"]
    assert set(FIGURE_NAMES) <= set(figures)
    assert figures["timeliness"] == 0.75
    assert figures["timeliness_n"] == 4
    assert len(figures["timeliness_interval"]) == 2
    for name in ("csat", "mean_rating", "response_rate", "hire_back", "request_quality"):
        assert figures[name] is None
    assert figures["attitude_mean"] is None
    assert figures["customer_responsiveness_seconds"] is None


def test_it_lists_the_survey_and_dimension_figures_among_the_names():
    for name in (
        "csat",
        "mean_rating",
        "response_rate",
        "hire_back",
        "request_quality",
        "attitude_mean",
        "communication_mean",
        "problem_solving_mean",
        "timeliness_mean",
        "teamwork_mean",
        "service_score",
        "customer_responsiveness_seconds",
        "first_response_p90_seconds",
        "csat_interval",
        "response_rate_n",
    ):
        assert name in FIGURE_NAMES


def test_it_shows_survey_figures_when_they_are_there(as_hr, org):
    snapshot(org.provider, "provider", "2026-Q4", **provider_figures(hire_back=35.0, hire_back_n=8))
    figures = as_hr.get(URL, {"department": "it", "period": "2026-Q4"}).json()["figures"]
    assert figures["csat"] == pytest.approx(0.8)
    assert figures["csat_n"] == 15
    assert figures["mean_rating"] == 4.1
    assert figures["hire_back"] == 35.0


def test_it_nulls_a_survey_figure_under_the_anonymity_threshold(as_hr, org):
    snapshot(
        org.provider,
        "provider",
        "2026-Q4",
        **rates("csat", 2, 2),
        mean_rating=4.5,
        mean_rating_n=2,
        hire_back=100.0,
        hire_back_n=2,
    )
    figures = as_hr.get(URL, {"department": "it", "period": "2026-Q4"}).json()["figures"]
    assert figures["csat"] is None
    assert figures["csat_interval"] is None
    assert figures["mean_rating"] is None
    assert figures["hire_back"] is None
    assert figures["csat_n"] == 2


def test_it_passes_on_figures_added_later(as_hr, org):
    snapshot(org.provider, "provider", "2026-Q4", clarity_mean=4.2)
    figures = as_hr.get(URL, {"department": "it", "period": "2026-Q4"}).json()["figures"]
    assert figures["clarity_mean"] == 4.2


def test_it_answers_all_null_before_the_first_computation(as_hr, org):
    body = as_hr.get(URL, {"department": "it", "period": "2026-Q4"}).json()
    assert body["computed_at"] is None
    assert all(body["figures"][name] is None for name in FIGURE_NAMES)


def test_it_defaults_to_the_current_quarter_and_the_provider_role(as_hr, org):
    snapshot(org.provider, "provider", "2026-Q3", service_score=60.0)
    with time_machine.travel(datetime.datetime(2026, 8, 14, 12, tzinfo=BERLIN), tick=False):
        body = as_hr.get(URL, {"department": "it"}).json()
    assert body["period"] == "2026-Q3"
    assert body["role"] == "provider"
    assert body["figures"]["service_score"] == 60.0


def test_it_gives_the_customer_side(as_hr, org):
    snapshot(
        org.customer,
        "customer",
        "2026-09",
        customer_responsiveness_seconds=5400,
        customer_responsiveness_n=7,
    )
    body = as_hr.get(URL, {"department": "sales", "role": "customer", "period": "2026-09"}).json()
    assert body["role"] == "customer"
    assert body["figures"]["customer_responsiveness_seconds"] == 5400


def test_it_gives_a_pair(as_hr, org):
    snapshot(org.provider, "provider", "2026-W38", **rates("timeliness", 1, 2))
    snapshot(
        org.provider, "provider", "2026-W38", counterpart=org.customer, **rates("timeliness", 1, 1)
    )
    body = as_hr.get(URL, {"department": "it", "period": "2026-W38", "counterpart": "sales"}).json()
    assert body["counterpart"] == "sales"
    assert body["figures"]["timeliness"] == 1.0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"department": "it", "period": "2026-Q5"}, "period"),
        ({"department": "it", "period": "2026-W54"}, "period"),
        ({"department": "it", "period": "last quarter"}, "period"),
        ({"department": "nowhere"}, "department"),
        ({}, "department"),
        ({"department": "it", "role": "supplier"}, "role"),
        ({"department": "it", "counterpart": "nowhere"}, "counterpart"),
        ({"department": "it", "counterpart": "it"}, "counterpart"),
    ],
)
def test_it_rejects_bad_parameters_with_field_errors(as_hr, org, params, field):
    response = as_hr.get(URL, params)
    assert response.status_code == 400
    assert field in response.json()


def test_it_finds_departments_whose_names_have_spaces(as_hr, org):
    desk = DepartmentFactory(name="IT Service Desk", slug="desk")
    snapshot(desk, "provider", "2026-Q4", **rates("timeliness", 1, 2))
    snapshot(desk, "provider", "2026-Q4", counterpart=org.customer, **rates("timeliness", 1, 1))
    response = as_hr.get(URL, {"department": "desk", "period": "2026-Q4"})
    assert response.status_code == 200
    assert response.json()["figures"]["timeliness"] == 0.5
    response = as_hr.get(URL, {"department": "desk", "counterpart": "sales", "period": "2026-Q4"})
    assert response.json()["figures"]["timeliness"] == 1.0


def test_it_answers_404_for_a_department_the_caller_may_not_see(api_client, org):
    api_client.force_authenticate(org.outsider)
    assert api_client.get(URL, {"department": "it"}).status_code == 404


def test_it_reads_snapshots_in_constant_queries(as_hr, org, django_assert_max_num_queries):
    for index in range(20):
        other = DepartmentFactory(slug=f"extra-{index}")
        snapshot(org.provider, "provider", "2026-Q4", counterpart=other, service_score=50.0)
    snapshot(org.provider, "provider", "2026-Q4", **provider_figures())
    with django_assert_max_num_queries(6):
        response = as_hr.get(URL, {"department": "it", "period": "2026-Q4"})
    assert response.status_code == 200


def test_it_serves_what_the_computation_wrote(as_hr, org):
    service = ServiceFactory(department=org.provider, name="Laptop")
    SLATargetFactory(
        department=org.provider,
        priority="normal",
        first_response=datetime.timedelta(hours=2),
        resolution=datetime.timedelta(hours=8),
    )
    monday = datetime.datetime(2026, 11, 23, 9, tzinfo=BERLIN)
    request = services.request_create(
        requester=org.requester, service=service, title="t", description="d", now=monday
    )
    services.request_transition(
        request=request,
        actor=org.agent,
        action="resolve",
        now=monday + datetime.timedelta(hours=1),
    )
    scores_compute(period=parse_period("2026-W48"), now=monday + datetime.timedelta(days=4))
    figures = as_hr.get(URL, {"department": "it", "period": "2026-W48"}).json()["figures"]
    assert figures["timeliness"] == 1.0
    assert figures["timeliness_n"] == 2
    assert figures["by_service"][str(service.pk)]["name"] == "Laptop"


# --- the matrix ------------------------------------------------------------------------------


def test_it_gives_the_matrix_of_a_figure(as_hr, org):
    snapshot(
        org.provider, "provider", "2026-Q4", counterpart=org.customer, **rates("timeliness", 9, 10)
    )
    body = as_hr.get(URL + "matrix/", {"period": "2026-Q4"}).json()
    assert body["figure"] == "timeliness"
    assert body["period"] == "2026-Q4"
    assert [d["slug"] for d in body["providers"]] == ["it", "legal", "sales"]
    it_row = next(row for row in body["rows"] if row["provider"] == "it")
    cells = {cell["customer"]: cell for cell in it_row["cells"]}
    assert "it" not in cells  # no diagonal
    assert cells["sales"]["value"] == 0.9
    assert cells["sales"]["n"] == 10
    assert cells["sales"]["hidden"] is False
    assert cells["legal"]["value"] is None
    assert cells["legal"]["reason"] == "no_data"


def test_it_hides_a_csat_cell_under_the_anonymity_threshold(as_hr, org):
    snapshot(org.provider, "provider", "2026-Q4", counterpart=org.customer, **rates("csat", 2, 2))
    body = as_hr.get(URL + "matrix/", {"period": "2026-Q4", "figure": "csat"}).json()
    it_row = next(row for row in body["rows"] if row["provider"] == "it")
    cell = next(cell for cell in it_row["cells"] if cell["customer"] == "sales")
    assert cell["value"] is None
    assert cell["hidden"] is True
    assert cell["reason"] == "anonymity"


def test_it_rejects_a_figure_the_matrix_does_not_show(as_hr, org):
    response = as_hr.get(URL + "matrix/", {"figure": "service_score"})
    assert response.status_code == 400
    assert "figure" in response.json()


# --- the league table ------------------------------------------------------------------------


def test_it_ranks_the_league_with_rank_change_and_trend(as_hr, org):
    snapshot(org.provider, "provider", "2026-Q4", service_score=80.0, **rates("timeliness", 8, 10))
    snapshot(org.other, "provider", "2026-Q4", service_score=90.0)
    snapshot(org.provider, "provider", "2026-Q3", service_score=95.0)
    snapshot(org.other, "provider", "2026-Q3", service_score=70.0)
    body = as_hr.get(URL + "league/", {"period": "2026-Q4"}).json()
    assert body["period"] == "2026-Q4"
    ranked = [(row["department"], row["rank"], row["rank_change"]) for row in body["rows"]]
    assert ranked == [("legal", 1, 1), ("it", 2, -1), ("sales", None, None)]
    it_row = body["rows"][1]
    assert it_row["timeliness"] == 0.8
    assert [point["period"] for point in it_row["trend"]][-2:] == ["2026-Q3", "2026-Q4"]
    assert len(it_row["trend"]) == 8
    assert it_row["trend"][-1]["service_score"] == 80.0


# --- the schema ------------------------------------------------------------------------------


def test_it_documents_the_scorecards_in_the_schema(as_hr):
    response = as_hr.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    for path in ("/api/v1/scorecards/", "/api/v1/scorecards/matrix/", "/api/v1/scorecards/league/"):
        assert path in schema["paths"]
    parameters = {p["name"] for p in schema["paths"]["/api/v1/scorecards/"]["get"]["parameters"]}
    assert {"department", "role", "period", "counterpart"} <= parameters
    figures = schema["components"]["schemas"]["Figures"]["properties"]
    assert {"csat", "hire_back", "customer_responsiveness_seconds", "by_service"} <= set(figures)


def test_it_answers_the_review_counts_and_null_without_reviews(as_hr, org):
    snapshot(
        org.provider,
        "provider",
        "2026-Q4",
        reviews_opened=3,
        reviews_closed=1,
        review_actions_due=4,
        review_actions_done_on_time=2,
        review_actions_overdue_open=1,
    )
    snapshot(org.customer, "customer", "2026-Q4", **rates("timeliness", 1, 2))
    figures = as_hr.get(URL, {"department": "it", "period": "2026-Q4"}).json()["figures"]
    assert figures["reviews_opened"] == 3
    assert figures["reviews_closed"] == 1
    assert figures["review_actions_due"] == 4
    assert figures["review_actions_done_on_time"] == 2
    assert figures["review_actions_overdue_open"] == 1
    query = {"department": "sales", "role": "customer", "period": "2026-Q4"}
    figures = as_hr.get(URL, query).json()["figures"]
    assert figures["reviews_opened"] is None
    assert figures["review_actions_overdue_open"] is None
