from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from .models import (
    Agreement,
    AgreementTarget,
    BusinessCalendar,
    Department,
    EscalationLevel,
    Holiday,
    Membership,
    Service,
    SLATarget,
    WorkingHours,
)
from .validators import validate_working_hours


class WorkingHoursFormSet(forms.BaseInlineFormSet):
    """Refuse overlapping intervals across the rows of one calendar."""

    def clean(self):
        super().clean()
        rows = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or form.errors:
                continue
            if data.get("weekday") is None or not data.get("start") or data.get("end") is None:
                continue
            rows.append((data["weekday"], data["start"], data["end"]))
        try:
            validate_working_hours(rows)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    formset = WorkingHoursFormSet
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone", "holiday_country", "holiday_subdivision"]
    search_fields = ["name"]
    inlines = [WorkingHoursInline, HolidayInline]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class SLATargetInline(admin.TabularInline):
    model = SLATarget
    extra = 0
    fields = ["service", "priority", "first_response", "resolution"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Only the department's own services can carry its targets.
        if db_field.name == "service":
            department_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = Service.objects.filter(department_id=department_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "slug", "parent", "calendar", "is_provider"]
    list_filter = ["is_provider", "calendar"]
    search_fields = ["name", "code", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["parent", "calendar"]
    inlines = [MembershipInline, SLATargetInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "department", "role", "is_primary", "title"]
    list_filter = ["role", "department"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "department__name"]
    autocomplete_fields = ["user", "department"]
    list_select_related = ["user", "department"]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "department", "default_priority", "active"]
    list_filter = ["active", "department"]
    search_fields = ["name", "department__name"]
    list_select_related = ["department"]


@admin.register(SLATarget)
class SLATargetAdmin(admin.ModelAdmin):
    list_display = ["department", "service", "priority", "first_response", "resolution"]
    list_filter = ["department", "priority"]
    list_select_related = ["department", "service"]


class AgreementTargetInline(admin.TabularInline):
    model = AgreementTarget
    extra = 0
    fields = ["service", "priority", "first_response", "resolution"]


@admin.register(Agreement)
class AgreementAdmin(admin.ModelAdmin):
    """Read only: agreements are proposed and answered by the two sides' managers (the
    agreement pages, the API, the org import), and clocks point at the versions they
    started under, so nothing here may change or delete one."""

    list_display = ["__str__", "provider", "customer", "state", "valid_from", "effective_from"]
    list_filter = ["state", "provider"]
    list_select_related = ["provider", "customer"]
    inlines = [AgreementTargetInline]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(EscalationLevel)
class EscalationLevelAdmin(admin.ModelAdmin):
    """Read only: a set of levels has rules across its rows (departments.escalation), kept
    by the department's escalation page, the API and the org import, which replace a set
    whole."""

    list_display = ["department", "agreement", "number", "clock", "threshold", "value", "action"]
    list_filter = ["department", "threshold", "action"]
    list_select_related = ["department", "agreement"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
