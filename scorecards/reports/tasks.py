"""Celery tasks of HR reports: thin callers of the services."""

from celery import shared_task

from .services import report_generate, reports_for_closed_quarter, reports_resume


@shared_task(ignore_result=True)
def generate_report(report_id: int) -> bool:
    """Write a queued report's file; a second run, or a second worker, does nothing."""
    return report_generate(report_id=report_id)


@shared_task(ignore_result=True)
def generate_closed_quarter_report() -> int | None:
    """On the first days of a quarter under beat: the closed quarter's XLSX report, if there
    is none yet, and a notification to HR when it is ready."""
    report = reports_for_closed_quarter()
    return report.pk if report else None


@shared_task(ignore_result=True)
def resume_reports() -> int:
    """Every few minutes under beat: re-enqueue reports the broker lost or a worker dropped."""
    return reports_resume()
