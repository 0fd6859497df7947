"""The department page (hours, next days off, the targets that apply to the viewer's
department and why, its agreements) and the agreement pages (a version, answering it,
proposing one), with who may see and do what."""

import datetime
import zoneinfo

import pytest
from pytest_django.asserts import assertContains, assertNotContains

from departments import services
from departments.choices import AgreementState
from departments.models import Agreement
from tests.factories import (
    BusinessCalendarFactory,
    HolidayFactory,
    MembershipFactory,
    ServiceFactory,
    agreement_accepted,
)

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = datetime.datetime(2026, 12, 21, 10, 0, tzinfo=BERLIN)
H = datetime.timedelta(hours=1)

pytestmark = pytest.mark.clock(NOW)


@pytest.fixture
def agreed(org, service):
    """Sales-IT v1 (superseded), v2 in effect (2 h / 3 business days for normal requests),
    and IT's proposal v3 waiting for Sales."""
    for version, days in ((1, 2), (2, 3)):
        agreement_accepted(
            proposer=org.provider_manager,
            decider=org.customer_manager,
            provider=org.provider,
            customer=org.customer,
            targets=[(None, "normal", 2, 8 * days)],
            now=NOW - datetime.timedelta(days=30 - version),
        )
    proposal = services.agreement_propose(
        actor=org.provider_manager,
        provider=org.provider,
        customer=org.customer,
        valid_from=datetime.date(2027, 1, 1),
        targets=[services.TargetInput(None, "normal", H, 16 * H)],
        comment="Faster in the new year",
        now=NOW,
    )
    return {
        "v1": Agreement.objects.get(version=1),
        "v2": Agreement.objects.get(version=2),
        "v3": proposal,
    }


def page(client, user, url="/departments/it/"):
    client.force_login(user)
    return client.get(url)


# --- the department page -------------------------------------------------------------------


def test_it_shows_the_working_hours_and_the_next_days_off(client, org, service):
    HolidayFactory(calendar=org.provider.calendar, date=datetime.date(2026, 12, 24), name="Eve")
    HolidayFactory(calendar=org.provider.calendar, date=datetime.date(2026, 12, 31), name="NYE")

    response = page(client, org.requester)

    assertContains(response, "Mon-Fri 09:00-17:00 (Europe/Berlin)")
    assertContains(response, '<span class="pill">Thu 24 Dec 2026: Eve</span>', html=True)
    assertContains(response, '<span class="pill">Thu 31 Dec 2026: NYE</span>', html=True)


def test_a_customer_sees_the_targets_of_its_agreement_and_which_one(client, org, agreed):
    response = page(client, org.requester)

    assertContains(response, "Targets for Sales")
    assertContains(
        response,
        '<span class="pill">Normal: 2 business hours / 3 business days '
        "<small>(Sales-IT agreement v2)</small></span>",
        html=True,
    )


def test_another_customer_sees_the_defaults(client, org, agreed):
    response = page(client, org.outsider)

    assertContains(response, "Targets for Legal")
    assertContains(
        response, '<span class="pill">Normal: 2 business hours / 1 business day</span>', html=True
    )
    assertNotContains(response, "Sales-IT agreement")


def test_a_customers_manager_sees_our_agreement_with_it(client, org, agreed):
    response = page(client, org.customer_manager)

    assertContains(response, "Our agreement with IT")
    assertContains(
        response,
        f'<a href="/departments/it/agreements/{agreed["v2"].pk}/">Sales-IT agreement v2</a>',
    )
    assertContains(response, "Waiting:")
    assertContains(response, "Proposed by IT on Mon 21 Dec 2026, waiting for Sales to answer")
    assertContains(response, "/departments/it/agreements/new/?customer=sales")
    assertNotContains(response, "Agreements of IT")  # only IT's own managers and HR


@pytest.mark.parametrize("role", ["provider_manager", "hr"])
def test_the_providers_managers_and_hr_see_every_agreement(client, org, agreed, role):
    response = page(client, getattr(org, role))

    assertContains(response, "Agreements of IT")
    for name in ("v1", "v2", "v3"):
        assertContains(response, f'href="/departments/it/agreements/{agreed[name].pk}/"')
    assertContains(response, "Superseded by v2 on")
    assert ("Propose an agreement" in response.text) == (role == "provider_manager")


@pytest.mark.parametrize("role", ["requester", "agent", "outsider"])
def test_others_see_no_agreement(client, org, agreed, role):
    response = page(client, getattr(org, role))

    assertNotContains(response, "Agreements of IT")
    assertNotContains(response, "Our agreement")
    assertNotContains(response, "/agreements/")


def test_the_page_costs_the_same_queries_whatever_the_agreements(
    client, org, service, django_assert_max_num_queries
):
    client.force_login(org.provider_manager)
    with django_assert_max_num_queries(20) as few:
        client.get("/departments/it/")
    for n in range(4):
        other = MembershipFactory(role="manager").department
        agreement_accepted(
            proposer=org.provider_manager,
            decider=other.memberships.get().user,
            provider=org.provider,
            customer=other,
            targets=[(service, "normal", 1, 2)],
            now=NOW - datetime.timedelta(days=n + 1),
        )
        ServiceFactory(department=org.provider, name=f"Extra {n}")
    with django_assert_max_num_queries(20) as many:
        client.get("/departments/it/")
    assert len(many.captured_queries) == len(few.captured_queries)


# --- a version -----------------------------------------------------------------------------


def test_an_agreement_page_shows_its_terms_in_words_and_its_versions(client, org, agreed):
    response = page(client, org.customer_manager, f"/departments/it/agreements/{agreed['v2'].pk}/")

    assertContains(response, "<h1>Sales-IT agreement v2</h1>", html=True)
    assertContains(response, "In effect since")
    assertContains(response, "Mon-Fri 09:00-17:00 (Europe/Berlin)")
    assertContains(
        response,
        "<tr><td>Every service</td><td>Normal</td><td>2 business hours</td>"
        "<td>3 business days</td></tr>",
        html=True,
    )
    assertContains(response, "Versions")
    assertNotContains(response, "Accept it")  # not a proposal


def test_the_other_side_sees_the_forms_to_answer_and_the_proposer_to_withdraw(client, org, agreed):
    url = f"/departments/it/agreements/{agreed['v3'].pk}/"
    sales = page(client, org.customer_manager, url)
    it = page(client, org.provider_manager, url)
    hr = page(client, org.hr, url)

    assertContains(sales, "Accept it")
    assertContains(sales, "Decline it")
    assertNotContains(sales, "Withdraw the proposal")
    assertContains(it, "Withdraw the proposal")
    assertNotContains(it, "Accept it")
    for response in (hr,):
        assertNotContains(response, '<form method="post" action="/departments/it/agreements/')


@pytest.mark.parametrize("role", ["requester", "colleague", "agent", "outsider"])
def test_an_agreement_page_is_404_for_anyone_but_the_sides_managers_and_hr(
    client, org, agreed, role
):
    for url in (
        f"/departments/it/agreements/{agreed['v3'].pk}/",
        f"/departments/sales/agreements/{agreed['v3'].pk}/",  # not Sales' agreement
    ):
        assert page(client, getattr(org, role), url).status_code == 404
    response = client.post(f"/departments/it/agreements/{agreed['v3'].pk}/accept/")
    assert response.status_code == 404


def test_accepting_from_the_page(client, org, agreed):
    client.force_login(org.customer_manager)

    response = client.post(
        f"/departments/it/agreements/{agreed['v3'].pk}/accept/", {"accept-comment": "Good"}
    )

    assert response.status_code == 302
    agreed["v3"].refresh_from_db()
    assert (agreed["v3"].state, agreed["v3"].decision_comment) == (AgreementState.ACCEPTED, "Good")
    assertContains(client.get(response.url), "You accepted the Sales-IT agreement v3.")


def test_declining_from_the_page_needs_a_reason(client, org, agreed):
    client.force_login(org.customer_manager)
    url = f"/departments/it/agreements/{agreed['v3'].pk}/decline/"

    response = client.post(url, {"decline-comment": ""})

    assert response.status_code == 400
    assertContains(
        response, "Say why you decline it, so the other side can propose again.", status_code=400
    )
    agreed["v3"].refresh_from_db()
    assert agreed["v3"].state == AgreementState.PROPOSED
    assert client.post(url, {"decline-comment": "Too slow"}).status_code == 302


@pytest.mark.parametrize(
    ("role", "action"),
    [("provider_manager", "accept"), ("hr", "decline"), ("customer_manager", "withdraw")],
)
def test_who_may_not_answer_gets_403_whatever_the_form(client, org, agreed, role, action):
    client.force_login(getattr(org, role))

    for form in ({}, {f"{action}-comment": "x" * 30_000}):
        response = client.post(f"/departments/it/agreements/{agreed['v3'].pk}/{action}/", form)
        assert response.status_code == 403
    agreed["v3"].refresh_from_db()
    assert agreed["v3"].state == AgreementState.PROPOSED


# --- proposing -----------------------------------------------------------------------------


def test_a_change_starts_from_the_version_in_effect(client, org, agreed):
    response = page(client, org.customer_manager, "/departments/it/agreements/new/?customer=sales")

    assert response.status_code == 200
    assertContains(response, 'name="t-all-normal-first_response" value="2h"')
    assertContains(response, 'name="t-all-normal-resolution" value="24h"')
    # A customer's manager proposes for their department only.
    assertContains(response, '<option value="sales" selected>Sales</option>', html=True)
    assertNotContains(response, '<option value="*">')


def test_proposing_from_the_page(client, org, service):
    client.force_login(org.provider_manager)

    response = client.post(
        "/departments/it/agreements/new/",
        {
            "customer": "*",
            "valid_from": "2027-01-04",
            "comment": "For everyone",
            "t-all-high-first_response": "1h",
            "t-all-high-resolution": "1h30m",
            f"t-{service.pk}-urgent-first_response": "15m",
            f"t-{service.pk}-urgent-resolution": "2h",
        },
    )

    agreement = Agreement.objects.get()
    assert response.status_code == 302
    assert response.url == f"/departments/it/agreements/{agreement.pk}/"
    assert (agreement.customer, agreement.state, agreement.comment) == (
        None,
        AgreementState.PROPOSED,
        "For everyone",
    )
    assert set(agreement.targets.values_list("service", "priority", "resolution")) == {
        (None, "high", datetime.timedelta(minutes=90)),
        (service.pk, "urgent", 2 * H),
    }


def test_a_bad_proposal_comes_back_with_its_errors(client, org, service):
    client.force_login(org.provider_manager)

    response = client.post(
        "/departments/it/agreements/new/",
        {
            "customer": "sales",
            "valid_from": "2027-01-04",
            "valid_until": "2027-01-01",
            "t-all-high-first_response": "2d",
            "t-all-low-first_response": "1h",
            "t-all-normal-first_response": "4h",
            "t-all-normal-resolution": "1h",
        },
    )

    assert response.status_code == 400
    assertContains(response, "days are ambiguous in business time", status_code=400)
    assertContains(response, "Give both targets, or neither.", status_code=400)
    assert not Agreement.objects.exists()
    # The form's own checks passed for normal priority: the service's come next.
    response = client.post(
        "/departments/it/agreements/new/",
        {
            "customer": "sales",
            "valid_from": "2027-01-04",
            "valid_until": "2027-01-01",
            "t-all-normal-first_response": "4h",
            "t-all-normal-resolution": "1h",
        },
    )
    assertContains(response, "The agreement cannot end before it starts.", status_code=400)
    assertContains(
        response,
        "Target 1, resolution: Resolution cannot be due before the first response.",
        status_code=400,
    )


@pytest.mark.parametrize("role", ["requester", "agent", "outsider", "hr"])
def test_only_managers_reach_the_proposal_page(client, org, service, role):
    client.force_login(getattr(org, role))

    assert client.get("/departments/it/agreements/new/").status_code == 403
    assert client.post("/departments/it/agreements/new/", {"customer": "sales"}).status_code == 403
    assert not Agreement.objects.exists()


def test_a_customers_manager_may_not_propose_for_another_customer(client, org, service):
    client.force_login(org.customer_manager)

    for customer in ("legal", "*"):
        response = client.post(
            "/departments/it/agreements/new/",
            {"customer": customer, "valid_from": "nonsense"},
        )
        assert response.status_code == 403
    assert not Agreement.objects.exists()


def test_a_customer_is_told_the_support_hours_of_its_agreement(client, org, service):
    extended = BusinessCalendarFactory(
        name="IT late", hours=[(d, "08:00", "20:00") for d in range(5)]
    )
    agreement_accepted(
        proposer=org.provider_manager,
        decider=org.customer_manager,
        provider=org.provider,
        customer=org.customer,
        targets=[(None, "normal", 2, 24)],
        calendar=extended,
        now=NOW - datetime.timedelta(days=1),
    )

    response = page(client, org.requester)

    # 24 business hours are two of its 12-hour days.
    assertContains(response, "Normal: 2 business hours / 2 business days")
    assertContains(
        response,
        "Under the Sales-IT agreement v1, IT answers Mon-Fri 08:00-20:00 (Europe/Berlin)",
    )
    assertNotContains(page(client, org.outsider), "IT answers")


def test_a_customers_manager_sees_the_providers_offer_to_every_customer(client, org, service):
    offer = services.agreement_propose(
        actor=org.provider_manager,
        provider=org.provider,
        customer=None,
        valid_from=datetime.date(2027, 1, 1),
        targets=[services.TargetInput(None, "low", H, 8 * H)],
        now=NOW,
    )

    response = page(client, org.customer_manager)

    assertContains(response, "Sales has no agreement of its own with IT")
    assertContains(
        response,
        f'Waiting: <a href="/departments/it/agreements/{offer.pk}/">'
        "IT agreement with every customer v1</a>",
    )
