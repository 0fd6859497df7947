"""Clocks under agreements: a request's clocks start with the target that applies when it is
filed and keep it (and where it came from) whatever versions come later."""

import datetime
import io
import zoneinfo

import pytest
from django.core.management import call_command

from departments.choices import AgreementState, Priority, TargetSource
from departments.models import Agreement
from requests_app import services
from requests_app.choices import ClockKind
from requests_app.models import SLAClock
from tests.factories import (
    BusinessCalendarFactory,
    DepartmentFactory,
    MembershipFactory,
    ServiceFactory,
    SLATargetFactory,
    agreement_accepted,
)

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
HOUR = 3600
MONDAY = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)

pytestmark = pytest.mark.clock(datetime.datetime(2026, 12, 7, 10, 0, tzinfo=BERLIN))


def file(org, service, when, priority=Priority.NORMAL, requester=None):
    return services.request_create(
        requester=requester or org.requester,
        service=service,
        title="Laptop",
        description="Broken",
        priority=priority,
        now=when,
    )


def clocks(request, current=True):
    rows = SLAClock.objects.filter(request=request).select_related("agreement")
    if current:
        rows = rows.filter(is_current=True)
    return {clock.kind: clock for clock in rows}


def version(org, first_hours, *, now, valid_from=None, calendar=None, priority="normal"):
    """A version of the Sales-IT agreement for every IT service, proposed by IT and
    accepted by Sales at `now`."""
    return agreement_accepted(
        proposer=org.provider_manager,
        decider=org.customer_manager,
        provider=org.provider,
        customer=org.customer,
        targets=[(None, priority, first_hours, first_hours * 4)],
        valid_from=valid_from,
        calendar=calendar,
        now=now,
    )


def test_a_request_filed_under_an_agreement_keeps_its_target_and_where_it_came_from(org, service):
    v1 = version(org, 1, now=MONDAY - datetime.timedelta(days=7))

    request = file(org, service, MONDAY)

    first, resolution = (clocks(request)[kind] for kind in ClockKind.values)
    assert (first.target_seconds, resolution.target_seconds) == (1 * HOUR, 4 * HOUR)
    assert first.target_source == resolution.target_source == TargetSource.AGREEMENT_PAIR
    assert first.agreement == resolution.agreement == v1
    assert first.due_at == MONDAY + datetime.timedelta(hours=1)


def test_a_new_version_applies_to_requests_filed_after_it_and_old_clocks_keep_theirs(org, service):
    v1 = version(org, 1, now=MONDAY - datetime.timedelta(days=7))
    before = file(org, service, MONDAY)
    v2 = version(org, 3, now=MONDAY + datetime.timedelta(hours=2))
    after = file(org, service, MONDAY + datetime.timedelta(hours=3))

    v1.refresh_from_db()
    assert v1.state == AgreementState.SUPERSEDED
    assert v1.superseded_by == v2
    assert v1.effective_until == v2.effective_from == MONDAY + datetime.timedelta(hours=2)
    assert clocks(before)[ClockKind.FIRST_RESPONSE].target_seconds == 1 * HOUR
    assert clocks(before)[ClockKind.FIRST_RESPONSE].agreement == v1
    assert clocks(after)[ClockKind.FIRST_RESPONSE].target_seconds == 3 * HOUR
    assert clocks(after)[ClockKind.FIRST_RESPONSE].agreement == v2

    # Rebuilding the clocks from their events changes nothing: the target was copied.
    stored = {c.pk: (c.target_seconds, c.due_at, c.agreement_id) for c in SLAClock.objects.all()}
    call_command("rebuild_clocks", stdout=io.StringIO())
    rebuilt = {c.pk: (c.target_seconds, c.due_at, c.agreement_id) for c in SLAClock.objects.all()}
    assert rebuilt == stored


def test_a_version_accepted_for_later_waits_for_its_first_day(org, service):
    v1 = version(org, 1, now=MONDAY - datetime.timedelta(days=7))
    v2 = version(org, 3, now=MONDAY, valid_from=datetime.date(2026, 11, 25))

    tuesday = file(org, service, MONDAY + datetime.timedelta(days=1))
    wednesday = file(org, service, MONDAY + datetime.timedelta(days=2))

    assert clocks(tuesday)[ClockKind.FIRST_RESPONSE].agreement == v1
    assert clocks(wednesday)[ClockKind.FIRST_RESPONSE].agreement == v2
    v1.refresh_from_db()
    assert v1.effective_until == datetime.datetime(2026, 11, 25, 0, 0, tzinfo=BERLIN)


def test_a_priority_change_follows_the_precedence_of_when_the_clocks_started(org, service):
    """Filed under v1 (which has a high target); v2 (other high target) is accepted later;
    raising the priority gives the request v1's high target, not v2's."""
    v1 = agreement_accepted(
        proposer=org.provider_manager,
        decider=org.customer_manager,
        provider=org.provider,
        customer=org.customer,
        targets=[(None, "normal", 1, 4), (None, "high", 2, 3)],
        now=MONDAY - datetime.timedelta(days=7),
    )
    request = file(org, service, MONDAY)
    agreement_accepted(
        proposer=org.provider_manager,
        decider=org.customer_manager,
        provider=org.provider,
        customer=org.customer,
        targets=[(None, "high", 1, 1)],
        now=MONDAY + datetime.timedelta(minutes=10),
    )

    services.request_priority_change(
        request=request,
        actor=org.agent,
        priority=Priority.HIGH,
        now=MONDAY + datetime.timedelta(minutes=20),
    )

    current = clocks(request)
    assert current[ClockKind.FIRST_RESPONSE].target_seconds == 2 * HOUR
    assert current[ClockKind.RESOLUTION].target_seconds == 3 * HOUR
    assert current[ClockKind.RESOLUTION].agreement == v1
    # Down to low, which v1 leaves out: the department default (none: the fallback).
    services.request_priority_change(
        request=request,
        actor=org.agent,
        priority=Priority.LOW,
        now=MONDAY + datetime.timedelta(minutes=30),
    )
    current = clocks(request)
    assert current[ClockKind.RESOLUTION].target_source == TargetSource.FALLBACK
    assert current[ClockKind.RESOLUTION].agreement is None


def test_an_agreement_with_support_hours_of_its_own_runs_the_clocks_in_them(org, service):
    early = BusinessCalendarFactory(
        name="IT extended", hours=[(day, "07:00", "20:00") for day in range(5)]
    )
    agreement = version(org, 2, now=MONDAY - datetime.timedelta(days=7), calendar=early)

    # Filed Monday 18:00: the department's 09:00-17:00 would make it due Tuesday 11:00.
    request = file(org, service, MONDAY.replace(hour=18))

    first = clocks(request)[ClockKind.FIRST_RESPONSE]
    assert first.agreement == agreement
    assert first.calendar_version.calendar == early
    assert first.due_at == MONDAY.replace(hour=20)


def test_a_transfer_starts_the_receiving_departments_clocks_under_its_own_agreement(org, service):
    facilities = DepartmentFactory(name="Facilities", slug="facilities", code="FAC")
    MembershipFactory(department=facilities, role="agent", is_primary=False, user=org.agent)
    desk = ServiceFactory(department=facilities, name="Desk")
    SLATargetFactory(department=facilities)
    manager = MembershipFactory(department=facilities, role="manager").user
    version(org, 1, now=MONDAY - datetime.timedelta(days=7))
    theirs = agreement_accepted(
        proposer=manager,
        decider=org.customer_manager,
        provider=facilities,
        customer=None,
        targets=[(desk, "normal", 5, 10)],
        now=MONDAY - datetime.timedelta(days=7),
    )
    request = file(org, service, MONDAY)

    services.request_transfer(
        request=request,
        actor=org.agent,
        department=facilities,
        service=desk,
        now=MONDAY + datetime.timedelta(hours=1),
    )

    new = clocks(request)[ClockKind.FIRST_RESPONSE]
    assert new.department == facilities
    assert (new.target_seconds, new.target_source, new.agreement) == (
        5 * HOUR,
        TargetSource.AGREEMENT_ALL_SERVICE,
        theirs,
    )
    # IT's clocks, stopped at the transfer, keep the Sales-IT agreement's target.
    assert SLAClock.objects.filter(request=request, is_current=False, target_seconds=HOUR).exists()


def test_filing_costs_the_same_queries_whatever_the_agreements(
    org, service, django_assert_max_num_queries
):
    for n in range(4):
        other = DepartmentFactory(name=f"Other {n}", slug=f"other-{n}", code=f"O{n}")
        boss = MembershipFactory(department=other, role="manager").user
        agreement_accepted(
            proposer=org.provider_manager,
            decider=boss,
            provider=org.provider,
            customer=other,
            targets=[(service, "normal", 1, 2)],
            now=MONDAY - datetime.timedelta(days=7),
        )
    file(org, service, MONDAY)  # the calendar's version is made once, by the first request
    with django_assert_max_num_queries(60) as few:
        file(org, service, MONDAY)
    for n in range(3):
        version(org, n + 1, now=MONDAY + datetime.timedelta(minutes=n))
    with django_assert_max_num_queries(60) as many:
        file(org, service, MONDAY + datetime.timedelta(hours=1))
    assert len(many.captured_queries) == len(few.captured_queries)
    assert Agreement.objects.count() == 7


def test_an_agreements_levels_replace_the_providers_for_its_clocks_only(org, service):
    from departments.escalation import LevelInput
    from tests.factories import EscalationLevelFactory

    EscalationLevelFactory(department=org.provider, number=1, value=50, notify=["agents"])
    version_with_levels = agreement_accepted(
        proposer=org.provider_manager,
        decider=org.customer_manager,
        provider=org.provider,
        customer=org.customer,
        targets=[(None, "normal", 1, 4)],
        escalation_levels=[
            LevelInput(threshold="share", value=80, clock="resolution", notify=["managers"])
        ],
        now=MONDAY - datetime.timedelta(days=7),
    )
    outsider = MembershipFactory(department=org.other).user

    under_agreement = clocks(file(org, service, MONDAY))
    without = clocks(file(org, service, MONDAY, requester=outsider))

    assert under_agreement[ClockKind.RESOLUTION].agreement == version_with_levels
    assert [lv["value"] for lv in under_agreement[ClockKind.RESOLUTION].escalation_levels] == [80]
    assert under_agreement[ClockKind.FIRST_RESPONSE].escalation_levels == []
    assert [lv["value"] for lv in without[ClockKind.FIRST_RESPONSE].escalation_levels] == [50]
    # 80% of the agreed 4 hours: 12:12.
    assert under_agreement[ClockKind.RESOLUTION].next_escalation_at == MONDAY + datetime.timedelta(
        hours=3, minutes=12
    )
