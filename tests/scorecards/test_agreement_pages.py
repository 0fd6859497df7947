"""Agreements on the scorecard pages, the matrix, the API and the HR report: each pair's
results beside the targets it agreed, and who sees what of them.

The figures are those of tests/scorecards/agreement_story.py, computed for its week: IT kept
its agreement with every customer (Legal's requests) and not the Sales-IT agreement (v1,
superseded on Tuesday by v2).

Who sees what: the figures (how IT did under each agreement, kept or not) are scorecard
figures, shown wherever the scorecard is (members of either side, HR); an agreement's terms
(its targets, its page) only to those who may see the agreement (the managers of its two
sides, every department's managers for an agreement with every customer, and HR).
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.periods import parse_period
from departments.choices import Role
from scorecards.reports.content import ReportContent
from scorecards.services import scores_compute
from tests.factories import MembershipFactory, ServiceFactory, UserFactory, agreement_accepted
from tests.scorecards.agreement_story import NOW, WEEK, answer_and_resolve, at, file

pytestmark = pytest.mark.clock(NOW)

PAIR = f"/scorecards/it/pair/sales/?period={WEEK}"
LEGAL_PAIR = f"/scorecards/it/pair/legal/?period={WEEK}"


@pytest.fixture
def computed(org, agreement_story):
    scores_compute(period=parse_period(WEEK), now=at(4, 18))
    return agreement_story


@pytest.fixture
def legal_manager(org):
    user = UserFactory(username="legal_manager")
    MembershipFactory(user=user, department=org.other, role=Role.MANAGER)
    return user


def html_of(client, user, url) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def agreement_url(agreement) -> str:
    return f"/departments/{agreement.provider.slug}/agreements/{agreement.pk}/"


# --- the pair page -------------------------------------------------------------------------


def test_it_shows_a_pairs_results_beside_the_targets_it_agreed(client, org, computed):
    html = html_of(client, org.provider_manager, PAIR)
    assert "Under the Sales-IT agreement v2" in html
    assert "not kept" in html
    # v1's targets with the results of the requests filed under it, in business units.
    assert "1 business hour" in html
    assert "4 business hours" in html
    assert "Superseded by v2 on Tue 24 Nov 2026" in html
    # v2's: 8 business hours is a business day of IT's.
    assert "2 business hours" in html
    assert "1 business day" in html
    assert "In effect since Tue 24 Nov 2026" in html
    assert agreement_url(computed["v1"]) in html
    assert agreement_url(computed["v2"]) in html
    assert "resolutions on time: 50%" in html  # v1: A on time, B late


def test_it_shows_the_agreement_with_every_customer_on_the_pairs_it_served(client, org, computed):
    html = html_of(client, org.provider_manager, LEGAL_PAIR)
    assert "Under the IT agreement with every customer v1" in html
    assert "Laptop" in html
    assert "3 business hours" in html
    assert "Sales-IT agreement" not in html


@pytest.mark.parametrize("viewer", ["provider_manager", "customer_manager", "hr"])
def test_the_two_sides_managers_and_hr_see_the_terms(client, org, computed, viewer):
    html = html_of(client, getattr(org, viewer), PAIR)
    assert agreement_url(computed["v2"]) in html
    assert "Resolution agreed" in html


@pytest.mark.parametrize("viewer", ["requester", "agent"])
def test_members_of_a_side_see_the_results_but_not_the_terms(client, org, computed, viewer):
    html = html_of(client, getattr(org, viewer), PAIR)
    assert "Under the Sales-IT agreement v2" in html
    assert "resolutions on time: <strong>67%</strong>" in html
    assert "Resolution agreed" not in html
    assert "1 business hour" not in html
    assert "4 business hours" not in html
    assert "/agreements/" not in html
    assert "shown to the managers of the two departments and to HR" in html


def test_a_third_departments_manager_sees_neither_the_pair_nor_its_agreement(
    client, org, computed, legal_manager
):
    client.force_login(legal_manager)
    assert client.get(PAIR).status_code == 404
    # Legal's own pair with IT: the agreement with every customer is Legal's too.
    html = html_of(client, legal_manager, LEGAL_PAIR)
    assert agreement_url(computed["every"]) in html
    assert agreement_url(computed["v2"]) not in html


def test_a_pair_without_agreements_reads_no_agreement(client, org, computed):
    client.force_login(org.provider_manager)
    # Sales serving IT: nothing measured either way round in W47.
    url = "/scorecards/it/pair/sales/?period=2026-W47"
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    assert not [q for q in context.captured_queries if "departments_agreement" in q["sql"]]
    assert "Under the" not in client.get(url).content.decode()


def test_the_pair_page_reads_the_agreements_in_constant_queries(client, org, computed, service):
    printer = ServiceFactory(department=org.provider, name="Printer")

    def version(targets, day):
        """One more version, with a few requests under it."""
        agreement_accepted(
            proposer=org.provider_manager,
            decider=org.customer_manager,
            provider=org.provider,
            customer=org.customer,
            targets=targets,
            now=at(day, 9),
        )
        for _ in range(3):
            request = file(org.requester, printer, at(day, 10))
            answer_and_resolve(org, request, at(day, 10, 5), at(day, 11))
        scores_compute(period=parse_period(WEEK), now=at(4, 18))

    def queries():
        client.force_login(org.provider_manager)
        with CaptureQueriesContext(connection) as context:
            assert client.get(PAIR).status_code == 200
        return len(context.captured_queries)

    version([(printer, "normal", 1, 2)], 3)
    three_versions = queries()
    version(
        [(service, "normal", 1, 2), (printer, "normal", 1, 2), (None, "high", 1, 2)],
        4,
    )
    assert "Sales-IT agreement v4" in html_of(client, org.provider_manager, PAIR)
    assert queries() == three_versions


def test_the_terms_cost_the_pair_page_five_queries(client, org, computed):
    client.force_login(org.provider_manager)

    def queries(url):
        with CaptureQueriesContext(connection) as context:
            assert client.get(url).status_code == 200
        return len(context.captured_queries)

    # Whether the viewer is in HR, the agreements, their targets with their services, the
    # hours and the days off of IT's calendar (their business day).
    assert queries(PAIR) - queries("/scorecards/it/pair/sales/?period=2026-W47") == 5


# --- the department scorecard ---------------------------------------------------------------


def test_the_provider_scorecard_says_how_many_agreements_it_kept(client, org, computed):
    html = html_of(client, org.agent, f"/scorecards/it/?period={WEEK}")
    assert "Agreements kept" in html
    assert '<p class="figure-value">1 of 2</p>' in html
    assert "Sales-IT agreement v2" in html
    assert "(v1, v2)" in html
    assert "IT agreement with every customer v1" in html
    assert f'href="/scorecards/it/pair/sales/?period={WEEK}"' in html
    assert "at least 90% of the time" in html


def test_a_scorecard_without_agreements_has_no_agreement_card(client, org, computed):
    html = html_of(client, org.requester, f"/scorecards/sales/?period={WEEK}&role=customer")
    assert "Agreements kept" not in html
    html = html_of(client, org.provider_manager, "/scorecards/it/?period=2026-W47")
    assert "Agreements kept" not in html


# --- the matrix ----------------------------------------------------------------------------


def test_the_matrix_marks_each_pairs_agreement_kept_or_not(client, org, computed):
    html = html_of(client, org.hr, f"/scorecards/matrix/?period={WEEK}")
    assert "IT \u2192 Legal: 100%, 95% CI 51\u2013100%; agreement kept" in html
    assert "IT \u2192 Sales: 83%, 95% CI 44\u201397%; agreement not kept" in html
    assert html.count('class="cell-agreement agreement-kept">\u2713 kept') == 2  # one + legend


def test_the_matrix_shows_no_agreement_of_a_cell_the_viewer_may_not_see(
    client, org, computed, legal_manager
):
    html = html_of(client, legal_manager, f"/scorecards/matrix/?period={WEEK}")
    assert "agreement kept" in html  # IT -> Legal, Legal's own column
    assert "agreement not kept" not in html  # IT -> Sales is hidden
    assert "/scorecards/it/pair/sales/" not in html


def test_the_matrix_offers_the_timeliness_under_agreements(client, org, computed):
    html = html_of(client, org.hr, f"/scorecards/matrix/?period={WEEK}&figure=agreement_timeliness")
    assert "<strong>On time under agreements</strong>" in html
    assert "IT \u2192 Sales: 83%" in html  # 5 of the 6 clocks under the Sales-IT agreement


# --- the API -------------------------------------------------------------------------------


def test_the_scorecards_api_answers_the_agreement_figures(client, org, computed):
    client.force_login(org.agent)
    figures = client.get(
        "/api/v1/scorecards/", {"department": "it", "period": WEEK, "counterpart": "sales"}
    ).json()["figures"]
    assert (figures["agreements_kept"], figures["agreements_kept_n"]) == (0.0, 1)
    assert figures["agreement_timeliness_n"] == 6
    sales = figures["by_agreement"][str(org.customer.pk)]
    assert sales["versions"] == [1, 2]
    assert sales["by_version"]["1"]["targets"]["all:normal"]["resolution_timeliness"] == 0.5


def test_the_matrix_api_marks_agreements_in_the_cells_the_caller_may_see(
    client, org, computed, legal_manager
):
    def cells(user):
        client.force_login(user)
        data = client.get("/api/v1/scorecards/matrix/", {"period": WEEK}).json()
        it = next(row for row in data["rows"] if row["provider"] == "it")
        return {cell["customer"]: cell for cell in it["cells"]}

    as_hr = cells(org.hr)
    assert (as_hr["sales"]["agreements_kept"], as_hr["sales"]["agreements_n"]) == (0.0, 1)
    assert (as_hr["legal"]["agreements_kept"], as_hr["legal"]["agreements_n"]) == (1.0, 1)
    as_legal = cells(legal_manager)
    assert as_legal["sales"]["reason"] == "not_visible"
    assert as_legal["sales"]["agreements_kept"] is None
    assert as_legal["sales"]["agreements_n"] is None
    assert as_legal["legal"]["agreements_n"] == 1


def test_the_matrix_api_takes_the_new_figure_and_refuses_an_unknown_one(client, org, computed):
    client.force_login(org.hr)
    url = "/api/v1/scorecards/matrix/"
    assert client.get(url, {"period": WEEK, "figure": "agreement_timeliness"}).status_code == 200
    refused = client.get(url, {"period": WEEK, "figure": "agreements"})
    assert refused.status_code == 400
    assert "figure" in refused.json()


# --- the HR report -------------------------------------------------------------------------


def rows_of(section) -> list[dict]:
    headers = [column.header for column in section.columns]
    return [dict(zip(headers, row, strict=True)) for row in section.rows()]


def test_the_report_has_the_agreement_figures_of_providers_and_pairs(org, computed):
    scores_compute(period=parse_period("2026-Q4"), now=at(4, 18))
    content = ReportContent(period=parse_period("2026-Q4"), methodology_version="test")
    sections = {section.slug: section for section in content.sections()}
    it = next(row for row in rows_of(sections["providers"]) if row["Department"] == "IT")
    assert it["Agreements kept, of those measured (%)"] == 50.0
    assert it["Agreements measured (count)"] == 2
    assert it["On time under agreements, both clocks (%)"] == 87.5
    pair = next(
        row
        for row in rows_of(sections["pairs"])
        if (row["Provider"], row["Customer"]) == ("IT", "Sales")
    )
    assert pair["Agreements kept, of those measured (%)"] == 0.0
    assert pair["Clocks settled under agreements (count)"] == 6
    about = {row["Item"]: row["Value"] for row in rows_of(sections["about"])}
    assert "at least 90% of the time" in about["Agreements kept"]
