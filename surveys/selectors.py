"""Reads for surveys. Who sees what:

- A request survey and its response: the requester, and the agents and managers of the
  provider (with the request, as users of such tools expect). Nobody else: not colleagues,
  not the requesting department's managers, not HR (HR sees aggregates).
- The provider's rating of a request: the provider's agents and managers only. The
  requesting department sees its request_quality as an aggregate, and only from at least
  ANONYMITY_MIN ratings, so that no single rating can be read from it.
- Relationship answers: never one by one, to anybody. Every aggregate of answers (hire-back,
  dimensions, comments, per customer) needs ANONYMITY_MIN respondents, and a per-customer
  breakdown hides more rows when the hidden ones could be worked out from the total.
- Department summaries: the department's managers and HR.
"""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Avg, Count, Q, QuerySet
from django.utils import timezone

from core.periods import Period, parse_quarter, quarter_containing
from departments.choices import HR_GROUP, Role
from departments.models import Department, Membership
from requests_app.selectors import PROVIDER_ROLES

from .choices import DIMENSIONS, HireBack, SurveyStatus
from .models import (
    RelationshipAnswer,
    RelationshipInvitation,
    RelationshipInvitationItem,
    RelationshipSurvey,
    RequestQualityRating,
    RequestSurvey,
    SurveyResponse,
)


def anonymity_min() -> int:
    return settings.ANONYMITY_MIN


def _staff_departments(user) -> QuerySet:
    return Membership.objects.filter(user=user, role__in=PROVIDER_ROLES).values("department_id")


# --- request surveys -----------------------------------------------------------------------


def request_surveys_visible_to(user) -> QuerySet[RequestSurvey]:
    """Request surveys (and their responses) the user may see: theirs as requester, and
    those of requests to a department they work for."""
    if user is None or not user.is_authenticated:
        return RequestSurvey.objects.none()
    return RequestSurvey.objects.filter(
        Q(requester=user) | Q(request__provider_department__in=_staff_departments(user))
    ).select_related(
        "request", "requester", "provider_department", "requesting_department", "response"
    )


def request_survey_status(survey: RequestSurvey, *, now=None) -> SurveyStatus:
    now = now or timezone.now()
    if _response_of(survey) is not None:
        return SurveyStatus.ANSWERED
    if now >= survey.closes_at:
        return SurveyStatus.EXPIRED
    return SurveyStatus.WAITING


def _response_of(survey: RequestSurvey) -> SurveyResponse | None:
    try:
        return survey.response
    except SurveyResponse.DoesNotExist:
        return None


def response_of(survey: RequestSurvey | None) -> SurveyResponse | None:
    """The survey's response, or None (also for no survey)."""
    return _response_of(survey) if survey is not None else None


def _request_surveys_waiting(*, now) -> QuerySet[RequestSurvey]:
    """Everybody's request surveys that still wait for an answer."""
    return RequestSurvey.objects.filter(closes_at__gt=now, response__isnull=True)


def request_surveys_waiting_for(*, user, now=None) -> QuerySet[RequestSurvey]:
    """The user's request surveys that still wait for an answer."""
    now = now or timezone.now()
    return (
        _request_surveys_waiting(now=now)
        .filter(requester=user)
        .select_related("request", "provider_department")
        .order_by("closes_at")
    )


def request_surveys_answered_by(*, user, limit: int = 20) -> list[RequestSurvey]:
    """The user's latest answered request surveys."""
    return list(
        RequestSurvey.objects.filter(requester=user, response__isnull=False)
        .select_related("request", "provider_department", "response")
        .order_by("-response__answered_at")[:limit]
    )


def request_survey_for_requester(*, user, request_pk: int) -> RequestSurvey | None:
    """The survey of the user's own request, if there is one."""
    if user is None or not user.is_authenticated:
        return None
    return (
        # `request__pk`, not `request_id`: an id lookup answers "none" for a number no key
        # can hold (from the URL), where a foreign key lookup makes SQLite overflow.
        RequestSurvey.objects.filter(request__pk=request_pk, requester=user)
        .select_related("request", "provider_department", "requester")
        .first()
    )


def requester_recent_ratings(
    *,
    requester_id: int,
    provider_department_id: int,
    exclude_request_id: int | None = None,
    limit: int = 5,
) -> list[SurveyResponse]:
    """The requester's latest ratings of a provider (for that provider's staff)."""
    responses = SurveyResponse.objects.filter(
        survey__requester_id=requester_id,
        survey__provider_department_id=provider_department_id,
    )
    if exclude_request_id is not None:
        responses = responses.exclude(survey__request_id=exclude_request_id)
    return list(responses.select_related("survey__request").order_by("-answered_at")[:limit])


# --- relationship invitations --------------------------------------------------------------


def relationship_invitations_open(*, now=None) -> QuerySet[RelationshipInvitation]:
    """Everybody's invitations to open relationship surveys with departments left to rate."""
    now = now or timezone.now()
    return RelationshipInvitation.objects.filter(
        survey__closed_at__isnull=True, survey__closes_at__gt=now, completed_at__isnull=True
    )


def relationship_invitations_open_for(*, user, now=None) -> QuerySet[RelationshipInvitation]:
    """The user's invitations to open relationship surveys with departments left to rate."""
    return (
        relationship_invitations_open(now=now)
        .filter(user=user)
        .select_related("survey")
        .order_by("survey__closes_at")
    )


def relationship_invitations_of(*, user) -> QuerySet[RelationshipInvitation]:
    """All of the user's invitations, with their items, newest first."""
    if user is None or not user.is_authenticated:
        return RelationshipInvitation.objects.none()
    return (
        RelationshipInvitation.objects.filter(user=user)
        .select_related("survey")
        .prefetch_related("items__provider_department", "items__customer_department")
        .order_by("-survey__period_start")
    )


def relationship_items_open(invitation: RelationshipInvitation) -> list[RelationshipInvitationItem]:
    """The departments of an invitation that are still to rate."""
    return list(
        invitation.items.filter(answered_at__isnull=True)
        .select_related("provider_department", "customer_department")
        .order_by("provider_department__name", "customer_department__name")
    )


def surveys_waiting_count(*, user_id: int, now=None) -> int:
    """How many surveys wait for the user: the number on the navigation link (one query)."""
    now = now or timezone.now()
    # Unordered: the default orderings have no place in a union.
    requests = _request_surveys_waiting(now=now).filter(requester_id=user_id).order_by()
    quarterly = relationship_invitations_open(now=now).filter(user_id=user_id).order_by()
    return requests.values("pk").union(quarterly.values("pk"), all=True).count()


# --- provider ratings of requests ----------------------------------------------------------


def quality_ratings_visible_to(user) -> QuerySet[RequestQualityRating]:
    """The provider's ratings of requests: for the provider's agents and managers only."""
    if user is None or not user.is_authenticated:
        return RequestQualityRating.objects.none()
    return RequestQualityRating.objects.filter(
        provider_department__in=_staff_departments(user)
    ).select_related("request", "rated_by", "provider_department", "requesting_department")


@dataclass(frozen=True)
class Figure:
    """A mean or a rate with its sample size; `value` is None when hidden or unknown."""

    count: int
    value: float | None
    hidden: bool = False

    @classmethod
    def of(cls, count: int, value, *, threshold: int | None = None) -> "Figure":
        threshold = anonymity_min() if threshold is None else threshold
        if count and count < threshold:
            return cls(count=count, value=None, hidden=True)
        return cls(count=count, value=float(value) if value is not None else None)


def request_quality_for(*, department: Department, start=None, end=None) -> dict[str, Figure]:
    """The customer-side request_quality of a department: the mean of the providers' ratings
    of its requests (clarity and responsiveness, each given value counting once), and each
    part. Hidden under ANONYMITY_MIN ratings."""
    ratings = RequestQualityRating.objects.filter(requesting_department=department)
    if start is not None:
        ratings = ratings.filter(rated_at__gte=start)
    if end is not None:
        ratings = ratings.filter(rated_at__lt=end)
    row = ratings.aggregate(
        count=Count("id"),
        clarity_mean=Avg("clarity"),
        responsiveness_count=Count("responsiveness"),
        responsiveness_mean=Avg("responsiveness"),
    )
    count, responsive_count = row["count"], row["responsiveness_count"]
    values = count + responsive_count
    overall = None
    if values:
        total = (row["clarity_mean"] or 0) * count + (row["responsiveness_mean"] or 0) * (
            responsive_count
        )
        overall = total / values
    return {
        "request_quality": Figure.of(count, overall),
        "clarity": Figure.of(count, row["clarity_mean"]),
        "responsiveness": Figure.of(responsive_count, row["responsiveness_mean"]),
    }


# --- summaries -----------------------------------------------------------------------------


def is_hr(user) -> bool:
    return bool(user and user.is_authenticated and user.groups.filter(name=HR_GROUP).exists())


def summary_departments_for(user) -> QuerySet[Department]:
    """Departments whose survey results the user may see: managed ones; all for HR."""
    if user is None or not user.is_authenticated:
        return Department.objects.none()
    if is_hr(user):
        return Department.objects.order_by("name")
    return Department.objects.filter(
        memberships__user=user, memberships__role=Role.MANAGER
    ).order_by("name")


class SummaryAccess:
    FULL = "full"  # managers of the department and HR
    CUSTOMER = "customer"  # its other members: its request_quality only


def summary_access(*, user, department: Department) -> str | None:
    """How much of a department's survey results the user may see, if anything."""
    if summary_departments_for(user).filter(pk=department.pk).exists():
        return SummaryAccess.FULL
    if (
        user.is_authenticated
        and Membership.objects.filter(user=user, department=department).exists()
    ):
        return SummaryAccess.CUSTOMER
    return None


@dataclass
class HireBackFigures:
    respondents: int
    hidden: bool
    yes: int | None = None
    unsure: int | None = None
    no: int | None = None
    score: float | None = None  # % yes - % no, -100 to 100
    dimensions: dict[str, Figure] = field(default_factory=dict)


def hire_back_figures(answers: QuerySet[RelationshipAnswer]) -> HireBackFigures:
    """Hire-back counts and score and the dimension means of some answers, all hidden under
    ANONYMITY_MIN respondents."""
    aggregates = {
        "respondents": Count("id"),
        **{value: Count("id", filter=Q(hire_back=value)) for value in HireBack.values},
        **{f"{d}_count": Count(d) for d in DIMENSIONS},
        **{f"{d}_mean": Avg(d) for d in DIMENSIONS},
    }
    row = answers.aggregate(**aggregates)
    respondents = row["respondents"]
    if respondents < anonymity_min():
        return HireBackFigures(respondents=respondents, hidden=True)
    yes, no = row[HireBack.YES], row[HireBack.NO]
    return HireBackFigures(
        respondents=respondents,
        hidden=False,
        yes=yes,
        unsure=row[HireBack.UNSURE],
        no=no,
        score=100.0 * (yes - no) / respondents,
        dimensions={d: Figure.of(row[f"{d}_count"], row[f"{d}_mean"]) for d in DIMENSIONS},
    )


def _suppress_complements(rows: list[dict]) -> None:
    """Hide rows under the threshold, then more rows (smallest first) until the hidden ones
    hold at least ANONYMITY_MIN respondents or none: otherwise a hidden row could be worked
    out as the total minus the shown rows."""
    threshold = anonymity_min()
    for row in rows:
        row["hidden"] = row["respondents"] < threshold
    hidden_total = sum(row["respondents"] for row in rows if row["hidden"])
    shown = sorted((row for row in rows if not row["hidden"]), key=lambda r: r["respondents"])
    while 0 < hidden_total < threshold and shown:
        row = shown.pop(0)
        row["hidden"] = True
        hidden_total += row["respondents"]


def relationship_summary(*, survey: RelationshipSurvey, provider: Department) -> dict:
    """How the customers of a provider answered a quarter's relationship survey: response
    counts and rate, hire-back and dimensions overall and per customer, comments; every
    breakdown hidden under ANONYMITY_MIN respondents."""
    items = RelationshipInvitationItem.objects.filter(
        invitation__survey=survey, provider_department=provider
    )
    invited = items.count()
    answered = items.filter(answered_at__isnull=False).count()
    answers = RelationshipAnswer.objects.filter(survey=survey, provider_department=provider)
    overall = hire_back_figures(answers)
    per_customer_counts = {
        row["customer_department"]: row
        for row in items.values("customer_department").annotate(
            invited=Count("id"), answered=Count("id", filter=Q(answered_at__isnull=False))
        )
    }
    customers = Department.objects.in_bulk(per_customer_counts)
    rows = [
        {
            "department": customers[department_id],
            "invited": counts["invited"],
            "respondents": counts["answered"],
        }
        for department_id, counts in per_customer_counts.items()
    ]
    _suppress_complements(rows)
    for row in rows:
        row["figures"] = (
            None
            if row["hidden"]
            else hire_back_figures(answers.filter(customer_department=row["department"]))
        )
    rows.sort(key=lambda row: row["department"].name)
    comments = []
    if not overall.hidden:
        # Sorted by text, not by time or department: the order tells nothing.
        comments = sorted(c for c in answers.exclude(comment="").values_list("comment", flat=True))
    return {
        "survey": survey,
        "invited": invited,
        "answered": answered,
        "response_rate": answered / invited if invited else None,
        "overall": overall,
        "customers": rows,
        "comments": comments,
    }


def request_survey_summary(*, provider: Department, start, end) -> dict:
    """Request surveys sent by a provider in a period: sent, answered, response rate, and from
    ANONYMITY_MIN responses on, mean rating, csat (share of 4 and 5) and dimension means."""
    surveys = RequestSurvey.objects.filter(
        provider_department=provider, sent_at__gte=start, sent_at__lt=end
    )
    sent = surveys.count()
    responses = SurveyResponse.objects.filter(survey__in=surveys)
    row = responses.aggregate(
        answered=Count("id"),
        mean=Avg("overall"),
        happy=Count("id", filter=Q(overall__gte=4)),
        **{f"{d}_count": Count(d) for d in DIMENSIONS},
        **{f"{d}_mean": Avg(d) for d in DIMENSIONS},
    )
    answered = row["answered"]
    return {
        "sent": sent,
        "answered": answered,
        "response_rate": answered / sent if sent else None,
        "mean_rating": Figure.of(answered, row["mean"]),
        "csat": Figure.of(answered, row["happy"] / answered if answered else None),
        "dimensions": {d: Figure.of(row[f"{d}_count"], row[f"{d}_mean"]) for d in DIMENSIONS},
    }


def relationship_survey_latest(*, now=None) -> RelationshipSurvey | None:
    """The most recent quarter's relationship survey."""
    return RelationshipSurvey.objects.order_by("-period_start").first()


def summary_quarter(key: str | None, *, now) -> Period:
    """The quarter of results asked for (`2026-Q3`), the running one if none is; ValueError
    for a key that is no quarter."""
    return parse_quarter(key) if key else quarter_containing(now)


def department_survey_summary(
    *,
    department: Department,
    quarter: Period | None = None,
    now=None,
    access: str = SummaryAccess.FULL,
) -> dict:
    """Everything the survey results page and API show of a department for a quarter: as a
    provider (request surveys sent in the quarter, the quarter's relationship survey) and as
    a customer (request_quality, participation in the relationship survey). With CUSTOMER
    access, request_quality alone: the other parts are None."""
    now = now or timezone.now()
    quarter = quarter or quarter_containing(now)
    full = access == SummaryAccess.FULL
    relationship = None
    if full:
        relationship = RelationshipSurvey.objects.filter(quarter=quarter.key).first()
        if relationship is None and quarter == quarter_containing(now):
            # The running quarter has no relationship survey yet: show the latest one.
            relationship = relationship_survey_latest()
    participation = None
    if relationship is not None:
        asked = RelationshipInvitationItem.objects.filter(
            invitation__survey=relationship, customer_department=department
        )
        participation = {
            "invited": asked.count(),
            "answered": asked.filter(answered_at__isnull=False).count(),
        }
    return {
        "department": department,
        "quarter": quarter,
        "request_surveys": request_survey_summary(
            provider=department, start=quarter.start, end=quarter.end
        )
        if full and department.is_provider
        else None,
        "relationship": relationship_summary(survey=relationship, provider=department)
        if relationship is not None and department.is_provider
        else None,
        "request_quality": request_quality_for(
            department=department, start=quarter.start, end=quarter.end
        ),
        "participation": participation,
    }


def request_quality_for_member(*, user) -> list[dict]:
    """For "My surveys": the request_quality of each department the user belongs to, over
    the last twelve months, as an aggregate only."""
    since = timezone.now() - datetime.timedelta(days=365)
    departments = Department.objects.filter(memberships__user=user).order_by("name")
    return [
        {"department": d, **request_quality_for(department=d, start=since)} for d in departments
    ]
