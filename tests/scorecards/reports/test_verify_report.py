"""manage.py verify_report ID: a finished report written again from the snapshots gives its
recorded sha256 (and the stored file's), or a clear error says what differs."""

import datetime

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.core.management.base import BaseCommand

from core.periods import parse_period
from scorecards.models import ScoreSnapshot
from scorecards.reports import services
from scorecards.reports.management.commands.verify_report import Command
from scorecards.reports.models import QuarterlyReport
from scorecards.services import scores_compute

from .conftest import AFTER_Q3, at

# Weeks later, at an odd second: the wall clock plays no part in a reproduction.
LATER = AFTER_Q3 + datetime.timedelta(days=40, hours=3, minutes=5, seconds=7)


def made(org, report_format="xlsx") -> QuarterlyReport:
    report, _ = services.report_request(
        quarter="2026-Q3", format=report_format, user=org.hr, enqueue=False
    )
    services.report_generate(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == "done", report.error
    return report


def refused(report_id) -> str:
    with pytest.raises(CommandError) as error:
        call_command("verify_report", str(report_id))
    return str(error.value)


@pytest.mark.parametrize("report_format", ["xlsx", "csv"])
def test_it_reproduces_an_untouched_report(computed, report_format, capsys, settings):
    report = made(computed, report_format)
    with time_machine.travel(LATER, tick=False):
        call_command("verify_report", str(report.pk))
    out = capsys.readouterr().out
    assert out == (
        f"reproduced: {report.sha256} (report {report.pk}, 2026-Q3 {report_format}, "
        f"{report.size} bytes)\n"
    )
    # Written in memory only: no new report, no new file.
    assert QuarterlyReport.objects.count() == 1
    assert [p.name for p in (settings.MEDIA_ROOT / "reports").iterdir()] == [
        report.file.name.removeprefix("reports/")
    ]


def test_it_fails_when_the_stored_file_changed(computed):
    report = made(computed)
    with open(report.file.path, "ab") as handle:
        handle.write(b"tampered")
    message = refused(report.pk)
    assert message.startswith(f"Report {report.pk} (2026-Q3 xlsx) does not reproduce. ")
    assert "Its stored file changed after it was written" in message
    assert f"({report.size + 8} bytes), not the recorded {report.sha256}" in message
    assert "it gives the recorded sha256: the record holds" in message


def test_it_fails_when_the_stored_file_is_missing(computed):
    report = made(computed, "csv")
    name = report.file.name
    report.file.delete(save=False)
    message = refused(report.pk)
    assert f"Its stored file {name} is missing." in message
    assert "the record holds, only the file is gone." in message


def test_it_fails_when_the_quarters_snapshots_were_computed_again(computed):
    report = made(computed, "csv")
    # The same figures, computed again a day later: the report's "generated at" moves on.
    scores_compute(period=parse_period("2026-Q3"), now=at(2026, 10, 6, 9, 30))
    message = refused(report.pk)
    assert f"not the recorded {report.sha256} ({report.size} bytes)." in message
    assert (
        "Changed since the report was made: the snapshots of 2026-Q3 were computed again, at "
        "2026-10-06 09:30:00 CEST (the report shows those computed at 2026-10-05 10:00:00 CEST)."
    ) in message


def test_it_fails_when_the_previous_quarters_snapshots_were_computed_again(computed):
    report = made(computed)
    scores_compute(period=parse_period("2026-Q2"), now=at(2026, 10, 6, 9, 30))
    message = refused(report.pk)
    assert (
        "Changed since the report was made: the snapshots of 2026-Q2 were computed again, at "
        "2026-10-06 09:30:00 CEST (the report was made at 2026-10-05 10:00:00 CEST)."
    ) in message


def test_it_fails_when_the_quarters_snapshots_were_deleted(computed):
    report = made(computed)
    ScoreSnapshot.objects.filter(period="2026-Q3").delete()
    assert "Changed since the report was made: the snapshots of 2026-Q3 were deleted." in (
        refused(report.pk)
    )


def test_it_says_the_snapshots_are_unchanged_when_something_else_differs(computed):
    report = made(computed)
    computed.provider.name = "Information technology"
    computed.provider.save()
    message = refused(report.pk)
    assert "The quarter's snapshots were not computed again since" in message
    assert "department or service names" in message


def test_it_names_a_new_methodology_version(computed, monkeypatch):
    report = made(computed)
    monkeypatch.setattr(services, "METHODOLOGY_VERSION", "2099.1")
    message = refused(report.pk)
    assert "Changed since the report was made: the methodology version is 2099.1 now, 2026.5" in (
        message
    )


def test_it_refuses_a_report_that_does_not_exist(db):
    assert refused(999) == "There is no report 999."


@pytest.mark.parametrize("status", ["queued", "running", "failed"])
def test_it_refuses_a_report_that_is_not_done(computed, status):
    report, _ = services.report_request(
        quarter="2026-Q3", format="xlsx", user=computed.hr, enqueue=False
    )
    QuarterlyReport.objects.filter(pk=report.pk).update(status=status)
    assert refused(report.pk) == (
        f"Report {report.pk} (2026-Q3 xlsx) is {status}, not done: only a finished report "
        "can be verified."
    )


def test_it_refuses_an_id_that_is_not_a_number(db):
    with pytest.raises(CommandError, match="invalid int value: 'Q3'"):
        call_command("verify_report", "Q3")


def test_its_errors_exit_non_zero_without_a_traceback(db, capsys):
    command: BaseCommand = Command()
    with pytest.raises(SystemExit) as exit_status:
        command.run_from_argv(["manage.py", "verify_report", "999"])
    assert exit_status.value.code == 1
    captured = capsys.readouterr()
    assert captured.err == "CommandError: There is no report 999.\n"
    assert "Traceback" not in captured.err + captured.out
