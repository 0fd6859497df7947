"""The request pages: my requests, filing, the request page and its actions, the department
queue and notifications, with their permission checks."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects
from rest_framework.test import APIClient

from core.limits import TEXT_MAX_LENGTH
from departments.choices import Priority, Role
from requests_app import services
from requests_app.choices import EventKind, Status
from requests_app.models import Attachment, Notification, RequestLink, ServiceRequest
from requests_app.selectors import queue_rows, request_list
from requests_app.views import with_live_clocks
from requests_app.workflow import ACTION_ACTORS
from tests.factories import MembershipFactory, ServiceFactory, SLATargetFactory, UserFactory

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


def at(day, hour, minute=0):
    """Week of Monday 23 November 2026: day 0 = Monday."""
    return datetime.datetime(2026, 11, 23 + day, hour, minute, tzinfo=BERLIN)


# The story happens in the week of Monday 23 November 2026; the clock stands still a week
# later, so that what a test does without travelling comes after it, on any real date.
pytestmark = pytest.mark.clock(datetime.datetime(2026, 12, 1, 10, tzinfo=BERLIN))


@pytest.fixture
def clock():
    """Pages are seen on Monday 23 November 2026 at 10:00 in Berlin; tests move on."""
    with time_machine.travel(at(0, 10), tick=False) as traveller:
        yield traveller


@pytest.fixture
def legal_service(org):
    return ServiceFactory(department=org.other, name="Contract review")


def file(org, service, *, requester=None, when=None, **kwargs):
    """A request filed through the service (at Monday 09:00 unless told)."""
    with time_machine.travel(when or at(0, 9), tick=False):
        return services.request_create(
            requester=requester or org.requester,
            service=service,
            title=kwargs.pop("title", "New laptop"),
            description=kwargs.pop("description", "Mine is **broken**."),
            **kwargs,
        )


def upload(name, content, content_type="application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def events(request):
    return list(request.events.values_list("kind", flat=True))


# --- access --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/requests/",
        "/requests/new/",
        "/requests/queue/",
        "/requests/notifications/",
        "/requests/1/",
    ],
)
def test_it_sends_anonymous_users_to_the_login_page(client, db, url):
    response = client.get(url)

    assertRedirects(response, f"/login/?next={url}", fetch_redirect_response=False)


def test_it_answers_404_to_an_outsider_on_the_page_the_actions_and_the_files(
    client, org, service, clock
):
    request = file(org, service, files=[upload("spec.pdf", PDF)])
    attachment = Attachment.objects.get()
    client.force_login(org.outsider)

    assert client.get(f"/requests/{request.pk}/").status_code == 404
    assert client.post(f"/requests/{request.pk}/cancel/").status_code == 404
    assert client.post(f"/requests/{request.pk}/reply/", {"body": "hi"}).status_code == 404
    assert client.get(f"/requests/{request.pk}/attachments/{attachment.pk}/").status_code == 404
    request.refresh_from_db()
    assert request.status == Status.NEW
    assert not request.comments.exists()


def test_it_answers_403_when_a_reader_tries_to_act(client, org, service, clock):
    request = file(org, service)
    client.force_login(org.customer_manager)  # may read the team's requests, not work them

    page = client.get(f"/requests/{request.pk}/")
    response = client.post(f"/requests/{request.pk}/start/")
    assign = client.post(f"/requests/{request.pk}/assign/", {"assignee": org.agent.pk})

    assert page.status_code == 200
    assertNotContains(page, 'id="reply-title"')
    assert response.status_code == 403
    assertContains(response, "Only agents and managers", status_code=403)
    assert assign.status_code == 403
    request.refresh_from_db()
    assert (request.status, request.assignee) == (Status.NEW, None)


def test_it_only_accepts_posts_for_actions(client, org, service, clock):
    request = file(org, service)
    client.force_login(org.agent)

    assert client.get(f"/requests/{request.pk}/start/").status_code == 405
    assert client.post(f"/requests/{request.pk}/explode/").status_code == 404


# --- filing --------------------------------------------------------------------------------


def test_it_files_a_request_through_the_form(client, org, service, clock):
    client.force_login(org.requester)

    response = client.post(
        "/requests/new/",
        {
            "department": "it",
            "service": service.pk,
            "priority": "",
            "title": "New laptop",
            "description": "The screen is *cracked*.",
            "files": [upload("photo.pdf", PDF)],
        },
    )

    request = ServiceRequest.objects.get()
    assertRedirects(response, f"/requests/{request.pk}/", fetch_redirect_response=False)
    assert request.requester == org.requester
    assert request.requesting_department == org.customer
    assert request.provider_department == org.provider
    assert request.priority == Priority.NORMAL  # the service's default
    assert not request.confidential
    assert request.attachments.get().original_name == "photo.pdf"
    page = client.get(response.url)
    assertContains(page, f"{request.reference} is filed with IT.")
    assertContains(page, "<em>cracked</em>", html=True)


def test_it_keeps_what_was_typed_and_shows_every_error(client, org, service, legal_service):
    client.force_login(org.requester)

    response = client.post(
        "/requests/new/",
        {
            "department": "it",
            "service": legal_service.pk,
            "priority": "urgent",
            "title": "",
            "description": "Please hurry",
        },
    )

    assert response.status_code == 200
    assert not ServiceRequest.objects.exists()
    assertContains(response, "This field is required.")  # the title
    assertContains(response, "Contract review is a service of Legal, not of IT")
    assertContains(response, "Please hurry</textarea>")
    assertContains(response, '<option value="urgent" selected>Urgent</option>', html=True)
    assertContains(response, "choose them again")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "invoice.pdf",
            b"MZ\x90\x00\x03\x00\x00\x00",
            "invoice.pdf does not look like a .pdf file",
        ),
        ("big.pdf", PDF + b"0" * 200, "big.pdf is 235\xa0bytes; files can be at most 100\xa0bytes"),
        ("tool.exe", b"MZ\x90\x00", "tool.exe: this type of file cannot be attached"),
    ],
)
def test_it_refuses_a_bad_attachment_with_a_clear_message(
    client, org, service, settings, name, content, message
):
    settings.ATTACHMENT_MAX_BYTES = 100
    client.force_login(org.requester)

    response = client.post(
        "/requests/new/",
        {
            "service": service.pk,
            "title": "Broken",
            "description": "See the file",
            "files": [upload(name, content)],
        },
    )

    assert response.status_code == 200
    assertContains(response, message)
    assert not ServiceRequest.objects.exists()
    assert not Attachment.objects.exists()


def test_it_files_a_confidential_request_that_the_customer_manager_cannot_see(
    client, org, service, clock
):
    client.force_login(org.requester)
    form = client.get("/requests/new/")
    assertContains(form, "the managers of your own department cannot")

    client.post(
        "/requests/new/",
        {
            "service": service.pk,
            "title": "Salary question",
            "description": "Private",
            "confidential": "on",
        },
    )

    request = ServiceRequest.objects.get()
    assert request.confidential
    client.force_login(org.customer_manager)
    assert client.get(f"/requests/{request.pk}/").status_code == 404
    assertNotContains(client.get("/requests/?scope=department"), "Salary question")


def test_it_files_for_another_department_of_the_user(client, org, service, legal_service, clock):
    MembershipFactory(user=org.requester, department=org.other, is_primary=False)
    client.force_login(org.requester)
    form = client.get("/requests/new/")
    assertContains(form, "Filing for")

    client.post(
        "/requests/new/",
        {
            "requesting_department": org.other.pk,
            "service": service.pk,
            "title": "For Legal",
            "description": "x",
        },
    )

    assert ServiceRequest.objects.get().requesting_department == org.other


def test_it_preselects_the_service_from_a_department_page(client, org, service, legal_service):
    service.default_priority = Priority.HIGH
    service.save()
    client.force_login(org.requester)

    department_page = client.get("/departments/it/")
    response = client.get(f"/requests/new/?service={service.pk}")

    assertContains(department_page, f'href="/requests/new/?service={service.pk}"')
    assertContains(response, f'<option value="{service.pk}" selected>Laptop</option>', html=True)
    assertContains(response, '<option value="it" selected>IT</option>', html=True)
    assertContains(response, '<option value="high" selected>High</option>', html=True)
    # Without JavaScript every service is offered, grouped by department.
    assertContains(response, '<optgroup label="Legal">')


def test_it_reloads_the_service_select_for_a_department(client, org, service, legal_service):
    ServiceFactory(department=org.other, name="Retired", active=False)
    client.force_login(org.requester)

    response = client.get("/requests/new/services/?department=legal", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith('<select name="service"')
    assert 'id="id_service"' in html
    assert "Contract review" in html
    assert "Laptop" not in html
    assert "Retired" not in html


# --- the request page ----------------------------------------------------------------------


def test_it_shows_the_request_with_its_clocks_and_timeline(client, org, service, clock):
    membership = org.requester.memberships.get()
    membership.title = "Account executive"
    membership.save()
    request = file(org, service)
    client.force_login(org.agent)

    response = client.get(f"/requests/{request.pk}/")

    assertContains(response, request.reference)
    assertContains(response, "<strong>broken</strong>", html=True)
    assertContains(response, "Account executive")
    assertContains(response, "First response")
    # Targets in words: 8 business hours are IT's working day.
    assertContains(response, "<dt>Target</dt><dd>2 business hours</dd>", html=True)
    assertContains(response, "<dt>Target</dt><dd>1 business day</dd>", html=True)
    # Due at 11:00 and 17:00 Berlin (the default timezone), one hour / seven hours from now.
    assertContains(response, 'data-due="2026-11-23T11:00:00+01:00"')
    assertContains(response, "in 1 h")
    assertContains(response, 'data-due="2026-11-23T17:00:00+01:00"')
    assertContains(response, f"{org.requester.get_full_name()} filed the request (normal priority)")
    assertContains(response, 'id="requester-title"')  # the requester sidebar for agents
    assertContains(response, "js/requests.js")


def test_it_shows_due_times_in_the_viewers_timezone(client, org, service, clock):
    request = file(org, service)
    client.force_login(org.requester)
    client.cookies["tz"] = "America/New_York"

    response = client.get(f"/requests/{request.pk}/")

    assertContains(response, 'data-due="2026-11-23T05:00:00-05:00"')
    assertContains(response, "Times are in America/New_York")


def test_it_hides_internal_notes_and_provider_buttons_from_the_requester(
    client, org, service, clock
):
    request = file(org, service)
    services.request_comment_add(
        request=request, author=org.agent, body="Budget is tight", internal=True
    )
    services.request_comment_add(request=request, author=org.agent, body="On it")
    client.force_login(org.requester)

    response = client.get(f"/requests/{request.pk}/")

    assertContains(response, "On it")
    assertNotContains(response, "Budget is tight")
    assertNotContains(response, "Internal note")
    for action in ("start", "acknowledge", "assign", "transfer", "priority", "block"):
        assertNotContains(response, f"/requests/{request.pk}/{action}/")
    assertContains(response, f"/requests/{request.pk}/cancel/")
    assertNotContains(response, 'id="requester-title"')
    client.force_login(org.agent)
    agent_page = client.get(f"/requests/{request.pk}/")
    assertContains(agent_page, "Budget is tight")
    assertContains(agent_page, "Internal note")


def test_it_refuses_an_illegal_transition_and_changes_nothing(client, org, service, clock):
    request = file(org, service)
    client.force_login(org.agent)

    response = client.post(f"/requests/{request.pk}/resume/")

    assert response.status_code == 200
    assertContains(response, "Cannot resume a request that is new.")
    request.refresh_from_db()
    assert request.status == Status.NEW
    assert events(request) == [EventKind.CREATED]


def test_it_lets_an_agent_work_a_request_through_the_page(client, org, service, clock):
    request = file(org, service)
    client.force_login(org.agent)
    url = f"/requests/{request.pk}"

    assertRedirects(client.post(f"{url}/acknowledge/"), f"{url}/")
    assertRedirects(client.post(f"{url}/assign/", {"assignee": org.provider_manager.pk}), f"{url}/")
    assertRedirects(client.post(f"{url}/assign/", {"assignee": org.agent.pk}), f"{url}/")
    assertRedirects(client.post(f"{url}/start/"), f"{url}/")
    assertRedirects(client.post(f"{url}/wait/", {"comment": "Which model?"}), f"{url}/")
    assertRedirects(client.post(f"{url}/resume/"), f"{url}/")
    assertRedirects(client.post(f"{url}/priority/", {"priority": "high"}), f"{url}/")
    response = client.post(f"{url}/resolve/", {"comment": "Delivered"})
    assertRedirects(response, f"{url}/", fetch_redirect_response=False)

    request.refresh_from_db()
    assert request.status == Status.RESOLVED
    assert request.assignee == org.agent
    assert request.priority == Priority.HIGH
    assert request.first_responded_at == at(0, 10)
    assert list(request.comments.values_list("body", flat=True)) == ["Which model?", "Delivered"]
    page = client.get(f"{url}/")
    assertContains(page, "Resolved. The requester is told.")
    assertContains(page, f"{org.agent.get_full_name()} acknowledged the request")
    assertContains(page, f"{org.agent.get_full_name()} took the request")
    assertContains(page, "changed status from In progress to Waiting on requester")
    assertContains(page, "changed priority from Normal to High")
    assertNotContains(page, f"{url}/acknowledge/")  # responded already


def test_it_answers_an_htmx_action_with_the_new_request_body(client, org, service, clock):
    request = file(org, service)
    client.force_login(org.agent)

    response = client.post(f"/requests/{request.pk}/start/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="request-detail"')
    assert "<html" not in html
    assert "Started: the request is in progress." in html
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS


def test_it_shows_the_errors_of_an_action_form_beside_its_field(client, org, service, clock):
    request = file(org, service)
    client.force_login(org.agent)

    response = client.post(f"/requests/{request.pk}/promise/", {"promised_at": "2026-11-20T12:00"})

    assertContains(response, "A promise must be in the future.")
    assertContains(response, 'value="2026-11-20T12:00"')
    request.refresh_from_db()
    assert request.promised_at is None


def test_it_reads_a_promise_in_the_viewers_timezone(client, org, service, clock):
    request = file(org, service)
    client.force_login(org.agent)
    client.cookies["tz"] = "America/New_York"

    response = client.post(f"/requests/{request.pk}/promise/", {"promised_at": "2026-11-27T12:00"})

    assertRedirects(response, f"/requests/{request.pk}/")
    request.refresh_from_db()
    assert request.promised_at == datetime.datetime(2026, 11, 27, 17, 0, tzinfo=datetime.UTC)


def test_it_posts_replies_and_internal_notes_and_resumes_on_the_requesters_reply(
    client, org, service, clock
):
    request = file(org, service)
    services.request_transition(request=request, actor=org.agent, action="wait")
    client.force_login(org.agent)
    client.post(f"/requests/{request.pk}/reply/", {"body": "Just us", "internal": "on"})
    client.force_login(org.requester)
    page = client.get(f"/requests/{request.pk}/")
    assertContains(page, "your reply resumes the request")
    assertNotContains(page, 'name="internal"')

    response = client.post(
        f"/requests/{request.pk}/reply/",
        {"body": "A 14 inch one", "internal": "on", "files": [upload("spec.pdf", PDF)]},
    )

    assertRedirects(response, f"/requests/{request.pk}/")
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    assert list(request.comments.values_list("body", "internal")) == [
        ("Just us", True),
        ("A 14 inch one", False),  # a requester cannot write internal notes
    ]
    attachment = Attachment.objects.get()
    assert attachment.comment is not None
    download = client.get(f"/requests/{request.pk}/attachments/{attachment.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF


def test_it_keeps_an_empty_reply_with_its_error(client, org, service, clock):
    request = file(org, service)
    client.force_login(org.requester)

    response = client.post(f"/requests/{request.pk}/reply/", {"body": "  "})

    assert response.status_code == 200
    assertContains(response, "This field is required.")
    assert not request.comments.exists()


def test_it_takes_texts_as_long_as_the_api_does_and_no_longer(client, org, service, clock):
    request = file(org, service)
    client.force_login(org.requester)
    too_long = "a" * (TEXT_MAX_LENGTH + 1)

    refused_reply = client.post(f"/requests/{request.pk}/reply/", {"body": too_long})
    refused_request = client.post(
        "/requests/new/", {"service": service.pk, "title": "Long", "description": too_long}
    )
    client.post(f"/requests/{request.pk}/reply/", {"body": too_long[1:]})

    expected = f"Ensure this value has at most {TEXT_MAX_LENGTH} characters"
    assertContains(refused_reply, expected)
    assertContains(refused_request, expected)
    assert list(request.comments.values_list("body", flat=True)) == [too_long[1:]]
    assert ServiceRequest.objects.count() == 1


def test_it_lets_the_requester_reopen_and_close(client, org, service, clock, settings):
    settings.REOPEN_WINDOW_DAYS = 3
    request = file(org, service)
    services.request_transition(request=request, actor=org.agent, action="resolve")
    client.force_login(org.requester)
    url = f"/requests/{request.pk}"
    assertContains(client.get(f"{url}/"), f"{url}/reopen/")

    assertRedirects(client.post(f"{url}/reopen/", {"comment": "Still broken"}), f"{url}/")
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    services.request_transition(request=request, actor=org.agent, action="resolve")
    assertRedirects(client.post(f"{url}/close/"), f"{url}/")

    request.refresh_from_db()
    assert request.status == Status.CLOSED
    page = client.get(f"{url}/")
    assertNotContains(page, f"{url}/reopen/")
    assertNotContains(page, 'id="reply-title"')


def test_it_hides_reopen_after_the_window_and_refuses_it(client, org, service, clock, settings):
    settings.REOPEN_WINDOW_DAYS = 1
    request = file(org, service)
    services.request_transition(request=request, actor=org.agent, action="resolve")
    clock.move_to(at(3, 10))
    client.force_login(org.requester)

    page = client.get(f"/requests/{request.pk}/")
    response = client.post(f"/requests/{request.pk}/reopen/")

    assertNotContains(page, f"/requests/{request.pk}/reopen/")
    assertContains(response, "Requests can be reopened within 1 days")
    request.refresh_from_db()
    assert request.status == Status.RESOLVED


def test_it_transfers_a_request_via_the_page(client, org, service, legal_service, clock):
    request = file(org, service)
    client.force_login(org.agent)
    form = client.get(f"/requests/{request.pk}/")
    assertContains(form, '<option value="legal">Legal</option>', html=True)
    assertNotContains(form, '<option value="sales">Sales</option>', html=True)  # the customer

    response = client.post(f"/requests/{request.pk}/transfer/", {"department": "legal"})

    # The agent does not work for Legal: the request leaves their sight, back to the queue.
    assertRedirects(response, "/requests/queue/", fetch_redirect_response=False)
    request.refresh_from_db()
    assert request.provider_department == org.other
    assert request.service == legal_service
    client.force_login(org.requester)
    assertContains(
        client.get(f"/requests/{request.pk}/"), "transferred the request from IT to Legal"
    )


def test_it_adds_and_removes_a_blocker_via_the_page(client, org, service, legal_service, clock):
    request = file(org, service)
    blocker = file(org, legal_service, requester=org.agent, title="Licence contract")
    client.force_login(org.agent)

    response = client.post(f"/requests/{request.pk}/block/", {"blocked_by": blocker.reference})

    assertRedirects(response, f"/requests/{request.pk}/")
    assert RequestLink.objects.filter(request=request, blocked_by=blocker, ended_at=None).exists()
    page = client.get(f"/requests/{request.pk}/")
    assertContains(page, f'Blocked by <a href="/requests/{blocker.pk}/">{blocker.reference}</a>')
    assertContains(page, "(Legal, new)")
    assertContains(client.get(f"/requests/{blocker.pk}/"), "Blocking <a href=")
    unknown = client.post(f"/requests/{request.pk}/block/", {"blocked_by": "REQ-999999"})
    assertContains(unknown, "There is no request REQ-999999 that you can see.")

    client.post(f"/requests/{request.pk}/unblock/", {"blocked_by": blocker.pk})

    assert not RequestLink.objects.filter(ended_at=None).exists()
    assertContains(client.get(f"/requests/{request.pk}/"), "removed the block by")


def test_it_names_but_does_not_link_a_blocker_the_viewer_cannot_see(
    client, org, service, legal_service, clock
):
    request = file(org, service)
    blocker = file(org, legal_service, requester=org.agent, title="Licence contract")
    services.request_block(request=request, actor=org.agent, blocked_by=blocker)
    client.force_login(org.requester)

    response = client.get(f"/requests/{request.pk}/")

    assertContains(response, f"Blocked by {blocker.reference} (Legal, new)")
    assertNotContains(response, f"/requests/{blocker.pk}/")
    assertNotContains(response, "Licence contract")


# --- my requests ---------------------------------------------------------------------------


def test_it_lists_my_requests_with_filters(client, org, service, legal_service, clock):
    file(org, service, title="Laptop please")
    file(org, legal_service, title="Contract please", priority=Priority.HIGH)
    file(org, service, requester=org.colleague, title="Colleague's laptop")
    client.force_login(org.requester)

    everything = client.get("/requests/")
    high = client.get("/requests/?priority=high")
    legal = client.get("/requests/?provider_department=legal&status=open")
    search = client.get("/requests/?q=laptop")

    assertContains(everything, "Laptop please")
    assertContains(everything, "Contract please")
    assertNotContains(everything, "Colleague&#x27;s laptop")
    assertContains(everything, "On track")
    assertNotContains(high, "Laptop please")
    assertContains(high, "Contract please")
    assertNotContains(legal, "Laptop please")
    assertContains(search, "Laptop please")
    assertNotContains(search, "Contract please")
    assertNotContains(everything, "Filed by Sales")  # no department tab for a member


def test_it_shows_a_manager_their_departments_requests(client, org, service, clock):
    file(org, service, title="Colleague's laptop", requester=org.colleague)
    client.force_login(org.customer_manager)

    mine = client.get("/requests/")
    department = client.get("/requests/?scope=department")

    assertContains(mine, "Filed by Sales")
    assertNotContains(mine, "Colleague&#x27;s laptop")
    assertContains(department, "Colleague&#x27;s laptop")


def test_it_lists_my_requests_in_a_constant_number_of_queries(
    client, org, service, clock, django_assert_max_num_queries
):
    for n in range(3):
        file(org, service, title=f"Request {n}")
    client.force_login(org.requester)
    with django_assert_max_num_queries(20) as few:
        client.get("/requests/")
    for n in range(12):
        file(org, service, title=f"More {n}")

    with django_assert_max_num_queries(20) as many:
        response = client.get("/requests/")

    assertContains(response, "More 11")
    assert len(many.captured_queries) == len(few.captured_queries)


# --- the queue -----------------------------------------------------------------------------


def test_it_sends_an_agent_to_their_first_queue_and_others_away(client, org):
    client.force_login(org.agent)
    assertRedirects(client.get("/requests/queue/"), "/requests/queue/it/")
    assert client.get("/requests/queue/legal/").status_code == 404
    client.force_login(org.requester)
    assert client.get("/requests/queue/").status_code == 404
    assert client.get("/requests/queue/it/").status_code == 404


def test_it_sorts_the_queue_by_resolution_due_time(client, org, service, clock):
    SLATargetFactory(
        department=org.provider,
        priority=Priority.URGENT,
        first_response=datetime.timedelta(minutes=30),
        resolution=datetime.timedelta(hours=2),
    )
    later = file(org, service, title="Normal one", when=at(0, 9))
    sooner = file(org, service, title="Urgent one", priority=Priority.URGENT, when=at(0, 9, 30))
    done = file(org, service, title="Done one")
    services.request_transition(request=done, actor=org.agent, action="resolve")
    client.force_login(org.agent)

    by_due = client.get("/requests/queue/it/").content.decode()
    by_created = client.get("/requests/queue/it/?sort=created").content.decode()
    everything = client.get("/requests/queue/it/?status=").content.decode()

    assert by_due.index(sooner.reference) < by_due.index(later.reference)
    assert by_created.index(later.reference) < by_created.index(sooner.reference)
    assert done.reference not in by_due  # the queue shows open requests by default
    assert done.reference in everything


def test_it_filters_the_queue_by_sla_state(client, org, service, clock):
    late = file(org, service, title="Late one", when=at(0, 9))
    fresh = file(org, service, title="Fresh one", when=at(0, 13))
    clock.move_to(at(0, 14))  # the first had a response due at 11:00
    client.force_login(org.agent)

    breached = client.get("/requests/queue/it/?sla_state=breached")
    running = client.get("/requests/queue/it/?sla_state=running")

    assertContains(breached, late.reference)
    assertNotContains(breached, fresh.reference)
    assertContains(breached, "Breached")
    assertContains(breached, "First response")  # which clock is late
    assertContains(running, fresh.reference)


def test_it_filters_the_queue_by_assignee(client, org, service, clock):
    mine = file(org, service, title="Mine")
    theirs = file(org, service, title="Theirs")
    nobodys = file(org, service, title="Nobody's")
    services.request_assign(request=mine, actor=org.agent, assignee=org.agent)
    services.request_assign(request=theirs, actor=org.agent, assignee=org.provider_manager)
    client.force_login(org.agent)

    me = client.get("/requests/queue/it/?assignee=me").content.decode()
    none = client.get("/requests/queue/it/?assignee=none").content.decode()
    manager = client.get("/requests/queue/it/?assignee=provider_manager").content.decode()

    assert mine.reference in me
    assert theirs.reference not in me
    assert nobodys.reference in none
    assert mine.reference not in none
    assert theirs.reference in manager
    assert nobodys.reference not in manager


def test_it_answers_htmx_filters_with_the_queue_table(client, org, service, clock):
    request = file(org, service)
    client.force_login(org.agent)

    response = client.get("/requests/queue/it/?priority=normal", HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="queue-table">')
    assert request.reference in html
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_it_bulk_assigns_from_the_queue(client, org, service, clock):
    first, second, _third = (file(org, service, title=f"Request {n}") for n in range(3))
    client.force_login(org.agent)

    response = client.post(
        "/requests/queue/it/assign/",
        {"ids": [first.pk, second.pk], "assignee": org.agent.pk, "query": "sort=created"},
    )

    assertRedirects(response, "/requests/queue/it/?sort=created", fetch_redirect_response=False)
    assert set(ServiceRequest.objects.filter(assignee=org.agent)) == {first, second}
    page = client.get(response.url)
    assertContains(page, f"Assigned 2 requests to {org.agent.get_full_name()}.")


def test_it_bulk_assigns_nothing_outside_the_queue(client, org, service, legal_service, clock):
    elsewhere = file(org, legal_service)
    client.force_login(org.agent)

    client.post("/requests/queue/it/assign/", {"ids": [elsewhere.pk], "assignee": org.agent.pk})

    elsewhere.refresh_from_db()
    assert elsewhere.assignee is None


def test_queue_rows_agree_with_the_clocks_of_the_request_page(org, service, clock):
    """The queue reads clocks at a glance (no calendar, no business time); its states must be
    the ones the full live computation gives, before the scanner has written anything."""
    # Office hours from 09:00; first response due within 2 business hours.
    fresh = file(org, service, title="Fresh", when=at(0, 9, 45))  # 75% at 11:15
    warned = file(org, service, title="Past 75%", when=at(0, 9, 20))  # 75% at 10:50
    late = file(org, service, title="Late", when=at(0, 9))  # due at 11:00
    waiting = file(org, service, title="Waiting", when=at(0, 9))
    answered = file(org, service, title="Answered", when=at(0, 9))
    with time_machine.travel(at(0, 9, 30), tick=False):
        services.request_transition(request=waiting, actor=org.agent, action="wait")
        services.request_acknowledge(request=answered, actor=org.agent)
        services.request_assign(request=answered, actor=org.agent, assignee=org.agent)
    clock.move_to(at(0, 11, 10))
    requests = [fresh, warned, late, waiting, answered]
    ids = [request.pk for request in requests]
    now = timezone.now()

    rows = queue_rows(ids, now=now)
    full = with_live_clocks(list(request_list(user=org.agent).filter(pk__in=ids)), now=now)

    by_pk = {row.pk: row for row in full}
    assert [row.pk for row in rows] == ids  # in the order asked
    for row in rows:
        expected = by_pk[row.pk]
        assert (row.sla_state, row.sla_clock) == (expected.sla_state, expected.sla_clock)
        assert set(row.clocks) == set(expected.live_clocks)
        for kind, glance in row.clocks.items():
            live = expected.live_clocks[kind]
            assert (glance.state, glance.due_at, glance.warned_at, glance.completed_at) == (
                live.state,
                live.due_at,
                live.warned_at,
                live.completed_at,
            )
        assert row.requester == expected.requester.get_full_name()
        assert row.assignee == (expected.assignee.get_full_name() if expected.assignee else "")
    states = {row.title: row.sla_state for row in rows}
    assert states == {
        "Fresh": "running",
        "Past 75%": "warning",
        "Late": "breached",
        "Waiting": "breached",  # the wait pauses the resolution clock, not the response
        "Answered": "running",
    }


def test_it_renders_the_queue_in_a_constant_number_of_queries(
    client, org, service, clock, django_assert_max_num_queries
):
    agents = [org.agent, org.provider_manager]
    for n in range(5):
        request = file(org, service, title=f"Request {n}")
        services.request_assign(request=request, actor=org.agent, assignee=agents[n % 2])
    client.force_login(org.agent)
    with django_assert_max_num_queries(25) as few:
        client.get("/requests/queue/it/")
    requesters = [UserFactory(username=f"sales{n}") for n in range(5)]
    for user in requesters:
        MembershipFactory(user=user, department=org.customer, role=Role.MEMBER)
    for n in range(35):
        file(org, service, title=f"More {n}", requester=requesters[n % 5])

    with django_assert_max_num_queries(25) as many:
        response = client.get("/requests/queue/it/")

    assert response.content.decode().count('name="ids"') == 40
    assert len(many.captured_queries) == len(few.captured_queries)


# --- notifications -------------------------------------------------------------------------


def notifications_add(user, request, numbers, *, message: str, when):
    """Notifications about `request` for `user`, one per number (message and time by it)."""
    Notification.objects.bulk_create(
        Notification(
            user=user,
            request=request,
            kind="request_filed",
            message=message.format(n),
            dedupe_key=f"bulk:{n}",
            created_at=when(n),
        )
        for n in numbers
    )


def test_it_lists_notifications_and_marks_them_read(client, org, service, clock):
    first = file(org, service, title="First")
    file(org, service, title="Second")
    client.force_login(org.agent)

    home = client.get("/")
    page = client.get("/requests/notifications/")

    assertContains(home, '<span class="badge" title="2 unread">')
    assertContains(page, "New normal request from Sales: First")
    assertContains(page, 'class="notification unread"', count=2)
    assertContains(page, f'href="/requests/{first.pk}/"')

    client.get(f"/requests/{first.pk}/")  # opening a request reads its notifications
    assert Notification.objects.filter(user=org.agent, read_at=None).count() == 1
    assertContains(client.get("/"), '<span class="badge" title="1 unread">')

    response = client.post("/requests/notifications/read/")

    assertRedirects(response, "/requests/notifications/")
    assert not Notification.objects.filter(user=org.agent, read_at=None).exists()
    assertNotContains(client.get("/requests/notifications/"), 'class="notification unread"')
    assertNotContains(client.get("/"), 'class="badge"')


def test_it_pages_notifications_without_counting_them(client, org, service, clock):
    request = file(org, service, title="Busy")
    notifications_add(
        org.agent, request, range(1, 30), message="Note {:02d}", when=lambda n: at(0, 9, n)
    )  # 30 with the filing's own
    client.force_login(org.agent)

    with CaptureQueriesContext(connection) as queries:
        first = client.get("/requests/notifications/")
    # Read before the next request: a request clears the connection's query log.
    counts = [
        query["sql"]
        for query in queries.captured_queries
        if "COUNT(" in query["sql"] and "requests_app_notification" in query["sql"]
    ]
    second = client.get("/requests/notifications/?page=2")
    beyond = client.get("/requests/notifications/?page=9")
    nonsense = client.get("/requests/notifications/?page=x")

    assert len(counts) == 1  # the unread badge's, capped
    assert '"read_at" IS NULL' in counts[0]
    assertContains(first, '<li class="notification', count=25)
    assertContains(first, "Note 29")  # newest first
    assertContains(first, 'rel="next"')
    assertNotContains(first, 'rel="prev"')
    assertContains(second, '<li class="notification', count=5)
    assertContains(second, 'rel="prev"')
    assertNotContains(second, 'rel="next"')
    assertContains(second, "Page 2")
    assertContains(beyond, "No notifications yet.")  # past the end: nothing, no error
    assertContains(nonsense, "Note 29")  # a page that is not a number: the first


def test_it_caps_the_unread_badge_at_99_plus(client, org, service, clock):
    request = file(org, service, title="Busy")
    notifications_add(
        org.agent, request, range(99), message="#{}", when=lambda n: request.created_at
    )  # with the one for filing: 100 unread
    client.force_login(org.agent)

    assertContains(client.get("/"), '<span class="badge" title="over 99 unread">99+')

    Notification.objects.filter(dedupe_key="bulk:0").update(read_at=request.created_at)
    assertContains(client.get("/"), '<span class="badge" title="99 unread">99<')


def test_it_shows_the_request_links_in_the_navigation(client, org):
    client.force_login(org.agent)

    response = client.get("/")

    assertContains(response, '<a href="/requests/">My requests</a>', html=True)
    assertContains(response, '<a href="/requests/new/">New request</a>', html=True)
    assertContains(response, '<a href="/requests/queue/">Queue</a>', html=True)
    client.force_login(org.requester)
    assertNotContains(client.get("/"), '<a href="/requests/queue/">Queue</a>', html=True)


# --- markdown ------------------------------------------------------------------------------


def test_it_shows_a_sanitised_description_on_the_page(client, org, service, clock):
    request = file(org, service, description="Hi <script>alert('x')</script><b onmouseover=x>b</b>")
    client.force_login(org.requester)

    response = client.get(f"/requests/{request.pk}/")

    assertNotContains(response, "alert(")
    assertNotContains(response, "onmouseover")
    assertContains(response, "<b>b</b>", html=True)


def test_it_shows_the_stored_html_and_renders_nothing_when_viewed(
    client, org, service, clock, monkeypatch
):
    request = file(org, service, description="Mine is **broken**.")
    with time_machine.travel(at(0, 10), tick=False):
        services.request_comment_add(request=request, author=org.agent, body="Try *this*")

    def refuse(text):
        raise AssertionError("rendered at view time")

    monkeypatch.setattr("core.markdown.render_markdown", refuse)
    monkeypatch.setattr("requests_app.lifecycle.render_markdown", refuse)
    monkeypatch.setattr("core.markdown._PARSER.render", refuse)
    client.force_login(org.requester)

    response = client.get(f"/requests/{request.pk}/")

    assertContains(response, "<p>Mine is <strong>broken</strong>.</p>", html=True)
    assertContains(response, "<p>Try <em>this</em></p>", html=True)


def test_it_shows_what_was_stored_not_the_text_rendered_again(client, org, service, clock):
    request = file(org, service, description="Mine is **broken**.")
    ServiceRequest.objects.filter(pk=request.pk).update(description_html="<p>stored</p>")
    client.force_login(org.requester)

    response = client.get(f"/requests/{request.pk}/")

    assertContains(response, "<p>stored</p>", html=True)
    assertNotContains(response, "<strong>broken</strong>", html=True)


PAGE_ROUTES = {"comment": "reply", "note": None, "unblock": None}


@pytest.mark.parametrize("role", ["requester", "customer_manager", "agent"])
@pytest.mark.parametrize("state", ["new", "waiting", "resolved"])
def test_the_page_offers_exactly_the_actions_the_api_lists(client, org, service, role, state):
    request = file(org, service)
    steps = {"new": [], "waiting": ["wait"], "resolved": ["resolve"]}[state]
    for action in steps:
        services.request_transition(request=request, actor=org.agent, action=action)
    user = getattr(org, role)
    client.force_login(user)
    api = APIClient()
    api.force_authenticate(user)

    allowed = api.get(f"/api/v1/requests/{request.pk}/").json()["allowed_actions"]
    page = client.get(f"/requests/{request.pk}/").content.decode()

    assert allowed or role == "customer_manager"
    for action in ACTION_ACTORS:
        route = PAGE_ROUTES.get(action, action)
        if route is None:
            continue
        shown = f"/requests/{request.pk}/{route}/" in page
        assert shown == (action in allowed), (action, allowed)
