"""Survey pages: thin views over the selectors and services.

Two ways in. Logged in, a requester answers under My surveys (and from the request page).
Without logging in, the emailed link (`/surveys/t/<token>/`) lets its holder answer that one
survey and nothing else: it never logs anybody in. Answering spends the link; the browser
that spent it may then fill in the optional questions of that survey (a grant in its
session), within the same 7 days as anybody else.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from core.periods import quarter_containing
from departments.models import Department
from requests_app.selectors import requests_visible_to

from . import services
from .choices import DIMENSIONS, HIRE_BACK_QUESTION, RATING_LABELS, TokenState
from .forms import (
    OverallForm,
    QualityRatingForm,
    ResponseForm,
    pulse_forms,
    relationship_forms,
)
from .models import RelationshipInvitation, RequestSurvey
from .ratelimit import client_address, token_attempt_refund, token_attempt_reserve
from .selectors import (
    SummaryAccess,
    department_survey_summary,
    pulse_items_open,
    relationship_invitations_open_for,
    relationship_items_open,
    request_quality_for_member,
    request_survey_for_requester,
    request_surveys_answered_by,
    request_surveys_waiting_for,
    response_of,
    summary_access,
    summary_departments_for,
    summary_quarter,
)
from .tokens import TokenCheck, TokenRefused, token_check

GRANTS_SESSION_KEY = "surveys:granted"

REFUSED_STATUS = {
    TokenState.INVALID: 404,
    TokenState.EXPIRED: 410,
    TokenState.USED: 410,
    TokenState.REPLACED: 410,
    TokenState.CLOSED: 410,
}


def _errors_onto(form, exc: ValidationError) -> None:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for field, field_errors in errors.items():
        form.add_error(field if field in form.fields else None, field_errors)


def _forbidden(request, reason: str):
    return render(request, "surveys/forbidden.html", {"reason": reason}, status=403)


def _grant(request, survey: RequestSurvey) -> None:
    granted = set(request.session.get(GRANTS_SESSION_KEY, []))
    granted.add(survey.pk)
    request.session[GRANTS_SESSION_KEY] = sorted(granted)


def _granted(request, survey: RequestSurvey) -> bool:
    return survey.pk in request.session.get(GRANTS_SESSION_KEY, [])


def _rating_context() -> dict:
    return {"rating_labels": RATING_LABELS, "hire_back_question": HIRE_BACK_QUESTION}


# --- My surveys ----------------------------------------------------------------------------


@login_required
def my_surveys(request):
    """What waits for the viewer, what they answered lately, and their department's figure."""
    now = timezone.now()
    answered = request_surveys_answered_by(user=request.user)
    for survey in answered:
        survey.editable_until = services.survey_editable_until(survey.response)
        survey.editable = now <= survey.editable_until
    invitations = list(relationship_invitations_open_for(user=request.user, now=now))
    for invitation in invitations:
        invitation.open_items = relationship_items_open(invitation)
        invitation.open_pulse = pulse_items_open(invitation)
    return render(
        request,
        "surveys/mine.html",
        {
            "waiting": list(request_surveys_waiting_for(user=request.user, now=now)),
            "invitations": invitations,
            "answered": answered,
            "quality": request_quality_for_member(user=request.user),
            "summary_departments": list(summary_departments_for(request.user)[:20]),
            "anonymity_min": settings.ANONYMITY_MIN,
        },
    )


# --- the request survey, logged in ---------------------------------------------------------


def _overall_page(request, survey, *, action, closed, answer):
    """The overall rating page (logged in or by link): one click calls `answer(overall)`;
    a link refused meanwhile gets the page that says why."""
    form = OverallForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            answer(form.cleaned_data["overall"])
        except TokenRefused as exc:
            return _refused(request, exc.check)
        except ValidationError as exc:
            _errors_onto(form, exc)
        else:
            messages.success(request, "Thank you! A few more questions, if you have a minute.")
            return redirect("surveys:request-details", request_pk=survey.request_id)
    return render(
        request,
        "surveys/request_overall.html",
        {
            "survey": survey,
            "form": form,
            "action": action,
            "closed": closed,
            **_rating_context(),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def request_survey(request, request_pk):
    """The first page: the overall rating alone, five buttons, one click answers."""
    survey = request_survey_for_requester(user=request.user, request_pk=request_pk)
    if survey is None:
        raise Http404("No survey of yours for this request.")
    if response_of(survey) is not None:
        return redirect("surveys:request-details", request_pk=request_pk)
    return _overall_page(
        request,
        survey,
        action=reverse("surveys:request", args=[request_pk]),
        closed=timezone.now() >= survey.closes_at,
        answer=lambda overall: services.survey_answer(
            survey=survey, respondent=request.user, overall=overall
        ),
    )


@never_cache
@require_http_methods(["GET", "POST"])
def request_survey_details(request, request_pk):
    """The second page: the optional dimensions and a comment (and a change of the overall
    rating), for the requester or for the browser that answered through the link."""
    survey = (
        RequestSurvey.objects.select_related("request", "provider_department", "requester")
        .filter(request__pk=request_pk)  # see request_survey_for_requester
        .first()
    )
    user = request.user
    if user.is_authenticated:
        allowed = survey is not None and survey.requester_id == user.pk
    else:
        allowed = survey is not None and _granted(request, survey)
    if not allowed:
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        raise Http404("No survey of yours for this request.")
    response = response_of(survey)
    if response is None:
        return redirect("surveys:request", request_pk=request_pk)
    now = timezone.now()
    editable_until = services.survey_editable_until(response)
    editable = now <= editable_until
    initial = {"overall": response.overall, "comment": response.comment, **response.ratings()}
    form = ResponseForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not editable:
            form.is_valid()
            form.add_error(None, "This answer can no longer be changed.")
        elif form.is_valid():
            try:
                services.survey_answer(
                    survey=survey,
                    respondent=survey.requester,
                    overall=form.cleaned_data["overall"],
                    ratings=form.ratings(),
                    comment=form.cleaned_data["comment"],
                )
            except ValidationError as exc:
                _errors_onto(form, exc)
            else:
                messages.success(request, "Thank you: your answer is saved.")
                if user.is_authenticated:
                    return redirect("surveys:mine")
                return redirect("surveys:thanks")
    return render(
        request,
        "surveys/request_details.html",
        {
            "survey": survey,
            "response": response,
            "form": form,
            "editable": editable,
            "editable_until": editable_until,
            **_rating_context(),
        },
        status=400 if form.errors else 200,
    )


# --- the relationship survey, logged in ----------------------------------------------------


def _relationship_page(request, invitation, *, action, answer, done_url):
    """The quarterly survey form (logged in or by link): every provider left to rate, and
    the team pulse of each of the invitee's own departments left to answer."""
    now = timezone.now()
    items = relationship_items_open(invitation)
    pulse_items = pulse_items_open(invitation)
    data = request.POST if request.method == "POST" else None
    forms = relationship_forms(items, data)
    pulses = pulse_forms(pulse_items, data)
    error = None
    valid = all(form.is_valid() for form in [*forms, *pulses])
    if request.method == "POST" and (items or pulse_items) and valid:
        answers = [form.answer() for form in forms if form.cleaned_data.get("hire_back")]
        pulse = [form.answer() for form in pulses if form.answered]
        if not answers and not pulse:
            error = "Answer the first question for at least one department."
        else:
            try:
                recorded, pulsed = answer(answers, pulse)
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                left = len(items) - recorded + len(pulse_items) - pulsed
                messages.success(
                    request,
                    "Thank you: your answers are saved anonymously."
                    + (f" {left} question(s) are still to answer." if left else ""),
                )
                return redirect(done_url)
    return render(
        request,
        "surveys/relationship.html",
        {
            "invitation": invitation,
            "survey": invitation.survey,
            "forms": forms,
            "pulse_forms": pulses,
            "error": error,
            "action": action,
            "is_open": invitation.survey.is_open(now),
            "anonymity_min": settings.ANONYMITY_MIN,
            **_rating_context(),
        },
        status=400 if error or any(form.errors for form in [*forms, *pulses]) else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def relationship_survey(request, pk):
    """The viewer's quarterly survey: the hire-back question for each provider, and the team
    pulse of their own departments."""
    invitation = (
        RelationshipInvitation.objects.filter(pk=pk, user=request.user)
        .select_related("survey")
        .first()
    )
    if invitation is None:
        raise Http404("No such invitation of yours.")
    return _relationship_page(
        request,
        invitation,
        action=reverse("surveys:relationship", args=[pk]),
        answer=lambda answers, pulse: services.quarterly_survey_answer(
            invitation=invitation, respondent=request.user, answers=answers, pulse=pulse
        ),
        done_url=reverse("surveys:mine"),
    )


# --- the emailed link ----------------------------------------------------------------------


def _refused(request, check: TokenCheck):
    survey = check.request_survey
    return render(
        request,
        "surveys/token_refused.html",
        {
            "state": check.state,
            "states": TokenState,
            "survey": survey,
            "invitation": check.invitation,
            "response": response_of(survey) if survey else None,
        },
        status=REFUSED_STATUS[check.state],
    )


@never_cache
@require_http_methods(["GET", "POST"])
def token_survey(request, token):
    """A survey by its emailed link: answerable without a password, for that survey only.

    Unknown links count towards a per-address limit (429 beyond it); expired, used and
    replaced links get a page that says so; none of them changes anything.
    """
    attempt = token_attempt_reserve(client_address(request))
    if attempt is None:
        return render(request, "surveys/token_limited.html", status=429)
    check = token_check(raw_token=token)
    if check.state == TokenState.INVALID:
        return _refused(request, check)
    token_attempt_refund(attempt)
    if request.user.is_authenticated and request.user.pk != check.invitee_id:
        return render(
            request,
            "surveys/token_foreign.html",
            {"check": check},
            status=403,
        )
    survey = check.request_survey
    if check.state == TokenState.USED and survey is not None and _granted(request, survey):
        return redirect("surveys:request-details", request_pk=survey.request_id)
    if check.state != TokenState.VALID:
        return _refused(request, check)
    if survey is not None:
        return _token_request_survey(request, token, survey)
    return _relationship_page(
        request,
        check.invitation,
        action=reverse("surveys:token", args=[token]),
        answer=lambda answers, pulse: _token_relationship_answer(token, answers, pulse),
        done_url=reverse("surveys:thanks"),
    )


def _token_relationship_answer(token, answers, pulse):
    try:
        return services.quarterly_survey_answer_by_token(
            raw_token=token, answers=answers, pulse=pulse
        )
    except TokenRefused as exc:
        raise ValidationError(
            f"This link cannot be used any more ({exc.check.state.label.lower()})."
        ) from exc


def _token_request_survey(request, token, survey):
    if response_of(survey) is not None:
        # Answered in the app meanwhile: the link would only change it; say where to.
        return render(request, "surveys/token_answered.html", {"survey": survey})

    def answer(overall):
        services.survey_answer_by_token(raw_token=token, overall=overall)
        _grant(request, survey)

    return _overall_page(
        request, survey, action=reverse("surveys:token", args=[token]), closed=False, answer=answer
    )


def thanks(request):
    """Where an answer through a link ends: nothing to show but thanks."""
    return render(request, "surveys/thanks.html")


# --- the provider's rating of a request ----------------------------------------------------


@login_required
@require_POST
def request_quality(request, request_pk):
    """The provider rates a resolved request (from the panel on the request page)."""
    service_request = requests_visible_to(request.user).filter(pk=request_pk).first()
    if service_request is None:
        raise Http404("No such request.")
    try:
        services.request_quality_rate_authorize(request=service_request, rater=request.user)
    except PermissionDenied as exc:
        return _forbidden(request, str(exc))
    form = QualityRatingForm(request.POST)
    if form.is_valid():
        try:
            services.request_quality_rate(
                request=service_request,
                rater=request.user,
                clarity=form.cleaned_data["clarity"],
                responsiveness=form.cleaned_data["responsiveness"],
            )
        except PermissionDenied as exc:
            return _forbidden(request, str(exc))
        except ValidationError as exc:
            for error in exc.messages:
                messages.error(request, error)
        else:
            messages.success(
                request,
                f"Thank you: your rating counts towards "
                f"{service_request.requesting_department.name}'s request quality.",
            )
    else:
        messages.error(request, "Choose how clear and complete the request was (1 to 5).")
    return redirect("requests:detail", pk=request_pk)


# --- results for managers and HR -----------------------------------------------------------


@login_required
def results(request):
    """The departments whose survey results the viewer may see."""
    departments = list(summary_departments_for(request.user))
    if len(departments) == 1:
        return redirect("surveys:results-department", slug=departments[0].slug)
    if not departments:
        return _forbidden(request, "Survey results are for managers and HR.")
    return render(request, "surveys/results_index.html", {"departments": departments})


@login_required
def results_department(request, slug):
    """A department's survey results: response counts and rates, ratings, hire-back; every
    breakdown from fewer than ANONYMITY_MIN answers hidden."""
    department = get_object_or_404(Department, slug=slug)
    access = summary_access(user=request.user, department=department)
    if access is None:
        return _forbidden(request, f"Survey results of {department.name} are for its managers.")
    now = timezone.now()
    current = quarter_containing(now)
    try:
        quarter = summary_quarter(request.GET.get("quarter"), now=now)
    except ValueError as exc:
        messages.error(request, str(exc))
        quarter = current
    summary = department_survey_summary(
        department=department, quarter=quarter, now=now, access=access
    )
    quarters = [current]
    while len(quarters) < 6:
        quarters.append(quarters[-1].previous())
    return render(
        request,
        "surveys/results.html",
        {
            **summary,
            "quarters": quarters,
            "dimensions": DIMENSIONS,
            "anonymity_min": settings.ANONYMITY_MIN,
            "departments": list(summary_departments_for(request.user)),
            "full_access": access == SummaryAccess.FULL,
        },
    )
