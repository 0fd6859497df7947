"""The Reports page: the form, the list with progress polling, downloads and their log."""

import hashlib

import pytest
from django.urls import reverse

from scorecards.reports import services
from scorecards.reports.models import QuarterlyReport, ReportDownload

INDEX = "/reports/"


@pytest.fixture
def hr_client(client, org):
    client.force_login(org.hr)
    return client


def stored(org, report_format="xlsx"):
    report, _ = services.report_request(quarter="2026-Q3", format=report_format, user=org.hr)
    services.report_generate(report_id=report.pk)
    report.refresh_from_db()
    return report


def test_it_shows_the_form_with_recent_quarters(hr_client, org):
    response = hr_client.get(INDEX)
    assert response.status_code == 200
    form = response.context["form"]
    keys = [key for key, _ in form.fields["quarter"].choices]
    assert keys[:3] == ["2026-Q4", "2026-Q3", "2026-Q2"]
    assert form.fields["quarter"].initial == "2026-Q3"
    assert "2026-Q4 (in progress)" in response.content.decode()
    assert b"No report yet." in response.content


def test_it_queues_a_report_from_the_form(hr_client, computed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = hr_client.post(INDEX, {"quarter": "2026-Q3", "format": "csv"}, follow=True)
    assert response.redirect_chain == [(INDEX, 302)]
    assert "is being generated" in response.content.decode()
    report = QuarterlyReport.objects.get()
    assert (report.quarter, report.format, report.source, report.status) == (
        "2026-Q3",
        "csv",
        "page",
        "done",
    )
    assert report.requested_by == computed.hr


def test_it_says_when_a_report_is_already_stored(hr_client, computed):
    report = stored(computed)
    response = hr_client.post(INDEX, {"quarter": "2026-Q3", "format": "xlsx"}, follow=True)
    assert "already stored" in response.content.decode()
    assert QuarterlyReport.objects.get() == report
    hr_client.post(INDEX, {"quarter": "2026-Q3", "format": "xlsx", "force": "on"})
    assert QuarterlyReport.objects.count() == 2


def test_it_shows_errors_beside_the_fields(hr_client, org):
    response = hr_client.post(INDEX, {"quarter": "1999-Q1", "format": "pdf"})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"quarter", "format"}
    assert not QuarterlyReport.objects.exists()


def test_it_lists_reports_with_their_fingerprint(hr_client, computed):
    report = stored(computed)
    page = hr_client.get(INDEX).content.decode()
    assert report.sha256 in page
    assert "2026.5" in page
    assert reverse("reports:download", args=[report.pk]) in page
    assert "Not downloaded yet." in page
    assert 'hx-trigger="every 2s"' not in page


def test_it_polls_the_row_of_a_running_report_until_it_is_done(hr_client, computed):
    report, _ = services.report_request(quarter="2026-Q3", format="xlsx", user=computed.hr)
    QuarterlyReport.objects.filter(pk=report.pk).update(status="running", progress=55)
    page = hr_client.get(INDEX).content.decode()
    row_url = reverse("reports:row", args=[report.pk])
    assert f'hx-get="{row_url}" hx-trigger="every 2s"' in page
    row = hr_client.get(row_url, HTTP_HX_REQUEST="true").content.decode()
    assert 'value="55"' in row
    assert 'hx-trigger="every 2s"' in row
    QuarterlyReport.objects.filter(pk=report.pk).update(status="queued")
    services.report_generate(report_id=report.pk)
    row = hr_client.get(row_url, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 2s"' not in row
    assert "Download" in row


def test_it_shows_why_a_report_failed(hr_client, computed, monkeypatch):
    report, _ = services.report_request(quarter="2026-Q3", format="xlsx", user=computed.hr)
    monkeypatch.setattr(services, "write_report", lambda *a, **k: 1 / 0)
    services.report_generate(report_id=report.pk)
    page = hr_client.get(INDEX).content.decode()
    assert "Failed" in page
    assert "ZeroDivisionError" in page


def test_it_sends_the_file_and_records_the_download(hr_client, computed):
    report = stored(computed, "csv")
    response = hr_client.get(reverse("reports:download", args=[report.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == (
        'attachment; filename="servicedesk-hr-report-2026-Q3-csv.zip"'
    )
    assert response["X-Report-SHA256"] == report.sha256
    assert "no-store" in response["Cache-Control"]
    assert hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == report.sha256
    download = ReportDownload.objects.get()
    assert (download.report, download.user, download.username, download.via) == (
        report,
        computed.hr,
        "hr",
        "page",
    )
    page = hr_client.get(INDEX).content.decode()
    assert "Downloaded 1 time" in page


def test_it_refuses_to_download_an_unfinished_report(hr_client, computed):
    report, _ = services.report_request(quarter="2026-Q3", format="xlsx", user=computed.hr)
    assert hr_client.get(reverse("reports:download", args=[report.pk])).status_code == 404
    assert not ReportDownload.objects.exists()


def test_it_answers_404_when_the_file_is_gone(hr_client, computed):
    report = stored(computed)
    report.file.storage.delete(report.file.name)
    assert hr_client.get(reverse("reports:download", args=[report.pk])).status_code == 404
    assert not ReportDownload.objects.exists()


def test_the_navigation_links_the_page_for_hr(hr_client, client, org):
    assert 'href="/reports/"' in hr_client.get("/").content.decode()
    client.force_login(org.provider_manager)
    assert 'href="/reports/"' not in client.get("/").content.decode()
