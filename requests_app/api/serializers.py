from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.limits import MAX_ID, TEXT_MAX_LENGTH
from departments.choices import Priority, TargetSource
from departments.models import Department, Service

from ..live import current_clocks
from ..models import Attachment, Comment, Notification, RequestEvent, ServiceRequest
from ..workflow import promise_day, request_actions_for


class ClockSerializer(serializers.Serializer):
    target_seconds = serializers.IntegerField()
    due_at = serializers.DateTimeField(allow_null=True)
    used_seconds = serializers.IntegerField()
    state = serializers.ChoiceField(choices=["running", "paused", "met", "breached", "stopped"])
    warned_at = serializers.DateTimeField(allow_null=True)
    breached_at = serializers.DateTimeField(allow_null=True)
    target_source = serializers.ChoiceField(
        choices=TargetSource.choices,
        allow_blank=True,
        help_text=(
            "Where the target came from when the clock started, most specific first: an "
            "agreement with the customer (for the service, or all services), an agreement "
            "with every customer, the service's target, the department's default, the "
            "company fallback. Blank for clocks started before this was recorded."
        ),
    )
    agreement = serializers.IntegerField(
        allow_null=True,
        help_text=(
            "The agreement version whose target the clock follows (GET /api/v1/agreements/"
            "{id}/ shows its terms to the two sides' managers and HR); null when no agreement "
            "applied."
        ),
    )


class ClocksSerializer(serializers.Serializer):
    first_response = ClockSerializer(allow_null=True)
    resolution = ClockSerializer(allow_null=True)


class RequestSerializer(serializers.ModelSerializer):
    """A request as the API shows it (output only)."""

    reference = serializers.CharField(read_only=True)
    provider_department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    requesting_department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    requester = serializers.SlugRelatedField(slug_field="username", read_only=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    blocked_by = serializers.SerializerMethodField()
    clocks = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField(
        help_text=(
            "What the caller may do with the request now (the buttons its page shows): "
            "action names of POST /api/v1/requests/{id}/{action}/, plus `comment` and `note` "
            "(POST comments, internal false or true) and `attach` (POST attachments)."
        )
    )

    class Meta:
        model = ServiceRequest
        fields = [
            "id",
            "reference",
            "status",
            "priority",
            "service",
            "provider_department",
            "requesting_department",
            "requester",
            "assignee",
            "title",
            "description",
            "confidential",
            "promised_at",
            "created_at",
            "first_responded_at",
            "resolved_at",
            "closed_at",
            "blocked_by",
            "clocks",
            "allowed_actions",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_blocked_by(self, request) -> list[int]:
        links = getattr(request, "all_links", None)
        if links is None:
            links = request.links.all()
        return [link.blocked_by_id for link in links if link.ended_at is None]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowed_actions(self, request) -> list[str]:
        return request_actions_for(self.context["user"], request, now=self.context["now"])

    @extend_schema_field(ClocksSerializer)
    def get_clocks(self, request) -> dict:
        clocks = current_clocks(request, now=self.context.get("now"))
        return {
            kind: clocks[kind].as_api() if kind in clocks else None
            for kind in ("first_response", "resolution")
        }


class RequestCreateSerializer(serializers.Serializer):
    """What a requester gives when filing; the server sets everything else."""

    service = serializers.PrimaryKeyRelatedField(
        queryset=Service.objects.filter(active=True, department__is_provider=True)
    )
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=TEXT_MAX_LENGTH)
    confidential = serializers.BooleanField(default=False)
    requesting_department = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Department.objects.all(),
        required=False,
        help_text="Defaults to your primary department.",
    )

    def validate(self, attrs):
        # Anything else (requester, status, provider_department...) is refused, not ignored.
        # `files` is the multipart upload the view hands to the service, not a field here.
        unknown = set(self.initial_data) - set(self.fields) - {"files"}
        if unknown:
            raise serializers.ValidationError(
                dict.fromkeys(sorted(unknown), "This field cannot be set.")
            )
        return attrs


class CommentSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    attachments = serializers.SerializerMethodField()

    class Meta:
        model = Comment
        fields = ["id", "author", "body", "internal", "created_at", "attachments"]
        read_only_fields = fields

    def get_attachments(self, comment) -> list[int]:
        return [a.pk for a in comment.attachments.all()]


class CommentCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=TEXT_MAX_LENGTH)
    internal = serializers.BooleanField(default=False)


class AttachmentSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = [
            "id",
            "original_name",
            "content_type",
            "size",
            "uploaded_by",
            "created_at",
            "comment",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, attachment) -> str:
        from django.urls import reverse

        return reverse("requests:attachment", args=[attachment.request_id, attachment.pk])


class AttachmentCreateSerializer(serializers.Serializer):
    file = serializers.FileField()


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    department = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = RequestEvent
        fields = ["id", "kind", "actor", "department", "created_at", "data"]
        read_only_fields = fields


class AssignSerializer(serializers.Serializer):
    assignee = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_active=True),
        allow_null=True,
    )


class CommentOptionalSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=TEXT_MAX_LENGTH, required=False, allow_blank=True)


@extend_schema_field(
    {
        "oneOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
        "description": "A day (kept by delivering any time that day in the provider's "
        "timezone) or an exact moment.",
    }
)
class DayOrMomentField(serializers.DateTimeField):
    def to_internal_value(self, value):
        try:
            day = promise_day(value)
        except ValueError:
            self.fail("invalid", format="YYYY-MM-DD")
        return day if day is not None else super().to_internal_value(value)


class PromiseSerializer(serializers.Serializer):
    promised_at = DayOrMomentField()


class TransferSerializer(serializers.Serializer):
    department = serializers.SlugRelatedField(slug_field="slug", queryset=Department.objects.all())
    service = serializers.PrimaryKeyRelatedField(
        queryset=Service.objects.all(), required=False, allow_null=True
    )


class PrioritySerializer(serializers.Serializer):
    priority = serializers.ChoiceField(choices=Priority.choices)


class BlockSerializer(serializers.Serializer):
    blocked_by = serializers.IntegerField(help_text="Id of the blocking request.")


class NotificationSerializer(serializers.ModelSerializer):
    request = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    reference = serializers.SerializerMethodField()
    link = serializers.SerializerMethodField(
        help_text="The page where it is handled: the request's, or (an agreement's step) the "
        "agreement's. A path on this site."
    )

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "message",
            "request",
            "reference",
            "link",
            "created_at",
            "read_at",
        ]
        read_only_fields = fields

    def get_reference(self, notification) -> str | None:
        return notification.request.reference if notification.request_id else None

    def get_link(self, notification) -> str | None:
        return notification.get_absolute_url() or None


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False
    )
