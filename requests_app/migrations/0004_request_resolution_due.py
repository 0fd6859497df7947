from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def due_times_copy(apps, schema_editor):
    """Copy each request's due times from its current clocks (clocks.request_due_times)."""
    ServiceRequest = apps.get_model("requests_app", "ServiceRequest")
    SLAClock = apps.get_model("requests_app", "SLAClock")
    current = SLAClock.objects.filter(request=OuterRef("pk"), is_current=True)
    resolution_due = current.filter(kind="resolution").values("due_at")[:1]
    sla_due = (
        current.filter(state__in=["running", "breached"], due_at__isnull=False)
        .order_by("due_at")
        .values("due_at")[:1]
    )
    ServiceRequest.objects.update(
        resolution_due_at=Subquery(resolution_due), sla_due_at=Subquery(sla_due)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("departments", "0003_membership_primary_message"),
        ("requests_app", "0003_notification_low_rating"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="servicerequest",
            name="resolution_due_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="servicerequest",
            name="sla_due_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(due_times_copy, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="servicerequest",
            index=models.Index(
                models.F("provider_department"),
                models.F("resolution_due_at"),
                models.F("created_at"),
                models.F("id"),
                condition=models.Q(("status__in", ("new", "in_progress", "waiting_on_requester"))),
                name="request_open_due_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="servicerequest",
            index=models.Index(
                fields=["provider_department", "sla_due_at"],
                condition=models.Q(("status__in", ("new", "in_progress", "waiting_on_requester"))),
                name="request_open_sla_idx",
            ),
        ),
    ]
