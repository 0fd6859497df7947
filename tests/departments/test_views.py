"""The department directory and a department's page with its catalog and targets."""

import datetime

import pytest
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from departments.choices import Priority
from tests.factories import DepartmentFactory, ServiceFactory, SLATargetFactory


@pytest.fixture
def catalog(org):
    """IT offers two active services (one with its own HIGH target) and a retired one."""
    laptop = ServiceFactory(
        department=org.provider, name="New laptop", description="Ordered for you"
    )
    outage = ServiceFactory(department=org.provider, name="Outage", default_priority=Priority.HIGH)
    ServiceFactory(department=org.provider, name="Fax machine", active=False)
    SLATargetFactory(
        department=org.provider,
        priority=Priority.NORMAL,
        first_response=datetime.timedelta(hours=4),
        resolution=datetime.timedelta(hours=16),
    )
    SLATargetFactory(
        service=outage,
        priority=Priority.HIGH,
        first_response=datetime.timedelta(minutes=30),
        resolution=datetime.timedelta(hours=2),
    )
    return {"laptop": laptop, "outage": outage}


@pytest.mark.parametrize("url", ["/departments/", "/departments/it/", "/departments/nowhere/"])
def test_it_sends_anonymous_users_to_the_login_page(client, org, url):
    response = client.get(url)

    assertRedirects(response, f"/login/?next={url}")


def test_it_lists_every_department_with_its_active_services(client, org, catalog):
    DepartmentFactory(name="Board", slug="board", code="BRD", is_provider=False)
    DepartmentFactory(name="IT Support", slug="it-support", code="ITS", parent=org.provider)
    client.force_login(org.requester)

    response = client.get("/departments/")

    assertContains(response, '<a href="/departments/it/">IT</a>', html=False)
    assertContains(response, '<a href="/departments/legal/">Legal</a>', html=False)
    assertContains(response, "<li>New laptop</li>", html=True)
    assertContains(response, "<li>Outage</li>", html=True)
    assertNotContains(response, "Fax machine")
    assertContains(response, "Does not take requests.", count=1)
    assertContains(response, "Part of IT")


def test_it_lists_departments_in_a_constant_number_of_queries(
    client, org, django_assert_max_num_queries
):
    for n in range(10):
        department = DepartmentFactory(name=f"Division {n}", code=f"DIV{n}", parent=org.provider)
        ServiceFactory(department=department, name="Help")
    client.force_login(org.requester)

    # session, user, navigation memberships, hr group, unread badge, waiting surveys,
    # departments, services
    with django_assert_max_num_queries(8):
        response = client.get("/departments/")

    assert response.status_code == 200


def test_it_shows_a_department_with_the_targets_of_each_service(client, org, catalog):
    DepartmentFactory(name="IT Support", slug="it-support", code="ITS", parent=org.provider)
    client.force_login(org.requester)

    response = client.get("/departments/it/")

    assertContains(response, '<h1>IT <small class="muted">IT</small></h1>', html=True)
    assertContains(response, "New laptop")
    assertContains(response, "Ordered for you")
    # The laptop inherits the department default; the outage has its own HIGH target.
    # In business time, in words: IT works 8 hours a day.
    assertContains(
        response, '<span class="pill">Normal: 4 business hours / 2 business days</span>', count=2
    )
    assertContains(
        response, '<span class="pill">High: 30 business minutes / 2 business hours</span>', count=1
    )
    assertContains(response, '<a href="/departments/it-support/">IT Support</a>')


def test_it_hides_inactive_services_on_the_department_page(client, org, catalog):
    client.force_login(org.requester)

    response = client.get("/departments/it/")

    assertNotContains(response, "Fax machine")


def test_it_says_when_a_department_offers_nothing(client, org):
    client.force_login(org.requester)

    response = client.get("/departments/legal/")

    assertContains(response, "This department offers no services.")


def test_it_says_when_a_service_has_no_targets(client, org):
    ServiceFactory(department=org.other, name="Contract review")
    client.force_login(org.requester)

    response = client.get("/departments/legal/")

    assertContains(response, "Contract review")
    assertContains(response, '<span class="muted">No targets</span>', html=True)


def test_it_links_a_division_to_its_parent(client, org):
    DepartmentFactory(name="IT Support", slug="it-support", code="ITS", parent=org.provider)
    client.force_login(org.requester)

    response = client.get("/departments/it-support/")

    assertContains(response, 'Part of <a href="/departments/it/">IT</a>')


def test_it_answers_404_for_an_unknown_department(client, org):
    client.force_login(org.requester)

    response = client.get("/departments/nowhere/")

    assert response.status_code == 404


def test_it_shows_a_department_in_a_constant_number_of_queries(
    client, org, catalog, django_assert_max_num_queries
):
    for n in range(10):
        ServiceFactory(department=org.provider, name=f"Extra {n}")
    client.force_login(org.requester)

    # session, user, navigation (2), unread badge, waiting surveys, department, children,
    # working hours, holidays, services, agreement targets, service and department targets
    with django_assert_max_num_queries(13):
        response = client.get("/departments/it/")

    assert response.status_code == 200
