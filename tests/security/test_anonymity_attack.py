"""An attacker who reads everything each role may read of a quarter (every scorecard of the
quarter, its months and weeks, with every counterpart; every department's survey results)
and tries every subtraction: nothing about fewer than ANONYMITY_MIN answers comes out.

The answers are built so that the naive ways leak: a provider's total minus its shown
customers, a dimension answered by fewer people than the overall rating, a quarter minus its
months, a month minus its weeks, a customer's total minus its providers. The team pulse of
each department is read too (by its members and HR), with departments of one, two and more
answers; and `manage.py audit_anonymity` reaches the same verdict.
"""

import datetime
import zoneinfo

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from core.periods import WEEK, parse_period, period_for_date
from departments.choices import Role
from requests_app import services
from scorecards.services import scores_compute
from surveys.choices import DIMENSIONS, PULSE_QUESTIONS
from surveys.models import (
    PulseAnswer,
    RelationshipAnswer,
    RelationshipSurvey,
    RequestQualityRating,
    RequestSurvey,
    SurveyRelease,
    SurveyResponse,
)
from tests.attacker import exposed
from tests.factories import DepartmentFactory, MembershipFactory, ServiceFactory, UserFactory

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
# After September's answers are final (8 October) and the relationship survey closed.
NOW = datetime.datetime(2026, 11, 2, 10, tzinfo=BERLIN)
pytestmark = pytest.mark.clock(NOW)
QUARTER = parse_period("2026-Q3")


def day(month, number, hour=10):
    return datetime.datetime(2026, month, number, hour, tzinfo=BERLIN)


@pytest.fixture
def attacked(org):
    marketing = DepartmentFactory(name="Marketing", slug="marketing", code="MKT")
    requesters = {}
    for department in (org.customer, org.other, marketing, org.provider):
        user = UserFactory(username=f"member-{department.slug}")
        MembershipFactory(user=user, department=department, role=Role.MEMBER)
        requesters[department.pk] = user
    services_of = {d.pk: ServiceFactory(department=d) for d in (org.provider, org.other)}
    answers = {"request": [], "quality": [], "relationship": [], "pulse": []}

    def request_answer(provider, customer, when, overall, attitude=None):
        request = services.request_create(
            requester=requesters[customer.pk],
            service=services_of[provider.pk],
            title="r",
            description="d",
            now=when,
        )
        survey = RequestSurvey.objects.create(
            request=request,
            requester=requesters[customer.pk],
            provider_department=provider,
            requesting_department=customer,
            sent_at=when,
            closes_at=when + datetime.timedelta(days=14),
        )
        response = SurveyResponse.objects.create(
            survey=survey, overall=overall, attitude=attitude, answered_at=when, updated_at=when
        )
        given = {"rating"} | ({"attitude_mean"} if attitude else set())
        answers["request"].append((response.pk, provider.pk, customer.pk, when, given))
        rating = RequestQualityRating.objects.create(
            request=request,
            rated_by=None,
            provider_department=provider,
            requesting_department=customer,
            clarity=overall,
            rated_at=when,
            updated_at=when,
        )
        answers["quality"].append((rating.pk, provider.pk, customer.pk, when, {"request_quality"}))

    it, sales, legal = org.provider, org.customer, org.other
    # IT: Sales answers 3 in July (one week), 1 in August; Legal 4 over the quarter, of which
    # one in the last week of September; Marketing 2.
    for number, rating in [(6, 5), (7, 4), (8, 2)]:
        request_answer(it, sales, day(7, number), rating, attitude=rating)
    request_answer(it, sales, day(8, 12), 1)
    for when in (day(7, 20), day(8, 3), day(9, 9), day(9, 29)):
        request_answer(it, legal, when, 4, attitude=3)
    request_answer(it, marketing, day(9, 15), 2)
    request_answer(it, marketing, day(9, 16), 3)
    # Legal provides to Sales: 3 answers.
    for number in (13, 14, 15):
        request_answer(legal, sales, day(7, number), 3)

    survey = RelationshipSurvey.objects.create(
        quarter=QUARTER.key,
        period_start=QUARTER.start,
        period_end=QUARTER.end,
        opened_at=day(10, 1),
        closes_at=day(10, 15),
        closed_at=day(10, 15),
    )

    def relationship(provider, customer, hire_back, attitude=None):
        answer = RelationshipAnswer.objects.create(
            survey=survey,
            provider_department=provider,
            customer_department=customer,
            hire_back=hire_back,
            attitude=attitude,
            answered_on=datetime.date(2026, 10, 5),
        )
        given = {"hire_back"} | ({"attitude_mean"} if attitude else set())
        answers["relationship"].append((answer.pk, provider.pk, customer.pk, None, given))

    for value in ("yes", "yes", "no"):
        relationship(it, sales, value, attitude=4)
    for value, attitude in (("yes", 2), ("unsure", None), ("no", None)):
        relationship(it, legal, value, attitude=attitude)
    relationship(it, marketing, "no")
    relationship(it, marketing, "no")
    for value in ("yes", "unsure", "yes"):
        relationship(legal, sales, value, attitude=5)

    # The team pulse: Sales 3 answers, IT 4, Legal 2, Marketing 1.
    for department, ratings in (
        (sales, [(4, 2), (5, 3), (3, 3)]),
        (it, [(2, 2), (2, 4), (1, 5), (3, 3)]),
        (legal, [(5, 5), (1, 1)]),
        (marketing, [(1, 4)]),
    ):
        for morale, collaboration in ratings:
            pulse = PulseAnswer.objects.create(
                survey=survey, department=department, morale=morale, collaboration=collaboration
            )
            answers["pulse"].append((pulse.pk, department.pk, None, None, set(PULSE_QUESTIONS)))

    periods = [QUARTER, *(parse_period(f"2026-{m:02d}") for m in (7, 8, 9))]
    first = QUARTER.first_day
    while first < QUARTER.next_first_day:
        week = period_for_date(first, WEEK)
        periods.append(week)
        first = week.next_first_day
    for period in periods:
        scores_compute(period=period, now=NOW)
    return org, periods, answers, [it, sales, legal, marketing]


SNAPSHOT_FIGURES = {
    "csat": ("request", "rating"),
    "mean_rating": ("request", "rating"),
    "attitude_mean": ("request", "attitude_mean"),
    "request_quality": ("quality", "request_quality"),
    "hire_back": ("relationship", "hire_back"),
}
THROUGH = {"request": "surveys_through", "quality": "request_quality_through"}


def _answers_of(answers, family, figure, period, provider, customer, through=None):
    end = period.end if period else None
    if through:
        next_day = datetime.date.fromisoformat(str(through)) + datetime.timedelta(days=1)
        end = datetime.datetime.combine(next_day, datetime.time(), tzinfo=BERLIN)
    return frozenset(
        pk
        for pk, p, c, when, given in answers[family]
        if figure in given
        and (provider is None or p == provider)
        and (customer is None or c == customer)
        and (when is None or (period.start <= when < end))
    )


def test_nothing_about_fewer_than_the_threshold_can_be_worked_out(attacked, api_client):
    org, periods, answers, departments = attacked
    cells = {}

    def add(family, figure, *args, **kwargs):
        cells.setdefault((family, figure), []).append(
            _answers_of(answers, family, figure, *args, **kwargs)
        )

    readers = [org.hr, org.provider_manager, org.customer_manager, org.agent, org.requester]
    for reader in readers:
        api_client.force_authenticate(reader)
        for department in departments:
            for role in ("provider", "customer"):
                for period in periods:
                    for counterpart in [None, *(d for d in departments if d != department)]:
                        query = {"department": department.slug, "role": role}
                        query["period"] = period.key
                        if counterpart:
                            query["counterpart"] = counterpart.slug
                        response = api_client.get("/api/v1/scorecards/", query)
                        if response.status_code != 200:
                            continue
                        shown = response.json()["figures"]
                        provider = department.pk if role == "provider" else None
                        customer = department.pk if role == "customer" else None
                        if counterpart and role == "provider":
                            customer = counterpart.pk
                        elif counterpart:
                            provider = counterpart.pk
                        for name, (family, figure) in SNAPSHOT_FIGURES.items():
                            if shown.get(name) is None:
                                continue
                            through = shown.get(THROUGH.get(family, ""))
                            add(family, figure, period, provider, customer, through)
            response = api_client.get(
                "/api/v1/surveys/summary/", {"department": department.slug, "quarter": "2026-Q3"}
            )
            if response.status_code != 200:
                continue
            summary = response.json()
            relationship = summary["relationship"]
            if relationship:
                by_slug = {d.slug: d.pk for d in departments}
                rows = [(None, relationship["overall"])]
                rows += [
                    (by_slug[r["department"]], r["figures"]) for r in relationship["customers"]
                ]
                for customer, figures in rows:
                    if figures and not figures["hidden"]:
                        add("relationship", "hire_back", None, department.pk, customer)
                        for dimension, figure in figures["dimensions"].items():
                            if figure["value"] is not None:
                                add(
                                    "relationship",
                                    f"{dimension}_mean",
                                    None,
                                    department.pk,
                                    customer,
                                )
            request = summary["request_surveys"]
            if request and request["mean_rating"]["value"] is not None:
                through = request.get("through")
                add("request", "rating", QUARTER, department.pk, None, through)
            quality = summary["request_quality"]
            if quality["request_quality"]["value"] is not None:
                through = quality.get("through")
                add("quality", "request_quality", QUARTER, None, department.pk, through)

            response = api_client.get(
                "/api/v1/surveys/pulse/", {"department": department.slug, "quarter": "2026-Q3"}
            )
            if response.status_code == 200:
                for quarter in response.json()["quarters"]:
                    for question, figure in quarter["figures"].items():
                        if figure["value"] is not None:
                            assert quarter["quarter"] == QUARTER.key
                            add("pulse", question, None, department.pk, None)

    assert cells  # the attacker did read figures
    leaks = {key: exposed(found, settings.ANONYMITY_MIN) for key, found in cells.items()}
    assert {key: groups for key, groups in leaks.items() if groups} == {}
    # Suppression does not hide everything: the departments' totals are still shown.
    assert len(cells[("relationship", "hire_back")]) >= 2
    assert len(cells[("request", "rating")]) >= 4
    # Sales's and IT's pulses are shown, to their members and HR.
    assert len(set(cells[("pulse", "morale")])) == 2


def test_the_audit_finds_nothing_and_would_find_a_pulse_shown_from_too_few(attacked, capsys):
    call_command("audit_anonymity", "2026-Q3")
    assert "no group of fewer answers" in capsys.readouterr().out
    # Forge the release as a careless rule would have made it: Legal's two answers shown.
    release = SurveyRelease.objects.get(family="pulse", quarter="2026-Q3")
    org, *_ = attacked
    for cell in release.cells:
        if cell["provider"] == org.other.pk:
            cell["totals"] = {**cell["totals"], "morale_sum": 6, "collaboration_sum": 6}
    release.save()
    with pytest.raises(CommandError, match="exposed"):
        call_command("audit_anonymity", "2026-Q3")
    assert "pulse morale: 1" in capsys.readouterr().out


def test_the_dimensions_are_decided_on_their_own_answers(attacked, api_client):
    org, _periods, _answers, _departments = attacked
    api_client.force_authenticate(org.hr)
    summary = api_client.get(
        "/api/v1/surveys/summary/", {"department": "it", "quarter": "2026-Q3"}
    ).json()
    overall = summary["relationship"]["overall"]
    # Eight answered hire-back (shown); four gave an attitude, one of them Legal's: the
    # attitude of Sales's three is shown only if Legal's one cannot be worked out.
    assert overall["hidden"] is False
    assert overall["respondents"] == 8
    assert overall["dimensions"]["attitude"]["count"] == 4
    sales = next(r for r in summary["relationship"]["customers"] if r["department"] == "sales")
    shown_both = (
        overall["dimensions"]["attitude"]["value"] is not None
        and sales["figures"] is not None
        and sales["figures"]["dimensions"]["attitude"]["value"] is not None
    )
    assert not shown_both
    assert set(overall["dimensions"]) == set(DIMENSIONS)
