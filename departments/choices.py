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
