"""The scorecard pages: what they show, from snapshots only."""

import datetime
import json
import re
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.periods import last_periods, parse_period
from tests.factories import DepartmentFactory, MembershipFactory, UserFactory

from .helpers import provider_figures, rates, snapshot

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = datetime.datetime(2026, 11, 25, 12, tzinfo=BERLIN)  # in 2026-Q4, 2026-11, 2026-W48


pytestmark = pytest.mark.clock(NOW)


def page(client, user, url, **params):
    client.force_login(user)
    return client.get(url, params)


def chart_data(response) -> dict:
    match = re.search(
        r'<script id="scorecard-data" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    return json.loads(match.group(1))


# --- the department scorecard --------------------------------------------------------------


def test_it_shows_headline_figures_with_change_sample_and_interval(client, org):
    snapshot(org.provider, "provider", "2026-Q4", **provider_figures())
    snapshot(org.provider, "provider", "2026-Q3", **provider_figures(**rates("timeliness", 35, 50)))
    response = page(client, org.provider_manager, "/scorecards/it/", period="2026-Q4")
    assert response.status_code == 200
    html = response.content.decode()
    assert "IT scorecard" in html
    assert "80%" in html  # timeliness 40/50
    assert "+10.0 pts" in html  # from 70% in Q3
    assert "n = 50" in html
    assert "95% CI" in html
    assert "0.5 h" not in html  # 30 minutes is shown in minutes
    assert "30 min" in html
    assert "5.0 h" in html  # median time to resolve
    assert "4.10" in html  # mean rating
    assert "change-good" in html


def test_it_greys_small_samples_with_their_count(client, org):
    snapshot(org.provider, "provider", "2026-Q4", **rates("promise_kept", 3, 4))
    html = page(client, org.agent, "/scorecards/it/", period="2026-Q4").content.decode()
    card = html[html.index("Promises kept") - 200 :]
    assert "figure-small" in card[:400]
    assert "n = 4" in html
    assert "small sample" in html


def test_it_says_no_data_for_missing_survey_figures(client, org):
    snapshot(org.provider, "provider", "2026-Q4", **rates("timeliness", 9, 10))
    html = page(client, org.agent, "/scorecards/it/", period="2026-Q4").content.decode()
    csat = html[html.index(">CSAT<") :]
    assert "no data" in csat[:200]


def test_it_shows_survey_figures_when_present(client, org):
    snapshot(
        org.provider,
        "provider",
        "2026-Q4",
        **provider_figures(hire_back=40.0, hire_back_n=12, attitude_mean=4.4, attitude_mean_n=9),
    )
    html = page(client, org.agent, "/scorecards/it/", period="2026-Q4").content.decode()
    assert "Hire-back" in html
    assert "+40" in html
    assert "Survey dimensions" in html
    assert "4.40" in html


def test_it_hides_survey_figures_under_the_anonymity_threshold(client, org):
    snapshot(org.provider, "provider", "2026-Q4", **rates("csat", 2, 2))
    html = page(client, org.agent, "/scorecards/it/", period="2026-Q4").content.decode()
    assert "hidden (under 3 answers)" in html
    assert "100%" not in html


def test_it_draws_trends_over_the_last_twelve_periods(client, org):
    periods = last_periods(parse_period("2026-11"), 12)
    for index, period in enumerate(periods[:-1]):
        snapshot(org.provider, "provider", period.key, service_score=50.0 + index)
    html = page(client, org.agent, "/scorecards/it/", period="2026-11")
    data = chart_data(html)
    assert data["labels"] == [period.key for period in periods]
    score = data["score"][0]["values"]
    assert score[0] == 50.0
    assert score[-1] is None  # November not computed
    assert "chart.umd.min.js" in html.content.decode()
    assert "js/scorecards.js" in html.content.decode()


def test_it_has_no_inline_executable_script(client, org):
    snapshot(org.provider, "provider", "2026-Q4", **provider_figures())
    html = page(client, org.agent, "/scorecards/it/", period="2026-Q4").content.decode()
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag


def test_it_breaks_down_by_service_and_priority_and_names_the_worst(client, org):
    by_service = {
        "1": {"name": "Laptop", **rates("timeliness", 1, 4), "resolution_median_seconds": 7200},
        "2": {"name": "Printer", **rates("timeliness", 0, 2)},  # too few to rank
        "3": {"name": "VPN", **rates("timeliness", 9, 10)},
    }
    by_priority = {
        "normal": {"name": "Normal", **rates("timeliness", 5, 10)},
        "urgent": {"name": "Urgent", **rates("timeliness", 1, 3)},
    }
    snapshot(org.provider, "provider", "2026-Q4", by_service=by_service, by_priority=by_priority)
    html = page(client, org.agent, "/scorecards/it/", period="2026-Q4").content.decode()
    worst = html[html.index("Worst-performing services") : html.index("Weakest link")]
    assert worst.index("Laptop") < worst.index("VPN")
    assert "Printer" not in worst
    assert "n = 4" in worst
    by_priority_html = html[html.index("By priority") :]
    assert by_priority_html.index("Urgent") < by_priority_html.index("Normal")
    assert "2.0 h" in html


def test_it_shows_the_weakest_link_with_names_hours_and_visible_links(client, org):
    snapshot(
        org.provider,
        "provider",
        "2026-Q4",
        blocked_by_late_seconds=5 * 3600,
        blocked_by_late_departments={str(org.other.pk): 3 * 3600, str(org.customer.pk): 2 * 3600},
        caused_delay_seconds=1800,
        caused_delay_departments={str(org.customer.pk): 1800},
    )
    html = page(client, org.provider_manager, "/scorecards/it/", period="2026-Q4").content.decode()
    panel = html[html.index("Weakest link") :]
    assert "IT was held up: 5.0 h" in panel
    assert panel.index("Legal") < panel.index("Sales")
    assert "3.0 h" in panel
    assert "30 min" in panel
    # The manager of IT may not see Legal's or Sales' scorecards: names without links.
    assert "/scorecards/legal/" not in panel
    hr_html = page(client, org.hr, "/scorecards/it/", period="2026-Q4").content.decode()
    assert "/scorecards/legal/?period=2026-Q4" in hr_html


def test_it_shows_the_customer_side(client, org):
    snapshot(
        org.customer,
        "customer",
        "2026-Q4",
        customer_responsiveness_seconds=2 * 3600,
        customer_responsiveness_n=14,
        request_quality=3.8,
        request_quality_n=6,
    )
    html = page(
        client, org.requester, "/scorecards/sales/", period="2026-Q4", role="customer"
    ).content.decode()
    assert "Customer responsiveness" in html
    assert "2.0 h" in html
    assert "Request quality" in html
    assert "3.80" in html
    assert "Hire-back" not in html
    assert "Worst-performing services" not in html


def test_it_says_when_nothing_was_computed_yet(client, org):
    html = page(client, org.agent, "/scorecards/it/").content.decode()
    assert "No figures have been computed for 2026 Q4 yet" in html


def test_it_defaults_to_the_current_quarter(client, org):
    response = page(client, org.agent, "/scorecards/it/")
    assert response.context["period"].key == "2026-Q4"
    assert response.context["role"] == "provider"


def test_it_defaults_a_department_that_provides_nothing_to_the_customer_side(client, org):
    org.customer.is_provider = False
    org.customer.save()
    response = page(client, org.requester, "/scorecards/sales/")
    assert response.context["role"] == "customer"


def test_it_reports_a_bad_period_beside_the_field_and_falls_back(client, org):
    response = page(client, org.agent, "/scorecards/it/", period="2026-Q9")
    assert response.status_code == 200
    assert response.context["period"].key == "2026-Q4"
    assert "is not a period" in response.content.decode()


def test_it_moves_the_period_to_another_kind(client, org):
    response = page(client, org.agent, "/scorecards/it/", period="2026-Q3", kind="month")
    assert response.context["period"].key == "2026-09"
    # The current quarter in weeks: this week, not the end of the quarter.
    response = page(client, org.agent, "/scorecards/it/", period="2026-Q4", kind="week")
    assert response.context["period"].key == "2026-W48"


def test_it_answers_htmx_with_the_body_only(client, org):
    client.force_login(org.agent)
    response = client.get("/scorecards/it/", {"period": "2026-Q4"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="scorecard-body"')
    assert "scorecard-data" in html
    assert "HX-Request" in response["Vary"]


def queries_for(client, url, params) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url, params).status_code == 200
    return len(context.captured_queries)


def test_it_reads_the_page_in_constant_queries(client, org, django_assert_max_num_queries):
    client.force_login(org.provider_manager)
    snapshot(org.provider, "provider", "2026-11", **rates("timeliness", 1, 2))
    small = queries_for(client, "/scorecards/it/", {"period": "2026-11"})
    for period in last_periods(parse_period("2026-10"), 11):
        snapshot(
            org.provider,
            "provider",
            period.key,
            **provider_figures(
                blocked_by_late_departments={str(org.other.pk): 60, str(org.customer.pk): 90},
                by_service={
                    str(n): {"name": f"S{n}", **rates("timeliness", 1, 3)} for n in range(30)
                },
            ),
        )
    for index in range(10):
        snapshot(DepartmentFactory(slug=f"more-{index}"), "provider", "2026-11", service_score=1.0)
    assert queries_for(client, "/scorecards/it/", {"period": "2026-10"}) <= small + 1
    with django_assert_max_num_queries(20):
        client.get("/scorecards/it/", {"period": "2026-10"})


# --- the redirect ----------------------------------------------------------------------------


def test_it_redirects_to_the_primary_department(client, org):
    MembershipFactory(user=org.requester, department=org.other, is_primary=False)
    response = page(client, org.requester, "/scorecards/")
    assert response.status_code == 302
    assert response["Location"] == "/scorecards/sales/"


def test_it_redirects_to_an_asked_visible_department_keeping_the_period(client, org):
    response = page(client, org.hr, "/scorecards/", department="legal", period="2026-09")
    assert response["Location"] == "/scorecards/legal/?period=2026-09"


def test_it_ignores_an_asked_department_the_viewer_may_not_see(client, org):
    response = page(client, org.requester, "/scorecards/", department="it")
    assert response["Location"] == "/scorecards/sales/"


def test_it_answers_404_without_any_visible_scorecard(client, org):
    loner = UserFactory(username="loner")
    assert page(client, loner, "/scorecards/").status_code == 404


# --- the pair page ---------------------------------------------------------------------------


def test_it_shows_a_pair_both_ways(client, org):
    snapshot(
        org.provider, "provider", "2026-Q4", counterpart=org.customer, **rates("timeliness", 9, 10)
    )
    snapshot(
        org.customer,
        "customer",
        "2026-Q4",
        counterpart=org.provider,
        **rates("timeliness", 9, 10),
        customer_responsiveness_seconds=7200,
        customer_responsiveness_n=3,
    )
    snapshot(
        org.customer, "provider", "2026-Q4", counterpart=org.provider, **rates("timeliness", 1, 4)
    )
    snapshot(
        org.provider, "provider", "2026-Q3", counterpart=org.customer, **rates("timeliness", 4, 5)
    )
    html = page(client, org.hr, "/scorecards/it/pair/sales/", period="2026-Q4").content.decode()
    first = html[html.index("IT serving Sales") : html.index("Sales serving IT")]
    second = html[html.index("Sales serving IT") :]
    assert "90%" in first
    assert "+10.0 pts" in first
    assert "2.0 h" in first  # Sales' responsiveness to IT
    assert "25%" in second


def test_it_answers_404_for_a_pair_of_one_department(client, org):
    assert page(client, org.hr, "/scorecards/it/pair/it/").status_code == 404


# --- the matrix ------------------------------------------------------------------------------


def test_it_draws_the_matrix_as_a_heatmap_with_links(client, org):
    snapshot(
        org.provider, "provider", "2026-Q4", counterpart=org.customer, **rates("timeliness", 9, 10)
    )
    snapshot(
        org.customer, "provider", "2026-Q4", counterpart=org.other, **rates("timeliness", 1, 4)
    )
    html = page(client, org.hr, "/scorecards/matrix/", period="2026-Q4").content.decode()
    assert 'class="matrix-cell heat-9' in html
    assert "/scorecards/it/pair/sales/?period=2026-Q4" in html
    assert "heat-2 matrix-small" in html  # 25% from 4 clocks
    assert "no data" in html


def test_it_switches_the_matrix_to_csat_and_hides_thin_cells(client, org):
    snapshot(org.provider, "provider", "2026-Q4", counterpart=org.customer, **rates("csat", 2, 2))
    snapshot(org.provider, "provider", "2026-Q4", counterpart=org.other, **rates("csat", 4, 5))
    response = page(client, org.hr, "/scorecards/matrix/", period="2026-Q4", figure="csat")
    html = response.content.decode()
    assert response.context["figure"] == "csat"
    assert "&lt; 3 answers" in html
    table = html[html.index('<table class="matrix">') : html.index("</table>")]
    assert "80%" in table
    assert "100%" not in table


def test_it_shows_a_manager_only_their_row_and_column(client, org):
    snapshot(
        org.provider, "provider", "2026-Q4", counterpart=org.customer, **rates("timeliness", 9, 10)
    )
    snapshot(
        org.customer, "provider", "2026-Q4", counterpart=org.other, **rates("timeliness", 1, 3)
    )
    snapshot(
        org.customer, "provider", "2026-Q4", counterpart=org.provider, **rates("timeliness", 2, 3)
    )
    html = page(
        client, org.provider_manager, "/scorecards/matrix/", period="2026-Q4"
    ).content.decode()
    assert "90%" in html  # IT's row
    assert "67%" in html  # IT's column
    assert "33%" not in html  # Sales -> Legal
    assert "/scorecards/sales/pair/legal/" not in html
    assert "hidden" in html


def test_it_answers_the_matrix_as_htmx_body(client, org):
    client.force_login(org.hr)
    response = client.get("/scorecards/matrix/", {"figure": "csat"}, headers={"HX-Request": "true"})
    assert response.content.decode().lstrip().startswith('<div id="matrix-body"')


# --- the organisation page --------------------------------------------------------------------


def test_it_ranks_departments_with_sparklines_and_rank_change(client, org):
    snapshot(org.provider, "provider", "2026-Q4", service_score=80.0)
    snapshot(org.other, "provider", "2026-Q4", service_score=90.0)
    snapshot(org.provider, "provider", "2026-Q3", service_score=95.0)
    snapshot(org.other, "provider", "2026-Q3", service_score=70.0)
    snapshot(org.provider, "provider", "2026-Q2", service_score=60.0)
    response = page(client, org.hr, "/scorecards/organisation/", period="2026-Q4")
    html = response.content.decode()
    assert html.index("Legal") < html.index(">IT<")
    assert "▲1" in html
    assert "▼1" in html
    assert "<polyline points=" in html
    assert "<script" not in html[html.index('id="organisation-body"') :]


def test_it_links_the_league_only_to_visible_scorecards(client, org):
    snapshot(org.provider, "provider", "2026-Q4", service_score=80.0)
    html = page(
        client, org.provider_manager, "/scorecards/organisation/", period="2026-Q4"
    ).content.decode()
    assert '<a href="/scorecards/it/?period=2026-Q4">IT</a>' in html
    assert "/scorecards/legal/" not in html


def test_it_reads_the_overviews_in_constant_queries(client, org, django_assert_max_num_queries):
    for index in range(15):
        department = DepartmentFactory(slug=f"more-{index}")
        for period in last_periods(parse_period("2026-Q4"), 8):
            snapshot(department, "provider", period.key, service_score=float(index))
        snapshot(department, "provider", "2026-Q4", counterpart=org.customer, **rates("csat", 3, 4))
    client.force_login(org.hr)
    small_league = queries_for(client, "/scorecards/organisation/", {})
    small_matrix = queries_for(client, "/scorecards/matrix/", {"figure": "csat"})
    for index in range(15):
        department = DepartmentFactory(slug=f"even-more-{index}")
        for period in last_periods(parse_period("2026-Q4"), 8):
            snapshot(department, "provider", period.key, service_score=float(index))
        snapshot(department, "provider", "2026-Q4", counterpart=org.other, **rates("csat", 3, 4))
    assert queries_for(client, "/scorecards/organisation/", {}) == small_league
    assert queries_for(client, "/scorecards/matrix/", {"figure": "csat"}) == small_matrix
    with django_assert_max_num_queries(20):
        client.get("/scorecards/matrix/", {"figure": "csat"})


# --- navigation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "expected", "absent"),
    [
        ("requester", ["Scorecards"], ["Matrix", "Organisation"]),
        ("agent", ["Scorecards"], ["Matrix", "Organisation"]),
        ("provider_manager", ["Scorecards", "Matrix", "Organisation"], []),
        ("hr", ["Scorecards", "Matrix", "Organisation"], []),
    ],
)
def test_it_links_the_pages_from_the_navigation(client, org, user, expected, absent):
    response = page(client, getattr(org, user), "/")
    labels = [link["label"] for link in response.context["nav_links"]]
    for label in expected:
        assert labels.count(label) == 1
    for label in absent:
        assert label not in labels


# --- the team pulse ------------------------------------------------------------------------


def _pulse_quarter(quarter, department, ratings):
    from surveys.disclosure import release_due
    from surveys.models import PulseAnswer, RelationshipSurvey

    period = parse_period(quarter)
    survey = RelationshipSurvey.objects.create(
        quarter=quarter,
        period_start=period.start,
        period_end=period.end,
        opened_at=period.end,
        closes_at=period.end + datetime.timedelta(days=14),
        closed_at=period.end + datetime.timedelta(days=14),
    )
    for morale, collaboration in ratings:
        PulseAnswer.objects.create(
            survey=survey, department=department, morale=morale, collaboration=collaboration
        )
    # What compute_scores does every 15 minutes: the page reads releases, it makes none.
    release_due()


def pulse_data(response) -> dict:
    match = re.search(
        r'<script id="pulse-data" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    return json.loads(match.group(1))


def test_it_shows_the_team_pulse_beside_the_service_figures_with_its_trend(client, org):
    _pulse_quarter("2026-Q2", org.customer, [(2, 3), (3, 3), (2, 3)])
    _pulse_quarter("2026-Q3", org.customer, [(4, 2), (5, 2), (3, 5)])
    response = page(client, org.requester, "/scorecards/sales/", period="2026-Q4")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Team pulse · 2026-Q3" in body
    assert "4.0" in body
    assert "+1.7 on 2026-Q2" in body  # 4.0 against 2.33
    assert "3: 1 · 4: 1 · 5: 1" in body
    data = pulse_data(response)
    assert data["labels"] == ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    morale, collaboration = data["pulse"]
    assert morale["values"][-3:] == [pytest.approx(7 / 3), 4.0, None]  # Q4 is not out yet
    assert collaboration["values"][-2] == 3.0


def test_it_hides_a_team_pulse_of_fewer_than_three(client, org):
    _pulse_quarter("2026-Q3", org.provider, [(1, 1), (2, 2)])
    response = page(client, org.agent, "/scorecards/it/", period="2026-Q3")
    body = response.content.decode()
    assert "fewer than 3 answers: hidden" in body
    assert pulse_data(response)["pulse"][0]["values"][-1] is None


def test_the_page_reads_the_pulse_as_released_and_makes_no_release(client, org):
    from surveys.models import SurveyRelease

    _pulse_quarter("2026-Q3", org.customer, [(4, 2), (5, 2), (3, 5)])
    SurveyRelease.objects.filter(family="pulse").delete()
    response = page(client, org.requester, "/scorecards/sales/", period="2026-Q4")
    assert "No team pulse has been released" in response.content.decode()
    assert not SurveyRelease.objects.filter(family="pulse").exists()


# --- reviews --------------------------------------------------------------------------------

REVIEW_COUNTS = {
    "reviews_opened": 3,
    "reviews_closed": 2,
    "review_actions_due": 5,
    "review_actions_done_on_time": 4,
    "review_actions_overdue_open": 1,
}


def review_counts(response) -> dict:
    return dict(
        re.findall(r'data-figure="(\w+)"><dt>[^<]*</dt><dd>(\d+)</dd>', response.content.decode())
    )


def test_the_scorecard_shows_the_review_counts_with_a_link_for_the_department(client, org):
    snapshot(org.provider, "provider", "2026-Q4", **rates("timeliness", 1, 2), **REVIEW_COUNTS)
    response = page(client, org.provider_manager, "/scorecards/it/", period="2026-Q4")
    assert review_counts(response) == {name: str(n) for name, n in REVIEW_COUNTS.items()}
    assert "provider or a blocking department" in response.content.decode()
    assert '<a href="/reviews/">Your reviews and actions</a>' in response.content.decode()


def test_hr_sees_the_review_counts_without_a_link(client, org):
    snapshot(org.provider, "provider", "2026-Q4", **REVIEW_COUNTS)
    response = page(client, org.hr, "/scorecards/it/", period="2026-Q4")
    assert review_counts(response)["review_actions_overdue_open"] == "1"
    assert "Your reviews and actions" not in response.content.decode()


def test_without_reviews_there_is_no_reviews_card(client, org):
    snapshot(org.provider, "provider", "2026-Q4", **rates("timeliness", 1, 2))
    response = page(client, org.provider_manager, "/scorecards/it/", period="2026-Q4")
    assert 'id="reviews-title"' not in response.content.decode()
    assert review_counts(response) == {}
