"""The demo organisation (data/demo_org.yaml) and `manage.py seed_demo`."""

import datetime
import zoneinfo

import pytest
import yaml
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.test import RequestFactory

from departments.choices import HR_GROUP, AgreementState, Priority, Role
from departments.models import (
    Agreement,
    BusinessCalendar,
    Department,
    Membership,
    Service,
    SLATarget,
)
from departments.org_import import org_import
from requests_app.models import SLAClock
from servicedesk.management.commands import seed_demo

User = get_user_model()


def _login_request():
    """The login lockout (django-axes) needs the request that logs in."""
    return RequestFactory().post("/login/")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def demo(db):
    return org_import(
        data_text=seed_demo.DEMO_ORG_FILE.read_text(encoding="utf-8"),
        source_name=seed_demo.DEMO_ORG_FILE.name,
        default_password="demo",
    )


def test_it_imports_the_demo_file_cleanly(demo):
    assert demo.counts["departments"].created >= 8
    assert set(Department.objects.values_list("name", flat=True)) >= {
        "IT",
        "Facilities",
        "Finance",
        "Human Resources",
        "Legal",
        "Procurement",
        "Marketing",
        "Sales",
    }
    timezones = set(
        BusinessCalendar.objects.filter(departments__isnull=False).values_list(
            "timezone", flat=True
        )
    )
    assert {"Europe/Berlin", "America/New_York"} <= timezones
    assert Department.objects.filter(parent__isnull=False).exists()


def test_every_provider_has_services_targets_agents_and_a_manager(demo):
    providers = Department.objects.filter(is_provider=True)
    assert providers.count() >= 8
    for department in providers:
        assert Service.objects.filter(department=department, active=True).count() >= 3
        default_priorities = set(
            SLATarget.objects.filter(department=department, service=None).values_list(
                "priority", flat=True
            )
        )
        assert default_priorities == set(Priority.values), department
        roles = set(department.memberships.values_list("role", flat=True))
        assert {Role.AGENT, Role.MANAGER} <= roles, department
        assert department.memberships.count() >= 4, department
    assert SLATarget.objects.filter(service__isnull=False).exists()


def test_every_person_has_one_primary_department(demo):
    assert User.objects.count() >= 40
    for user in User.objects.all():
        assert Membership.objects.filter(user=user, is_primary=True).count() == 1, user


def test_the_demo_logins_have_their_roles(demo):
    def primary(username):
        membership = Membership.objects.get(user__username=username, is_primary=True)
        return membership.department.slug, membership.role

    assert primary("staff") == ("sales", Role.MEMBER)
    assert primary("agent") == ("it", Role.AGENT)
    assert primary("manager") == ("it", Role.MANAGER)
    assert primary("hr") == ("hr", Role.MEMBER)
    assert User.objects.get(username="hr").groups.filter(name=HR_GROUP).exists()
    assert not User.objects.get(username="staff").groups.exists()
    for username in ("staff", "agent", "manager", "hr"):
        assert authenticate(_login_request(), username=username, password="demo") is not None


def test_the_demo_file_has_no_passwords():
    data = yaml.safe_load(seed_demo.DEMO_ORG_FILE.read_text(encoding="utf-8"))

    assert len(data["people"]) >= 40
    assert not [person["username"] for person in data["people"] if "password" in person]


def test_seed_demo_loads_once_and_prints_the_logins(db, settings, capsys):
    settings.DEMO_PASSWORD = "s3cret-demo"

    call_command("seed_demo")
    first = capsys.readouterr().out
    rows = {
        "users": User.objects.count(),
        "departments": Department.objects.count(),
        "memberships": Membership.objects.count(),
    }
    call_command("seed_demo")
    second = capsys.readouterr().out

    assert "Demo organisation loaded" in first
    assert "Demo organisation already loaded" in second
    assert "Demo organisation loaded" not in second
    assert rows == {
        "users": User.objects.count(),
        "departments": Department.objects.count(),
        "memberships": Membership.objects.count(),
    }
    for output in (first, second):
        assert "http://127.0.0.1:8000/" in output
        assert "agent     agent" in output
        assert "s3cret-demo" in output
    assert authenticate(_login_request(), username="manager", password="s3cret-demo") is not None


def test_seed_demo_force_reimports_without_changes(db, capsys):
    call_command("seed_demo")
    capsys.readouterr()

    call_command("seed_demo", "--force")

    output = capsys.readouterr().out
    assert "departments     0 created    0 updated   10 unchanged" in output


def test_seed_demo_runs_the_demo_hooks_of_other_apps(db, monkeypatch, capsys):
    calls = []

    def hook(*, stdout):
        calls.append(User.objects.filter(username="staff").exists())
        stdout.write("history added")

    monkeypatch.setattr(seed_demo, "demo_hooks", lambda: [hook])

    call_command("seed_demo")
    call_command("seed_demo")

    assert calls == [True]  # after the organisation, and only when seeding
    assert "history added" in capsys.readouterr().out


def test_seed_demo_calls_every_app_demo_in_the_order_of_the_layers():
    from django.apps import apps
    from django.utils.module_loading import module_has_submodule

    with_demo = [
        config.name
        for config in apps.get_app_configs()
        if config.name in ("requests_app", "surveys", "reviews", "scorecards", "departments")
        and module_has_submodule(config.module, "demo")
    ]
    # Each hook lives in its app's demo module or package (requests_app.demo.history).
    assert [".".join(hook.__module__.split(".")[:2]) for hook in seed_demo.demo_hooks()] == [
        f"{name}.demo" for name in with_demo
    ]
    assert with_demo == ["requests_app", "surveys", "reviews", "scorecards"]


@pytest.mark.clock(datetime.datetime(2026, 11, 23, 10, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin")))
def test_the_demo_has_agreements_in_every_state_and_its_history_runs_under_them(
    db, settings, capsys
):
    # Back to early August: Sales' requests to IT before and after v2 took effect (1 Sep).
    settings.DEMO_HISTORY_WEEKS = 16
    settings.DEMO_HISTORY_REQUESTS_PER_WEEK = 30
    call_command("seed_demo")

    assert {a.label: a.state for a in Agreement.objects.all()} == {
        "Sales-IT agreement v1": AgreementState.SUPERSEDED,
        "Sales-IT agreement v2": AgreementState.ACCEPTED,
        "Legal-IT agreement v1": AgreementState.DECLINED,
        "Facilities agreement with every customer v1": AgreementState.PROPOSED,
    }
    v1, v2 = Agreement.objects.filter(customer__slug="sales").order_by("version")
    clocks = SLAClock.objects.filter(
        department__slug="it", request__requesting_department__slug="sales"
    )
    assert clocks.filter(agreement=v1, started_at__lt=v2.effective_from).exists()
    assert not clocks.filter(agreement=v1, started_at__gte=v2.effective_from).exists()
    under_v2 = clocks.filter(agreement=v2)
    assert under_v2.exists()
    assert {c.calendar_version.calendar.name for c in under_v2} == {"IT extended support"}
    # Nobody else's requests to IT run under the Sales agreement.
    assert (
        not SLAClock.objects.filter(agreement__isnull=False)
        .exclude(request__requesting_department__slug="sales")
        .exists()
    )
