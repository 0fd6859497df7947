"""The report's Reviews sheet: each department's review counts of the quarter per side, from
its snapshots, and never a word of what the reviews say."""

import datetime

import pytest
import time_machine

from core.periods import parse_period
from reviews import services as review_services
from reviews.choices import ActionState, Trigger
from reviews.triggers import Found
from scorecards.services import scores_compute

from . import test_reproducible as reproducible
from .conftest import AFTER_Q3, at, open_csv_zip, open_xlsx, row_for, sheet_rows
from .test_content import generate

SECRET = "Sales never answered our questions"

pytestmark = pytest.mark.clock(AFTER_Q3)


@pytest.fixture
def reviewed(history):
    """In August 2026 a review of IT's service to Sales, with a written section and two
    actions: IT's done on time, Sales' still open past its due day at the quarter's end."""
    org = history
    review, _ = review_services._open(
        Found(
            trigger=Trigger.MANUAL,
            key="manual:secret",
            title=f"Review: {SECRET}",
            provider_id=org.provider.pk,
            customer_id=org.customer.pk,
        ),
        opened_by=None,
        now=at(2026, 8, 10, 9),
    )
    review_services.review_section_write(
        actor=org.provider_manager,
        review=review,
        department=org.provider,
        what_happened=SECRET,
        now=at(2026, 8, 10, 10),
    )

    def add(department, owner, actor, due):
        return review_services.review_action_add(
            actor=actor,
            review=review,
            title=f"Action: {SECRET}",
            owner_department=department,
            owner=owner,
            due_on=due,
            now=at(2026, 8, 10, 11),
        )

    done = add(org.provider, org.agent, org.provider_manager, datetime.date(2026, 8, 20))
    add(org.customer, org.requester, org.customer_manager, datetime.date(2026, 9, 1))
    review_services.review_action_settle(
        actor=org.provider_manager, action=done, state=ActionState.DONE, now=at(2026, 8, 19, 9)
    )
    for key in ("2026-Q3", "2026-Q2"):
        scores_compute(period=parse_period(key), now=AFTER_Q3)
    return org


def test_it_counts_each_departments_reviews_per_side(reviewed):
    rows = sheet_rows(open_xlsx(generate(reviewed)), "Reviews")
    assert row_for(rows, Department="IT", Side="Provider") == {
        "Department": "IT",
        "Code": "IT",
        "Side": "Provider",
        "Reviews opened (count)": 1,
        "Reviews closed (count)": 0,
        "Actions due (count)": 1,
        "Actions done on time (count)": 1,
        "Actions open and overdue (count)": 0,
    }
    sales = row_for(rows, Department="Sales", Side="Customer")
    assert sales["Actions due (count)"] == 1
    assert sales["Actions done on time (count)"] == 0
    assert sales["Actions open and overdue (count)"] == 1
    # Neither IT as customer, nor Sales as provider, nor Legal had a review.
    assert len(rows) == 2


def test_no_sheet_nor_csv_file_holds_a_word_of_the_reviews(reviewed):
    workbook = open_xlsx(generate(reviewed))
    cells = [
        str(cell)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
        if cell is not None
    ]
    assert any("Reviews opened" in cell for cell in cells)
    assert not any("never answered" in cell for cell in cells)
    files = open_csv_zip(generate(reviewed, "csv"))
    assert (
        row_for(files["11-reviews.csv"], Department="IT", Side="Provider")["Reviews opened (count)"]
        == "1"
    )
    text = repr(files)
    assert "never answered" not in text


@pytest.mark.parametrize("report_format", ["xlsx", "csv"])
def test_a_report_with_reviews_still_reproduces_byte_for_byte(reviewed, report_format):
    first = reproducible.generate(reviewed, report_format)
    with time_machine.travel(reproducible.LATER, tick=False):
        second = reproducible.generate(reviewed, report_format)
    assert first.file.name != second.file.name
    assert reproducible.read(first) == reproducible.read(second)
    assert first.sha256 == second.sha256
