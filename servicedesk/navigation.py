"""The links each role gets in the navigation bar and on the home page.

Each app adds its pages here as they are built; a link shows when the viewer has the role.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import cached_property

from departments.selectors import Navigation
from surveys.selectors import surveys_waiting_count


@dataclass(frozen=True)
class Link:
    label: str
    url_name: str
    audience: str  # staff, agent, manager or hr
    # Optional `f(*, user_id) -> int`: a count shown with the label (0: none), computed only
    # when the label is rendered.
    count: Callable[..., int] | None = None


# Order is the order in the navigation bar.
LINKS: list[Link] = [
    Link("My requests", "requests:mine", "staff"),
    Link("New request", "requests:new", "staff"),
    Link("Queue", "requests:queue", "agent"),
    Link("My surveys", "surveys:mine", "staff", count=surveys_waiting_count),
    Link("Reviews", "reviews:mine", "staff"),
    Link("Survey results", "surveys:results", "manager"),
    Link("Survey results", "surveys:results", "hr"),
    # Members see their own departments' scorecards, HR every department's.
    Link("Scorecards", "scorecards:index", "staff"),
    Link("Scorecards", "scorecards:index", "hr"),
    Link("Matrix", "scorecards:matrix", "manager"),
    Link("Matrix", "scorecards:matrix", "hr"),
    Link("Organisation", "scorecards:organisation", "manager"),
    Link("Organisation", "scorecards:organisation", "hr"),
    Link("Reports", "reports:index", "hr"),
]


def _visible(link: Link, navigation: Navigation) -> bool:
    return {
        "staff": navigation.primary is not None,
        "agent": navigation.is_agent,
        "manager": navigation.is_manager,
        "hr": navigation.is_hr,
    }[link.audience]


class _CountedLabel:
    """A label with its count, computed (once) only when a template shows it."""

    def __init__(self, label: str, counter: Callable[..., int], user_id: int):
        self.label, self.counter, self.user_id = label, counter, user_id

    @cached_property
    def count(self) -> int:
        return self.counter(user_id=self.user_id)

    def __str__(self) -> str:
        return f"{self.label} ({self.count})" if self.count else self.label


def links_for(navigation: Navigation) -> list[dict]:
    """Links of the navigation bar, once each, for the viewer's roles."""
    links, seen = [], set()
    user_id = navigation.memberships[0].user_id if navigation.memberships else None
    for link in LINKS:
        if (link.label, link.url_name) in seen or not _visible(link, navigation):
            continue
        seen.add((link.label, link.url_name))
        label = (
            _CountedLabel(link.label, link.count, user_id)
            if link.count and user_id is not None
            else link.label
        )
        links.append({"label": label, "url": reverse(link.url_name), "audience": link.audience})
    return links


def home_links_for(navigation: Navigation) -> dict[str, list[dict]]:
    """The same links grouped by role, for the home page cards."""
    grouped: dict[str, list[dict]] = {"staff": [], "agent": [], "manager": [], "hr": []}
    for link in links_for(navigation):
        grouped[link["audience"]].append(link)
    return grouped
