"""The team pulse: who is asked, the anonymous answer, once per member and department, the
release when the quarter's survey closes, and nothing from fewer than ANONYMITY_MIN answers.

Sales has three members (requester, colleague, customer_manager), IT two (agent,
provider_manager) and Legal one (outsider): Sales's pulse can be shown, IT's and Legal's never.
"""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from core.periods import parse_quarter
from departments.choices import Role
from surveys import services, tasks
from surveys.models import PulseAnswer, PulseInvitationItem, RelationshipInvitation
from surveys.selectors import department_pulse
from tests.factories import MembershipFactory, UserFactory

from .conftest import Q3_OPENED
from .test_services import _at_once, postgres_only

Q3 = parse_quarter("2026-Q3")
CLOSES = Q3_OPENED + datetime.timedelta(days=services.RELATIONSHIP_OPEN_DAYS)


def day(n, hour=6):
    return Q3_OPENED + datetime.timedelta(days=n, hours=hour - 6)


def invitation_of(user):
    return RelationshipInvitation.objects.get(user=user)


def answer(user, morale, collaboration, *, department=None, now=None):
    invitation = invitation_of(user)
    items = invitation.pulse_items.all()
    item = items.get(department=department) if department else items.get()
    return services.pulse_answer(
        invitation=invitation,
        respondent=user,
        answers=[{"item": item.pk, "morale": morale, "collaboration": collaboration}],
        now=now or day(1),
    )


def latest(department, *, now):
    return department_pulse(department=department, last=Q3, length=2, now=now)[-1]


# Who is asked


def test_it_asks_every_active_member_about_each_of_their_departments(org, quarter_used):
    both = UserFactory(username="both")
    MembershipFactory(user=both, department=org.customer, role=Role.MEMBER)
    MembershipFactory(user=both, department=org.provider, role=Role.AGENT, is_primary=False)
    org.colleague.is_active = False
    org.colleague.save()
    report = services.relationship_survey_open(quarter="2026-Q3", now=Q3_OPENED, email=False)
    asked = set(
        PulseInvitationItem.objects.values_list("invitation__user__username", "department__slug")
    )
    assert asked == {
        ("requester", "sales"),
        ("customer_manager", "sales"),
        ("agent", "it"),
        ("provider_manager", "it"),
        ("outsider", "legal"),
        ("both", "sales"),
        ("both", "it"),
    }
    assert report.pulse_items_created == 7
    # Opening again asks nobody twice.
    again = services.relationship_survey_open(quarter="2026-Q3", now=day(1), email=False)
    assert again.pulse_items_created == 0
    assert PulseInvitationItem.objects.count() == 7


# The answer


def test_an_answer_holds_the_department_and_quarter_only(opened, org):
    assert answer(org.requester, 2, 5) == 1
    stored = PulseAnswer.objects.get()
    assert (stored.survey, stored.department, stored.morale, stored.collaboration) == (
        opened,
        org.customer,
        2,
        5,
    )
    fields = {field.name for field in PulseAnswer._meta.get_fields()}
    assert fields == {"id", "survey", "department", "morale", "collaboration"}
    assert isinstance(stored.pk, type(PulseAnswer().pk))  # a random uuid, not a counter
    item = invitation_of(org.requester).pulse_items.get()
    assert item.answered is True
    assert {field.name for field in PulseInvitationItem._meta.get_fields()} == {
        "id",
        "invitation",
        "department",
        "answered",
    }


def test_a_member_answers_once_per_department_and_quarter(opened, org):
    answer(org.requester, 4, 4)
    with pytest.raises(ValidationError, match="answered for these departments already"):
        answer(org.requester, 1, 1, now=day(2))
    assert list(PulseAnswer.objects.values_list("morale", flat=True)) == [4]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"morale": 3}, "Choose a rating"),
        ({"morale": 0, "collaboration": 3}, "Choose a rating"),
        ({"morale": 3, "collaboration": 6}, "Choose a rating"),
        ({"morale": True, "collaboration": 3}, "Choose a rating"),
        ({"morale": "3", "collaboration": 3}, "Choose a rating"),
    ],
)
def test_it_refuses_an_answer_that_is_not_two_ratings_from_1_to_5(opened, org, values, message):
    invitation = invitation_of(org.requester)
    item = invitation.pulse_items.get()
    with pytest.raises(ValidationError, match=message):
        services.pulse_answer(
            invitation=invitation,
            respondent=org.requester,
            answers=[{"item": item.pk, **values}],
            now=day(1),
        )
    assert not PulseAnswer.objects.exists()
    item.refresh_from_db()
    assert item.answered is False


def test_it_refuses_someone_elses_department_and_invitation(opened, org):
    mine = invitation_of(org.requester)
    theirs = invitation_of(org.agent).pulse_items.get()
    with pytest.raises(ValidationError, match="no such department of yours"):
        services.pulse_answer(
            invitation=mine,
            respondent=org.requester,
            answers=[{"item": theirs.pk, "morale": 5, "collaboration": 5}],
            now=day(1),
        )
    with pytest.raises(PermissionDenied):
        services.pulse_answer(
            invitation=invitation_of(org.agent),
            respondent=org.requester,
            answers=[{"item": theirs.pk, "morale": 5, "collaboration": 5}],
            now=day(1),
        )
    assert not PulseAnswer.objects.exists()


def test_it_refuses_answers_once_the_survey_has_closed(opened, org):
    with pytest.raises(ValidationError, match="closed"):
        answer(org.requester, 3, 3, now=CLOSES)
    assert not PulseAnswer.objects.exists()


def test_closing_rewrites_the_answers_in_random_order_and_keeps_the_figures(opened, org):
    for user, morale in ((org.requester, 1), (org.colleague, 2), (org.customer_manager, 5)):
        answer(user, morale, 3)
    before = set(PulseAnswer.objects.values_list("id", flat=True))
    assert services.relationship_surveys_close(now=CLOSES) == 1
    after = PulseAnswer.objects.all()
    assert set(after.values_list("id", flat=True)).isdisjoint(before)
    assert sorted(after.values_list("department__slug", "morale", "collaboration")) == [
        ("sales", 1, 3),
        ("sales", 2, 3),
        ("sales", 5, 3),
    ]
    assert PulseInvitationItem.objects.filter(answered=True).count() == 3
    # A second run closes nothing and shuffles nothing.
    assert services.relationship_surveys_close(now=CLOSES + datetime.timedelta(days=1)) == 0


# Published when the quarter's survey closes, from ANONYMITY_MIN answers


def test_nothing_is_shown_while_the_survey_runs(opened, org):
    for user in (org.requester, org.colleague, org.customer_manager):
        answer(user, 4, 2)
    with time_machine.travel(CLOSES - datetime.timedelta(minutes=1), tick=False):
        running = latest(org.customer, now=CLOSES - datetime.timedelta(minutes=1))
    assert running.released is False
    assert running.figures["morale"].value is None
    assert running.distributions is None
    assert (running.invited, running.answered) == (3, 3)  # how many, not what


def test_a_closed_quarter_shows_means_and_distributions_from_the_threshold_on(opened, org):
    assert settings.ANONYMITY_MIN == 3
    for user, morale, collaboration in (
        (org.requester, 5, 2),
        (org.colleague, 4, 2),
        (org.customer_manager, 3, 5),
        (org.agent, 1, 1),
        (org.provider_manager, 2, 1),
        (org.outsider, 1, 1),
    ):
        answer(user, morale, collaboration)
    with time_machine.travel(CLOSES, tick=False):
        sales = latest(org.customer, now=CLOSES)
        it = latest(org.provider, now=CLOSES)
        legal = latest(org.other, now=CLOSES)
    assert sales.released
    assert not sales.hidden
    assert sales.figures["morale"].value == pytest.approx(4.0)
    assert sales.figures["collaboration"].value == pytest.approx(3.0)
    assert sales.distributions == {
        "morale": {1: 0, 2: 0, 3: 1, 4: 1, 5: 1},
        "collaboration": {1: 0, 2: 2, 3: 0, 4: 0, 5: 1},
    }
    for small, count in ((it, 2), (legal, 1)):
        assert small.released
        assert small.hidden
        assert small.figures["morale"].count == count
        assert small.figures["morale"].value is None
        assert small.figures["collaboration"].value is None
        assert small.distributions is None


def test_the_trend_shows_each_closed_quarter_on_its_own(opened, org):
    for user in (org.requester, org.colleague, org.customer_manager):
        answer(user, 2, 2)
    services.relationship_surveys_close(now=CLOSES)
    q4_opened = datetime.datetime(2027, 1, 1, 6, tzinfo=Q3_OPENED.tzinfo)
    services.relationship_survey_open(quarter="2026-Q4", now=q4_opened, email=False)
    for user in (org.requester, org.colleague):
        invitation = RelationshipInvitation.objects.get(user=user, survey__quarter="2026-Q4")
        services.pulse_answer(
            invitation=invitation,
            respondent=user,
            answers=[{"item": invitation.pulse_items.get().pk, "morale": 5, "collaboration": 5}],
            now=q4_opened + datetime.timedelta(days=1),
        )
    later = q4_opened + datetime.timedelta(days=services.RELATIONSHIP_OPEN_DAYS)
    with time_machine.travel(later, tick=False):
        trend = department_pulse(
            department=org.customer, last=parse_quarter("2026-Q4"), length=3, now=later
        )
    assert [q.quarter for q in trend] == ["2026-Q2", "2026-Q3", "2026-Q4"]
    assert [q.released for q in trend] == [False, True, True]
    assert trend[1].figures["morale"].value == pytest.approx(2.0)
    # Q4's two answers are withheld: nothing in Q3's figure, or both together, gives them.
    assert trend[2].hidden
    assert trend[2].figures["morale"].value is None
    assert trend[2].figures["morale"].count == 2


# The page


def test_the_quarterly_page_takes_the_pulse_and_says_what_is_wrong(client, opened, org):
    invitation = invitation_of(org.agent)  # IT rated nobody: the pulse alone
    item = invitation.pulse_items.get()
    client.force_login(org.agent)
    url = f"/surveys/quarterly/{invitation.pk}/"
    with time_machine.travel(day(1), tick=False):
        page = client.get(url)
        assertContains(page, "How do you feel about working in this department?")
        assertNotContains(page, "You have rated every department")
        half = client.post(url, {f"pulse-{item.pk}-morale": "4"})
        assert half.status_code == 400
        assertContains(half, "Answer both questions, or neither.", status_code=400)
        wrong = client.post(
            url, {f"pulse-{item.pk}-morale": "9", f"pulse-{item.pk}-collaboration": "3"}
        )
        assert wrong.status_code == 400
        assert not PulseAnswer.objects.exists()
        done = client.post(
            url, {f"pulse-{item.pk}-morale": "4", f"pulse-{item.pk}-collaboration": "3"}
        )
        assert done.status_code == 302
        again = client.get(url)
    assertContains(again, "You have rated every department")
    assert PulseAnswer.objects.get().department == org.provider
    invitation.refresh_from_db()
    assert invitation.completed_at is not None  # no more reminders


# Time travel through the beat task, and real concurrency


def test_the_daily_task_closes_the_quarter_and_then_its_pulse_is_out(opened, org):
    for user in (org.requester, org.colleague, org.customer_manager):
        answer(user, 3, 4)
    with time_machine.travel(CLOSES - datetime.timedelta(hours=1), tick=False):
        assert tasks.send_survey_reminders.delay().get()["closed"] == 0
        assert latest(org.customer, now=timezone.now()).released is False
    with time_machine.travel(CLOSES + datetime.timedelta(hours=3), tick=False):
        assert tasks.send_survey_reminders.delay().get()["closed"] == 1
        out = latest(org.customer, now=timezone.now())
    assert out.released is True
    assert out.figures["collaboration"].value == pytest.approx(4.0)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_answers_of_one_member_leave_exactly_one(org, service):
    from .conftest import file_request

    file_request(org.requester, service)
    services.relationship_survey_open(quarter="2026-Q3", now=Q3_OPENED, email=False)
    results = _at_once(10, lambda: answer(org.requester, 5, 5))
    assert [kind for kind, _ in results].count("ok") == 1
    assert all(isinstance(value, ValidationError) for kind, value in results if kind == "error")
    assert PulseAnswer.objects.count() == 1


def test_computing_the_scores_makes_the_pulse_release_the_scorecard_reads(opened, org):
    from scorecards.services import scores_compute
    from surveys.models import SurveyRelease

    for user in (org.requester, org.colleague, org.customer_manager):
        answer(user, 3, 4)
    scores_compute(period=parse_quarter("2026-Q4"), now=CLOSES - datetime.timedelta(hours=1))
    assert not SurveyRelease.objects.filter(family="pulse").exists()
    scores_compute(period=parse_quarter("2026-Q4"), now=CLOSES)
    release = SurveyRelease.objects.get(family="pulse", quarter="2026-Q3")
    assert [cell["totals"]["n"] for cell in release.cells] == [3]
