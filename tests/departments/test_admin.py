"""Configuration through the admin and the model rules behind it."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from pytest_django.asserts import assertContains

from departments.choices import Priority, Role
from departments.models import BusinessCalendar, Membership, SLATarget, WorkingHours
from tests.factories import (
    BusinessCalendarFactory,
    DepartmentFactory,
    MembershipFactory,
    ServiceFactory,
    UserFactory,
)

ADD_URL = "/admin/departments/businesscalendar/add/"


def calendar_form(*rows, name="Office", timezone="Europe/Berlin", existing=(), calendar=None):
    """POST data of the calendar admin page: `rows` are new (weekday, start, end) intervals,
    `existing` are WorkingHours already saved, kept unless given as (row, "DELETE")."""
    data = {
        "name": name,
        "timezone": timezone,
        "holiday_country": "",
        "holiday_subdivision": "",
        "holidays-TOTAL_FORMS": "0",
        "holidays-INITIAL_FORMS": "0",
        "holidays-MIN_NUM_FORMS": "0",
        "holidays-MAX_NUM_FORMS": "1000",
        "working_hours-INITIAL_FORMS": str(len(existing)),
        "working_hours-MIN_NUM_FORMS": "0",
        "working_hours-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    forms = []
    for item in existing:
        hours, delete = (item[0], True) if isinstance(item, tuple) else (item, False)
        form = {
            "id": str(hours.pk),
            "calendar": str(calendar.pk),
            "weekday": str(hours.weekday),
            "start": hours.start.strftime("%H:%M"),
            "end": hours.end.strftime("%H:%M"),
        }
        if delete:
            form["DELETE"] = "on"
        forms.append(form)
    for weekday, start, end in rows:
        forms.append({"weekday": str(weekday), "start": start, "end": end})
    for index, form in enumerate(forms):
        for key, value in form.items():
            data[f"working_hours-{index}-{key}"] = value
    data["working_hours-TOTAL_FORMS"] = str(len(forms))
    return data


# BusinessCalendar in the admin


def test_it_saves_a_calendar_with_several_intervals_a_day(admin_client):
    response = admin_client.post(
        ADD_URL, calendar_form((0, "09:00", "12:00"), (0, "13:00", "17:00"), (1, "09:00", "17:00"))
    )

    assert response.status_code == 302
    calendar = BusinessCalendar.objects.get(name="Office")
    assert list(calendar.working_hours.values_list("weekday", "start", "end")) == [
        (0, datetime.time(9), datetime.time(12)),
        (0, datetime.time(13), datetime.time(17)),
        (1, datetime.time(9), datetime.time(17)),
    ]


def test_it_refuses_overlapping_intervals(admin_client):
    response = admin_client.post(
        ADD_URL, calendar_form((0, "09:00", "13:00"), (0, "12:00", "17:00"), (1, "09:00", "17:00"))
    )

    assert response.status_code == 200
    assertContains(response, "Working hours overlap on Monday.")
    assert not BusinessCalendar.objects.exists()
    assert not WorkingHours.objects.exists()


def test_it_refuses_an_interval_inside_another(admin_client):
    response = admin_client.post(
        ADD_URL, calendar_form((2, "08:00", "18:00"), (2, "10:00", "11:00"))
    )

    assertContains(response, "Working hours overlap on Wednesday.")
    assert not BusinessCalendar.objects.exists()


def test_it_refuses_an_interval_overlapping_one_up_to_midnight(admin_client):
    response = admin_client.post(
        ADD_URL, calendar_form((4, "20:00", "00:00"), (4, "23:00", "23:30"))
    )

    assertContains(response, "Working hours overlap on Friday.")
    assert not BusinessCalendar.objects.exists()


def test_it_accepts_intervals_that_touch(admin_client):
    response = admin_client.post(
        ADD_URL, calendar_form((0, "09:00", "12:00"), (0, "12:00", "17:00"))
    )

    assert response.status_code == 302
    assert WorkingHours.objects.count() == 2


def test_it_refuses_an_interval_that_ends_before_it_starts(admin_client):
    response = admin_client.post(ADD_URL, calendar_form((0, "17:00", "09:00")))

    assert response.status_code == 200
    assertContains(response, "The interval must end after it starts.")
    assert not BusinessCalendar.objects.exists()
    assert not WorkingHours.objects.exists()


def test_it_refuses_an_empty_interval(admin_client):
    response = admin_client.post(ADD_URL, calendar_form((0, "09:00", "09:00")))

    assertContains(response, "The interval must end after it starts.")
    assert not BusinessCalendar.objects.exists()


def test_it_accepts_an_end_of_midnight(admin_client):
    response = admin_client.post(ADD_URL, calendar_form((5, "18:00", "00:00")))

    assert response.status_code == 302
    hours = WorkingHours.objects.get()
    assert (hours.weekday, hours.start, hours.end) == (5, datetime.time(18), datetime.time(0))


def test_it_accepts_a_24x7_calendar(admin_client):
    response = admin_client.post(
        ADD_URL, calendar_form(*[(day, "00:00", "00:00") for day in range(7)], name="24x7")
    )

    assert response.status_code == 302
    calendar = BusinessCalendar.objects.get(name="24x7")
    assert list(calendar.working_hours.values_list("weekday", "start", "end")) == [
        (day, datetime.time(0), datetime.time(0)) for day in range(7)
    ]


def test_it_refuses_an_unknown_timezone(admin_client):
    response = admin_client.post(
        ADD_URL, calendar_form((0, "09:00", "17:00"), timezone="Mars/Olympus")
    )

    assert response.status_code == 200
    assertContains(
        response, "Mars/Olympus is not a known timezone (use an IANA name such as Europe/Berlin)."
    )
    assert not BusinessCalendar.objects.exists()


def test_it_refuses_an_unknown_holiday_country(admin_client):
    data = calendar_form((0, "09:00", "17:00"))
    data["holiday_country"] = "XX"

    response = admin_client.post(ADD_URL, data)

    assertContains(response, "XX is not a country the holidays package knows")
    assert not BusinessCalendar.objects.exists()


def test_it_refuses_an_overlap_with_a_saved_interval(admin_client, db):
    calendar = BusinessCalendarFactory(name="Office", hours=[(0, "09:00", "17:00")])
    saved = calendar.working_hours.get()

    response = admin_client.post(
        f"/admin/departments/businesscalendar/{calendar.pk}/change/",
        calendar_form((0, "16:00", "18:00"), existing=[saved], calendar=calendar),
    )

    assertContains(response, "Working hours overlap on Monday.")
    assert calendar.working_hours.count() == 1


def test_it_accepts_a_replacement_for_a_deleted_interval(admin_client, db):
    calendar = BusinessCalendarFactory(name="Office", hours=[(0, "09:00", "17:00")])
    saved = calendar.working_hours.get()

    response = admin_client.post(
        f"/admin/departments/businesscalendar/{calendar.pk}/change/",
        calendar_form((0, "08:00", "16:00"), existing=[(saved, "DELETE")], calendar=calendar),
    )

    assert response.status_code == 302
    assert list(calendar.working_hours.values_list("start", "end")) == [
        (datetime.time(8), datetime.time(16))
    ]


@pytest.mark.parametrize(
    "url",
    [
        "/admin/departments/businesscalendar/",
        ADD_URL,
        "/admin/departments/department/",
        "/admin/departments/department/add/",
        "/admin/departments/service/",
        "/admin/departments/slatarget/",
        "/admin/departments/membership/",
        "/admin/departments/agreement/",
    ],
)
def test_it_renders_the_admin_pages(admin_client, url):
    assert admin_client.get(url).status_code == 200


def test_it_renders_a_departments_change_page(admin_client, org):
    ServiceFactory(department=org.provider, name="Laptop")

    response = admin_client.get(f"/admin/departments/department/{org.provider.pk}/change/")

    assertContains(response, "Laptop")


def test_it_keeps_the_admin_from_non_staff(client, org):
    client.force_login(org.provider_manager)

    response = client.get(ADD_URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# Model rules


def test_it_refuses_targets_for_a_service_of_another_department(db):
    it = DepartmentFactory(slug="it")
    legal = DepartmentFactory(slug="legal")
    contract_review = ServiceFactory(department=legal)
    target = SLATarget(
        department=it,
        service=contract_review,
        priority=Priority.NORMAL,
        first_response=datetime.timedelta(hours=1),
        resolution=datetime.timedelta(hours=2),
    )

    with pytest.raises(ValidationError) as caught:
        target.full_clean()

    assert caught.value.message_dict == {"service": ["The service belongs to another department."]}


def test_it_refuses_a_resolution_target_shorter_than_first_response(db):
    service = ServiceFactory()
    target = SLATarget(
        department=service.department,
        service=service,
        priority=Priority.NORMAL,
        first_response=datetime.timedelta(hours=4),
        resolution=datetime.timedelta(hours=2),
    )

    with pytest.raises(ValidationError) as caught:
        target.clean()

    assert caught.value.message_dict == {
        "resolution": ["Resolution cannot be due before the first response."]
    }


def test_it_refuses_a_zero_first_response_target(db):
    department = DepartmentFactory()
    target = SLATarget(
        department=department,
        priority=Priority.NORMAL,
        first_response=datetime.timedelta(0),
        resolution=datetime.timedelta(hours=2),
    )

    with pytest.raises(ValidationError) as caught:
        target.clean()

    assert caught.value.message_dict == {
        "first_response": ["The first-response target must be positive."]
    }


def test_it_accepts_equal_first_response_and_resolution_targets(db):
    service = ServiceFactory()
    target = SLATarget(
        department=service.department,
        service=service,
        priority=Priority.URGENT,
        first_response=datetime.timedelta(hours=1),
        resolution=datetime.timedelta(hours=1),
    )

    target.full_clean()
    target.save()


def test_it_refuses_a_department_below_its_own_descendant(db):
    company = DepartmentFactory(slug="company")
    division = DepartmentFactory(slug="division", parent=company)
    team = DepartmentFactory(slug="team", parent=division)

    company.parent = team
    with pytest.raises(ValidationError) as caught:
        company.full_clean()

    assert caught.value.message_dict == {"parent": ["A department cannot be its own ancestor."]}


def test_it_refuses_a_department_as_its_own_parent(db):
    department = DepartmentFactory(slug="it")

    department.parent = department
    with pytest.raises(ValidationError) as caught:
        department.clean()

    assert caught.value.message_dict == {"parent": ["A department cannot be its own ancestor."]}


def test_it_accepts_moving_a_department_under_a_sibling(db):
    company = DepartmentFactory(slug="company")
    sales = DepartmentFactory(slug="sales", parent=company)
    marketing = DepartmentFactory(slug="marketing", parent=company)

    marketing.parent = sales
    marketing.full_clean()


def test_it_refuses_a_cycle_through_the_admin(admin_client, db):
    company = DepartmentFactory(name="Company", slug="company", code="CO")
    division = DepartmentFactory(name="Division", slug="division", code="DIV", parent=company)
    data = {
        "name": "Company",
        "slug": "company",
        "code": "CO",
        "parent": str(division.pk),
        "calendar": str(company.calendar_id),
        "is_provider": "on",
        "description": "",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "sla_targets-TOTAL_FORMS": "0",
        "sla_targets-INITIAL_FORMS": "0",
        "_save": "Save",
    }

    response = admin_client.post(f"/admin/departments/department/{company.pk}/change/", data)

    assertContains(response, "A department cannot be its own ancestor.")
    company.refresh_from_db()
    assert company.parent is None


def test_it_allows_one_primary_membership_per_user_in_the_database(db):
    user = UserFactory()
    MembershipFactory(user=user, department=DepartmentFactory(slug="it"), is_primary=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        MembershipFactory(user=user, department=DepartmentFactory(slug="sales"), is_primary=True)

    assert Membership.objects.filter(user=user).count() == 1


def test_it_refuses_a_second_primary_membership_on_validation(db):
    user = UserFactory()
    MembershipFactory(user=user, department=DepartmentFactory(slug="it"), is_primary=True)
    second = Membership(
        user=user, department=DepartmentFactory(slug="sales"), role=Role.AGENT, is_primary=True
    )

    with pytest.raises(ValidationError) as caught:
        second.full_clean()

    # A rule across rows: reported for the whole form, not one field.
    assert list(caught.value.message_dict) == ["__all__"]


def test_it_allows_several_secondary_memberships(db):
    user = UserFactory()
    MembershipFactory(user=user, department=DepartmentFactory(slug="it"), is_primary=True)
    MembershipFactory(user=user, department=DepartmentFactory(slug="sales"), is_primary=False)
    MembershipFactory(user=user, department=DepartmentFactory(slug="legal"), is_primary=False)

    assert Membership.objects.filter(user=user).count() == 3


def test_it_refuses_a_slug_that_a_page_uses(db):
    from departments.models import Department
    from tests.factories import BusinessCalendarFactory

    department = Department(
        name="Matrix", slug="matrix", code="MX", calendar=BusinessCalendarFactory()
    )
    with pytest.raises(ValidationError) as error:
        department.full_clean()
    assert "reserved" in str(error.value.message_dict["slug"])


def test_the_admin_shows_an_agreement_but_changes_nothing(admin_client, org):
    from tests.factories import agreement_accepted

    agreement = agreement_accepted(
        proposer=org.provider_manager,
        decider=org.customer_manager,
        provider=org.provider,
        customer=org.customer,
        targets=[(None, "normal", 1, 4)],
        now=datetime.datetime(2026, 11, 23, 10, tzinfo=datetime.UTC),
    )
    url = f"/admin/departments/agreement/{agreement.pk}/change/"

    assertContains(admin_client.get(url), "Sales-IT agreement v1")
    admin_client.post(url, {"state": "declined"})
    admin_client.post(f"/admin/departments/agreement/{agreement.pk}/delete/", {"post": "yes"})
    agreement.refresh_from_db()
    assert agreement.state == "accepted"
    assert admin_client.get("/admin/departments/agreement/add/").status_code == 403
