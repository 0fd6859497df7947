"""The bench loads the rows the app would write: every event kind it writes, with data of
the same shape as the lifecycle's (the demo's history runs the lifecycle), the notification
the lifecycle sends, clock targets by the app's own precedence, and the scanner's marks of
a scanner that kept up until now0."""

import datetime
import json
import random
import zoneinfo
from collections import defaultdict

import pytest
from django.db.models import BooleanField, CharField, F, JSONField, Value
from django.db.models.functions import Cast, Concat

from bench import generate
from departments.models import BusinessCalendar, Department, Service
from departments.org_import import org_import
from requests_app import demo
from requests_app.choices import ClockKind, EventKind, NotificationKind
from requests_app.models import Notification, RequestEvent, SLAClock
from requests_app.scanner import _due_clock_ids
from requests_app.selectors import clock_targets
from servicedesk.management.commands import seed_demo as seed_demo_command

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = datetime.datetime(2026, 11, 18, 15, 20, tzinfo=BERLIN)

pytestmark = pytest.mark.clock(NOW)


def _copy_fields(line: str) -> list[str]:
    """One COPY text row back into its fields (the inverse of generate._text)."""
    return [
        field.replace("\\t", "\t").replace("\\n", "\n").replace("\\r", "\r").replace("\\\\", "\\")
        for field in line.split("\t")
    ]


def _shapes(pairs) -> dict[str, set[frozenset]]:
    shapes = defaultdict(set)
    for kind, data in pairs:
        shapes[kind].add(frozenset(data))
    return shapes


@pytest.fixture
def app_shapes(db):
    """The keys of each event kind's data as the lifecycle writes them (a demo history),
    after which the demo organisation steps aside for the bench's own."""
    org_import(
        data_text=seed_demo_command.DEMO_ORG_FILE.read_text(encoding="utf-8"),
        source_name=seed_demo_command.DEMO_ORG_FILE.name,
        default_password="demo",
    )
    demo.history_generate(weeks=3, requests_per_week=60, now=NOW)
    shapes = _shapes(RequestEvent.objects.values_list("kind", "data"))
    Department.objects.update(
        name=Concat(Value("demo "), "name"),
        slug=Concat(Value("demo-"), "slug"),
        code=Concat(Value("D"), Cast("pk", CharField())),
    )
    BusinessCalendar.objects.update(name=Concat(Value("demo "), "name"))
    return shapes


@pytest.fixture
def bench_org(db):
    return generate.org_build(random.Random(7))


def _now0(org) -> int:
    return generate._epoch(generate.now0_for(NOW, [d.version for d in org.departments]))


def _bench_chunk(org, *, requests=600, open_requests=200):
    now0 = _now0(org)
    plans = generate.plans_make(
        org, requests=requests, open_requests=open_requests, crossings=30, now0=now0, seed=7
    )
    texts, _counts, _stats = generate.chunk_make(org, plans, 1, now0, 7)
    return {
        model: [_copy_fields(line) for line in text.splitlines()] for model, text in texts.items()
    }


def _copy_value(field, text: str):
    """A COPY text field back into the model field's value."""
    if text == "\\N":
        return None
    if isinstance(field, BooleanField):
        return text == "t"
    if isinstance(field, JSONField):
        return json.loads(text)
    return field.to_python(text)


def _bench_load(rows) -> None:
    """A chunk's rows into the test database, as the bench's COPY loads them."""
    for model in generate.LOADED_MODELS:
        fields = {field.attname: field for field in model._meta.concrete_fields}
        columns = [fields[name] for name in generate.COLUMNS[model]]
        model.objects.bulk_create(
            (
                model(
                    **{
                        field.attname: _copy_value(field, text)
                        for field, text in zip(columns, row, strict=True)
                    }
                )
                for row in rows[model]
            ),
            batch_size=500,
        )


def test_the_bench_writes_the_event_kinds_and_data_the_lifecycle_writes(app_shapes, bench_org):
    rows = _bench_chunk(bench_org)
    columns = generate.COLUMNS[RequestEvent]
    kind_at, data_at = columns.index("kind"), columns.index("data")
    bench_shapes = _shapes((row[kind_at], json.loads(row[data_at])) for row in rows[RequestEvent])
    assert set(bench_shapes) <= set(EventKind.values)
    # It writes the kinds whose data matter to the clocks and the pages, every one of them.
    assert {
        EventKind.CREATED,
        EventKind.ASSIGNED,
        EventKind.COMMENTED,
        EventKind.STATUS_CHANGED,
        EventKind.PROMISED,
        # Its providers have escalation levels, which replace the default warning.
        EventKind.ESCALATED,
        EventKind.SLA_BREACHED,
    } <= set(bench_shapes)
    for kind, shapes in bench_shapes.items():
        assert shapes <= app_shapes[kind], kind


def test_the_bench_notifies_the_provider_as_the_lifecycle_does(app_shapes, bench_org):
    rows = _bench_chunk(bench_org)
    columns = generate.COLUMNS[Notification]
    kind_at, message_at, key_at = (columns.index(c) for c in ("kind", "message", "dedupe_key"))
    filed = Notification.objects.filter(kind=NotificationKind.REQUEST_FILED).first()
    assert filed.dedupe_key == f"filed:{filed.request_id}"
    for row in rows[Notification]:
        assert row[kind_at] == NotificationKind.REQUEST_FILED
        assert row[key_at] == f"filed:{row[columns.index('request_id')]}"
        assert row[message_at].startswith("New ")
        assert " request from " in row[message_at]


def test_bench_clocks_start_with_the_targets_the_app_would_give(bench_org):
    for department in bench_org.departments:
        for bench_service in department.services:
            service = Service.objects.get(pk=bench_service.id)
            for priority, (first, resolution) in bench_service.targets.items():
                targets = clock_targets(service, priority)
                assert (first, resolution) == (
                    targets[ClockKind.FIRST_RESPONSE],
                    targets[ClockKind.RESOLUTION],
                )
    # One service per provider has tighter targets of its own.
    tighter = [d.services[0].targets["normal"] for d in bench_org.departments if d.services]
    normal = [d.services[1].targets["normal"] for d in bench_org.departments if d.services]
    assert all(t[0] * 2 == n[0] for t, n in zip(tighter, normal, strict=True))


def test_the_scanner_has_kept_up_until_now0(bench_org):
    """Every warning and breach up to now0 was told, a breach also when its clock was
    completed late before the scan after it (the scanner tells those at its next run): the
    scan at now0 finds nothing, and the one a minute later only the thresholds of that
    minute."""
    _bench_load(_bench_chunk(bench_org, requests=3000, open_requests=3000))
    now0 = generate._at(_now0(bench_org))
    minute_later = now0 + datetime.timedelta(minutes=1)
    breached = SLAClock.objects.filter(breached_at__lte=now0)
    # Some were answered late, less than a minute after falling due: before the next scan.
    assert breached.filter(
        completed_at__gt=F("breached_at"),
        completed_at__lt=F("breached_at") + datetime.timedelta(minutes=1),
    ).exists()

    assert not breached.filter(breach_notified_at__isnull=True).exists()
    assert not breached.filter(breach_notified_at__gt=now0).exists()
    assert _due_clock_ids(now0, 10_000) == []
    due = SLAClock.objects.filter(pk__in=_due_clock_ids(minute_later, 10_000))
    assert due.count() >= 30
    for clock in due:
        assert (
            now0 < clock.warn_at <= minute_later
            or now0 < clock.due_at <= minute_later
            or now0 < clock.next_escalation_at <= minute_later
        ), clock
    # The bench's levels are due in that minute too, and none was left behind before it.
    assert due.filter(next_escalation_at__gt=now0, next_escalation_at__lte=minute_later).exists()
    assert not SLAClock.objects.filter(next_escalation_at__lte=now0).exists()
