"""`org_import` of escalation levels: a department's file lists them in order and gets
exactly those; a second run changes nothing; every problem has its line."""

import pytest

from departments.models import EscalationLevel
from departments.org_import import OrgImportError, org_import

ORG = """\
calendars:
  - name: Office
    timezone: Europe/Berlin
    working_hours:
      mon-fri: "09:00-17:00"
departments:
  - slug: ops
    name: Operations
    code: OPS
    calendar: Office
  - slug: it
    name: IT
    code: IT
    calendar: Office
    parent: ops
    escalation:
      - {share: 50%, notify: [assignee]}
      - {share: 75%, clock: resolution, notify: [managers], assign_to: ida}
      - {overdue: 4h, notify: [parent_managers, customer_managers], raise_to: urgent}
people:
  - username: ida
    memberships:
      - {department: it, role: manager}
  - username: sam
    memberships:
      - {department: ops, role: member}
"""

pytestmark = pytest.mark.django_db


def load(text):
    return org_import(data_text=text, source_name="org.yaml")


def levels():
    return [
        (lv.number, lv.clock, lv.threshold, lv.value, lv.notify, lv.action, lv.raise_to)
        for lv in EscalationLevel.objects.order_by("number")
    ]


def test_it_loads_the_levels_in_order():
    report = load(ORG)

    assert levels() == [
        (1, "both", "share", 50, ["assignee"], "", ""),
        (2, "resolution", "share", 75, ["managers"], "assign", ""),
        (
            3,
            "both",
            "overdue",
            4 * 3600,
            ["parent_managers", "customer_managers"],
            "raise_priority",
            "urgent",
        ),
    ]
    assert EscalationLevel.objects.get(number=2).assign_to.username == "ida"
    assert report.counts["escalation"].created == 1


def test_it_changes_nothing_the_second_time():
    load(ORG)
    pks = list(EscalationLevel.objects.values_list("pk", flat=True))

    report = load(ORG)

    assert not report.changed
    assert report.counts["escalation"].unchanged == 1
    assert list(EscalationLevel.objects.values_list("pk", flat=True)) == pks


def test_it_replaces_the_set_and_keeps_it_when_the_file_is_silent():
    load(ORG)
    load(ORG.replace("      - {share: 50%, notify: [assignee]}\n", ""))
    assert [lv[3] for lv in levels()] == [75, 4 * 3600]

    silent = ORG.split("    escalation:")[0] + "people:" + ORG.split("people:")[1]
    load(silent)
    assert len(levels()) == 2


def test_it_empties_the_set_back_to_the_default():
    load(ORG)
    emptied = (
        ORG.split("    escalation:")[0] + "    escalation: []\npeople:" + ORG.split("people:")[1]
    )
    report = load(emptied)
    assert levels() == []
    assert report.counts["escalation"].updated == 1


def test_it_reports_every_problem_with_its_line_and_changes_nothing():
    bad = ORG.replace("{share: 50%, notify: [assignee]}", "{share: half, notify: [boss]}")
    bad = bad.replace("assign_to: ida}", "assign_to: sam}")
    bad = bad.replace("{overdue: 4h,", "{overdue: 4h, share: 10%,")

    with pytest.raises(OrgImportError) as error:
        load(bad)

    assert error.value.messages == [
        "org.yaml line 17: departments[1].escalation[0].share: 'half' is not a percentage",
        "org.yaml line 17: departments[1].escalation[0].notify[0]: 'boss' is not one of: "
        "assignee, agents, managers, parent_managers, customer_managers",
        "org.yaml line 18: departments[1].escalation[1].assign_to: "
        "sam is not an agent or manager of IT.",
        "org.yaml line 19: departments[1].escalation[2]: give one of 'share' (e.g. 50%) "
        "or 'overdue' (e.g. 4h)",
    ]
    assert not EscalationLevel.objects.exists()


def test_it_refuses_levels_out_of_order():
    bad = ORG.replace("{share: 75%, clock: resolution,", "{share: 40%, clock: resolution,")

    with pytest.raises(OrgImportError) as error:
        load(bad)

    assert error.value.messages == [
        "org.yaml line 18: departments[1].escalation[1].share: Level 2 must come later on the "
        "clock than level 1: shares rising, then times past due rising."
    ]


AGREEMENT = """\
agreements:
  - provider: it
    customer: ops
    version: 1
    valid_from: 2026-01-01
    proposed_by: ida
    decided_by: sam
    targets:
      normal: {first_response: 2h, resolution: 8h}
    escalation:
      - {share: 80%, clock: resolution, notify: [managers, customer_managers]}
"""


def test_it_loads_an_agreements_levels_once_and_never_rewrites_an_agreed_version():
    org = ORG.replace("role: member}", "role: manager}")
    report = load(org + AGREEMENT)
    levels_of_agreement = EscalationLevel.objects.filter(agreement__isnull=False)
    assert [(lv.value, lv.clock, lv.department.slug) for lv in levels_of_agreement] == [
        (80, "resolution", "it")
    ]
    assert report.counts["agreements"].created == 1

    again = load(org + AGREEMENT)
    assert not again.changed

    with pytest.raises(OrgImportError) as error:
        load(org + AGREEMENT.replace("share: 80%", "share: 85%"))
    assert error.value.messages == [
        "org.yaml line 28: agreements[0]: Operations-IT agreement v1 is accepted: "
        "an agreed version never changes; add version 2 with the changes"
    ]
