"""Cross-department access: reaching another department's objects by id or by reference.

Attack covered: insecure direct object references. Someone of another department (or HR,
who sees scores, not requests) walks the ids of every object type through every endpoint
that takes an id, and looks requests up by their reference (REQ-000123); each answers 404
and changes nothing, so that even existence does not leak. The endpoints come from the
OpenAPI schema and the URLconf: an endpoint with an id that is missing from the tables below
fails the test until someone decides who may reach it. And every list shows exactly the
objects whose detail answers 200, for every user.
"""

import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from departments.choices import Role
from departments.models import Agreement, Department, EscalationLevel, Membership, Service
from requests_app.models import Comment, RequestEvent, ServiceRequest
from requests_app.selectors import PROVIDER_ROLES, requests_visible_to, visible_by_rule
from reviews.models import Review, ReviewAction, ReviewSection
from scorecards.reports.models import QuarterlyReport
from surveys.models import RelationshipInvitation, RequestQualityRating, RequestSurvey
from surveys.tokens import token_issue
from tests.factories import ServiceFactory

from .conftest import ROLES
from .schema import api_operations, collection_of, fill, page_routes

# collection -> (the object, as a function of the world; who, in other departments, must not
# reach it). Sales (requester, customer_manager) and IT (agent, provider_manager) share
# their requests; Legal (outsider) and HR share nothing with them.
TARGETS = {
    "requests": (lambda w: w.requests["sales_to_it"].pk, ["outsider", "hr"]),
    "surveys": (lambda w: w.survey.pk, ["outsider", "hr"]),
    # One person's invitation: nobody else's business, least of all another department's.
    "surveys/relationship": (lambda w: w.invitations["requester"].pk, ["outsider", "agent"]),
    # IT's rating of a Sales request: for IT only, not even for Sales.
    "surveys/request-ratings": (
        lambda w: w.rating.pk,
        ["outsider", "requester", "customer_manager", "hr"],
    ),
    "reports": (lambda w: w.report.pk, ["outsider", "agent", "customer_manager"]),
    # IT's proposal to Sales: for the managers of IT and Sales, and HR.
    "agreements": (lambda w: w.agreement.pk, ["requester", "colleague", "agent", "outsider"]),
    # The review of Sales' request to IT: for its participants (IT's staff, the requester,
    # Sales' manager), not for a colleague who filed nothing reviewed, Legal or HR.
    "reviews": (lambda w: w.review.pk, ["colleague", "outsider", "hr"]),
    "reviews/actions": (lambda w: w.review_action.pk, ["colleague", "outsider", "hr"]),
}
# A department's own business under its public path: its members (and HR) read it, others
# are refused (the department itself is public, so its existence leaks nothing).
OWN_DEPARTMENT = {
    "/api/v1/departments/{slug}/escalation-levels/": (
        lambda w: "it",
        ["requester", "colleague", "customer_manager", "outsider"],
        403,
    ),
    # When reviews open on IT's service: IT's members read it, its managers change it.
    "/api/v1/reviews/rules/{slug}/": (
        lambda w: "it",
        ["requester", "colleague", "customer_manager", "outsider", "hr"],
        403,
    ),
}
# The directory and the service catalogue are everyone's.
PUBLIC = {
    "departments": lambda w: "it",
    "services": lambda w: w.laptop.pk,
}


def operations_with_an_id():
    return [(method, path) for method, path in api_operations() if "{" in path]


def test_every_endpoint_with_an_id_is_in_the_tables():
    collections = {collection_of(path) for _, path in operations_with_an_id()}
    own = {collection_of(path) for path in OWN_DEPARTMENT}
    assert collections <= set(TARGETS) | set(PUBLIC) | own


def state(world) -> tuple:
    return (
        list(Agreement.objects.order_by("pk").values()),
        list(EscalationLevel.objects.order_by("pk").values()),
        list(ServiceRequest.objects.order_by("pk").values()),
        RequestEvent.objects.count(),
        Comment.objects.count(),
        list(RequestSurvey.objects.values("pk", "response__overall")),
        list(RequestQualityRating.objects.values()),
        list(RelationshipInvitation.objects.values("pk", "completed_at")),
        list(Review.objects.order_by("pk").values()),
        list(ReviewAction.objects.order_by("pk").values()),
        ReviewSection.objects.count(),
    )


def api(world, role) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[role]}")
    return client


def test_another_department_gets_404_by_id_and_nothing_changes(world):
    before = state(world)
    for method, path in operations_with_an_id():
        collection = collection_of(path)
        if path in OWN_DEPARTMENT:
            target, strangers, answer = OWN_DEPARTMENT[path]
            url = fill(path, target(world))
            for role in strangers:
                client = api(world, role)
                response = client.get(url) if method == "GET" else client.post(url, {})
                assert response.status_code == answer, (role, method, url)
            continue
        if collection in PUBLIC:
            for role in ROLES:
                url = fill(path, PUBLIC[collection](world))
                assert api(world, role).get(url).status_code == 200, (role, url)
            continue
        target, strangers = TARGETS[collection]
        url = fill(path, target(world))
        for role in strangers:
            client = api(world, role)
            # No body: visibility answers before any input is read
            # (test_permission_before_validation.py sends hostile ones).
            response = client.get(url) if method == "GET" else client.post(url, {}, format="json")
            assert response.status_code == 404, (role, method, url, response.content[:200])
    assert state(world) == before


@pytest.mark.parametrize("role", ["outsider", "hr"])
def test_a_reference_finds_nothing_in_another_department(world, role):
    request = world.requests["sales_to_it"]
    client = api(world, role)
    browser = Client()
    browser.force_login(getattr(world.org, role))

    assert client.get("/api/v1/requests/", {"q": request.reference}).json()["count"] == 0
    assert client.get("/api/v1/requests/", {"q": request.title}).json()["count"] == 0
    for page in ("/requests/", "/requests/?scope=department", "/requests/notifications/"):
        found = browser.get(page, {"q": request.reference}).text
        assert f'href="/requests/{request.pk}/"' not in found
        assert request.title not in found
    assert browser.get(f"/requests/{request.reference}/").status_code == 404


def test_an_agent_cannot_block_by_the_id_or_reference_of_a_request_they_cannot_see(world):
    hidden = world.requests["sales_to_legal"]  # Sales to Legal: no business of IT's
    request = world.requests["sales_to_it"]
    before = state(world)

    response = api(world, "agent").post(
        f"/api/v1/requests/{request.pk}/block/", {"blocked_by": hidden.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"blocked_by": ["No such request."]}
    browser = Client()
    browser.force_login(world.org.agent)
    page = browser.post(f"/requests/{request.pk}/block/", {"blocked_by": hidden.reference})
    assert hidden.title not in page.text
    assert state(world) == before


# --- pages ---------------------------------------------------------------------------------

# route -> (the values of its parameters, strangers, what they get). Exceptions: the survey
# link is itself the key, and a signed-in stranger is told that it was sent to someone else.
PAGES = {
    "departments/<slug:slug>/": (lambda w: ["it"], [], 200),
    # Agreements: their two sides' managers and HR (read-only); only managers propose.
    # Escalation levels: the department's members and HR read them, its managers edit them.
    "departments/<slug:slug>/escalation/": (
        lambda w: ["it"],
        ["requester", "colleague", "customer_manager", "outsider"],
        403,
    ),
    "departments/<slug:slug>/agreements/new/": (
        lambda w: ["it"],
        ["requester", "colleague", "agent", "outsider", "hr"],
        403,
    ),
    "departments/<slug:slug>/agreements/<int:pk>/": (
        lambda w: ["it", w.agreement.pk],
        ["requester", "colleague", "agent", "outsider"],
        404,
    ),
    "departments/<slug:slug>/agreements/<int:pk>/<slug:action>/": (
        lambda w: ["it", w.agreement.pk, "accept"],
        ["requester", "colleague", "agent", "outsider"],
        404,
    ),
    "requests/queue/<slug:slug>/": (lambda w: ["it"], ["outsider", "hr", "requester"], 404),
    "requests/queue/<slug:slug>/assign/": (lambda w: ["it"], ["outsider", "hr"], 404),
    "requests/<int:pk>/": (lambda w: [w.requests["sales_to_it"].pk], ["outsider", "hr"], 404),
    "requests/<int:pk>/timeline/": (
        lambda w: [w.requests["sales_to_it"].pk],
        ["outsider", "hr"],
        404,
    ),
    "requests/<int:pk>/attachments/<int:attachment_pk>/": (
        lambda w: [w.requests["sales_to_it"].pk, w.public_attachment.pk],
        ["outsider", "hr"],
        404,
    ),
    "requests/<int:pk>/<slug:action>/": (
        lambda w: [w.requests["sales_to_it"].pk, "reply"],
        ["outsider", "hr"],
        404,
    ),
    "surveys/request/<int:request_pk>/": (
        lambda w: [w.survey.request_id],
        ["outsider", "agent", "hr"],
        404,
    ),
    "surveys/request/<int:request_pk>/details/": (
        lambda w: [w.survey.request_id],
        ["outsider", "agent", "hr"],
        404,
    ),
    "surveys/request/<int:request_pk>/quality/": (
        lambda w: [w.survey.request_id],
        ["outsider", "hr"],
        404,
    ),
    "surveys/quarterly/<int:pk>/": (
        lambda w: [w.invitations["requester"].pk],
        ["outsider", "agent"],
        404,
    ),
    "surveys/t/<str:token>/": (lambda w: [w.link], ["outsider", "agent"], 403),
    # Departments are public (the directory): their results page says why it refuses.
    "surveys/results/<slug:slug>/": (lambda w: ["it"], ["outsider", "requester"], 403),
    "scorecards/<slug:slug>/": (lambda w: ["it"], ["outsider", "requester"], 404),
    "scorecards/<slug:slug>/pair/<slug:customer_slug>/": (
        lambda w: ["it", "sales"],
        ["outsider"],
        404,
    ),
    # Departments are public: a department's review rules page says why it refuses (its
    # members read it; test_permission_before_validation.py refuses their changes).
    "reviews/rules/<slug:slug>/": (
        lambda w: ["it"],
        ["requester", "colleague", "customer_manager", "outsider", "hr"],
        403,
    ),
    "reviews/<int:pk>/": (lambda w: [w.review.pk], ["colleague", "outsider", "hr"], 404),
    "reviews/<int:pk>/section/<slug:slug>/": (
        lambda w: [w.review.pk, "it"],
        ["colleague", "outsider", "hr"],
        404,
    ),
    "reviews/<int:pk>/actions/": (lambda w: [w.review.pk], ["colleague", "outsider", "hr"], 404),
    "reviews/<int:pk>/close/": (lambda w: [w.review.pk], ["colleague", "outsider", "hr"], 404),
    "reviews/<int:pk>/actions/<int:action_pk>/<slug:verb>/": (
        lambda w: [w.review.pk, w.review_action.pk, "done"],
        ["colleague", "outsider", "hr"],
        404,
    ),
    "reports/<int:pk>/row/": (lambda w: [w.report.pk], ["outsider", "agent"], 404),
    "reports/<int:pk>/download/": (lambda w: [w.report.pk], ["outsider", "agent"], 404),
}
PARAMETER = re.compile(r"<[^>]+>")


def test_every_page_with_an_id_is_in_the_table():
    assert {route for route in page_routes() if "<" in route} == set(PAGES)


def test_another_department_gets_404_from_the_pages_and_nothing_changes(world):
    world.link = token_issue(request_survey=world.survey, expires_at=world.survey.closes_at)
    before = state(world)
    for route, (values, strangers, answer) in PAGES.items():
        parts = iter(values(world))
        url = "/" + PARAMETER.sub(lambda _, parts=parts: str(next(parts)), route)
        for role in strangers:
            browser = Client()
            browser.force_login(getattr(world.org, role))
            assert browser.get(url).status_code in (answer, 405), (role, url)
            posted = browser.post(url, {"body": "x", "overall": "1"})
            assert posted.status_code in (answer, 405), (role, url)
    assert state(world) == before


# --- lists agree with details --------------------------------------------------------------

# collection -> every object of its kind, as the detail URL names it.
ALL_OBJECTS = {
    "departments": lambda: set(Department.objects.values_list("slug", flat=True)),
    "services": lambda: set(Service.objects.values_list("pk", flat=True)),
    "surveys": lambda: set(RequestSurvey.objects.values_list("pk", flat=True)),
    "surveys/relationship": lambda: set(
        RelationshipInvitation.objects.values_list("pk", flat=True)
    ),
    "surveys/request-ratings": lambda: set(
        RequestQualityRating.objects.values_list("pk", flat=True)
    ),
    "reports": lambda: set(QuarterlyReport.objects.values_list("pk", flat=True)),
    "agreements": lambda: set(Agreement.objects.values_list("pk", flat=True)),
    "reviews": lambda: set(Review.objects.values_list("pk", flat=True)),
    "reviews/actions": lambda: set(ReviewAction.objects.values_list("pk", flat=True)),
}
# Requests: tests/requests_app/test_permissions.py, the list agrees with the details.
ELSEWHERE = {"requests"}


def list_and_detail_collections() -> list[str]:
    operations = set(api_operations())
    return sorted(
        collection_of(path)
        for method, path in operations
        if method == "GET"
        and path.endswith("}/")
        and ("GET", path.split("{")[0]) in operations
        and path.count("{") == 1
    )


def test_every_list_with_a_detail_is_compared():
    assert set(list_and_detail_collections()) == set(ALL_OBJECTS) | ELSEWHERE


def test_a_list_shows_exactly_the_objects_whose_detail_answers(world):
    QuarterlyReport.objects.create(  # HR's second report, still queued
        quarter="2026-Q2",
        format="csv",
        requested_by=world.org.hr,
        requested_at=world.report.requested_at,
    )
    ServiceFactory(department=world.org.other, name="Fax", active=False)
    for role in ROLES:
        client = api(world, role)
        for collection in ALL_OBJECTS:
            base = f"/api/v1/{collection}/"
            response = client.get(base, {"page_size": 200})
            if response.status_code == 404:  # the whole resource is hidden (reports)
                listed = set()
            else:
                body = response.json()
                rows = body["results"] if isinstance(body, dict) else body
                key = "slug" if collection == "departments" else "id"
                listed = {row[key] for row in rows}
            answering = {
                key
                for key in ALL_OBJECTS[collection]()
                if client.get(f"{base}{key}/").status_code == 200
            }
            assert listed == answering, (role, collection)


LINKED_REQUEST = re.compile(r'href="/requests/(\d+)/"')


def test_the_list_pages_show_exactly_the_requests_whose_page_answers(world):
    """My requests (both tabs) and every queue one may open, against the request pages."""
    pages = ["/requests/?status=", "/requests/?scope=department&status="]
    pages += [f"/requests/queue/{slug}/?status=" for slug in ("it", "sales", "legal")]
    for role in ROLES:
        browser = Client()
        browser.force_login(getattr(world.org, role))
        listed = set()
        for url in pages:
            response = browser.get(url)
            if response.status_code == 404:  # a queue the role does not work
                continue
            assert response.status_code == 200, (role, url)
            listed |= {int(pk) for pk in LINKED_REQUEST.findall(response.text)}
        answering = {
            pk
            for pk in ServiceRequest.objects.values_list("pk", flat=True)
            if browser.get(f"/requests/{pk}/").status_code == 200
        }
        assert listed == answering, role


def test_the_rule_in_memory_agrees_with_the_selector_for_every_role_and_request(world):
    """selectors.visible_by_rule (the demo's replay) is `requests_visible_to` for one request."""
    requests = list(ServiceRequest.objects.all())
    seen = set()
    for role in ROLES:
        user = getattr(world.org, role)
        memberships = list(Membership.objects.filter(user=user))
        provider_of = {m.department_id for m in memberships if m.role in PROVIDER_ROLES}
        manager_of = {m.department_id for m in memberships if m.role == Role.MANAGER}
        visible = set(requests_visible_to(user).values_list("pk", flat=True))
        for request in requests:
            by_rule = visible_by_rule(
                request, user_pk=user.pk, provider_of=provider_of, manager_of=manager_of
            )
            assert by_rule == (request.pk in visible), (role, request.title)
            seen.add(by_rule)
    assert seen == {True, False}
