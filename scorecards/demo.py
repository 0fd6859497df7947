"""Demo data of the scorecards: snapshots for the periods the demo history covers, so the
dashboards have something to show before beat's first run (seed_demo calls this last)."""

from django.utils import timezone

from core.periods import KINDS, period_containing
from requests_app.models import ServiceRequest

from .services import scores_compute


def seed_demo(*, stdout) -> None:
    """Compute every week, month and quarter from the first demo request to now."""
    first = (
        ServiceRequest.objects.order_by("created_at").values_list("created_at", flat=True).first()
    )
    if first is None:
        return
    now = timezone.now()
    computed = 0
    for kind in KINDS:
        period = period_containing(first, kind)
        while period.start <= now:
            scores_compute(period=period, now=now)
            computed += 1
            period = period.next()
    stdout.write(f"Scorecards: {computed} periods computed.")
