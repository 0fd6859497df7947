"""Mass assignment: setting what the server decides by adding fields to a request body.

Attack covered: a caller adds the fields the server sets (requester, department, status,
assignee, author, rater, respondent, timestamps, report status, checksum...) to a form or an
API body, or uses an update method, hoping the framework saves them. Each is refused (400,
405) or ignored, and what is stored is what the server decided. The API's refusal of extra
fields when filing a request is in tests/requests_app/test_api.py
(test_it_refuses_fields_the_server_sets).
"""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from departments.models import Agreement
from requests_app.models import Comment, Notification, ServiceRequest
from scorecards.reports.models import QuarterlyReport
from surveys.models import (
    RelationshipAnswer,
    RelationshipInvitationItem,
    RequestQualityRating,
    SurveyResponse,
)
from tests.factories import MembershipFactory

from .conftest import NOW
from .schema import api_operations, collection_of, fill

LONG_AGO = "2020-01-01T00:00:00Z"


def api(world, role) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[role]}")
    return client


@pytest.mark.parametrize("extra", ["id", "reference", "resolved_at", "clocks", "blocked_by"])
def test_filing_refuses_more_server_fields(world, extra):
    before = ServiceRequest.objects.count()
    response = api(world, "requester").post(
        "/api/v1/requests/",
        {"service": world.laptop.pk, "title": "x", "description": "y", extra: 1},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {extra: ["This field cannot be set."]}
    assert ServiceRequest.objects.count() == before


def test_filing_for_a_department_one_is_not_in_is_refused(world):
    before = ServiceRequest.objects.count()
    response = api(world, "requester").post(
        "/api/v1/requests/",
        {
            "service": world.laptop.pk,
            "title": "x",
            "description": "y",
            "requesting_department": "legal",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "requesting_department" in response.json()
    assert ServiceRequest.objects.count() == before


def test_the_new_request_page_takes_none_of_the_server_fields(client, world):
    client.force_login(world.org.requester)
    client.post(
        "/requests/new/",
        {
            "service": world.laptop.pk,
            "title": "Sneaky",
            "description": "y",
            "requester": world.org.agent.pk,
            "assignee": world.org.agent.pk,
            "status": "resolved",
            "provider_department": world.org.other.pk,
            "created_at": LONG_AGO,
            "reference": "REQ-000001",
        },
    )
    request = ServiceRequest.objects.get(title="Sneaky")
    assert request.requester == world.org.requester
    assert request.requesting_department == world.org.customer
    assert request.provider_department == world.org.provider
    assert (request.status, request.assignee, request.created_at) == ("new", None, NOW)

    # One department: the field is not on the form, and a forged value is ignored.
    client.post(
        "/requests/new/",
        {
            "service": world.laptop.pk,
            "title": "For Legal",
            "description": "y",
            "requesting_department": world.org.other.pk,
        },
    )
    assert ServiceRequest.objects.get(title="For Legal").requesting_department == (
        world.org.customer
    )
    # Several departments: only one's own are choices.
    MembershipFactory(user=world.org.requester, department=world.org.provider, is_primary=False)
    refused = client.post(
        "/requests/new/",
        {
            "service": world.contract.pk,
            "title": "Also for Legal",
            "description": "y",
            "requesting_department": world.org.other.pk,
        },
    )
    assert "Select a valid choice" in refused.text
    assert not ServiceRequest.objects.filter(title="Also for Legal").exists()


def test_an_action_sets_only_what_it_is_about(world):
    request = world.requests["sales_to_it"]
    response = api(world, "agent").post(
        f"/api/v1/requests/{request.pk}/start/",
        {
            "status": "closed",
            "provider_department": "legal",
            "requesting_department": "legal",
            "requester": "agent",
            "assignee": "provider_manager",
            "confidential": True,
            "priority": "urgent",
        },
        format="json",
    )
    assert response.status_code == 200
    request.refresh_from_db()
    assert request.status == "in_progress"
    assert request.provider_department == world.org.provider
    assert request.requesting_department == world.org.customer
    assert request.requester == world.org.requester
    assert request.assignee is None
    assert (request.confidential, request.priority) == (False, "normal")


def test_a_comment_is_by_its_caller_now_on_the_request_of_its_url(world):
    request, elsewhere = world.requests["sales_to_it"], world.requests["sales_to_legal"]
    response = api(world, "requester").post(
        f"/api/v1/requests/{request.pk}/comments/",
        {
            "body": "Hello",
            "author": "agent",
            "request": elsewhere.pk,
            "created_at": LONG_AGO,
            "id": 1,
        },
        format="json",
    )
    assert response.status_code == 201
    comment = Comment.objects.get(body="Hello")
    assert (comment.author, comment.request, comment.created_at) == (
        world.org.requester,
        request,
        NOW,
    )


def test_a_survey_answer_takes_no_respondent_or_survey(world):
    survey = world.survey
    response = api(world, "requester").post(
        f"/api/v1/surveys/{survey.pk}/answer/",
        {"overall": 5, "respondent": "agent", "request": 1, "answered_at": LONG_AGO},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"respondent", "request", "answered_at"}
    assert SurveyResponse.objects.get(survey=survey).overall == 4


def test_a_rating_is_by_its_caller_for_the_request_it_names(world):
    response = api(world, "agent").post(
        "/api/v1/surveys/request-ratings/",
        {
            "request": world.requests["resolved"].pk,
            "clarity": 2,
            "rated_by": "provider_manager",
            "provider_department": "legal",
            "requesting_department": "legal",
            "rated_at": LONG_AGO,
        },
        format="json",
    )
    assert response.status_code == 200
    rating = RequestQualityRating.objects.get()
    assert (rating.clarity, rating.rated_by) == (2, world.org.agent)
    assert (rating.provider_department, rating.requesting_department) == (
        world.org.provider,
        world.org.customer,
    )


def test_a_relationship_answer_stays_anonymous_and_about_its_own_item(world):
    invitation = world.invitations["requester"]
    item = invitation.items.get(provider_department=world.org.provider)
    response = api(world, "requester").post(
        f"/api/v1/surveys/relationship/{invitation.pk}/answer/",
        {
            "answers": [
                {
                    "item": item.pk,
                    "hire_back": "no",
                    "user": world.org.agent.pk,
                    "respondent": "agent",
                    "customer_department": "legal",
                    "provider_department": "legal",
                }
            ],
            "user": "agent",
        },
        format="json",
    )
    assert response.status_code == 201
    (answer,) = RelationshipAnswer.objects.values()
    assert (answer["customer_department_id"], answer["provider_department_id"]) == (
        world.org.customer.pk,
        world.org.provider.pk,
    )
    assert not {"user_id", "respondent_id", "invitation_id"} & set(answer)
    assert RelationshipInvitationItem.objects.get(pk=item.pk).answered_at == NOW


def test_a_report_is_requested_by_its_caller_and_made_by_the_server(world):
    response = api(world, "hr").post(
        "/api/v1/reports/",
        {
            "quarter": "2026-Q2",
            "format": "csv",
            "requested_by": "agent",
            "status": "done",
            "sha256": "0" * 64,
            "size": 1,
            "methodology_version": "forged",
            "source": "page",
        },
        format="json",
    )
    assert response.status_code == 201
    report = QuarterlyReport.objects.get(quarter="2026-Q2")
    assert report.requested_by == world.org.hr
    assert report.source == "api"
    assert report.sha256 != "0" * 64
    assert report.methodology_version != "forged"


def test_marking_read_touches_only_ones_own_notifications(world):
    theirs = Notification.objects.exclude(user=world.org.outsider)
    unread = set(theirs.filter(read_at=None).values_list("pk", flat=True))
    assert unread
    response = api(world, "outsider").post(
        "/api/v1/notifications/mark-read/", {"ids": sorted(unread)}, format="json"
    )
    assert response.json() == {"marked": 0}
    assert set(theirs.filter(read_at=None).values_list("pk", flat=True)) == unread


def test_no_stored_object_can_be_updated_or_deleted_through_the_api(world):
    targets = {
        "requests": world.requests["sales_to_it"].pk,
        "surveys": world.survey.pk,
        "surveys/relationship": world.invitations["requester"].pk,
        "surveys/request-ratings": world.rating.pk,
        "reports": world.report.pk,
        "services": world.laptop.pk,
        "departments": "it",
        "agreements": world.agreement.pk,
        "reviews": world.review.pk,
        "reviews/actions": world.review_action.pk,
        "reviews/rules": "it",
    }
    details = [path for method, path in api_operations() if method == "GET" and "{" in path]
    assert {method for method, _ in api_operations()} <= {"GET", "POST"}
    # An owner of each object: the one most likely to be allowed to change it.
    owners = {
        "surveys/request-ratings": "agent",
        "reports": "hr",
        "agreements": "provider_manager",
        "reviews": "provider_manager",
        "reviews/actions": "agent",
        "reviews/rules": "provider_manager",
    }
    for path in details:
        collection = collection_of(path)
        url = fill(path, targets[collection])
        client = api(world, owners.get(collection, "requester"))
        for method in ("put", "patch", "delete"):
            response = getattr(client, method)(url, {"status": "closed"}, format="json")
            assert response.status_code in (404, 405), (method, url)


def test_a_browser_cannot_mark_someone_elses_notification_read(client, world):
    theirs = Notification.objects.exclude(user=world.org.outsider).filter(read_at=None)
    count = theirs.count()
    client.force_login(world.org.outsider)
    client.post("/requests/notifications/read/", {"ids": list(theirs.values_list("pk", flat=True))})
    assert theirs.count() == count


def test_a_page_action_sets_only_what_it_is_about(world):
    request = world.requests["sales_to_it"]
    browser = Client()
    browser.force_login(world.org.agent)
    browser.post(
        f"/requests/{request.pk}/start/",
        {"status": "closed", "requester": world.org.agent.pk, "confidential": "on"},
    )
    request.refresh_from_db()
    assert (request.status, request.requester, request.confidential) == (
        "in_progress",
        world.org.requester,
        False,
    )


@pytest.mark.parametrize(
    "extra", ["id", "state", "version", "proposed_by", "decided_by", "effective_from"]
)
def test_proposing_an_agreement_refuses_the_fields_the_server_sets(world, extra):
    before = Agreement.objects.count()
    response = api(world, "customer_manager").post(
        "/api/v1/agreements/",
        {
            "provider": "it",
            "customer": "sales",
            "valid_from": "2027-01-01",
            "targets": [],
            extra: "2027-01-01" if extra == "effective_from" else 1,
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {extra: ["This field cannot be set."]}
    assert Agreement.objects.count() == before


def test_answering_an_agreement_sets_only_what_the_answer_is_about(world):
    response = api(world, "customer_manager").post(
        f"/api/v1/agreements/{world.agreement.pk}/accept/",
        {"comment": "Fine", "version": 9, "customer": "legal"},
        format="json",
    )
    assert response.status_code == 400
    world.agreement.refresh_from_db()
    assert (world.agreement.state, world.agreement.version) == ("proposed", 1)
