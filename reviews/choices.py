from django.db import models


class Trigger(models.TextChoices):
    """Why a review was opened: a rule (the first four) or a manager's hand."""

    BREACH = "breach", "Breached well past its target"
    LOW_RATING = "low_rating", "Rated low by the requester"
    BLOCKED_CHAIN = "blocked_chain", "Held up by a late blocking request"
    HIRE_BACK_NEGATIVE = "hire_back_negative", "Hire-back turned negative"
    MANUAL = "manual", "Opened by a manager"


class ReviewState(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Side(models.TextChoices):
    """Where an involved department stands to the reviewed work."""

    PROVIDER = "provider", "Provider"
    CUSTOMER = "customer", "Customer"
    BLOCKING = "blocking", "Blocking"


class Factor(models.TextChoices):
    """Contributing factors: conditions, never people."""

    CAPACITY = "capacity", "Capacity"
    KNOWLEDGE = "knowledge", "Knowledge"
    HAND_OFF = "hand_off", "Hand-off"
    REQUESTER_INPUT = "requester_input", "Requester input"
    TOOLING = "tooling", "Tooling"
    POLICY = "policy", "Policy"


class ActionState(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    DROPPED = "dropped", "Dropped"


SETTLED_ACTION_STATES = (ActionState.DONE, ActionState.DROPPED)

# The written parts of a department's section, in page order.
SECTION_FIELDS = ("what_happened", "went_well", "went_wrong", "contributing_factors")
