"""Shared fixtures: a small organisation with every role, for permission tests, and the
clock rule (a module that works with fixed dates freezes the clock for all it runs)."""

import datetime
from dataclasses import dataclass

import pytest
import time_machine
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from departments.choices import HR_GROUP, Priority, Role
from tests.clock import ClockRuleBroken, travel_refused
from tests.factories import (
    DepartmentFactory,
    MembershipFactory,
    ServiceFactory,
    SLATargetFactory,
    UserFactory,
)


@pytest.fixture(autouse=True)
def _clock(request, monkeypatch):
    """The clock rule: under `@pytest.mark.clock(moment)` (module, class or test) the clock
    stands still at `moment` for everything the test and its fixtures call, inner
    `time_machine.travel` blocks included; a test without it may not travel at all, unless
    marked `real_clock`. So no test that works with fixed dates can depend on today."""
    marker = request.node.get_closest_marker("clock")
    if marker is not None:
        if request.node.get_closest_marker("real_clock") is not None:
            raise ClockRuleBroken(f"{request.node.nodeid} is marked both clock and real_clock")
        with time_machine.travel(marker.args[0], tick=marker.kwargs.get("tick", False)):
            yield
        return
    if request.node.get_closest_marker("real_clock") is None:
        monkeypatch.setattr(time_machine, "travel", travel_refused(request.node.nodeid))
    yield


@pytest.fixture(autouse=True)
def _media_and_email(settings, tmp_path):
    """Uploaded files go to a temporary folder; email stays in memory."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # The production hasher costs ~0.3 s a password: too slow for a cast of users per test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests render templates without a collectstatic manifest.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _small_demo_history(settings):
    """`seed_demo` adds a week of request history in tests, not six months."""
    settings.DEMO_HISTORY_WEEKS = 1
    settings.DEMO_HISTORY_REQUESTS_PER_WEEK = 20


@pytest.fixture(autouse=True)
def _eager_celery():
    """Tasks run in-process, at once; a test of the broker path switches this off."""
    from servicedesk.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = previous


@dataclass
class Org:
    """Two departments and one user per role: the cast of every permission test.

    `provider` (IT) serves `customer` (Sales); `other` (Legal) is unrelated.
    """

    provider: object
    customer: object
    other: object
    requester: object  # member of customer
    colleague: object  # another member of customer
    customer_manager: object
    agent: object  # agent of provider
    provider_manager: object
    outsider: object  # member of other
    hr: object


@pytest.fixture
def org(db) -> Org:
    provider = DepartmentFactory(name="IT", slug="it", code="IT")
    customer = DepartmentFactory(name="Sales", slug="sales", code="SAL")
    other = DepartmentFactory(name="Legal", slug="legal", code="LEG")

    def member(username, department, role=Role.MEMBER):
        user = UserFactory(username=username)
        MembershipFactory(user=user, department=department, role=role)
        return user

    hr = UserFactory(username="hr")
    hr.groups.add(Group.objects.get(name=HR_GROUP))
    return Org(
        provider=provider,
        customer=customer,
        other=other,
        requester=member("requester", customer),
        colleague=member("colleague", customer),
        customer_manager=member("customer_manager", customer, Role.MANAGER),
        agent=member("agent", provider, Role.AGENT),
        provider_manager=member("provider_manager", provider, Role.MANAGER),
        outsider=member("outsider", other),
        hr=hr,
    )


@pytest.fixture
def service(org):
    """IT's laptop service with IT's normal-priority targets: first response within 2
    business hours (warning 10:30, due 11:00 for a request filed Monday 9:00), resolution
    within 8 (warning 15:00, due 17:00)."""
    service = ServiceFactory(department=org.provider, name="Laptop")
    SLATargetFactory(
        department=org.provider,
        priority=Priority.NORMAL,
        first_response=datetime.timedelta(hours=2),
        resolution=datetime.timedelta(hours=8),
    )
    return service


@pytest.fixture
def api_client():
    return APIClient()
