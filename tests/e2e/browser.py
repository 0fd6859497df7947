"""The browser side of the e2e tests: Debian's Chromium, one visitor per person, and what
the tests read from a page (Chart.js canvases).

A `Visitor` records every console error, uncaught exception and request to another host, and
`snap` saves a full-page screenshot before asserting there were none.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, expect

CHROMIUM = Path("/usr/bin/chromium")
# The network here is closed: without these Chromium waits on connections that never come.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
PASSWORD = "password"  # tests.factories.UserFactory's
TIMEOUT_MS = 20_000  # two cores shared by the xdist workers: be patient, not flaky

expect.set_options(timeout=TIMEOUT_MS)


def is_foreign(url: str) -> bool:
    """A network request to anything but this machine (data: and blob: URLs are local)."""
    parts = urlsplit(url)
    return parts.scheme in {"http", "https", "ws", "wss"} and parts.hostname not in LOCAL_HOSTS


@dataclass
class Screenshots:
    """Numbered full-page screenshots of one test, in the order they are taken."""

    folder: Path
    test: str
    taken: list[Path] = field(default_factory=list)

    def path(self, step: str) -> Path:
        slug = re.sub(r"[^A-Za-z0-9]+", "-", step).strip("-").lower()
        path = self.folder / f"{self.test}-{len(self.taken) + 1:02d}-{slug}.png"
        self.taken.append(path)
        return path


class Visitor:
    """One person at a browser: their own cookies, one tab, and what went wrong in it."""

    def __init__(self, *, browser: Browser, base_url: str, who: str, screenshots: Screenshots):
        self.who = who
        self.screenshots = screenshots
        self.problems: list[str] = []
        self.context = browser.new_context(
            base_url=base_url,
            viewport={"width": 1280, "height": 900},
            timezone_id="Europe/Berlin",
            locale="en-GB",
            accept_downloads=True,
        )
        # Nothing may leave the machine: refuse it (so nothing hangs) and report it.
        self.context.route(is_foreign, lambda route: route.abort())
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        self.page.on("request", self._request)

    def _console(self, message) -> None:
        if message.type == "error":
            self.problems.append(f"console error on {self.page.url}: {message.text}")

    def _request(self, request) -> None:
        if is_foreign(request.url):
            self.problems.append(f"request to another host from {self.page.url}: {request.url}")

    def goto(self, path: str) -> Page:
        response = self.page.goto(path)
        assert response is not None
        assert response.ok, f"{path} answered {response.status}"
        return self.page

    def follow(self, locator) -> Page:
        """Click a link or a submit button and wait for the next page to load: its deferred
        scripts (htmx, charts) have run then, so what it does with htmx works at once."""
        with self.page.expect_navigation():
            locator.click()
        return self.page

    def log_in(self, user) -> Page:
        """Through the login page, as a person does."""
        self.goto("/login/")
        self.page.get_by_label("Username").fill(user.username)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.follow(self.page.get_by_role("button", name="Log in"))
        expect(self.page).not_to_have_url(re.compile(r"/login/"))
        expect(self.page.get_by_role("button", name="Log out")).to_be_visible()
        return self.page

    def snap(self, step: str) -> Page:
        """Photograph the page (even a broken one), then check nothing went wrong so far."""
        # caret="initial": hiding the caret leaves style="" on every input, which htmx copies
        # when it swaps the page, and the CSP (style-src 'self') refuses: a false alarm.
        self.page.screenshot(
            path=self.screenshots.path(f"{self.who}-{step}"), full_page=True, caret="initial"
        )
        self.assert_clean()
        return self.page

    def assert_clean(self) -> None:
        problems, self.problems = self.problems, []
        assert not problems, f"{self.who}'s browser:\n" + "\n".join(problems)

    def close(self) -> None:
        self.context.close()


CHARTS_JS = """
() => Array.from(document.querySelectorAll("canvas[data-chart]")).map((canvas) => {
  const chart = window.Chart ? window.Chart.getChart(canvas) : undefined;
  let painted = 0;
  if (canvas.width && canvas.height) {
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < pixels.length; i += 4) { if (pixels[i]) { painted++; } }
  }
  return {
    name: canvas.dataset.chart,
    width: canvas.width,
    height: canvas.height,
    chart: Boolean(chart),
    datasets: chart ? chart.data.datasets.length : 0,
    points: chart ? chart.data.datasets.flatMap((d) => d.data).filter((v) => v !== null).length : 0,
    painted,
  };
})
"""


def charts_on(page: Page) -> list[dict]:
    """The Chart.js canvases of the page: size, chart instance, series, painted pixels."""
    page.wait_for_function(
        "() => window.Chart && document.querySelectorAll('canvas[data-chart]').length > 0"
        " && Array.from(document.querySelectorAll('canvas[data-chart]'))"
        ".every((canvas) => window.Chart.getChart(canvas))"
    )
    return page.evaluate(CHARTS_JS)
