"""`org_import` of agreements: created once, unchanged the second time, a proposal answered
by a later file, agreed versions never rewritten, every problem with its line."""

import datetime
import zoneinfo

import pytest

from departments.choices import AgreementState
from departments.models import Agreement, AgreementTarget
from departments.org_import import OrgImportError, org_import

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")

ORG = """\
calendars:
  - name: Office
    timezone: Europe/Berlin
    working_hours:
      mon-fri: "09:00-17:00"
  - name: Extended
    timezone: Europe/Berlin
    working_hours:
      mon-fri: "07:00-20:00"
departments:
  - slug: it
    name: IT
    code: IT
    calendar: Office
    targets:
      normal: {first_response: 4h, resolution: 16h}
    services:
      - name: Laptops
  - slug: sales
    name: Sales
    code: SAL
    calendar: Office
  - slug: legal
    name: Legal
    code: LEG
    calendar: Office
people:
  - username: ida
    memberships:
      - {department: it, role: manager}
  - username: sam
    memberships:
      - {department: sales, role: manager}
agreements:
  - provider: it
    customer: sales
    version: 1
    valid_from: 2026-01-01
    proposed_by: ida
    decided_by: sam
    targets:
      normal: {first_response: 2h, resolution: 8h}
  - provider: it
    customer: sales
    version: 2
    valid_from: 2026-07-01
    calendar: Extended
    proposed_by: sam
    proposed_side: customer
    decided_by: ida
    comment: Longer hours for the sales fair
    targets:
      normal: {first_response: 1h, resolution: 8h}
    services:
      - name: Laptops
        targets:
          urgent: {first_response: 15m, resolution: 2h}
  - provider: it
    customer: legal
    version: 1
    state: declined
    valid_from: 2026-09-01
    decision_comment: Legal needs no faster answers
    targets:
      low: {first_response: 8h, resolution: 40h}
  - provider: it
    customer: "*"
    version: 1
    state: proposed
    valid_from: 2027-01-01
    targets:
      high: {first_response: 1h, resolution: 8h}
"""

pytestmark = pytest.mark.clock(datetime.datetime(2026, 11, 23, 10, tzinfo=BERLIN))


def run(text=ORG, **kwargs):
    return org_import(data_text=text, source_name="org.yaml", **kwargs)


def agreements_state():
    return (
        list(Agreement.objects.order_by("pk").values()),
        list(AgreementTarget.objects.order_by("pk").values()),
    )


def line_of(text, fragment, occurrence=0):
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    return lines[occurrence]


def replace_once(text, old, new):
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_it_creates_the_versions_with_their_states_and_windows(db):
    report = run()

    counts = report.counts["agreements"]
    assert (counts.created, counts.updated, counts.unchanged) == (4, 0, 0)
    v1, v2 = Agreement.objects.filter(customer__slug="sales").order_by("version")
    assert (v1.state, v1.superseded_by, v1.proposed_by.username) == (
        AgreementState.SUPERSEDED,
        v2,
        "ida",
    )
    assert v1.effective_from == datetime.datetime(2026, 1, 1, tzinfo=BERLIN)
    assert v1.effective_until == v2.effective_from == datetime.datetime(2026, 7, 1, tzinfo=BERLIN)
    assert (v2.state, v2.calendar.name, v2.proposed_side, v2.decided_by.username) == (
        AgreementState.ACCEPTED,
        "Extended",
        "customer",
        "ida",
    )
    assert set(
        v2.targets.values_list("service__name", "priority", "first_response", "resolution")
    ) == {
        (None, "normal", datetime.timedelta(hours=1), datetime.timedelta(hours=8)),
        ("Laptops", "urgent", datetime.timedelta(minutes=15), datetime.timedelta(hours=2)),
    }
    legal = Agreement.objects.get(customer__slug="legal")
    assert (legal.state, legal.decision_comment, legal.effective_from) == (
        AgreementState.DECLINED,
        "Legal needs no faster answers",
        None,
    )
    every = Agreement.objects.get(customer=None)
    assert (every.state, every.effective_from) == (AgreementState.PROPOSED, None)


def test_it_changes_nothing_the_second_time(db):
    run()
    before = agreements_state()

    report = run()

    counts = report.counts["agreements"]
    assert (counts.created, counts.updated, counts.unchanged) == (0, 0, 4)
    assert not report.changed
    assert agreements_state() == before


def test_a_later_file_answers_or_changes_a_proposal(db):
    run()
    text = replace_once(
        ORG,
        "    state: proposed\n    valid_from: 2027-01-01\n",
        "    state: accepted\n    valid_from: 2027-01-01\n",
    )
    text = replace_once(
        text,
        "high: {first_response: 1h, resolution: 8h}",
        "high: {first_response: 2h, resolution: 8h}",
    )

    report = run(text)

    assert report.counts["agreements"].updated == 1
    every = Agreement.objects.get(customer=None)
    assert every.state == AgreementState.ACCEPTED
    assert every.effective_from == datetime.datetime(2027, 1, 1, tzinfo=BERLIN)
    assert list(every.targets.values_list("first_response", flat=True)) == [
        datetime.timedelta(hours=2)
    ]
    assert run(text).counts["agreements"].unchanged == 4


def test_an_agreed_version_never_changes(db):
    run()
    before = agreements_state()
    text = replace_once(
        ORG,
        "normal: {first_response: 2h, resolution: 8h}",
        "normal: {first_response: 3h, resolution: 8h}",
    )

    with pytest.raises(OrgImportError) as refused:
        run(text)

    assert refused.value.messages == [
        f"org.yaml line {line_of(text, 'customer: sales') - 1}: agreements[0]: Sales-IT "
        "agreement v1 is superseded: an agreed version never changes; add version 2 with "
        "the changes"
    ]
    assert agreements_state() == before


def test_an_answer_once_given_stays(db):
    run()
    text = replace_once(ORG, "    state: declined\n", "    state: accepted\n")

    with pytest.raises(OrgImportError) as refused:
        run(text)

    assert refused.value.messages == [
        f"org.yaml line {line_of(text, 'state: accepted')}: agreements[2].state: Legal-IT "
        "agreement v1 is declined already: its answer stays as it was given"
    ]


# case -> (text to replace, its replacement, the line it is on (a fragment of it and which
# of the lines with it), the path, the message)
BAD = {
    "unknown provider": (
        "  - provider: it\n    customer: legal\n",
        "  - provider: itt\n    customer: legal\n",
        ("provider: itt", 0),
        "agreements[2].provider",
        "unknown department 'itt'",
    ),
    "unknown customer": (
        '    customer: "*"\n',
        "    customer: everyone\n",
        ("customer: everyone", 0),
        "agreements[3].customer",
        "unknown department 'everyone' (write '*' for every customer)",
    ),
    "unknown service": (
        "      - name: Laptops\n        targets:",
        "      - name: Laptop computers\n        targets:",
        ("name: Laptop computers", 0),
        "agreements[1].services[0].name",
        "unknown service 'Laptop computers' of 'it'",
    ),
    "unknown calendar": (
        "    calendar: Extended\n",
        "    calendar: Extended hours\n",
        ("calendar: Extended hours", 0),
        "agreements[1].calendar",
        "unknown calendar 'Extended hours'",
    ),
    "unknown person": (
        "    decided_by: sam\n",
        "    decided_by: samuel\n",
        ("decided_by: samuel", 0),
        "agreements[0].decided_by",
        "unknown person 'samuel'",
    ),
    "bad version": (
        "    version: 2\n",
        "    version: two\n",
        ("version: two", 0),
        "agreements[1].version",
        "'two' is not a version (1, 2, ...)",
    ),
    "bad state": (
        "    state: declined\n",
        "    state: refused\n",
        ("state: refused", 0),
        "agreements[2].state",
        "'refused' is not one of: proposed, accepted, declined, withdrawn",
    ),
    "resolution before response": (
        "urgent: {first_response: 15m, resolution: 2h}",
        "urgent: {first_response: 3h, resolution: 2h}",
        ("urgent: {first_response: 3h", 0),
        "agreements[1].services[0].targets.urgent.resolution",
        "Resolution cannot be due before the first response.",
    ),
    "ends before it starts": (
        "    valid_from: 2026-09-01\n",
        "    valid_from: 2026-09-01\n    valid_until: 2026-08-31\n",
        ("valid_until: 2026-08-31", 0),
        "agreements[2].valid_until",
        "The agreement cannot end before it starts.",
    ),
    "a proposal answered": (
        "    state: proposed\n",
        "    state: proposed\n    decision_comment: Fine by us\n",
        ("decision_comment: Fine by us", 0),
        "agreements[3].decision_comment",
        "a proposal is not decided yet (state: proposed)",
    ),
    "every customer proposed by a customer": (
        "    state: proposed\n",
        "    state: proposed\n    proposed_side: customer\n",
        ("proposed_side: customer", 1),
        "agreements[3].proposed_side",
        "an agreement with every customer is the provider's proposal",
    ),
    "twice": (
        "    customer: legal\n",
        "    customer: sales\n",
        ("version: 1", 1),
        "agreements[2].version",
        "it agreement with sales v1 is listed twice (first at line 35)",
    ),
}


@pytest.mark.parametrize("case", BAD.values(), ids=BAD.keys())
def test_it_refuses_a_bad_agreement_with_its_line_and_changes_nothing(db, case):
    old, new, (fragment, occurrence), path, message = case
    text = replace_once(ORG, old, new)

    with pytest.raises(OrgImportError) as refused:
        run(text)

    line = line_of(text, fragment, occurrence)
    assert refused.value.messages == [f"org.yaml line {line}: {path}: {message}"]
    assert not Agreement.objects.exists()


def test_one_proposal_at_a_time_per_pair(db):
    text = (
        ORG
        + """\
  - provider: it
    customer: "*"
    version: 2
    state: proposed
    valid_from: 2027-02-01
    targets:
      low: {first_response: 8h, resolution: 40h}
"""
    )

    with pytest.raises(OrgImportError) as refused:
        run(text)

    assert [message.split(": ", 1)[1] for message in refused.value.messages] == [
        "agreements[3].state: one proposal at a time per pair (v2 too)",
        "agreements[4].state: one proposal at a time per pair (v1 too)",
    ]


def test_a_dry_run_creates_no_agreement(db):
    report = run(dry_run=True)

    assert report.counts["agreements"].created == 4
    assert not Agreement.objects.exists()
