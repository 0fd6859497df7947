from dataclasses import dataclass, field

from django.db.models import QuerySet

from .choices import HR_GROUP, Role
from .models import Department, Membership, Service


@dataclass(frozen=True)
class Navigation:
    """The viewer's roles, as the navigation and the home page need them."""

    memberships: list[Membership] = field(default_factory=list)
    is_hr: bool = False
    is_superuser: bool = False

    @property
    def primary(self) -> Membership | None:
        return next((m for m in self.memberships if m.is_primary), None) or next(
            iter(self.memberships), None
        )

    @property
    def agent_departments(self) -> list[Department]:
        return [m.department for m in self.memberships if m.role in (Role.AGENT, Role.MANAGER)]

    @property
    def managed_departments(self) -> list[Department]:
        return [m.department for m in self.memberships if m.role == Role.MANAGER]

    @property
    def is_agent(self) -> bool:
        return bool(self.agent_departments)

    @property
    def is_manager(self) -> bool:
        return bool(self.managed_departments)


def memberships_of(*, user) -> QuerySet[Membership]:
    """The user's memberships, primary first, then by department name: the order in which
    their departments are offered, and the first is the one they file for by default."""
    return (
        Membership.objects.filter(user=user)
        .select_related("department")
        .order_by("-is_primary", "department__name")
    )


def user_navigation(*, user) -> Navigation:
    """The roles of a user across departments, in one query plus the group check."""
    memberships = list(memberships_of(user=user))
    is_hr = user.groups.filter(name=HR_GROUP).exists()
    return Navigation(memberships=memberships, is_hr=is_hr, is_superuser=user.is_superuser)


def department_list() -> QuerySet[Department]:
    """All departments with what list pages and the API show of them."""
    return Department.objects.select_related("parent", "calendar").order_by("name")


def service_list(*, active_only: bool = False) -> QuerySet[Service]:
    """The service catalog across providers."""
    services = Service.objects.select_related("department").order_by("department__name", "name")
    if active_only:
        services = services.filter(active=True, department__is_provider=True)
    return services


def departments_managed_by(*, user) -> QuerySet[Department]:
    """Departments where the user is a manager."""
    return Department.objects.filter(memberships__user=user, memberships__role=Role.MANAGER)


def departments_served_by(*, user) -> QuerySet[Department]:
    """Departments where the user works requests: as agent or manager."""
    return Department.objects.filter(
        memberships__user=user, memberships__role__in=[Role.AGENT, Role.MANAGER]
    ).distinct()


def agreements_visible_to(user, *, hr: bool | None = None) -> QuerySet:
    """Agreements the user may see: those of a department they manage (either side; every
    manager is on the customer side of an agreement with every customer), all of them for
    HR; none for anyone else (departments.agreements). `hr`: whether the user is in HR,
    when the caller knows already."""
    from django.db.models import Exists, OuterRef, Q

    from .agreements import is_hr
    from .models import Agreement

    if user is None or not user.is_authenticated:
        return Agreement.objects.none()
    agreements = Agreement.objects.select_related(
        "provider__calendar", "customer", "calendar", "proposed_by", "decided_by", "superseded_by"
    )
    if is_hr(user) if hr is None else hr:
        return agreements
    managed = Membership.objects.filter(user=user, role=Role.MANAGER)
    manages_another = Exists(managed.exclude(department_id=OuterRef("provider_id")))
    return agreements.filter(
        Q(provider_id__in=managed.values("department_id"))
        | Q(customer_id__in=managed.values("department_id"))
        | (Q(customer__isnull=True) & manages_another)
    )


def agreement_pair_versions(*, provider_id: int, customer_id: int | None) -> QuerySet:
    """Every version of a pair's agreement, newest first."""
    from .models import Agreement

    return Agreement.objects.filter(provider_id=provider_id, customer_id=customer_id).order_by(
        "-version"
    )
