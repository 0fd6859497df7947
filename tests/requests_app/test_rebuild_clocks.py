"""manage.py rebuild_clocks: the stored clocks are a cache that the events reproduce exactly."""

import datetime
import io
import zoneinfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from core.periods import parse_period
from departments.business_time import calendar_schedule_clear
from departments.choices import Role
from departments.models import SLATarget, WorkingHours
from departments.services import calendar_version_current
from requests_app import services
from requests_app.choices import ClockKind, ClockState
from requests_app.models import ServiceRequest, SLAClock
from requests_app.scanner import sla_clocks_scan
from scorecards.models import ScoreSnapshot
from scorecards.services import scores_compute
from tests.factories import (
    DepartmentFactory,
    MembershipFactory,
    ServiceFactory,
    SLATargetFactory,
    UserFactory,
)

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
HOUR = 3600

# A garbage value for every cached field: a rebuild must restore them all.
CORRUPTION = {
    "state": ClockState.PAUSED,
    "used_seconds": 424242,
    "running_since": datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC),
    "due_at": datetime.datetime(2001, 1, 2, tzinfo=datetime.UTC),
    "warn_at": None,
    "warned_at": datetime.datetime(2001, 1, 3, tzinfo=datetime.UTC),
    "breached_at": None,
    "completed_at": datetime.datetime(2001, 1, 4, tzinfo=datetime.UTC),
}


def at(day, hour, minute=0):
    """Week of Monday 23 November 2026: day 0 = Monday."""
    return datetime.datetime(2026, 11, 23 + day, hour, minute, tzinfo=BERLIN)


# The story happens in the week of Monday 23 November 2026; the clock stands still a week
# later, so that what a test does without travelling comes after it, on any real date.
pytestmark = pytest.mark.clock(datetime.datetime(2026, 12, 1, 10, tzinfo=BERLIN))


def rows(**filters):
    """Every stored field of the clocks but `computed_at`, which only says when it was written."""
    snapshot = {}
    for row in SLAClock.objects.filter(**filters).order_by("pk").values():
        del row["computed_at"]
        snapshot[row.pop("id")] = row
    return snapshot


def rebuild(*args) -> str:
    out = io.StringIO()
    call_command("rebuild_clocks", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def setup(org):
    laptop = ServiceFactory(department=org.provider, name="Laptop")
    for priority, first, resolution in (("normal", 2, 8), ("high", 1, 4)):
        SLATargetFactory(
            department=org.provider,
            priority=priority,
            first_response=datetime.timedelta(hours=first),
            resolution=datetime.timedelta(hours=resolution),
        )
    facilities = DepartmentFactory(name="Facilities", slug="facilities", code="FAC")
    ServiceFactory(department=facilities, name="Desk")
    SLATargetFactory(
        department=facilities,
        priority="high",
        first_response=datetime.timedelta(hours=1),
        resolution=datetime.timedelta(hours=4),
    )
    fac_agent = UserFactory(username="fac_agent")
    MembershipFactory(user=fac_agent, department=facilities, role=Role.AGENT)
    return org, laptop, facilities, fac_agent


def lifecycle(setup):
    """Two requests through most of what moves a clock; returns them and the clocks of the
    transferred one as they were right after its transfer."""
    org, laptop, facilities, fac_agent = setup

    def act(when, function, **kwargs):
        with time_machine.travel(when, tick=False):
            return function(**kwargs)

    moved = act(
        at(0, 9),
        services.request_create,
        requester=org.requester,
        service=laptop,
        title="Laptop",
        description="broken",
    )
    late = act(
        at(0, 9),
        services.request_create,
        requester=org.requester,
        service=laptop,
        title="Monitor",
        description="flickers",
    )
    act(at(0, 9, 30), services.request_comment_add, request=moved, author=org.agent, body="On it")
    act(
        at(0, 10),
        services.request_transition,
        request=moved,
        actor=org.agent,
        action="wait",
        comment="Which model?",
    )
    act(at(0, 17, 30), sla_clocks_scan)  # `late` breached: notified marks are set
    act(at(1, 10), services.request_comment_add, request=moved, author=org.requester, body="14")
    act(
        at(1, 11),
        services.request_priority_change,
        request=moved,
        actor=org.agent,
        priority="high",
    )
    act(
        at(1, 12),
        services.request_transfer,
        request=moved,
        actor=org.agent,
        department=facilities,
    )
    retired_when_written = rows(request=moved, is_current=False)
    act(at(1, 12), services.request_transition, request=late, actor=org.agent, action="resolve")
    act(at(1, 13), services.request_acknowledge, request=moved, actor=fac_agent)
    act(at(1, 15), services.request_transition, request=moved, actor=fac_agent, action="resolve")
    act(at(2, 10), services.request_transition, request=moved, actor=org.requester, action="reopen")
    return moved, late, retired_when_written


def test_it_restores_corrupted_clocks_to_exactly_what_the_services_wrote(setup):
    moved, _, _ = lifecycle(setup)
    with time_machine.travel(at(2, 10, 30), tick=False):
        services.clocks_recompute(moved)  # the running clock as of now, as a page would
        snapshot = rows()
        assert len(snapshot) == 6  # 2 retired + 2 current for `moved`, 2 for `late`
        assert {row["state"] for row in snapshot.values()} == {
            ClockState.MET,
            ClockState.STOPPED,
            ClockState.BREACHED,
            ClockState.RUNNING,
        }
        SLAClock.objects.update(**CORRUPTION)
        assert rows() != snapshot

        output = rebuild()

        assert rows() == snapshot
    assert "Recomputed 6 clocks of 2 requests: 6 changed." in output


def test_it_restores_the_due_times_each_request_keeps_from_its_clocks(setup):
    moved, late, _ = lifecycle(setup)

    def due_times():
        return {
            pk: (resolution, sla)
            for pk, resolution, sla in ServiceRequest.objects.values_list(
                "pk", "resolution_due_at", "sla_due_at"
            )
        }

    with time_machine.travel(at(2, 10, 30), tick=False):
        services.clocks_recompute(moved)
        written = due_times()
        ServiceRequest.objects.update(resolution_due_at=None, sla_due_at=None)

        rebuild()

        assert due_times() == written
    # `moved` was reopened: its running resolution clock is the one due soonest.
    current = {c.kind: c for c in SLAClock.objects.filter(request=moved, is_current=True)}
    assert current[ClockKind.RESOLUTION].state == ClockState.RUNNING
    assert written[moved.pk] == (current[ClockKind.RESOLUTION].due_at,) * 2
    # `late` was resolved after its due time: breached, so "breached" finds it (sla_due_at).
    resolution = SLAClock.objects.get(request=late, kind=ClockKind.RESOLUTION)
    assert resolution.state == ClockState.BREACHED
    assert written[late.pk][0] == resolution.due_at
    assert written[late.pk][1] <= resolution.due_at < at(2, 10, 30)


def test_it_recomputes_retired_clocks_with_the_events_up_to_their_transfer(setup):
    org, *_ = setup
    moved, _, retired_when_written = lifecycle(setup)
    assert {row["department_id"] for row in retired_when_written.values()} == {org.provider.pk}
    by_kind = {row["kind"]: row for row in retired_when_written.values()}
    # IT answered in 30 min; its resolution clock ran Mon 9-10 and Tue 10-12, then stopped.
    assert by_kind["first_response"]["state"] == ClockState.MET
    assert by_kind["first_response"]["used_seconds"] == HOUR // 2
    assert by_kind["resolution"]["state"] == ClockState.STOPPED
    assert by_kind["resolution"]["used_seconds"] == 3 * HOUR
    assert by_kind["resolution"]["target_seconds"] == 4 * HOUR  # retargeted to high
    SLAClock.objects.filter(request=moved).update(**CORRUPTION)

    # Days later, after Facilities resolved and reopened it: nothing of that leaks back.
    with time_machine.travel(at(4, 16), tick=False):
        rebuild()

    assert rows(request=moved, is_current=False) == retired_when_written


def test_it_keeps_each_clock_under_the_service_and_priority_its_department_held(setup):
    _, laptop, facilities, _ = setup
    moved, _, _ = lifecycle(setup)
    desk = ServiceRequest.objects.get(pk=moved.pk).service
    week = parse_period("2026-W48")

    def breakdowns():
        scores_compute(period=week, now=at(2, 10, 30))
        return {
            snapshot.department.slug: {
                name: {key: item["timeliness_n"] for key, item in snapshot.figures[name].items()}
                for name in ("by_service", "by_priority")
            }
            for snapshot in ScoreSnapshot.objects.filter(
                role="provider", period=week.key, counterpart=None
            ).select_related("department")
            if "by_service" in snapshot.figures
        }

    with time_machine.travel(at(2, 10, 30), tick=False):
        written = breakdowns()
        SLAClock.objects.update(**CORRUPTION)
        rebuild()
        rebuilt = breakdowns()

    assert rebuilt == written
    # IT answered `moved` as a laptop request raised to high, then handed it to Facilities,
    # which answered it as a desk request; `late` stayed IT's, normal, and breached both.
    assert written == {
        "it": {
            "by_service": {str(laptop.pk): 3},
            "by_priority": {"high": 1, "normal": 2},
        },
        "facilities": {
            "by_service": {str(desk.pk): 1},
            "by_priority": {"high": 1},
        },
    }
    assert desk.department == facilities


def test_it_changes_nothing_on_a_second_run_and_only_running_clocks_later(setup):
    moved, *_ = lifecycle(setup)
    # At the moment of the last action every cache is current: nothing to change, twice.
    with time_machine.travel(at(2, 10), tick=False):
        snapshot = rows()
        assert "Recomputed 6 clocks of 2 requests: 0 changed." in rebuild()
        assert "0 changed" in rebuild()

    # Two days on, only the reopened resolution clock of Facilities still runs: it alone moves.
    with time_machine.travel(at(4, 10), tick=False):
        output = rebuild()
    after = rows()
    assert "1 changed" in output
    running = SLAClock.objects.get(request=moved, is_current=True, kind="resolution")
    assert {pk for pk in after if after[pk] != snapshot[pk]} == {running.pk}
    # 3h before the reopen, then Wed 10-17, Thu 9-17 and Fri 9-10: 3 + 7 + 8 + 1 = 19h.
    assert running.used_seconds == 19 * HOUR
    assert running.state == ClockState.BREACHED
    assert running.breached_at == at(2, 11)  # 1h left of 4h at the reopen


def test_it_keeps_the_copied_targets_and_calendar_versions_when_those_change_later(setup):
    org, _, facilities, _ = setup
    lifecycle(setup)
    with time_machine.travel(at(2, 10, 30), tick=False):
        rebuild()
        snapshot = rows()
        SLATarget.objects.update(
            first_response=datetime.timedelta(minutes=10),
            resolution=datetime.timedelta(minutes=20),
        )
        for calendar in (org.provider.calendar, facilities.calendar):
            WorkingHours.objects.filter(calendar=calendar).delete()
            WorkingHours.objects.bulk_create(
                WorkingHours(
                    calendar=calendar,
                    weekday=day,
                    start=datetime.time(0, 0),
                    end=datetime.time(0, 0),
                )
                for day in range(7)
            )
            calendar_schedule_clear(calendar)
            # The change is real: a clock started now would get another calendar version.
            new_version = calendar_version_current(calendar=calendar)
            assert not SLAClock.objects.filter(calendar_version=new_version).exists()

        output = rebuild()

        assert rows() == snapshot
    assert "0 changed" in output


def test_it_rebuilds_only_the_given_requests(setup):
    moved, late, _ = lifecycle(setup)
    with time_machine.travel(at(2, 10, 30), tick=False):
        services.clocks_recompute(moved)
        snapshot = rows()
        SLAClock.objects.update(**CORRUPTION)

        output = rebuild("--request", str(late.pk))

        assert rows(request=late) == {
            pk: row for pk, row in snapshot.items() if row["request_id"] == late.pk
        }
        assert all(row["used_seconds"] == 424242 for row in rows(request=moved).values())
    assert "Recomputed 2 clocks of 1 requests: 2 changed." in output


def test_it_covers_every_request_across_batches(setup):
    org, laptop, *_ = setup
    with time_machine.travel(at(0, 9), tick=False):
        filed = [
            services.request_create(
                requester=org.requester, service=laptop, title=f"#{n}", description="x"
            )
            for n in range(5)
        ]
    with time_machine.travel(at(0, 12), tick=False):
        for request in filed:
            services.clocks_recompute(request)
        snapshot = rows()
        SLAClock.objects.update(**CORRUPTION)

        output = rebuild("--batch", "2")

        assert rows() == snapshot
    assert "Recomputed 10 clocks of 5 requests: 10 changed." in output


def test_it_refuses_an_unknown_request_and_a_bad_batch(setup):
    with pytest.raises(CommandError, match="No request with id 999999"):
        rebuild("--request", "999999")
    with pytest.raises(CommandError, match="--batch"):
        rebuild("--batch", "0")
