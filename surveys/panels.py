"""What surveys add to the request page, answering requests_app.signals.request_page_panels
(requests_app does not import surveys): the survey panel in the main column, the requester's
recent ratings in the sidebar.

Each panel is `(http_request, service_request, user) -> {"template", "context"} | None`.
"""

from django.utils import timezone

from requests_app.selectors import is_provider_staff

from .choices import DIMENSIONS, RATING_LABELS
from .forms import QualityRatingForm
from .models import RequestQualityRating, RequestSurvey
from .selectors import request_survey_status, requester_recent_ratings, response_of
from .services import SURVEYED_STATUSES, survey_editable_until


def request_survey_panel(http_request, service_request, user) -> dict | None:
    """The requester: their survey, to answer in one click or as answered. The provider's
    staff: the rating, and their own rating of the request (two-sided rating). Nobody
    else sees either."""
    is_requester = user.pk == service_request.requester_id
    is_staff = is_provider_staff(user=user, department_id=service_request.provider_department_id)
    if not (is_requester or is_staff):
        return None
    survey = (
        RequestSurvey.objects.select_related("response").filter(request=service_request).first()
    )
    response = response_of(survey)
    now = timezone.now()
    context = {
        "sr": service_request,
        "survey": survey,
        "response": response,
        "status": request_survey_status(survey, now=now) if survey else None,
        "editable_until": survey_editable_until(response) if response else None,
        "is_requester": is_requester,
        "is_staff": is_staff,
        "rating_labels": RATING_LABELS,
        "dimensions": [
            (name, getattr(response, name))
            for name in DIMENSIONS
            if response is not None and getattr(response, name) is not None
        ],
    }
    if is_staff and service_request.status in SURVEYED_STATUSES:
        quality = RequestQualityRating.objects.filter(request=service_request).first()
        context["quality"] = quality
        context["quality_form"] = QualityRatingForm(
            initial={"clarity": quality.clarity, "responsiveness": quality.responsiveness}
            if quality
            else None
        )
    if survey is None and "quality_form" not in context:
        return None
    return {"template": "surveys/panels/request.html", "context": context}


def requester_ratings_panel(http_request, service_request, user) -> dict | None:
    """In the requester sidebar (provider staff only): their last ratings of this department."""
    if not is_provider_staff(user=user, department_id=service_request.provider_department_id):
        return None
    ratings = requester_recent_ratings(
        requester_id=service_request.requester_id,
        provider_department_id=service_request.provider_department_id,
        exclude_request_id=service_request.pk,
    )
    return {
        "template": "surveys/panels/requester_ratings.html",
        "context": {"ratings": ratings, "rating_labels": RATING_LABELS},
    }


PANELS = {"detail": request_survey_panel, "history": requester_ratings_panel}


def panels_for(sender, *, place, http_request, service_request, user, **kwargs) -> dict | None:
    """Receiver of requests_app.signals.request_page_panels: the panel of `place`."""
    panel = PANELS.get(place)
    return panel(http_request, service_request, user) if panel else None
