"""The surveys API: thin views over the services, with the selectors as gates."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from departments.models import Department
from requests_app.selectors import requests_visible_to

from .. import services
from ..choices import DIMENSIONS
from ..filtersets import RequestSurveyFilterSet
from ..selectors import (
    PULSE_TREND_LENGTH,
    department_pulse,
    department_survey_summary,
    pulse_visible,
    quality_ratings_visible_to,
    relationship_invitations_of,
    request_surveys_visible_to,
    summary_access,
    summary_quarter,
)
from .serializers import (
    PulseAnswerSerializer,
    PulseSerializer,
    RelationshipAnswerResultSerializer,
    RelationshipAnswerSerializer,
    RelationshipInvitationSerializer,
    RequestQualityRateSerializer,
    RequestQualityRatingSerializer,
    RequestQualityTargetSerializer,
    RequestSurveySerializer,
    SummarySerializer,
    SurveyAnswerSerializer,
)


def _validated(serializer_class, request, **kwargs) -> dict:
    """The request body, validated by `serializer_class` (a 400 answers anything else)."""
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class RequestSurveyViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Request surveys you can see: those sent to you (`?mine=true`; answer them with
    `POST /api/v1/surveys/{id}/answer/`), and those of requests to a department you work
    for, with the requester's answer. Others answer 404."""

    serializer_class = RequestSurveySerializer
    filterset_class = RequestSurveyFilterSet
    ordering_fields = ["sent_at", "closes_at"]
    ordering = ["-sent_at"]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return request_surveys_visible_to(self.request.user).order_by("-sent_at", "-id")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    @extend_schema(request=SurveyAnswerSerializer, responses=RequestSurveySerializer)
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        """Answer (`overall` first), or change the answer within 7 days: requester only."""
        survey = self.get_object()
        services.survey_answer_authorize(survey=survey, respondent=request.user)
        values = _validated(SurveyAnswerSerializer, request)
        had_response = hasattr(survey, "response")
        services.survey_answer(
            survey=survey,
            respondent=request.user,
            overall=values.get("overall"),
            ratings={name: values[name] for name in DIMENSIONS if name in values},
            comment=values.get("comment"),
        )
        fresh = self.get_queryset().get(pk=survey.pk)
        return Response(
            self.get_serializer(fresh).data,
            status=status.HTTP_200_OK if had_response else status.HTTP_201_CREATED,
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("department", OpenApiTypes.STR, required=True, description="slug"),
            OpenApiParameter("quarter", OpenApiTypes.STR, description="like 2026-Q3"),
        ],
        responses=SummarySerializer,
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def summary(self, request):
        """A department's survey results: everything for its managers and HR; only its
        request_quality for its other members. Figures from fewer than ANONYMITY_MIN answers
        are null."""
        slug = request.query_params.get("department", "")
        if not slug:
            raise ValidationError({"department": "Give a department slug."})
        department = Department.objects.filter(slug=slug).first()
        if department is None:
            raise Http404
        access = summary_access(user=request.user, department=department)
        if access is None:
            raise PermissionDenied("Survey results are for the department's managers and HR.")
        now = timezone.now()
        try:
            quarter = summary_quarter(request.query_params.get("quarter"), now=now)
        except ValueError as exc:
            raise ValidationError({"quarter": str(exc)}) from exc
        summary = department_survey_summary(
            department=department, quarter=quarter, now=now, access=access
        )
        return Response(SummarySerializer(summary).data)


class RelationshipInvitationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Your invitations to the quarterly relationship survey, with the departments to rate.
    Answer with `POST /api/v1/surveys/relationship/{id}/answer/`; answers are anonymous."""

    serializer_class = RelationshipInvitationSerializer
    lookup_value_regex = r"\d+"
    filterset_class = None
    ordering_fields = ["invited_at"]

    def get_queryset(self):
        return relationship_invitations_of(user=self.request.user)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    @extend_schema(
        request=RelationshipAnswerSerializer, responses={201: RelationshipAnswerResultSerializer}
    )
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        return self._answered(request, RelationshipAnswerSerializer, services.relationship_answer)

    @extend_schema(
        request=PulseAnswerSerializer, responses={201: RelationshipAnswerResultSerializer}
    )
    @action(detail=True, methods=["post"])
    def pulse(self, request, pk=None):
        """Answer the team pulse for your own departments (pulse_items): morale and
        collaboration, 1-5 each, once per department and quarter; anonymous."""
        return self._answered(request, PulseAnswerSerializer, services.pulse_answer)

    def _answered(self, request, serializer_class, answer) -> Response:
        """The invitation's respondent, checked before the body is read; then the answers,
        validated (400 with field errors), recorded by `answer`, and the invitation as it is
        now."""
        invitation = self.get_object()
        services.relationship_answer_authorize(invitation=invitation, respondent=request.user)
        values = _validated(serializer_class, request)
        recorded = answer(
            invitation=invitation,
            respondent=request.user,
            answers=[dict(item) for item in values["answers"]],
        )
        fresh = self.get_queryset().get(pk=invitation.pk)
        return Response(
            {"recorded": recorded, "invitation": self.get_serializer(fresh).data},
            status=status.HTTP_201_CREATED,
        )


class PulseViewSet(viewsets.ViewSet):
    """A department's team pulse: how its own members rate working there (morale) and its
    collaboration with the other departments, per quarter, as released when the quarter's
    survey closes; a figure from fewer than ANONYMITY_MIN answers is null. For the
    department's members and HR only."""

    serializer_class = PulseSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("department", OpenApiTypes.STR, required=True, description="slug"),
            OpenApiParameter(
                "quarter", OpenApiTypes.STR, description="the last quarter, like 2026-Q3"
            ),
        ],
        responses=PulseSerializer,
    )
    def list(self, request):
        slug = request.query_params.get("department", "")
        if not slug:
            raise ValidationError({"department": "Give a department slug."})
        department = Department.objects.filter(slug=slug).first()
        if department is None:
            raise Http404
        if not pulse_visible(user=request.user, department=department):
            raise PermissionDenied("A team pulse is for the department's members and HR.")
        now = timezone.now()
        try:
            last = summary_quarter(request.query_params.get("quarter"), now=now)
        except ValueError as exc:
            raise ValidationError({"quarter": str(exc)}) from exc
        quarters = department_pulse(
            department=department, last=last, length=PULSE_TREND_LENGTH, now=now
        )
        return Response(PulseSerializer({"department": department, "quarters": quarters}).data)


class RequestQualityRatingViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """The provider's ratings of resolved requests (clear and complete; the requester's
    responsiveness), for the provider's agents and managers only. POST rates a request, or
    changes its rating."""

    serializer_class = RequestQualityRatingSerializer
    lookup_value_regex = r"\d+"
    filterset_class = None
    ordering_fields = ["rated_at"]

    def get_queryset(self):
        return quality_ratings_visible_to(self.request.user).order_by("-rated_at", "-id")

    @extend_schema(
        request=RequestQualityRateSerializer,
        responses={200: RequestQualityRatingSerializer, 201: RequestQualityRatingSerializer},
    )
    def create(self, request, *args, **kwargs):
        visible = requests_visible_to(request.user)
        target = _validated(RequestQualityTargetSerializer, request, visible_requests=visible)
        services.request_quality_rate_authorize(request=target["request"], rater=request.user)
        values = _validated(RequestQualityRateSerializer, request, visible_requests=visible)
        had_rating = hasattr(values["request"], "quality_rating")
        rating = services.request_quality_rate(
            request=values["request"],
            rater=request.user,
            clarity=values["clarity"],
            responsiveness=values.get("responsiveness"),
        )
        return Response(
            self.get_serializer(self.get_queryset().get(pk=rating.pk)).data,
            status=status.HTTP_200_OK if had_rating else status.HTTP_201_CREATED,
        )
