"""HR generates last quarter's report on the Reports page and downloads it."""

import hashlib
import zipfile

import openpyxl
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def generate_and_download(hr, *, quarter: str, format_code: str, format_label: str, save_to):
    """Ask for a report on the page, wait for its row to be done, download it."""
    page = hr.page
    # The page offers the last closed quarter first.
    expect(page.get_by_role("combobox", name="Quarter")).to_have_value(quarter)
    page.get_by_role("combobox", name="Format").select_option(label=format_label)
    hr.follow(page.get_by_role("button", name="Generate the report"))
    expect(page.locator(".messages")).to_contain_text(f"The report for {quarter}")
    row = page.locator("table.reports-table tbody").filter(
        has=page.get_by_role("cell", name=format_code, exact=True)
    )
    # The job runs in Celery (eagerly here); the row polls with htmx until it is done.
    expect(row.locator(".pill")).to_have_text("Done")
    sha256 = row.locator("code.sha256").inner_text()
    with page.expect_download() as download_info:
        row.get_by_role("link", name="Download").click()
    download = download_info.value
    assert download.failure() is None
    path = save_to / f"{hr.screenshots.test}-{download.suggested_filename}"
    download.save_as(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256
    return path


def test_it_generates_and_downloads_a_quarterly_report(browse, org, history, artifacts):
    quarter = history.quarters[-1].key
    hr = browse("hr")
    page = hr.log_in(org.hr)
    hr.follow(page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports"))
    expect(page.get_by_role("heading", level=1)).to_have_text("HR quarterly reports")
    expect(page.get_by_text("No report yet.")).to_be_visible()
    hr.snap("reports")

    workbook_path = generate_and_download(
        hr,
        quarter=quarter,
        format_code="XLSX",
        format_label="Excel workbook (XLSX)",
        save_to=artifacts,
    )
    hr.snap("xlsx-done")
    assert workbook_path.name.endswith(f"-servicedesk-hr-report-{quarter}-xlsx.xlsx")
    workbook = openpyxl.load_workbook(workbook_path, read_only=True)
    assert {"About", "Providers", "Customers", "Chart"} <= set(workbook.sheetnames)
    providers = [row[:2] for row in workbook["Providers"].iter_rows(values_only=True)]
    assert providers[0] == ("Department", "Code")
    assert ("IT", "IT") in providers
    workbook.close()

    zip_path = generate_and_download(
        hr, quarter=quarter, format_code="CSV", format_label="CSV files in a zip", save_to=artifacts
    )
    assert zip_path.name.endswith(f"-servicedesk-hr-report-{quarter}-csv.zip")
    with zipfile.ZipFile(zip_path) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        providers_csv = next(name for name in names if name.endswith("-providers.csv"))
        text = archive.read(providers_csv).decode("utf-8")
    assert text.startswith("\ufeffDepartment,Code,")
    assert "\nIT,IT," in text.replace("\r\n", "\n")

    # Both downloads are on record, beside their reports.
    page.reload()
    expect(page.locator("tr.report-downloads").filter(has_text="Downloaded 1 time")).to_have_count(
        2
    )
    hr.snap("downloaded")
