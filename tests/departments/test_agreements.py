"""Proposing, accepting, declining and withdrawing agreements through the services: who may
(per side, HR read-only), what the state and the input refuse, whom each step tells."""

import datetime
import zoneinfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from departments import services
from departments.choices import AgreementSide, AgreementState
from departments.models import Agreement, AgreementTarget
from departments.selectors import agreements_visible_to
from requests_app.models import Notification
from tests.factories import (
    DepartmentFactory,
    MembershipFactory,
    ServiceFactory,
    UserFactory,
)

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)
TODAY = NOW.date()
H = datetime.timedelta(hours=1)

pytestmark = pytest.mark.clock(NOW)


def target(service=None, priority="normal", first=1, resolution=4):
    return services.TargetInput(
        service=service, priority=priority, first_response=first * H, resolution=resolution * H
    )


def propose(org, actor=None, customer="sales", **kwargs):
    customer = {"sales": org.customer, "all": None, "legal": org.other}[customer]
    kwargs.setdefault("targets", [target()])
    kwargs.setdefault("valid_from", TODAY)
    return services.agreement_propose(
        actor=actor or org.provider_manager,
        provider=org.provider,
        customer=customer,
        now=NOW,
        **kwargs,
    )


def notified(user) -> list[str]:
    return list(
        Notification.objects.filter(user=user, kind="agreement").values_list("message", flat=True)
    )


@pytest.fixture
def legal_manager(org):
    return MembershipFactory(department=org.other, role="manager", is_primary=False).user


# --- proposing -----------------------------------------------------------------------------


def test_a_provider_manager_proposes_and_the_customers_managers_are_told(org):
    agreement = propose(org, comment="Faster laptops for the sales fair")

    assert (agreement.version, agreement.state) == (1, AgreementState.PROPOSED)
    assert agreement.proposed_side == AgreementSide.PROVIDER
    assert agreement.proposed_by == org.provider_manager
    assert agreement.effective_from is None
    assert list(agreement.targets.values_list("priority", "first_response")) == [("normal", H)]
    assert notified(org.customer_manager) == ["IT proposes the Sales-IT agreement v1"]
    assert notified(org.provider_manager) == []  # not told of their own step


def test_the_notice_links_to_the_agreement_in_the_app_the_email_and_the_api(
    org, client, api_client, mailoutbox, settings
):
    from requests_app.notifications import notifications_deliver

    settings.SITE_URL = "https://desk.example"
    org.customer_manager.email = "sam@example.com"
    org.customer_manager.save()
    agreement = propose(org)
    page = f"/departments/it/agreements/{agreement.pk}/"

    notice = Notification.objects.get(user=org.customer_manager, kind="agreement")
    assert notice.get_absolute_url() == page
    client.force_login(org.customer_manager)
    assert f'href="{page}"' in client.get("/requests/notifications/").content.decode()
    api_client.force_login(org.customer_manager)
    assert api_client.get("/api/v1/notifications/").json()["results"][0]["link"] == page
    notifications_deliver()
    assert f"https://desk.example{page}" in mailoutbox[0].body
    assert client.get(page).status_code == 200


def test_a_customer_manager_proposes_for_their_department(org):
    agreement = propose(org, actor=org.customer_manager)

    assert agreement.proposed_side == AgreementSide.CUSTOMER
    assert notified(org.provider_manager) == ["Sales proposes the Sales-IT agreement v1"]


@pytest.mark.parametrize("role", ["requester", "agent", "outsider", "hr"])
def test_only_a_manager_of_a_side_may_propose(org, role):
    with pytest.raises(PermissionDenied, match="Only managers of IT or Sales"):
        propose(org, actor=getattr(org, role))
    assert not Agreement.objects.exists()


def test_a_manager_of_a_third_department_may_not_propose_for_the_pair(org, legal_manager):
    with pytest.raises(PermissionDenied):
        propose(org, actor=legal_manager)


def test_only_the_providers_managers_propose_for_every_customer(org):
    with pytest.raises(PermissionDenied, match="Only IT's managers propose"):
        propose(org, actor=org.customer_manager, customer="all")

    agreement = propose(org, customer="all")

    assert agreement.customer is None
    assert agreement.label == "IT agreement with every customer v1"
    assert notified(org.customer_manager) == ["IT proposes the IT agreement with every customer v1"]


def test_who_may_propose_is_decided_before_the_input_is_read(org):
    with pytest.raises(PermissionDenied):
        propose(org, actor=org.agent, targets=[], valid_from=datetime.date(1, 1, 1))


def test_it_refuses_a_proposal_with_bad_input_and_says_what_is_wrong(org):
    elsewhere = ServiceFactory(department=org.other, name="Contract review")
    laptop = ServiceFactory(department=org.provider, name="Laptop")

    with pytest.raises(ValidationError) as refused:
        propose(
            org,
            valid_from=TODAY,
            valid_until=TODAY - datetime.timedelta(days=1),
            targets=[
                target(elsewhere),
                target(laptop, first=4, resolution=2),
                target(laptop, first=4, resolution=2),
                target(None, first=0),
            ],
        )

    errors = refused.value.message_dict
    assert errors["valid_until"] == ["The agreement cannot end before it starts."]
    assert errors["targets"] == [
        "Target 1, service: Contract review is a service of Legal, not IT.",
        "Target 2, resolution: Resolution cannot be due before the first response.",
        "Target 3, priority: normal is given twice for Laptop (first in target 2).",
        "Target 3, resolution: Resolution cannot be due before the first response.",
        "Target 4, first_response: A target is at least a business minute.",
    ]
    assert not Agreement.objects.exists()


def test_it_refuses_a_proposal_without_targets_or_that_could_never_apply(org):
    with pytest.raises(ValidationError) as refused:
        propose(
            org,
            targets=[],
            valid_from=TODAY - datetime.timedelta(days=30),
            valid_until=TODAY - datetime.timedelta(days=1),
        )

    assert refused.value.message_dict == {
        "targets": ["Give at least one target."],
        "valid_until": ["It would end before it could apply."],
    }


def test_a_department_that_takes_no_requests_has_nothing_to_agree(org):
    board = DepartmentFactory(name="Board", slug="board", code="BRD", is_provider=False)
    boss = MembershipFactory(department=board, role="manager").user

    with pytest.raises(ValidationError) as refused:
        services.agreement_propose(
            actor=boss,
            provider=board,
            customer=org.customer,
            valid_from=TODAY,
            targets=[target()],
            now=NOW,
        )

    assert refused.value.message_dict == {
        "provider": ["Board takes no requests: it has nothing to agree."]
    }


def test_one_proposal_at_a_time_and_versions_count_on(org):
    first = propose(org)
    with pytest.raises(ValidationError, match="Sales-IT agreement v1 is waiting for an answer"):
        propose(org, actor=org.customer_manager)

    services.agreement_decline(
        actor=org.customer_manager, agreement=first, comment="Not tight enough", now=NOW
    )
    second = propose(org, actor=org.customer_manager)

    assert second.version == 2
    assert Agreement.objects.count() == 2


# --- answering -----------------------------------------------------------------------------


def test_the_other_side_accepts_and_the_proposing_side_is_told(org):
    agreement = propose(org)

    accepted = services.agreement_accept(
        actor=org.customer_manager, agreement=agreement, comment="Thanks", now=NOW
    )

    assert accepted.state == AgreementState.ACCEPTED
    assert (accepted.decided_by, accepted.decided_at) == (org.customer_manager, NOW)
    assert accepted.effective_from == NOW
    assert accepted.effective_until is None
    assert notified(org.provider_manager) == [
        f"{org.customer_manager.get_full_name()} (Sales) accepted the Sales-IT agreement v1"
    ]


@pytest.mark.parametrize("action", ["accept", "decline"])
def test_the_proposing_side_and_hr_may_not_answer(org, action):
    agreement = propose(org)
    decide = getattr(services, f"agreement_{action}")

    with pytest.raises(PermissionDenied, match="IT proposed it: a manager of Sales"):
        decide(actor=org.provider_manager, agreement=agreement, comment="x", now=NOW)
    with pytest.raises(PermissionDenied, match="HR sees agreements but does not decide"):
        decide(actor=org.hr, agreement=agreement, comment="x", now=NOW)
    agreement.refresh_from_db()
    assert agreement.state == AgreementState.PROPOSED


def test_a_manager_of_both_sides_does_not_answer_their_own_proposal(org):
    both = UserFactory(username="both")
    MembershipFactory(user=both, department=org.provider, role="manager")
    MembershipFactory(user=both, department=org.customer, role="manager", is_primary=False)
    agreement = propose(org, actor=both)

    with pytest.raises(PermissionDenied, match="You proposed it"):
        services.agreement_accept(actor=both, agreement=agreement, now=NOW)

    assert services.agreement_accept(actor=org.customer_manager, agreement=agreement, now=NOW)


def test_any_other_departments_manager_answers_for_every_customer(org, legal_manager):
    agreement = propose(org, customer="all")

    accepted = services.agreement_accept(actor=legal_manager, agreement=agreement, now=NOW)

    assert accepted.state == AgreementState.ACCEPTED


def test_a_decline_says_why_and_the_proposing_side_reads_it(org):
    agreement = propose(org, actor=org.customer_manager)

    with pytest.raises(ValidationError) as refused:
        services.agreement_decline(actor=org.provider_manager, agreement=agreement, comment=" ")
    assert refused.value.message_dict == {
        "comment": ["Say why you decline it, so the other side can propose again."]
    }

    services.agreement_decline(
        actor=org.provider_manager, agreement=agreement, comment="We have no night shift", now=NOW
    )
    agreement.refresh_from_db()
    assert agreement.state == AgreementState.DECLINED
    assert agreement.decision_comment == "We have no night shift"
    assert notified(org.customer_manager) == [
        f"{org.provider_manager.get_full_name()} (IT) declined the Sales-IT agreement v1: "
        "We have no night shift"
    ]


def test_the_proposing_side_withdraws_and_the_other_side_may_not(org):
    agreement = propose(org)

    with pytest.raises(PermissionDenied, match="Only IT's managers withdraw"):
        services.agreement_withdraw(actor=org.customer_manager, agreement=agreement, now=NOW)
    services.agreement_withdraw(actor=org.provider_manager, agreement=agreement, now=NOW)

    agreement.refresh_from_db()
    assert agreement.state == AgreementState.WITHDRAWN
    assert set(notified(org.customer_manager)) == {
        "IT proposes the Sales-IT agreement v1",
        "IT withdrew the Sales-IT agreement v1",
    }


@pytest.mark.parametrize("action", ["accept", "decline", "withdraw"])
def test_only_a_proposal_is_answered_or_withdrawn(org, action):
    agreement = propose(org)
    services.agreement_accept(actor=org.customer_manager, agreement=agreement, now=NOW)
    actor = org.provider_manager if action == "withdraw" else org.customer_manager

    with pytest.raises(ValidationError, match="Sales-IT agreement v1 is accepted: only a proposal"):
        getattr(services, f"agreement_{action}")(
            actor=actor, agreement=agreement, comment="again", now=NOW
        )


def test_a_proposal_whose_last_day_has_passed_is_not_accepted(org):
    agreement = propose(org, valid_until=TODAY)

    with pytest.raises(ValidationError, match="before it was accepted: propose a new version"):
        services.agreement_accept(
            actor=org.customer_manager,
            agreement=agreement,
            now=NOW + datetime.timedelta(days=1),
        )


def test_accepting_a_version_supersedes_the_ones_before(org):
    first = propose(org)
    services.agreement_accept(actor=org.customer_manager, agreement=first, now=NOW)
    second = propose(org, actor=org.customer_manager, targets=[target(first=2, resolution=8)])
    later = NOW + datetime.timedelta(days=2)

    services.agreement_accept(actor=org.provider_manager, agreement=second, now=later)

    first.refresh_from_db()
    assert (first.state, first.superseded_by, first.effective_until) == (
        AgreementState.SUPERSEDED,
        second,
        later,
    )
    assert AgreementTarget.objects.filter(agreement=first).count() == 1  # history stays


# --- who sees them -------------------------------------------------------------------------


def test_only_the_two_sides_managers_and_hr_see_an_agreement(org, legal_manager):
    pair = propose(org)
    every = propose(org, customer="all")

    seen = {
        role: set(agreements_visible_to(getattr(org, role)))
        for role in (
            "requester",
            "colleague",
            "customer_manager",
            "agent",
            "provider_manager",
            "outsider",
            "hr",
        )
    }

    assert seen == {
        "requester": set(),
        "colleague": set(),
        "customer_manager": {pair, every},
        "agent": set(),
        "provider_manager": {pair, every},
        "outsider": set(),
        "hr": {pair, every},
    }
    # Legal's manager is a customer of IT's agreement with every customer, not of Sales'.
    assert set(agreements_visible_to(legal_manager)) == {every}
