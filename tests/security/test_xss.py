"""Stored XSS: markup typed into a request, a reply, a department or a service name.

Attack covered: someone who can name things (a requester: titles, descriptions, replies; an
administrator or an org import: department and service names) plants `<script>` or
`<img onerror>` and waits for an agent, a manager or HR to open a page or an export. Every
page that shows these texts prints them escaped (markdown descriptions are sanitised), and
the exports hold them as plain text in files that download, never render.
"""

import io
import zipfile
from html.parser import HTMLParser

import openpyxl
import pytest
from django.test import Client

from core.periods import parse_period
from requests_app import services as request_services
from scorecards.reports import services as report_services
from scorecards.services import scores_compute

from .conftest import NOW, YESTERDAY

SCRIPT = "<script>alert('it')</script>"
IMG = '<img src=x onerror="alert(1)">'
TITLE = f"Printer {IMG}"
REPLY = f"Try this {SCRIPT}"
DESCRIPTION = f"**Broken** {SCRIPT} {IMG} [x](javascript:alert(2))"
IT_NAME = f"IT {SCRIPT}"
SALES_NAME = f"Sales {IMG}"
SERVICE_NAME = f"Laptop {SCRIPT}"
PLANTED = [SCRIPT, IMG]


class ActiveContent(HTMLParser):
    """What in a page could run: event handler attributes, inline scripts, javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._script: tuple | None = None

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}={value!r}>")
        if tag == "script":
            self._script = (dict(attrs), [])

    def handle_data(self, data):
        if self._script is not None:
            self._script[1].append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            attrs, body = self._script
            # Script files and json_script data are fine; code written into the page is not.
            if "".join(body).strip() and attrs.get("type") != "application/json":
                self.found.append(f"<script>{''.join(body)[:80]}</script>")
            self._script = None


def active_content(html: str) -> list[str]:
    parser = ActiveContent()
    parser.feed(html)
    return parser.found


@pytest.fixture
def planted(world, django_capture_on_commit_callbacks):
    org = world.org
    org.provider.name, org.customer.name = IT_NAME, SALES_NAME
    org.provider.save()
    org.customer.save()
    world.laptop.name = SERVICE_NAME
    world.laptop.save()
    with django_capture_on_commit_callbacks(execute=True):
        request = request_services.request_create(
            requester=org.requester,
            service=world.laptop,
            title=TITLE,
            description=DESCRIPTION,
            now=YESTERDAY,
        )
        request_services.request_comment_add(
            request=request, author=org.requester, body=REPLY, now=YESTERDAY
        )
    for key in ("2026-Q3", "2026-Q4"):
        scores_compute(period=parse_period(key), now=NOW)
    return request


def page(world, role, url) -> str:
    browser = Client()
    browser.force_login(getattr(world.org, role))
    response = browser.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


PAGES = [
    ("requester", "/requests/{pk}/", [TITLE, IT_NAME, SERVICE_NAME]),
    ("agent", "/requests/{pk}/", [TITLE, SALES_NAME, SERVICE_NAME]),
    ("requester", "/requests/", [TITLE, IT_NAME]),
    ("customer_manager", "/requests/?scope=department", [TITLE]),
    ("agent", "/requests/queue/it/", [TITLE, SALES_NAME]),
    ("agent", "/requests/notifications/", [TITLE]),
    ("requester", "/requests/new/", [IT_NAME, SERVICE_NAME]),
    ("requester", "/departments/", [IT_NAME, SALES_NAME]),
    ("requester", "/departments/it/", [IT_NAME, SERVICE_NAME]),
    ("provider_manager", "/scorecards/it/", [IT_NAME]),
    ("hr", "/scorecards/it/pair/sales/", [IT_NAME, SALES_NAME]),
    ("hr", "/scorecards/matrix/", [IT_NAME, SALES_NAME]),
    ("hr", "/scorecards/organisation/", [IT_NAME]),
    ("hr", "/surveys/results/it/", [IT_NAME]),
]


def test_every_page_prints_planted_markup_as_text(world, planted):
    for role, url, shown in PAGES:
        html = page(world, role, url.format(pk=planted.pk))

        assert active_content(html) == [], url
        for markup in PLANTED:
            assert markup not in html, (url, markup)
        # Quotes are escaped as &#x27; and &quot; by Django templates, as &#39; and &#34; by
        # the Jinja2 form widgets (select options): both are the text, not markup.
        as_text = html.replace("&#39;", "&#x27;").replace("&#34;", "&quot;")
        for text in shown:
            escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            assert escaped.replace("'", "&#x27;").replace('"', "&quot;") in as_text, (url, text)


def test_markdown_descriptions_and_replies_keep_their_formatting_and_lose_scripts(world, planted):
    html = page(world, "agent", f"/requests/{planted.pk}/")
    assert "<strong>Broken</strong>" in html
    assert "Try this" in html
    assert active_content(html) == []
    assert "alert(2)" not in html


@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
def test_the_exports_hold_planted_markup_as_inert_text(world, planted, file_format):
    report, _ = report_services.report_request(
        quarter="2026-Q3", format=file_format, user=world.org.hr, force=True, enqueue=False
    )
    report_services.report_generate(report_id=report.pk)
    hr = Client()
    hr.force_login(world.org.hr)

    download = hr.get(f"/reports/{report.pk}/download/")

    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download["Content-Security-Policy"]
    assert "html" not in download["Content-Type"]
    content = b"".join(download.streaming_content)
    if file_format == "xlsx":
        workbook = openpyxl.load_workbook(io.BytesIO(content))
        cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
        texts = {cell.value for cell in cells if isinstance(cell.value, str)}
        assert all(cell.data_type != "f" for cell in cells)
    else:
        archive = zipfile.ZipFile(io.BytesIO(content))
        texts = {
            cell
            for name in archive.namelist()
            for line in archive.read(name).decode("utf-8-sig").splitlines()
            for cell in line.split(",")
        }
    joined = "\n".join(texts)
    assert IT_NAME in joined
    assert SALES_NAME.replace('"', '""') in joined or SALES_NAME in joined
    assert TITLE not in joined  # HR sees scores, never request text
    assert REPLY not in joined
