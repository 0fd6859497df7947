"""seed_demo's request history (requests_app/demo/): realistic, reproducible, and exactly
what the services would have written."""

import datetime
import io
import random
import zoneinfo

import pytest
from django.core.management import call_command
from django.db import transaction

from core.markdown import render_markdown
from departments.models import BusinessCalendar, Membership
from departments.org_import import org_import
from departments.services import calendar_version_current
from requests_app import demo, notifications
from requests_app.choices import OPEN_STATUSES, ClockState, EventKind, Status
from requests_app.management.commands.rebuild_clocks import COMPARED_FIELDS
from requests_app.models import (
    Comment,
    Notification,
    RequestEvent,
    RequestLink,
    ServiceRequest,
    SLAClock,
    WaitPeriod,
)
from requests_app.selectors import PROVIDER_ROLES
from requests_app.services import clocks_recompute
from servicedesk.management.commands import seed_demo as seed_demo_command

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
# A Wednesday afternoon: the history's "now", so that runs do not depend on the clock.
NOW = datetime.datetime(2026, 11, 18, 15, 20, tzinfo=BERLIN)

# The clock stands still at NOW for the whole module.
pytestmark = pytest.mark.clock(NOW)


class Rollback(Exception):
    pass


@pytest.fixture
def demo_org(db):
    report = org_import(
        data_text=seed_demo_command.DEMO_ORG_FILE.read_text(encoding="utf-8"),
        source_name=seed_demo_command.DEMO_ORG_FILE.name,
        default_password="demo",
    )
    # Made before any history, so that histories rolled back and made again share them
    # (PostgreSQL does not roll back ids).
    for calendar in BusinessCalendar.objects.all():
        calendar_version_current(calendar=calendar)
    return report


@pytest.fixture
def history(demo_org):
    return demo.history_generate(weeks=2, requests_per_week=50, now=NOW)


def snapshot() -> dict:
    """Every row the history writes. Notifications are compared without their ids: one
    `notify` call inserts its recipients in whatever order the database lists them."""
    rows = {}
    for model in demo.FAST_MODELS:
        values = list(model.objects.order_by("pk").values())
        if model is Notification:
            for row in values:
                del row["id"]
            values.sort(key=lambda row: (row["dedupe_key"], row["user_id"]))
        rows[model.__name__] = values
    return rows


def generate_and_roll_back(**kwargs) -> tuple[dict, demo.HistoryReport]:
    try:
        with transaction.atomic():
            report = demo.history_generate(now=NOW, **kwargs)
            rows = snapshot()
            raise Rollback
    except Rollback:
        pass
    assert not ServiceRequest.objects.exists()
    return rows, report


def test_it_files_requests_in_every_state_with_breaches_waits_reopens_transfers_and_links(
    history,
):
    assert history.outcome.failures == []
    requests = ServiceRequest.objects.all()
    assert 100 <= requests.count() <= 130
    assert set(requests.values_list("status", flat=True)) == set(Status.values)
    assert SLAClock.objects.filter(state=ClockState.BREACHED).exists()
    assert SLAClock.objects.filter(state=ClockState.MET).count() > 100
    assert WaitPeriod.objects.filter(ended_at__isnull=False, business_seconds__gt=0).exists()
    reopens = RequestEvent.objects.filter(
        kind=EventKind.STATUS_CHANGED, data__from=Status.RESOLVED, data__to=Status.IN_PROGRESS
    )
    assert reopens.exists()
    assert RequestEvent.objects.filter(kind=EventKind.TRANSFERRED).exists()
    assert RequestLink.objects.exists()
    assert RequestEvent.objects.filter(kind=EventKind.SLA_BREACHED).exists()
    assert RequestEvent.objects.filter(kind=EventKind.SLA_WARNING).exists()
    # The demo's escalation levels fire, IT's raising some priorities past due.
    escalated = RequestEvent.objects.filter(kind=EventKind.ESCALATED)
    assert {e.data["number"] for e in escalated.filter(department__slug="it")} == {1, 2, 3}
    assert RequestEvent.objects.filter(kind=EventKind.PRIORITY_CHANGED, actor__isnull=True).exists()
    assert RequestEvent.objects.filter(kind=EventKind.NOTE_ADDED, internal=True).exists()
    assert requests.filter(promised_at__isnull=False).exists()
    assert {"low", "normal", "high"} <= set(requests.values_list("priority", flat=True))
    # Queues are alive now: open requests, some with their clocks running.
    assert requests.filter(status__in=OPEN_STATUSES).count() >= 5
    assert SLAClock.objects.filter(is_current=True, state=ClockState.RUNNING).exists()


def test_it_closes_what_was_resolved_more_than_two_weeks_ago(history):
    resolved = ServiceRequest.objects.filter(status=Status.RESOLVED)
    assert resolved.exists()
    assert not resolved.filter(resolved_at__lt=NOW - datetime.timedelta(days=14)).exists()
    assert ServiceRequest.objects.filter(status=Status.CLOSED).exists()


def test_requesters_file_for_their_department_and_provider_staff_work_the_requests(history):
    primary = dict(Membership.objects.filter(is_primary=True).values_list("user", "department"))
    staff = set(
        Membership.objects.filter(role__in=PROVIDER_ROLES).values_list("user", "department")
    )
    start = NOW - datetime.timedelta(weeks=2)
    for request in ServiceRequest.objects.all():
        assert request.requesting_department_id == primary[request.requester_id]
        assert request.requesting_department_id != request.provider_department_id
        assert start <= request.created_at <= NOW
        if request.assignee_id:
            assert (request.assignee_id, request.provider_department_id) in staff
    on_weekdays = ServiceRequest.objects.filter(created_at__week_day__in=[2, 3, 4, 5, 6])
    assert on_weekdays.count() >= 0.9 * ServiceRequest.objects.count()


def test_it_leaves_no_email_to_send_and_only_recent_news_unread(history):
    seeded = Notification.objects.all()
    assert seeded.count() > 500
    assert not seeded.filter(emailed_at__isnull=True).exists()
    assert not seeded.filter(email_claimed_until__isnull=False).exists()
    assert notifications.notifications_deliver() == 0  # nothing about the past is sent
    old = seeded.filter(created_at__lt=NOW - datetime.timedelta(days=2))
    assert old.exists()
    assert not old.filter(read_at__isnull=True).exists()
    assert seeded.filter(read_at__isnull=True).exists()


def test_it_stores_every_text_rendered_as_the_services_do(history):
    requests = ServiceRequest.objects.values_list("description", "description_html")
    comments = Comment.objects.values_list("body", "body_html")

    assert requests.exists()
    assert comments.exists()
    for text, html in [*requests, *comments]:
        assert html == render_markdown(text)
        assert html


def test_the_stored_clocks_equal_a_rebuild(history):
    before = {row["pk"]: row for row in SLAClock.objects.values("pk", *COMPARED_FIELDS)}
    rebuilt = []
    for request in ServiceRequest.objects.order_by("pk"):
        rebuilt += clocks_recompute(request, now=NOW, current_only=False)
    assert len(rebuilt) == len(before)
    changed = [
        clock.pk
        for clock in rebuilt
        if any(getattr(clock, name) != before[clock.pk][name] for name in COMPARED_FIELDS)
    ]
    assert changed == []


def test_the_same_seed_gives_the_same_history(demo_org):
    first, _ = generate_and_roll_back(weeks=2, requests_per_week=30, seed=7)
    second, _ = generate_and_roll_back(weeks=2, requests_per_week=30, seed=7)
    other, _ = generate_and_roll_back(weeks=2, requests_per_week=30, seed=8)

    def titles(rows):
        return [(r["title"], r["status"], r["created_at"]) for r in rows["ServiceRequest"]]

    assert titles(first) == titles(second)
    assert first == second
    assert titles(first) != titles(other)


def test_the_fast_replay_writes_exactly_what_the_services_write(demo_org):
    """The services are the reference; the fast engine is their copy in memory."""
    by_services, reference = generate_and_roll_back(
        weeks=1, requests_per_week=40, engine="services"
    )
    first_pks = {
        model: by_services[model.__name__][0]["id"]
        for model in demo.FAST_MODELS
        if model is not Notification and by_services[model.__name__]
    }
    by_fast, fast = generate_and_roll_back(
        weeks=1, requests_per_week=40, engine="fast", first_pks=first_pks
    )

    assert reference.outcome.failures == fast.outcome.failures == []
    assert reference.outcome.actions == fast.outcome.actions
    kinds = {row["kind"] for row in by_services["RequestEvent"]}
    assert {
        EventKind.TRANSFERRED,
        EventKind.BLOCKED,
        EventKind.SLA_BREACHED,
        EventKind.ESCALATED,
    } <= kinds
    for name, rows in by_services.items():
        assert by_fast[name] == rows, name


# Steps no one could take, each given to both engines right after a request is filed: the
# refusals (PermissionDenied or ValidationError) and their messages must be the same.
def _refused_steps(plan, agent, at):
    return [
        demo.Step(at, "assign", {"actor": plan.requester, "assignee": plan.requester}),
        demo.Step(at, "assign", {"actor": agent, "assignee": plan.requester}),
        demo.Step(at, "priority", {"actor": agent, "priority": "extreme"}),
        demo.Step(at, "promise", {"actor": agent, "promised_at": at - datetime.timedelta(hours=1)}),
        demo.Step(at, "comment", {"author": plan.requester, "body": "   "}),
        demo.Step(at, "comment", {"author": plan.requester, "body": "psst", "internal": True}),
        demo.Step(at, "transition", {"actor": agent, "action": "reopen"}),
        demo.Step(at, "transition", {"actor": plan.requester, "action": "start"}),
        demo.Step(
            at,
            "transfer",
            {"actor": agent, "department": plan.service.department, "service": plan.service},
        ),
        demo.Step(at, "block", {"actor": agent, "blocker": plan}),
        demo.Step(at, "ack", {"actor": plan.requester}),
    ]


REFUSALS = 11


def _replay_with_refusals(engine, first_pks=None):
    rng = random.Random(11)
    try:
        with transaction.atomic():
            planner = demo.HistoryPlanner(rng=rng, now=NOW, weeks=1)
            plans = planner.plan(count=40)
            assigned = [
                plan
                for plan in plans
                if len(plan.steps) > 1
                and plan.steps[1].action == "assign"
                and plan.steps[1].at - plan.steps[0].at > datetime.timedelta(seconds=1)
            ]
            assert len(assigned) >= REFUSALS
            for index, plan in enumerate(assigned[:REFUSALS]):
                agent = plan.steps[1].args["assignee"]
                at = plan.steps[0].at + datetime.timedelta(seconds=1)
                # A refused step ends its request's history: one refusal per request.
                plan.steps.insert(1, _refused_steps(plan, agent, at)[index])
            replay = (
                demo.FastReplay(planner, first_pks=first_pks)
                if engine == "fast"
                else demo.ServicesReplay(planner)
            )
            outcome = demo.history_replay(
                plans, engine=replay, now=NOW, start=planner.start, stdout=None
            )
            rows = snapshot()
            raise Rollback
    except Rollback:
        pass
    failures = [
        (title, action, at, type(exc).__name__, getattr(exc, "message_dict", None) or str(exc))
        for title, action, at, exc in outcome.failures
    ]
    return rows, failures


def _breaches_told_after_a_late_completion(rows) -> int:
    """Breaches the scanner told after the clock was completed (late, between two scans)."""
    completed = {
        (clock["request_id"], clock["department_id"], clock["kind"]): clock["completed_at"]
        for clock in rows["SLAClock"]
    }
    told = 0
    for event in rows["RequestEvent"]:
        if event["kind"] != EventKind.SLA_BREACHED:
            continue
        completed_at = completed[
            event["request_id"], event["department_id"], event["data"]["clock"]
        ]
        told += completed_at is not None and completed_at < event["created_at"]
    return told


def test_both_engines_refuse_the_same_steps_with_the_same_messages(demo_org):
    by_services, refused_by_services = _replay_with_refusals("services")
    first_pks = {
        model: by_services[model.__name__][0]["id"]
        for model in demo.FAST_MODELS
        if model is not Notification and by_services[model.__name__]
    }
    by_fast, refused_by_fast = _replay_with_refusals("fast", first_pks)

    assert refused_by_fast == refused_by_services
    # This history has clocks completed late between two scans: the next scan tells them.
    assert _breaches_told_after_a_late_completion(by_services) > 0
    kinds = {(action, kind) for _title, action, _at, kind, _message in refused_by_services}
    assert len(refused_by_services) == REFUSALS
    assert {("assign", "PermissionDenied"), ("assign", "ValidationError")} <= kinds
    assert {("comment", "PermissionDenied"), ("comment", "ValidationError")} <= kinds
    assert {("transition", "PermissionDenied"), ("transition", "ValidationError")} <= kinds
    # Without history_generate's last steps, the services' notifications are not yet marked
    # as emailed and read: the rest of every row is the same.
    for name, rows in by_services.items():
        assert _unsent(by_fast[name]) == _unsent(rows), name


def _unsent(rows):
    return [{k: v for k, v in row.items() if k not in ("emailed_at", "read_at")} for row in rows]


def test_a_history_through_the_services_enqueues_one_email_delivery(
    demo_org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        demo.history_generate(weeks=1, requests_per_week=8, now=NOW, engine="services")

    assert Notification.objects.count() > 20
    assert [c for c in callbacks if c is notifications.enqueue_delivery] == [
        notifications.enqueue_delivery
    ]


def test_some_departments_are_clearly_slower_than_others(demo_org):
    demo.history_generate(weeks=6, requests_per_week=80, now=NOW)

    def breached_share(slug):
        clocks = SLAClock.objects.filter(
            department__slug=slug, state__in=[ClockState.MET, ClockState.BREACHED]
        )
        return clocks.filter(state=ClockState.BREACHED).count() / clocks.count()

    def requests_to(slug):
        return ServiceRequest.objects.filter(provider_department__slug=slug).count()

    assert breached_share("it") < 0.1
    assert breached_share("facilities") > 2 * breached_share("it")
    assert requests_to("it") > requests_to("facilities") > 3 * requests_to("legal")
    customer_waits = WaitPeriod.objects.filter(business_seconds__isnull=False)
    sales = sorted(
        customer_waits.filter(requesting_department__slug="sales").values_list(
            "business_seconds", flat=True
        )
    )
    finance = sorted(
        customer_waits.filter(requesting_department__slug="finance").values_list(
            "business_seconds", flat=True
        )
    )
    assert sales[len(sales) // 2] > 2 * finance[len(finance) // 2]


def test_seed_demo_adds_the_history_once(db, settings, monkeypatch):
    settings.DEMO_HISTORY_WEEKS = 1
    settings.DEMO_HISTORY_REQUESTS_PER_WEEK = 15
    monkeypatch.setattr(seed_demo_command, "demo_hooks", lambda: [demo.seed_demo])
    out = io.StringIO()

    call_command("seed_demo", stdout=out)
    count = ServiceRequest.objects.count()
    call_command("seed_demo", "--force", stdout=out)

    assert 10 <= count <= 25
    assert ServiceRequest.objects.count() == count
    output = out.getvalue()
    assert f"requests: {count} filed over 1 week in" in output
    assert "  status: new" in output
    assert "Demo history: requests exist already, none added." in output


def test_seed_demo_adds_no_history_when_told_zero_weeks(demo_org, settings):
    settings.DEMO_HISTORY_WEEKS = 0

    demo.seed_demo(stdout=io.StringIO())

    assert not ServiceRequest.objects.exists()


def test_the_replay_orders_a_scan_as_the_scanner_does_clocks_without_a_due_time_too(org, service):
    """A clock picked for an escalation level while paused has no due time: the replay puts
    it where the scanner's ORDER BY due_at does on this database, and does not fail."""
    from requests_app import services as request_services
    from requests_app.demo.replay import scan_order

    for title in ("First", "Second", "Third"):
        request_services.request_create(
            requester=org.requester, service=service, title=title, description="x", now=NOW
        )
    paused = SLAClock.objects.order_by("pk")[1]
    SLAClock.objects.filter(pk=paused.pk).update(due_at=None)
    clocks = list(SLAClock.objects.all())
    by_database = list(SLAClock.objects.order_by("due_at", "pk").values_list("pk", flat=True))
    assert [clock.pk for clock in sorted(clocks, key=scan_order)] == by_database
