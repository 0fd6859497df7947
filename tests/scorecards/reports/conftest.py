"""A known history over two quarters, and helpers to open the files a report writes.

IT serves Sales with one service. In 2026-Q2 one request met both clocks; in 2026-Q3 one
met both and one breached both (and had a promise that was kept). Q3 is the report's
quarter and Q2 the previous one, so IT's timeliness falls from 100% to 50%.
"""

import csv
import datetime
import io
import zipfile
import zoneinfo

import openpyxl
import pytest

from core.periods import parse_period
from requests_app import services as request_services
from scorecards.models import ScoreSnapshot
from scorecards.reports.models import QuarterlyReport
from scorecards.services import scores_compute
from tests.clock import folder_mark

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
HOUR = 3600
# A few days after Q3 closed: its snapshots are final.
AFTER_Q3 = datetime.datetime(2026, 10, 5, 10, 0, tzinfo=BERLIN)


def at(year, month, day, hour, minute=0):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=BERLIN)


# Every test here stands a few days after 2026-Q3 closed.
pytest_collection_modifyitems = folder_mark(__file__, pytest.mark.clock(AFTER_Q3))


def _file(org, service, when):
    return request_services.request_create(
        requester=org.requester, service=service, title="t", description="d", now=when
    )


def _met(org, service, monday):
    """Filed 09:00, answered 10:00 (1 h), resolved 12:00 (3 h): both clocks met."""
    request = _file(org, service, monday.replace(hour=9))
    request_services.request_comment_add(
        request=request, author=org.agent, body="on it", now=monday.replace(hour=10)
    )
    request_services.request_promise(
        request=request,
        actor=org.agent,
        promised_at=monday.replace(hour=15),
        now=monday.replace(hour=10, minute=30),
    )
    request_services.request_transition(
        request=request, actor=org.agent, action="resolve", now=monday.replace(hour=12)
    )
    return request


def _breached(org, service, monday):
    """Filed 09:00, acknowledged 12:00 (3 h > 2 h), resolved the next day 17:00 (16 h > 8 h)."""
    request = _file(org, service, monday.replace(hour=9))
    request_services.request_acknowledge(
        request=request, actor=org.agent, now=monday.replace(hour=12)
    )
    request_services.request_transition(
        request=request,
        actor=org.agent,
        action="resolve",
        now=monday.replace(hour=17) + datetime.timedelta(days=1),
    )
    return request


@pytest.fixture
def history(org, service):
    _met(org, service, at(2026, 6, 1, 9))  # Q2
    _met(org, service, at(2026, 8, 3, 9))  # Q3
    _breached(org, service, at(2026, 8, 3, 9))  # Q3
    return org


@pytest.fixture
def computed(history):
    """The snapshots of Q3 and Q2, computed after Q3 closed."""
    for key in ("2026-Q3", "2026-Q2"):
        scores_compute(period=parse_period(key), now=AFTER_Q3)
    return history


def snapshot(department, role, period="2026-Q3", counterpart=None) -> dict:
    return ScoreSnapshot.objects.get(
        department=department, role=role, period=period, counterpart=counterpart
    ).figures


# --- opening the files ---------------------------------------------------------------------


def open_xlsx(report: QuarterlyReport) -> openpyxl.Workbook:
    with report.file.open("rb") as handle:
        return openpyxl.load_workbook(io.BytesIO(handle.read()))


def sheet_rows(workbook, title) -> list[dict]:
    """A sheet's rows as dicts keyed by header."""
    rows = list(workbook[title].iter_rows(values_only=True))
    header = rows[0]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def open_csv_zip(report: QuarterlyReport) -> dict[str, list[dict]]:
    """{file name: rows as dicts}; checks each file starts with the UTF-8 byte order mark."""
    with report.file.open("rb") as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    files = {}
    for name in archive.namelist():
        raw = archive.read(name)
        assert raw.startswith(b"\xef\xbb\xbf"), name
        files[name] = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    return files


def row_for(rows: list[dict], **match) -> dict:
    found = [row for row in rows if all(row[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, rows)
    return found[0]
