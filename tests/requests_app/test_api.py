"""The requests API: filing, actions, nested resources, filters, notifications, schema."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from departments.choices import Role
from requests_app import services
from requests_app.api import listing
from requests_app.api.serializers import RequestSerializer
from requests_app.choices import EventKind, Status
from requests_app.models import Attachment, Comment, Notification, ServiceRequest
from requests_app.selectors import request_list
from tests.factories import MembershipFactory, ServiceFactory, SLATargetFactory, UserFactory

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
HOUR = 3600
REQUEST_FIELDS = {
    "id",
    "reference",
    "status",
    "priority",
    "service",
    "provider_department",
    "requesting_department",
    "requester",
    "assignee",
    "title",
    "description",
    "confidential",
    "promised_at",
    "created_at",
    "first_responded_at",
    "resolved_at",
    "closed_at",
    "blocked_by",
    "clocks",
    "allowed_actions",
}
CLOCK_FIELDS = {
    "target_seconds",
    "due_at",
    "used_seconds",
    "state",
    "warned_at",
    "breached_at",
    "target_source",
    "agreement",
}
ACTIONS = [
    "acknowledge",
    "assign",
    "start",
    "wait",
    "resume",
    "promise",
    "transfer",
    "resolve",
    "reopen",
    "cancel",
    "decline",
    "close",
    "priority",
    "block",
    "unblock",
]
# Taken by the requester's side: the provider declines instead.
CUSTOMER_ACTIONS = {"cancel"}


def at(day, hour, minute=0):
    """Week of Monday 23 November 2026: day 0 = Monday."""
    return datetime.datetime(2026, 11, 23 + day, hour, minute, tzinfo=BERLIN)


# The story happens in the week of Monday 23 November 2026; the clock stands still a week
# later, so that what a test does without travelling comes after it, on any real date.
pytestmark = pytest.mark.clock(datetime.datetime(2026, 12, 1, 10, tzinfo=BERLIN))


def parse(value):
    return datetime.datetime.fromisoformat(value) if value else None


@pytest.fixture
def service(org):
    service = ServiceFactory(department=org.provider, name="Laptop")
    for priority, first, resolution in (("normal", 2, 8), ("high", 1, 4)):
        SLATargetFactory(
            department=org.provider,
            priority=priority,
            first_response=datetime.timedelta(hours=first),
            resolution=datetime.timedelta(hours=resolution),
        )
    return service


@pytest.fixture
def legal_service(org):
    return ServiceFactory(department=org.other, name="Contract review")


@pytest.fixture
def client_as():
    def make(user):
        client = APIClient()
        client.force_login(user)
        return client

    return make


def file(org, service, *, requester=None, when=None, **kwargs):
    with time_machine.travel(when or at(0, 9), tick=False):
        return services.request_create(
            requester=requester or org.requester,
            service=service,
            title=kwargs.pop("title", "New laptop"),
            description=kwargs.pop("description", "Mine is broken"),
            **kwargs,
        )


def url(request, action=None):
    base = f"/api/v1/requests/{request.pk}/"
    return f"{base}{action}/" if action else base


# --- filing --------------------------------------------------------------------------------


def test_it_files_a_request_with_the_documented_fields(org, service, client_as):
    with time_machine.travel(at(0, 9), tick=False):
        response = client_as(org.requester).post(
            "/api/v1/requests/",
            {
                "service": service.pk,
                "priority": "normal",
                "title": " New laptop ",
                "description": "Mine is broken",
                "confidential": True,
            },
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == REQUEST_FIELDS
    created = ServiceRequest.objects.get()
    assert body["id"] == created.pk
    assert body["reference"] == f"REQ-{created.pk:06d}"
    assert {key: body[key] for key in REQUEST_FIELDS - {"id", "reference", "clocks"}} == {
        "status": "new",
        "priority": "normal",
        "service": service.pk,
        "provider_department": "it",
        "requesting_department": "sales",
        "requester": "requester",
        "assignee": None,
        "title": "New laptop",
        "description": "Mine is broken",
        "confidential": True,
        "promised_at": None,
        "created_at": body["created_at"],
        "first_responded_at": None,
        "resolved_at": None,
        "closed_at": None,
        "blocked_by": [],
        # What the requester may do with a new request: the buttons of its page.
        "allowed_actions": ["cancel", "comment", "attach"],
    }
    assert parse(body["created_at"]) == at(0, 9)
    clocks = body["clocks"]
    assert set(clocks) == {"first_response", "resolution"}
    assert set(clocks["first_response"]) == CLOCK_FIELDS
    assert {k: v for k, v in clocks["first_response"].items() if k != "due_at"} == {
        "target_seconds": 2 * HOUR,
        "used_seconds": 0,
        "state": "running",
        "warned_at": None,
        "breached_at": None,
        "target_source": "department",
        "agreement": None,
    }
    assert parse(clocks["first_response"]["due_at"]) == at(0, 11)
    assert clocks["resolution"]["target_seconds"] == 8 * HOUR
    assert parse(clocks["resolution"]["due_at"]) == at(0, 17)


def test_it_files_with_attachments_in_one_multipart_post(org, service, client_as):
    response = client_as(org.requester).post(
        "/api/v1/requests/",
        {
            "service": service.pk,
            "title": "Laptop",
            "description": "see the photo",
            "files": [SimpleUploadedFile("notes.txt", b"serial 123", content_type="text/plain")],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    attachment = Attachment.objects.get()
    assert attachment.request_id == response.json()["id"]
    assert attachment.original_name == "notes.txt"


@pytest.mark.parametrize(
    "extra",
    [
        {"requester": "agent"},
        {"status": "resolved"},
        {"provider_department": "legal"},
        {"assignee": "agent"},
        {"created_at": "2020-01-01T00:00:00Z"},
    ],
    ids=lambda extra: next(iter(extra)),
)
def test_it_refuses_fields_the_server_sets(org, service, client_as, extra):
    response = client_as(org.requester).post(
        "/api/v1/requests/",
        {"service": service.pk, "title": "x", "description": "y", **extra},
    )
    assert response.status_code == 400
    field = next(iter(extra))
    assert response.json() == {field: ["This field cannot be set."]}
    assert not ServiceRequest.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": None}, "title"),
        ({"service": 999999}, "service"),
        ({"service": "inactive"}, "service"),
        ({"priority": "asap"}, "priority"),
        ({"description": None}, "description"),
    ],
    ids=["missing title", "unknown service", "inactive service", "bad priority", "no text"],
)
def test_it_answers_bad_input_with_field_errors(org, service, client_as, change, field):
    data = {"service": service.pk, "title": "Laptop", "description": "broken", **change}
    if data["service"] == "inactive":
        data["service"] = ServiceFactory(department=org.provider, name="Fax", active=False).pk
    data = {key: value for key, value in data.items() if value is not None}
    response = client_as(org.requester).post("/api/v1/requests/", data)
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [field]
    assert errors[field]
    assert all(isinstance(message, str) for message in errors[field])
    assert not ServiceRequest.objects.exists()


def test_it_refuses_filing_to_ones_own_department(org, service, client_as):
    response = client_as(org.agent).post(
        "/api/v1/requests/", {"service": service.pk, "title": "x", "description": "y"}
    )
    assert response.status_code == 400
    assert "service" in response.json()
    assert not ServiceRequest.objects.exists()


# --- actions -------------------------------------------------------------------------------


@pytest.fixture
def world(org, service, legal_service):
    """A request in IT's queue, and another one it could be blocked by."""
    request = file(org, service)
    blocker = file(org, service, title="Docking station")
    return request, blocker


def prepare(action, request, org):
    """Bring the request to a state where the action is legal."""
    with time_machine.travel(at(0, 9, 30), tick=False):
        if action in ("resume",):
            services.request_transition(request=request, actor=org.agent, action="wait")
        elif action in ("reopen", "close"):
            services.request_transition(request=request, actor=org.agent, action="resolve")
        elif action == "unblock":
            blocker = ServiceRequest.objects.exclude(pk=request.pk).get()
            services.request_block(request=request, actor=org.agent, blocked_by=blocker)


def payload(action, request):
    blocker = ServiceRequest.objects.exclude(pk=request.pk).get()
    return {
        "assign": {"assignee": "agent"},
        "wait": {"comment": "Which model?"},
        "promise": {"promised_at": at(4, 12).isoformat()},
        "transfer": {"department": "legal"},
        "resolve": {"comment": "Replaced it."},
        "decline": {"comment": "Not ours: Facilities orders chairs."},
        "priority": {"priority": "high"},
        "block": {"blocked_by": blocker.pk},
        "unblock": {"blocked_by": blocker.pk},
    }.get(action, {})


def check_result(action, body, request, blocker):
    """What each action visibly changed on the request it returns."""
    expected = {
        "acknowledge": lambda: parse(body["first_responded_at"]) == at(0, 10),
        "assign": lambda: body["assignee"] == "agent",
        "start": lambda: body["status"] == Status.IN_PROGRESS,
        "wait": lambda: (
            body["status"] == Status.WAITING_ON_REQUESTER
            and body["clocks"]["resolution"]["state"] == "paused"
        ),
        "resume": lambda: (
            body["status"] == Status.IN_PROGRESS
            and body["clocks"]["resolution"]["state"] == "running"
        ),
        "promise": lambda: parse(body["promised_at"]) == at(4, 12),
        "transfer": lambda: body["provider_department"] == "legal" and body["status"] == "new",
        "resolve": lambda: (
            body["status"] == Status.RESOLVED
            and parse(body["resolved_at"]) == at(0, 10)
            and body["clocks"]["resolution"]["state"] == "met"
        ),
        "reopen": lambda: body["status"] == Status.IN_PROGRESS and body["resolved_at"] is None,
        "cancel": lambda: body["status"] == Status.CANCELLED,
        "decline": lambda: (
            body["status"] == Status.DECLINED
            and parse(body["first_responded_at"]) == at(0, 10)
            and body["clocks"]["resolution"]["state"] == "paused"
        ),
        "close": lambda: body["status"] == Status.CLOSED and parse(body["closed_at"]) == at(0, 10),
        "priority": lambda: (
            body["priority"] == "high"
            and body["clocks"]["resolution"]["target_seconds"] == 4 * HOUR
        ),
        "block": lambda: body["blocked_by"] == [blocker.pk],
        "unblock": lambda: body["blocked_by"] == [],
    }[action]
    return expected()


@pytest.mark.parametrize("action", ACTIONS)
def test_it_runs_each_action_and_returns_the_updated_request(org, world, client_as, action):
    request, blocker = world
    prepare(action, request, org)
    actor = org.requester if action in CUSTOMER_ACTIONS else org.agent
    with time_machine.travel(at(0, 10), tick=False):
        response = client_as(actor).post(url(request, action), payload(action, request))
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == REQUEST_FIELDS
    assert body["id"] == request.pk
    assert check_result(action, body, request, blocker), body


def test_it_posts_the_comment_of_wait_and_resolve_as_public_replies(org, world, client_as):
    request, _ = world
    client = client_as(org.agent)
    with time_machine.travel(at(0, 10), tick=False):
        client.post(url(request, "wait"), {"comment": "Which model?"})
    with time_machine.travel(at(0, 11), tick=False):
        client.post(url(request, "resume"))
        client.post(url(request, "resolve"), {"comment": "Replaced it."})
    comments = Comment.objects.filter(request=request).order_by("created_at")
    assert [(c.body, c.internal) for c in comments] == [
        ("Which model?", False),
        ("Replaced it.", False),
    ]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("reopen", "Cannot reopen a request that is new."),
        ("resume", "Cannot resume a request that is new."),
        ("close", "Cannot close a request that is new."),
    ],
)
def test_it_refuses_an_illegal_transition_with_a_clear_message(
    org, world, client_as, action, message
):
    request, _ = world
    before = ServiceRequest.objects.values().get(pk=request.pk)
    events = request.events.count()
    response = client_as(org.agent).post(url(request, action), {"comment": "hello"})
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"status": [message]}
    assert ServiceRequest.objects.values().get(pk=request.pk) == before
    assert request.events.count() == events
    assert not Comment.objects.exists()


def test_it_refuses_an_action_on_a_finished_request(org, world, client_as):
    request, _ = world
    services.request_transition(request=request, actor=org.requester, action="cancel")
    for action, data in [("start", {}), ("priority", {"priority": "high"}), ("acknowledge", {})]:
        response = client_as(org.agent).post(url(request, action), data)
        assert response.status_code == 400, action
        assert response.json()
    request.refresh_from_db()
    assert (request.status, request.priority) == (Status.CANCELLED, "normal")


PROVIDER_ONLY = [
    "acknowledge",
    "assign",
    "start",
    "wait",
    "promise",
    "transfer",
    "resolve",
    "priority",
    "block",
    "unblock",
]


@pytest.mark.parametrize("action", PROVIDER_ONLY)
def test_it_refuses_provider_actions_to_the_requester(org, world, client_as, action):
    request, _ = world
    prepare(action, request, org)
    before = ServiceRequest.objects.values().get(pk=request.pk)
    events = request.events.count()
    response = client_as(org.requester).post(url(request, action), payload(action, request))
    assert response.status_code == 403
    assert "detail" in response.json()
    assert ServiceRequest.objects.values().get(pk=request.pk) == before
    assert request.events.count() == events


def test_it_answers_404_for_a_request_one_cannot_see(org, world, client_as):
    request, _ = world
    for action in ("start", "cancel"):
        response = client_as(org.outsider).post(url(request, action))
        assert response.status_code == 404
    request.refresh_from_db()
    assert request.status == Status.NEW


# --- comments, attachments, events ---------------------------------------------------------


def test_it_hides_internal_notes_from_the_requester(org, world, client_as):
    request, _ = world
    agent = client_as(org.agent)
    assert agent.post(url(request, "comments"), {"body": "On it"}).status_code == 201
    note = agent.post(url(request, "comments"), {"body": "VIP, hurry", "internal": True})
    assert note.status_code == 201
    assert note.json()["internal"] is True

    seen_by_agent = agent.get(url(request, "comments")).json()
    seen_by_requester = client_as(org.requester).get(url(request, "comments")).json()
    assert [c["body"] for c in seen_by_agent] == ["On it", "VIP, hurry"]
    assert [c["body"] for c in seen_by_requester] == ["On it"]
    assert set(seen_by_requester[0]) == {
        "id",
        "author",
        "body",
        "internal",
        "created_at",
        "attachments",
    }


def test_it_lets_the_requester_reply_but_not_write_internal_notes(org, world, client_as):
    request, _ = world
    requester = client_as(org.requester)
    reply = requester.post(url(request, "comments"), {"body": "Any news?"})
    assert reply.status_code == 201
    assert reply.json()["author"] == "requester"
    refused = requester.post(url(request, "comments"), {"body": "psst", "internal": True})
    assert refused.status_code == 403
    assert list(Comment.objects.values_list("body", flat=True)) == ["Any news?"]


def test_it_uploads_lists_and_serves_an_attachment(org, world, client_as):
    request, _ = world
    requester = client_as(org.requester)
    upload = SimpleUploadedFile("notes.txt", b"serial 123", content_type="text/plain")
    response = requester.post(url(request, "attachments"), {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    [created] = response.json()
    assert created["original_name"] == "notes.txt"
    assert created["content_type"] == "text/plain"
    assert created["size"] == 10

    listed = client_as(org.agent).get(url(request, "attachments")).json()
    assert [a["id"] for a in listed] == [created["id"]]
    download = client_as(org.agent).get(listed[0]["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"serial 123"
    assert "attachment" in download["Content-Disposition"]


def test_it_refuses_a_disguised_file(org, world, client_as):
    request, _ = world
    fake = SimpleUploadedFile("invoice.pdf", b"just some text", content_type="application/pdf")
    response = client_as(org.requester).post(
        url(request, "attachments"), {"file": fake}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json() == {"files": ["invoice.pdf does not look like a .pdf file."]}
    assert not Attachment.objects.exists()


def test_it_hides_internal_events_from_the_requester(org, world, client_as):
    request, _ = world
    services.request_comment_add(request=request, author=org.agent, body="VIP", internal=True)
    services.request_assign(request=request, actor=org.agent, assignee=org.agent)
    for_agent = client_as(org.agent).get(url(request, "events")).json()
    for_requester = client_as(org.requester).get(url(request, "events")).json()
    assert [e["kind"] for e in for_agent] == [
        EventKind.CREATED,
        EventKind.NOTE_ADDED,
        EventKind.ASSIGNED,
    ]
    assert [e["kind"] for e in for_requester] == [EventKind.CREATED, EventKind.ASSIGNED]
    assert set(for_requester[0]) == {"id", "kind", "actor", "department", "created_at", "data"}


# --- the list ------------------------------------------------------------------------------


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.fixture
def queue(org, service, legal_service):
    """Requests of every kind, all visible to IT's agent except `legal`."""
    outsider_in_it = MembershipFactory(
        user=UserFactory(username="legal_member"), department=org.other, role=Role.MEMBER
    ).user
    requests = {
        "new": file(org, service, title="Printer jam"),
        "assigned": file(org, service, title="VPN down"),
        "urgent": file(org, service, title="Server on fire", priority="high"),
        "resolved": file(org, service, title="Password reset"),
        "from_legal": file(org, service, requester=outsider_in_it, title="Laptop for intern"),
        "legal": file(org, legal_service, title="NDA review"),
    }
    services.request_assign(request=requests["assigned"], actor=org.agent, assignee=org.agent)
    with time_machine.travel(at(0, 9, 10), tick=False):
        services.request_transition(request=requests["resolved"], actor=org.agent, action="resolve")
    return requests


def test_it_filters_the_list(org, queue, client_as):
    agent = client_as(org.agent)
    pk = {name: request.pk for name, request in queue.items()}
    it_requests = set(pk.values()) - {pk["legal"]}

    def get(**params):
        return ids(agent.get("/api/v1/requests/", params))

    assert get() == it_requests
    assert get(status="resolved") == {pk["resolved"]}
    assert get(status=["new", "resolved"]) == it_requests
    assert get(open="true") == it_requests - {pk["resolved"]}
    assert get(open="false") == {pk["resolved"]}
    assert get(priority="high") == {pk["urgent"]}
    assert get(provider_department="it") == it_requests
    assert get(provider_department="legal") == set()  # the agent cannot see Legal's queue
    assert get(requesting_department="legal") == {pk["from_legal"]}
    assert get(assignee="agent") == {pk["assigned"]}
    assert get(assignee="none") == it_requests - {pk["assigned"]}
    assert get(q=queue["urgent"].reference) == {pk["urgent"]}
    assert get(q=queue["urgent"].reference.lower()) == {pk["urgent"]}
    assert get(q="fire") == {pk["urgent"]}
    assert get(q="laptop") == {pk["from_legal"]}
    # The requester sees their own, Legal's one included, and the provider filter works there.
    assert ids(client_as(org.requester).get("/api/v1/requests/?provider_department=legal")) == {
        pk["legal"]
    }


def test_it_refuses_an_unknown_filter_value(org, queue, client_as):
    response = client_as(org.agent).get("/api/v1/requests/", {"status": "lost"})
    assert response.status_code == 400
    assert "status" in response.json()


def test_it_filters_by_sla_state_as_time_passes(org, service, client_as):
    fresh = file(org, service, title="fresh", when=at(0, 9))
    urgent = file(org, service, title="urgent", when=at(0, 9), priority="high")
    paused = file(org, service, title="paused", when=at(0, 9))
    met = file(org, service, title="met", when=at(0, 9))
    with time_machine.travel(at(0, 9, 5), tick=False):
        services.request_acknowledge(request=paused, actor=org.agent)
        services.request_transition(request=paused, actor=org.agent, action="wait")
        services.request_transition(request=met, actor=org.agent, action="resolve")
    agent = client_as(org.agent)

    def get(state):
        return ids(agent.get("/api/v1/requests/", {"sla_state": state}))

    # First response: normal 2h (warning 10:30, due 11:00), high 1h (warning 9:45, due 10:00).
    with time_machine.travel(at(0, 9, 30), tick=False):
        assert get("running") == {fresh.pk, urgent.pk}
        assert get("warning") == set()
        assert get("breached") == set()
        assert get("paused") == {paused.pk}
        assert get("met") == {met.pk}
    with time_machine.travel(at(0, 9, 50), tick=False):
        assert get("warning") == {urgent.pk}
        assert get("breached") == set()
    with time_machine.travel(at(0, 10, 45), tick=False):
        assert get("warning") == {fresh.pk}
        assert get("breached") == {urgent.pk}
    with time_machine.travel(at(0, 11, 30), tick=False):
        assert get("warning") == set()
        assert get("breached") == {fresh.pk, urgent.pk}
        assert get("paused") == {paused.pk}
        assert get("met") == {met.pk}


def test_it_paginates_the_list(org, service, client_as):
    for n in range(5):
        file(org, service, title=f"#{n}", when=at(0, 9, n))
    agent = client_as(org.agent)
    first = agent.get("/api/v1/requests/", {"page_size": 2}).json()
    assert first["count"] == 5
    assert [row["title"] for row in first["results"]] == ["#4", "#3"]  # newest first
    assert first["next"]
    assert first["previous"] is None
    last = agent.get("/api/v1/requests/", {"page_size": 2, "page": 3}).json()
    assert [row["title"] for row in last["results"]] == ["#0"]
    assert last["next"] is None


def titles(response):
    assert response.status_code == 200, response.content
    return [row["title"] for row in response.json()["results"]]


def test_it_sorts_by_urgency_not_by_the_name_of_the_priority(org, service, client_as):
    for n, priority in enumerate(["normal", "urgent", "low", "high"]):
        file(org, service, title=priority, priority=priority, when=at(0, 9, n))
    agent = client_as(org.agent)
    assert titles(agent.get("/api/v1/requests/?ordering=-priority")) == [
        "urgent",
        "high",
        "normal",
        "low",
    ]
    assert titles(agent.get("/api/v1/requests/?ordering=priority")) == [
        "low",
        "normal",
        "high",
        "urgent",
    ]


def test_it_sorts_by_resolution_due_time_with_paused_requests_last(org, service, client_as):
    # Resolution targets: normal 8h, high 4h.
    late = file(org, service, title="normal at 9:00", when=at(0, 9))
    file(org, service, title="high at 9:30", priority="high", when=at(0, 9, 30))
    paused = file(org, service, title="paused", priority="high", when=at(0, 9))
    with time_machine.travel(at(0, 9, 40), tick=False):
        services.request_acknowledge(request=paused, actor=org.agent)
        services.request_transition(request=paused, actor=org.agent, action="wait")
    paused.refresh_from_db()
    late.refresh_from_db()
    assert paused.resolution_due_at is None  # waiting on the requester: no due time
    assert late.resolution_due_at == at(0, 17)
    agent = client_as(org.agent)
    assert titles(agent.get("/api/v1/requests/?ordering=resolution_due_at")) == [
        "high at 9:30",
        "normal at 9:00",
        "paused",
    ]
    with time_machine.travel(at(0, 10), tick=False):
        services.request_transition(request=paused, actor=org.agent, action="resume")
    # Resumed at 10:00 with 40 minutes of its 4 hours used: due 13:20, now the soonest.
    assert titles(agent.get("/api/v1/requests/?ordering=resolution_due_at"))[0] == "paused"


def test_it_ignores_an_unknown_ordering(org, service, client_as):
    for n in range(2):
        file(org, service, title=f"#{n}", when=at(0, 9, n))
    response = client_as(org.agent).get("/api/v1/requests/?ordering=description")
    assert titles(response) == ["#1", "#0"]


def _list_queries(client, count):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/requests/", {"page_size": 100})
    assert response.status_code == 200
    assert len(response.json()["results"]) == count
    return len(queries)


def test_it_lists_in_a_constant_number_of_queries(
    org, service, client_as, django_assert_max_num_queries
):
    agent = client_as(org.agent)
    blocker = file(org, service, title="blocker")

    def add(count):
        # Assignees, blocked-by links and clocks: everything a row shows from other tables.
        for n in range(count):
            request = file(org, service, title=f"#{n}")
            services.request_assign(request=request, actor=org.agent, assignee=org.agent)
            if n % 2:
                services.request_block(request=request, actor=org.agent, blocked_by=blocker)

    add(4)
    few = _list_queries(agent, 5)
    add(35)
    with django_assert_max_num_queries(few):
        _list_queries(agent, 40)
    # Session, user, the page's ids and their count, then its rows (names joined), their
    # clocks, the clocks' calendar versions and the blocking links (api/listing.py).
    assert few <= 8


# --- notifications, authentication, schema -------------------------------------------------


def test_it_lists_notifications_with_the_unread_count_and_marks_them_read(org, service, client_as):
    first = file(org, service, title="one")
    file(org, service, title="two")
    services.request_assign(request=first, actor=org.provider_manager, assignee=org.agent)
    agent = client_as(org.agent)
    listed = agent.get("/api/v1/notifications/").json()
    assert listed["count"] == 3
    assert listed["unread"] == 3
    assert set(listed["results"][0]) == {
        "id",
        "kind",
        "message",
        "request",
        "reference",
        "link",
        "created_at",
        "read_at",
    }
    newest = listed["results"][0]
    assert (newest["kind"], newest["reference"]) == ("request_assigned", first.reference)
    assert newest["link"] == f"/requests/{first.pk}/"

    marked = agent.post("/api/v1/notifications/mark-read/", {"ids": [newest["id"]]})
    assert marked.json() == {"marked": 1}
    assert agent.get("/api/v1/notifications/").json()["unread"] == 2
    # Someone else's notification ids are not theirs to mark.
    foreign = Notification.objects.create(
        user=org.requester, kind="request_status", message="x", dedupe_key="x", created_at=at(0, 9)
    )
    assert agent.post("/api/v1/notifications/mark-read/", {"ids": [foreign.pk]}).json() == {
        "marked": 0
    }
    assert agent.post("/api/v1/notifications/mark-read/", {}).json() == {"marked": 2}
    assert agent.get("/api/v1/notifications/").json()["unread"] == 0
    assert client_as(org.requester).get("/api/v1/notifications/").json()["unread"] == 1


def test_it_hides_notifications_about_requests_no_longer_visible(
    org, service, legal_service, client_as
):
    request = file(org, service)
    agent = client_as(org.agent)
    assert agent.get("/api/v1/notifications/").json()["count"] == 1
    services.request_transfer(request=request, actor=org.agent, department=org.other)
    listed = agent.get("/api/v1/notifications/").json()
    assert (listed["count"], listed["unread"]) == (0, 0)


def test_it_authenticates_with_a_token(org, world, api_client):
    request, _ = world
    assert api_client.get("/api/v1/requests/").status_code in (401, 403)
    token = Token.objects.create(user=org.requester)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert ids(api_client.get("/api/v1/requests/")) == {r.pk for r in world}
    assert api_client.post(url(request, "cancel")).status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert api_client.get("/api/v1/requests/").status_code in (401, 403)


def _resolve(schema, node):
    while "$ref" in node or "allOf" in node:
        if "$ref" in node:
            node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
        else:
            node = node["allOf"][0]
    return node


def test_it_documents_every_action_and_the_clocks_in_the_schema(org, client_as):
    response = client_as(org.requester).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for action in ACTIONS:
        assert "post" in paths[f"/api/v1/requests/{{id}}/{action}/"], action
    assert {"get", "post"} <= set(paths["/api/v1/requests/"])
    assert {"get", "post"} <= set(paths["/api/v1/requests/{id}/comments/"])
    assert {"get", "post"} <= set(paths["/api/v1/requests/{id}/attachments/"])
    assert "get" in paths["/api/v1/requests/{id}/events/"]
    assert "post" in paths["/api/v1/notifications/mark-read/"]

    request_schema = schema["components"]["schemas"]["Request"]
    assert set(request_schema["properties"]) == REQUEST_FIELDS
    clocks = _resolve(schema, request_schema["properties"]["clocks"])
    assert set(clocks["properties"]) == {"first_response", "resolution"}
    for kind in ("first_response", "resolution"):
        clock = _resolve(schema, clocks["properties"][kind])
        assert set(clock["properties"]) == CLOCK_FIELDS
    filing = schema["components"]["schemas"]["RequestCreateRequest"]
    assert {"service", "priority", "title", "description", "confidential"} <= set(
        filing["properties"]
    )
    assert not {"requester", "status", "provider_department"} & set(filing["properties"])


# --- the list's representation -------------------------------------------------------------


def test_the_list_projection_equals_the_serializer(org, service, legal_service):
    """The list draws requests from a projection (api/listing.py): for requests in every
    shape (assigned or not, promised, blocked, resolved, closed, transferred, with and
    without clocks running) it must give exactly what RequestSerializer gives."""
    plain = file(org, service, title="Plain")
    worked = file(org, service, title="Worked", priority="high", confidential=True)
    blocker = file(org, service, title="Blocker")
    closed = file(org, service, title="Closed")
    moved = file(org, service, title="Moved")
    with time_machine.travel(at(0, 9, 30), tick=False):
        services.request_assign(request=worked, actor=org.agent, assignee=org.agent)
        services.request_acknowledge(request=worked, actor=org.agent)
        services.request_promise(request=worked, actor=org.agent, promised_at=at(4, 12))
        services.request_block(request=worked, actor=org.agent, blocked_by=blocker)
        services.request_transition(request=closed, actor=org.agent, action="resolve")
        services.request_transition(request=closed, actor=org.agent, action="close")
        services.request_transfer(request=moved, actor=org.agent, department=org.other)
    ids = [plain.pk, worked.pk, blocker.pk, closed.pk, moved.pk]

    with time_machine.travel(at(1, 15), tick=False):
        rows = list(request_list(user=org.requester).filter(pk__in=ids))
        serializer = RequestSerializer(context={"now": timezone.now(), "user": org.requester})
        generic = [serializer.to_representation(row) for row in rows]
        listed = listing.request_rows(ids, now=timezone.now(), user=org.requester)

    assert len(generic) == 5
    by_id = {row["id"]: row for row in generic}
    assert [row["id"] for row in listed] == ids  # in the order asked
    assert listed == [by_id[pk] for pk in ids]
    assert [list(row) for row in listed] == [list(by_id[pk]) for pk in ids]
    worked_row = next(row for row in listed if row["id"] == worked.pk)
    assert worked_row["assignee"] == "agent"
    assert worked_row["blocked_by"] == [blocker.pk]
    assert worked_row["promised_at"] == at(4, 12).isoformat()


def test_the_list_shows_each_request_as_its_detail_does(org, service, client_as):
    worked = file(org, service, title="Worked")
    plain = file(org, service, title="Plain")
    with time_machine.travel(at(0, 9, 30), tick=False):
        services.request_assign(request=worked, actor=org.agent, assignee=org.agent)
        services.request_block(request=worked, actor=org.agent, blocked_by=plain)
    agent = client_as(org.agent)

    with time_machine.travel(at(0, 15), tick=False):
        listed = agent.get("/api/v1/requests/?ordering=created_at").json()["results"]
        details = [agent.get(url(request)).json() for request in (worked, plain)]

    assert listed == details


def test_the_list_offers_reopen_of_a_decline_only_within_the_window(
    org, world, client_as, settings
):
    request, _ = world
    services.request_transition(
        request=request, actor=org.agent, action="decline", comment="Not ours.", now=at(0, 10)
    )
    client = client_as(org.requester)

    def listed():
        response = client.get("/api/v1/requests/", {"status": Status.DECLINED})
        assert response.status_code == 200, response.content
        return {row["id"]: row for row in response.json()["results"]}

    assert "reopen" in listed()[request.pk]["allowed_actions"]
    settings.REOPEN_WINDOW_DAYS = 3  # declined on 23 November; it is 1 December
    later = listed()
    detail = client.get(f"/api/v1/requests/{request.pk}/").json()
    assert "reopen" not in later[request.pk]["allowed_actions"]
    assert later[request.pk]["allowed_actions"] == detail["allowed_actions"]
