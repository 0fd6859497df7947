"""Writing a report's sections to a file: XLSX or a zip of CSV files, in constant memory.

XLSX: an openpyxl write-only workbook (rows go to disk as they come), one sheet per
section with a frozen, bold header row and the name columns frozen, number formats per
column, and a bar chart of the service score per department. CSV: one file per section in
a zip, each UTF-8 with a byte order mark so that spreadsheet programs read the accents.

In both, a text cell that a spreadsheet would run as a formula is written with a leading
single quote: one starting with =, +, -, @, a tab or a carriage return, also behind leading
whitespace (spaces, newlines, tabs, carriage returns, Unicode spaces, invisible format
characters) or control characters. Numbers are the report's own and are written as numbers.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Callable

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from .choices import ReportFormat
from .content import ReportContent, Section

FORMULA_TRIGGERS = ("=", "+", "-", "@")
# Escaped even without a trigger behind them (OWASP's list: a spreadsheet may act on them).
FORMULA_LEADS = ("\t", "\r")

Progress = Callable[[float], None]


def escape_cell(value):
    """A text cell cannot start a formula: prefix it with a single quote. Control characters
    in front of the trigger do not hide it (a reader may drop them, as XLSX must), nor does
    whitespace (a spreadsheet may trim it when it imports the file)."""
    if not isinstance(value, str):
        return value
    visible = ILLEGAL_CHARACTERS_RE.sub("", value)
    if visible.startswith(FORMULA_LEADS) or _without_lead(visible).startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _without_lead(text: str) -> str:
    """The text after its leading whitespace and invisible format characters (zero-width
    spaces, byte order marks, direction marks)."""
    start = 0
    while start < len(text) and (
        text[start].isspace() or unicodedata.category(text[start]) == "Cf"
    ):
        start += 1
    return text[start:]


def _sections_for(content: ReportContent, report_format: str) -> list[Section]:
    return [s for s in content.sections() if report_format in s.formats]


def write_report(content: ReportContent, report_format: str, fileobj, progress: Progress) -> None:
    """Write the report to a binary file object; `progress(fraction)` after each section."""
    if report_format == ReportFormat.XLSX:
        write_xlsx(content, fileobj, progress)
    elif report_format == ReportFormat.CSV:
        write_csv_zip(content, fileobj, progress)
    else:
        raise ValueError(f"Unknown report format {report_format!r}.")


# --- XLSX ------------------------------------------------------------------------------------

HEADER_FONT = Font(bold=True)
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="top")


def _xlsx_text(value: str) -> str:
    # XML cannot hold most control characters; a name with one would fail the whole file.
    # Removed before escaping: "\x01=HYPERLINK(...)" would otherwise become a live formula.
    return escape_cell(ILLEGAL_CHARACTERS_RE.sub("", value))


def _write_sheet(workbook: Workbook, section: Section):
    sheet = workbook.create_sheet(section.title[:31])
    # Column and view settings must come before the first row in a write-only sheet.
    for index, column in enumerate(section.columns, 1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = f"{get_column_letter(section.frozen_columns + 1)}2"
    header = []
    for column in section.columns:
        cell = WriteOnlyCell(sheet, _xlsx_text(column.header))
        cell.font = HEADER_FONT
        cell.alignment = HEADER_ALIGNMENT
        header.append(cell)
    sheet.append(header)
    formats = [column.number_format for column in section.columns]
    for values in section.rows():
        row = []
        for value, number_format in zip(values, formats, strict=False):
            if isinstance(value, str):
                row.append(_xlsx_text(value))
            elif value is None or number_format is None:
                row.append(value)
            else:
                cell = WriteOnlyCell(sheet, value)
                cell.number_format = number_format
                row.append(cell)
        sheet.append(row)
    return sheet


def _add_chart(sheet, content: ReportContent) -> None:
    chart_data = content.chart
    if not chart_data.rows:
        return
    chart = BarChart()
    chart.type = "bar"  # horizontal bars: long department names stay readable
    chart.grouping = "clustered"
    chart.title = chart_data.title
    chart.y_axis.title = "Service score (0-100)"
    chart.y_axis.scaling.min = 0
    chart.y_axis.scaling.max = 100
    chart.height = max(8, 0.6 * chart_data.rows + 3)
    chart.width = 24
    last = chart_data.rows + 1
    chart.add_data(
        Reference(sheet, min_col=2, max_col=3, min_row=1, max_row=last), titles_from_data=True
    )
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=last))
    sheet.add_chart(chart, "E2")


def write_xlsx(content: ReportContent, fileobj, progress: Progress) -> None:
    workbook = Workbook(write_only=True)
    sections = _sections_for(content, ReportFormat.XLSX)
    for done, section in enumerate(sections, 1):
        sheet = _write_sheet(workbook, section)
        if section.slug == content.chart.section:
            _add_chart(sheet, content)
        progress(done / (len(sections) + 1))
    workbook.save(fileobj)
    progress(1.0)


# --- CSV -------------------------------------------------------------------------------------


def write_csv_zip(content: ReportContent, fileobj, progress: Progress) -> None:
    sections = _sections_for(content, ReportFormat.CSV)
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for done, section in enumerate(sections, 1):
            name = f"{done:02d}-{section.slug}.csv"
            with (
                archive.open(name, "w", force_zip64=True) as raw,
                io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text,
            ):
                writer = csv.writer(text)
                writer.writerow([escape_cell(column.header) for column in section.columns])
                for values in section.rows():
                    writer.writerow(["" if v is None else escape_cell(v) for v in values])
            progress(done / len(sections))
