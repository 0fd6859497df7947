"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

Each person gets a browser context of their own (their own cookies) and logs in through the
login page. Every page is photographed to test-artifacts/e2e/<test>-<step>.png and checked:
no console error, no uncaught exception, no request to a host other than the live server's
(tests/e2e/browser.py).

Chromium is Debian's (/usr/bin/chromium, `make e2e-deps`), never a downloaded one. Without
it these tests skip, unless E2E_REQUIRED=1 (CI), where a missing browser is a failure.
"""

import datetime
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import time_machine
from playwright.sync_api import sync_playwright

from core.periods import QUARTER, period_containing
from requests_app import services as request_services
from scorecards.services import scores_compute
from surveys import services as survey_services
from surveys.models import RequestSurvey
from tests.clock import folder_mark, real_clock_environment

from .browser import CHROMIUM, CHROMIUM_ARGS, Screenshots, Visitor

# A browser keeps its own clock (cookie expiry, the countdowns' JavaScript): the live server
# runs on the same wall clock, and the history is placed relative to today.
pytest_collection_modifyitems = folder_mark(__file__, pytest.mark.real_clock)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for the tests of one module.

    Not for the whole session: while Playwright's sync API is started it keeps an event loop
    running in this thread, and the other tests of the same xdist worker must not see one.
    """
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        reason = f"{CHROMIUM} is missing: `make e2e-deps` installs Debian's chromium"
        if os.environ.get("E2E_REQUIRED") == "1":
            pytest.fail(f"E2E_REQUIRED=1 but {reason}", pytrace=False)
        pytest.skip(f"browser tests: {reason}")
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # Django refuses ORM calls from a thread with a running event loop; these tests are
        # synchronous, so the check does not apply while Playwright runs.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, env=real_clock_environment()
        )
        yield chromium
        chromium.close()


@pytest.fixture
def artifacts(request) -> Path:
    folder = request.config.rootpath / "test-artifacts" / "e2e"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browse(browser, live_server, artifacts, request):
    """`browse("agent")`: a fresh browser for a person on the live server."""
    test = re.sub(r"[^A-Za-z0-9_]+", "-", request.node.name)
    for old in artifacts.glob(f"{test}-*"):
        old.unlink()
    screenshots = Screenshots(folder=artifacts, test=test)
    visitors: list[Visitor] = []

    def open_browser(who: str) -> Visitor:
        visitor = Visitor(
            browser=browser, base_url=live_server.url, who=who, screenshots=screenshots
        )
        visitors.append(visitor)
        return visitor

    yield open_browser
    for visitor in visitors:
        visitor.close()


# --- data ----------------------------------------------------------------------------------


@dataclass
class History:
    quarters: list  # the two closed quarters with requests, oldest first
    current: object  # the open quarter


# One closed quarter's requests of Sales to IT: (business days to resolve, overall rating).
# The slow one breaches its resolution target; the rating of 2 drags CSAT down.
QUARTER_REQUESTS = [(0, 5), (0, 4), (4, 4), (0, 2)]


@pytest.fixture
def history(org, service) -> History:
    """Sales' requests to IT in the two quarters before this one, worked, resolved and rated
    through the services at their time, and the scores of those quarters and this one."""
    now = datetime.datetime.now(datetime.UTC)
    current = period_containing(now, QUARTER)
    quarters = [current.previous().previous(), current.previous()]
    for quarter in quarters:
        # A Monday or so mid-quarter, 10:00 Berlin: inside IT's working hours.
        day = quarter.start + datetime.timedelta(days=21)
        day += datetime.timedelta(days=-day.weekday())
        for index, (days_to_resolve, rating) in enumerate(QUARTER_REQUESTS):
            filed = day.replace(hour=10) + datetime.timedelta(minutes=10 * index)
            with time_machine.travel(filed, tick=False):
                request = request_services.request_create(
                    requester=org.requester,
                    service=service,
                    title=f"Laptop {quarter.key} #{index + 1}",
                    description="It does not start.",
                )
            with time_machine.travel(filed + datetime.timedelta(minutes=30), tick=False):
                request_services.request_acknowledge(request=request, actor=org.agent)
            resolved = filed + datetime.timedelta(days=days_to_resolve, hours=2)
            with time_machine.travel(resolved, tick=False):
                request_services.request_transition(
                    request=request, actor=org.agent, action="resolve"
                )
            with time_machine.travel(resolved + datetime.timedelta(hours=1), tick=False):
                survey_services.survey_answer(
                    survey=RequestSurvey.objects.get(request=request),
                    respondent=org.requester,
                    overall=rating,
                )
    for period in [*quarters, current]:
        scores_compute(period=period)
    return History(quarters=quarters, current=current)
