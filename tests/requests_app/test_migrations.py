"""Data migrations: what they write into rows that existed before them."""

import datetime
import importlib
import zoneinfo

import pytest
import time_machine
from django.apps import apps

from requests_app import services
from requests_app.models import Comment, ServiceRequest

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = datetime.datetime(2026, 12, 1, 10, tzinfo=BERLIN)

pytestmark = pytest.mark.clock(NOW)

stored_html = importlib.import_module("requests_app.migrations.0011_stored_html")


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
