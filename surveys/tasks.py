"""Celery tasks of surveys: thin callers of the services."""

from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def open_quarterly_survey(quarter: str | None = None) -> str:
    """Beat, on the first day of each quarter: open the survey of the quarter that just
    ended (or of `quarter`, like 2026-Q3) and invite. Safe to run twice."""
    return services.relationship_survey_open(quarter=quarter).summary()


@shared_task(ignore_result=True)
def send_survey_reminders() -> dict:
    """Beat, daily: close the relationship surveys whose 14 days are over, then remind
    those who have not answered (3 and 7 days after the invitation)."""
    closed = services.relationship_surveys_close()
    reminded = services.relationship_reminders_send()
    return {"closed": closed, "reminded": reminded}


@shared_task(
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=30,
    # Said, not left to Celery's default: a retry waits unacknowledged in a worker until it
    # is due, and must be due well within the broker's visibility timeout (an hour).
    retry_backoff_max=10 * 60,
    max_retries=5,
)
def send_survey_link(raw_token: str, reminder: bool = False) -> bool:
    """On commit of an invitation or reminder: email its link (the raw token exists only in
    this task's arguments; the database has its hash)."""
    return services.survey_link_email_send(raw_token=raw_token, reminder=reminder)
