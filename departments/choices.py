from django.db import models


class Role(models.TextChoices):
    MEMBER = "member", "Member"
    AGENT = "agent", "Agent"
    MANAGER = "manager", "Manager"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


HR_GROUP = "hr"


class AgreementState(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"
    # A later version was accepted: this one applies no longer (or never, if it had not
    # taken effect by then).
    SUPERSEDED = "superseded", "Superseded"


class AgreementSide(models.TextChoices):
    PROVIDER = "provider", "Provider"
    CUSTOMER = "customer", "Customer"


class TargetSource(models.TextChoices):
    """Where the target of a clock came from, most specific first (departments.targets)."""

    AGREEMENT_PAIR_SERVICE = (
        "agreement_pair_service",
        "Agreement with the customer, for the service",
    )
    AGREEMENT_PAIR = "agreement_pair", "Agreement with the customer"
    AGREEMENT_ALL_SERVICE = (
        "agreement_all_service",
        "Agreement with every customer, for the service",
    )
    AGREEMENT_ALL = "agreement_all", "Agreement with every customer"
    SERVICE = "service", "Service target"
    DEPARTMENT = "department", "Department default"
    FALLBACK = "fallback", "Company fallback"


class EscalationClock(models.TextChoices):
    """Which of a request's clocks an escalation level watches."""

    FIRST_RESPONSE = "first_response", "First response"
    RESOLUTION = "resolution", "Resolution"
    BOTH = "both", "Both clocks"


class EscalationThreshold(models.TextChoices):
    # A share of the target, in percent of its business time (50: half the target used).
    SHARE = "share", "Share of the target"
    # Business seconds of running time past the due instant.
    OVERDUE = "overdue", "Business time past due"


class EscalationAudience(models.TextChoices):
    """Whom a level tells; the assignee falls back to the department's agents."""

    ASSIGNEE = "assignee", "The assignee"
    AGENTS = "agents", "The department's agents"
    MANAGERS = "managers", "The department's managers"
    PARENT_MANAGERS = "parent_managers", "The parent department's managers"
    CUSTOMER_MANAGERS = "customer_managers", "The customer department's managers"


class EscalationAction(models.TextChoices):
    NONE = "", "Nothing"
    ASSIGN = "assign", "Assign to a person"
    RAISE_PRIORITY = "raise_priority", "Raise the priority"
