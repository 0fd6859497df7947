"""Beat's reviews work: thin callers of the services, safe to run twice."""

from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def open_due_reviews() -> int:
    """Open the reviews the departments' rules call for."""
    return services.reviews_open_due()


@shared_task(ignore_result=True)
def notify_overdue_review_actions() -> int:
    """Tell owners of overdue actions and their managers, once per overdue step."""
    return services.review_actions_notify_overdue()
