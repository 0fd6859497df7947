"""Writing a report's sections to a file: XLSX or a zip of CSV files, in constant memory.

XLSX: an openpyxl write-only workbook (rows go to disk as they come), one sheet per
section with a frozen, bold header row and the name columns frozen, number formats per
column, and a bar chart of the service score per department. CSV: one file per section in
a zip, each UTF-8 with a byte order mark so that spreadsheet programs read the accents.

Both are reproducible: the same content gives the same bytes, whenever and wherever it is
written. Every entry of the zip (an XLSX is a zip too) carries the report's "generated at"
(the latest computation of the quarter's snapshots) as its time, in the company's zone, the
same attributes and the same compression; the workbook's created and modified properties
are that moment too, not the clock's.

In both, a text cell that a spreadsheet would run as a formula is written with a leading
single quote: one starting with =, +, -, @, a tab or a carriage return, also behind leading
whitespace (spaces, newlines, tabs, carriage returns, Unicode spaces, invisible format
characters) or control characters. Numbers are the report's own and are written as numbers.
"""

from __future__ import annotations

import csv
import datetime
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
from openpyxl.writer.excel import ExcelWriter

from core.periods import company_zone

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


# --- reproducible files ----------------------------------------------------------------------

# The time of a report of a quarter without snapshots: early in 1980, the first year a zip
# entry can carry, in every zone.
ZIP_EPOCH = datetime.datetime(1980, 1, 2, tzinfo=datetime.UTC)
# rw-r--r--, made on Unix: the same on every machine that writes the file.
ENTRY_ATTRIBUTES = 0o644 << 16
UNIX = 3


def file_time(content: ReportContent) -> datetime.datetime:
    """The moment the file carries, to the second: the report's "generated at", or ZIP_EPOCH."""
    if content.generated_at is None:
        return ZIP_EPOCH
    return max(content.generated_at.replace(microsecond=0), ZIP_EPOCH)


class ReproducibleZip(zipfile.ZipFile):
    """A zip being written whose every entry carries one time, the same attributes and the
    same compression, whoever adds it: zipfile stamps an entry with the clock (writestr, open)
    or its file's modification time (write, which openpyxl uses for the sheets)."""

    def __init__(self, fileobj, moment: datetime.datetime):
        super().__init__(fileobj, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
        # A zip entry's time has no zone: the company's, as in the About sheet.
        self.date_time = moment.astimezone(company_zone()).timetuple()[:6]

    def open(self, name, mode="r", pwd=None, *, force_zip64=False):
        if mode != "w":
            return super().open(name, mode, pwd, force_zip64=force_zip64)
        # writestr and write come here too, with an entry of their own making.
        given = name if isinstance(name, zipfile.ZipInfo) else zipfile.ZipInfo(name)
        entry = zipfile.ZipInfo(given.filename, date_time=self.date_time)
        entry.compress_type = zipfile.ZIP_DEFLATED
        entry.create_system = UNIX
        entry.external_attr = ENTRY_ATTRIBUTES
        entry.file_size = given.file_size  # known to writestr and write: decides on zip64
        return super().open(entry, "w", force_zip64=force_zip64)


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
    moment = file_time(content)
    # Naive UTC, as openpyxl writes them. Workbook.save would set `modified` to the clock,
    # so ExcelWriter is called directly below.
    utc = moment.astimezone(datetime.UTC).replace(tzinfo=None)
    workbook.properties.created = workbook.properties.modified = utc
    sections = _sections_for(content, ReportFormat.XLSX)
    for done, section in enumerate(sections, 1):
        sheet = _write_sheet(workbook, section)
        if section.slug == content.chart.section:
            _add_chart(sheet, content)
        progress(done / (len(sections) + 1))
    ExcelWriter(workbook, ReproducibleZip(fileobj, moment)).save()
    progress(1.0)


# --- CSV -------------------------------------------------------------------------------------


def write_csv_zip(content: ReportContent, fileobj, progress: Progress) -> None:
    sections = _sections_for(content, ReportFormat.CSV)
    with ReproducibleZip(fileobj, file_time(content)) as archive:
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
