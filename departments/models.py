import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse

from .choices import (
    AgreementSide,
    AgreementState,
    EscalationAction,
    EscalationAudience,
    EscalationClock,
    EscalationThreshold,
    Priority,
    Role,
    Weekday,
)
from .validators import minutes_of, validate_holiday_country, validate_timezone


class BusinessCalendar(models.Model):
    """When a department works: a timezone, weekly working hours and holidays."""

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    holiday_country = models.CharField(
        max_length=3,
        blank=True,
        validators=[validate_holiday_country],
        help_text="ISO country code whose public holidays are days off (blank: none).",
    )
    holiday_subdivision = models.CharField(
        max_length=10, blank=True, help_text="State or region code, e.g. BY for Bavaria."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        if self.holiday_subdivision and not self.holiday_country:
            raise ValidationError({"holiday_subdivision": "A subdivision needs a country."})
        if self.holiday_country and self.holiday_subdivision:
            import holidays

            known = holidays.list_supported_countries().get(self.holiday_country, [])
            if self.holiday_subdivision not in known:
                raise ValidationError(
                    {
                        "holiday_subdivision": (
                            f"{self.holiday_subdivision} is not a subdivision of "
                            f"{self.holiday_country} (known: {', '.join(known) or 'none'})."
                        )
                    }
                )


class WorkingHours(models.Model):
    """One working interval on a weekday, in the calendar's wall-clock time."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="working_hours"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField(help_text="00:00 means midnight at the end of the day.")

    class Meta:
        ordering = ["calendar", "weekday", "start"]
        verbose_name_plural = "working hours"
        constraints = [
            models.UniqueConstraint(
                fields=["calendar", "weekday", "start"], name="working_hours_unique_start"
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="working_hours_weekday_range"
            ),
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")) | Q(end=datetime.time(0, 0)),
                name="working_hours_end_after_start",
            ),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"

    def clean(self):
        if self.start is not None and self.end is not None:
            start_minutes, end_minutes = minutes_of(self.start, self.end)
            if end_minutes <= start_minutes:
                raise ValidationError({"end": "The interval must end after it starts."})


class Holiday(models.Model):
    """A company day off, added to the country's public holidays."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["calendar", "date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="holiday_unique_date")
        ]

    def __str__(self):
        return f"{self.date} {self.name}"


class Department(models.Model):
    """A unit of the company: provider of services to others and customer of others."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True)
    code = models.CharField(max_length=10, unique=True, help_text="Short code, e.g. IT or FAC.")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.PROTECT, related_name="departments"
    )
    is_provider = models.BooleanField(
        default=True, help_text="Offers services that other departments can request."
    )
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    # Page URLs that share the department's place in /scorecards/<slug>/.
    RESERVED_SLUGS = frozenset({"matrix", "organisation", "new", "queue", "notifications"})

    def clean(self):
        if self.slug in self.RESERVED_SLUGS:
            raise ValidationError(
                {"slug": f"{self.slug!r} is reserved for a page; choose another."}
            )
        # A department may not sit below itself: walk up the tree from the new parent.
        seen = set()
        node = self.parent
        while node is not None:
            if node.pk == self.pk and self.pk is not None:
                raise ValidationError({"parent": "A department cannot be its own ancestor."})
            if node.pk in seen:
                break
            seen.add(node.pk)
            node = node.parent


class Membership(models.Model):
    """A user's place in a department; one membership per user is primary."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    is_primary = models.BooleanField(
        default=False, help_text="The department this user files requests for by default."
    )
    title = models.CharField(max_length=100, blank=True, help_text="Job title, shown to agents.")

    class Meta:
        ordering = ["department", "user"]
        constraints = [
            models.UniqueConstraint(fields=["user", "department"], name="membership_unique"),
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(is_primary=True),
                name="membership_one_primary",
                violation_error_message="A person has one primary department only.",
            ),
        ]

    def __str__(self):
        return f"{self.user} in {self.department} ({self.role})"


class Service(models.Model):
    """Something a provider department offers in its catalog."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="services")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    default_priority = models.CharField(
        max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["department", "name"]
        constraints = [
            models.UniqueConstraint(fields=["department", "name"], name="service_unique_name")
        ]

    def __str__(self):
        return f"{self.department.code}: {self.name}"


class SLATarget(models.Model):
    """Business-time targets for a priority: for one service, or the department's default."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="sla_targets")
    service = models.ForeignKey(
        Service,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sla_targets",
        help_text="Blank: the department's default for services without targets of their own.",
    )
    priority = models.CharField(max_length=10, choices=Priority.choices)
    first_response = models.DurationField(help_text="Business time, e.g. 4:00:00 for 4 hours.")
    resolution = models.DurationField(help_text="Business time, e.g. 16:00:00 for two 8h days.")

    class Meta:
        ordering = ["department", "service", "priority"]
        verbose_name = "SLA target"
        constraints = [
            models.UniqueConstraint(
                fields=["service", "priority"],
                condition=Q(service__isnull=False),
                name="sla_target_unique_service",
            ),
            models.UniqueConstraint(
                fields=["department", "priority"],
                condition=Q(service__isnull=True),
                name="sla_target_unique_default",
            ),
            models.CheckConstraint(
                condition=Q(first_response__gt=datetime.timedelta(0))
                & Q(resolution__gte=models.F("first_response")),
                name="sla_target_positive_ordered",
            ),
        ]

    def __str__(self):
        scope = self.service.name if self.service_id else "default"
        return f"{self.department.code} {scope} {self.priority}"

    def clean(self):
        errors = {}
        if (
            self.service_id
            and self.department_id
            and self.service.department_id != self.department_id
        ):
            errors["service"] = "The service belongs to another department."
        if self.first_response is not None and self.first_response <= datetime.timedelta(0):
            errors["first_response"] = "The first-response target must be positive."
        if (
            self.first_response is not None
            and self.resolution is not None
            and self.resolution < self.first_response
        ):
            errors["resolution"] = "Resolution cannot be due before the first response."
        if errors:
            raise ValidationError(errors)

    @property
    def first_response_seconds(self) -> int:
        return int(self.first_response.total_seconds())

    @property
    def resolution_seconds(self) -> int:
        return int(self.resolution.total_seconds())


class CalendarVersion(models.Model):
    """An immutable copy of a calendar's rules, shared by every clock started under it.

    Clocks keep the version they started with, so editing a calendar's hours or holidays
    later never rewrites past clocks. Identical rules share one row (by digest).
    """

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.PROTECT, related_name="versions"
    )
    digest = models.CharField(max_length=64)
    timezone = models.CharField(max_length=64)
    holiday_country = models.CharField(max_length=3, blank=True)
    holiday_subdivision = models.CharField(max_length=10, blank=True)
    hours = models.JSONField(help_text='[[weekday, "HH:MM", "HH:MM"], ...]')
    custom_holidays = models.JSONField(help_text='["YYYY-MM-DD", ...]')
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["calendar", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "digest"], name="calendar_version_unique")
        ]

    def __str__(self):
        return f"{self.calendar} @ {self.digest[:8]}"


# The longest target an agreement may set: a year of 24-hour business days. Beyond it a
# number is a typo, and a clock's target must fit its column.
TARGET_MAX = datetime.timedelta(hours=24 * 366)
TARGET_MIN = datetime.timedelta(minutes=1)


class Agreement(models.Model):
    """One version of what a provider promises a customer department (or every customer).

    Proposed by a manager of one side, accepted or declined by a manager of the other
    (departments.agreements decides who may); only accepted versions apply, to requests filed
    from `effective_from` until `effective_until`. A change is a new version of the pair:
    accepting it supersedes the versions before it, whose clocks keep their targets.
    """

    provider = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="agreements_given"
    )
    customer = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="agreements_received",
        help_text="Blank: every customer of the provider.",
    )
    version = models.PositiveIntegerField()
    state = models.CharField(
        max_length=12, choices=AgreementState.choices, default=AgreementState.PROPOSED
    )
    valid_from = models.DateField(help_text="The first day it may apply.")
    valid_until = models.DateField(
        null=True, blank=True, help_text="The last day it applies (blank: until replaced)."
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="agreements",
        help_text="Support hours of its own (blank: the provider's calendar).",
    )
    proposed_side = models.CharField(max_length=10, choices=AgreementSide.choices)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    proposed_at = models.DateTimeField()
    comment = models.TextField(blank=True, help_text="Why it is proposed.")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)
    # Set when it is accepted: it applies to requests filed in [effective_from,
    # effective_until); a later accepted version closes the window of the earlier ones.
    effective_from = models.DateTimeField(null=True, blank=True, editable=False)
    effective_until = models.DateTimeField(null=True, blank=True, editable=False)
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["provider", "customer", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "customer", "version"],
                condition=Q(customer__isnull=False),
                name="agreement_unique_version",
            ),
            models.UniqueConstraint(
                fields=["provider", "version"],
                condition=Q(customer__isnull=True),
                name="agreement_unique_version_all",
            ),
            # One proposal at a time per pair: the other side answers one question.
            models.UniqueConstraint(
                fields=["provider", "customer"],
                condition=Q(state="proposed", customer__isnull=False),
                name="agreement_one_proposal",
            ),
            models.UniqueConstraint(
                fields=["provider"],
                condition=Q(state="proposed", customer__isnull=True),
                name="agreement_one_proposal_all",
            ),
            models.CheckConstraint(
                condition=~Q(customer=models.F("provider")), name="agreement_two_sides"
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="agreement_valid_ordered",
            ),
        ]
        indexes = [
            # The look-up when a clock starts: the accepted versions of a provider.
            models.Index(
                fields=["provider", "customer", "effective_from"],
                condition=Q(effective_from__isnull=False),
                name="agreement_effective_idx",
            )
        ]

    def __str__(self):
        return self.label

    def get_absolute_url(self) -> str:
        return reverse("departments:agreement", args=[self.provider.slug, self.pk])

    @property
    def label(self) -> str:
        """ "Sales-IT agreement v3", or "IT agreement with every customer v2"."""
        if self.customer_id is None:
            return f"{self.provider.name} agreement with every customer v{self.version}"
        return f"{self.customer.name}-{self.provider.name} agreement v{self.version}"

    @property
    def customer_name(self) -> str:
        return self.customer.name if self.customer_id else "every customer"

    def clean(self):
        errors = {}
        if self.customer_id is not None and self.customer_id == self.provider_id:
            errors["customer"] = "A department has no agreement with itself."
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            errors["valid_until"] = "The agreement cannot end before it starts."
        if errors:
            raise ValidationError(errors)


class AgreementTarget(models.Model):
    """An agreement's targets for a priority: for one service, or every service it covers."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="targets")
    service = models.ForeignKey(
        Service,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="agreement_targets",
        help_text="Blank: every service of the provider.",
    )
    priority = models.CharField(max_length=10, choices=Priority.choices)
    first_response = models.DurationField(help_text="Business time.")
    resolution = models.DurationField(help_text="Business time.")

    class Meta:
        ordering = ["agreement", "service", "priority"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "service", "priority"],
                condition=Q(service__isnull=False),
                name="agreement_target_unique_service",
            ),
            models.UniqueConstraint(
                fields=["agreement", "priority"],
                condition=Q(service__isnull=True),
                name="agreement_target_unique_all",
            ),
            models.CheckConstraint(
                condition=Q(first_response__gt=datetime.timedelta(0))
                & Q(resolution__gte=models.F("first_response")),
                name="agreement_target_positive_ordered",
            ),
        ]

    def __str__(self):
        scope = self.service.name if self.service_id else "every service"
        return f"{self.agreement} {scope} {self.priority}"

    def clean(self):
        errors = {}
        if (
            self.service_id
            and self.agreement_id
            and self.service.department_id != self.agreement.provider_id
        ):
            errors["service"] = "The service belongs to another department."
        for name in ("first_response", "resolution"):
            value = getattr(self, name)
            if value is not None and value < TARGET_MIN:
                errors[name] = "A target is at least a business minute."
            elif value is not None and value > TARGET_MAX:
                errors[name] = "A target is at most 8784 business hours (a year)."
        if (
            "resolution" not in errors
            and self.first_response is not None
            and self.resolution is not None
            and self.resolution < self.first_response
        ):
            errors["resolution"] = "Resolution cannot be due before the first response."
        if errors:
            raise ValidationError(errors)

    @property
    def first_response_seconds(self) -> int:
        return int(self.first_response.total_seconds())

    @property
    def resolution_seconds(self) -> int:
        return int(self.resolution.total_seconds())


class EscalationLevel(models.Model):
    """One step of a department's (or an agreement version's) escalation: when a clock has
    used a share of its target, or run a business time past due, tell these people and
    optionally act (assign, raise the priority).

    A clock copies the levels that apply when it starts (requests_app.escalation), as it
    copies its target: editing levels later changes the clocks started afterwards, never
    what a running clock has fired or will fire. An agreement version's levels, if it has
    any, replace its provider's for the clocks under it; a department without levels keeps
    the company default (a warning at 75% to settings.SLA_NOTIFY["warning"]).
    """

    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="escalation_levels"
    )
    agreement = models.ForeignKey(
        "Agreement",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="escalation_levels",
        help_text="Blank: the department's own levels.",
    )
    number = models.PositiveSmallIntegerField(help_text="Levels fire in this order, from 1.")
    clock = models.CharField(
        max_length=20, choices=EscalationClock.choices, default=EscalationClock.BOTH
    )
    threshold = models.CharField(max_length=10, choices=EscalationThreshold.choices)
    # Percent of the target (share), or business seconds past due (overdue).
    value = models.PositiveIntegerField()
    notify = models.JSONField(default=list, blank=True, help_text="Audiences (see choices).")
    action = models.CharField(
        max_length=20, choices=EscalationAction.choices, default=EscalationAction.NONE, blank=True
    )
    assign_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    raise_to = models.CharField(
        max_length=10,
        choices=Priority.choices,
        blank=True,
        help_text="The priority a request is raised to, if it is lower.",
    )

    class Meta:
        ordering = ["department", "agreement", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["department", "number"],
                condition=Q(agreement__isnull=True),
                name="escalation_level_unique_department",
            ),
            models.UniqueConstraint(
                fields=["agreement", "number"],
                condition=Q(agreement__isnull=False),
                name="escalation_level_unique_agreement",
            ),
            models.CheckConstraint(condition=Q(value__gt=0), name="escalation_level_positive"),
        ]

    def __str__(self):
        return f"{self.department} level {self.number}"

    def clean(self):
        errors = {}
        if self.threshold == EscalationThreshold.SHARE and not 1 <= (self.value or 0) <= 100:
            errors["value"] = "A share of the target is from 1 to 100 percent."
        if self.threshold == EscalationThreshold.OVERDUE and not (
            60 <= (self.value or 0) <= TARGET_MAX.total_seconds()
        ):
            errors["value"] = "Past due is at least a business minute and at most a year."
        notify = self.notify if isinstance(self.notify, list) else None
        if notify is None or any(a not in EscalationAudience.values for a in notify):
            errors["notify"] = "Choose from: " + ", ".join(EscalationAudience.values) + "."
        elif len(set(notify)) != len(notify):
            errors["notify"] = "Each audience once."
        # Whether the person works for the department is departments.escalation's to say:
        # the org import asks before it has saved the memberships.
        if self.action == EscalationAction.ASSIGN:
            if self.assign_to_id is None and getattr(self, "assign_to", None) is None:
                errors["assign_to"] = "Whom to assign to."
        elif self.assign_to_id is not None:
            errors["assign_to"] = "Only an assign action names a person."
        if self.action == EscalationAction.RAISE_PRIORITY and not self.raise_to:
            errors["raise_to"] = "Which priority to raise to."
        elif self.action != EscalationAction.RAISE_PRIORITY and self.raise_to:
            errors["raise_to"] = "Only a raise action names a priority."
        if not notify and not self.action and "notify" not in errors:
            errors["notify"] = "A level tells someone or acts."
        if errors:
            raise ValidationError(errors)
