import re

from django.conf import settings
from django.db import models
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.urls import reverse

from core.markdown import stored_html
from departments.choices import Priority, TargetSource
from departments.models import Agreement, CalendarVersion, Department, Service

from .choices import OPEN_STATUSES, ClockKind, ClockState, EventKind, NotificationKind, Status

REFERENCE_PATTERN = re.compile(r"^REQ-(\d{6,})$", re.IGNORECASE)


# Priorities in order of urgency, for sorting: `low` 0 to `urgent` 3 (their names would sort
# high, low, normal, urgent).
PRIORITY_RANK = Case(
    When(priority=Priority.LOW, then=Value(0)),
    When(priority=Priority.NORMAL, then=Value(1)),
    When(priority=Priority.HIGH, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)


def reference_for(pk: int) -> str:
    return f"REQ-{pk:06d}"


def pk_from_reference(reference: str) -> int | None:
    """`REQ-000123` -> 123; None for anything that is not a reference."""
    match = REFERENCE_PATTERN.match(reference.strip())
    return int(match.group(1)) if match else None


class ServiceRequest(models.Model):
    """A request from one department to another, worked against SLA clocks."""

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requests_filed"
    )
    requesting_department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="requests_filed"
    )
    provider_department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="requests_received"
    )
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="requests")
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    title = models.CharField(max_length=200)
    description = models.TextField(help_text="Markdown.")
    # The description as sanitised HTML (core.markdown.render_markdown), written with it by
    # the lifecycle: pages show this and never render.
    description_html = models.TextField(blank=True, editable=False)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.NEW)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="requests_assigned",
    )
    confidential = models.BooleanField(
        default=False,
        help_text="Only you and the provider's agents and managers can see it.",
    )
    promised_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    first_responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    # A promise of a day ("promised Friday"): `promised_at` is then its last instant in the
    # provider's timezone, and pages show the day.
    promised_day = models.DateField(null=True, blank=True)
    # A copy of the current resolution clock's `due_at`, written with the clock: queues sort
    # by it, and reading it from the clocks would cost a look-up per request of the queue.
    resolution_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The earliest due time of a current clock still running or breached (clocks.
    # request_due_times): a request is breached when it is past, which a queue can count
    # from an index instead of testing every request's clocks.
    sla_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    blocked_by = models.ManyToManyField(
        "self",
        through="RequestLink",
        through_fields=("request", "blocked_by"),
        symmetrical=False,
        related_name="blocking",
        blank=True,
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["provider_department", "status"], name="request_queue_idx"),
            # A department's requests newest (or oldest) first: the API's default order and
            # the queue's date sorts read one page of it instead of sorting the department.
            models.Index(
                fields=["provider_department", "-created_at"], name="request_provider_created_idx"
            ),
            models.Index(fields=["requester", "-created_at"], name="request_requester_idx"),
            models.Index(
                fields=["requesting_department", "-created_at"], name="request_customer_idx"
            ),
            models.Index(fields=["assignee", "status"], name="request_assignee_idx"),
            # A department's open requests in queue order (soonest due first; PostgreSQL puts
            # nulls last in ascending order, as the queue does): the queue's first pages and
            # its count read this index alone, whatever the history.
            models.Index(
                F("provider_department"),
                F("resolution_due_at"),
                F("created_at"),
                F("id"),
                name="request_open_due_idx",
                condition=Q(status__in=OPEN_STATUSES),
            ),
            # The same order over a department's whole history (the queue with any status):
            # a page of this index instead of a sort of every request it ever had.
            models.Index(
                F("provider_department"),
                F("resolution_due_at"),
                F("created_at"),
                F("id"),
                name="request_due_idx",
            ),
            models.Index(
                fields=["provider_department", "sla_due_at"],
                name="request_open_sla_idx",
                condition=Q(status__in=OPEN_STATUSES),
            ),
            # A department's open requests by urgency (the API's `?ordering=priority`, either
            # way round): a page of this index instead of a sort of the whole backlog.
            models.Index(
                F("provider_department"),
                PRIORITY_RANK,
                F("id"),
                name="request_open_priority_idx",
                condition=Q(status__in=OPEN_STATUSES),
            ),
        ]

    def __str__(self):
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return reference_for(self.pk) if self.pk else "REQ-new"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def description_markup(self):
        """The stored HTML of the description, for templates."""
        return stored_html(self.description_html)


class SLAClock(models.Model):
    """One of a request's two clocks, with one department.

    The fields below `used_seconds` are a cache of `clocks.compute_clock` over the request's
    events; `rebuild_clocks` recomputes them. A transfer stops the current clocks and starts
    new ones for the receiving department, so the time with each department stays its own,
    counted under the service and priority that department held the request as.
    """

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="clocks")
    kind = models.CharField(max_length=20, choices=ClockKind.choices)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="clocks")
    # The request's service while this department held it (clocks.clocks_start_fields): a
    # transfer changes the request's, never this, so the scorecards' "by service" of a
    # department lists its own services. Null only for a clock of a hold that migration 0013
    # could not tell the service of (renamed or deleted since the transfer).
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.PROTECT, related_name="clocks"
    )
    # The priority whose target the clock follows: the request's when it started, then each
    # priority change while the department holds it, as `target_seconds` (clock_refresh).
    priority = models.CharField(max_length=10, choices=Priority.choices)
    is_current = models.BooleanField(default=True)
    # Copied when the clock starts: later edits of targets or calendars never rewrite it.
    calendar_version = models.ForeignKey(
        CalendarVersion, on_delete=models.PROTECT, related_name="+"
    )
    target_seconds = models.PositiveIntegerField()
    # Where the target came from (departments.targets), copied with it: the request page
    # says "4 business hours under the Sales-IT agreement v3". Blank on clocks started
    # before agreements existed.
    target_source = models.CharField(max_length=24, choices=TargetSource.choices, blank=True)
    agreement = models.ForeignKey(
        Agreement, null=True, blank=True, on_delete=models.PROTECT, related_name="clocks"
    )
    started_at = models.DateTimeField()
    # The cache of compute_clock.
    state = models.CharField(max_length=10, choices=ClockState.choices, default=ClockState.RUNNING)
    used_seconds = models.PositiveIntegerField(default=0)
    running_since = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # When a transfer or a cancellation ended the clock uncompleted (clocks.compute_clock).
    stopped_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    # Not part of the cache: set once by the scanner when it has notified.
    warning_notified_at = models.DateTimeField(null=True, blank=True)
    breach_notified_at = models.DateTimeField(null=True, blank=True)
    # The escalation levels this clock follows, copied when it started (escalation.py):
    # empty keeps the default warning. `escalation_level` counts those fired (set by the
    # scanner, only ever up); `next_escalation_at` is when the next one is due, cached with
    # the clock's figures (clock_refresh).
    escalation_levels = models.JSONField(default=list, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    next_escalation_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["request", "started_at", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "kind"], condition=Q(is_current=True), name="clock_one_current"
            ),
        ]
        indexes = [
            # The scanner's questions: which running clocks passed 75% or 100%? (A clock
            # that has ended, completed or stopped, is not in the second: its breach is
            # told within the lookback, by the last two.)
            models.Index(
                fields=["warn_at"],
                condition=Q(state="running", warning_notified_at__isnull=True),
                name="clock_warn_scan_idx",
            ),
            models.Index(
                fields=["due_at"],
                condition=Q(
                    state__in=["running", "breached"],
                    breach_notified_at__isnull=True,
                    completed_at__isnull=True,
                    stopped_at__isnull=True,
                ),
                name="clock_open_breach_scan_idx",
            ),
            # ...which were completed late since it last ran, their breach never told?
            models.Index(
                fields=["completed_at"],
                condition=Q(
                    state="breached",
                    breach_notified_at__isnull=True,
                    completed_at__isnull=False,
                ),
                name="clock_late_scan_idx",
            ),
            # ...and which fell due, then stopped (transferred, cancelled) since it last ran?
            models.Index(
                fields=["stopped_at"],
                condition=Q(
                    state="breached",
                    breach_notified_at__isnull=True,
                    stopped_at__isnull=False,
                ),
                name="clock_stopped_scan_idx",
            ),
            # ...and which current clocks have an escalation level due? Only clocks with one
            # ahead are in it (a retired clock has none: clock_refresh).
            models.Index(
                fields=["next_escalation_at"],
                condition=Q(next_escalation_at__isnull=False, is_current=True),
                name="clock_escalation_scan_idx",
            ),
            models.Index(fields=["department", "kind", "completed_at"], name="clock_settled_idx"),
            models.Index(fields=["department", "kind", "due_at"], name="clock_due_idx"),
            # The queue sorts a department's requests by their resolution due time: one
            # index-only look-up per request instead of an index and a table read.
            models.Index(
                fields=["request", "due_at"],
                condition=Q(kind="resolution", is_current=True),
                name="clock_resolution_due_idx",
            ),
        ]

    def __str__(self):
        return f"{self.request.reference} {self.kind} {self.state}"


class RequestEvent(models.Model):
    """Something that happened to a request: the timeline and the audit trail."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    created_at = models.DateTimeField()
    # Which department provided the service when it happened (changes on transfer).
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    data = models.JSONField(default=dict, blank=True)
    internal = models.BooleanField(
        default=False, help_text="Visible to the provider department only."
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["request", "created_at"], name="event_request_idx")]

    def __str__(self):
        return f"{self.request_id} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"


class Comment(models.Model):
    """A reply on a request: public, or an internal note for the provider department."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(help_text="Markdown.")
    # The body as sanitised HTML (core.markdown.render_markdown), written with it.
    body_html = models.TextField(blank=True, editable=False)
    internal = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["request", "created_at"], name="comment_request_idx")]

    def __str__(self):
        return f"{self.request_id} by {self.author_id}"

    @property
    def body_markup(self):
        """The stored HTML of the body, for templates."""
        return stored_html(self.body_html)


def attachment_path(instance, filename):
    # A random name: the stored path reveals nothing and is never served directly.
    import uuid

    return f"attachments/{instance.request_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A file on a request, downloadable only through the permission-checked view."""

    request = models.ForeignKey(
        ServiceRequest, on_delete=models.CASCADE, related_name="attachments"
    )
    comment = models.ForeignKey(
        Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=200)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.original_name


class RequestLink(models.Model):
    """`request` is blocked by `blocked_by` (usually a request to a third department).

    The blocked time runs from the link until the blocker is resolved or the link removed;
    `blocked_seconds` is in the blocked request's provider business time, for the scorecards.
    """

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="links")
    blocked_by = models.ForeignKey(
        ServiceRequest, on_delete=models.CASCADE, related_name="blocking_links"
    )
    # Kept so that attribution survives a later transfer of the blocker.
    blocking_department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="blocking_links"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    blocked_seconds = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "blocked_by"],
                condition=Q(ended_at__isnull=True),
                name="link_one_active",
            ),
            models.CheckConstraint(
                condition=~Q(request=models.F("blocked_by")), name="link_not_self"
            ),
        ]

    def __str__(self):
        return f"{self.request_id} blocked by {self.blocked_by_id}"


class WaitPeriod(models.Model):
    """Time a request spent waiting on its requester: the customer-responsiveness figure."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="waits")
    requesting_department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="+"
    )
    provider_department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    business_seconds = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request"], condition=Q(ended_at__isnull=True), name="wait_one_open"
            )
        ]

    def __str__(self):
        return f"{self.request_id} waiting since {self.started_at}"


class Notification(models.Model):
    """An in-app notification; also the outbox of the email that goes with it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    request = models.ForeignKey(
        ServiceRequest, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=24, choices=NotificationKind.choices)
    message = models.CharField(max_length=300)
    # Where a notification about something other than a request is handled (a path on the
    # site, such as an agreement's page); a request's notification links to the request.
    link = models.CharField(max_length=300, blank=True, default="")
    # Makes "notify once per event" a constraint: the same key cannot be inserted twice.
    dedupe_key = models.CharField(max_length=120)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    # When its email was sent (or settled without one: no address, or the request is no
    # longer visible to the user). Set only after the mail server took the email.
    emailed_at = models.DateTimeField(null=True, blank=True)
    # Until when a delivery holds the claim to send it: another delivery may take the email
    # over only after this, so the email of a worker that died mid-way is not lost.
    email_claimed_until = models.DateTimeField(null=True, blank=True)
    # Claims taken, so sends tried (a worker that died counts); none after MAX_EMAIL_ATTEMPTS.
    email_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "dedupe_key"], name="notification_once")
        ]
        indexes = [
            models.Index(
                fields=["user", "-created_at"],
                name="notification_unread_idx",
                condition=Q(read_at__isnull=True),
            ),
            # A user's notifications newest first, read or not (the notifications page).
            models.Index(fields=["user", "-created_at", "-id"], name="notification_user_idx"),
            models.Index(
                fields=["created_at"],
                name="notification_outbox_idx",
                condition=Q(emailed_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.user_id} {self.kind}"

    def get_absolute_url(self) -> str:
        """Where it is handled: the request's page, or its own link ("" when none)."""
        if self.request_id:
            return reverse("requests:detail", args=[self.request_id])
        return self.link
