"""Requesting, generating and storing reports: reruns, claims, failures, the quarter-close
job and the command."""

import datetime
import hashlib

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from requests_app.models import Notification
from scorecards.reports import services, tasks
from scorecards.reports.choices import NOTIFICATION_REPORT_READY
from scorecards.reports.models import QuarterlyReport
from tests.factories import UserFactory

from .conftest import AFTER_Q3, at, open_xlsx


def request(org, report_format="xlsx", force=False, quarter="2026-Q3", **kwargs):
    return services.report_request(
        quarter=quarter, format=report_format, user=org.hr, force=force, now=AFTER_Q3, **kwargs
    )


def test_it_queues_a_report_and_generates_it_on_commit(
    computed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report, created = request(computed)
    assert created
    report.refresh_from_db()
    assert report.status == "done"
    assert report.progress == 100
    assert report.requested_by == computed.hr
    assert report.source == "page"
    assert report.methodology_version == "2026.5"
    assert report.file.name.startswith("reports/2026-Q3-")
    with report.file.open("rb") as handle:
        content = handle.read()
    assert report.sha256 == hashlib.sha256(content).hexdigest()
    assert report.size == len(content)
    assert report.finished_at == AFTER_Q3


def test_it_stores_the_file_under_media_root_reports_with_an_unguessable_name(computed, settings):
    first, _ = request(computed)
    second, _ = request(computed, "csv")
    for report in (first, second):
        services.report_generate(report_id=report.pk)
        report.refresh_from_db()
        path = report.file.path
        assert path.startswith(str(settings.MEDIA_ROOT / "reports"))
        random_part = report.file.name.split("2026-Q3-")[1].split(".")[0]
        assert len(random_part) >= 32
    assert first.file.name.endswith(".xlsx")
    assert second.file.name.endswith(".zip")


def test_it_returns_the_stored_report_unless_forced(computed):
    report, _created = request(computed)
    services.report_generate(report_id=report.pk)
    again, created_again = request(computed)
    assert (again.pk, created_again) == (report.pk, False)
    other_format, created_csv = request(computed, "csv")
    assert created_csv
    assert other_format.pk != report.pk
    forced, created_forced = request(computed, force=True)
    assert created_forced
    assert forced.pk != report.pk
    assert forced.status == "queued"


def test_it_returns_the_running_report_even_when_forced(computed):
    report, _ = request(computed)
    for force in (False, True):
        again, created = request(computed, force=force)
        assert (again.pk, created) == (report.pk, False)
    assert QuarterlyReport.objects.count() == 1


def test_it_makes_a_new_report_after_a_failed_one(computed, monkeypatch):
    report, _ = request(computed)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "write_report", broken)
    assert services.report_generate(report_id=report.pk) is False
    report.refresh_from_db()
    assert report.status == "failed"
    assert "disk full" in report.error
    assert not report.file
    retry, created = request(computed)
    assert created
    assert retry.pk != report.pk


def test_it_refuses_bad_and_future_quarters(org):
    with pytest.raises(ValidationError) as bad:
        request(org, quarter="2026-13")
    assert "quarter" in bad.value.message_dict
    with pytest.raises(ValidationError) as month:
        request(org, quarter="2026-09")
    assert "quarter" in month.value.message_dict
    with pytest.raises(ValidationError) as future:
        request(org, quarter="2027-Q1")
    assert "has not begun" in future.value.message_dict["quarter"][0]
    with pytest.raises(ValidationError) as bad_format:
        request(org, report_format="pdf")
    assert "format" in bad_format.value.message_dict


def test_it_lets_one_worker_claim_a_report(computed):
    report, _ = request(computed)
    # Another worker claimed it a moment ago.
    QuarterlyReport.objects.filter(pk=report.pk).update(status="running", started_at=AFTER_Q3)
    assert services.report_generate(report_id=report.pk) is False
    report.refresh_from_db()
    assert report.status == "running"
    assert not report.file


def test_it_does_nothing_for_a_finished_report(computed):
    report, _ = request(computed)
    assert services.report_generate(report_id=report.pk) is True
    report.refresh_from_db()
    sha256 = report.sha256
    assert services.report_generate(report_id=report.pk) is False
    report.refresh_from_db()
    assert report.sha256 == sha256


def test_it_reclaims_a_report_whose_worker_died(computed):
    report, _ = request(computed)
    died_at = AFTER_Q3 - services.STALE_AFTER - datetime.timedelta(minutes=1)
    QuarterlyReport.objects.filter(pk=report.pk).update(status="running", started_at=died_at)
    assert services.report_generate(report_id=report.pk) is True
    report.refresh_from_db()
    assert report.status == "done"


def test_it_keeps_the_file_of_the_worker_that_holds_the_claim(computed, monkeypatch):
    """A slow worker whose claim was taken over as stale does not overwrite the result."""
    report, _ = request(computed)
    original = services.write_report

    def taken_over(*args, **kwargs):
        original(*args, **kwargs)
        QuarterlyReport.objects.filter(pk=report.pk).update(
            started_at=AFTER_Q3 + datetime.timedelta(minutes=20)
        )

    monkeypatch.setattr(services, "write_report", taken_over)
    assert services.report_generate(report_id=report.pk) is False
    report.refresh_from_db()
    assert report.status == "running"
    assert not report.file


def test_it_reports_progress_while_writing(computed, monkeypatch):
    report, _ = request(computed)
    original = services.write_report
    seen = []

    def spy(content, report_format, fileobj, progress):
        def recording(fraction):
            progress(fraction)
            seen.append(QuarterlyReport.objects.get(pk=report.pk).progress)

        original(content, report_format, fileobj, recording)

    monkeypatch.setattr(services, "write_report", spy)
    services.report_generate(report_id=report.pk)
    assert seen == sorted(seen)
    assert 40 <= seen[0] < 99
    assert seen[-1] == 99  # 100 only once the file is stored
    report.refresh_from_db()
    assert report.progress == 100


def test_the_task_generates_the_report(computed):
    report, _ = request(computed)
    assert tasks.generate_report.delay(report.pk).get() is True
    report.refresh_from_db()
    assert report.status == "done"


def test_it_re_enqueues_reports_the_broker_lost(computed):
    report, _ = request(computed)  # on_commit never ran: nothing was enqueued
    QuarterlyReport.objects.filter(pk=report.pk).update(
        requested_at=AFTER_Q3 - datetime.timedelta(minutes=5)
    )
    assert tasks.resume_reports.delay().get() == 1
    report.refresh_from_db()
    assert report.status == "done"
    assert tasks.resume_reports.delay().get() == 0


# --- the report at the close of a quarter ---------------------------------------------------


def _report_ready_notifications():
    return Notification.objects.filter(kind=NOTIFICATION_REPORT_READY)


def test_it_generates_the_closed_quarters_report_and_tells_hr_once(
    history, django_capture_on_commit_callbacks
):
    other_hr = UserFactory(username="hr2")
    other_hr.groups.add(*history.hr.groups.all())
    with time_machine.travel(at(2026, 10, 2, 7, 30), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            tasks.generate_closed_quarter_report.delay()
        with django_capture_on_commit_callbacks(execute=True):
            tasks.generate_closed_quarter_report.delay()  # the next day's run: nothing new
    report = QuarterlyReport.objects.get()
    assert (report.quarter, report.format, report.status) == ("2026-Q3", "xlsx", "done")
    assert report.source == "schedule"
    assert report.requested_by is None
    assert open_xlsx(report)["About"]["B3"].value.startswith("2026-Q3")
    notified = _report_ready_notifications()
    assert sorted(n.user.username for n in notified) == ["hr", "hr2"]
    assert "2026-Q3" in notified[0].message
    assert "/reports/" in notified[0].message


def test_it_waits_until_the_closed_quarters_scores_are_final(
    history, django_capture_on_commit_callbacks
):
    with (
        time_machine.travel(at(2026, 10, 1, 7, 30), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        tasks.generate_closed_quarter_report.delay()
    assert not QuarterlyReport.objects.exists()
    assert not _report_ready_notifications().exists()


def test_it_tells_hr_of_a_report_someone_already_made(computed):
    report, _ = request(computed)
    services.report_generate(report_id=report.pk)
    with time_machine.travel(at(2026, 10, 3, 7, 30), tick=False):
        tasks.generate_closed_quarter_report.delay()
        tasks.generate_closed_quarter_report.delay()
    assert QuarterlyReport.objects.count() == 1
    assert _report_ready_notifications().count() == 1


def test_it_does_not_tell_hr_of_reports_they_ask_for(computed):
    report, _ = request(computed)
    services.report_generate(report_id=report.pk)
    assert not _report_ready_notifications().exists()


# --- the command -------------------------------------------------------------------------------


def test_the_command_writes_the_file_and_stores_the_report(computed, tmp_path):
    output = tmp_path / "q3.xlsx"
    call_command("export_quarterly_report", "2026-Q3", "--format", "xlsx", "-o", str(output))
    report = QuarterlyReport.objects.get()
    assert (report.source, report.status, report.requested_by) == ("command", "done", None)
    assert hashlib.sha256(output.read_bytes()).hexdigest() == report.sha256
    assert open_xlsx(report)["Providers"]["A2"].value == "IT"


def test_the_command_reuses_the_stored_report_unless_forced(computed, tmp_path, capsys):
    for _ in range(2):
        call_command("export_quarterly_report", "2026-Q3", "--format", "csv")
    assert QuarterlyReport.objects.count() == 1
    assert "reused" in capsys.readouterr().out
    call_command(
        "export_quarterly_report",
        "2026-Q3",
        "--format",
        "csv",
        "--force",
        "-o",
        str(tmp_path / "q3.zip"),
    )
    assert QuarterlyReport.objects.count() == 2
    assert (tmp_path / "q3.zip").stat().st_size > 0


def test_the_command_refuses_a_bad_quarter(org):
    with pytest.raises(CommandError, match="not a period"):
        call_command("export_quarterly_report", "Q3-2026")


def test_the_command_refuses_a_tampered_file(computed, tmp_path):
    call_command("export_quarterly_report", "2026-Q3")
    report = QuarterlyReport.objects.get()
    with open(report.file.path, "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(CommandError, match="does not match"):
        call_command("export_quarterly_report", "2026-Q3", "-o", str(tmp_path / "out.xlsx"))


# --- real concurrency (PostgreSQL: SQLite serialises writers anyway) ---------------------------


def _race(function, count=2):
    """Run `function()` in `count` threads at once; their results."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(count)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(function())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture
def postgresql_only():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("postgresql_only")
def test_it_lets_one_of_two_concurrent_workers_generate(computed):
    report, _ = request(computed, enqueue=False)
    results = _race(lambda: services.report_generate(report_id=report.pk))
    assert sorted(results) == [False, True]
    report.refresh_from_db()
    assert report.status == "done"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("postgresql_only")
def test_it_queues_one_job_for_two_concurrent_requests(computed):
    results = _race(lambda: request(computed, enqueue=False), count=4)
    assert sorted(created for _, created in results) == [False, False, False, True]
    assert len({report.pk for report, _ in results}) == 1
    assert QuarterlyReport.objects.count() == 1
