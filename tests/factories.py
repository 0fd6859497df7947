"""factory-boy factories shared by every test module."""

import datetime

import factory
from django.contrib.auth import get_user_model

from departments.choices import Priority, Role
from departments.models import (
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


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "password")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class BusinessCalendarFactory(factory.django.DjangoModelFactory):
    """A Monday-to-Friday 09:00-17:00 calendar in Europe/Berlin without public holidays."""

    class Meta:
        model = BusinessCalendar
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Calendar {n}")
    timezone = "Europe/Berlin"
    holiday_country = ""

    @factory.post_generation
    def hours(obj, create, extracted, **kwargs):
        """`hours=[(weekday, "09:00", "17:00"), ...]`; default Mon-Fri 09-17; [] for none."""
        if not create:
            return
        rows = extracted if extracted is not None else [(d, "09:00", "17:00") for d in range(5)]
        WorkingHours.objects.bulk_create(
            WorkingHours(
                calendar=obj,
                weekday=weekday,
                start=datetime.time.fromisoformat(start),
                end=datetime.time.fromisoformat(end),
            )
            for weekday, start, end in rows
        )


class HolidayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Holiday

    calendar = factory.SubFactory(BusinessCalendarFactory)
    date = datetime.date(2026, 12, 24)
    name = "Company day"


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Department {n}")
    slug = factory.Sequence(lambda n: f"dept-{n}")
    code = factory.Sequence(lambda n: f"D{n}")
    calendar = factory.SubFactory(BusinessCalendarFactory)
    is_provider = True


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    department = factory.SubFactory(DepartmentFactory)
    role = Role.MEMBER
    is_primary = True


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    department = factory.SubFactory(DepartmentFactory)
    name = factory.Sequence(lambda n: f"Service {n}")
    default_priority = Priority.NORMAL


class SLATargetFactory(factory.django.DjangoModelFactory):
    """A department default target (no service) unless `service` is given."""

    class Meta:
        model = SLATarget

    department = factory.LazyAttribute(
        lambda t: t.service.department if t.service else DepartmentFactory()
    )
    service = None
    priority = Priority.NORMAL
    first_response = datetime.timedelta(hours=4)
    resolution = datetime.timedelta(hours=16)


class AgreementFactory(factory.django.DjangoModelFactory):
    """A proposal of the provider, version 1 (decide it through departments.services)."""

    class Meta:
        model = Agreement

    provider = factory.SubFactory(DepartmentFactory)
    customer = factory.SubFactory(DepartmentFactory)
    version = 1
    valid_from = datetime.date(2026, 1, 1)
    proposed_side = "provider"
    proposed_at = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


class EscalationLevelFactory(factory.django.DjangoModelFactory):
    """A department's level: at 50% of either clock's target, tell the assignee."""

    class Meta:
        model = EscalationLevel

    department = factory.SubFactory(DepartmentFactory)
    number = factory.Sequence(lambda n: n + 1)
    clock = "both"
    threshold = "share"
    value = 50
    notify = factory.LazyFunction(lambda: ["assignee"])


class AgreementTargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgreementTarget

    agreement = factory.SubFactory(AgreementFactory)
    service = None
    priority = Priority.NORMAL
    first_response = datetime.timedelta(hours=1)
    resolution = datetime.timedelta(hours=4)


def agreement_accepted(
    *,
    proposer,
    decider,
    provider,
    customer,
    targets,
    now,
    valid_from=None,
    valid_until=None,
    calendar=None,
    accepted_at=None,
    escalation_levels=None,
):
    """An agreement proposed by `proposer` and accepted by `decider` through the services.
    `targets`: [(service or None, priority, first response hours, resolution hours)];
    `escalation_levels`: departments.escalation.LevelInput, the version's own."""
    from departments import services

    agreement = services.agreement_propose(
        actor=proposer,
        provider=provider,
        customer=customer,
        valid_from=valid_from or now.date(),
        valid_until=valid_until,
        calendar=calendar,
        targets=[
            services.TargetInput(
                service=service,
                priority=priority,
                first_response=datetime.timedelta(hours=first),
                resolution=datetime.timedelta(hours=resolution),
            )
            for service, priority, first, resolution in targets
        ],
        escalation_levels=escalation_levels,
        now=now,
    )
    return services.agreement_accept(actor=decider, agreement=agreement, now=accepted_at or now)
