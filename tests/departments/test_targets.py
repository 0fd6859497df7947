"""Which target applies, and why (departments.targets): the precedence of agreements,
service targets, department defaults and the fallback, and the windows of versions."""

import datetime
import zoneinfo

import pytest

from departments.choices import Priority, TargetSource
from departments.models import AgreementTarget, SLATarget
from departments.targets import target_applicable, target_candidates, target_choose
from tests.factories import ServiceFactory, SLATargetFactory, agreement_accepted

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)
HOUR = 3600

pytestmark = pytest.mark.clock(NOW)


def applied(service, customer, priority=Priority.NORMAL, at=NOW):
    return target_applicable(service=service, priority=priority, customer_id=customer.pk, at=at)


@pytest.fixture
def ladder(org, service):
    """Every level for the laptop at normal priority, first responses 1 h (most specific)
    to 6 h (the department default, from the `service` fixture: 2 h there, so 6 h here)."""
    SLATarget.objects.filter(department=org.provider, service=None).update(
        first_response=datetime.timedelta(hours=6), resolution=datetime.timedelta(hours=60)
    )
    SLATargetFactory(
        department=org.provider, service=service, first_response=datetime.timedelta(hours=5)
    )
    every = agreement_accepted(
        proposer=org.provider_manager,
        decider=org.customer_manager,
        provider=org.provider,
        customer=None,
        targets=[(service, "normal", 3, 30), (None, "normal", 4, 40)],
        now=NOW,
    )
    pair = agreement_accepted(
        proposer=org.customer_manager,
        decider=org.provider_manager,
        provider=org.provider,
        customer=org.customer,
        targets=[(service, "normal", 1, 10), (None, "normal", 2, 20)],
        now=NOW,
    )
    return {"every": every, "pair": pair}


def test_it_follows_the_precedence_from_the_pair_and_service_down_to_the_default(
    org, service, ladder
):
    levels = [
        (TargetSource.AGREEMENT_PAIR_SERVICE, 1, ladder["pair"]),
        (TargetSource.AGREEMENT_PAIR, 2, ladder["pair"]),
        (TargetSource.AGREEMENT_ALL_SERVICE, 3, ladder["every"]),
        (TargetSource.AGREEMENT_ALL, 4, ladder["every"]),
        (TargetSource.SERVICE, 5, None),
        (TargetSource.DEPARTMENT, 6, None),
    ]
    for source, hours, agreement in levels:
        target = applied(service, org.customer)
        assert (target.source, target.first_response_seconds) == (source, hours * HOUR)
        assert target.agreement == agreement
        # Remove this level: the next one applies.
        if agreement is not None:
            AgreementTarget.objects.filter(
                agreement=agreement, service=service if "service" in source else None
            ).delete()
        else:
            SLATarget.objects.filter(
                department=org.provider, service=service if source == "service" else None
            ).delete()
    target = applied(service, org.customer)
    assert target.source == TargetSource.FALLBACK
    assert target.first_response_seconds == 8 * HOUR  # SLA_FALLBACK_TARGET_HOURS["normal"]


def test_an_agreement_with_another_customer_does_not_apply(org, service, ladder):
    # Legal has no agreement of its own: IT's agreement with every customer applies.
    target = applied(service, org.other)

    assert target.source == TargetSource.AGREEMENT_ALL_SERVICE
    assert target.first_response_seconds == 3 * HOUR


def test_a_priority_the_agreement_leaves_out_falls_to_the_next_level(org, service, ladder):
    SLATargetFactory(department=org.provider, priority=Priority.HIGH)

    target = applied(service, org.customer, Priority.HIGH)

    assert target.source == TargetSource.DEPARTMENT
    assert target.agreement is None


def test_another_service_of_the_provider_gets_the_agreement_for_every_service(org, service, ladder):
    dock = ServiceFactory(department=org.provider, name="Docking station")

    target = applied(dock, org.customer)

    assert (target.source, target.first_response_seconds) == (TargetSource.AGREEMENT_PAIR, 2 * HOUR)


def test_a_proposal_applies_to_nothing_until_it_is_accepted(org, service):
    from departments import services as department_services

    proposal = department_services.agreement_propose(
        actor=org.provider_manager,
        provider=org.provider,
        customer=org.customer,
        valid_from=NOW.date(),
        targets=[
            department_services.TargetInput(
                None, "normal", datetime.timedelta(hours=1), datetime.timedelta(hours=2)
            )
        ],
        now=NOW,
    )
    assert applied(service, org.customer).source == TargetSource.DEPARTMENT

    department_services.agreement_decline(
        actor=org.customer_manager, agreement=proposal, comment="Too tight for us", now=NOW
    )
    assert applied(service, org.customer).source == TargetSource.DEPARTMENT


def test_a_version_applies_only_within_its_days(org, service):
    agreement = agreement_accepted(
        proposer=org.provider_manager,
        decider=org.customer_manager,
        provider=org.provider,
        customer=org.customer,
        targets=[(None, "normal", 1, 2)],
        valid_from=datetime.date(2026, 12, 1),
        valid_until=datetime.date(2026, 12, 31),
        now=NOW,
    )
    first_day = datetime.datetime(2026, 12, 1, 0, 0, tzinfo=BERLIN)
    after_last = datetime.datetime(2027, 1, 1, 0, 0, tzinfo=BERLIN)
    assert agreement.effective_from == first_day
    assert agreement.effective_until == after_last

    second = datetime.timedelta(seconds=1)
    assert applied(service, org.customer, at=first_day - second).source == "department"
    assert applied(service, org.customer, at=first_day).agreement == agreement
    assert applied(service, org.customer, at=after_last - second).agreement == agreement
    assert applied(service, org.customer, at=after_last).source == "department"


def test_an_agreement_accepted_after_its_first_day_applies_from_its_acceptance(org, service):
    accepted_at = NOW + datetime.timedelta(hours=3)
    agreement = agreement_accepted(
        proposer=org.provider_manager,
        decider=org.customer_manager,
        provider=org.provider,
        customer=org.customer,
        targets=[(None, "normal", 1, 2)],
        valid_from=datetime.date(2026, 11, 1),
        now=NOW,
        accepted_at=accepted_at,
    )

    assert agreement.effective_from == accepted_at
    before = accepted_at - datetime.timedelta(seconds=1)
    assert applied(service, org.customer, at=before).source == TargetSource.DEPARTMENT
    assert applied(service, org.customer, at=accepted_at).agreement == agreement


def test_the_look_up_costs_two_queries_whatever_the_number_of_versions(
    org, service, django_assert_num_queries
):
    for version in range(5):
        agreement_accepted(
            proposer=org.provider_manager,
            decider=org.customer_manager,
            provider=org.provider,
            customer=org.customer,
            targets=[(None, "normal", 1 + version, 20), (service, "high", 1, 2)],
            now=NOW + datetime.timedelta(minutes=version),
        )

    with django_assert_num_queries(2):
        target = applied(service, org.customer, at=NOW + datetime.timedelta(hours=1))

    assert target.first_response_seconds == 5 * HOUR  # the last version


def test_choosing_from_the_candidates_of_a_pair_makes_no_query(
    org, service, ladder, django_assert_num_queries
):
    candidates = target_candidates(provider_id=org.provider.pk, customer_id=org.customer.pk)

    with django_assert_num_queries(0):
        chosen = {
            priority: target_choose(candidates, service_id=service.pk, priority=priority, at=NOW)
            for priority in Priority.values
        }

    assert chosen["normal"].source == TargetSource.AGREEMENT_PAIR_SERVICE
    assert chosen["urgent"].source == TargetSource.FALLBACK
