"""Who may act is decided before what they sent is read.

Attack covered: probing the validation of an action one may not take. If a refusal came
after the input was checked, a requester could learn from the 400s how a provider's input
is judged (which agents exist, which departments take transfers, which dates a promise may
take, which request ids are real) and a test would pass or fail with the date of its
payload. Every write of the API, every action of the request page and every service is
tried here by each role that may not make it, with bodies from empty to hostile: each
answers 403 (404 where the object is invisible to them), whatever the body, and changes
nothing. Every write of the API must be in the table: a new one fails until it is placed.
"""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from departments import services as department_services
from departments.models import Agreement, AgreementTarget, EscalationLevel
from requests_app import services as request_services
from requests_app.models import Attachment, Comment, RequestEvent, ServiceRequest, WaitPeriod
from reviews import services as review_services
from reviews.models import Review, ReviewAction, ReviewSection
from scorecards.reports import services as report_services
from scorecards.reports.models import QuarterlyReport
from surveys import services as survey_services
from surveys.models import (
    RelationshipAnswer,
    RelationshipInvitation,
    RequestQualityRating,
    SurveyResponse,
)

from .conftest import NOW
from .schema import api_operations, fill

PROVIDER_ACTIONS = [
    "acknowledge",
    "assign",
    "start",
    "wait",
    "resolve",
    "decline",
    "priority",
    "promise",
    "transfer",
    "block",
    "unblock",
]
# The requester and the provider's staff; managers of the requesting department only read.
PARTY_ACTIONS = ["resume", "reopen", "close", "comments", "attachments"]
# The requester and the managers of the requesting department: not the provider.
CUSTOMER_ACTIONS = ["cancel"]

# Sales' request to IT: the requester and IT see it, so does Sales' manager (not
# confidential); the requester's colleague, Legal and HR do not.
ON_A_REQUEST_PROVIDER_ONLY = {
    "requester": 403,
    "customer_manager": 403,
    "colleague": 404,
    "outsider": 404,
    "hr": 404,
}
ON_A_REQUEST_PARTIES_ONLY = {
    "customer_manager": 403,
    "colleague": 404,
    "outsider": 404,
    "hr": 404,
}
ON_A_REQUEST_CUSTOMER_ONLY = {
    "agent": 403,
    "provider_manager": 403,
    "colleague": 404,
    "outsider": 404,
    "hr": 404,
}

# (method, path) -> (the object in the path, as a function of the world; role -> answer).
REFUSED = {
    # HR is in no department: it files nothing.
    ("POST", "/api/v1/requests/"): (None, {"hr": 403}),
    **{
        ("POST", f"/api/v1/requests/{{id}}/{action}/"): (
            lambda w: w.requests["sales_to_it"].pk,
            ON_A_REQUEST_PROVIDER_ONLY,
        )
        for action in PROVIDER_ACTIONS
    },
    **{
        ("POST", f"/api/v1/requests/{{id}}/{action}/"): (
            lambda w: w.requests["sales_to_it"].pk,
            ON_A_REQUEST_PARTIES_ONLY,
        )
        for action in PARTY_ACTIONS
    },
    **{
        ("POST", f"/api/v1/requests/{{id}}/{action}/"): (
            lambda w: w.requests["sales_to_it"].pk,
            ON_A_REQUEST_CUSTOMER_ONLY,
        )
        for action in CUSTOMER_ACTIONS
    },
    # The survey of IT's resolved request: its requester answers; IT sees it.
    ("POST", "/api/v1/surveys/{id}/answer/"): (
        lambda w: w.survey.pk,
        {
            "agent": 403,
            "provider_manager": 403,
            "colleague": 404,
            "customer_manager": 404,
            "outsider": 404,
            "hr": 404,
        },
    ),
    # One person's invitation: nobody else's business.
    ("POST", "/api/v1/surveys/relationship/{id}/answer/"): (
        lambda w: w.invitations["requester"].pk,
        dict.fromkeys(("colleague", "customer_manager", "agent", "outsider", "hr"), 404),
    ),
    ("POST", "/api/v1/surveys/relationship/{id}/pulse/"): (
        lambda w: w.invitations["requester"].pk,
        dict.fromkeys(("colleague", "customer_manager", "agent", "outsider", "hr"), 404),
    ),
    # The request to rate is part of the body: those who see it are refused; to the others
    # it is as unknown as an id that does not exist (see the test below).
    ("POST", "/api/v1/surveys/request-ratings/"): (
        None,
        {"requester": 403, "customer_manager": 403},
    ),
    ("POST", "/api/v1/reports/"): (
        None,
        dict.fromkeys(
            ("requester", "customer_manager", "agent", "provider_manager", "outsider"), 404
        ),
    ),
    # Only managers propose agreements: everyone else, whatever the body.
    ("POST", "/api/v1/agreements/"): (
        None,
        dict.fromkeys(("requester", "colleague", "agent", "outsider", "hr"), 403),
    ),
    # IT proposed it: Sales' managers answer, IT's withdraw; HR only reads.
    **{
        ("POST", f"/api/v1/agreements/{{id}}/{action}/"): (
            lambda w: w.agreement.pk,
            {
                "provider_manager": 403,
                "hr": 403,
                **dict.fromkeys(("requester", "colleague", "agent", "outsider"), 404),
            },
        )
        for action in ("accept", "decline")
    },
    # A department's escalation levels: its managers replace them; its other members and
    # HR only read them; other departments do not even read them.
    ("POST", "/api/v1/departments/{slug}/escalation-levels/"): (
        lambda w: "it",
        dict.fromkeys(
            ("requester", "colleague", "customer_manager", "agent", "outsider", "hr"), 403
        ),
    ),
    ("POST", "/api/v1/agreements/{id}/withdraw/"): (
        lambda w: w.agreement.pk,
        {
            "customer_manager": 403,
            "hr": 403,
            **dict.fromkeys(("requester", "colleague", "agent", "outsider"), 404),
        },
    ),
    # A department's review rules: its managers change them; its other members only read
    # them; other departments, HR included, do not even read them.
    ("POST", "/api/v1/reviews/rules/{slug}/"): (
        lambda w: "it",
        dict.fromkeys(
            ("requester", "colleague", "customer_manager", "agent", "outsider", "hr"), 403
        ),
    ),
    # Only managers open reviews by hand, whatever the body.
    ("POST", "/api/v1/reviews/"): (
        None,
        dict.fromkeys(("requester", "colleague", "agent", "outsider", "hr"), 403),
    ),
    # The review of Sales' request to IT: every participant writes (their department's part,
    # named in the body) and adds actions; managers of IT or Sales close it.
    **{
        ("POST", f"/api/v1/reviews/{{id}}/{action}/"): (
            lambda w: w.review.pk,
            dict.fromkeys(("colleague", "outsider", "hr"), 404),
        )
        for action in ("sections", "actions")
    },
    ("POST", "/api/v1/reviews/{id}/close/"): (
        lambda w: w.review.pk,
        {"requester": 403, "agent": 403, **dict.fromkeys(("colleague", "outsider", "hr"), 404)},
    ),
    # IT's action: IT and the involved managers change it; Sales confirms it.
    **{
        ("POST", f"/api/v1/reviews/actions/{{id}}/{action}/"): (
            lambda w: w.review_action.pk,
            {"requester": 403, **dict.fromkeys(("colleague", "outsider", "hr"), 404)},
        )
        for action in ("update", "done", "drop")
    },
    ("POST", "/api/v1/reviews/actions/{id}/confirm/"): (
        lambda w: w.review_action.pk,
        {
            "agent": 403,
            "provider_manager": 403,
            **dict.fromkeys(("colleague", "outsider", "hr"), 404),
        },
    ),
}
# Writes everyone may make, on their own things only.
EVERYONE = {("POST", "/api/v1/notifications/mark-read/")}

LONG_AGO = "2020-01-01T00:00:00Z"
# From nothing to everything wrong: a permitted caller would get a 400 for each of them.
HOSTILE_BODIES = {
    "empty": {},
    "wrong": {
        "assignee": "nobody-at-all",
        "promised_at": LONG_AGO,
        "department": "no-such-department",
        "service": 999_999,
        "priority": "extreme",
        "blocked_by": 999_999,
        "comment": "",
        "body": "",
        "internal": "perhaps",
        "overall": 9,
        "clarity": 0,
        "answers": [{"item": 999_999, "hire_back": "maybe"}],
        "quarter": "2099-Q9",
        "format": "pdf",
        "title": "",
        "description": "",
    },
    "types": {
        "assignee": 5,
        "promised_at": 5,
        "department": [],
        "priority": {"a": 1},
        "blocked_by": "x",
        "overall": "five",
        "answers": "all of them",
        "quarter": 2026,
        "service": "laptop",
        "confidential": "very",
    },
}


def api(world, role) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[role]}")
    return client


def state() -> tuple:
    return (
        list(Agreement.objects.order_by("pk").values()),
        AgreementTarget.objects.count(),
        list(EscalationLevel.objects.order_by("pk").values()),
        list(ServiceRequest.objects.order_by("pk").values()),
        RequestEvent.objects.count(),
        Comment.objects.count(),
        Attachment.objects.count(),
        WaitPeriod.objects.count(),
        list(SurveyResponse.objects.values()),
        list(RequestQualityRating.objects.values()),
        list(RelationshipInvitation.objects.values("pk", "completed_at")),
        RelationshipAnswer.objects.count(),
        QuarterlyReport.objects.count(),
        list(Review.objects.order_by("pk").values()),
        list(ReviewAction.objects.order_by("pk").values()),
        ReviewSection.objects.count(),
    )


def body_for(method_path, name, world) -> dict:
    body = dict(HOSTILE_BODIES[name])
    if method_path == ("POST", "/api/v1/surveys/request-ratings/"):
        body["request"] = world.requests["resolved"].pk
    return body


def flat(body: dict) -> dict:
    """A body a form can carry: without its nested values."""
    return {key: value for key, value in body.items() if not isinstance(value, list | dict)}


def test_every_write_of_the_api_is_in_the_table():
    writes = {(method, path) for method, path in api_operations() if method != "GET"}
    assert writes == set(REFUSED) | EVERYONE


@pytest.mark.parametrize("body", list(HOSTILE_BODIES))
@pytest.mark.parametrize(("method", "path"), list(REFUSED))
def test_a_refusal_does_not_depend_on_the_body(world, method, path, body):
    target, refused = REFUSED[(method, path)]
    url = fill(path, target(world)) if target else path
    before = state()
    for role, expected in refused.items():
        sent = body_for((method, path), body, world)
        for form, data in (("json", sent), ("multipart", flat(sent))):
            response = api(world, role).post(url, data, format=form)
            assert response.status_code == expected, (role, form, response.content[:300])
            assert "detail" in response.json()
    assert state() == before


def test_a_rating_of_an_invisible_request_is_refused_as_one_that_does_not_exist(world):
    before = state()
    answers = {}
    for role in ("colleague", "outsider", "hr"):
        for pk in (world.requests["resolved"].pk, 999_999):
            response = api(world, role).post(
                "/api/v1/surveys/request-ratings/",
                {**HOSTILE_BODIES["wrong"], "request": pk},
                format="json",
            )
            assert response.status_code == 400
            answers.setdefault(role, set()).add(
                tuple(response.json()["request"][0].replace(str(pk), "<id>").split())
            )
            assert set(response.json()) == {"request"}  # nothing said of the ratings
    assert all(len(found) == 1 for found in answers.values())
    assert state() == before


# --- the request page ----------------------------------------------------------------------

PAGE_ACTIONS = [
    *PROVIDER_ACTIONS,
    "resume",
    "reopen",
    "close",
    "cancel",
    "reply",
    "attach",
]
PAGE_PROVIDER_ONLY = {"requester", "customer_manager"}


@pytest.mark.parametrize("body", list(HOSTILE_BODIES))
@pytest.mark.parametrize("action", PAGE_ACTIONS)
def test_a_page_action_is_refused_before_its_form_is_read(world, action, body):
    request = world.requests["sales_to_it"]
    if action in PROVIDER_ACTIONS:
        refused = PAGE_PROVIDER_ONLY
    elif action in CUSTOMER_ACTIONS:
        refused = {"agent", "provider_manager"}
    else:
        refused = {"customer_manager"}
    before = state()
    for role in refused:
        browser = Client()
        browser.force_login(getattr(world.org, role))
        response = browser.post(f"/requests/{request.pk}/{action}/", flat(HOSTILE_BODIES[body]))
        assert response.status_code == 403, (role, response.content[:300])
    assert state() == before


def test_filing_from_the_page_is_refused_to_someone_in_no_department(world):
    browser = Client()
    browser.force_login(world.org.hr)
    before = state()
    for form in ({}, {"service": "x", "title": ""}):
        response = browser.post("/requests/new/", form)
        assert response.status_code == 403
        assert b"not a member of any department" in response.content
    assert browser.get("/requests/new/").status_code == 403
    assert state() == before


@pytest.mark.parametrize("role", ["requester", "customer_manager"])
def test_rating_a_request_from_the_page_is_refused_before_the_form(world, role):
    browser = Client()
    browser.force_login(getattr(world.org, role))
    before = state()
    response = browser.post(
        f"/surveys/request/{world.requests['resolved'].pk}/quality/", {"clarity": "9"}
    )
    assert response.status_code == 403
    assert state() == before


# --- the services --------------------------------------------------------------------------


def _upload():
    return SimpleUploadedFile("x.exe", b"MZ" * 10, content_type="application/x-msdownload")


PAST = NOW - datetime.timedelta(days=3)
# Each service, called by someone who may not, with input it would refuse.
SERVICE_CALLS = {
    "file": lambda w: request_services.request_create(
        requester=w.org.hr, service=w.contract, title="", description="", priority="x"
    ),
    "acknowledge": lambda w: request_services.request_acknowledge(
        request=w.requests["resolved"], actor=w.org.requester
    ),
    "assign": lambda w: request_services.request_assign(
        request=w.requests["sales_to_it"], actor=w.org.requester, assignee=w.org.outsider
    ),
    "priority": lambda w: request_services.request_priority_change(
        request=w.requests["sales_to_it"], actor=w.org.requester, priority="extreme"
    ),
    "promise": lambda w: request_services.request_promise(
        request=w.requests["sales_to_it"], actor=w.org.requester, promised_at=PAST
    ),
    "promise, naive": lambda w: request_services.request_promise(
        request=w.requests["sales_to_it"],
        actor=w.org.customer_manager,
        promised_at=PAST.replace(tzinfo=None),
    ),
    "transfer": lambda w: request_services.request_transfer(
        request=w.requests["sales_to_it"], actor=w.org.requester, department=w.org.customer
    ),
    "block": lambda w: request_services.request_block(
        request=w.requests["sales_to_it"],
        actor=w.org.requester,
        blocked_by=w.requests["sales_to_it"],
    ),
    "unblock": lambda w: request_services.request_unblock(
        request=w.requests["sales_to_it"],
        actor=w.org.requester,
        blocked_by=w.requests["resolved"],
    ),
    "start": lambda w: request_services.request_transition(
        request=w.requests["resolved"], actor=w.org.requester, action="start"
    ),
    "close": lambda w: request_services.request_transition(
        request=w.requests["sales_to_it"], actor=w.org.customer_manager, action="close"
    ),
    "comment": lambda w: request_services.request_comment_add(
        request=w.requests["sales_to_it"],
        author=w.org.customer_manager,
        body="  ",
        files=[_upload()],
    ),
    "note": lambda w: request_services.request_comment_add(
        request=w.requests["sales_to_it"], author=w.org.requester, body="", internal=True
    ),
    "attach": lambda w: request_services.request_attachments_add(
        request=w.requests["sales_to_it"], actor=w.org.customer_manager, files=[]
    ),
    "survey": lambda w: survey_services.survey_answer(
        survey=w.survey, respondent=w.org.agent, overall=9, ratings={"attitude": 0}
    ),
    "quality": lambda w: survey_services.request_quality_rate(
        request=w.requests["sales_to_it"], rater=w.org.requester, clarity=9
    ),
    "relationship": lambda w: survey_services.relationship_answer(
        invitation=w.invitations["requester"], respondent=w.org.colleague, answers=[]
    ),
    "pulse": lambda w: survey_services.pulse_answer(
        invitation=w.invitations["requester"],
        respondent=w.org.colleague,
        answers=[{"item": 0, "morale": 9}],
    ),
    "report": lambda w: report_services.report_request(
        quarter="2099-Q9", format="pdf", user=w.org.provider_manager
    ),
    "propose": lambda w: department_services.agreement_propose(
        actor=w.org.agent,
        provider=w.org.provider,
        customer=w.org.provider,
        valid_from=datetime.date(1, 1, 1),
        targets=[],
    ),
    "accept": lambda w: department_services.agreement_accept(
        actor=w.org.provider_manager, agreement=w.agreement
    ),
    "decline": lambda w: department_services.agreement_decline(
        actor=w.org.hr, agreement=w.agreement, comment=""
    ),
    "withdraw": lambda w: department_services.agreement_withdraw(
        actor=w.org.customer_manager, agreement=w.agreement
    ),
    "open a review": lambda w: review_services.review_open_manual(
        actor=w.org.agent, requests=[w.requests["legal_to_it"]], period="2099-Q9"
    ),
    "write a review's part": lambda w: review_services.review_section_write(
        actor=w.org.requester, review=w.review, department=w.org.provider, factors=["blame"]
    ),
    "add a review action": lambda w: review_services.review_action_add(
        actor=w.org.colleague,
        review=w.review,
        title="",
        owner_department=None,
        owner=None,
        due_on=None,
    ),
    "settle a review action": lambda w: review_services.review_action_settle(
        actor=w.org.requester, action=w.review_action, state="dropped", reason=""
    ),
    "confirm a review action": lambda w: review_services.review_action_confirm(
        actor=w.org.agent, action=w.review_action
    ),
    "close a review": lambda w: review_services.review_close(actor=w.org.agent, review=w.review),
}


@pytest.mark.parametrize("call", list(SERVICE_CALLS))
def test_a_service_refuses_the_actor_before_it_judges_the_input(world, call):
    before = state()
    with pytest.raises(PermissionDenied):
        SERVICE_CALLS[call](world)
    assert state() == before
