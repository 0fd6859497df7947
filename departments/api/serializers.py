from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.limits import TEXT_MAX_LENGTH, datetime_error

from ..choices import (
    EscalationAction,
    EscalationAudience,
    EscalationClock,
    EscalationThreshold,
    Priority,
    TargetSource,
)
from ..describe import escalation_audience_text, escalation_threshold_text
from ..escalation import MAX_LEVELS, LevelInput
from ..models import (
    TARGET_MAX,
    Agreement,
    AgreementTarget,
    BusinessCalendar,
    Department,
    EscalationLevel,
    Service,
)
from ..targets import target_choose


class DepartmentSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    calendar = serializers.CharField(source="calendar.name", read_only=True)
    timezone = serializers.CharField(source="calendar.timezone", read_only=True)

    class Meta:
        model = Department
        fields = [
            "id",
            "name",
            "slug",
            "code",
            "parent",
            "is_provider",
            "description",
            "calendar",
            "timezone",
        ]
        read_only_fields = fields


class AppliedTargetSerializer(serializers.Serializer):
    priority = serializers.ChoiceField(choices=Priority.choices)
    first_response_seconds = serializers.IntegerField(help_text="Business seconds.")
    resolution_seconds = serializers.IntegerField(help_text="Business seconds.")
    source = serializers.ChoiceField(
        choices=TargetSource.choices,
        help_text="Where the target comes from (the precedence in README, 'Which target applies').",
    )
    agreement = serializers.IntegerField(
        allow_null=True, help_text="The agreement version whose target it is, if any."
    )


class ServiceSerializer(serializers.ModelSerializer):
    department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    sla_targets = serializers.SerializerMethodField(
        help_text=(
            "For each priority, the targets a request you file now would get: your primary "
            "department's agreement with the provider, else the provider's agreement with "
            "every customer, the service's own target, the department default or the company "
            "fallback (the provider's own people see what every customer gets)."
        )
    )

    class Meta:
        model = Service
        fields = [
            "id",
            "name",
            "description",
            "department",
            "default_priority",
            "active",
            "sla_targets",
        ]
        read_only_fields = fields

    @extend_schema_field(AppliedTargetSerializer(many=True))
    def get_sla_targets(self, service) -> list[dict]:
        candidates = self.context["target_candidates"](service.department_id)
        now = self.context["now"]
        rows = []
        for priority in Priority.values:
            applied = target_choose(candidates, service_id=service.pk, priority=priority, at=now)
            rows.append(
                {
                    "priority": priority,
                    "first_response_seconds": applied.first_response_seconds,
                    "resolution_seconds": applied.resolution_seconds,
                    "source": applied.source,
                    "agreement": applied.agreement_id,
                }
            )
        return AppliedTargetSerializer(rows, many=True).data


# --- escalation levels -----------------------------------------------------------------------


class EscalationLevelSerializer(serializers.ModelSerializer):
    """A level as the API shows it: `value` is percent of the target (threshold `share`) or
    business seconds past due (`overdue`); `description` says it in words."""

    notify = serializers.ListField(
        child=serializers.ChoiceField(choices=EscalationAudience.choices), read_only=True
    )
    assign_to = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    description = serializers.SerializerMethodField()

    class Meta:
        model = EscalationLevel
        fields = [
            "number",
            "clock",
            "threshold",
            "value",
            "notify",
            "action",
            "assign_to",
            "raise_to",
            "description",
        ]
        read_only_fields = fields

    def get_description(self, level) -> str:
        when = escalation_threshold_text(level.threshold, level.value)
        return f"Level {level.number} at {when}: tell {escalation_audience_text(level.notify)}"


class EscalationLevelInputSerializer(serializers.Serializer):
    clock = serializers.ChoiceField(choices=EscalationClock.choices, default=EscalationClock.BOTH)
    threshold = serializers.ChoiceField(choices=EscalationThreshold.choices)
    value = serializers.IntegerField(
        min_value=1,
        max_value=int(TARGET_MAX.total_seconds()),
        help_text="Percent of the target (share), or business seconds past due (overdue).",
    )
    notify = serializers.ListField(
        child=serializers.ChoiceField(choices=EscalationAudience.choices),
        max_length=len(EscalationAudience.values),
        required=False,
    )
    action = serializers.ChoiceField(
        choices=EscalationAction.choices, required=False, allow_blank=True
    )
    assign_to = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        allow_null=True,
    )
    raise_to = serializers.ChoiceField(choices=Priority.choices, required=False, allow_blank=True)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = set(data) - set(self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {name: ["This field cannot be set."] for name in sorted(unknown)}
                )
        return super().to_internal_value(data)


def level_inputs(rows: list[dict]) -> list[LevelInput]:
    """Validated input levels as departments.escalation.LevelInput."""
    return [
        LevelInput(
            threshold=row["threshold"],
            value=row["value"],
            clock=row.get("clock", EscalationClock.BOTH),
            notify=list(row.get("notify", [])),
            action=row.get("action", ""),
            assign_to=row.get("assign_to"),
            raise_to=row.get("raise_to", ""),
        )
        for row in rows
    ]


class EscalationLevelsInputSerializer(serializers.Serializer):
    """The whole set, in order: it replaces the department's levels."""

    levels = EscalationLevelInputSerializer(many=True, max_length=MAX_LEVELS)


class EscalationLevelsSerializer(serializers.Serializer):
    department = serializers.CharField(help_text="The department's slug.")
    default = serializers.BooleanField(
        help_text="True: no levels of its own; the company default warning at 75% applies."
    )
    can_edit = serializers.BooleanField()
    levels = EscalationLevelSerializer(many=True)


# --- agreements ----------------------------------------------------------------------------


class AgreementTargetSerializer(serializers.ModelSerializer):
    service = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="Null: every service of the provider."
    )
    first_response_seconds = serializers.IntegerField(read_only=True)
    resolution_seconds = serializers.IntegerField(read_only=True)

    class Meta:
        model = AgreementTarget
        fields = ["service", "priority", "first_response_seconds", "resolution_seconds"]
        read_only_fields = fields


class AgreementSerializer(serializers.ModelSerializer):
    """A version of an agreement as the API shows it (output only)."""

    provider = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    customer = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True, help_text="Null: every customer."
    )
    label = serializers.CharField(read_only=True)
    calendar = serializers.SlugRelatedField(
        slug_field="name",
        read_only=True,
        allow_null=True,
        help_text="Support hours of its own; null: the provider's calendar.",
    )
    proposed_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    decided_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    superseded_by = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    targets = AgreementTargetSerializer(many=True, read_only=True)
    escalation_levels = EscalationLevelSerializer(
        many=True,
        read_only=True,
        help_text="Levels of this version: for its clocks, in place of the provider's.",
    )
    allowed_actions = serializers.SerializerMethodField(
        help_text="What the caller may do with it now: actions of "
        "POST /api/v1/agreements/{id}/{action}/ (accept, decline, withdraw)."
    )

    class Meta:
        model = Agreement
        fields = [
            "id",
            "label",
            "provider",
            "customer",
            "version",
            "state",
            "valid_from",
            "valid_until",
            "calendar",
            "proposed_side",
            "proposed_by",
            "proposed_at",
            "comment",
            "decided_by",
            "decided_at",
            "decision_comment",
            "effective_from",
            "effective_until",
            "superseded_by",
            "targets",
            "escalation_levels",
            "allowed_actions",
        ]
        read_only_fields = fields

    def get_allowed_actions(self, agreement) -> list[str]:
        from ..agreements import actions_for, standing_on

        context = self.context
        standing = standing_on(
            context["user"], agreement, managed=context["managed"], hr=context["is_hr"]
        )
        return actions_for(agreement, standing, now=context["now"])


class RefusingUnknownFields(serializers.Serializer):
    def to_internal_value(self, data):
        # What the server sets (state, version, proposed_by...) is refused, not ignored.
        if isinstance(data, dict):
            unknown = set(data) - set(self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {name: ["This field cannot be set."] for name in sorted(unknown)}
                )
        return super().to_internal_value(data)


class AgreementPartiesSerializer(serializers.Serializer):
    """The two sides of a proposal: read first, to decide whether the caller may propose."""

    provider = serializers.SlugRelatedField(slug_field="slug", queryset=Department.objects.all())
    customer = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Department.objects.all(),
        allow_null=True,
        help_text="Null: every customer of the provider.",
    )


class AgreementTargetInputSerializer(RefusingUnknownFields):
    service = serializers.PrimaryKeyRelatedField(
        queryset=Service.objects.all(), allow_null=True, help_text="Null: every service."
    )
    priority = serializers.ChoiceField(choices=Priority.choices)
    # The bounds keep a number a duration; what a target may be is the model's to say.
    first_response_seconds = serializers.IntegerField(
        min_value=0, max_value=int(TARGET_MAX.total_seconds()) + 1
    )
    resolution_seconds = serializers.IntegerField(
        min_value=0, max_value=int(TARGET_MAX.total_seconds()) + 1
    )


def _bounded_date(value):
    error = datetime_error(value)
    if error:
        raise serializers.ValidationError(error)
    return value


class AgreementProposeSerializer(AgreementPartiesSerializer, RefusingUnknownFields):
    """A new version of the pair's agreement."""

    valid_from = serializers.DateField(validators=[_bounded_date])
    valid_until = serializers.DateField(
        required=False, allow_null=True, validators=[_bounded_date], help_text="The last day."
    )
    calendar = serializers.SlugRelatedField(
        slug_field="name",
        queryset=BusinessCalendar.objects.all(),
        required=False,
        allow_null=True,
        help_text="Name of a business calendar: support hours of its own.",
    )
    comment = serializers.CharField(max_length=TEXT_MAX_LENGTH, required=False, allow_blank=True)
    targets = AgreementTargetInputSerializer(many=True, max_length=200)
    escalation_levels = EscalationLevelInputSerializer(
        many=True,
        max_length=MAX_LEVELS,
        required=False,
        help_text="Levels for this version's clocks, in place of the provider's (optional).",
    )


class AgreementDecisionSerializer(RefusingUnknownFields):
    comment = serializers.CharField(max_length=TEXT_MAX_LENGTH, required=False, allow_blank=True)
