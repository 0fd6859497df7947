"""Escalation levels: each fires once per clock, in order, whatever the scans, pauses,
priority changes, crashes or rebuilds; without levels the default warning stays."""

import datetime
import io
import zoneinfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from departments.choices import Priority, Role
from requests_app import notifications, scanner, services
from requests_app.choices import ClockKind, EventKind, NotificationKind, Status
from requests_app.clocks import clock_refresh
from requests_app.escalation import escalation_plan
from requests_app.models import Notification, RequestEvent, SLAClock
from requests_app.scanner import sla_clocks_scan
from requests_app.templatetags.request_extras import event_sentence
from tests.concurrency import at_once
from tests.factories import (
    DepartmentFactory,
    EscalationLevelFactory,
    MembershipFactory,
    ServiceFactory,
    SLATargetFactory,
    UserFactory,
)

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
HOUR = 3600

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks: PostgreSQL only"
)


def at(day, hour, minute=0):
    """Week of Monday 23 November 2026: day 0 = Monday."""
    return datetime.datetime(2026, 11, 23 + day, hour, minute, tzinfo=BERLIN)


pytestmark = pytest.mark.clock(datetime.datetime(2026, 12, 1, 10, tzinfo=BERLIN))


@pytest.fixture
def agent2(org):
    user = UserFactory(username="agent2")
    MembershipFactory(user=user, department=org.provider, role=Role.AGENT)
    return user


@pytest.fixture
def levels(org):
    """IT's levels: at 50% tell the assignee, at 75% its managers, an hour past due the
    customer's managers. For a request filed Monday 9:00 (first response 2h, resolution 8h)
    the first-response clock's levels are due 10:00, 10:30 and 12:00."""
    return [
        EscalationLevelFactory(department=org.provider, number=1, value=50, notify=["assignee"]),
        EscalationLevelFactory(department=org.provider, number=2, value=75, notify=["managers"]),
        EscalationLevelFactory(
            department=org.provider,
            number=3,
            threshold="overdue",
            value=HOUR,
            notify=["customer_managers"],
        ),
    ]


def file(org, service, when=None):
    with time_machine.travel(when or at(0, 9), tick=False):
        return services.request_create(
            requester=org.requester, service=service, title="New laptop", description="broken"
        )


def scan(when):
    with time_machine.travel(when, tick=False):
        return sla_clocks_scan()


def clock(request, kind=ClockKind.FIRST_RESPONSE):
    return SLAClock.objects.get(request=request, kind=kind, is_current=True)


def timeline(request):
    """(kind, clock, level number) of the request's SLA events, in the order written."""
    return [
        (e.kind, e.data["clock"], e.data.get("number"))
        for e in request.events.filter(
            kind__in=[EventKind.ESCALATED, EventKind.SLA_WARNING, EventKind.SLA_BREACHED]
        ).order_by("pk")
    ]


def escalation_notices():
    return sorted(
        (n.user.username, n.dedupe_key.rsplit(":", 1)[1])
        for n in Notification.objects.filter(kind=NotificationKind.ESCALATED).select_related("user")
    )


def test_it_fires_each_level_once_in_order_instead_of_the_default_warning(
    org, service, levels, agent2
):
    request = file(org, service)
    services.request_assign(request=request, actor=org.provider_manager, assignee=agent2)
    first_response = clock(request)
    assert first_response.next_escalation_at == at(0, 10)

    assert scan(at(0, 9, 59))["escalated"] == 0
    assert scan(at(0, 10, 1))["escalated"] == 1
    assert scan(at(0, 10, 2))["escalated"] == 0
    assert scan(at(0, 10, 31)) == {"warned": 0, "breached": 0, "escalated": 1}
    assert scan(at(0, 11, 30)) == {"warned": 0, "breached": 1, "escalated": 0}
    assert scan(at(0, 12, 1)) == {"warned": 0, "breached": 0, "escalated": 1}
    assert scan(at(0, 12, 2))["escalated"] == 0

    assert timeline(request) == [
        (EventKind.ESCALATED, ClockKind.FIRST_RESPONSE, 1),
        (EventKind.ESCALATED, ClockKind.FIRST_RESPONSE, 2),
        (EventKind.SLA_BREACHED, ClockKind.FIRST_RESPONSE, None),
        (EventKind.ESCALATED, ClockKind.FIRST_RESPONSE, 3),
    ]
    assert escalation_notices() == [
        ("agent2", "1"),
        ("customer_manager", "3"),
        ("provider_manager", "2"),
    ]
    assert not Notification.objects.filter(kind=NotificationKind.SLA_WARNING).exists()
    first_response.refresh_from_db()
    assert first_response.escalation_level == 3
    assert first_response.next_escalation_at is None
    # The breach is told as before.
    assert sorted(
        Notification.objects.filter(kind=NotificationKind.SLA_BREACHED).values_list(
            "user__username", flat=True
        )
    ) == ["agent2", "provider_manager"]


def test_it_fires_every_due_level_in_one_scan_in_order(org, service, levels):
    request = file(org, service)

    assert scan(at(0, 12, 30)) == {"warned": 0, "breached": 1, "escalated": 3}

    assert timeline(request) == [
        (EventKind.ESCALATED, ClockKind.FIRST_RESPONSE, 1),
        (EventKind.ESCALATED, ClockKind.FIRST_RESPONSE, 2),
        (EventKind.SLA_BREACHED, ClockKind.FIRST_RESPONSE, None),
        (EventKind.ESCALATED, ClockKind.FIRST_RESPONSE, 3),
    ]
    event = request.events.filter(kind=EventKind.ESCALATED).order_by("pk").last()
    assert event.internal
    assert str(event_sentence(event)) == (
        "Escalated: first response, level 3 (1 business hour overdue); "
        "notified the customer department&#x27;s managers"
    )


def test_it_keeps_the_default_warning_without_levels(org, service):
    request = file(org, service)
    assert clock(request).escalation_levels == []
    assert clock(request).next_escalation_at is None

    assert scan(at(0, 10, 31)) == {"warned": 1, "breached": 0, "escalated": 0}


def test_it_follows_the_levels_the_clock_started_with(org, service, levels):
    request = file(org, service)
    for level in levels:
        level.delete()
    EscalationLevelFactory(department=org.provider, number=1, value=10, notify=["agents"])

    assert scan(at(0, 10, 1))["escalated"] == 1
    assert escalation_notices() == [("agent", "1")]  # the old level 1: the assignee or agents
    assert clock(request).escalation_levels[0]["value"] == 50


def test_it_never_fires_a_level_twice_across_a_pause_and_a_resume(org, service):
    EscalationLevelFactory(department=org.provider, number=1, clock="resolution", value=50)
    EscalationLevelFactory(department=org.provider, number=2, clock="resolution", value=75)
    request = file(org, service)
    services.request_transition(request=request, actor=org.agent, action="start", now=at(0, 9, 5))

    assert scan(at(0, 13, 1))["escalated"] == 1  # 4 of 8 business hours
    services.request_transition(request=request, actor=org.agent, action="wait", now=at(0, 14))
    resolution = clock(request, ClockKind.RESOLUTION)
    assert resolution.next_escalation_at is None  # paused short of 75%
    assert scan(at(0, 16))["escalated"] == 0
    services.request_transition(request=request, actor=org.requester, action="resume", now=at(1, 9))
    resolution = clock(request, ClockKind.RESOLUTION)
    # 5 hours used: level 2 at 6 is an hour on; level 1 stays fired.
    assert (resolution.escalation_level, resolution.next_escalation_at) == (1, at(1, 10))
    assert scan(at(1, 9, 30))["escalated"] == 0
    assert scan(at(1, 10, 1))["escalated"] == 1
    assert scan(at(1, 12))["escalated"] == 0

    assert [n for kind, _, n in timeline(request) if kind == EventKind.ESCALATED] == [1, 2]


def test_it_fires_no_level_once_the_clock_is_met(org, service, levels):
    request = file(org, service)
    services.request_acknowledge(request=request, actor=org.agent, now=at(0, 9, 50))

    assert clock(request).next_escalation_at is None
    assert scan(at(0, 12, 30))["escalated"] == 0


@pytest.fixture
def facilities(org):
    """Facilities: its own targets (2 and 8 business hours) and one level, at 50% of the
    first-response target, to the assignee (none: its agents) and its managers."""
    department = DepartmentFactory(name="Facilities", slug="facilities", code="FAC")
    ServiceFactory(department=department, name="Desk")
    SLATargetFactory(
        department=department,
        priority=Priority.NORMAL,
        first_response=datetime.timedelta(hours=2),
        resolution=datetime.timedelta(hours=8),
    )
    EscalationLevelFactory(
        department=department, number=1, clock="first_response", notify=["assignee", "managers"]
    )
    for username, role in (("fac_agent", Role.AGENT), ("fac_manager", Role.MANAGER)):
        MembershipFactory(user=UserFactory(username=username), department=department, role=role)
    return department


def transfer(request, actor, department, when):
    with time_machine.travel(when, tick=False):
        services.request_transfer(request=request, actor=actor, department=department)


def retired(request, kind=ClockKind.FIRST_RESPONSE):
    return SLAClock.objects.get(request=request, kind=kind, is_current=False)


def test_it_fires_no_level_of_a_clock_transferred_away_and_tells_its_breach_once(
    org, service, levels, agent2, facilities
):
    request = file(org, service)
    services.request_assign(
        request=request, actor=org.provider_manager, assignee=agent2, now=at(0, 9, 1)
    )
    assert scan(at(0, 10, 1))["escalated"] == 1  # IT's level 1 (10:00)
    # IT's level 2 (10:30) and its due time (11:00) pass unscanned; IT hands it on at 11:10.
    transfer(request, agent2, facilities, at(0, 11, 10))
    old = retired(request)
    assert (old.state, old.escalation_level, old.next_escalation_at) == ("breached", 1, None)

    assert scan(at(0, 11, 11)) == {"warned": 0, "breached": 1, "escalated": 0}
    assert scan(at(1, 12))["escalated"] == 1  # Facilities' own level, on its own clock

    it_events = [
        (kind, number)
        for kind, clock_kind, number in timeline(request)
        if clock_kind == ClockKind.FIRST_RESPONSE
    ]
    assert it_events[:2] == [(EventKind.ESCALATED, 1), (EventKind.SLA_BREACHED, None)]
    old.refresh_from_db()
    assert (old.escalation_level, old.next_escalation_at) == (1, None)
    # IT's level 1 to its assignee; Facilities' to its agents (nobody assigned) and managers.
    assert escalation_notices() == [("agent2", "1"), ("fac_agent", "1"), ("fac_manager", "1")]
    breach_told = Notification.objects.filter(
        kind=NotificationKind.SLA_BREACHED, dedupe_key=f"breach:{old.pk}"
    )
    assert sorted(breach_told.values_list("user__username", flat=True)) == [
        "agent2",
        "provider_manager",
    ]


def test_its_query_takes_no_retired_clock_for_a_level(org, service, levels, facilities):
    moved, kept = file(org, service), file(org, service)
    transfer(moved, org.agent, facilities, at(0, 9, 30))  # before IT's first level (10:00)
    old = retired(moved)
    assert (old.state, old.next_escalation_at) == ("stopped", None)
    # Even with a level's time left on it (written before this rule, or by hand), the
    # escalation branch of the query asks current clocks only.
    SLAClock.objects.filter(pk=old.pk).update(next_escalation_at=at(0, 10))

    candidates = scanner._due_clock_ids(at(0, 10, 1), 100)

    assert clock(kept).pk in candidates
    assert old.pk not in candidates
    assert scan(at(0, 10, 1))["escalated"] == 1  # the kept request's level 1 only
    with time_machine.travel(at(0, 10, 2), tick=False):
        call_command("rebuild_clocks", stdout=io.StringIO())
    old.refresh_from_db()
    assert (old.escalation_level, old.next_escalation_at) == (0, None)


def test_a_retired_clock_follows_no_levels_even_unstopped(org, service, levels):
    request = file(org, service)
    first_response = clock(request)
    events = list(request.events.order_by("created_at", "id"))

    clock_refresh(first_response, events, at(0, 9, 30))
    assert first_response.next_escalation_at == at(0, 10)
    first_response.is_current = False
    clock_refresh(first_response, events, at(0, 9, 30))
    assert first_response.next_escalation_at is None


def test_it_raises_the_priority_once_and_goes_on_from_the_new_target(org, service):
    SLATargetFactory(
        department=org.provider,
        priority=Priority.HIGH,
        first_response=datetime.timedelta(hours=1),
        resolution=datetime.timedelta(hours=6),
    )
    EscalationLevelFactory(
        department=org.provider,
        number=1,
        clock="resolution",
        value=50,
        notify=[],
        action="raise_priority",
        raise_to=Priority.HIGH,
    )
    EscalationLevelFactory(
        department=org.provider, number=2, clock="resolution", value=75, notify=["managers"]
    )
    request = file(org, service)

    assert scan(at(0, 13, 1))["escalated"] == 1  # 4 of 8 hours: raised to high (6 hours)
    request.refresh_from_db()
    assert request.priority == Priority.HIGH
    change = request.events.get(kind=EventKind.PRIORITY_CHANGED)
    assert change.actor is None
    resolution = clock(request, ClockKind.RESOLUTION)
    assert (resolution.target_seconds, resolution.escalation_level) == (6 * HOUR, 1)
    # 75% of the new target is 4.5 hours: 13:30.
    assert resolution.next_escalation_at == at(0, 13, 30)

    assert scan(at(0, 13, 31))["escalated"] == 1
    assert scan(at(0, 15))["escalated"] == 0
    assert request.events.filter(kind=EventKind.PRIORITY_CHANGED).count() == 1
    assert [n for _, _, n in timeline(request) if n] == [1, 2]


def test_it_leaves_a_priority_already_higher(org, service):
    EscalationLevelFactory(
        department=org.provider,
        number=1,
        clock="resolution",
        notify=[],
        action="raise_priority",
        raise_to=Priority.HIGH,
    )
    request = file(org, service)
    services.request_priority_change(
        request=request, actor=org.agent, priority=Priority.URGENT, now=at(0, 9, 10)
    )

    scan(at(0, 17))
    request.refresh_from_db()
    assert request.priority == Priority.URGENT
    assert clock(request, ClockKind.RESOLUTION).escalation_level == 1


def test_it_assigns_to_the_levels_person(org, service, agent2):
    EscalationLevelFactory(
        department=org.provider,
        number=1,
        clock="first_response",
        value=75,
        notify=["managers"],
        action="assign",
        assign_to=agent2,
    )
    request = file(org, service)

    assert scan(at(0, 10, 31))["escalated"] == 1
    request.refresh_from_db()
    assert request.assignee == agent2
    assert Notification.objects.filter(user=agent2, kind=NotificationKind.REQUEST_ASSIGNED).exists()
    assert request.status == Status.NEW


def test_it_fires_nothing_when_the_scan_fails_before_its_commit(org, service, levels, monkeypatch):
    request = file(org, service)

    def crash(*args, **kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(scanner, "notify_many", crash)
    with pytest.raises(RuntimeError):
        scan(at(0, 10, 1))
    assert clock(request).escalation_level == 0
    assert not RequestEvent.objects.filter(kind=EventKind.ESCALATED).exists()

    monkeypatch.setattr(scanner, "notify_many", notifications.notify_many)
    assert scan(at(0, 10, 2))["escalated"] == 1
    assert scan(at(0, 10, 3))["escalated"] == 0
    assert escalation_notices() == [("agent", "1")]


def test_it_is_what_rebuild_clocks_computes(org, service, levels):
    request = file(org, service)
    services.request_transition(request=request, actor=org.agent, action="start", now=at(0, 9, 5))
    scan(at(0, 10, 31))
    services.request_transition(request=request, actor=org.agent, action="wait", now=at(0, 13))
    scan(at(0, 14))
    before = list(
        SLAClock.objects.order_by("pk").values_list("escalation_level", "next_escalation_at")
    )
    SLAClock.objects.update(next_escalation_at=at(0, 9))

    out = io.StringIO()
    with time_machine.travel(at(0, 14), tick=False):
        call_command("rebuild_clocks", stdout=out)

    after = list(
        SLAClock.objects.order_by("pk").values_list("escalation_level", "next_escalation_at")
    )
    assert after == before
    # First response: all three fired by 14:00. Resolution: 50% reached as it paused at 13:00.
    assert before == [(3, None), (1, None)]


def test_it_prefers_the_agreements_levels_then_the_departments(db):
    department = DepartmentFactory()
    own = EscalationLevelFactory.build(department=department, number=1, value=50)
    agreed = EscalationLevelFactory.build(
        department=department, number=1, value=25, agreement_id=7, clock="resolution"
    )

    plan = escalation_plan([own, agreed], agreement_id=7)
    assert plan == {
        "first_response": [],
        "resolution": [
            {
                "number": 1,
                "threshold": "share",
                "value": 25,
                "notify": ["assignee"],
                "action": "",
                "assign_to": None,
                "raise_to": "",
            }
        ],
    }
    assert [
        level["value"] for level in escalation_plan([own, agreed], agreement_id=8)["first_response"]
    ] == [50]
    assert escalation_plan([], agreement_id=None) == {"first_response": [], "resolution": []}


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_it_fires_each_level_once_with_two_scanners_at_once(org, service, levels):
    requests = [file(org, service) for _ in range(12)]
    now = at(0, 12, 30)
    results = at_once(lambda: sla_clocks_scan(now=now))

    # First response: three levels each; resolution: 50% (13:00) not yet.
    assert sum(result["escalated"] for result in results) == 3 * len(requests)
    events = RequestEvent.objects.filter(kind=EventKind.ESCALATED)
    assert events.count() == 3 * len(requests)
    assert len({(e.request_id, e.data["number"]) for e in events}) == 3 * len(requests)
    for request in requests:
        assert clock(request).escalation_level == 3


def test_the_request_page_tells_the_staff_where_the_clock_stands(client, org, service, levels):
    request = file(org, service)
    scan(at(0, 10, 1))

    client.force_login(org.agent)
    with time_machine.travel(at(0, 10, 5), tick=False):
        page = client.get(f"/requests/{request.pk}/").content.decode()
    assert "1 of 3 levels told; next level 2 (75% of the target) at Mon 23 Nov, 10:30" in page
    assert "Escalated: first response, level 1 (50% of the target)" in page

    client.force_login(org.requester)
    with time_machine.travel(at(0, 10, 5), tick=False):
        page = client.get(f"/requests/{request.pk}/").content.decode()
    assert "levels told" not in page
    assert "Escalated" not in page


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_scanners_take_a_levels_action_once(org, service):
    SLATargetFactory(
        department=org.provider,
        priority=Priority.HIGH,
        first_response=datetime.timedelta(hours=1),
        resolution=datetime.timedelta(hours=6),
    )
    EscalationLevelFactory(
        department=org.provider,
        number=1,
        clock="resolution",
        notify=["managers"],
        action="raise_priority",
        raise_to=Priority.HIGH,
    )
    requests = [file(org, service) for _ in range(8)]
    now = at(0, 13, 30)
    at_once(lambda: sla_clocks_scan(now=now))

    for request in requests:
        request.refresh_from_db()
        assert request.priority == Priority.HIGH
        assert request.events.filter(kind=EventKind.PRIORITY_CHANGED).count() == 1
        assert request.events.filter(kind=EventKind.ESCALATED).count() == 1
        assert clock(request, ClockKind.RESOLUTION).escalation_level == 1
