"""/api/v1/services/ shows each caller the targets a request they file now would get: their
own department's agreement with the provider where one is in effect, else what every customer
gets; the provider's own people see what every customer gets."""

import datetime
import zoneinfo

import pytest

from departments.choices import Priority
from tests.factories import (
    DepartmentFactory,
    MembershipFactory,
    ServiceFactory,
    SLATargetFactory,
    agreement_accepted,
)

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)
SERVICES_URL = "/api/v1/services/"

pytestmark = pytest.mark.clock(NOW)


@pytest.fixture
def laptop(org):
    service = ServiceFactory(department=org.provider, name="Laptop")
    SLATargetFactory(
        department=org.provider,
        priority=Priority.NORMAL,
        first_response=datetime.timedelta(hours=4),
        resolution=datetime.timedelta(hours=16),
    )
    return service


@pytest.fixture
def sales_agreement(org, laptop):
    return agreement_accepted(
        proposer=org.provider_manager,
        decider=org.customer_manager,
        provider=org.provider,
        customer=org.customer,
        targets=[(laptop, Priority.NORMAL, 1, 4)],
        now=NOW,
    )


def normal_target(api_client, user, service) -> dict:
    api_client.force_login(user)
    response = api_client.get(f"{SERVICES_URL}{service.pk}/")
    assert response.status_code == 200
    return next(row for row in response.json()["sla_targets"] if row["priority"] == "normal")


def test_the_customers_people_see_their_agreement(api_client, org, laptop, sales_agreement):
    assert normal_target(api_client, org.requester, laptop) == {
        "priority": "normal",
        "first_response_seconds": 3600,
        "resolution_seconds": 4 * 3600,
        "source": "agreement_pair_service",
        "agreement": sales_agreement.pk,
    }


def test_another_customer_and_the_providers_people_see_the_default(
    api_client, org, laptop, sales_agreement
):
    legal = DepartmentFactory(name="Legal", slug="legal", code="LEG")

    lawyer = MembershipFactory(department=legal).user
    for user in (lawyer, org.agent):
        assert normal_target(api_client, user, laptop)["source"] == "department"
        assert normal_target(api_client, user, laptop)["agreement"] is None


def test_a_proposal_or_a_version_not_yet_in_effect_shows_nothing(api_client, org, laptop):
    agreement_accepted(
        proposer=org.provider_manager,
        decider=org.customer_manager,
        provider=org.provider,
        customer=org.customer,
        targets=[(laptop, Priority.NORMAL, 1, 4)],
        valid_from=NOW.date() + datetime.timedelta(days=7),
        now=NOW,
    )

    assert normal_target(api_client, org.requester, laptop)["source"] == "department"


def test_the_list_reads_the_agreements_of_every_provider_in_the_same_queries(
    api_client, org, laptop, sales_agreement, django_assert_max_num_queries
):
    api_client.force_login(org.requester)
    with django_assert_max_num_queries(7) as one:
        api_client.get(SERVICES_URL)
    for n in range(5):
        other = DepartmentFactory(name=f"Provider {n}", slug=f"provider-{n}", code=f"PR{n}")
        ServiceFactory(department=other, name=f"Service {n}")
    with django_assert_max_num_queries(7) as six:
        response = api_client.get(SERVICES_URL)

    assert response.json()["count"] == 6
    assert len(six.captured_queries) == len(one.captured_queries)
    rows = {row["name"]: row["sla_targets"] for row in response.json()["results"]}
    assert rows["Laptop"][1]["agreement"] == sales_agreement.pk
