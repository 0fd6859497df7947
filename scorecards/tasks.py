"""Celery tasks of scorecards: thin callers of the services."""

from celery import shared_task

from core.periods import parse_period

from .services import periods_due, scores_compute


@shared_task(ignore_result=True)
def compute_scores(period: str | None = None) -> dict:
    """Every 15 minutes under beat: recompute the open periods (and those just closed);
    with a period key (2026-Q3, 2026-09, 2026-W38), that period only."""
    periods = [parse_period(period)] if period else periods_due()
    return {p.key: scores_compute(period=p) for p in periods}
