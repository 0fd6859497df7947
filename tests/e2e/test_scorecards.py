"""A manager reads IT's scorecard, its trend charts, and the provider x customer matrix."""

import re

import pytest
from playwright.sync_api import expect

from .browser import charts_on

pytestmark = pytest.mark.e2e


def assert_charts_drawn(page) -> None:
    charts = charts_on(page)
    assert sorted(chart["name"] for chart in charts) == ["pulse", "score", "times"], charts
    # The team pulse (the manager is of IT): drawn, empty (no quarterly survey here).
    (pulse,) = [chart for chart in charts if chart["name"] == "pulse"]
    assert pulse["chart"], pulse
    assert pulse["width"] > 0, pulse
    assert pulse["datasets"] == 2, pulse
    for chart in charts:
        if chart["name"] == "pulse":
            continue
        assert chart["chart"], chart
        assert chart["width"] > 0, chart
        assert chart["height"] > 0, chart
        assert chart["datasets"] >= 2, chart
        assert chart["points"] > 0, chart  # the two quarters with requests
        assert chart["painted"] > 0, chart


def test_it_shows_the_scorecard_charts_and_the_matrix(browse, org, history):
    last_quarter = history.quarters[-1]
    manager = browse("manager")
    page = manager.log_in(org.provider_manager)
    main_nav = page.get_by_role("navigation", name="Main")

    # The scorecard opens on the current quarter; the trends show the quarters before.
    manager.follow(main_nav.get_by_role("link", name="Scorecards"))
    expect(page).to_have_url(re.compile(r"/scorecards/it/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("IT scorecard")
    expect(page.locator(".scorecard-status")).to_contain_text(history.current.label)
    assert_charts_drawn(page)
    manager.snap("scorecard")

    # The period picker swaps the body (htmx) for last quarter, and the charts are redrawn.
    page.get_by_label("Period", exact=True).select_option(last_quarter.key)
    expect(page).to_have_url(re.compile(f"period={last_quarter.key}"))
    expect(page.locator(".scorecard-status")).to_contain_text(last_quarter.label)
    on_time = page.locator(".figure-card").filter(
        has=page.get_by_role("heading", name="On time", exact=True)
    )
    # 4 requests, 2 clocks each: every first response met, one resolution late.
    expect(on_time.locator(".figure-value")).to_have_text("88%")
    expect(on_time.locator(".figure-n")).to_have_text("n = 8")
    assert_charts_drawn(page)
    manager.snap("scorecard-last-quarter")

    # The matrix of that quarter: IT's row, with Sales' cell filled in.
    manager.follow(page.locator("#scorecard-body").get_by_role("link", name="Matrix"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Provider × customer matrix")  # noqa: RUF001
    expect(page).to_have_url(re.compile(f"/scorecards/matrix/\\?period={last_quarter.key}"))
    it_row = page.locator("table.matrix tbody tr").filter(
        has=page.get_by_role("rowheader", name="IT")
    )
    cell = it_row.locator("td.matrix-cell a").filter(has_text="n=8")
    expect(cell).to_have_count(1)
    expect(cell.locator("strong")).to_have_text("88%")
    manager.snap("matrix")

    # A cell opens the pair, both ways round.
    manager.follow(cell)
    expect(page).to_have_url(re.compile(r"/scorecards/it/pair/sales/"))
    expect(page.get_by_role("heading", name=re.compile("IT serving Sales"))).to_be_visible()
    manager.snap("pair")
