"""The bench loads the rows the app would write: every event kind it writes, with data of
the same shape as the lifecycle's (the demo's history runs the lifecycle), the notification
the lifecycle sends, and clock targets by the app's own precedence."""

import datetime
import json
import random
import zoneinfo
from collections import defaultdict

import pytest
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat

from bench import generate
from departments.models import BusinessCalendar, Department, Service
from departments.org_import import org_import
from requests_app import demo
from requests_app.choices import ClockKind, EventKind, NotificationKind
from requests_app.models import Notification, RequestEvent
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


def _bench_chunk(org):
    now0 = generate._epoch(generate.now0_for(NOW, [d.version for d in org.departments]))
    plans = generate.plans_make(
        org, requests=600, open_requests=200, crossings=30, now0=now0, seed=7
    )
    texts, _counts, _stats = generate.chunk_make(org, plans, 1, now0, 7)
    return {
        model: [_copy_fields(line) for line in text.splitlines()] for model, text in texts.items()
    }


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
        EventKind.SLA_WARNING,
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
