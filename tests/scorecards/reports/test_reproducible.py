"""Reports reproduce: the same snapshots of a quarter give the same bytes, whenever the file
is written and whoever asks for it, so the recorded sha256 proves a reproduction."""

import datetime
import hashlib
import io
import zipfile

import openpyxl
import pytest
import time_machine
from django.core.management import call_command

from core.periods import parse_period
from scorecards.reports import services
from scorecards.reports.models import QuarterlyReport
from scorecards.services import scores_compute

from .conftest import AFTER_Q3, BERLIN, sheet_rows

# Days later, at an odd second: a time no timestamp of the first file could share.
LATER = AFTER_Q3 + datetime.timedelta(days=3, hours=5, minutes=17, seconds=9)


def generate(org, report_format, user="hr"):
    report, _ = services.report_request(
        quarter="2026-Q3",
        format=report_format,
        user=getattr(org, user),
        force=True,
        enqueue=False,
    )
    services.report_generate(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == "done", report.error
    return report


def read(report: QuarterlyReport) -> bytes:
    with report.file.open("rb") as handle:
        return handle.read()


@pytest.mark.parametrize("report_format", ["xlsx", "csv"])
def test_it_writes_the_same_bytes_from_the_same_snapshots_at_another_time(computed, report_format):
    first = generate(computed, report_format)
    with time_machine.travel(LATER, tick=False):
        second = generate(computed, report_format)
    assert (first.finished_at, second.finished_at) == (AFTER_Q3, LATER)
    assert first.file.name != second.file.name
    assert read(first) == read(second)
    assert first.sha256 == second.sha256 == hashlib.sha256(read(second)).hexdigest()
    assert first.size == second.size


def test_it_writes_the_same_bytes_whoever_asks(computed, tmp_path):
    """Who asked is recorded with the report (and shown on the Reports page), not in the file."""
    on_the_page = generate(computed, "xlsx")
    with time_machine.travel(LATER, tick=False):
        call_command("export_quarterly_report", "2026-Q3", "--force", "-o", str(tmp_path / "q3"))
    from_the_command = QuarterlyReport.objects.get(source="command")
    assert from_the_command.requested_by is None
    assert from_the_command.sha256 == on_the_page.sha256


@pytest.mark.parametrize("report_format", ["xlsx", "csv"])
def test_every_zip_entry_carries_the_time_of_the_snapshots(computed, report_format):
    with time_machine.travel(LATER, tick=False):
        report = generate(computed, report_format)
    archive = zipfile.ZipFile(io.BytesIO(read(report)))
    # The snapshots were computed at AFTER_Q3 (10:00 in Berlin); the file was written LATER.
    assert {entry.date_time for entry in archive.infolist()} == {(2026, 10, 5, 10, 0, 0)}
    assert {entry.external_attr for entry in archive.infolist()} == {0o644 << 16}
    assert {entry.compress_type for entry in archive.infolist()} == {zipfile.ZIP_DEFLATED}


def test_the_workbook_was_created_and_modified_when_the_snapshots_were_computed(computed):
    with time_machine.travel(LATER, tick=False):
        report = generate(computed, "xlsx")
    properties = openpyxl.load_workbook(io.BytesIO(read(report))).properties
    utc = AFTER_Q3.astimezone(datetime.UTC).replace(tzinfo=None)
    assert (properties.created, properties.modified) == (utc, utc)


def about(report) -> dict:
    workbook = openpyxl.load_workbook(io.BytesIO(read(report)))
    return {row["Item"]: row["Value"] for row in sheet_rows(workbook, "About")}


def test_it_is_generated_at_the_latest_computation_of_the_quarters_snapshots(computed):
    with time_machine.travel(LATER, tick=False):
        report = generate(computed, "xlsx")
    assert about(report)["Generated at"].startswith("2026-10-05 10:00 CEST: ")
    assert "Requested by" not in about(report)
    assert report.figures_computed_at == AFTER_Q3

    recomputed_at = datetime.datetime(2026, 10, 6, 9, 30, tzinfo=BERLIN)
    scores_compute(period=parse_period("2026-Q3"), now=recomputed_at)
    with time_machine.travel(LATER, tick=False):
        again = generate(computed, "xlsx")
    assert about(again)["Generated at"].startswith("2026-10-06 09:30 CEST: ")
    assert again.figures_computed_at == recomputed_at
    assert again.sha256 != report.sha256  # other snapshots: another file


def test_a_quarter_without_snapshots_carries_a_fixed_time(db):
    first, _ = services.report_request(quarter="2025-Q1", format="csv", enqueue=False)
    services.report_generate(report_id=first.pk)
    with time_machine.travel(LATER, tick=False):
        second, _ = services.report_request(
            quarter="2025-Q1", format="csv", force=True, enqueue=False
        )
        services.report_generate(report_id=second.pk)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.figures_computed_at is None
    assert first.sha256 == second.sha256
    archive = zipfile.ZipFile(io.BytesIO(read(second)))
    assert {entry.date_time[:3] for entry in archive.infolist()} == {(1980, 1, 2)}
