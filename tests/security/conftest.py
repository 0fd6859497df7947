"""A populated organisation for the attack tests: one object of every kind, so that ids exist.

IT (`org.provider`) serves Sales (`org.customer`) and Legal (`org.other`); Legal serves both.
IT has proposed an agreement to Sales (`world.agreement`), which Sales has not answered.
Every role of the shared cast (tests/conftest.py `org`) has an API token. The clock stands
still at NOW, a Monday morning in Berlin, in every test of this folder.
"""

import datetime
import zoneinfo
from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token

from core.periods import parse_period
from departments import services as department_services
from departments.models import Agreement
from requests_app import services as request_services
from requests_app.models import Attachment, ServiceRequest
from reviews import services as review_services
from reviews.models import Review, ReviewAction
from scorecards.reports import services as report_services
from scorecards.reports.models import QuarterlyReport
from scorecards.services import scores_compute
from surveys import services as survey_services
from surveys.models import RelationshipInvitation, RequestQualityRating, RequestSurvey
from tests.clock import folder_mark
from tests.factories import ServiceFactory, SLATargetFactory

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)
YESTERDAY = NOW - datetime.timedelta(days=1)
IN_Q3 = datetime.datetime(2026, 8, 10, 10, 0, tzinfo=BERLIN)
ROLES = [
    "requester",
    "colleague",
    "customer_manager",
    "agent",
    "provider_manager",
    "outsider",
    "hr",
]


pytest_collection_modifyitems = folder_mark(__file__, pytest.mark.clock(NOW))


def text_file(name="notes.txt", content=b"serial 123"):
    return SimpleUploadedFile(name, content, content_type="text/plain")


@dataclass
class World:
    """The objects, by name; `requests` holds every request, `tokens` an API key per role."""

    org: object
    laptop: object  # a service of IT
    contract: object  # a service of Legal
    requests: dict[str, ServiceRequest]
    public_attachment: Attachment
    internal_attachment: Attachment
    survey: RequestSurvey
    rating: RequestQualityRating
    invitations: dict[str, RelationshipInvitation]
    report: QuarterlyReport
    agreement: Agreement  # IT's proposal to Sales, waiting for Sales' answer
    # IT's manager's review of the Sales request, with an action IT's agent owns.
    review: Review
    review_action: ReviewAction
    tokens: dict[str, str] = field(default_factory=dict)


def _file(requester, service, title, *, when=IN_Q3, confidential=False):
    return request_services.request_create(
        requester=requester,
        service=service,
        title=title,
        description="Please help",
        confidential=confidential,
        now=when,
    )


@pytest.fixture
def world(org, django_capture_on_commit_callbacks) -> World:
    laptop = ServiceFactory(department=org.provider, name="Laptop")
    contract = ServiceFactory(department=org.other, name="Contract review")
    for department in (org.provider, org.other):
        SLATargetFactory(department=department, priority="normal")

    with django_capture_on_commit_callbacks(execute=True):
        # Filed in 2026-Q3, so that they also make the pairs of its relationship survey.
        requests = {
            "sales_to_it": _file(org.requester, laptop, "Laptop"),
            "sales_to_it_confidential": _file(
                org.requester, laptop, "Salary laptop", confidential=True
            ),
            "colleague_to_it": _file(org.colleague, laptop, "Dock"),
            "legal_to_it": _file(org.outsider, laptop, "Screen"),
            "sales_to_legal": _file(org.requester, contract, "NDA"),
            "it_to_legal": _file(org.agent, contract, "Licence"),
            "resolved": _file(org.requester, laptop, "Mouse"),
        }
        request_services.request_comment_add(
            request=requests["sales_to_it"],
            author=org.requester,
            body="Photo attached",
            files=[text_file()],
            now=IN_Q3,
        )
        request_services.request_comment_add(
            request=requests["sales_to_it"],
            author=org.agent,
            body="VIP, be quick",
            internal=True,
            files=[text_file("internal.txt")],
            now=YESTERDAY,
        )
        request_services.request_block(
            request=requests["sales_to_it"],
            actor=org.agent,
            blocked_by=requests["it_to_legal"],
            now=YESTERDAY,
        )
        resolved = request_services.request_transition(
            request=requests["resolved"], actor=org.agent, action="resolve", now=YESTERDAY
        )
    # The survey hook runs after commit; so does its email.
    with django_capture_on_commit_callbacks(execute=True):
        survey = RequestSurvey.objects.get(request=resolved)
        survey_services.survey_answer(
            survey=survey, respondent=org.requester, overall=4, comment="Quick", now=YESTERDAY
        )
        rating = survey_services.request_quality_rate(
            request=resolved, rater=org.agent, clarity=4, now=YESTERDAY
        )
        survey_services.relationship_survey_open(quarter="2026-Q3", now=YESTERDAY, email=False)

    scores_compute(period=parse_period("2026-Q3"), now=NOW)
    report, _ = report_services.report_request(
        quarter="2026-Q3", format="csv", user=org.hr, enqueue=False, now=NOW
    )
    report_services.report_generate(report_id=report.pk, now=NOW)
    report.refresh_from_db()

    # Proposed after the requests were filed: their clocks keep the targets of then.
    agreement = department_services.agreement_propose(
        actor=org.provider_manager,
        provider=org.provider,
        customer=org.customer,
        valid_from=NOW.date(),
        targets=[
            department_services.TargetInput(
                service=laptop,
                priority="normal",
                first_response=datetime.timedelta(hours=1),
                resolution=datetime.timedelta(hours=4),
            )
        ],
        comment="Quicker laptops",
        now=YESTERDAY,
    )
    review, _ = review_services.review_open_manual(
        actor=org.provider_manager, requests=[requests["sales_to_it"]], now=YESTERDAY
    )
    review_action = review_services.review_action_add(
        actor=org.agent,
        review=review,
        title="Keep spare laptops",
        owner_department=org.provider,
        owner=org.agent,
        due_on=NOW.date() + datetime.timedelta(days=7),
        now=YESTERDAY,
    )
    attachments = Attachment.objects.filter(request=requests["sales_to_it"])
    return World(
        org=org,
        laptop=laptop,
        contract=contract,
        requests={name: ServiceRequest.objects.get(pk=r.pk) for name, r in requests.items()},
        public_attachment=attachments.get(comment__internal=False),
        internal_attachment=attachments.get(comment__internal=True),
        survey=survey,
        rating=rating,
        invitations={
            invitation.user.username: invitation
            for invitation in RelationshipInvitation.objects.select_related("user")
        },
        report=report,
        agreement=agreement,
        review=review,
        review_action=review_action,
        tokens={role: Token.objects.create(user=getattr(org, role)).key for role in ROLES},
    )
