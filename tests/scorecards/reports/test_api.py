"""POST/GET /api/v1/reports/: HR asks for a quarter's report and follows it."""

import hashlib

import pytest
from rest_framework.authtoken.models import Token

from scorecards.reports.models import QuarterlyReport, ReportDownload

URL = "/api/v1/reports/"


@pytest.fixture
def hr_client(api_client, org):
    api_client.force_authenticate(org.hr)
    return api_client


def post(client, capture, **data):
    with capture(execute=True):
        return client.post(URL, {"quarter": "2026-Q3", "format": "xlsx", **data}, format="json")


def test_it_queues_a_report_and_shows_its_status(
    hr_client, computed, django_capture_on_commit_callbacks
):
    response = post(hr_client, django_capture_on_commit_callbacks)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Location"].endswith(f"{URL}{body['id']}/")
    detail = hr_client.get(f"{URL}{body['id']}/").json()
    report = QuarterlyReport.objects.get(pk=body["id"])
    assert detail["status"] == "done"
    assert detail["progress"] == 100
    assert detail["quarter"] == "2026-Q3"
    assert detail["format"] == "xlsx"
    assert detail["methodology_version"] == "2026.5"
    assert detail["sha256"] == report.sha256
    assert len(report.sha256) == 64
    assert detail["size"] == report.size
    assert detail["requested_by"] == "hr"
    assert detail["source"] == "api"
    assert detail["requested_at"]
    assert detail["finished_at"]
    assert detail["download_url"] == f"http://testserver/reports/{report.pk}/download/"
    assert detail["downloads"] == []


def test_it_returns_the_stored_report_with_200_unless_forced(
    hr_client, computed, django_capture_on_commit_callbacks
):
    first = post(hr_client, django_capture_on_commit_callbacks).json()
    again = post(hr_client, django_capture_on_commit_callbacks)
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    forced = post(hr_client, django_capture_on_commit_callbacks, force=True)
    assert forced.status_code == 201
    assert forced.json()["id"] != first["id"]


def test_it_answers_202_with_the_job_already_running(hr_client, computed):
    first = hr_client.post(URL, {"quarter": "2026-Q3"}, format="json")  # not committed: queued
    assert first.status_code == 201
    assert first.json()["status"] == "queued"
    assert first.json()["download_url"] is None
    again = hr_client.post(URL, {"quarter": "2026-Q3", "force": True}, format="json")
    assert again.status_code == 202
    assert again.json()["id"] == first.json()["id"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"quarter": "2026-09"}, "quarter"),
        ({"quarter": "Q3"}, "quarter"),
        ({"quarter": "2099-Q1"}, "quarter"),
        ({"quarter": "2026-Q3", "format": "pdf"}, "format"),
        ({}, "quarter"),
    ],
)
def test_it_refuses_bad_input_with_field_messages(hr_client, org, data, field):
    response = hr_client.post(URL, data, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not QuarterlyReport.objects.exists()


def test_it_lists_and_filters_reports(hr_client, computed, django_capture_on_commit_callbacks):
    post(hr_client, django_capture_on_commit_callbacks)
    post(hr_client, django_capture_on_commit_callbacks, format="csv")
    listed = hr_client.get(URL).json()
    assert listed["count"] == 2
    assert [r["format"] for r in listed["results"]] == ["csv", "xlsx"]
    only_csv = hr_client.get(URL, {"file_format": "csv"}).json()
    assert [r["format"] for r in only_csv["results"]] == ["csv"]
    assert hr_client.get(URL, {"quarter": "2026-Q2"}).json()["count"] == 0
    assert hr_client.get(URL, {"status": "nonsense"}).status_code == 400


def test_its_download_link_works_with_an_api_token(
    api_client, computed, django_capture_on_commit_callbacks
):
    token = Token.objects.create(user=computed.hr)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    report_id = post(api_client, django_capture_on_commit_callbacks).json()["id"]
    body = api_client.get(f"{URL}{report_id}/").json()
    response = api_client.get(body["download_url"])
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    assert hashlib.sha256(content).hexdigest() == body["sha256"]
    download = ReportDownload.objects.get()
    assert (download.user, download.via) == (computed.hr, "token")
    shown = api_client.get(f"{URL}{body['id']}/").json()["downloads"]
    assert [d["username"] for d in shown] == ["hr"]


def test_it_refuses_a_bad_token_on_the_download_link(api_client, computed):
    api_client.credentials(HTTP_AUTHORIZATION="Token nonsense")
    assert api_client.get("/reports/1/download/").status_code == 401


def test_it_is_in_the_schema(hr_client):
    schema = hr_client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    assert "/api/v1/reports/" in schema.json()["paths"]
