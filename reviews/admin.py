from django.contrib import admin

from .models import Review, ReviewAction, ReviewDepartment, ReviewRule, ReviewSection


class ReviewDepartmentInline(admin.TabularInline):
    model = ReviewDepartment
    extra = 0


class ReviewActionInline(admin.TabularInline):
    model = ReviewAction
    extra = 0
    raw_id_fields = ["owner", "confirmed_by", "created_by"]


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["title", "trigger", "provider_department", "customer_department", "state"]
    list_filter = ["trigger", "state"]
    search_fields = ["title", "trigger_key"]
    raw_id_fields = ["opened_by", "closed_by"]
    readonly_fields = ["trigger_key", "confidential"]
    inlines = [ReviewDepartmentInline, ReviewActionInline]


@admin.register(ReviewSection)
class ReviewSectionAdmin(admin.ModelAdmin):
    list_display = ["review", "department", "updated_at"]
    raw_id_fields = ["review", "updated_by"]


@admin.register(ReviewRule)
class ReviewRuleAdmin(admin.ModelAdmin):
    list_display = [
        "department",
        "breach_enabled",
        "breach_share_percent",
        "low_rating_enabled",
        "low_rating_max",
        "blocked_chain_enabled",
        "hire_back_enabled",
    ]
    raw_id_fields = ["updated_by"]
