"""Demo survey history for `manage.py seed_demo` (called after requests_app's demo).

Works on whatever requests exist: about two thirds of the resolved requests get an answer,
rated lower when the resolution clock was breached; agents rate a share of the requests;
the relationship survey of the last two complete quarters is opened and answered, with some
customer/provider pairs of only one or two respondents so that the anonymity rule shows, and
so is its team pulse (each department's mood its own, one department with too few answers).
Everything goes through the services (no email, no links) with the time it would have
happened, and each request decides with its own seeded random draw, so a second run adds
nothing. Notifications it causes are marked emailed: starting the worker sends no flood.
"""

import datetime
import random

from django.db.models import Count, F, Q
from django.utils import timezone

from core.periods import Period, last_complete_quarter
from departments.choices import Role
from requests_app.choices import ClockKind, ClockState
from requests_app.models import Notification, ServiceRequest, SLAClock
from requests_app.selectors import provider_staff

from . import services
from .choices import DIMENSIONS, HireBack
from .models import RelationshipInvitation, RelationshipSurvey, RequestQualityRating

SEED = 2026
ANSWER_SHARE = 0.65
QUALITY_SHARE = 0.45
RELATIONSHIP_ANSWER_SHARE = 0.85
# Every fifth customer/provider pair gets only one or two answers: hidden on every page.
FEW_ANSWERS_EVERY = 5
PULSE_ANSWER_SHARE = 0.8
# Every fourth department's team pulse gets only one or two answers: hidden too.
FEW_PULSE_ANSWERS_EVERY = 4
NOTIFICATIONS_UNREAD_FOR = datetime.timedelta(days=2)

# Overall ratings: mostly good when the SLA was met, spread lower when it was breached.
RATINGS_MET = {5: 45, 4: 35, 3: 12, 2: 5, 1: 3}
RATINGS_BREACHED = {5: 8, 4: 20, 3: 32, 2: 24, 1: 16}
COMMENTS = {
    "good": [
        "Quick and friendly, thank you!",
        "Solved on the first try.",
        "Clear explanation of what was done.",
        "Great work, exactly what we needed.",
    ],
    "mixed": [
        "Fine in the end, but I had to chase it.",
        "OK, though the updates could be more frequent.",
        "Took a while to reach the right person.",
    ],
    "bad": [
        "Far too slow for something this simple.",
        "Nobody told me what was going on.",
        "Had to ask three times. Not great.",
    ],
}


# Drawing answers, shared with the bench's survey data (bench/surveys.py).

COMMENT_SHARE = 0.3


def rating_draw(rng: random.Random, weights: dict[int, int]) -> int:
    """A rating 1-5 by its weight."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def rating_near(rng: random.Random, overall: int) -> int:
    """A dimension's rating, near the overall one."""
    return max(1, min(5, overall + rng.choice([-1, 0, 0, 0, 1])))


def hire_back_draw(rng: random.Random, on_time: float) -> tuple[str, int]:
    """A customer's hire-back answer, likelier yes the more of its provider's clocks were on
    time (`on_time`, 0-1), and the rating its dimensions are drawn near."""
    hire_back = rng.choices(
        [HireBack.YES, HireBack.UNSURE, HireBack.NO],
        weights=[0.25 + 0.6 * on_time, 0.25, 0.05 + 0.45 * (1 - on_time)],
    )[0]
    return hire_back, 4 if hire_back == HireBack.YES else 3 if hire_back == HireBack.UNSURE else 2


def comment_draw(rng: random.Random, overall: int) -> str:
    """A comment to go with an overall rating, for COMMENT_SHARE of answers ("" otherwise)."""
    if rng.random() > COMMENT_SHARE:
        return ""
    mood = "good" if overall >= 4 else "mixed" if overall == 3 else "bad"
    return rng.choice(COMMENTS[mood])


def seed_demo(*, stdout) -> None:
    now = timezone.now()
    surveys, answered, rated = _request_surveys(now)
    stdout.write(
        f"Surveys: {surveys} request surveys sent, {answered} answered; "
        f"{rated} requests rated by their agents."
    )
    last = last_complete_quarter(now)
    for quarter in (last.previous(), last):
        line = _relationship_survey(quarter, now)
        if line:
            stdout.write(f"  {line}")
    # The seed's low-rating notifications are history: never emailed, and read unless recent.
    seeded = Notification.objects.filter(dedupe_key__startswith="survey-", emailed_at__isnull=True)
    seeded.filter(created_at__lt=now - NOTIFICATIONS_UNREAD_FOR, read_at__isnull=True).update(
        read_at=F("created_at") + datetime.timedelta(hours=3)
    )
    seeded.update(emailed_at=now)


def _breached_request_ids() -> set[int]:
    return set(
        SLAClock.objects.filter(kind=ClockKind.RESOLUTION, state=ClockState.BREACHED).values_list(
            "request_id", flat=True
        )
    )


def _request_surveys(now) -> tuple[int, int, int]:
    """Survey every resolved request not surveyed yet, answer about two thirds, and let the
    agents rate a share of them."""
    breached = _breached_request_ids()
    requests = (
        ServiceRequest.objects.filter(
            status__in=services.SURVEYED_STATUSES, resolved_at__isnull=False, survey__isnull=True
        )
        .select_related("requester", "assignee")
        .annotate(wait_count=Count("waits"))
        .order_by("pk")
    )
    sent = answered = rated = 0
    for request in requests:
        rng = random.Random(f"{SEED}-request-{request.pk}")  # noqa: S311 - demo data  # nosec B311
        survey = services.survey_send_for_request(
            request_id=request.pk, now=request.resolved_at, email=False
        )
        if survey is None:
            continue
        sent += 1
        answer_at = request.resolved_at + datetime.timedelta(minutes=rng.randint(10, 3 * 24 * 60))
        if rng.random() < ANSWER_SHARE and answer_at < min(now, survey.closes_at):
            late = request.pk in breached
            overall = rating_draw(rng, RATINGS_BREACHED if late else RATINGS_MET)
            ratings = {d: rating_near(rng, overall) for d in DIMENSIONS if rng.random() < 0.6}
            if late and "timeliness" in ratings:
                ratings["timeliness"] = max(1, ratings["timeliness"] - 1)
            services.survey_answer(
                survey=survey,
                respondent=request.requester,
                overall=overall,
                ratings=ratings,
                comment=comment_draw(rng, overall),
                now=answer_at,
            )
            answered += 1
        if (
            rng.random() < QUALITY_SHARE
            and not RequestQualityRating.objects.filter(request=request).exists()
        ):
            rater = request.assignee or (
                provider_staff(department_id=request.provider_department_id, roles=[Role.AGENT])
                .order_by("pk")
                .first()
            )
            if rater is not None:
                services.request_quality_rate(
                    request=request,
                    rater=rater,
                    clarity=rating_draw(rng, {5: 30, 4: 40, 3: 18, 2: 8, 1: 4}),
                    responsiveness=rating_draw(rng, {5: 25, 4: 35, 3: 25, 2: 10, 1: 5})
                    if request.wait_count
                    else None,
                    now=min(now, request.resolved_at + datetime.timedelta(minutes=5)),
                )
                rated += 1
    return sent, answered, rated


def _timeliness_by_pair(quarter: Period) -> dict[tuple[int, int], float]:
    """Share of met resolution clocks per (customer, provider) for requests of the quarter."""
    rows = (
        SLAClock.objects.filter(
            kind=ClockKind.RESOLUTION,
            request__created_at__gte=quarter.start,
            request__created_at__lt=quarter.end,
            state__in=[ClockState.MET, ClockState.BREACHED],
        )
        .values("request__requesting_department_id", "department_id")
        .annotate(
            met=Count("id", filter=Q(state=ClockState.MET)),
            total=Count("id"),
        )
    )
    return {
        (row["request__requesting_department_id"], row["department_id"]): row["met"] / row["total"]
        for row in rows
    }


def _relationship_survey(quarter: Period, now) -> str:
    """Open a quarter's relationship survey as beat would have, and answer it: hire-back
    follows how timely the provider was for that customer. Some pairs get only one or two
    answers, so that their breakdown stays hidden; the survey closes after its 14 days."""
    if RelationshipSurvey.objects.filter(quarter=quarter.key).exists():
        return ""
    opened_at = quarter.end + datetime.timedelta(hours=6)
    if opened_at > now:
        return ""
    report = services.relationship_survey_open(quarter=quarter, now=opened_at, email=False)
    if not report.invitations_created:
        return f"{quarter}: nobody to ask."
    timeliness = _timeliness_by_pair(quarter)
    rng = random.Random(f"{SEED}-{quarter}")  # noqa: S311 - demo data  # nosec B311
    pairs = sorted(
        {
            (item.customer_department_id, item.provider_department_id)
            for invitation in report.survey.invitations.prefetch_related("items")
            for item in invitation.items.all()
        }
    )
    caps = {
        pair: rng.choice([1, 2])
        for index, pair in enumerate(pairs)
        if index % FEW_ANSWERS_EVERY == FEW_ANSWERS_EVERY - 1
    }
    given: dict[tuple[int, int], int] = {}
    answers_total = pulse_total = 0
    invitations = (
        RelationshipInvitation.objects.filter(survey=report.survey)
        .select_related("user", "survey")
        .prefetch_related("items", "pulse_items")
        .order_by("user_id")
    )
    pulse_departments = sorted(
        {item.department_id for invitation in invitations for item in invitation.pulse_items.all()}
    )
    # Each department's mood this quarter, and the few with too few answers to show.
    moods = {department: rng.choice([2, 3, 3, 4, 4, 5]) for department in pulse_departments}
    pulse_caps = {
        department: rng.choice([1, 2])
        for index, department in enumerate(pulse_departments)
        if index % FEW_PULSE_ANSWERS_EVERY == FEW_PULSE_ANSWERS_EVERY - 1
    }
    pulse_given: dict[int, int] = {}
    for invitation in invitations:
        pulse = []
        for item in invitation.pulse_items.all():
            department = item.department_id
            if department in pulse_caps:
                if pulse_given.get(department, 0) >= pulse_caps[department]:
                    continue
            elif rng.random() > PULSE_ANSWER_SHARE:
                continue
            pulse.append(
                {
                    "item": item.pk,
                    "morale": rating_near(rng, moods[department]),
                    "collaboration": rating_near(rng, moods[department]),
                }
            )
            pulse_given[department] = pulse_given.get(department, 0) + 1
        answers = []
        for item in invitation.items.all():
            pair = (item.customer_department_id, item.provider_department_id)
            if pair in caps and given.get(pair, 0) >= caps[pair]:
                continue
            if pair not in caps and rng.random() > RELATIONSHIP_ANSWER_SHARE:
                continue
            hire_back, base = hire_back_draw(rng, timeliness.get(pair, 0.7))
            answers.append(
                {
                    "item": item.pk,
                    "hire_back": hire_back,
                    "comment": comment_draw(rng, base),
                    **{
                        d: rating_near(rng, base) if rng.random() < 0.7 else None
                        for d in DIMENSIONS
                    },
                }
            )
            given[pair] = given.get(pair, 0) + 1
        if answers or pulse:
            answered_at = min(
                now - datetime.timedelta(minutes=1),
                opened_at + datetime.timedelta(hours=rng.randint(1, 12 * 24)),
            )
            recorded, pulsed = services.quarterly_survey_answer(
                invitation=invitation,
                respondent=invitation.user,
                answers=answers,
                pulse=pulse,
                now=answered_at,
            )
            answers_total += recorded
            pulse_total += pulsed
    if report.survey.closes_at <= now:
        services.relationship_surveys_close(now=report.survey.closes_at)
    rated = (
        f"{answers_total} answers ({len(caps)} pairs with only 1-2 answers, hidden)"
        if pairs
        else "no requests in the quarter, no provider to rate"
    )
    return (
        f"{quarter}: relationship survey, {report.invitations_created} people asked, {rated}; "
        f"team pulse: {pulse_total} answers ({len(pulse_caps)} departments with only 1-2 "
        "answers, hidden)."
    )
