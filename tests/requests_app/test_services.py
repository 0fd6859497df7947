"""The request lifecycle through the services, with travelled time."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from departments.choices import Role
from requests_app import services
from requests_app.choices import ClockState, EventKind, Status
from requests_app.models import Notification, RequestLink, SLAClock, WaitPeriod
from tests.factories import (
    DepartmentFactory,
    MembershipFactory,
    ServiceFactory,
    SLATargetFactory,
    UserFactory,
)

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
HOUR = 3600


def at(day, hour, minute=0):
    """Week of Monday 23 November 2026: day 0 = Monday."""
    return datetime.datetime(2026, 11, 23 + day, hour, minute, tzinfo=BERLIN)


# The story happens in the week of Monday 23 November 2026; the clock stands still a week
# later, so that what a test does without travelling comes after it, on any real date.
pytestmark = pytest.mark.clock(datetime.datetime(2026, 12, 1, 10, tzinfo=BERLIN))


def file(org, service, when=None, **kwargs):
    with time_machine.travel(when or at(0, 9), tick=False):
        return services.request_create(
            requester=org.requester,
            service=service,
            title=kwargs.pop("title", "New laptop"),
            description="Mine is broken",
            **kwargs,
        )


def clocks(request):
    return {c.kind: c for c in SLAClock.objects.filter(request=request, is_current=True)}


def test_it_files_a_request_with_two_clocks_and_notifies_the_agents(
    org, service, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request = file(org, service)
    assert request.reference == f"REQ-{request.pk:06d}"
    assert request.requesting_department == org.customer
    assert request.provider_department == org.provider
    current = clocks(request)
    assert current["first_response"].due_at == at(0, 11)
    assert current["resolution"].due_at == at(0, 17)
    assert current["resolution"].state == ClockState.RUNNING
    assert list(Notification.objects.values_list("user__username", flat=True)) == ["agent"]
    assert [m.to for m in mail.outbox] == [["agent@example.com"]]


def test_it_refuses_a_request_to_ones_own_department(org, service):
    MembershipFactory(
        user=org.requester, department=org.provider, role=Role.MEMBER, is_primary=False
    )
    with pytest.raises(ValidationError) as error:
        services.request_create(requester=org.agent, service=service, title="x", description="y")
    assert "service" in error.value.message_dict


def test_it_stores_the_description_and_each_reply_as_sanitised_html(org, service):
    with time_machine.travel(at(0, 9), tick=False):
        request = services.request_create(
            requester=org.requester,
            service=service,
            title="Printer",
            description="  It **jams**<script>alert(1)</script>\n",
        )
        reply = services.request_comment_add(
            request=request, author=org.agent, body=" [Guide](https://wiki.example/p)\nthen retry "
        )
        services.request_transition(
            request=request, actor=org.agent, action="wait", comment="Which *tray*?"
        )

    request.refresh_from_db()
    reply.refresh_from_db()
    assert request.description == "It **jams**<script>alert(1)</script>"
    assert request.description_html == "<p>It <strong>jams</strong></p>\n"
    assert reply.body_html == (
        '<p><a href="https://wiki.example/p" rel="noopener noreferrer nofollow">Guide</a><br>\n'
        "then retry</p>\n"
    )
    assert list(request.comments.values_list("body_html", flat=True)) == [
        reply.body_html,
        "<p>Which <em>tray</em>?</p>\n",
    ]


def test_it_meets_the_first_response_with_a_public_agent_reply(org, service):
    request = file(org, service)
    with time_machine.travel(at(0, 10), tick=False):
        services.request_comment_add(request=request, author=org.agent, body="On it")
    request.refresh_from_db()
    assert request.first_responded_at == at(0, 10)
    assert clocks(request)["first_response"].state == ClockState.MET


def test_it_does_not_count_an_internal_note_as_a_response(org, service):
    request = file(org, service)
    with time_machine.travel(at(0, 10), tick=False):
        services.request_comment_add(request=request, author=org.agent, body="hmm", internal=True)
    assert clocks(request)["first_response"].state == ClockState.RUNNING


def test_it_pauses_the_resolution_clock_while_waiting_and_moves_the_due_time(org, service):
    request = file(org, service)
    with time_machine.travel(at(0, 10), tick=False):
        services.request_transition(
            request=request, actor=org.agent, action="wait", comment="Which model?"
        )
    with time_machine.travel(at(1, 10), tick=False):
        services.request_comment_add(request=request, author=org.requester, body="The 14 inch")
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS  # the requester's reply resumed it
    resolution = clocks(request)["resolution"]
    assert resolution.state == ClockState.RUNNING
    # 1h used on Monday, 7h left from Tuesday 10:00.
    assert resolution.due_at == at(1, 17)
    wait = WaitPeriod.objects.get(request=request)
    assert wait.business_seconds == 8 * HOUR  # Monday 10-17 and Tuesday 9-10


def test_it_refuses_an_illegal_transition_and_changes_nothing(org, service):
    request = file(org, service)
    with pytest.raises(ValidationError) as error:
        services.request_transition(request=request, actor=org.agent, action="reopen")
    assert "Cannot reopen" in str(error.value)
    request.refresh_from_db()
    assert request.status == Status.NEW
    assert not request.events.filter(kind=EventKind.STATUS_CHANGED).exists()


def test_it_refuses_provider_actions_to_the_requester(org, service):
    request = file(org, service)
    with pytest.raises(PermissionDenied):
        services.request_transition(request=request, actor=org.requester, action="resolve")


def test_it_resolves_reopens_and_resolves_again(org, service):
    request = file(org, service)
    with time_machine.travel(at(0, 11), tick=False):
        services.request_transition(request=request, actor=org.agent, action="resolve")
    with time_machine.travel(at(1, 9), tick=False):
        services.request_transition(request=request, actor=org.requester, action="reopen")
    resolution = clocks(request)["resolution"]
    assert resolution.state == ClockState.RUNNING
    assert resolution.due_at == at(1, 15)  # 2h used on Monday, 6h left
    with time_machine.travel(at(1, 10), tick=False):
        services.request_transition(request=request, actor=org.agent, action="resolve")
    request.refresh_from_db()
    assert request.status == Status.RESOLVED
    assert clocks(request)["resolution"].state == ClockState.MET
    assert clocks(request)["resolution"].used_seconds == 3 * HOUR


def test_it_refuses_a_reopen_after_the_window(org, service, settings):
    settings.REOPEN_WINDOW_DAYS = 1
    request = file(org, service)
    with time_machine.travel(at(0, 11), tick=False):
        services.request_transition(request=request, actor=org.agent, action="resolve")
    with time_machine.travel(at(2, 11), tick=False), pytest.raises(ValidationError):
        services.request_transition(request=request, actor=org.requester, action="reopen")


def test_it_recomputes_due_times_on_a_priority_change(org, service):
    SLATargetFactory(
        department=org.provider,
        priority="urgent",
        first_response=datetime.timedelta(minutes=30),
        resolution=datetime.timedelta(hours=2),
    )
    request = file(org, service)
    with time_machine.travel(at(0, 10), tick=False):
        services.request_priority_change(request=request, actor=org.agent, priority="urgent")
    current = clocks(request)
    assert current["resolution"].target_seconds == 2 * HOUR
    assert current["resolution"].due_at == at(0, 11)
    assert current["first_response"].state == ClockState.BREACHED
    assert current["first_response"].breached_at == at(0, 9, 30)
    # Both clocks now count under the priority whose targets they follow.
    assert {clock.priority for clock in current.values()} == {"urgent"}


def test_it_transfers_keeping_the_time_with_the_first_department(org, service):
    facilities = DepartmentFactory(name="Facilities", slug="facilities", code="FAC")
    ServiceFactory(department=facilities, name="Desk")
    SLATargetFactory(
        department=facilities,
        priority="normal",
        first_response=datetime.timedelta(hours=1),
        resolution=datetime.timedelta(hours=4),
    )
    MembershipFactory(
        user=UserFactory(username="fac_agent"), department=facilities, role=Role.AGENT
    )
    request = file(org, service)
    with time_machine.travel(at(0, 10), tick=False):
        services.request_transfer(request=request, actor=org.agent, department=facilities)
    request.refresh_from_db()
    assert request.provider_department == facilities
    assert request.service.name == "Desk"
    old = SLAClock.objects.filter(request=request, department=org.provider)
    assert {c.kind: (c.state, c.used_seconds) for c in old} == {
        "first_response": (ClockState.STOPPED, HOUR),
        "resolution": (ClockState.STOPPED, HOUR),
    }
    new = clocks(request)
    assert new["resolution"].department == facilities
    assert new["resolution"].due_at == at(0, 14)
    assert new["first_response"].due_at == at(0, 11)
    # The IT agent no longer works it; Facilities' agent is told.
    assert Notification.objects.filter(user__username="fac_agent", request=request).exists()


def test_it_records_on_each_clock_the_service_and_priority_its_department_held_it_as(org, service):
    facilities = DepartmentFactory(name="Facilities", slug="facilities", code="FAC")
    badges = ServiceFactory(department=facilities, name="Access badges and keys")
    fac_agent = UserFactory(username="fac_agent")
    MembershipFactory(user=fac_agent, department=facilities, role=Role.AGENT)
    SLATargetFactory(department=org.provider, priority="high")
    SLATargetFactory(department=facilities, priority="high")
    SLATargetFactory(department=facilities, priority="urgent")
    request = file(org, service)
    assert {(c.service, c.priority) for c in clocks(request).values()} == {(service, "normal")}
    with time_machine.travel(at(0, 9, 30), tick=False):
        services.request_priority_change(request=request, actor=org.agent, priority="high")
    with time_machine.travel(at(0, 10), tick=False):
        services.request_transfer(
            request=request, actor=org.agent, department=facilities, service=badges
        )
    with time_machine.travel(at(0, 11), tick=False):
        services.request_priority_change(request=request, actor=fac_agent, priority="urgent")

    held = {
        (clock.department.slug, clock.kind): (clock.service.name, clock.priority)
        for clock in SLAClock.objects.filter(request=request)
    }
    # IT held it as its laptop request, raised to high; Facilities as a badge request, then
    # urgent. Neither change reaches back to the other department's clocks.
    assert held == {
        ("it", "first_response"): ("Laptop", "high"),
        ("it", "resolution"): ("Laptop", "high"),
        ("facilities", "first_response"): ("Access badges and keys", "urgent"),
        ("facilities", "resolution"): ("Access badges and keys", "urgent"),
    }


def test_it_records_blocked_time_when_the_blocker_is_resolved(org, service):
    legal_service = ServiceFactory(department=org.other, name="Contract review")
    MembershipFactory(
        user=UserFactory(username="legal_agent"), department=org.other, role=Role.AGENT
    )
    request = file(org, service)
    with time_machine.travel(at(0, 9, 30), tick=False):
        blocker = services.request_create(
            requester=org.agent, service=legal_service, title="Review", description="please"
        )
        services.request_block(request=request, actor=org.agent, blocked_by=blocker)
    with time_machine.travel(at(0, 13, 30), tick=False):
        services.request_transition(
            request=blocker, actor=UserFactory(username="legal_agent"), action="resolve"
        )
    link = RequestLink.objects.get(request=request)
    assert link.blocking_department == org.other
    assert link.ended_at == at(0, 13, 30)
    assert link.blocked_seconds == 4 * HOUR
    assert request.events.filter(kind=EventKind.UNBLOCKED).exists()


def test_it_refuses_a_blocking_cycle(org, service):
    first = file(org, service, title="one")
    second = file(org, service, title="two")
    services.request_block(request=first, actor=org.agent, blocked_by=second)
    with pytest.raises(ValidationError):
        services.request_block(request=second, actor=org.agent, blocked_by=first)


def test_it_assigns_only_provider_staff(org, service):
    request = file(org, service)
    with pytest.raises(ValidationError):
        services.request_assign(request=request, actor=org.agent, assignee=org.requester)
    services.request_assign(request=request, actor=org.provider_manager, assignee=org.agent)
    request.refresh_from_db()
    assert request.assignee == org.agent
