"""Data migrations: what they write into rows that existed before them."""

import datetime
import importlib
import zoneinfo

import pytest
import time_machine
from django.apps import apps

from departments.choices import Role
from requests_app import services
from requests_app.models import Comment, ServiceRequest, SLAClock
from tests.factories import (
    DepartmentFactory,
    MembershipFactory,
    ServiceFactory,
    SLATargetFactory,
    UserFactory,
)

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = datetime.datetime(2026, 12, 1, 10, tzinfo=BERLIN)

pytestmark = pytest.mark.clock(NOW)

stored_html = importlib.import_module("requests_app.migrations.0011_stored_html")
clock_service_priority = importlib.import_module(
    "requests_app.migrations.0013_clock_service_priority"
)
clock_stopped_at = importlib.import_module("requests_app.migrations.0015_clock_stopped_at")


def test_it_renders_the_rows_written_before_html_was_stored(org, service, monkeypatch):
    monkeypatch.setattr(stored_html, "BATCH", 2)  # several batches
    with time_machine.travel(NOW - datetime.timedelta(hours=1), tick=False):
        requests = [
            services.request_create(
                requester=org.requester,
                service=service,
                title=f"Laptop {n}",
                description=f"Number **{n}**<script>x</script>",
            )
            for n in range(5)
        ]
        for n, request in enumerate(requests[:3]):
            services.request_comment_add(request=request, author=org.agent, body=f"Reply *{n}*")
    # As they were before the migration: no HTML. One row was rendered already.
    ServiceRequest.objects.exclude(pk=requests[4].pk).update(description_html="")
    ServiceRequest.objects.filter(pk=requests[4].pk).update(description_html="<p>kept</p>")
    Comment.objects.update(body_html="")

    stored_html.stored_html_fill(apps, schema_editor=None)

    assert list(
        ServiceRequest.objects.order_by("pk").values_list("description_html", flat=True)
    ) == [
        *[f"<p>Number <strong>{n}</strong></p>\n" for n in range(4)],
        "<p>kept</p>",
    ]
    assert list(Comment.objects.order_by("pk").values_list("body_html", flat=True)) == [
        f"<p>Reply <em>{n}</em></p>\n" for n in range(3)
    ]


def test_it_tells_each_clock_the_service_and_priority_its_department_held_the_request_as(
    org, service, monkeypatch
):
    monkeypatch.setattr(clock_service_priority, "BATCH", 1)  # several batches
    facilities = DepartmentFactory(name="Facilities", slug="facilities", code="FAC")
    badges = ServiceFactory(department=facilities, name="Access badges and keys")
    fac_agent = UserFactory(username="fac_agent")
    MembershipFactory(user=fac_agent, department=facilities, role=Role.AGENT)
    printer = ServiceFactory(department=org.provider, name="Printer")
    monitor = ServiceFactory(department=org.provider, name="Monitor")
    for department in (org.provider, facilities):
        SLATargetFactory(department=department, priority="high")
    SLATargetFactory(department=facilities, priority="normal")

    def at(hours):
        return NOW - datetime.timedelta(days=1, hours=hours)

    def file(on):
        return services.request_create(
            requester=org.requester, service=on, title="t", description="d", now=at(9)
        )

    staying = file(service)
    # IT raises it and hands it to Facilities, which raises it again.
    moved = file(service)
    services.request_priority_change(request=moved, actor=org.agent, priority="high", now=at(8))
    services.request_transfer(
        request=moved, actor=org.agent, department=facilities, service=badges, now=at(7)
    )
    services.request_priority_change(request=moved, actor=fac_agent, priority="urgent", now=at(6))
    # There and back: IT as its laptop request, Facilities raises it, IT again as a monitor.
    back = file(service)
    services.request_transfer(
        request=back, actor=org.agent, department=facilities, service=badges, now=at(7)
    )
    services.request_priority_change(request=back, actor=fac_agent, priority="high", now=at(6))
    services.request_transfer(
        request=back, actor=fac_agent, department=org.provider, service=monitor, now=at(5)
    )
    # Its service renamed since the transfer: which one it was cannot be told.
    renamed = file(printer)
    services.request_transfer(
        request=renamed, actor=org.agent, department=facilities, service=badges, now=at(7)
    )
    printer.name = "Printers and scanners"
    printer.save()

    def held():
        return {
            clock.pk: (clock.request_id, clock.department.slug, clock.service_id, clock.priority)
            for clock in SLAClock.objects.select_related("department")
        }

    written = held()
    # As they were before the migration: every clock with the migration's default.
    SLAClock.objects.update(service=None, priority="normal")

    clock_service_priority.clock_held_as_fill(apps, schema_editor=None)

    # What the services wrote, but where the renamed service cannot be found any more.
    assert held() == {
        pk: (request, slug, None if (request, slug) == (renamed.pk, "it") else service_id, priority)
        for pk, (request, slug, service_id, priority) in written.items()
    }
    assert len(written) == 16  # two a hold: 2 + 4 + 6 + 4
    assert set(held().values()) == {
        (staying.pk, "it", service.pk, "normal"),
        (moved.pk, "it", service.pk, "high"),
        (moved.pk, "facilities", badges.pk, "urgent"),
        (back.pk, "it", service.pk, "normal"),
        (back.pk, "facilities", badges.pk, "high"),
        (back.pk, "it", monitor.pk, "high"),
        (renamed.pk, "it", None, "normal"),
        (renamed.pk, "facilities", badges.pk, "normal"),
    }


def test_it_tells_each_clock_a_transfer_or_a_cancellation_ended_when_it_stopped(org, service):
    facilities = DepartmentFactory(name="Facilities", slug="facilities", code="FAC")
    ServiceFactory(department=facilities, name="Access badges and keys")
    fac_agent = UserFactory(username="fac_agent")
    MembershipFactory(user=fac_agent, department=facilities, role=Role.AGENT)

    def at(hours):
        return NOW - datetime.timedelta(days=2, hours=hours)

    def file():
        return services.request_create(
            requester=org.requester, service=service, title="t", description="d", now=at(30)
        )

    def transfer(request, actor, department, when):
        services.request_transfer(
            request=request, actor=actor, department=department, service=None, now=when
        )

    file()  # still running
    late = file()  # IT's clocks due and breached before the hand-over, Facilities' cancelled
    transfer(late, org.agent, facilities, at(8))
    services.request_transition(request=late, actor=org.requester, action="cancel", now=at(7))
    answered = file()  # answered, then there and back
    services.request_acknowledge(request=answered, actor=org.agent, now=at(29))
    transfer(answered, org.agent, facilities, at(28))
    transfer(answered, fac_agent, org.provider, at(27))
    services.request_transition(
        request=answered, actor=org.agent, action="resolve", comment="done", now=at(26)
    )

    written = dict(SLAClock.objects.values_list("pk", "stopped_at"))
    assert sorted(value for value in written.values() if value is not None) == [
        at(28),  # answered: IT's resolution clock (its first response was completed)
        at(27),  # answered: Facilities' two
        at(27),
        at(8),  # late: IT's two
        at(8),
        at(7),  # late: Facilities' two
        at(7),
    ]
    SLAClock.objects.update(stopped_at=None)  # as they were before the migration

    clock_stopped_at.stopped_at_fill(apps, schema_editor=None)

    assert dict(SLAClock.objects.values_list("pk", "stopped_at")) == written
