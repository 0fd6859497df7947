"""compute_scores against a straightforward Python reference, on random clocks (hypothesis)."""

import datetime
import zoneinfo
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.periods import parse_period
from departments.services import calendar_version_current
from requests_app.models import ServiceRequest, SLAClock
from scorecards.models import ScoreSnapshot
from scorecards.services import scores_compute
from scorecards.stats import percentile_cont
from tests.factories import DepartmentFactory, ServiceFactory, UserFactory

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
PERIOD = parse_period("2026-11")
# "Now" after the month, or in the middle of it (running clocks not yet due are not settled).
NOWS = [
    datetime.datetime(2026, 12, 15, tzinfo=BERLIN),
    datetime.datetime(2026, 11, 16, tzinfo=BERLIN),
]
# Instants from mid-October to mid-December: inside and on both sides of November.
BASE = datetime.datetime(2026, 10, 15, tzinfo=BERLIN)

# The clock stands still after the generated history, on any real date.
pytestmark = pytest.mark.clock(BASE + datetime.timedelta(days=60))
instants = st.builds(
    lambda day, second: BASE + datetime.timedelta(days=day, seconds=second),
    st.integers(min_value=0, max_value=60),
    st.integers(min_value=0, max_value=24 * 3600 - 1),
)
clocks = st.lists(
    st.fixed_dictionaries(
        {
            "provider": st.integers(0, 2),
            "customer": st.integers(0, 2),
            "kind": st.sampled_from(["first_response", "resolution"]),
            "state": st.sampled_from(["met", "breached", "running", "paused", "stopped"]),
            "due_at": instants,
            "completed_at": st.one_of(st.none(), instants),
            "used_seconds": st.integers(0, 200_000),
            "cancelled": st.booleans(),
        }
    ),
    max_size=25,
)


@pytest.fixture
def world(db):
    departments = [DepartmentFactory() for _ in range(3)]
    return {
        "departments": departments,
        "services": [ServiceFactory(department=d) for d in departments],
        "versions": [calendar_version_current(calendar=d.calendar) for d in departments],
        "user": UserFactory(),
    }


def settled(clock, now):
    start, end = PERIOD.start, PERIOD.end
    if clock["state"] == "met":
        return clock["completed_at"] is not None and start <= clock["completed_at"] < end
    if clock["state"] == "breached":
        return start <= clock["due_at"] < end
    if clock["state"] == "running":
        return start <= clock["due_at"] < min(end, now)
    return False


def reference(rows, now):
    """{(role, department index, counterpart index or None): (met, settled, medians)}."""
    groups = defaultdict(list)
    for clock in rows:
        # A cancelled request's clocks leave the scores, but for those already breached.
        if (clock["cancelled"] and clock["state"] != "breached") or not settled(clock, now):
            continue
        p, c = clock["provider"], clock["customer"]
        for key in [
            ("provider", p, None),
            ("customer", c, None),
            ("provider", p, c),
            ("customer", c, p),
        ]:
            groups[key].append(clock)
    result = {}
    for key, members in groups.items():
        met = sum(1 for m in members if m["state"] == "met")
        completed = [
            m["used_seconds"]
            for m in members
            if m["kind"] == "resolution" and m["completed_at"] is not None
        ]
        result[key] = (met, len(members), percentile_cont(completed, 0.5))
    return result


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=clocks, now=st.sampled_from(NOWS))
def test_it_agrees_with_the_reference_computation(world, rows, now):
    SLAClock.objects.all().delete()
    ServiceRequest.objects.all().delete()
    departments = world["departments"]
    for clock in rows:
        clock["completed_at"] = (
            clock["completed_at"] if clock["state"] in ("met", "breached") else None
        )
        if clock["state"] == "met" and clock["completed_at"] is None:
            clock["completed_at"] = clock["due_at"]
    for clock in rows:
        provider, customer = departments[clock["provider"]], departments[clock["customer"]]
        request = ServiceRequest.objects.create(
            requester=world["user"],
            requesting_department=customer,
            provider_department=provider,
            service=world["services"][clock["provider"]],
            title="t",
            description="d",
            status="cancelled" if clock["cancelled"] else "resolved",
            created_at=BASE,
            updated_at=BASE,
        )
        SLAClock.objects.create(
            request=request,
            kind=clock["kind"],
            department=provider,
            service=request.service,
            priority=request.priority,
            calendar_version=world["versions"][clock["provider"]],
            target_seconds=3600,
            started_at=BASE,
            state=clock["state"],
            used_seconds=clock["used_seconds"],
            due_at=clock["due_at"],
            breached_at=clock["due_at"] if clock["state"] == "breached" else None,
            completed_at=clock["completed_at"],
        )
    scores_compute(period=PERIOD, now=now)

    expected = reference(rows, now)
    index = {d.pk: i for i, d in enumerate(departments)}
    stored = {
        (s.role, index[s.department_id], index.get(s.counterpart_id)): s.figures
        for s in ScoreSnapshot.objects.filter(period=PERIOD.key)
    }
    for key, (met, total, median) in expected.items():
        figures = stored[key]
        assert figures["timeliness_n"] == total
        assert figures["timeliness"] == pytest.approx(met / total)
        assert figures.get("resolution_median_seconds") == pytest.approx(median)
    for key, figures in stored.items():
        if key not in expected:
            assert figures.get("timeliness_n", 0) == 0
