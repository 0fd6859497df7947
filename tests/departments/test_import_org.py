"""`org_import` and `manage.py import_org`: create, update idempotently, refuse bad files."""

import datetime
import json

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from departments.choices import HR_GROUP, Priority, Role
from departments.models import (
    BusinessCalendar,
    Department,
    Holiday,
    Membership,
    Service,
    SLATarget,
    WorkingHours,
)
from departments.org_import import OrgImportError, org_import
from tests.factories import DepartmentFactory, MembershipFactory, UserFactory

User = get_user_model()

ORG_YAML = """\
calendars:
  - name: Head office
    timezone: Europe/Berlin
    holiday_country: DE
    holiday_subdivision: BE
    working_hours:
      mon-fri: ["09:00-12:00", "13:00-17:00"]
    holidays:
      - {date: 2026-12-24, name: Christmas Eve}
  - name: US office
    timezone: America/New_York
    working_hours:
      mon-sun: "00:00-24:00"
departments:
  - slug: it
    name: IT
    code: IT
    parent: ops
    calendar: Head office
    description: Workplace IT.
    targets:
      normal: {first_response: 4h, resolution: 16h}
      urgent: {first_response: 30m, resolution: 4h}
    services:
      - name: Laptops
        description: New and broken laptops.
        default_priority: high
        targets:
          urgent: {first_response: 15m, resolution: 1h30m}
  - slug: ops
    name: Operations
    code: OPS
    calendar: Head office
    is_provider: false
  - slug: sales
    name: Sales
    code: SAL
    calendar: US office
people:
  - username: ada
    first_name: Ada
    last_name: Lovelace
    email: ada@example.com
    memberships:
      - {department: it, role: agent}
  - username: grace
    first_name: Grace
    last_name: Hopper
    email: grace@example.com
    is_hr: true
    memberships:
      - {department: sales, role: manager, primary: true, title: Head of Sales}
      - {department: it, role: member}
"""


# The file names holidays of December 2026: the clock stands still before them.
pytestmark = pytest.mark.clock(datetime.datetime(2026, 11, 23, 10, tzinfo=datetime.UTC))


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run_import(text=ORG_YAML, source_name="org.yaml", **kwargs):
    return org_import(data_text=text, source_name=source_name, **kwargs)


def counts(report):
    return {kind: (c.created, c.updated, c.unchanged) for kind, c in report.counts.items()}


def database_state():
    """Every row the import may touch, with primary keys, to prove nothing changed."""
    return {
        "calendars": list(BusinessCalendar.objects.order_by("pk").values_list()),
        "hours": list(WorkingHours.objects.order_by("pk").values_list()),
        "holidays": list(Holiday.objects.order_by("pk").values_list()),
        "departments": list(Department.objects.order_by("pk").values_list()),
        "services": list(Service.objects.order_by("pk").values_list()),
        "targets": list(SLATarget.objects.order_by("pk").values_list()),
        "users": list(User.objects.order_by("pk").values_list()),
        "memberships": list(Membership.objects.order_by("pk").values_list()),
        "groups": list(User.groups.through.objects.order_by("pk").values_list()),
        "group_names": list(Group.objects.order_by("pk").values_list("name", flat=True)),
    }


def line_of(text, fragment):
    """The 1-based number of the only line of `text` that contains `fragment`."""
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    assert len(lines) == 1, (fragment, lines)
    return lines[0]


def replace_once(text, old, new):
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_it_creates_everything_from_a_small_file(db):
    report = run_import()

    assert counts(report) == {
        "calendars": (2, 0, 0),
        "departments": (3, 0, 0),
        "services": (1, 0, 0),
        "targets": (3, 0, 0),
        "people": (2, 0, 0),
        "memberships": (3, 0, 0),
        "agreements": (0, 0, 0),
        "escalation": (0, 0, 0),
    }
    head_office = BusinessCalendar.objects.get(name="Head office")
    assert (head_office.timezone, head_office.holiday_country) == ("Europe/Berlin", "DE")
    assert head_office.working_hours.count() == 10
    assert set(head_office.working_hours.filter(weekday=0).values_list("start", "end")) == {
        (datetime.time(9), datetime.time(12)),
        (datetime.time(13), datetime.time(17)),
    }
    assert list(head_office.holidays.values_list("date", "name")) == [
        (datetime.date(2026, 12, 24), "Christmas Eve")
    ]
    us_office = BusinessCalendar.objects.get(name="US office")
    assert set(us_office.working_hours.values_list("weekday", "start", "end")) == {
        (day, datetime.time(0), datetime.time(0)) for day in range(7)
    }

    it = Department.objects.get(slug="it")
    assert (it.name, it.code, it.parent.slug, it.calendar, it.is_provider) == (
        "IT",
        "IT",
        "ops",
        head_office,
        True,
    )
    assert Department.objects.get(slug="ops").is_provider is False
    laptops = Service.objects.get(department=it, name="Laptops")
    assert laptops.default_priority == Priority.HIGH
    assert set(
        SLATarget.objects.filter(department=it).values_list(
            "service__name", "priority", "first_response", "resolution"
        )
    ) == {
        (None, "normal", datetime.timedelta(hours=4), datetime.timedelta(hours=16)),
        (None, "urgent", datetime.timedelta(minutes=30), datetime.timedelta(hours=4)),
        ("Laptops", "urgent", datetime.timedelta(minutes=15), datetime.timedelta(minutes=90)),
    }

    grace = User.objects.get(username="grace")
    assert (grace.first_name, grace.last_name, grace.email) == (
        "Grace",
        "Hopper",
        "grace@example.com",
    )
    assert grace.groups.filter(name=HR_GROUP).exists()
    assert set(grace.memberships.values_list("department__slug", "role", "is_primary")) == {
        ("sales", Role.MANAGER, True),
        ("it", Role.MEMBER, False),
    }
    # A single membership is primary without saying so.
    ada_membership = Membership.objects.get(user__username="ada")
    assert (ada_membership.role, ada_membership.is_primary) == (Role.AGENT, True)
    assert not User.objects.get(username="ada").groups.exists()


def test_it_changes_nothing_the_second_time(db):
    run_import()
    state = database_state()

    report = run_import()

    assert not report.changed
    assert all(c.created == 0 and c.updated == 0 for c in report.counts.values())
    assert counts(report)["people"] == (0, 0, 2)
    assert database_state() == state


def test_it_updates_what_changed_and_nothing_else(db):
    run_import()
    grace_password = User.objects.get(username="grace").password
    changed = replace_once(ORG_YAML, "New and broken laptops.", "Laptops and docks.")
    changed = replace_once(
        changed, "{department: it, role: agent}", "{department: it, role: manager}"
    )
    changed = replace_once(changed, "urgent: {first_response: 30m", "urgent: {first_response: 1h")
    changed = replace_once(changed, 'mon-sun: "00:00-24:00"', 'mon-fri: "08:00-18:00"')

    report = run_import(changed)

    assert counts(report) == {
        "calendars": (0, 1, 1),
        "departments": (0, 0, 3),
        "services": (0, 1, 0),
        "targets": (0, 1, 2),
        "people": (0, 0, 2),
        "memberships": (0, 1, 2),
        "agreements": (0, 0, 0),
        "escalation": (0, 0, 0),
    }
    assert Service.objects.get(name="Laptops").description == "Laptops and docks."
    assert Membership.objects.get(user__username="ada").role == Role.MANAGER
    assert SLATarget.objects.get(
        service=None, department__slug="it", priority="urgent"
    ).first_response == datetime.timedelta(hours=1)
    assert set(
        WorkingHours.objects.filter(calendar__name="US office").values_list("weekday", "start")
    ) == {(day, datetime.time(8)) for day in range(5)}
    assert User.objects.get(username="grace").password == grace_password


def test_it_never_deletes_what_the_file_leaves_out(db):
    run_import()
    shorter = replace_once(
        ORG_YAML,
        """    services:
      - name: Laptops
        description: New and broken laptops.
        default_priority: high
        targets:
          urgent: {first_response: 15m, resolution: 1h30m}
""",
        "",
    )
    shorter = replace_once(shorter, "      - {department: it, role: member}\n", "")

    report = run_import(shorter)

    assert not report.changed
    assert Service.objects.filter(name="Laptops").exists()
    assert SLATarget.objects.count() == 3
    assert Membership.objects.filter(user__username="grace").count() == 2


def test_it_replaces_the_holidays_of_a_calendar(db):
    run_import()
    changed = replace_once(
        ORG_YAML,
        "      - {date: 2026-12-24, name: Christmas Eve}\n",
        "      - {date: 2026-12-31, name: New Year's Eve}\n",
    )

    report = run_import(changed)

    assert counts(report)["calendars"] == (0, 1, 1)
    assert list(Holiday.objects.values_list("date", "name")) == [
        (datetime.date(2026, 12, 31), "New Year's Eve")
    ]


def test_it_reads_json_with_line_numbers(db):
    data = json.loads(json.dumps(yaml.safe_load(ORG_YAML), default=str))
    text = json.dumps(data, indent="\t")

    report = run_import(text, source_name="org.json")

    assert counts(report)["departments"] == (3, 0, 0)
    assert Holiday.objects.get().date == datetime.date(2026, 12, 24)
    assert not run_import(text, source_name="org.json").changed

    data["departments"][2]["calendar"] = "Moon base"
    bad = json.dumps(data, indent=2)
    with pytest.raises(OrgImportError) as excinfo:
        run_import(bad, source_name="org.json")
    assert excinfo.value.messages == [
        f"org.json line {line_of(bad, 'Moon base')}: departments[2].calendar: "
        "unknown calendar 'Moon base'"
    ]


def test_it_reports_json_syntax_errors_by_line(db):
    text = '{\n  "calendars": [\n    {"name": "x",}\n  ]\n}\n'

    with pytest.raises(OrgImportError) as excinfo:
        run_import(text, source_name="org.json")

    assert excinfo.value.messages[0].startswith("org.json line 3: JSON syntax error")


def test_it_gives_new_people_the_default_password_and_keeps_passwords_after(db):
    run_import(default_password="welcome-2026")
    ada = User.objects.get(username="ada")
    assert ada.check_password("welcome-2026")

    run_import(default_password="something-else-entirely")

    ada.refresh_from_db()
    assert ada.check_password("welcome-2026")


def test_it_gives_new_people_an_unusable_password_without_a_default(db):
    run_import()

    assert not User.objects.get(username="ada").has_usable_password()


def test_it_sets_a_password_from_the_file_only_when_it_differs(db):
    UserFactory(username="ada")
    with_password = replace_once(
        ORG_YAML,
        "    email: ada@example.com\n",
        "    email: ada@example.com\n    password: Tr0ub4dor&3x\n",
    )

    first = run_import(with_password)
    second = run_import(with_password)

    assert User.objects.get(username="ada").check_password("Tr0ub4dor&3x")
    assert counts(first)["people"] == (1, 1, 0)
    assert counts(second)["people"] == (0, 0, 2)


def test_it_keeps_hr_group_membership_in_line_with_the_file(db):
    run_import()
    not_hr = replace_once(ORG_YAML, "    is_hr: true\n", "")

    report = run_import(not_hr)

    assert counts(report)["people"] == (0, 1, 1)
    assert not User.objects.filter(groups__name=HR_GROUP).exists()
    assert counts(run_import())["people"] == (0, 1, 1)
    assert list(User.objects.filter(groups__name=HR_GROUP).values_list("username", flat=True)) == [
        "grace"
    ]


def test_it_moves_the_primary_department_to_the_one_in_the_file(db):
    legal = DepartmentFactory(slug="legal", name="Legal", code="LEG")
    MembershipFactory(user=UserFactory(username="grace"), department=legal, is_primary=True)

    report = run_import()

    assert counts(report)["memberships"] == (3, 1, 0)  # legal stepped down
    assert set(
        Membership.objects.filter(user__username="grace").values_list(
            "department__slug", "is_primary"
        )
    ) == {("legal", False), ("sales", True), ("it", False)}


def test_it_rolls_back_a_dry_run(db):
    report = run_import(dry_run=True)

    assert report.dry_run
    assert counts(report)["people"] == (2, 0, 0)
    assert not Department.objects.exists()
    assert not User.objects.exists()


BAD_FILES = {
    "unknown key": (
        "    is_provider: false\n",
        "    is_provider: false\n    colour: blue\n",
        "colour: blue",
        "departments[1].colour",
        "unknown key 'colour'",
    ),
    "bad timezone": (
        "timezone: America/New_York",
        "timezone: America/Gotham",
        "America/Gotham",
        "calendars[1].timezone",
        "America/Gotham is not a known timezone",
    ),
    "overlapping hours": (
        '      mon-fri: ["09:00-12:00", "13:00-17:00"]\n',
        '      mon-fri: ["09:00-12:00", "13:00-17:00"]\n      wed: "11:00-14:00"\n',
        "11:00-14:00",
        "calendars[0].working_hours.wed",
        "working hours overlap on Wednesday: 09:00-12:00 and 11:00-14:00",
    ),
    "unknown department": (
        "{department: it, role: member}",
        "{department: legal, role: member}",
        "department: legal",
        "people[1].memberships[1].department",
        "unknown department 'legal'",
    ),
    "two primaries": (
        "{department: it, role: member}",
        "{department: it, role: member, primary: true}",
        "{department: it, role: member, primary: true}",
        "people[1].memberships[1].primary",
        "exactly one membership must be primary",
    ),
    "bad duration": (
        "urgent: {first_response: 30m, resolution: 4h}",
        "urgent: {first_response: 30m, resolution: 4 hours}",
        "4 hours",
        "departments[0].targets.urgent.resolution",
        "'4 hours' is not a duration (write e.g. 30m, 4h or 1h30m)",
    ),
    "days as duration": (
        "normal: {first_response: 4h, resolution: 16h}",
        "normal: {first_response: 4h, resolution: 2d}",
        "resolution: 2d",
        "departments[0].targets.normal.resolution",
        "days are ambiguous",
    ),
    "unknown parent": (
        "    parent: ops\n",
        "    parent: operations\n",
        "parent: operations",
        "departments[0].parent",
        "unknown department 'operations'",
    ),
    "yaml syntax error": (
        "    first_name: Grace\n",
        "    first_name: Grace\n     nested: oops\n",
        "nested: oops",
        "",
        "YAML syntax error: mapping values are not allowed here",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_it_refuses_a_bad_file_with_the_line_and_changes_nothing(db, case):
    old, new, line_fragment, path, message = case
    run_import()
    # A valid change early in the file must not be applied either.
    text = replace_once(ORG_YAML, "Workplace IT.", "Workplace IT and telephony.")
    text = replace_once(text, old, new)
    state = database_state()

    with pytest.raises(OrgImportError) as excinfo:
        run_import(text)

    assert len(excinfo.value.messages) == 1, excinfo.value.messages
    prefix = f"org.yaml line {line_of(text, line_fragment)}: " + (f"{path}: " if path else "")
    assert excinfo.value.messages[0].startswith(prefix), excinfo.value.messages
    assert message in excinfo.value.messages[0]
    assert database_state() == state


def test_it_creates_nothing_from_a_file_with_one_problem_at_the_end(db):
    text = ORG_YAML + "    unexpected: true\n"
    state = database_state()

    with pytest.raises(OrgImportError) as excinfo:
        run_import(text)

    assert excinfo.value.messages == [
        f"org.yaml line {line_of(text, 'unexpected: true')}: people[1].unexpected: "
        "unknown key 'unexpected' (expected one of: username, memberships, first_name, "
        "last_name, email, password, is_hr)"
    ]
    assert database_state() == state


def test_it_reports_every_problem_at_once(db):
    text = replace_once(ORG_YAML, "timezone: America/New_York", "timezone: Nowhere/Town")
    text = replace_once(text, "role: agent", "role: boss")
    text = replace_once(text, "    code: SAL\n", "")
    text = replace_once(text, "default_priority: high", "default_priority: asap")

    with pytest.raises(OrgImportError) as excinfo:
        run_import(text)

    assert [(p.line, p.path) for p in excinfo.value.problems] == [
        (line_of(text, "Nowhere/Town"), "calendars[1].timezone"),
        (line_of(text, "default_priority: asap"), "departments[0].services[0].default_priority"),
        (line_of(text, "slug: sales"), "departments[2]"),
        (line_of(text, "role: boss"), "people[0].memberships[0].role"),
    ]
    assert "missing required key 'code'" in excinfo.value.messages[2]


def test_it_refuses_a_parent_loop(db):
    text = replace_once(
        ORG_YAML, "    is_provider: false\n", "    is_provider: false\n    parent: it\n"
    )

    with pytest.raises(OrgImportError) as excinfo:
        run_import(text)

    assert any(
        "departments[1].parent: this parent makes a loop: ops -> it -> ops" in message
        for message in excinfo.value.messages
    )
    assert not Department.objects.exists()


def test_it_refuses_a_name_another_stored_department_has(db):
    DepartmentFactory(slug="information-technology", name="IT", code="INF")

    with pytest.raises(OrgImportError) as excinfo:
        run_import()

    assert excinfo.value.messages == [
        f"org.yaml line {line_of(ORG_YAML, 'name: IT')}: departments[0].name: "
        "Department with this Name already exists."
    ]


def test_the_command_imports_and_prints_a_summary(db, tmp_path, capsys):
    path = tmp_path / "org.yaml"
    path.write_text(ORG_YAML, encoding="utf-8")

    call_command("import_org", str(path))
    call_command("import_org", str(path))

    output = capsys.readouterr().out
    assert "Imported org.yaml:" in output
    assert "departments     3 created    0 updated    0 unchanged" in output
    assert "departments     0 created    0 updated    3 unchanged" in output
    assert "Nothing to change" in output


def test_the_command_dry_run_saves_nothing(db, tmp_path, capsys):
    path = tmp_path / "org.yaml"
    path.write_text(ORG_YAML, encoding="utf-8")

    call_command("import_org", str(path), "--dry-run")

    assert "Dry run of org.yaml (nothing saved)" in capsys.readouterr().out
    assert not Department.objects.exists()


def test_the_command_fails_with_every_message(db, tmp_path):
    path = tmp_path / "org.yaml"
    text = replace_once(ORG_YAML, "role: agent", "role: boss")
    text = replace_once(text, "code: IT\n", "code:\n")
    path.write_text(text)

    with pytest.raises(CommandError) as excinfo:
        call_command("import_org", str(path))

    message = str(excinfo.value)
    assert message.startswith("org.yaml: 2 problems, nothing was changed:")
    code_line = text.splitlines().index("    code:") + 1
    assert f"org.yaml line {code_line}: departments[0].code: needs a value" in message
    assert "people[0].memberships[0].role: 'boss' is not one of: member, agent, manager" in message
    assert not Department.objects.exists()


def test_the_command_fails_on_a_missing_file(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_org", str(tmp_path / "missing.yaml"))
