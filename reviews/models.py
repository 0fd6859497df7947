"""Reviews: looking back together at work that went wrong, and the actions agreed.

- `Review`: one per trigger (`trigger_key` is unique, so opening twice opens one). It is
  about a set of requests (`ReviewRequest`, the whole blocking chain for a blocked chain) or
  a provider-customer pair and quarter (hire-back). `ReviewDepartment` lists the departments
  involved and their side; their people are the participants (rules.py).
- `ReviewSection`: what one involved department writes, one row per department, so each
  side's account is its own and nobody overwrites another department's words.
- `ReviewAction`: what a department agreed to change, with an owner and a due date.
- `ReviewRule`: a department's rules for opening reviews on its service; no row means the
  defaults (every rule on).
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from departments.models import Department
from requests_app.models import ServiceRequest

from .choices import ActionState, Factor, ReviewState, Side, Trigger


class Review(models.Model):
    """A blameless look back at requests or at a pair's quarter, by every side involved."""

    trigger = models.CharField(max_length=24, choices=Trigger.choices)
    # What opened it, as a key ("breach:123", "pair:4:7:2026-Q3"): one review per trigger.
    trigger_key = models.CharField(max_length=200, unique=True)
    title = models.CharField(max_length=200)
    provider_department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="reviews_as_provider"
    )
    customer_department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="reviews_as_customer"
    )
    # A pair review's quarter ("2026-Q3"); blank for a review of requests.
    period = models.CharField(max_length=7, blank=True)
    requests = models.ManyToManyField(
        ServiceRequest, through="ReviewRequest", related_name="reviews", blank=True
    )
    departments = models.ManyToManyField(
        Department, through="ReviewDepartment", related_name="reviews", blank=True
    )
    state = models.CharField(max_length=10, choices=ReviewState.choices, default=ReviewState.OPEN)
    opened_at = models.DateTimeField()
    # Null when a rule opened it.
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Any of its requests is confidential: then only those who may see every one of them
    # see the review. Written once at opening, from the requests.
    confidential = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["state", "-opened_at"], name="review_state_idx"),
            models.Index(fields=["provider_department", "opened_at"], name="review_provider_idx"),
            models.Index(fields=["customer_department", "opened_at"], name="review_customer_idx"),
        ]

    def __str__(self):
        return f"Review {self.pk}: {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("reviews:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.state == ReviewState.OPEN


class ReviewRequest(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="review_requests")
    request = models.ForeignKey(
        ServiceRequest, on_delete=models.CASCADE, related_name="review_links"
    )

    class Meta:
        ordering = ["review", "request"]
        constraints = [
            models.UniqueConstraint(fields=["review", "request"], name="review_request_once")
        ]
        indexes = [models.Index(fields=["request"], name="review_request_idx")]

    def __str__(self):
        return f"{self.request_id} in review {self.review_id}"


class ReviewDepartment(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="review_departments")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=10, choices=Side.choices)

    class Meta:
        ordering = ["review", "side", "department"]
        constraints = [
            models.UniqueConstraint(fields=["review", "department"], name="review_department_once")
        ]
        indexes = [models.Index(fields=["department", "review"], name="review_department_idx")]

    def __str__(self):
        return f"{self.department_id} ({self.side}) in review {self.review_id}"


class ReviewSection(models.Model):
    """One involved department's account: the four parts and the factors it sees."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="sections")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    what_happened = models.TextField(blank=True)
    went_well = models.TextField(blank=True)
    went_wrong = models.TextField(blank=True)
    contributing_factors = models.TextField(blank=True)
    # Factor values (choices.Factor); a list, so that the same model runs on SQLite.
    factors = models.JSONField(default=list, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["review", "department__name"]
        constraints = [
            models.UniqueConstraint(fields=["review", "department"], name="review_section_once")
        ]

    def __str__(self):
        return f"Section of {self.department_id} in review {self.review_id}"

    @property
    def factor_labels(self) -> list[str]:
        """The factors in words, in the order of their choices."""
        return [label for value, label in Factor.choices if value in self.factors]


class ReviewAction(models.Model):
    """A change a department agreed to make, owned by one of its people."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="actions")
    title = models.CharField(max_length=200)
    owner_department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_actions"
    )
    due_on = models.DateField()
    state = models.CharField(max_length=10, choices=ActionState.choices, default=ActionState.OPEN)
    dropped_reason = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    # A person of another involved department checked that the done action is done.
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    # The last overdue step (settings.REVIEW_OVERDUE_STEPS, days) told to the owner and
    # their manager: each step is told once.
    overdue_notified_step = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state=ActionState.DROPPED) | ~Q(dropped_reason=""),
                name="review_action_dropped_says_why",
            ),
        ]
        indexes = [
            # The overdue scan: open actions by due date.
            models.Index(
                fields=["due_on"],
                condition=Q(state=ActionState.OPEN),
                name="review_action_open_due_idx",
            ),
            models.Index(fields=["owner", "state"], name="review_action_owner_idx"),
        ]

    def __str__(self):
        return self.title


class ReviewRule(models.Model):
    """When reviews open by themselves on a department's service; set by its managers."""

    department = models.OneToOneField(
        Department, on_delete=models.CASCADE, related_name="review_rule"
    )
    breach_enabled = models.BooleanField(default=True)
    # A resolution clock that took more than this share beyond its target: 50 means more
    # than one and a half times the target.
    breach_share_percent = models.PositiveSmallIntegerField(
        default=50, validators=[MaxValueValidator(1000)]
    )
    low_rating_enabled = models.BooleanField(default=True)
    # Ratings up to this one open a review (1 or 2 by default).
    low_rating_max = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(4)]
    )
    blocked_chain_enabled = models.BooleanField(default=True)
    hire_back_enabled = models.BooleanField(default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Review rules of {self.department_id}"
