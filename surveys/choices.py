from django.db import models


class Dimension(models.TextChoices):
    """The optional 1-5 ratings of both surveys, after the overall rating or hire-back."""

    ATTITUDE = "attitude", "Attitude"
    COMMUNICATION = "communication", "Communication"
    PROBLEM_SOLVING = "problem_solving", "Problem solving"
    TIMELINESS = "timeliness", "Timeliness"
    TEAMWORK = "teamwork", "Teamwork"


DIMENSIONS = tuple(Dimension.values)

DIMENSION_QUESTIONS = {
    Dimension.ATTITUDE: "Were they friendly and willing to help?",
    Dimension.COMMUNICATION: "Did they keep you informed, in words you understood?",
    Dimension.PROBLEM_SOLVING: "Did they get to the bottom of it?",
    Dimension.TIMELINESS: "Was it done when you needed it?",
    Dimension.TEAMWORK: "Did they work well with you and with other departments?",
}


class HireBack(models.TextChoices):
    YES = "yes", "Yes"
    UNSURE = "unsure", "Not sure"
    NO = "no", "No"


HIRE_BACK_QUESTION = (
    "If you could pick any provider for this service, would you keep this department?"
)

# The team pulse: each member about their own department, 1 (worst) to 5 (best).
PULSE_QUESTIONS = {
    "morale": "How do you feel about working in this department?",
    "collaboration": "How well does this department work with the other departments?",
}
PULSE_LABELS = {"morale": "Morale", "collaboration": "Collaboration"}

RATING_LABELS = {1: "Very poor", 2: "Poor", 3: "OK", 4: "Good", 5: "Excellent"}


class TokenState(models.TextChoices):
    """What a survey link is worth when it is opened; only `valid` lets anyone answer."""

    VALID = "valid", "Valid"
    EXPIRED = "expired", "Expired"
    USED = "used", "Used"
    REPLACED = "replaced", "Replaced by a newer link"
    CLOSED = "closed", "Survey closed"
    INVALID = "invalid", "Not a survey link"


class SurveyStatus(models.TextChoices):
    """A per-request survey as its requester sees it."""

    WAITING = "waiting", "Waiting for your answer"
    ANSWERED = "answered", "Answered"
    EXPIRED = "expired", "Closed without an answer"


# The kinds of notifications the surveys app writes through requests_app.notifications.
# Not in requests_app's NotificationKind choices: that app does not know about surveys.
NOTIFICATION_LOW_RATING = "survey_low_rating"
