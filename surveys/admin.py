"""Admin for surveys. Relationship answers are shown only as counts per survey: even here,
one answer of a small group should not be browsable next to the invitations."""

from django.contrib import admin
from django.db.models import Count

from .models import (
    PulseInvitationItem,
    RelationshipInvitation,
    RelationshipInvitationItem,
    RelationshipSurvey,
    RequestQualityRating,
    RequestSurvey,
    SurveyResponse,
)


class SurveyResponseInline(admin.StackedInline):
    model = SurveyResponse
    extra = 0
    can_delete = True
    readonly_fields = ["answered_at", "updated_at"]


@admin.register(RequestSurvey)
class RequestSurveyAdmin(admin.ModelAdmin):
    list_display = ["request", "requester", "provider_department", "sent_at", "rating"]
    list_filter = ["provider_department", "requesting_department"]
    search_fields = ["requester__username", "request__title"]
    date_hierarchy = "sent_at"
    raw_id_fields = ["request", "requester"]
    inlines = [SurveyResponseInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("request", "requester", "provider_department", "response")
        )

    @admin.display(description="Overall")
    def rating(self, survey):
        response = getattr(survey, "response", None)
        return f"{response.overall}/5" if response else "-"


@admin.register(RequestQualityRating)
class RequestQualityRatingAdmin(admin.ModelAdmin):
    list_display = [
        "request",
        "provider_department",
        "requesting_department",
        "clarity",
        "responsiveness",
        "rated_by",
        "rated_at",
    ]
    list_filter = ["provider_department", "requesting_department"]
    raw_id_fields = ["request", "rated_by"]


@admin.register(RelationshipSurvey)
class RelationshipSurveyAdmin(admin.ModelAdmin):
    list_display = ["quarter", "opened_at", "closes_at", "closed_at", "invited", "answers"]
    readonly_fields = ["period_start", "period_end"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                invited_count=Count("invitations", distinct=True),
                answer_count=Count("answers", distinct=True),
            )
        )

    @admin.display(description="Invited", ordering="invited_count")
    def invited(self, survey):
        return survey.invited_count

    @admin.display(description="Answers", ordering="answer_count")
    def answers(self, survey):
        return survey.answer_count


class RelationshipInvitationItemInline(admin.TabularInline):
    model = RelationshipInvitationItem
    extra = 0
    readonly_fields = ["customer_department", "provider_department", "answered_at"]
    can_delete = False


class PulseInvitationItemInline(admin.TabularInline):
    """Whether the invitee answered the team pulse of a department; the answers themselves
    are not in the admin (like the relationship answers): one by one they are nobody's."""

    model = PulseInvitationItem
    extra = 0
    readonly_fields = ["department", "answered"]
    can_delete = False


@admin.register(RelationshipInvitation)
class RelationshipInvitationAdmin(admin.ModelAdmin):
    list_display = ["user", "survey", "invited_at", "reminders_sent", "completed_at"]
    list_filter = ["survey"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]
    readonly_fields = ["invited_at", "last_reminded_at", "completed_at"]
    inlines = [RelationshipInvitationItemInline, PulseInvitationItemInline]
