"""Each clock records the service and the priority its department held the request as, so
that a transferred request's time with the first department counts under the first
department's service (the scorecards grouped the clocks by the request's current service).

Existing clocks are filled in from what the request and its events say:
- a current clock: its department holds the request now, as its service and priority;
- a retired clock (its department transferred the request on): the `service_from` of the
  transfer that ended the hold (a service of that department, by its name, unique there) and
  the priority as it stood then: filed with it, changed by each `priority_changed` before.
  A service renamed or deleted since the transfer cannot be told: the clock's is left null
  (and it is left out of the breakdown by service, nowhere else).
"""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery

BATCH = 500  # requests per round

CREATED, PRIORITY_CHANGED, TRANSFERRED = "created", "priority_changed", "transferred"


def _held_as(clock, events, services, current_priority):
    """(service id or None, priority) of a retired clock, from its request's events in
    order: as the request stood at the transfer that ended its department's hold."""
    created = next((event for event in events if event.kind == CREATED), None)
    changes = [event for event in events if event.kind == PRIORITY_CHANGED]
    priority = (
        (created.data or {}).get("priority") if created is not None else None
    ) or next((change.data.get("from") for change in changes if change.data), None)
    priority = priority or current_priority
    for event in events:
        data = event.data or {}
        if event.kind == PRIORITY_CHANGED:
            priority = data.get("to") or priority
        elif (
            event.kind == TRANSFERRED
            and event.department_id == clock.department_id
            and event.created_at >= clock.started_at
        ):
            return services.get((clock.department_id, data.get("service_from"))), priority
    return None, priority


def clock_held_as_fill(apps, schema_editor):
    SLAClock = apps.get_model("requests_app", "SLAClock")
    ServiceRequest = apps.get_model("requests_app", "ServiceRequest")
    RequestEvent = apps.get_model("requests_app", "RequestEvent")
    Service = apps.get_model("departments", "Service")

    request = ServiceRequest.objects.filter(pk=OuterRef("request_id"))
    SLAClock.objects.filter(is_current=True).update(
        service_id=Subquery(request.values("service_id")[:1]),
        priority=Subquery(request.values("priority")[:1]),
    )

    services = {
        (department_id, name): pk
        for pk, department_id, name in Service.objects.values_list("pk", "department_id", "name")
    }
    retired = SLAClock.objects.filter(is_current=False)
    last = 0
    while True:
        ids = list(
            retired.filter(request_id__gt=last)
            .order_by("request_id")
            .values_list("request_id", flat=True)
            .distinct()[:BATCH]
        )
        if not ids:
            return
        last = ids[-1]
        events = {pk: [] for pk in ids}
        for event in RequestEvent.objects.filter(
            request_id__in=ids, kind__in=[CREATED, PRIORITY_CHANGED, TRANSFERRED]
        ).order_by("request_id", "created_at", "id"):
            events[event.request_id].append(event)
        priorities = dict(ServiceRequest.objects.filter(pk__in=ids).values_list("pk", "priority"))
        clocks = list(retired.filter(request_id__in=ids))
        for clock in clocks:
            clock.service_id, clock.priority = _held_as(
                clock, events[clock.request_id], services, priorities[clock.request_id]
            )
        SLAClock.objects.bulk_update(clocks, ["service", "priority"], batch_size=BATCH)


class Migration(migrations.Migration):

    dependencies = [
        ("departments", "0003_membership_primary_message"),
        ("requests_app", "0012_clock_late_scan_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="slaclock",
            name="service",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=models.deletion.PROTECT,
                related_name="clocks",
                to="departments.service",
            ),
        ),
        migrations.AddField(
            model_name="slaclock",
            name="priority",
            field=models.CharField(
                choices=[
                    ("low", "Low"),
                    ("normal", "Normal"),
                    ("high", "High"),
                    ("urgent", "Urgent"),
                ],
                default="normal",
                max_length=10,
            ),
            preserve_default=False,
        ),
        # Reversed, the columns go with the fields: nothing to undo here.
        migrations.RunPython(clock_held_as_fill, migrations.RunPython.noop, elidable=True),
    ]
