"""The breakdown of a provider's clocks by service and by priority, with known answers."""

import datetime
import zoneinfo

import pytest

from core.periods import parse_period
from departments.choices import Role
from requests_app import services
from scorecards.compute import breakdown_figures
from scorecards.models import ScoreSnapshot
from scorecards.services import scores_compute
from tests.factories import (
    DepartmentFactory,
    MembershipFactory,
    ServiceFactory,
    SLATargetFactory,
    UserFactory,
)
from tests.scorecards.helpers import assert_breakdowns_list_own_services

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
HOUR = 3600
WEEK = "2026-W48"


def at(day, hour, minute=0):
    """Week of Monday 23 November 2026 (2026-W48): day 0 = Monday."""
    return datetime.datetime(2026, 11, 23, hour, minute, tzinfo=BERLIN) + datetime.timedelta(
        days=day
    )


# The story happens in the week of Monday 23 November 2026; the clock stands still a week
# later, so that what a test does without travelling comes after it, on any real date.
pytestmark = pytest.mark.clock(datetime.datetime(2026, 12, 1, 10, tzinfo=BERLIN))


@pytest.fixture
def catalog(org):
    laptop = ServiceFactory(department=org.provider, name="Laptop")
    printer = ServiceFactory(department=org.provider, name="Printer")
    SLATargetFactory(
        department=org.provider,
        priority="normal",
        first_response=datetime.timedelta(hours=2),
        resolution=datetime.timedelta(hours=8),
    )
    SLATargetFactory(
        department=org.provider,
        priority="high",
        first_response=datetime.timedelta(hours=1),
        resolution=datetime.timedelta(hours=4),
    )
    return laptop, printer


def file(org, service, when, priority="normal"):
    return services.request_create(
        requester=org.requester,
        service=service,
        title="t",
        description="d",
        priority=priority,
        now=when,
    )


@pytest.fixture
def history(org, catalog):
    """Laptop, normal: A met both clocks (1 h, 3 h); B breached both (3 h, 16 h).
    Printer, high: C met both (30 min, 2 h). Printer, normal: D cancelled before anything was
    due (left out)."""
    laptop, printer = catalog
    a = file(org, laptop, at(0, 9))
    services.request_comment_add(request=a, author=org.agent, body="on it", now=at(0, 10))
    services.request_transition(request=a, actor=org.agent, action="resolve", now=at(0, 12))
    b = file(org, laptop, at(0, 9))
    services.request_acknowledge(request=b, actor=org.agent, now=at(0, 12))
    services.request_transition(request=b, actor=org.agent, action="resolve", now=at(1, 17))
    c = file(org, printer, at(0, 9), priority="high")
    services.request_comment_add(request=c, author=org.agent, body="on it", now=at(0, 9, 30))
    services.request_transition(request=c, actor=org.agent, action="resolve", now=at(0, 11))
    d = file(org, printer, at(0, 9))
    services.request_transition(request=d, actor=org.requester, action="cancel", now=at(0, 9, 30))
    return laptop, printer


def provider_figures(org, department=None):
    return ScoreSnapshot.objects.get(
        department=department or org.provider, role="provider", period=WEEK, counterpart=None
    ).figures


def test_it_breaks_timeliness_down_by_service(org, history):
    laptop, printer = history
    scores_compute(period=parse_period(WEEK), now=at(4, 18))
    by_service = provider_figures(org)["by_service"]
    assert set(by_service) == {str(laptop.pk), str(printer.pk)}
    laptop_row = by_service[str(laptop.pk)]
    assert laptop_row["name"] == "Laptop"
    assert laptop_row["timeliness"] == 0.5
    assert laptop_row["timeliness_n"] == 4
    assert laptop_row["first_response_timeliness"] == 0.5
    assert laptop_row["resolution_timeliness"] == 0.5
    assert laptop_row["resolution_median_seconds"] == pytest.approx(9.5 * HOUR)
    low, high = laptop_row["timeliness_interval"]
    assert 0.14 < low < 0.16
    assert 0.84 < high < 0.86
    # The cancelled printer request is left out: only C's two clocks.
    printer_row = by_service[str(printer.pk)]
    assert printer_row["name"] == "Printer"
    assert printer_row["timeliness"] == 1.0
    assert printer_row["timeliness_n"] == 2
    assert printer_row["resolution_median_seconds"] == pytest.approx(2 * HOUR)


def test_it_breaks_timeliness_down_by_priority(org, history):
    scores_compute(period=parse_period(WEEK), now=at(4, 18))
    by_priority = provider_figures(org)["by_priority"]
    assert set(by_priority) == {"normal", "high"}
    assert by_priority["normal"]["name"] == "Normal"
    assert by_priority["normal"]["timeliness"] == 0.5
    assert by_priority["normal"]["timeliness_n"] == 4
    assert by_priority["normal"]["resolution_median_seconds"] == pytest.approx(9.5 * HOUR)
    assert by_priority["high"]["timeliness"] == 1.0
    assert by_priority["high"]["first_response_timeliness_n"] == 1
    assert by_priority["high"]["resolution_median_seconds"] == pytest.approx(2 * HOUR)


@pytest.fixture
def facilities():
    """Facilities, with its badges service and targets, and an agent."""
    department = DepartmentFactory(name="Facilities", slug="facilities", code="FAC")
    badges = ServiceFactory(department=department, name="Access badges and keys")
    for priority, first, resolution in (("normal", 1, 4), ("high", 1, 2)):
        SLATargetFactory(
            department=department,
            priority=priority,
            first_response=datetime.timedelta(hours=first),
            resolution=datetime.timedelta(hours=resolution),
        )
    agent = UserFactory(username="fac_agent")
    MembershipFactory(user=agent, department=department, role=Role.AGENT)
    return department, badges, agent


def test_it_counts_a_transferred_requests_time_under_the_service_each_department_held(
    org, catalog, facilities
):
    laptop, _ = catalog
    department, badges, fac_agent = facilities
    # Filed to IT as a laptop request: IT answers at once, but passes it on to Facilities
    # only the next day, its resolution due (Monday 17:00) long gone.
    request = file(org, laptop, at(0, 9))
    services.request_acknowledge(request=request, actor=org.agent, now=at(0, 9, 30))
    services.request_transfer(
        request=request, actor=org.agent, department=department, service=badges, now=at(1, 10)
    )
    # Facilities raises it, answers and resolves it in time.
    services.request_priority_change(
        request=request, actor=fac_agent, priority="high", now=at(1, 10, 15)
    )
    services.request_acknowledge(request=request, actor=fac_agent, now=at(1, 10, 30))
    services.request_transition(request=request, actor=fac_agent, action="resolve", now=at(1, 11))

    scores_compute(period=parse_period(WEEK), now=at(4, 18))

    it = provider_figures(org)
    assert set(it["by_service"]) == {str(laptop.pk)}
    assert it["by_service"][str(laptop.pk)]["name"] == "Laptop"
    assert it["by_service"][str(laptop.pk)]["first_response_timeliness"] == 1.0
    assert it["by_service"][str(laptop.pk)]["resolution_timeliness"] == 0.0
    assert set(it["by_priority"]) == {"normal"}  # Facilities' raise is not IT's
    assert it["by_priority"]["normal"]["timeliness_n"] == 2
    theirs = provider_figures(org, department)
    assert set(theirs["by_service"]) == {str(badges.pk)}
    assert theirs["by_service"][str(badges.pk)]["timeliness"] == 1.0
    assert theirs["by_service"][str(badges.pk)]["timeliness_n"] == 2
    assert set(theirs["by_priority"]) == {"high"}
    assert assert_breakdowns_list_own_services() == 2


def test_it_keeps_the_breakdown_on_the_provider_snapshot_only(org, history):
    scores_compute(period=parse_period(WEEK), now=at(4, 18))
    customer = ScoreSnapshot.objects.get(
        department=org.customer, role="customer", period=WEEK, counterpart=None
    ).figures
    assert "by_service" not in customer
    pair = ScoreSnapshot.objects.get(
        department=org.provider, role="provider", period=WEEK, counterpart=org.customer
    ).figures
    assert "by_service" not in pair


def test_it_counts_a_running_clock_past_due_as_breached(org, catalog):
    laptop, _ = catalog
    file(org, laptop, at(0, 9))
    figures = breakdown_figures(parse_period(WEEK), at(0, 12))
    row = figures[("provider", org.provider.pk, None)]["by_service"][str(laptop.pk)]
    assert row["first_response_timeliness"] == 0.0
    assert row["timeliness_n"] == 1
    assert row["resolution_median_seconds"] is None


def test_it_costs_the_same_queries_however_many_requests(
    org, catalog, django_assert_max_num_queries
):
    laptop, printer = catalog
    for index in range(6):
        request = file(org, laptop if index % 2 else printer, at(0, 9))
        services.request_transition(
            request=request, actor=org.agent, action="resolve", now=at(0, 10)
        )
    # One grouped query per breakdown (SQLite: plus one for the medians' values).
    with django_assert_max_num_queries(4):
        figures = breakdown_figures(parse_period(WEEK), at(4, 18))
    assert (
        figures[("provider", org.provider.pk, None)]["by_service"][str(laptop.pk)]["timeliness_n"]
        == 6
    )
