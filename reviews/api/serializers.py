"""Input and output of the reviews API: separate serializers, as in departments/api."""

from django.contrib.auth import get_user_model
from rest_framework import serializers

from core.limits import TEXT_MAX_LENGTH
from departments.models import Department

from ..choices import Factor
from ..models import Review, ReviewAction, ReviewDepartment, ReviewSection


class ReviewDepartmentSerializer(serializers.ModelSerializer):
    department = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = ReviewDepartment
        fields = ["department", "side"]
        read_only_fields = fields


class ReviewSectionSerializer(serializers.ModelSerializer):
    department = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = ReviewSection
        fields = [
            "department",
            "what_happened",
            "went_well",
            "went_wrong",
            "contributing_factors",
            "factors",
            "updated_at",
        ]
        read_only_fields = fields


class ReviewActionSerializer(serializers.ModelSerializer):
    owner_department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    confirmed_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = ReviewAction
        fields = [
            "id",
            "review",
            "title",
            "owner_department",
            "owner",
            "due_on",
            "state",
            "dropped_reason",
            "done_at",
            "confirmed_by",
            "confirmed_at",
            "created_at",
        ]
        read_only_fields = fields


class ReviewSerializer(serializers.ModelSerializer):
    provider_department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    customer_department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    departments = ReviewDepartmentSerializer(source="review_departments", many=True, read_only=True)
    open_actions = serializers.IntegerField(read_only=True)

    class Meta:
        model = Review
        fields = [
            "id",
            "trigger",
            "title",
            "state",
            "provider_department",
            "customer_department",
            "period",
            "confidential",
            "departments",
            "opened_at",
            "closed_at",
            "open_actions",
        ]
        read_only_fields = fields


class ReviewDetailSerializer(ReviewSerializer):
    """A review with its requests, sections, actions, and what the caller may do."""

    requests = serializers.SerializerMethodField()
    sections = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()

    class Meta(ReviewSerializer.Meta):
        fields = [
            *ReviewSerializer.Meta.fields,
            "requests",
            "sections",
            "actions",
            "allowed_actions",
        ]
        read_only_fields = fields

    def get_requests(self, review) -> list[int]:
        return sorted(review.review_requests.values_list("request_id", flat=True))

    def get_sections(self, review) -> list[dict]:
        from ..selectors import review_sections

        return ReviewSectionSerializer(review_sections(review), many=True).data

    def get_actions(self, review) -> list[dict]:
        from ..selectors import review_actions

        return ReviewActionSerializer(review_actions(review), many=True).data

    def get_allowed_actions(self, review) -> list[str]:
        from ..rules import allowed_for, standing_on

        return allowed_for(standing_on(self.context["request"].user, review), review)


class ReviewOpenSerializer(serializers.Serializer):
    """Open a review by hand: on `requests` (ids), or on a pair and a quarter."""

    requests = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=50
    )
    provider = serializers.SlugRelatedField(
        slug_field="slug", queryset=Department.objects.all(), required=False
    )
    customer = serializers.SlugRelatedField(
        slug_field="slug", queryset=Department.objects.all(), required=False
    )
    period = serializers.CharField(required=False, max_length=7, allow_blank=True)


class SectionWriteSerializer(serializers.Serializer):
    department = serializers.SlugRelatedField(slug_field="slug", queryset=Department.objects.all())
    what_happened = serializers.CharField(
        required=False, allow_blank=True, max_length=TEXT_MAX_LENGTH
    )
    went_well = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX_LENGTH)
    went_wrong = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX_LENGTH)
    contributing_factors = serializers.CharField(
        required=False, allow_blank=True, max_length=TEXT_MAX_LENGTH
    )
    factors = serializers.ListField(
        child=serializers.ChoiceField(choices=Factor.choices), required=False, max_length=10
    )


class ActionAddSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    owner_department = serializers.SlugRelatedField(
        slug_field="slug", queryset=Department.objects.all()
    )
    owner = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.filter(is_active=True)
    )
    due_on = serializers.DateField()


class ActionUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    owner = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
    )
    due_on = serializers.DateField(required=False)


class ActionDropSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=TEXT_MAX_LENGTH)


RULE_FIELDS = [
    "breach_enabled",
    "breach_share_percent",
    "low_rating_enabled",
    "low_rating_max",
    "blocked_chain_enabled",
    "hire_back_enabled",
]


class ReviewRuleSerializer(serializers.ModelSerializer):
    """A department's review rules (the defaults until a manager first saves them), and
    whether the caller may change them."""

    department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    updated_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    can_edit = serializers.SerializerMethodField()

    class Meta:
        from ..models import ReviewRule

        model = ReviewRule
        fields = ["department", *RULE_FIELDS, "updated_by", "updated_at", "can_edit"]
        read_only_fields = fields

    def get_can_edit(self, rule) -> bool:
        return bool(self.context.get("can_edit"))


class ReviewRuleInputSerializer(serializers.ModelSerializer):
    """The rules to change; those left out stay as they are."""

    class Meta:
        from ..models import ReviewRule

        model = ReviewRule
        fields = RULE_FIELDS
        extra_kwargs = {name: {"required": False} for name in RULE_FIELDS}
