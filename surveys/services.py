"""Writes for surveys: sending, answering, reminding, closing, and the provider's rating of a
request. Views, API views, the management command and the Celery tasks all call these.

Each function checks who acts (PermissionDenied) and what state allows (ValidationError),
and guards its state change with a conditional UPDATE or a unique constraint, so a rerun or
a concurrent caller does nothing twice.
"""

import datetime
import logging
import random
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import formats, timezone

from core.periods import Period, last_complete_quarter, parse_quarter
from departments.choices import Role
from departments.models import Membership
from requests_app.choices import Status
from requests_app.models import ServiceRequest
from requests_app.notifications import notify
from requests_app.selectors import is_provider_staff, provider_staff

from .choices import (
    DIMENSIONS,
    NOTIFICATION_LOW_RATING,
    PULSE_QUESTIONS,
    HireBack,
    TokenState,
)
from .models import (
    PulseAnswer,
    PulseInvitationItem,
    RelationshipAnswer,
    RelationshipInvitation,
    RelationshipInvitationItem,
    RelationshipSurvey,
    RequestQualityRating,
    RequestSurvey,
    SurveyResponse,
    SurveyToken,
)
from .selectors import relationship_invitations_open
from .tokens import token_check, token_issue, token_spend

logger = logging.getLogger(__name__)

# A request survey can be answered for this long after it is sent (the link expires then).
REQUEST_SURVEY_OPEN_DAYS = 14
# A response can be changed for this long after the first answer.
RESPONSE_EDIT_DAYS = 7
# Ratings up to this one tell the provider's managers at once.
LOW_RATING_MAX = 2
# The relationship survey: open for 14 days, reminders 3 and 7 days after the invitation.
RELATIONSHIP_OPEN_DAYS = 14
RELATIONSHIP_REMINDER_DAYS = (3, 7)
COMMENT_MAX_LENGTH = 2000
SURVEYED_STATUSES = (Status.RESOLVED, Status.CLOSED)
ENQUEUE_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2}


def _now(now):
    return now or timezone.now()


def _company_date(moment) -> datetime.date:
    """The day in the company timezone (not the viewer's)."""
    return moment.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE)).date()


def _when(moment) -> str:
    return formats.date_format(timezone.localtime(moment), "D j M Y, H:i")


def _rating_errors(values: dict, *, required: Iterable[str] = ()) -> dict[str, str]:
    errors = {}
    for field, value in values.items():
        if value is None:
            if field in required:
                errors[field] = "Choose a rating from 1 to 5."
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            errors[field] = "Choose a rating from 1 to 5."
    return errors


def _comment_errors(comment: str | None) -> dict[str, str]:
    if comment is not None and len(comment) > COMMENT_MAX_LENGTH:
        return {"comment": f"Keep it under {COMMENT_MAX_LENGTH} characters."}
    return {}


# --- email links ---------------------------------------------------------------------------


def _link_email_on_commit(raw_token: str, *, reminder: bool = False) -> None:
    """Email the link once the transaction commits; a broker that is down loses the email,
    not the survey, which waits in the app (and a reminder brings a new link)."""

    def enqueue():
        from .tasks import send_survey_link

        try:
            send_survey_link.apply_async(
                args=[raw_token],
                kwargs={"reminder": reminder},
                retry=True,
                retry_policy=ENQUEUE_RETRY_POLICY,
            )
        except Exception as exc:  # the broker being down must not fail the caller
            logger.warning("surveys: could not enqueue a survey email (%s)", exc)

    transaction.on_commit(enqueue)


def survey_link_email_send(*, raw_token: str, reminder: bool = False, now=None) -> bool:
    """Email a survey link to its invitee, unless it is no longer their current link."""
    check = token_check(raw_token=raw_token, now=now)
    if check.state != TokenState.VALID:
        return False
    url = settings.SITE_URL + reverse("surveys:token", args=[raw_token])
    if check.request_survey is not None:
        survey = check.request_survey
        user = survey.requester
        request = survey.request
        subject = (
            f"[servicedesk] How did {survey.provider_department.name} do on {request.reference}?"
        )
        lines = [
            f"{survey.provider_department.name} resolved {request.reference}: {request.title}",
            "",
            "One click tells them how it went:",
            url,
            "",
            f"The link works once, until {_when(check.token.expires_at)}, and only for this "
            "survey. You can also answer under My surveys when you are logged in.",
        ]
    else:
        invitation = check.invitation
        user = invitation.user
        quarter = invitation.survey.quarter
        opening = "A reminder: " if reminder else ""
        subject = f"[servicedesk] {opening}rate the departments you worked with in {quarter}"
        lines = [
            f"{opening}Which departments would you keep if you could pick any provider? "
            f"Tell us about {quarter}, and how it feels to work in your own department "
            "(the team pulse); it takes two minutes.",
            "",
            url,
            "",
            "Your answers are anonymous: the departments you rate never see who answered, and "
            f"no figure from fewer than {settings.ANONYMITY_MIN} people is shown. "
            f"The survey closes on {_when(invitation.survey.closes_at)}.",
        ]
        if reminder:
            lines.append("This link replaces the one we sent before.")
    if not user.email or not user.is_active:
        return False
    # Claim the email of this link first: a task run twice (redelivered after its worker
    # died, or sent twice) sends it once. A failed send gives the claim back for the retry.
    mine = SurveyToken.objects.filter(pk=check.token.pk, emailed_at__isnull=True)
    if mine.update(emailed_at=_now(now)) != 1:
        return False
    try:
        send_mail(subject[:200], "\n".join(lines), None, [user.email])
    except Exception:
        SurveyToken.objects.filter(pk=check.token.pk).update(emailed_at=None)
        raise
    return True


# --- the per-request survey ----------------------------------------------------------------


def _request_survey_get_or_create(request: ServiceRequest, *, now) -> tuple[RequestSurvey, bool]:
    return RequestSurvey.objects.get_or_create(
        request=request,
        defaults={
            "requester_id": request.requester_id,
            "provider_department_id": request.provider_department_id,
            "requesting_department_id": request.requesting_department_id,
            "sent_at": now,
            "closes_at": now + datetime.timedelta(days=REQUEST_SURVEY_OPEN_DAYS),
        },
    )


def survey_send_for_request(
    *, request_id: int, now=None, email: bool = True
) -> RequestSurvey | None:
    """Invite the requester of a resolved request to rate it, once per request: in the app,
    and by email with a single-use link. Nothing happens for a request surveyed before."""
    now = _now(now)
    with transaction.atomic():
        request = ServiceRequest.objects.filter(pk=request_id).first()
        if request is None or request.status not in SURVEYED_STATUSES:
            return None
        survey, created = _request_survey_get_or_create(request, now=now)
        if created and email:
            raw = token_issue(request_survey=survey, expires_at=survey.closes_at, now=now)
            _link_email_on_commit(raw)
    return survey


def on_request_resolved(sender, *, request_id: int, **kwargs) -> None:
    """Receiver of requests_app.signals.request_resolved (sent after the resolve commits)."""
    try:
        survey_send_for_request(request_id=request_id)
    except Exception:
        # The resolution is committed: a survey that could not be sent must not turn the
        # agent's successful action into an error page.
        logger.exception("surveys: could not send the survey of request %s", request_id)


def survey_editable_until(response: SurveyResponse) -> datetime.datetime:
    return response.answered_at + datetime.timedelta(days=RESPONSE_EDIT_DAYS)


def survey_answer_authorize(*, survey: RequestSurvey, respondent) -> None:
    """Raise PermissionDenied unless `respondent` may answer the survey: its requester."""
    if respondent is None or respondent.pk != survey.requester_id:
        raise PermissionDenied("Only the requester can answer this survey.")


def survey_answer(
    *,
    survey: RequestSurvey,
    respondent,
    overall: int | None = None,
    ratings: dict | None = None,
    comment: str | None = None,
    now=None,
) -> SurveyResponse:
    """Answer a request survey as its requester, or change the answer within 7 days.

    The first answer needs `overall`; later calls change what they are given. One response
    per request: of concurrent first answers one is created and the others change it.
    """
    now = _now(now)
    survey_answer_authorize(survey=survey, respondent=respondent)
    ratings = {field: value for field, value in (ratings or {}).items() if field in DIMENSIONS}
    errors = _rating_errors(ratings)
    if overall is not None:
        errors.update(_rating_errors({"overall": overall}))
    errors.update(_comment_errors(comment))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        response = SurveyResponse.objects.select_for_update().filter(survey=survey).first()
        created = False
        if response is None:
            if overall is None:
                raise ValidationError({"overall": "Choose a rating from 1 to 5."})
            if now >= survey.closes_at:
                raise ValidationError(
                    {"overall": f"This survey closed on {_when(survey.closes_at)}."}
                )
            try:
                with transaction.atomic():
                    response = SurveyResponse.objects.create(
                        survey=survey,
                        overall=overall,
                        comment=(comment or "").strip(),
                        answered_at=now,
                        updated_at=now,
                        **ratings,
                    )
                created = True
            except IntegrityError:
                # A concurrent first answer won: this one becomes a change of it.
                response = SurveyResponse.objects.select_for_update().get(survey=survey)
        if not created:
            if now > survey_editable_until(response):
                raise ValidationError(
                    {
                        "overall": (
                            f"Answers can be changed for {RESPONSE_EDIT_DAYS} days; this one "
                            f"is final since {_when(survey_editable_until(response))}."
                        )
                    }
                )
            if overall is not None:
                response.overall = overall
            for field, value in ratings.items():
                setattr(response, field, value)
            if comment is not None:
                response.comment = comment.strip()
            response.updated_at = now
            response.full_clean(exclude=["survey"])
            response.save()
        if response.overall <= LOW_RATING_MAX:
            _low_rating_notify(survey, response, now=now)
    return response


def _low_rating_notify(survey: RequestSurvey, response: SurveyResponse, *, now) -> None:
    """Tell the provider's managers of a rating of 1 or 2, once per survey."""
    request = survey.request
    managers = list(
        provider_staff(department_id=survey.provider_department_id, roles=[Role.MANAGER])
    )
    notify(
        users=managers,
        request=request,
        kind=NOTIFICATION_LOW_RATING,
        message=(
            f"{survey.requesting_department.name} rated {request.reference} "
            f"{response.overall}/5: {request.title}"
        ),
        dedupe_key=f"survey-low:{survey.pk}",
        now=now,
    )


def survey_answer_by_token(
    *,
    raw_token: str,
    overall: int | None,
    ratings: dict | None = None,
    comment: str | None = None,
    now=None,
) -> SurveyResponse:
    """Answer a request survey through its emailed link, which the answer spends: of any
    number of submissions with one link, exactly one is taken. Raises TokenRefused."""
    now = _now(now)
    with transaction.atomic():
        survey = token_spend(raw_token=raw_token, target="request_survey", now=now)
        return survey_answer(
            survey=survey,
            respondent=survey.requester,
            overall=overall,
            ratings=ratings,
            comment=comment,
            now=now,
        )


# --- the provider's rating of a request (two-sided rating) ---------------------------------


def request_quality_rate_authorize(*, request: ServiceRequest, rater) -> None:
    """Raise PermissionDenied unless `rater` may rate the request: its provider's staff."""
    if not is_provider_staff(user=rater, department_id=request.provider_department_id):
        raise PermissionDenied("Only agents and managers of the provider can rate a request.")


def request_quality_rate(
    *,
    request: ServiceRequest,
    rater,
    clarity: int | None,
    responsiveness: int | None = None,
    now=None,
) -> RequestQualityRating:
    """The provider rates a resolved request itself: clear and complete, and how quickly the
    requester answered. One rating per request; a later one replaces it."""
    now = _now(now)
    request_quality_rate_authorize(request=request, rater=rater)
    errors = _rating_errors(
        {"clarity": clarity, "responsiveness": responsiveness}, required=["clarity"]
    )
    if request.status not in SURVEYED_STATUSES:
        errors.setdefault("clarity", "Rate a request once it is resolved.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        rating, created = RequestQualityRating.objects.select_for_update().get_or_create(
            request=request,
            defaults={
                "rated_by": rater,
                "provider_department_id": request.provider_department_id,
                "requesting_department_id": request.requesting_department_id,
                "clarity": clarity,
                "responsiveness": responsiveness,
                "rated_at": now,
                "updated_at": now,
            },
        )
        if not created:
            rating.rated_by = rater
            rating.clarity = clarity
            rating.responsiveness = responsiveness
            rating.updated_at = now
            rating.save(update_fields=["rated_by", "clarity", "responsiveness", "updated_at"])
    return rating


# --- the quarterly relationship survey -----------------------------------------------------


@dataclass(frozen=True)
class OpenReport:
    survey: RelationshipSurvey
    invitations_created: int
    items_created: int
    emails_queued: int
    pulse_items_created: int = 0

    def summary(self) -> str:
        return (
            f"{self.survey.quarter}: {self.invitations_created} new invitation(s), "
            f"{self.items_created} new department rating(s) asked, "
            f"{self.pulse_items_created} new team pulse(s) asked, "
            f"{self.emails_queued} email(s) queued; closes {_when(self.survey.closes_at)}."
        )


def relationship_pairs_used(*, quarter: Period) -> set[tuple[int, int]]:
    """(customer, provider) department ids with requests filed in the quarter."""
    return set(
        ServiceRequest.objects.filter(created_at__gte=quarter.start, created_at__lt=quarter.end)
        .values_list("requesting_department_id", "provider_department_id")
        .distinct()
    )


def _invitees(pairs: set[tuple[int, int]]) -> dict[int, set[tuple[int, int]]]:
    """user id -> the (customer, provider) pairs they are asked to rate: every active member
    of a customer department rates each provider it used, unless they work there too."""
    customers = {customer for customer, _ in pairs}
    providers = {provider for _, provider in pairs}
    memberships = Membership.objects.filter(
        department_id__in=customers | providers, user__is_active=True
    ).values_list("user_id", "department_id")
    departments_of: dict[int, set[int]] = defaultdict(set)
    for user_id, department_id in memberships:
        departments_of[user_id].add(department_id)
    wanted: dict[int, set[tuple[int, int]]] = defaultdict(set)
    for user_id, departments in departments_of.items():
        for customer, provider in pairs:
            if customer in departments and provider not in departments:
                wanted[user_id].add((customer, provider))
    return wanted


def _pulse_invitees() -> dict[int, set[int]]:
    """user id -> the departments they are asked about in the team pulse: every department
    each active user belongs to, in any role (a member of two answers for each)."""
    wanted: dict[int, set[int]] = defaultdict(set)
    for user_id, department_id in Membership.objects.filter(user__is_active=True).values_list(
        "user_id", "department_id"
    ):
        wanted[user_id].add(department_id)
    return wanted


def relationship_survey_open(
    *, quarter: str | Period | None = None, now=None, email: bool = True
) -> OpenReport:
    """Open the relationship survey of a quarter (default: the one that just ended) and invite
    every member of each department to rate each provider their department used in it, and
    every member to rate their own departments in the team pulse.

    Idempotent: a second run invites only people and pairs that are new since (no one gets a
    second email); a closed survey is left alone.
    """
    now = _now(now)
    if quarter is None:
        quarter = last_complete_quarter(now)
    elif isinstance(quarter, str):
        try:
            quarter = parse_quarter(quarter)
        except ValueError as exc:
            raise ValidationError({"quarter": str(exc)}) from exc
    if quarter.end > now:
        raise ValidationError({"quarter": f"{quarter} has not ended yet."})
    with transaction.atomic():
        RelationshipSurvey.objects.get_or_create(
            quarter=quarter.key,
            defaults={
                "period_start": quarter.start,
                "period_end": quarter.end,
                "opened_at": now,
                "closes_at": now + datetime.timedelta(days=RELATIONSHIP_OPEN_DAYS),
            },
        )
        # One opener at a time: a concurrent run waits here, then finds everything done.
        survey = RelationshipSurvey.objects.select_for_update().get(quarter=quarter.key)
        if not survey.is_open(now):
            return OpenReport(survey, 0, 0, 0)
        wanted = _invitees(relationship_pairs_used(quarter=quarter))
        pulse_wanted = _pulse_invitees()
        existing = set(survey.invitations.values_list("user_id", flat=True))
        new_users = sorted((set(wanted) | set(pulse_wanted)) - existing)
        RelationshipInvitation.objects.bulk_create(
            [RelationshipInvitation(survey=survey, user_id=u, invited_at=now) for u in new_users]
        )
        invitations = {
            invitation.user_id: invitation
            for invitation in survey.invitations.filter(user_id__in=set(wanted) | set(pulse_wanted))
        }
        asked = set(
            RelationshipInvitationItem.objects.filter(invitation__survey=survey).values_list(
                "invitation__user_id", "customer_department_id", "provider_department_id"
            )
        )
        items = [
            RelationshipInvitationItem(
                invitation=invitations[user_id],
                customer_department_id=customer,
                provider_department_id=provider,
            )
            for user_id, pairs in sorted(wanted.items())
            for customer, provider in sorted(pairs)
            if (user_id, customer, provider) not in asked
        ]
        RelationshipInvitationItem.objects.bulk_create(items)
        pulse_asked = set(
            PulseInvitationItem.objects.filter(invitation__survey=survey).values_list(
                "invitation__user_id", "department_id"
            )
        )
        pulse_items = [
            PulseInvitationItem(invitation=invitations[user_id], department_id=department)
            for user_id, departments in sorted(pulse_wanted.items())
            for department in sorted(departments)
            if (user_id, department) not in pulse_asked
        ]
        PulseInvitationItem.objects.bulk_create(pulse_items)
        # Someone who had rated everything has something new to rate.
        RelationshipInvitation.objects.filter(
            pk__in={item.invitation.pk for item in [*items, *pulse_items]},
            completed_at__isnull=False,
        ).update(completed_at=None)
        emails = 0
        if email:
            for user_id in new_users:
                raw = token_issue(
                    invitation=invitations[user_id], expires_at=survey.closes_at, now=now
                )
                _link_email_on_commit(raw)
                emails += 1
    return OpenReport(survey, len(new_users), len(items), emails, len(pulse_items))


def relationship_reminders_send(*, now=None) -> int:
    """Remind those who have not rated every department yet, 3 and 7 days after they were
    invited, each time with a fresh link (the old one then says it was replaced)."""
    now = _now(now)
    due_count = len(RELATIONSHIP_REMINDER_DAYS)
    candidates = (
        relationship_invitations_open(now=now)
        .filter(
            reminders_sent__lt=due_count,
            invited_at__lte=now - datetime.timedelta(days=min(RELATIONSHIP_REMINDER_DAYS)),
        )
        .select_related("survey")
    )
    sent = 0
    for invitation in candidates.iterator():
        due = sum(
            1
            for days in RELATIONSHIP_REMINDER_DAYS
            if now >= invitation.invited_at + datetime.timedelta(days=days)
        )
        if due <= invitation.reminders_sent:
            continue
        with transaction.atomic():
            # Claim the reminder: of two runs at once, one sends it. A run that missed day 3
            # and comes on day 8 sends one reminder, not two.
            claimed = RelationshipInvitation.objects.filter(
                pk=invitation.pk,
                reminders_sent=invitation.reminders_sent,
                completed_at__isnull=True,
            ).update(reminders_sent=due, last_reminded_at=now)
            if claimed != 1:
                continue
            raw = token_issue(
                invitation=invitation, expires_at=invitation.survey.closes_at, now=now
            )
            _link_email_on_commit(raw, reminder=True)
        sent += 1
    return sent


def relationship_surveys_close(*, now=None) -> int:
    """Close the relationship surveys whose 14 days are over, each with its team pulse
    answers rewritten in random order; returns how many closed."""
    now = _now(now)
    closed = 0
    due = RelationshipSurvey.objects.filter(closed_at__isnull=True, closes_at__lte=now)
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            # Claimed: of two runs at once, one closes it and shuffles its answers.
            if (
                RelationshipSurvey.objects.filter(pk=pk, closed_at__isnull=True).update(
                    closed_at=now
                )
                == 1
            ):
                pulse_answers_shuffle(survey_id=pk)
                closed += 1
    return closed


def pulse_answers_shuffle(*, survey_id: int) -> int:
    """Rewrite a quarter's team pulse answers in random order with new random ids, and touch
    its items, in one transaction: afterwards neither the rows' physical order nor the
    database's transaction ids (PostgreSQL's xmin) follow the order people answered in.
    The figures do not change (same departments, same ratings). Returns how many."""
    with transaction.atomic():
        answers = list(
            PulseAnswer.objects.select_for_update()
            .filter(survey_id=survey_id)
            .values("department_id", "morale", "collaboration")
        )
        random.SystemRandom().shuffle(answers)
        PulseAnswer.objects.filter(survey_id=survey_id).delete()
        PulseAnswer.objects.bulk_create(
            [PulseAnswer(survey_id=survey_id, **answer) for answer in answers]
        )
        PulseInvitationItem.objects.filter(invitation__survey_id=survey_id).update(
            answered=models.F("answered")
        )
    return len(answers)


def _relationship_answer_errors(answer: dict) -> dict[str, str]:
    errors = {}
    if answer.get("hire_back") not in HireBack.values:
        errors["hire_back"] = "Answer yes, unsure or no."
    errors.update(_rating_errors({field: answer.get(field) for field in DIMENSIONS}))
    errors.update(_comment_errors(answer.get("comment")))
    return errors


def relationship_answer_authorize(*, invitation: RelationshipInvitation, respondent) -> None:
    """Raise PermissionDenied unless `respondent` may answer the invitation: its invitee."""
    if respondent is None or respondent.pk != invitation.user_id:
        raise PermissionDenied("This invitation is someone else's.")


def relationship_answer(
    *, invitation: RelationshipInvitation, respondent, answers: Sequence[dict], now=None
) -> int:
    """Rate providers of a quarterly survey: each answer is {"item": id, "hire_back": ...,
    the five dimensions (optional), "comment"}. Returns how many were recorded.

    Anonymous: the item is marked answered with a guarded update and the answer is written
    without any link to the person, in one transaction. An item answered already is skipped.
    """
    now = _now(now)
    relationship_answer_authorize(invitation=invitation, respondent=respondent)
    survey = invitation.survey
    if not survey.is_open(now):
        raise ValidationError({"answers": f"The {survey.quarter} survey is closed."})
    if not answers:
        raise ValidationError({"answers": "Rate at least one department."})
    items = {item.pk: item for item in invitation.items.all()}
    for position, answer in enumerate(answers, start=1):
        item = items.get(answer.get("item"))
        if item is None:
            raise ValidationError({"answers": f"Answer {position}: no such department to rate."})
        errors = _relationship_answer_errors(answer)
        if errors:
            raise ValidationError(
                {"answers": [f"Answer {position}: {message}" for message in errors.values()]}
            )
    recorded = 0
    with transaction.atomic():
        for answer in answers:
            item = items[answer["item"]]
            claimed = RelationshipInvitationItem.objects.filter(
                pk=item.pk, answered_at__isnull=True
            ).update(answered_at=now)
            if claimed != 1:
                continue  # a second tab or a double click: the first answer stands
            RelationshipAnswer.objects.create(
                survey=survey,
                customer_department_id=item.customer_department_id,
                provider_department_id=item.provider_department_id,
                hire_back=answer["hire_back"],
                comment=(answer.get("comment") or "").strip(),
                answered_on=_company_date(now),
                **{field: answer.get(field) for field in DIMENSIONS},
            )
            recorded += 1
        if not recorded:
            raise ValidationError({"answers": "These departments are rated already."})
        _invitation_complete_if_done(invitation, now=now)
    return recorded


def _invitation_complete_if_done(invitation: RelationshipInvitation, *, now) -> None:
    """Mark the invitation completed (no more reminders) once every provider is rated and
    every team pulse answered."""
    if (
        not invitation.items.filter(answered_at__isnull=True).exists()
        and not invitation.pulse_items.filter(answered=False).exists()
    ):
        RelationshipInvitation.objects.filter(pk=invitation.pk, completed_at__isnull=True).update(
            completed_at=now
        )


def _pulse_answer_errors(answer: dict) -> dict[str, str]:
    return _rating_errors(
        {field: answer.get(field) for field in PULSE_QUESTIONS}, required=PULSE_QUESTIONS
    )


def pulse_answer(
    *, invitation: RelationshipInvitation, respondent, answers: Sequence[dict], now=None
) -> int:
    """Answer the team pulse about one's own departments: each answer is {"item": id,
    "morale": 1-5, "collaboration": 1-5}. Returns how many were recorded.

    Anonymous as the relationship answers are: the item is marked answered with a guarded
    update (one answer per member, department and quarter; a second one is refused) and the
    answer written with its department and quarter only, in one transaction. Not editable:
    changing an answer would need a link from the person to it.
    """
    now = _now(now)
    relationship_answer_authorize(invitation=invitation, respondent=respondent)
    survey = invitation.survey
    if not survey.is_open(now):
        raise ValidationError({"pulse": f"The {survey.quarter} survey is closed."})
    if not answers:
        raise ValidationError({"pulse": "Answer for at least one department."})
    items = {item.pk: item for item in invitation.pulse_items.all()}
    for position, answer in enumerate(answers, start=1):
        if items.get(answer.get("item")) is None:
            raise ValidationError({"pulse": f"Answer {position}: no such department of yours."})
        errors = _pulse_answer_errors(answer)
        if errors:
            raise ValidationError(
                {"pulse": [f"Answer {position}: {message}" for message in errors.values()]}
            )
    recorded = 0
    with transaction.atomic():
        for answer in answers:
            item = items[answer["item"]]
            claimed = PulseInvitationItem.objects.filter(pk=item.pk, answered=False).update(
                answered=True
            )
            if claimed != 1:
                continue  # a second tab or a double click: the first answer stands
            PulseAnswer.objects.create(
                survey=survey,
                department_id=item.department_id,
                **{field: answer[field] for field in PULSE_QUESTIONS},
            )
            recorded += 1
        if not recorded:
            raise ValidationError({"pulse": "You have answered for these departments already."})
        _invitation_complete_if_done(invitation, now=now)
    return recorded


def quarterly_survey_answer(
    *,
    invitation: RelationshipInvitation,
    respondent,
    answers: Sequence[dict] = (),
    pulse: Sequence[dict] = (),
    now=None,
) -> tuple[int, int]:
    """The quarterly survey page's one form: providers rated and team pulse answers, either
    part may be empty, not both; all or nothing. Returns how many of each were recorded."""
    now = _now(now)
    relationship_answer_authorize(invitation=invitation, respondent=respondent)
    if not answers and not pulse:
        raise ValidationError({"answers": "Rate at least one department."})
    with transaction.atomic():
        recorded = (
            relationship_answer(
                invitation=invitation, respondent=respondent, answers=answers, now=now
            )
            if answers
            else 0
        )
        pulsed = (
            pulse_answer(invitation=invitation, respondent=respondent, answers=pulse, now=now)
            if pulse
            else 0
        )
    return recorded, pulsed


def quarterly_survey_answer_by_token(
    *, raw_token: str, answers: Sequence[dict] = (), pulse: Sequence[dict] = (), now=None
) -> tuple[int, int]:
    """The quarterly survey through the emailed link, which the answer spends."""
    now = _now(now)
    with transaction.atomic():
        invitation = token_spend(raw_token=raw_token, target="invitation", now=now)
        return quarterly_survey_answer(
            invitation=invitation, respondent=invitation.user, answers=answers, pulse=pulse, now=now
        )


def relationship_answer_by_token(*, raw_token: str, answers: Sequence[dict], now=None) -> int:
    """Rate providers through the emailed link, which the answer spends. Raises TokenRefused."""
    now = _now(now)
    with transaction.atomic():
        invitation = token_spend(raw_token=raw_token, target="invitation", now=now)
        return relationship_answer(
            invitation=invitation, respondent=invitation.user, answers=answers, now=now
        )
