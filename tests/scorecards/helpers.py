"""Snapshots written directly, for the pages and the API that only read them."""

import datetime

from departments.models import Service
from scorecards.models import ScoreSnapshot
from scorecards.stats import rate_figures

COMPUTED_AT = datetime.datetime(2026, 11, 27, 17, 0, tzinfo=datetime.UTC)


def rates(name, successes, total) -> dict:
    return rate_figures(name, successes, total)


def snapshot(department, role, period, counterpart=None, **figures) -> ScoreSnapshot:
    return ScoreSnapshot.objects.create(
        department=department,
        role=role,
        period=period,
        counterpart=counterpart,
        computed_at=COMPUTED_AT,
        figures=figures,
    )


def provider_figures(**overrides) -> dict:
    """A full set of provider figures: a well-sampled rate, times, surveys."""
    figures = {
        "service_score": 72.5,
        **rates("timeliness", 40, 50),
        **rates("first_response_timeliness", 22, 25),
        **rates("resolution_timeliness", 18, 25),
        "first_response_median_seconds": 1800,
        "first_response_p90_seconds": 7200,
        "resolution_median_seconds": 5 * 3600,
        "resolution_p90_seconds": 20 * 3600,
        **rates("promise_kept", 3, 4),
        **rates("csat", 12, 15),
        "mean_rating": 4.1,
        "mean_rating_n": 15,
        **rates("response_rate", 15, 25),
    }
    figures.update(overrides)
    return figures


def assert_breakdowns_list_own_services() -> int:
    """Every provider snapshot's `by_service` lists only services of that provider (a
    transferred request's time with the first department stays under that department's
    service). Returns how many entries were checked, so a test can tell it checked some."""
    department_of = dict(Service.objects.values_list("pk", "department_id"))
    foreign, checked = [], 0
    for snapshot in ScoreSnapshot.objects.filter(role="provider"):
        for key, item in (snapshot.figures.get("by_service") or {}).items():
            checked += 1
            if department_of.get(int(key)) != snapshot.department_id:
                foreign.append((snapshot.department.name, snapshot.period, item.get("name")))
    assert foreign == [], "services of other departments in a provider's breakdown"
    return checked
