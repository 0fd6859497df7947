"""'Promised Friday, delivered Thursday': a promise of a day is kept by delivering any time
that day in the provider's timezone, whoever looks at it from wherever."""

import datetime
import zoneinfo

import pytest
from rest_framework.test import APIClient

from core.periods import parse_period
from requests_app import services
from scorecards.models import ScoreSnapshot
from scorecards.services import scores_compute
from tests.factories import ServiceFactory, SLATargetFactory

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
MONDAY = datetime.datetime(2026, 11, 30, 9, tzinfo=BERLIN)
FRIDAY = datetime.date(2026, 12, 4)

pytestmark = pytest.mark.clock(MONDAY + datetime.timedelta(hours=1))


@pytest.fixture
def request_(org):
    SLATargetFactory(department=org.provider, priority="normal")
    laptop = ServiceFactory(department=org.provider, name="Laptop")
    return services.request_create(
        requester=org.requester, service=laptop, title="t", description="d", now=MONDAY
    )


def api(user):
    client = APIClient()
    client.force_login(user)
    return client


def test_the_api_takes_a_day_and_keeps_its_last_instant_in_the_providers_timezone(org, request_):
    org.provider.calendar.timezone = "Europe/Berlin"
    org.provider.calendar.save()
    response = api(org.agent).post(
        f"/api/v1/requests/{request_.pk}/promise/", {"promised_at": FRIDAY.isoformat()}
    )
    assert response.status_code == 200, response.content
    request_.refresh_from_db()
    assert request_.promised_day == FRIDAY
    assert request_.promised_at == datetime.datetime(2026, 12, 4, 23, 59, 59, 999999, tzinfo=BERLIN)
    assert org.requester.notifications.filter(message__endswith="by Fri 04 Dec").exists()
    event = request_.events.get(kind="promised")
    assert event.data["day"] == "2026-12-04"


def test_a_promise_for_friday_is_kept_by_delivering_on_friday_evening(org, request_):
    services.request_promise(request=request_, actor=org.agent, promised_at=FRIDAY, now=MONDAY)
    friday_evening = datetime.datetime(2026, 12, 4, 18, 30, tzinfo=BERLIN)
    services.request_transition(
        request=request_, actor=org.agent, action="resolve", now=friday_evening
    )
    scores_compute(period=parse_period("2026-W49"), now=friday_evening)
    figures = ScoreSnapshot.objects.get(
        department=org.provider, role="provider", period="2026-W49", counterpart=None
    ).figures
    assert (figures["promise_kept"], figures["promise_kept_n"]) == (1.0, 1)


def test_a_day_in_the_past_is_refused_and_today_is_not(org, request_):
    client = api(org.agent)
    url = f"/api/v1/requests/{request_.pk}/promise/"
    response = client.post(url, {"promised_at": "2026-11-27"})
    assert response.status_code == 400
    assert response.json()["promised_at"] == ["A promise must be in the future."]
    assert client.post(url, {"promised_at": "2026-11-30"}).status_code == 200
    assert client.post(url, {"promised_at": "2026-02-30"}).status_code == 400


def test_the_page_promises_a_day_with_a_date_picker(org, request_, client):
    client.force_login(org.agent)
    page = client.get(f"/requests/{request_.pk}/").content.decode()
    assert 'type="date"' in page
    response = client.post(f"/requests/{request_.pk}/promise/", {"promised_at": "2026-12-04"})
    assert response.status_code == 302
    page = client.get(f"/requests/{request_.pk}/").content.decode()
    assert "Fri 4 Dec 2026</time>" in page
