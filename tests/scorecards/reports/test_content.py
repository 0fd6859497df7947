"""The files themselves: opened with openpyxl and the csv module, checked against the
snapshots of a known history."""

import datetime

import pytest

from core.periods import parse_period
from scorecards.models import ScoreSnapshot
from scorecards.reports import services
from scorecards.reports.columns import columns_for
from scorecards.reports.content import ReportContent
from scorecards.reports.writers import escape_cell
from scorecards.services import scores_compute
from surveys.models import PulseAnswer, RelationshipAnswer, RelationshipSurvey
from tests.factories import DepartmentFactory

from .conftest import AFTER_Q3, at, open_csv_zip, open_xlsx, row_for, sheet_rows, snapshot


def generate(org, report_format="xlsx", quarter="2026-Q3", force=False):
    report, _ = services.report_request(
        quarter=quarter, format=report_format, user=org.hr, force=force
    )
    services.report_generate(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == "done", report.error
    return report


def number(value):
    """A CSV cell as a number (blank: None)."""
    return None if value in ("", None) else float(value)


def test_it_writes_every_provider_figure_of_the_snapshots_to_the_xlsx(computed):
    org = computed
    workbook = open_xlsx(generate(org))
    it = row_for(sheet_rows(workbook, "Providers"), Department="IT")
    current, previous = (
        snapshot(org.provider, "provider"),
        snapshot(org.provider, "provider", "2026-Q2"),
    )
    for column in columns_for("provider"):
        assert it[column.header] == column.unit.show(current.get(column.figure)), column.figure
        assert it[column.change_header] == column.unit.change(
            current.get(column.figure), previous.get(column.figure)
        ), column.figure
        if column.sample:
            assert it[column.sample_header] == current.get(column.sample), column.figure


def test_it_shows_rates_in_percent_and_times_in_business_hours(computed):
    workbook = open_xlsx(generate(computed))
    it = row_for(sheet_rows(workbook, "Providers"), Department="IT")
    assert it["On time, both clocks (%)"] == 50.0
    assert it["On time, both clocks: change from previous quarter (percentage points)"] == -50.0
    assert it["Clocks settled (count)"] == 4
    # First responses took 1 h and 3 h, resolutions 3 h and 16 h (business hours).
    assert it["Median time to first response (business hours)"] == 2.0
    assert it["90th percentile time to resolve (business hours)"] == 14.7
    assert it["Median time to resolve: change from previous quarter (business hours)"] == 6.5
    assert it["Service score (0-100)"] == 50.0
    assert it["Service score: change from previous quarter (points)"] == -50.0
    assert it["Promised dates kept (%)"] == 100.0
    assert it["Promised requests resolved (count)"] == 1
    assert it["Satisfied requesters, rating 4 or 5 (%)"] is None  # no survey answers


def test_it_writes_the_customer_side_and_the_pairs(computed):
    org = computed
    workbook = open_xlsx(generate(org))
    sales = row_for(sheet_rows(workbook, "Customers"), Department="Sales")
    figures = snapshot(org.customer, "customer")
    assert sales["On time, both clocks (%)"] == round(100 * figures["timeliness"], 1) == 50.0
    pair = row_for(sheet_rows(workbook, "Provider x customer"), Provider="IT", Customer="Sales")
    pair_figures = snapshot(org.provider, "provider", counterpart=org.customer)
    assert pair["Clocks settled (count)"] == pair_figures["timeliness_n"] == 4
    assert pair["Service score: change from previous quarter (points)"] == -50.0
    matrix = sheet_rows(workbook, "Matrix of service scores")
    assert matrix == [{"Provider \\ customer: service score (0-100)": "IT", "Sales": 50.0}]


def test_it_lists_the_biggest_changes(computed):
    workbook = open_xlsx(generate(computed))
    changes = sheet_rows(workbook, "Biggest changes")
    assert [(c["Rank"], c["Department (as provider)"], c["Figure"]) for c in changes] == [
        (1, "IT", "On time, both clocks (%)"),
        (2, "IT", "Service score (0-100)"),
    ]
    assert changes[0]["2026-Q2"] == 100.0
    assert changes[0]["2026-Q3"] == 50.0
    assert changes[0]["Change (points)"] == -50.0


def test_it_keeps_the_five_largest_changes_only(computed):
    org = computed
    for index in range(6):
        department = DepartmentFactory(name=f"Dept {index}")
        for period, score in (("2026-Q3", 10.0 * index), ("2026-Q2", 0.0)):
            ScoreSnapshot.objects.update_or_create(
                department=department,
                role="provider",
                period=period,
                counterpart=None,
                defaults={"computed_at": AFTER_Q3, "figures": {"service_score": score}},
            )
    changes = sheet_rows(open_xlsx(generate(org)), "Biggest changes")
    assert len(changes) == 5
    assert [c["Change (points)"] for c in changes] == [50.0, -50.0, -50.0, 40.0, 30.0]


def test_it_formats_the_xlsx_for_people(computed):
    workbook = open_xlsx(generate(computed))
    assert workbook.sheetnames == [
        "About",
        "Biggest changes",
        "Providers",
        "Customers",
        "Services",
        "Priorities",
        "Provider x customer",
        "Matrix of service scores",
        "Hire-back",
        "Team pulse",
        "Reviews",
        "Chart",
    ]
    providers = workbook["Providers"]
    assert providers.freeze_panes == "C2"
    assert providers["A1"].font.b
    header = [cell.value for cell in providers[1]]
    timeliness = header.index("On time, both clocks (%)") + 1
    change = timeliness + 1
    it_row = next(r for r in range(2, providers.max_row + 1) if providers.cell(r, 1).value == "IT")
    assert providers.cell(it_row, timeliness).number_format == "0.0"
    assert providers.cell(it_row, change).number_format == "+0.0;-0.0;0.0"
    about = dict(sheet_rows(workbook, "About")[i].values() for i in range(3))
    assert about["Quarter"].startswith("2026-Q3")


def test_it_draws_a_bar_chart_of_service_scores(computed):
    workbook = open_xlsx(generate(computed))
    sheet = workbook["Chart"]
    assert len(sheet._charts) == 1
    chart = sheet._charts[0]
    assert chart.tagname == "barChart"
    assert len(chart.series) == 2  # this quarter and the previous one
    assert "Chart" in chart.series[0].val.numRef.f
    assert sheet_rows(workbook, "Chart") == [
        {
            "Department (as provider)": "IT",
            "Service score 2026-Q3 (0-100)": 50.0,
            "Service score 2026-Q2 (0-100)": 100.0,
        }
    ]


def test_it_writes_the_same_figures_to_the_csv_zip(computed):
    org = computed
    files = open_csv_zip(generate(org, "csv"))
    assert sorted(files) == [
        "01-about.csv",
        "02-biggest-changes.csv",
        "03-providers.csv",
        "04-customers.csv",
        "05-services.csv",
        "06-priorities.csv",
        "07-pairs.csv",
        "08-matrix.csv",
        "09-hire-back.csv",
        "10-team-pulse.csv",
        "11-reviews.csv",
    ]
    it = row_for(files["03-providers.csv"], Department="IT")
    current = snapshot(org.provider, "provider")
    previous = snapshot(org.provider, "provider", "2026-Q2")
    for column in columns_for("provider"):
        assert number(it[column.header]) == column.unit.show(current.get(column.figure))
        assert number(it[column.change_header]) == column.unit.change(
            current.get(column.figure), previous.get(column.figure)
        )
    assert it["Median time to first response (business hours)"] == "2.0"
    pair = row_for(files["07-pairs.csv"], Provider="IT", Customer="Sales")
    assert pair["On time, both clocks (%)"] == "50.0"
    assert files["08-matrix.csv"] == [
        {"Provider \\ customer: service score (0-100)": "IT", "Sales": "50.0"}
    ]


def test_it_has_unique_column_headers_in_every_section(computed):
    content = ReportContent(
        period=services.report_quarter_parse("2026-Q3"), methodology_version="test"
    )
    for section in content.sections():
        headers = [column.header for column in section.columns]
        assert len(headers) == len(set(headers)), section.slug


@pytest.mark.parametrize(
    "name",
    [
        '=HYPERLINK("http://evil.example","click")',
        "+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A2)",
        "\tTabbed",
        "\rReturned",
    ],
)
def test_it_escapes_formulas_in_both_formats(computed, name):
    org = computed
    org.customer.name = name
    org.customer.save()
    escaped = "'" + name

    workbook = open_xlsx(generate(org, "xlsx"))

    def read(cell_value):
        # XML turns a lone carriage return into a line feed; the quote is what matters.
        return cell_value.replace("\n", "\r") if "\r" in name else cell_value

    names = {read(row[0].value): row[0] for row in workbook["Customers"].iter_rows(min_row=2)}
    assert escaped in names
    assert names[escaped].data_type == "s"
    assert name not in names
    matrix_header = [read(cell.value) for cell in workbook["Matrix of service scores"][1]]
    assert escaped in matrix_header
    pair = workbook["Provider x customer"]["B2"]
    assert read(pair.value) == escaped

    files = open_csv_zip(generate(org, "csv"))
    assert row_for(files["04-customers.csv"], Department=escaped)
    assert escaped in files["08-matrix.csv"][0]
    assert row_for(files["07-pairs.csv"], Provider="IT")["Customer"] == escaped


def test_it_leaves_plain_text_and_numbers_alone():
    assert escape_cell("IT") == "IT"
    assert escape_cell("Sales - North") == "Sales - North"
    assert escape_cell(-50.0) == -50.0
    assert escape_cell("=1+1") == "'=1+1"


def _relationship_survey(quarter, start, end):
    return RelationshipSurvey.objects.create(
        quarter=quarter,
        period_start=start,
        period_end=end,
        opened_at=end,
        closes_at=end + datetime.timedelta(days=14),
        closed_at=end + datetime.timedelta(days=14),
    )


def _answers(survey, provider, customer, values):
    for value in values:
        RelationshipAnswer.objects.create(
            survey=survey,
            provider_department=provider,
            customer_department=customer,
            hire_back=value,
            answered_on=survey.period_end.date(),
        )


def test_it_shows_hire_back_only_above_the_anonymity_threshold(computed):
    org = computed
    q3 = _relationship_survey("2026-Q3", at(2026, 7, 1, 0), at(2026, 10, 1, 0))
    q2 = _relationship_survey("2026-Q2", at(2026, 4, 1, 0), at(2026, 7, 1, 0))
    _answers(q3, org.provider, org.customer, ["yes", "yes", "no"])
    _answers(q2, org.provider, org.customer, ["yes", "yes", "yes"])
    # Two answers (from IT's own people, so that no total of Sales's answers holds them).
    _answers(q3, org.other, org.provider, ["yes", "no"])
    for key in ("2026-Q3", "2026-Q2"):
        scores_compute(period=parse_period(key), now=AFTER_Q3)
    workbook = open_xlsx(generate(org))
    providers = sheet_rows(workbook, "Providers")
    hire_back = "Hire-back (% yes minus % no, -100 to 100)"
    # The department sheet (from the snapshots) and the Hire-back sheet agree.
    assert row_for(providers, Department="IT")[hire_back] == 33.3
    assert row_for(providers, Department="Legal")[hire_back] is None
    assert row_for(providers, Department="Legal")["Hire-back answers (count)"] == 2
    rows = sheet_rows(workbook, "Hire-back")
    it = row_for(rows, Provider="IT")
    assert it["Answers (count)"] == 3
    assert it["Would keep: yes (count)"] == 2
    assert it["Would not keep: no (count)"] == 1
    assert it["Hire-back (% yes minus % no, -100 to 100)"] == 33.3
    assert it["Hire-back: change from 2026-Q2 (points)"] == -66.7
    assert not [h for h in sheet_rows(workbook, "Provider x customer")[0] if "Hire-back" in h]
    legal = row_for(rows, Provider="Legal")
    assert legal["Note"] == "hidden (fewer than 3 answers)"
    assert legal["Would keep: yes (count)"] is None
    assert legal["Hire-back (% yes minus % no, -100 to 100)"] is None
    assert row_for(rows, Provider="Sales")["Note"] == "no answers"

    files = open_csv_zip(generate(org, "csv"))
    legal = row_for(files["09-hire-back.csv"], Provider="Legal")
    assert legal["Note"] == "hidden (fewer than 3 answers)"
    assert legal["Would keep: yes (count)"] == ""


def test_it_writes_the_breakdowns_by_service_and_priority(computed):
    org = computed
    laptop = org.provider.services.get(name="Laptop")
    current = snapshot(org.provider, "provider")["by_service"][str(laptop.pk)]
    previous = snapshot(org.provider, "provider", "2026-Q2")["by_service"][str(laptop.pk)]
    workbook = open_xlsx(generate(org))
    row = row_for(sheet_rows(workbook, "Services"), Provider="IT", Service="Laptop")
    assert row["On time, both clocks (%)"] == round(100 * current["timeliness"], 1) == 50.0
    assert row["On time, both clocks: change from previous quarter (percentage points)"] == (
        round(100 * (current["timeliness"] - previous["timeliness"]), 1)
    )
    assert row["Clocks settled (count)"] == current["timeliness_n"] == 4
    assert row["Median time to resolve (business hours)"] == 9.5
    normal = row_for(sheet_rows(workbook, "Priorities"), Provider="IT", Priority="Normal")
    assert normal["Resolution on time (%)"] == 50.0
    assert normal["Resolutions settled (count)"] == 2


def test_it_has_a_column_for_every_figure_of_the_scorecards():
    from scorecards.figures import FIGURE_NAMES
    from scorecards.reports.columns import FIGURE_COLUMNS, KNOWN_COLUMNS, STRUCTURED

    scalar = [n for n in FIGURE_NAMES if not n.endswith(("_n", "_interval"))]
    assert [c.figure for c in FIGURE_COLUMNS] == [n for n in scalar if n not in STRUCTURED]
    # Each has its own label and unit, not the plain fallback.
    assert all(c.figure in KNOWN_COLUMNS for c in FIGURE_COLUMNS)


def test_it_hides_survey_figures_under_the_anonymity_threshold(computed):
    org = computed
    ScoreSnapshot.objects.filter(
        department=org.provider, role="provider", period="2026-Q3", counterpart=None
    ).update(figures={"csat": 1.0, "csat_n": 2, "mean_rating": 5.0, "timeliness": 0.5})
    it = row_for(sheet_rows(open_xlsx(generate(org)), "Providers"), Department="IT")
    assert it["Satisfied requesters, rating 4 or 5 (%)"] is None
    assert it["Mean satisfaction rating (1-5)"] is None
    assert it["On time, both clocks (%)"] == 50.0


def test_it_computes_missing_snapshots_first(history):
    org = history
    assert not ScoreSnapshot.objects.exists()
    workbook = open_xlsx(generate(org))
    assert ScoreSnapshot.objects.filter(period="2026-Q3").exists()
    assert ScoreSnapshot.objects.filter(period="2026-Q2").exists()
    it = row_for(sheet_rows(workbook, "Providers"), Department="IT")
    assert it["On time, both clocks (%)"] == 50.0
    assert it["On time, both clocks: change from previous quarter (percentage points)"] == -50.0


def test_it_recomputes_a_closed_quarter_whose_snapshots_predate_its_close(history):
    # A snapshot taken while Q3 was still open (as the 15-minute job leaves it).
    ScoreSnapshot.objects.create(
        department=history.provider,
        role="provider",
        period="2026-Q3",
        computed_at=at(2026, 9, 1, 12),
        figures={"timeliness": 0.99, "timeliness_n": 1},
    )
    workbook = open_xlsx(generate(history))
    it = row_for(sheet_rows(workbook, "Providers"), Department="IT")
    assert it["On time, both clocks (%)"] == 50.0
    assert it["Clocks settled (count)"] == 4


def test_it_keeps_the_snapshots_of_a_quarter_computed_after_its_close(computed):
    ScoreSnapshot.objects.filter(department=computed.provider, period="2026-Q3").update(
        figures={"timeliness": 0.25, "timeliness_n": 8}
    )
    workbook = open_xlsx(generate(computed))
    it = row_for(sheet_rows(workbook, "Providers"), Department="IT")
    assert it["On time, both clocks (%)"] == 25.0  # the dashboards' data, as stored


def test_it_writes_an_empty_quarter_with_its_headers(org):
    report = generate(org, "csv", quarter="2025-Q1")
    files = open_csv_zip(report)
    assert files["02-biggest-changes.csv"] == []
    assert {row["Department"] for row in files["04-customers.csv"]} == {"IT", "Sales", "Legal"}


def _pulse(survey, department, ratings):
    for morale, collaboration in ratings:
        PulseAnswer.objects.create(
            survey=survey, department=department, morale=morale, collaboration=collaboration
        )


def test_it_has_a_team_pulse_sheet_with_what_was_released(computed):
    org = computed
    q3 = _relationship_survey("2026-Q3", at(2026, 7, 1, 0), at(2026, 10, 1, 0))
    q2 = _relationship_survey("2026-Q2", at(2026, 4, 1, 0), at(2026, 7, 1, 0))
    _pulse(q3, org.customer, [(5, 4), (4, 4), (3, 1)])
    _pulse(q2, org.customer, [(2, 2), (2, 2), (2, 2), (3, 2)])
    _pulse(q3, org.provider, [(1, 1), (2, 2)])  # two answers: withheld
    rows = sheet_rows(open_xlsx(generate(org)), "Team pulse")
    sales = row_for(rows, Department="Sales")
    assert sales["Answers (count)"] == 3
    assert sales["Morale (mean, 1-5)"] == 4.0
    assert sales["Morale: change from 2026-Q2"] == 1.75
    assert sales["Collaboration (mean, 1-5)"] == 3.0
    assert [sales[f"Morale {rating} (count)"] for rating in range(1, 6)] == [0, 0, 1, 1, 1]
    assert not sales["Note"]
    it = row_for(rows, Department="IT")
    assert it["Answers (count)"] == 2
    assert it["Morale (mean, 1-5)"] is None
    assert it["Morale 1 (count)"] is None
    assert it["Note"] == "hidden (fewer than 3 answers)"
    assert row_for(rows, Department="Legal")["Note"] == "no answers"
