"""The SLA scanner: a warning at 75% and a breach at due, each notified once, whatever happens."""

import datetime
import io
import threading
import zoneinfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from departments.choices import Role
from requests_app import scanner, services
from requests_app.choices import ClockKind, ClockState, EventKind, NotificationKind, Status
from requests_app.models import Notification, RequestEvent, ServiceRequest, SLAClock
from requests_app.scanner import sla_clocks_scan
from tests.concurrency import at_once
from tests.factories import (
    DepartmentFactory,
    MembershipFactory,
    ServiceFactory,
    UserFactory,
)

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
SLA_KINDS = [NotificationKind.SLA_WARNING, NotificationKind.SLA_BREACHED]

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks and plans: PostgreSQL only"
)


def at(day, hour, minute=0, second=0):
    """Week of Monday 23 November 2026: day 0 = Monday."""
    return datetime.datetime(2026, 11, 23 + day, hour, minute, second, tzinfo=BERLIN)


# The story happens in the week of Monday 23 November 2026; the clock stands still a week
# later, so that what a test does without travelling comes after it, on any real date.
pytestmark = pytest.mark.clock(datetime.datetime(2026, 12, 1, 10, tzinfo=BERLIN))


@pytest.fixture
def agent2(org):
    user = UserFactory(username="agent2")
    MembershipFactory(user=user, department=org.provider, role=Role.AGENT)
    return user


def file(org, service, when=None, title="New laptop"):
    with time_machine.travel(when or at(0, 9), tick=False):
        return services.request_create(
            requester=org.requester, service=service, title=title, description="broken"
        )


def scan(when):
    with time_machine.travel(when, tick=False):
        return sla_clocks_scan()


def sla_notifications(kind=None):
    """(username, kind, clock kind) of every SLA notification."""
    rows = Notification.objects.filter(kind__in=[kind] if kind else SLA_KINDS)
    return sorted(
        (n.user.username, n.kind, n.dedupe_key.split(":")[0]) for n in rows.select_related("user")
    )


def recipients(kind):
    return sorted(Notification.objects.filter(kind=kind).values_list("user__username", flat=True))


def sla_events():
    return sorted(
        (e.kind, e.data["clock"])
        for e in RequestEvent.objects.filter(
            kind__in=[EventKind.SLA_WARNING, EventKind.SLA_BREACHED]
        )
    )


def clock(request, kind):
    return SLAClock.objects.get(request=request, kind=kind, is_current=True)


def test_it_warns_the_assignee_once_at_75_percent(org, service, agent2):
    request = file(org, service)
    services.request_assign(request=request, actor=org.provider_manager, assignee=agent2)

    assert scan(at(0, 10, 29)) == {"warned": 0, "breached": 0, "escalated": 0}
    assert scan(at(0, 10, 31)) == {"warned": 1, "breached": 0, "escalated": 0}
    assert scan(at(0, 10, 40)) == {"warned": 0, "breached": 0, "escalated": 0}

    assert recipients(NotificationKind.SLA_WARNING) == ["agent2"]
    assert sla_events() == [(EventKind.SLA_WARNING, ClockKind.FIRST_RESPONSE)]
    event = RequestEvent.objects.get(kind=EventKind.SLA_WARNING)
    assert event.internal
    assert event.created_at == at(0, 10, 31)
    assert clock(request, ClockKind.FIRST_RESPONSE).warning_notified_at == at(0, 10, 31)


def test_it_warns_the_agents_when_nobody_is_assigned(org, service, agent2):
    file(org, service)
    scan(at(0, 10, 31))
    assert recipients(NotificationKind.SLA_WARNING) == ["agent", "agent2"]


def test_it_reports_a_breach_once_to_the_assignee_and_the_managers(org, service, agent2):
    request = file(org, service)
    services.request_assign(request=request, actor=org.provider_manager, assignee=agent2)
    scan(at(0, 10, 31))

    assert scan(at(0, 11, 1)) == {"warned": 0, "breached": 1, "escalated": 0}
    assert scan(at(0, 11, 1)) == {"warned": 0, "breached": 0, "escalated": 0}
    assert scan(at(0, 12)) == {"warned": 0, "breached": 0, "escalated": 0}

    assert recipients(NotificationKind.SLA_BREACHED) == ["agent2", "provider_manager"]
    assert sla_events() == [
        (EventKind.SLA_BREACHED, ClockKind.FIRST_RESPONSE),
        (EventKind.SLA_WARNING, ClockKind.FIRST_RESPONSE),
    ]
    first_response = clock(request, ClockKind.FIRST_RESPONSE)
    assert first_response.state == ClockState.BREACHED
    assert first_response.breached_at == at(0, 11)
    assert first_response.breach_notified_at == at(0, 11, 1)


def test_it_sends_no_late_warning_with_a_breach(org, service, agent2):
    file(org, service)
    assert scan(at(0, 11, 30)) == {"warned": 0, "breached": 1, "escalated": 0}
    assert scan(at(0, 11, 31)) == {"warned": 0, "breached": 0, "escalated": 0}
    assert recipients(NotificationKind.SLA_WARNING) == []
    assert sla_events() == [(EventKind.SLA_BREACHED, ClockKind.FIRST_RESPONSE)]


def test_it_notifies_whom_the_settings_name(org, service, agent2, settings):
    settings.SLA_NOTIFY = {"warning": ["agents"], "breach": ["managers"]}
    request = file(org, service)
    services.request_assign(request=request, actor=org.provider_manager, assignee=agent2)
    scan(at(0, 10, 31))
    scan(at(0, 11, 1))
    assert recipients(NotificationKind.SLA_WARNING) == ["agent", "agent2"]
    assert recipients(NotificationKind.SLA_BREACHED) == ["provider_manager"]


def test_it_does_not_breach_a_paused_clock(org, service):
    request = file(org, service)
    with time_machine.travel(at(0, 9, 5), tick=False):
        services.request_acknowledge(request=request, actor=org.agent)
    with time_machine.travel(at(0, 9, 10), tick=False):
        services.request_transition(request=request, actor=org.agent, action="wait")

    assert scan(at(4, 16)) == {"warned": 0, "breached": 0, "escalated": 0}

    resolution = clock(request, ClockKind.RESOLUTION)
    assert resolution.state == ClockState.PAUSED
    assert resolution.breach_notified_at is None
    assert sla_notifications() == []
    assert sla_events() == []


def test_it_never_notifies_a_met_clock(org, service):
    request = file(org, service)
    assert scan(at(0, 10, 31)) == {"warned": 1, "breached": 0, "escalated": 0}
    with time_machine.travel(at(0, 10, 45), tick=False):
        services.request_acknowledge(request=request, actor=org.agent)
    with time_machine.travel(at(0, 12), tick=False):
        services.request_transition(request=request, actor=org.agent, action="resolve")

    assert scan(at(0, 11, 30)) == {"warned": 0, "breached": 0, "escalated": 0}
    assert scan(at(2, 9)) == {"warned": 0, "breached": 0, "escalated": 0}

    assert sla_notifications() == [("agent", NotificationKind.SLA_WARNING, "warning")]
    assert {c.state for c in SLAClock.objects.filter(request=request)} == {ClockState.MET}


# What a scan may change on a clock it tells of: its marks, and the moment it was computed.
SCAN_MARKS = {"warning_notified_at", "breach_notified_at", "computed_at"}


def figures(sla_clock):
    """Every field of the clock but the scanner's marks: what the scores read."""
    sla_clock.refresh_from_db()
    return {
        field.attname: getattr(sla_clock, field.attname)
        for field in SLAClock._meta.concrete_fields
        if field.attname not in SCAN_MARKS
    }


def resolve(request, actor, when):
    with time_machine.travel(when, tick=False):
        services.request_transition(request=request, actor=actor, action="resolve")


def test_it_reports_a_clock_resolved_late_between_two_scans_at_the_next(org, service, agent2):
    request = file(org, service)
    services.request_assign(request=request, actor=org.provider_manager, assignee=agent2)
    with time_machine.travel(at(0, 9, 5), tick=False):
        services.request_acknowledge(request=request, actor=agent2)
    assert scan(at(0, 16, 59)) == {"warned": 1, "breached": 0, "escalated": 0}  # resolution at 75%
    resolve(request, agent2, at(0, 17, 0, 30))  # due 17:00: late by half a minute
    resolution = clock(request, ClockKind.RESOLUTION)
    before = figures(resolution)
    assert before["state"] == ClockState.BREACHED
    assert before["breached_at"] == at(0, 17)

    assert scan(at(0, 17, 1)) == {"warned": 0, "breached": 1, "escalated": 0}
    assert scan(at(0, 17, 2)) == {"warned": 0, "breached": 0, "escalated": 0}
    assert scan(at(1, 9)) == {"warned": 0, "breached": 0, "escalated": 0}

    assert recipients(NotificationKind.SLA_BREACHED) == ["agent2", "provider_manager"]
    assert sla_events() == [
        (EventKind.SLA_BREACHED, ClockKind.RESOLUTION),
        (EventKind.SLA_WARNING, ClockKind.RESOLUTION),
    ]
    breach = RequestEvent.objects.get(kind=EventKind.SLA_BREACHED)
    assert breach.created_at == at(0, 17, 1)
    assert breach.data["clock"] == ClockKind.RESOLUTION
    assert datetime.datetime.fromisoformat(breach.data["due_at"]) == at(0, 17)
    # Told, and otherwise as the resolution left it: the scores read the same clock.
    assert figures(resolution) == before
    assert resolution.breach_notified_at == at(0, 17, 1)


def test_it_reports_a_late_answer_as_a_breach_without_a_late_warning(org, service):
    request = file(org, service)
    with time_machine.travel(at(0, 11, 0, 30), tick=False):  # due 11:00, never scanned
        services.request_acknowledge(request=request, actor=org.agent)

    assert scan(at(0, 11, 1)) == {"warned": 0, "breached": 1, "escalated": 0}
    assert scan(at(0, 11, 2)) == {"warned": 0, "breached": 0, "escalated": 0}

    assert sla_notifications() == [
        ("agent", NotificationKind.SLA_BREACHED, "breach"),
        ("provider_manager", NotificationKind.SLA_BREACHED, "breach"),
    ]
    assert sla_events() == [(EventKind.SLA_BREACHED, ClockKind.FIRST_RESPONSE)]
    first_response = clock(request, ClockKind.FIRST_RESPONSE)
    assert first_response.state == ClockState.BREACHED
    assert first_response.warning_notified_at == first_response.breach_notified_at


def test_it_catches_up_on_late_completions_within_the_lookback(org, service):
    request = file(org, service)
    resolve(request, org.agent, at(0, 17, 10))  # both clocks late; the scanner was down

    # the lookback is a day
    assert scan(at(1, 17, 9)) == {"warned": 0, "breached": 2, "escalated": 0}

    assert sla_events() == [
        (EventKind.SLA_BREACHED, ClockKind.FIRST_RESPONSE),
        (EventKind.SLA_BREACHED, ClockKind.RESOLUTION),
    ]


def test_it_leaves_alone_a_late_completion_older_than_the_lookback(org, service):
    request = file(org, service)
    resolve(request, org.agent, at(0, 17, 10))
    before = [figures(c) for c in SLAClock.objects.filter(request=request)]

    # a day and a minute later
    assert scan(at(1, 17, 11)) == {"warned": 0, "breached": 0, "escalated": 0}
    assert scan(at(2, 9)) == {"warned": 0, "breached": 0, "escalated": 0}

    assert sla_notifications() == []
    assert sla_events() == []
    assert [figures(c) for c in SLAClock.objects.filter(request=request)] == before
    assert {c.breach_notified_at for c in SLAClock.objects.filter(request=request)} == {None}


def test_it_sends_no_warning_for_a_clock_completed_before_the_scan(org, service):
    request = file(org, service)
    with time_machine.travel(at(0, 10, 45), tick=False):  # past 75% (10:30), not due (11:00)
        services.request_acknowledge(request=request, actor=org.agent)

    assert scan(at(0, 10, 46)) == {"warned": 0, "breached": 0, "escalated": 0}
    assert scan(at(0, 11, 30)) == {"warned": 0, "breached": 0, "escalated": 0}

    assert sla_notifications(NotificationKind.SLA_WARNING) == []
    first_response = clock(request, ClockKind.FIRST_RESPONSE)
    assert first_response.state == ClockState.MET
    assert first_response.warning_notified_at is None


def test_it_does_not_report_again_a_breach_told_before_the_late_completion(org, service):
    request = file(org, service)
    # first response, running
    assert scan(at(0, 11, 1)) == {"warned": 0, "breached": 1, "escalated": 0}
    with time_machine.travel(at(0, 11, 30), tick=False):
        services.request_acknowledge(request=request, actor=org.agent)

    assert scan(at(0, 11, 31)) == {"warned": 0, "breached": 0, "escalated": 0}

    assert sla_events() == [(EventKind.SLA_BREACHED, ClockKind.FIRST_RESPONSE)]
    assert clock(request, ClockKind.FIRST_RESPONSE).breach_notified_at == at(0, 11, 1)


def test_it_leaves_the_clocks_of_a_transferred_request_to_the_new_department(org, service):
    facilities = DepartmentFactory(name="Facilities", slug="facilities", code="FAC")
    ServiceFactory(department=facilities, name="Desk")
    fac_agent = UserFactory(username="fac_agent")
    MembershipFactory(user=fac_agent, department=facilities, role=Role.AGENT)
    request = file(org, service)
    with time_machine.travel(at(0, 10, 50), tick=False):
        services.request_transfer(request=request, actor=org.agent, department=facilities)

    # IT's first-response clock would have been due at 11:00; it stopped at 10:50.
    scan(at(0, 11, 30))

    retired = SLAClock.objects.filter(request=request, is_current=False)
    assert {c.breach_notified_at for c in retired} == {None}
    assert "agent" not in recipients(NotificationKind.SLA_BREACHED)


def test_it_does_not_notify_twice_after_a_crash_between_notifying_and_marking(org, service):
    request = file(org, service)
    first_response = clock(request, ClockKind.FIRST_RESPONSE)
    # A scanner died after its notification was written but before the clock was marked.
    Notification.objects.create(
        user=org.agent,
        request=request,
        kind=NotificationKind.SLA_BREACHED,
        message="breached",
        dedupe_key=f"breach:{first_response.pk}",
        created_at=at(0, 11, 1),
    )

    assert scan(at(0, 11, 2)) == {"warned": 0, "breached": 1, "escalated": 0}
    assert scan(at(0, 11, 3)) == {"warned": 0, "breached": 0, "escalated": 0}

    assert recipients(NotificationKind.SLA_BREACHED) == ["agent", "provider_manager"]
    assert clock(request, ClockKind.FIRST_RESPONSE).breach_notified_at == at(0, 11, 2)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_it_notifies_each_clock_once_with_two_scanners_at_once(org, service):
    requests = [file(org, service, title=f"#{n}") for n in range(15)]
    # A third of them were answered late with no scan in between: completed, breached, untold.
    for request in requests[::3]:
        with time_machine.travel(at(0, 11, 0, 30), tick=False):
            services.request_acknowledge(request=request, actor=org.agent)
    # Both clocks of every request are past due. (Not Monday 17:30: the resolution clock is
    # due at 17:00, the end of the working day, and is only breached at Tuesday 09:00:01.)
    now = at(1, 9, 30)
    results = at_once(lambda: sla_clocks_scan(now=now))

    assert sum(result["breached"] for result in results) == 2 * len(requests)
    events = RequestEvent.objects.filter(kind=EventKind.SLA_BREACHED)
    assert events.count() == 2 * len(requests)
    assert len({(e.request_id, e.data["clock"]) for e in events}) == 2 * len(requests)
    for sla_clock in SLAClock.objects.all():
        assert sla_clock.breach_notified_at == now
        assert sorted(
            Notification.objects.filter(dedupe_key=f"breach:{sla_clock.pk}").values_list(
                "user__username", flat=True
            )
        ) == ["agent", "provider_manager"]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_it_does_not_deadlock_with_an_action_on_the_same_request(org, service, monkeypatch):
    """The action locks the request and waits for a clock; the scanner holds that clock and
    writes an event about the request. Both must finish."""
    request = file(org, service)
    first_response = clock(request, ClockKind.FIRST_RESPONSE)
    action_locked, scanner_locked = threading.Event(), threading.Event()

    after_change = services._after_change

    def after_change_once_the_scanner_holds_the_clock(request, *, now):
        action_locked.set()
        scanner_locked.wait(5)
        return after_change(request, now=now)

    clock_refresh = scanner.clock_refresh

    def clock_refresh_signalling(*args, **kwargs):
        scanner_locked.set()  # called with the clock's row lock held
        return clock_refresh(*args, **kwargs)

    monkeypatch.setattr(services, "_after_change", after_change_once_the_scanner_holds_the_clock)
    monkeypatch.setattr(scanner, "clock_refresh", clock_refresh_signalling)
    errors = []

    def act():
        try:
            services.request_transition(
                request=request, actor=org.agent, action="start", now=at(0, 11, 30)
            )
        except Exception as exc:
            errors.append(("action", exc))
        finally:
            connections.close_all()

    def scan_it():
        try:
            action_locked.wait(5)
            scanner._scan_batch([first_response.pk], at(0, 11, 30), scanner._Staff())
        except Exception as exc:
            errors.append(("scanner", exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=act), threading.Thread(target=scan_it)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    assert clock(request, ClockKind.FIRST_RESPONSE).breach_notified_at == at(0, 11, 30)


@postgresql_only
def test_it_finds_candidates_through_the_partial_indexes(org, service):
    filed = [file(org, service, title=f"#{n}") for n in range(3)]
    # A table shaped like production's, so that the planner weighs each index by what it
    # holds: mostly settled history (met, or late and told), and a backlog of running clocks
    # not yet due, which the breach index holds and the late one does not.
    settled = {"state": ClockState.MET, "completed_at": at(0, 12), "due_at": at(0, 17)}
    late = {**settled, "state": ClockState.BREACHED, "breach_notified_at": at(0, 17, 1)}
    backlog = {"state": ClockState.RUNNING, "warn_at": at(3, 15), "due_at": at(3, 17)}
    row = {f.attname: getattr(filed[0], f.attname) for f in ServiceRequest._meta.concrete_fields}
    del row["id"]
    copies = ServiceRequest.objects.bulk_create(ServiceRequest(**row) for _ in range(1500))
    template = clock(filed[0], ClockKind.RESOLUTION)
    SLAClock.objects.bulk_create(
        SLAClock(
            request=copies[n // 2],
            kind=ClockKind.values[n % 2],
            department_id=template.department_id,
            service_id=template.service_id,
            priority=template.priority,
            calendar_version_id=template.calendar_version_id,
            target_seconds=template.target_seconds,
            started_at=template.started_at,
            **(backlog if n % 3 == 0 else late if n % 10 == 1 else settled),
        )
        for n in range(2 * len(copies))
    )
    with CaptureQueriesContext(connection) as queries:
        scanner._due_clock_ids(at(0, 17, 30), 1000)
    [candidates] = queries.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE requests_app_slaclock")
        cursor.execute("EXPLAIN " + candidates["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "clock_warn_scan_idx" in plan, plan
    assert "clock_open_breach_scan_idx" in plan, plan
    assert "clock_late_scan_idx" in plan, plan
    assert "clock_stopped_scan_idx" in plan, plan
    assert "clock_escalation_scan_idx" in plan, plan


# --- a clock that fell due, then stopped before the next scan --------------------------------


@pytest.fixture
def facilities():
    department = DepartmentFactory(name="Facilities", slug="facilities", code="FAC")
    ServiceFactory(department=department, name="Desk")
    MembershipFactory(
        user=UserFactory(username="fac_agent"), department=department, role=Role.AGENT
    )
    MembershipFactory(
        user=UserFactory(username="fac_manager"), department=department, role=Role.MANAGER
    )
    return department


def transfer(request, actor, department, when):
    with time_machine.travel(when, tick=False):
        services.request_transfer(request=request, actor=actor, department=department)


def breaches():
    """(username, clock kind, reference, clock's department slug) of every breach notice."""
    clocks = {c.pk: c for c in SLAClock.objects.select_related("department")}
    rows = []
    for n in Notification.objects.filter(kind=NotificationKind.SLA_BREACHED).select_related("user"):
        told = clocks[int(n.dedupe_key.split(":")[1])]
        rows.append((n.user.username, told.kind, n.message.split(":")[0], told.department.slug))
    return sorted(rows)


def test_it_tells_the_old_department_of_a_breach_transferred_away_before_the_scan(
    org, service, agent2, facilities
):
    request = file(org, service)
    services.request_assign(
        request=request, actor=org.provider_manager, assignee=agent2, now=at(0, 9, 1)
    )
    # First response due 11:00; no scan ran since 10:59; IT hands it on at 11:10.
    assert scan(at(0, 10, 59)) == {"warned": 1, "breached": 0, "escalated": 0}
    transfer(request, agent2, facilities, at(0, 11, 10))
    retired = SLAClock.objects.get(request=request, kind=ClockKind.FIRST_RESPONSE, is_current=False)
    assert retired.state == ClockState.BREACHED
    assert retired.stopped_at == at(0, 11, 10)
    before = figures(retired)

    assert scan(at(0, 11, 11)) == {"warned": 0, "breached": 1, "escalated": 0}
    assert scan(at(0, 11, 12)) == {"warned": 0, "breached": 0, "escalated": 0}
    assert scan(at(1, 9)) == {"warned": 0, "breached": 0, "escalated": 0}

    # IT's assignee when it let go and IT's managers; nobody at Facilities, which holds it.
    assert breaches() == [
        ("agent2", ClockKind.FIRST_RESPONSE, request.reference, "it"),
        ("provider_manager", ClockKind.FIRST_RESPONSE, request.reference, "it"),
    ]
    breach = RequestEvent.objects.get(kind=EventKind.SLA_BREACHED)
    assert breach.department_id == org.provider.pk
    assert breach.data["clock"] == ClockKind.FIRST_RESPONSE
    assert figures(retired) == before
    retired.refresh_from_db()
    assert retired.breach_notified_at == at(0, 11, 11)
    assert not retired.is_current
    # A rebuild writes the same stop and keeps the mark: nothing to tell again.
    with time_machine.travel(at(0, 11, 20), tick=False):
        call_command("rebuild_clocks", stdout=io.StringIO())
    retired.refresh_from_db()
    assert (retired.stopped_at, retired.breach_notified_at) == (at(0, 11, 10), at(0, 11, 11))
    assert scan(at(0, 11, 21)) == {"warned": 0, "breached": 0, "escalated": 0}


def test_it_tells_the_old_departments_agents_when_nobody_had_it(org, service, facilities):
    request = file(org, service)
    transfer(request, org.agent, facilities, at(0, 11, 10))

    assert scan(at(0, 11, 11)) == {"warned": 0, "breached": 1, "escalated": 0}

    assert [(user, slug) for user, _kind, _ref, slug in breaches()] == [
        ("agent", "it"),
        ("provider_manager", "it"),
    ]


def test_it_tells_the_agents_instead_of_a_former_assignee_who_left_the_department(
    org, service, agent2, facilities
):
    request = file(org, service)
    services.request_assign(
        request=request, actor=org.provider_manager, assignee=agent2, now=at(0, 9, 1)
    )
    transfer(request, agent2, facilities, at(0, 11, 10))
    agent2.memberships.all().delete()

    assert scan(at(0, 11, 11)) == {"warned": 0, "breached": 1, "escalated": 0}

    assert recipients(NotificationKind.SLA_BREACHED) == ["agent", "provider_manager"]


def test_it_tells_a_breach_cancelled_before_the_scan_once(org, service):
    request = file(org, service)
    with time_machine.travel(at(0, 11, 10), tick=False):
        services.request_transition(request=request, actor=org.requester, action="cancel")
    first_response = clock(request, ClockKind.FIRST_RESPONSE)
    assert first_response.state == ClockState.BREACHED
    assert first_response.stopped_at == at(0, 11, 10)

    assert scan(at(0, 11, 11)) == {"warned": 0, "breached": 1, "escalated": 0}
    assert scan(at(0, 11, 12)) == {"warned": 0, "breached": 0, "escalated": 0}

    assert recipients(NotificationKind.SLA_BREACHED) == ["agent", "provider_manager"]
    assert sla_events() == [(EventKind.SLA_BREACHED, ClockKind.FIRST_RESPONSE)]


def test_it_tells_a_breach_declined_before_the_scan_once(org, service):
    request = file(org, service)
    with time_machine.travel(at(0, 11, 10), tick=False):  # the decline answers, late
        services.request_transition(
            request=request, actor=org.agent, action="decline", comment="Not ours."
        )

    assert scan(at(0, 11, 11)) == {"warned": 0, "breached": 1, "escalated": 0}
    assert scan(at(0, 11, 12)) == {"warned": 0, "breached": 0, "escalated": 0}

    assert sla_events() == [(EventKind.SLA_BREACHED, ClockKind.FIRST_RESPONSE)]
    assert recipients(NotificationKind.SLA_BREACHED) == ["agent", "provider_manager"]


def test_it_does_not_tell_a_clock_stopped_before_it_fell_due(org, service, facilities):
    transferred, cancelled = file(org, service), file(org, service, title="Chair")
    transfer(transferred, org.agent, facilities, at(0, 10, 50))
    with time_machine.travel(at(0, 10, 50), tick=False):
        services.request_transition(request=cancelled, actor=org.requester, action="cancel")

    scan(at(0, 11, 30))
    scan(at(1, 9, 30))

    assert "it" not in {slug for *_, slug in breaches()}
    stopped = SLAClock.objects.filter(department=org.provider)
    assert {c.state for c in stopped} == {ClockState.STOPPED}


def test_it_leaves_alone_a_breach_stopped_before_the_lookback(org, service, facilities):
    transferred, cancelled = file(org, service), file(org, service, title="Chair")
    transfer(transferred, org.agent, facilities, at(0, 11, 10))
    with time_machine.travel(at(0, 11, 10), tick=False):
        services.request_transition(request=cancelled, actor=org.requester, action="cancel")

    scan(at(1, 11, 11))  # a day and a minute later

    assert "it" not in {slug for *_, slug in breaches()}
    assert {c.breach_notified_at for c in SLAClock.objects.filter(department=org.provider)} == {
        None
    }


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_it_tells_each_stopped_breach_once_with_two_scanners_at_once(org, service, facilities):
    requests = [file(org, service, title=f"#{n}") for n in range(10)]
    for request in requests[::2]:
        transfer(request, org.agent, facilities, at(0, 11, 10))
    for request in requests[1::2]:
        with time_machine.travel(at(0, 11, 10), tick=False):
            services.request_transition(request=request, actor=org.requester, action="cancel")
    now = at(0, 11, 11)
    results = at_once(lambda: sla_clocks_scan(now=now))

    assert sum(result["breached"] for result in results) == len(requests)
    assert RequestEvent.objects.filter(kind=EventKind.SLA_BREACHED).count() == len(requests)
    assert Notification.objects.filter(kind=NotificationKind.SLA_BREACHED).count() == 2 * len(
        requests
    )
