from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from requests_app.models import ServiceRequest

from ..choices import DIMENSIONS, HireBack, SurveyStatus
from ..models import (
    PulseInvitationItem,
    RelationshipInvitation,
    RelationshipInvitationItem,
    RequestQualityRating,
    RequestSurvey,
    SurveyResponse,
)
from ..selectors import request_survey_status
from ..services import COMMENT_MAX_LENGTH, survey_editable_until


def _rating(**kwargs):
    return serializers.IntegerField(min_value=1, max_value=5, **kwargs)


def _optional_rating():
    return _rating(required=False, allow_null=True)


class SurveyResponseSerializer(serializers.ModelSerializer):
    editable_until = serializers.SerializerMethodField()

    class Meta:
        model = SurveyResponse
        fields = ["overall", *DIMENSIONS, "comment", "answered_at", "updated_at", "editable_until"]

    def get_editable_until(self, response) -> str:
        return serializers.DateTimeField().to_representation(survey_editable_until(response))


class RequestSurveySerializer(serializers.ModelSerializer):
    """A request survey: for its requester (to answer) and the provider's staff (to read)."""

    request = serializers.PrimaryKeyRelatedField(read_only=True)
    reference = serializers.CharField(source="request.reference", read_only=True)
    title = serializers.CharField(source="request.title", read_only=True)
    provider_department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    requesting_department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    requester = serializers.SlugRelatedField(slug_field="username", read_only=True)
    status = serializers.SerializerMethodField()
    response = serializers.SerializerMethodField()

    class Meta:
        model = RequestSurvey
        fields = [
            "id",
            "request",
            "reference",
            "title",
            "provider_department",
            "requesting_department",
            "requester",
            "sent_at",
            "closes_at",
            "status",
            "response",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=SurveyStatus.choices))
    def get_status(self, survey):
        return request_survey_status(survey, now=self.context.get("now") or timezone.now())

    @extend_schema_field(SurveyResponseSerializer(allow_null=True))
    def get_response(self, survey):
        try:
            response = survey.response
        except SurveyResponse.DoesNotExist:
            return None
        return SurveyResponseSerializer(response).data


# An answer to either survey: the fields a subclass declares, then the five optional
# dimensions and a comment. (A comment, not a docstring: the schema would show it for
# subclasses without their own.)
class _DimensionsAnswerSerializer(serializers.Serializer):
    def get_fields(self):
        return {
            **super().get_fields(),
            **{dimension: _optional_rating() for dimension in DIMENSIONS},
            "comment": serializers.CharField(
                required=False, allow_blank=True, max_length=COMMENT_MAX_LENGTH
            ),
        }


class SurveyAnswerSerializer(_DimensionsAnswerSerializer):
    """The first answer needs `overall`; a change within 7 days sends what changes."""

    overall = _rating(required=False)

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError(
                dict.fromkeys(sorted(unknown), "This field cannot be set.")
            )
        return attrs


class RelationshipItemSerializer(serializers.ModelSerializer):
    customer_department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    provider_department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    provider_name = serializers.CharField(source="provider_department.name", read_only=True)
    answered = serializers.SerializerMethodField()

    class Meta:
        model = RelationshipInvitationItem
        fields = ["id", "customer_department", "provider_department", "provider_name", "answered"]

    def get_answered(self, item) -> bool:
        return item.answered_at is not None


class PulseItemSerializer(serializers.ModelSerializer):
    department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    department_name = serializers.CharField(source="department.name", read_only=True)

    class Meta:
        model = PulseInvitationItem
        fields = ["id", "department", "department_name", "answered"]


class RelationshipInvitationSerializer(serializers.ModelSerializer):
    """One's invitation to a quarter's relationship survey, with the departments to rate
    and one's own departments to answer the team pulse for."""

    quarter = serializers.CharField(source="survey.quarter", read_only=True)
    closes_at = serializers.DateTimeField(source="survey.closes_at", read_only=True)
    is_open = serializers.SerializerMethodField()
    items = RelationshipItemSerializer(many=True, read_only=True)
    pulse_items = PulseItemSerializer(many=True, read_only=True)

    class Meta:
        model = RelationshipInvitation
        fields = [
            "id",
            "quarter",
            "invited_at",
            "closes_at",
            "is_open",
            "completed_at",
            "items",
            "pulse_items",
        ]

    def get_is_open(self, invitation) -> bool:
        return invitation.survey.is_open(self.context.get("now") or timezone.now())


class RelationshipAnswerItemSerializer(_DimensionsAnswerSerializer):
    item = serializers.IntegerField(help_text="The id of an item of the invitation.")
    hire_back = serializers.ChoiceField(choices=HireBack.choices)


class RelationshipAnswerSerializer(serializers.Serializer):
    answers = RelationshipAnswerItemSerializer(many=True, allow_empty=False)


class PulseAnswerItemSerializer(serializers.Serializer):
    item = serializers.IntegerField(help_text="The id of a pulse item of the invitation.")
    morale = _rating(help_text="How do you feel about working in this department? 1-5.")
    collaboration = _rating(help_text="How well does it work with the other departments? 1-5.")


class PulseAnswerSerializer(serializers.Serializer):
    answers = PulseAnswerItemSerializer(many=True, allow_empty=False)


class RelationshipAnswerResultSerializer(serializers.Serializer):
    recorded = serializers.IntegerField()
    invitation = RelationshipInvitationSerializer()


class RequestQualityRatingSerializer(serializers.ModelSerializer):
    """The provider's rating of a request: seen by the provider's agents and managers only."""

    request = serializers.PrimaryKeyRelatedField(read_only=True)
    reference = serializers.CharField(source="request.reference", read_only=True)
    provider_department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    requesting_department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    rated_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = RequestQualityRating
        fields = [
            "id",
            "request",
            "reference",
            "provider_department",
            "requesting_department",
            "clarity",
            "responsiveness",
            "rated_by",
            "rated_at",
            "updated_at",
        ]


class RequestQualityTargetSerializer(serializers.Serializer):
    """The request to rate, among those the caller can see: read first, so that who may
    rate it is decided before the ratings are read."""

    request = serializers.PrimaryKeyRelatedField(queryset=ServiceRequest.objects.none())

    def __init__(self, *args, visible_requests=None, **kwargs):
        super().__init__(*args, **kwargs)
        if visible_requests is not None:
            self.fields["request"].queryset = visible_requests


class RequestQualityRateSerializer(RequestQualityTargetSerializer):
    clarity = _rating()
    responsiveness = _optional_rating()


# --- summaries: figures are null when withheld (surveys/disclosure.py) ---------------------


class FigureSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    value = serializers.FloatField(allow_null=True)
    hidden = serializers.BooleanField()


class DimensionFiguresSerializer(serializers.Serializer):
    attitude = FigureSerializer()
    communication = FigureSerializer()
    problem_solving = FigureSerializer()
    timeliness = FigureSerializer()
    teamwork = FigureSerializer()


class RequestSurveyFiguresSerializer(serializers.Serializer):
    sent = serializers.IntegerField(help_text="Surveys sent in the quarter.")
    answered = serializers.IntegerField(help_text="Of those, how many were answered.")
    response_rate = serializers.FloatField(allow_null=True)
    through = serializers.DateField(
        allow_null=True,
        help_text="The figures below hold the answers given up to this day (the months of the "
        "quarter released so far); null before the first month is released.",
    )
    mean_rating = FigureSerializer()
    csat = FigureSerializer()
    dimensions = DimensionFiguresSerializer()


class HireBackSerializer(serializers.Serializer):
    respondents = serializers.IntegerField()
    hidden = serializers.BooleanField()
    yes = serializers.IntegerField(allow_null=True)
    unsure = serializers.IntegerField(allow_null=True)
    no = serializers.IntegerField(allow_null=True)
    score = serializers.FloatField(allow_null=True, help_text="% yes - % no, -100 to 100.")
    dimensions = serializers.DictField(child=FigureSerializer())


class CustomerRowSerializer(serializers.Serializer):
    department = serializers.CharField(source="department.slug", help_text="slug")
    invited = serializers.IntegerField()
    respondents = serializers.IntegerField()
    hidden = serializers.BooleanField()
    figures = HireBackSerializer(allow_null=True)


class RelationshipFiguresSerializer(serializers.Serializer):
    quarter = serializers.CharField(source="survey.quarter")
    closes_at = serializers.DateTimeField(source="survey.closes_at")
    published = serializers.BooleanField(
        help_text="Whether the figures are out: they are released when the survey closes."
    )
    invited = serializers.IntegerField()
    answered = serializers.IntegerField()
    response_rate = serializers.FloatField(allow_null=True)
    overall = HireBackSerializer()
    customers = CustomerRowSerializer(many=True)
    comments = serializers.ListField(child=serializers.CharField())


class RequestQualityFiguresSerializer(serializers.Serializer):
    request_quality = FigureSerializer()
    through = serializers.DateField(
        allow_null=True, help_text="The last day of the ratings it holds (null: none released)."
    )


class ParticipationSerializer(serializers.Serializer):
    invited = serializers.IntegerField()
    answered = serializers.IntegerField()


class SummarySerializer(serializers.Serializer):
    """A department's survey results for a quarter; see the Surveys section of DESIGN.md."""

    department = serializers.CharField(source="department.slug", help_text="slug")
    quarter = serializers.CharField(source="quarter.key")
    request_surveys = RequestSurveyFiguresSerializer(allow_null=True)
    relationship = RelationshipFiguresSerializer(allow_null=True)
    request_quality = RequestQualityFiguresSerializer()
    participation = ParticipationSerializer(allow_null=True)


class PulseDistributionSerializer(serializers.Serializer):
    morale = serializers.DictField(child=serializers.IntegerField(), help_text="1-5 -> answers")
    collaboration = serializers.DictField(
        child=serializers.IntegerField(), help_text="1-5 -> answers"
    )


class PulseFiguresSerializer(serializers.Serializer):
    morale = FigureSerializer()
    collaboration = FigureSerializer()


class PulseQuarterSerializer(serializers.Serializer):
    quarter = serializers.CharField()
    invited = serializers.IntegerField(help_text="Members asked.")
    answered = serializers.IntegerField(help_text="Of those, how many answered.")
    released = serializers.BooleanField(
        help_text="Whether the figures are out: a quarter's are released when its survey "
        "closes, never to date."
    )
    hidden = serializers.BooleanField(help_text="Withheld: fewer than ANONYMITY_MIN answers.")
    figures = PulseFiguresSerializer(help_text="Means 1-5; null until released or when hidden.")
    distributions = PulseDistributionSerializer(allow_null=True)


class PulseSerializer(serializers.Serializer):
    """A department's team pulse, oldest quarter first."""

    department = serializers.CharField(source="department.slug", help_text="slug")
    quarters = PulseQuarterSerializer(many=True)
