"""Reads for surveys. Who sees what:

- A request survey and its response: the requester, and the agents and managers of the
  provider (with the request, as users of such tools expect). Nobody else: not colleagues,
  not the requesting department's managers, not HR (HR sees aggregates).
- The provider's rating of a request: the provider's agents and managers only. The
  requesting department sees its request_quality as an aggregate.
- Relationship answers: never one by one, to anybody.
- Every aggregate of answers shown anywhere is read from the releases of disclosure.py, which
  decide once for everything a quarter publishes what may be shown: nothing about fewer than
  ANONYMITY_MIN answers, alone or by subtraction.
- Department summaries: the department's managers and HR.
- A department's team pulse (how its own people feel, released figures only): its members
  in any role and HR (`pulse_visible`). Not other departments: it is the department's own
  health, not a service figure.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from core.periods import Period, parse_quarter, quarter_containing
from departments.choices import HR_GROUP, Role
from departments.models import Department, Membership
from requests_app.selectors import PROVIDER_ROLES

from .choices import DIMENSIONS, PULSE_QUESTIONS, HireBack, SurveyStatus
from .disclosure import CUSTOMER as CUSTOMER_GROUP
from .disclosure import DEPARTMENT as DEPARTMENT_GROUP
from .disclosure import PAIR, PULSE_SCALE, Family, period_cells, quarterly_cells
from .disclosure import PROVIDER as PROVIDER_GROUP
from .models import (
    PulseInvitationItem,
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
        .prefetch_related(
            "items__provider_department", "items__customer_department", "pulse_items__department"
        )
        .order_by("-survey__period_start")
    )


def relationship_items_open(invitation: RelationshipInvitation) -> list[RelationshipInvitationItem]:
    """The departments of an invitation that are still to rate."""
    return list(
        invitation.items.filter(answered_at__isnull=True)
        .select_related("provider_department", "customer_department")
        .order_by("provider_department__name", "customer_department__name")
    )


def pulse_items_open(invitation: RelationshipInvitation) -> list[PulseInvitationItem]:
    """The invitee's own departments still to answer the team pulse for."""
    return list(
        invitation.pulse_items.filter(answered=False)
        .select_related("department")
        .order_by("department__name")
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


def _released_figure(totals: dict | None, count: str, total: str, scale: float = 1) -> Figure:
    """A released figure: the mean (or rate, by `scale`) of its total; hidden when the
    release withheld it (its count stays)."""
    if not totals or not totals.get(count):
        return Figure(count=(totals or {}).get(count) or 0, value=None)
    if totals.get(total) is None:
        return Figure(count=totals[count], value=None, hidden=True)
    return Figure(count=totals[count], value=totals[total] / totals[count] * scale)


def request_quality_for(*, department: Department, quarter: Period, now=None) -> dict:
    """The customer-side request_quality of a department in a quarter (to date), as
    released: the mean of the providers' ratings of its requests (clarity and responsiveness
    averaged, or clarity alone); `through` is the last day it covers (None: nothing yet)."""
    released = period_cells(Family.QUALITY, quarter, now=now)
    totals = released.get(CUSTOMER_GROUP, customer=department.pk)
    return {
        "request_quality": _released_figure(totals, "n", "sum"),
        "through": released.through,
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


def hire_back_of(totals: dict | None, respondents: int = 0) -> HireBackFigures:
    """Hire-back and dimension figures of a released relationship cell; hidden when withheld
    or not released (yet)."""
    if not totals or totals.get(HireBack.YES) is None or not totals.get("n"):
        return HireBackFigures(respondents=(totals or {}).get("n", respondents), hidden=True)
    n, yes, no = totals["n"], totals[HireBack.YES], totals[HireBack.NO]
    return HireBackFigures(
        respondents=n,
        hidden=False,
        yes=yes,
        unsure=totals[HireBack.UNSURE],
        no=no,
        score=100.0 * (yes - no) / n,
        dimensions={d: _released_figure(totals, f"{d}_n", f"{d}_sum") for d in DIMENSIONS},
    )


def relationship_summary(*, survey: RelationshipSurvey, provider: Department, now=None) -> dict:
    """How the customers of a provider answered a quarter's relationship survey: response
    counts and rate, and once the survey has closed its released figures (hire-back and
    dimensions overall and per customer, see disclosure.py) and comments."""
    items = RelationshipInvitationItem.objects.filter(
        invitation__survey=survey, provider_department=provider
    )
    per_customer = {
        row["customer_department"]: row
        for row in items.values("customer_department")
        .order_by()
        .annotate(invited=Count("id"), answered=Count("id", filter=Q(answered_at__isnull=False)))
    }
    invited = sum(row["invited"] for row in per_customer.values())
    answered = sum(row["answered"] for row in per_customer.values())
    released = period_cells(Family.RELATIONSHIP, parse_quarter(survey.quarter), now=now)
    published = released.through is not None
    overall = hire_back_of(released.get(PROVIDER_GROUP, provider=provider.pk), answered)
    # Customers asked, and those that answered (the same, unless invitations were removed).
    for group, provider_id, customer_id in released.cells:
        if group == PAIR and provider_id == provider.pk:
            per_customer.setdefault(customer_id, {"invited": 0, "answered": 0})
    customers = Department.objects.in_bulk(per_customer)
    rows = []
    for department_id, counts in per_customer.items():
        figures = hire_back_of(
            released.get(PAIR, provider=provider.pk, customer=department_id), counts["answered"]
        )
        rows.append(
            {
                "department": customers[department_id],
                "invited": counts["invited"],
                "respondents": figures.respondents,
                "hidden": figures.hidden,
                "figures": None if figures.hidden else figures,
            }
        )
    rows.sort(key=lambda row: row["department"].name)
    comments = []
    if not overall.hidden:
        answers = RelationshipAnswer.objects.filter(survey=survey, provider_department=provider)
        # Sorted by text, not by time or department: the order tells nothing.
        comments = sorted(c for c in answers.exclude(comment="").values_list("comment", flat=True))
    return {
        "survey": survey,
        "published": published,
        "invited": invited,
        "answered": answered,
        "response_rate": answered / invited if invited else None,
        "overall": overall,
        "customers": rows,
        "comments": comments,
    }


def request_survey_summary(*, provider: Department, quarter: Period, now=None) -> dict:
    """Request surveys of a provider in a quarter: sent in it, answered of those, response
    rate; and the released figures of the answers given in it (to date): mean rating, csat
    (share of 4 and 5) and dimension means, `through` the last day they cover."""
    surveys = RequestSurvey.objects.filter(
        provider_department=provider, sent_at__gte=quarter.start, sent_at__lt=quarter.end
    )
    counts = surveys.aggregate(sent=Count("id"), answered=Count("response"))
    sent, answered = counts["sent"], counts["answered"]
    released = period_cells(Family.REQUEST, quarter, now=now)
    totals = released.get(PROVIDER_GROUP, provider=provider.pk)
    return {
        "sent": sent,
        "answered": answered,
        "response_rate": answered / sent if sent else None,
        "through": released.through,
        "mean_rating": _released_figure(totals, "n", "sum"),
        "csat": _released_figure(totals, "n", "good"),
        "dimensions": {d: _released_figure(totals, f"{d}_n", f"{d}_sum") for d in DIMENSIONS},
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
        "request_surveys": request_survey_summary(provider=department, quarter=quarter, now=now)
        if full and department.is_provider
        else None,
        "relationship": relationship_summary(survey=relationship, provider=department, now=now)
        if relationship is not None and department.is_provider
        else None,
        "request_quality": request_quality_for(department=department, quarter=quarter, now=now),
        "participation": participation,
    }


def request_quality_for_member(*, user, now=None) -> list[dict]:
    """For "My surveys": the request_quality of each department the user belongs to, as
    released for the running quarter to date, or else for the quarter before."""
    now = now or timezone.now()
    running = quarter_containing(now)
    departments = Department.objects.filter(memberships__user=user).order_by("name")
    rows = []
    for department in departments:
        figures = request_quality_for(department=department, quarter=running, now=now)
        if figures["through"] is None:
            figures = request_quality_for(
                department=department, quarter=running.previous(), now=now
            )
        rows.append({"department": department, **figures})
    return rows


# --- the team pulse ------------------------------------------------------------------------

# Who sees every department's pulse (HR); as scorecards.selectors.VIEW_ALL_PERMISSION, named
# here as a string because surveys does not import scorecards.
VIEW_ALL_PULSE_PERMISSION = "scorecards.view_all_scorecards"
PULSE_TREND_LENGTH = 6


def pulse_visible(*, user, department: Department) -> bool:
    """Whether the user may see a department's team pulse: its members (any role) and HR."""
    if user is None or not user.is_authenticated:
        return False
    # Members first: one query for the department's own people, who read it most.
    if Membership.objects.filter(user=user, department=department).exists():
        return True
    return is_hr(user) or user.has_perm(VIEW_ALL_PULSE_PERMISSION)


@dataclass
class PulseQuarter:
    """A department's team pulse of one quarter: how many were asked and answered, and the
    released figures (None while the survey runs, or when withheld)."""

    quarter: str
    invited: int
    answered: int
    released: bool
    hidden: bool
    figures: dict[str, Figure] = field(default_factory=dict)
    distributions: dict[str, dict[int, int]] | None = None


def _pulse_quarter(department: Department, quarter: Period, asked: dict, released) -> PulseQuarter:
    totals = released.get(DEPARTMENT_GROUP, department.pk)
    invited, answered = asked.get(quarter.key, (0, 0))
    figures = {q: _released_figure(totals, "n", f"{q}_sum") for q in PULSE_QUESTIONS}
    hidden = any(figure.hidden for figure in figures.values())
    distributions = None
    if totals and not hidden:
        distributions = {
            q: {value: totals[f"{q}_{value}"] for value in PULSE_SCALE} for q in PULSE_QUESTIONS
        }
    return PulseQuarter(
        quarter=quarter.key,
        invited=invited,
        # Once released, the count of the answers the figures hold.
        answered=totals["n"] if totals else answered,
        released=released.through is not None,
        hidden=hidden,
        figures=figures,
        distributions=distributions,
    )


def department_pulse(
    *,
    department: Department,
    last: Period,
    length: int = PULSE_TREND_LENGTH,
    now=None,
    make_due: bool = True,
) -> list[PulseQuarter]:
    """A department's team pulse for `length` quarters up to `last`, oldest first: only
    what disclosure.py released (whole quarters once the survey closed; nothing from fewer
    than ANONYMITY_MIN answers). The quarter's pulse is asked after it ends, with its
    relationship survey. `make_due` False reads the releases made already, nothing more
    (the scorecard page, which only reads, as it reads snapshots)."""
    now = now or timezone.now()
    quarters = [last]
    while len(quarters) < length:
        quarters.insert(0, quarters[0].previous())
    keys = [quarter.key for quarter in quarters]
    asked = {
        row["invitation__survey__quarter"]: (row["invited"], row["answered"])
        for row in PulseInvitationItem.objects.filter(
            department=department, invitation__survey__quarter__in=keys
        )
        .values("invitation__survey__quarter")
        .order_by()
        .annotate(invited=Count("id"), answered=Count("id", filter=Q(answered=True)))
    }
    released = quarterly_cells(Family.PULSE, keys, now=now, make_due=make_due)
    return [
        _pulse_quarter(department, quarter, asked, released[quarter.key]) for quarter in quarters
    ]
