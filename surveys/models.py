"""Surveys: what customers think of the service they got, and what providers think of the
requests they got.

- `RequestSurvey`: sent to the requester when a request is resolved (one per request);
  `SurveyResponse` is the answer (one per survey, hence one per request).
- `RequestQualityRating`: the provider's rating of a request itself (two-sided rating).
- `RelationshipSurvey`: the quarterly hire-back survey. `RelationshipInvitation` (one per
  survey and person) lists in `RelationshipInvitationItem` rows the providers that person is
  asked to rate for each of their departments. `RelationshipAnswer` is stored without any
  link to a person or an invitation (random id, the day only): the item is marked answered
  and the answer written in one transaction, so nothing in the database says who answered.
- The team pulse, asked with the relationship survey: each member rates their own department
  (morale, collaboration with the other departments). `PulseInvitationItem` says that an
  invitee was asked about a department and whether they answered (no time); `PulseAnswer`
  holds the answer with the department and the quarter only (random id, no time, no person),
  and its rows are rewritten in random order when the survey closes (see PulseAnswer).
- `SurveyToken`: the single-use links sent by email. Only the sha256 of a token is stored;
  the raw token exists in memory at creation and in the email task's arguments.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from departments.models import Department
from requests_app.models import ServiceRequest

from .choices import DIMENSIONS, HireBack


def _rating_check(field: str, *, nullable: bool = True) -> models.CheckConstraint:
    condition = Q(**{f"{field}__gte": 1, f"{field}__lte": 5})
    if nullable:
        condition |= Q(**{f"{field}__isnull": True})
    return models.CheckConstraint(condition=condition, name=f"%(class)s_{field}_1_to_5")


def _rating_field(help_text: str = "", *, null: bool = True) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(null=null, blank=null, help_text=help_text)


class Ratings(models.Model):
    """The five optional dimensions of both surveys, each 1-5 or unanswered."""

    attitude = _rating_field()
    communication = _rating_field()
    problem_solving = _rating_field()
    timeliness = _rating_field()
    teamwork = _rating_field()
    comment = models.TextField(blank=True)

    class Meta:
        abstract = True
        constraints = [_rating_check(field) for field in DIMENSIONS]

    def ratings(self) -> dict[str, int | None]:
        return {field: getattr(self, field) for field in DIMENSIONS}


class RequestSurvey(models.Model):
    """The satisfaction survey of one resolved request, for its requester (one per request).

    The departments are copied at sending so that figures stay with the department that did
    the work even if the request moves later.
    """

    request = models.OneToOneField(ServiceRequest, on_delete=models.CASCADE, related_name="survey")
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="request_surveys"
    )
    provider_department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="request_surveys_received"
    )
    requesting_department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="request_surveys_sent"
    )
    sent_at = models.DateTimeField()
    closes_at = models.DateTimeField(help_text="No first answer after this (the link expires).")

    class Meta:
        ordering = ["-sent_at", "-id"]
        indexes = [
            models.Index(fields=["requester", "-sent_at"], name="survey_requester_idx"),
            models.Index(fields=["provider_department", "sent_at"], name="survey_provider_idx"),
            models.Index(fields=["requesting_department", "sent_at"], name="survey_customer_idx"),
            # The surveys still open to a requester (the count on every page's navigation):
            # a range of this index, not every survey the requester was ever sent.
            models.Index(fields=["requester", "closes_at"], name="survey_requester_open_idx"),
        ]

    def __str__(self):
        return f"Survey of {self.request.reference}"


class SurveyResponse(Ratings):
    """The requester's answer to a request survey. The one-to-one link (a unique constraint)
    makes it one response per survey, and so one per request; changeable for 7 days."""

    survey = models.OneToOneField(RequestSurvey, on_delete=models.CASCADE, related_name="response")
    overall = _rating_field("1 (very poor) to 5 (excellent).", null=False)
    answered_at = models.DateTimeField(help_text="The first answer: the edit window starts.")
    updated_at = models.DateTimeField()

    class Meta(Ratings.Meta):
        ordering = ["-answered_at", "-id"]
        constraints = [
            *Ratings.Meta.constraints,
            _rating_check("overall", nullable=False),
        ]
        indexes = [models.Index(fields=["answered_at"], name="survey_response_answered_idx")]

    def __str__(self):
        return f"{self.overall}/5 for survey {self.survey_id}"


class RequestQualityRating(models.Model):
    """The provider's rating of a request itself: clear and complete, and how quickly the
    requester answered (1-5 each). One per request; feeds the customer's request_quality."""

    request = models.OneToOneField(
        ServiceRequest, on_delete=models.CASCADE, related_name="quality_rating"
    )
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    provider_department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    requesting_department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="request_quality_ratings"
    )
    clarity = _rating_field("Clear and complete: 1 (not at all) to 5 (fully).", null=False)
    responsiveness = _rating_field(
        "How quickly the requester answered questions: 1 to 5 (blank: nothing was asked)."
    )
    rated_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-rated_at", "-id"]
        constraints = [
            _rating_check("clarity", nullable=False),
            _rating_check("responsiveness"),
        ]
        indexes = [
            models.Index(fields=["requesting_department", "rated_at"], name="quality_customer_idx"),
            # The month ranges of the releases, and the first rating (surveys/disclosure.py).
            models.Index(fields=["rated_at"], name="quality_rated_idx"),
        ]

    def __str__(self):
        return f"Quality {self.clarity}/{self.responsiveness or '-'} of request {self.request_id}"


class RelationshipSurvey(models.Model):
    """The quarterly relationship (hire-back) survey of one quarter, open for 14 days."""

    quarter = models.CharField(max_length=7, unique=True, help_text="Like 2026-Q3.")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField(help_text="Exclusive: the start of the next quarter.")
    opened_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_start"]

    def __str__(self):
        return f"Relationship survey {self.quarter}"

    def is_open(self, now) -> bool:
        return self.closed_at is None and now < self.closes_at


class RelationshipInvitation(models.Model):
    """One person's invitation to a quarter's relationship survey (once per survey and user)."""

    survey = models.ForeignKey(
        RelationshipSurvey, on_delete=models.CASCADE, related_name="invitations"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="relationship_invitations"
    )
    invited_at = models.DateTimeField()
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(
        null=True, blank=True, help_text="Every department of the invitation is rated."
    )

    class Meta:
        ordering = ["-invited_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "user"], name="relationship_invitation_once")
        ]
        indexes = [
            models.Index(
                fields=["survey", "invited_at"],
                condition=Q(completed_at__isnull=True),
                name="relationship_reminder_idx",
            )
        ]

    def __str__(self):
        return f"{self.user} for {self.survey.quarter}"


class RelationshipInvitationItem(models.Model):
    """One provider that an invitee is asked to rate, for one of their departments."""

    invitation = models.ForeignKey(
        RelationshipInvitation, on_delete=models.CASCADE, related_name="items"
    )
    customer_department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    provider_department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["invitation", "provider_department__name", "customer_department__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["invitation", "customer_department", "provider_department"],
                name="relationship_item_once",
            ),
            models.CheckConstraint(
                condition=~Q(customer_department=models.F("provider_department")),
                name="relationship_item_not_self",
            ),
        ]
        indexes = [
            models.Index(fields=["provider_department", "invitation"], name="relationship_item_idx")
        ]

    def __str__(self):
        return f"{self.customer_department_id} rates {self.provider_department_id}"


class RelationshipAnswer(Ratings):
    """An anonymous answer of the relationship survey: who gave it is not stored anywhere.

    A random primary key and the day only, so that not even the order of rows can be matched
    with the invitations' answered_at.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    survey = models.ForeignKey(RelationshipSurvey, on_delete=models.CASCADE, related_name="answers")
    customer_department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    provider_department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    hire_back = models.CharField(max_length=6, choices=HireBack.choices)
    answered_on = models.DateField()

    class Meta(Ratings.Meta):
        ordering = ["survey", "provider_department", "customer_department", "id"]
        constraints = [
            *Ratings.Meta.constraints,
            models.CheckConstraint(
                condition=Q(hire_back__in=HireBack.values), name="relationship_answer_hire_back"
            ),
        ]
        indexes = [
            models.Index(
                fields=["survey", "provider_department", "customer_department"],
                name="relationship_answer_pair_idx",
            )
        ]

    def __str__(self):
        return f"{self.survey_id}: {self.hire_back}"


class PulseInvitationItem(models.Model):
    """One of the invitee's own departments, to rate in the team pulse (one per invitation
    and department, so one answer per member, department and quarter).

    `answered` is a flag, not a time: a time could be matched with anything else that has
    one (the invitation's completed_at aside, which says when they were done, not what)."""

    invitation = models.ForeignKey(
        RelationshipInvitation, on_delete=models.CASCADE, related_name="pulse_items"
    )
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    answered = models.BooleanField(default=False)

    class Meta:
        ordering = ["invitation", "department__name"]
        constraints = [
            models.UniqueConstraint(fields=["invitation", "department"], name="pulse_item_once")
        ]
        indexes = [models.Index(fields=["department", "invitation"], name="pulse_item_idx")]

    def __str__(self):
        return f"Pulse of {self.department_id} by invitation {self.invitation_id}"


class PulseAnswer(models.Model):
    """An anonymous team pulse answer: a department, a quarter (the survey) and two ratings.

    Nothing else: no person, no invitation, no time, no comment (free text can say who
    wrote it), and a random primary key, so that neither a row nor the order of the rows can
    be matched with the items marked answered. The database itself still keeps the order
    of writing for a while (the physical order of rows, PostgreSQL's transaction ids): when
    the survey closes, `services.relationship_surveys_close` rewrites the quarter's answers
    in random order in one transaction, and touches its items in the same one, so that after
    the close not even those tie an answer to a person.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    survey = models.ForeignKey(
        RelationshipSurvey, on_delete=models.CASCADE, related_name="pulse_answers"
    )
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    morale = _rating_field("How do you feel about working in this department? 1 to 5.", null=False)
    collaboration = _rating_field(
        "How well does it work with the other departments? 1 to 5.", null=False
    )

    class Meta:
        ordering = ["survey", "department", "id"]
        constraints = [
            _rating_check("morale", nullable=False),
            _rating_check("collaboration", nullable=False),
        ]
        indexes = [models.Index(fields=["survey", "department"], name="pulse_answer_idx")]

    def __str__(self):
        return f"Pulse {self.survey_id}: {self.morale}/{self.collaboration}"


class SurveyToken(models.Model):
    """A single-use link to one survey. Only the sha256 of the token is stored.

    A newer link (a reminder) marks the older unused ones replaced; answering marks the link
    used with a guarded update, so that of concurrent submissions exactly one goes through.
    """

    token_hash = models.CharField(max_length=64, unique=True)
    request_survey = models.ForeignKey(
        RequestSurvey, null=True, blank=True, on_delete=models.CASCADE, related_name="tokens"
    )
    invitation = models.ForeignKey(
        RelationshipInvitation,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tokens",
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    replaced_at = models.DateTimeField(null=True, blank=True)
    # Claimed before the link is emailed, so that a task run twice sends it once.
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(request_survey__isnull=False) & Q(invitation__isnull=True))
                | (Q(request_survey__isnull=True) & Q(invitation__isnull=False)),
                name="survey_token_one_target",
            )
        ]

    def __str__(self):
        return f"Link {self.token_hash[:8]}…"


class SurveyRelease(models.Model):
    """Survey figures as published, once and for good (see surveys/disclosure.py): the cells
    of one family of answers for one quarter, released at one stage, with the totals that may
    be shown (a withheld figure's totals are null; its count stays)."""

    class Family(models.TextChoices):
        REQUEST = "request", "Request surveys"
        QUALITY = "quality", "Ratings of requests"
        RELATIONSHIP = "relationship", "Relationship survey"
        PULSE = "pulse", "Team pulse"

    family = models.CharField(max_length=12, choices=Family.choices)
    quarter = models.CharField(max_length=7, help_text="Like 2026-Q3.")
    stage = models.PositiveSmallIntegerField(
        help_text="Months of the quarter it covers (1-3); 0: relationship survey, pulse."
    )
    released_at = models.DateTimeField()
    cells = models.JSONField(default=list)

    class Meta:
        ordering = ["family", "quarter", "stage"]
        constraints = [
            models.UniqueConstraint(
                fields=["family", "quarter", "stage"], name="survey_release_unique"
            )
        ]

    def __str__(self):
        return f"{self.get_family_display()} {self.quarter} stage {self.stage}"
