"""Celery tasks of requests: thin callers of the services."""

from celery import shared_task

from .notifications import notifications_deliver
from .scanner import sla_clocks_scan


@shared_task(ignore_result=True)
def scan_sla_clocks() -> dict:
    """Every minute under beat: SLA warnings and breaches."""
    return sla_clocks_scan()


@shared_task(ignore_result=True)
def deliver_notifications() -> int:
    """On commit of each notification, and every minute under beat: send pending emails."""
    return notifications_deliver()
