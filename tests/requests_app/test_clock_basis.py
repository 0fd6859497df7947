"""The request page says which target applied and why it is due when it is: the source of
the target (agreement and version, service, department, fallback), the hours the clock
runs in and the days off on the way."""

import datetime
import html
import zoneinfo

import pytest
from pytest_django.asserts import assertContains, assertNotContains

from departments.choices import Priority
from requests_app import services
from requests_app.models import SLAClock
from tests.factories import (
    BusinessCalendarFactory,
    HolidayFactory,
    ServiceFactory,
    SLATargetFactory,
    agreement_accepted,
)

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
# Wednesday 23 December 2026, 16:00: IT closes 24-26 December.
FILED = datetime.datetime(2026, 12, 23, 16, 0, tzinfo=BERLIN)

pytestmark = pytest.mark.clock(datetime.datetime(2026, 12, 23, 16, 30, tzinfo=BERLIN))


def file(org, service, priority=Priority.NORMAL):
    return services.request_create(
        requester=org.requester,
        service=service,
        title="Laptop",
        description="Broken",
        priority=priority,
        now=FILED,
    )


def basis_lines(client, request) -> list[str]:
    page = client.get(f"/requests/{request.pk}/").content.decode()
    return [
        html.unescape(line.split(">", 1)[1].rsplit("<", 1)[0])
        for line in page.splitlines()
        if 'class="clock-basis' in line
    ]


@pytest.fixture
def closed_for_christmas(org):
    for day in (24, 25, 26):
        HolidayFactory(calendar=org.provider.calendar, date=datetime.date(2026, 12, day))


def test_it_names_the_agreement_and_its_version_the_hours_and_the_days_off(
    client, org, service, closed_for_christmas
):
    for version in (1, 2, 3):
        agreement_accepted(
            proposer=org.provider_manager,
            decider=org.customer_manager,
            provider=org.provider,
            customer=org.customer,
            targets=[(None, "normal", 4, 16 + version)],
            now=FILED - datetime.timedelta(days=10 - version),
        )
    request = file(org, service)
    client.force_login(org.requester)

    assert basis_lines(client, request) == [
        "4 business hours under the Sales-IT agreement v3; IT works Mon-Fri 09:00-17:00 "
        "Europe/Berlin; closed 24-26 Dec",
        "2 business days 3 hours under the Sales-IT agreement v3; IT works Mon-Fri "
        "09:00-17:00 Europe/Berlin; closed 24-26 Dec",
    ]
    # Due Monday 28 December 12:00: an hour on the 23rd, three on the 28th.
    first = SLAClock.objects.get(request=request, kind="first_response")
    assert first.due_at == datetime.datetime(2026, 12, 28, 12, 0, tzinfo=BERLIN)


def test_it_says_when_an_agreement_has_support_hours_of_its_own(client, org, service):
    extended = BusinessCalendarFactory(hours=[(day, "07:00", "20:00") for day in range(5)])
    agreement_accepted(
        proposer=org.provider_manager,
        decider=org.customer_manager,
        provider=org.provider,
        customer=org.customer,
        targets=[(service, "normal", 2, 26)],
        calendar=extended,
        now=FILED - datetime.timedelta(days=1),
    )
    request = file(org, service)
    client.force_login(org.agent)

    assert basis_lines(client, request) == [
        "2 business hours under the Sales-IT agreement v1 for Laptop; IT answers Mon-Fri "
        "07:00-20:00 Europe/Berlin under the agreement",
        "2 business days under the Sales-IT agreement v1 for Laptop; IT answers Mon-Fri "
        "07:00-20:00 Europe/Berlin under the agreement",
    ]


def test_it_names_the_service_target_the_default_and_the_fallback(client, org, service):
    printing = ServiceFactory(department=org.provider, name="Printing")
    SLATargetFactory(
        service=printing,
        priority=Priority.HIGH,
        first_response=datetime.timedelta(minutes=30),
        resolution=datetime.timedelta(hours=4),
    )
    client.force_login(org.requester)

    own = file(org, printing, Priority.HIGH)
    default = file(org, service)
    fallback = file(org, service, Priority.LOW)

    assert basis_lines(client, own)[0] == (
        "30 business minutes under IT's target for Printing; IT works Mon-Fri 09:00-17:00 "
        "Europe/Berlin"
    )
    assert basis_lines(client, default)[1] == (
        "1 business day under IT's default target; IT works Mon-Fri 09:00-17:00 Europe/Berlin"
    )
    assert basis_lines(client, fallback)[1] == (
        "10 business days under the company fallback (IT has no target for low priority); "
        "IT works Mon-Fri 09:00-17:00 Europe/Berlin"
    )


def test_a_clock_from_before_agreements_says_it_kept_its_target(client, org, service):
    request = file(org, service)
    SLAClock.objects.filter(request=request).update(target_source="")
    client.force_login(org.requester)

    assert basis_lines(client, request)[0] == (
        "2 business hours as the target stood when the clock started; IT works Mon-Fri "
        "09:00-17:00 Europe/Berlin"
    )


def test_no_page_shows_a_raw_duration(client, org, service):
    request = file(org, service)
    client.force_login(org.provider_manager)

    for url in (f"/requests/{request.pk}/", "/departments/it/", "/requests/queue/it/"):
        response = client.get(url)
        assert response.status_code == 200
        assertNotContains(response, "2:00:00")
        assertNotContains(response, "8:00:00")
    assertContains(client.get("/departments/it/"), "2 business hours")
