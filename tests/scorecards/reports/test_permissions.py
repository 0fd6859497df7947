"""Reports are for HR only: everybody else gets 404 from the page, the API and the file."""

import pytest
from django.urls import reverse

from scorecards.reports import services
from scorecards.reports.models import QuarterlyReport, ReportDownload

NOT_HR = ["requester", "colleague", "customer_manager", "agent", "provider_manager", "outsider"]


@pytest.fixture
def report(computed):
    report, _ = services.report_request(quarter="2026-Q3", format="xlsx", user=computed.hr)
    services.report_generate(report_id=report.pk)
    return report


def page_urls(report):
    return [
        reverse("reports:index"),
        reverse("reports:row", args=[report.pk]),
        reverse("reports:download", args=[report.pk]),
    ]


def api_urls(report):
    return ["/api/v1/reports/", f"/api/v1/reports/{report.pk}/"]


@pytest.mark.parametrize("role", NOT_HR)
def test_it_hides_the_pages_from_everyone_but_hr(client, org, report, role):
    client.force_login(getattr(org, role))
    for url in page_urls(report):
        assert client.get(url).status_code == 404, url
    response = client.post(reverse("reports:index"), {"quarter": "2026-Q3", "format": "csv"})
    assert response.status_code == 404
    assert QuarterlyReport.objects.count() == 1
    assert not ReportDownload.objects.exists()


@pytest.mark.parametrize("role", NOT_HR)
def test_it_hides_the_api_from_everyone_but_hr(api_client, org, report, role):
    api_client.force_authenticate(getattr(org, role))
    for url in api_urls(report):
        assert api_client.get(url).status_code == 404, url
    response = api_client.post("/api/v1/reports/", {"quarter": "2026-Q3"}, format="json")
    assert response.status_code == 404
    assert QuarterlyReport.objects.count() == 1


def test_it_lets_hr_in_everywhere(client, api_client, org, report):
    client.force_login(org.hr)
    for url in page_urls(report):
        assert client.get(url).status_code == 200, url
    api_client.force_authenticate(org.hr)
    for url in api_urls(report):
        assert api_client.get(url).status_code == 200, url


def test_it_lets_a_user_with_the_permission_in_without_the_group(client, org, report):
    from django.contrib.auth.models import Permission

    org.outsider.user_permissions.add(Permission.objects.get(codename="export_reports"))
    client.force_login(org.outsider)
    assert client.get(reverse("reports:download", args=[report.pk])).status_code == 200


def test_it_sends_anonymous_visitors_to_log_in(client, api_client, report):
    for url in page_urls(report):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))
    for url in api_urls(report):
        assert api_client.get(url).status_code == 401, url
    assert api_client.post("/api/v1/reports/", {"quarter": "2026-Q3"}).status_code == 401
    assert not ReportDownload.objects.exists()


def test_it_gives_no_media_url_to_the_files(client, org, report, settings):
    report.refresh_from_db()
    client.force_login(org.hr)
    # Neither under the configured MEDIA_URL nor at the bare path of the file.
    for prefix in ("/media/", "/", settings.MEDIA_URL or "/"):
        assert client.get(f"{prefix}{report.file.name}").status_code == 404
