"""The links each role gets in the navigation bar and on the home page.

Each app adds its pages here as they are built; a link shows when the viewer has the role.
"""

from dataclasses import dataclass

from django.urls import reverse

from departments.selectors import Navigation


@dataclass(frozen=True)
class Link:
    label: str
    url_name: str
    audience: str  # staff, agent, manager or hr


# Order is the order in the navigation bar.
LINKS: list[Link] = []


def _visible(link: Link, navigation: Navigation) -> bool:
    return {
        "staff": navigation.primary is not None,
        "agent": navigation.is_agent,
        "manager": navigation.is_manager,
        "hr": navigation.is_hr,
    }[link.audience]


def links_for(navigation: Navigation) -> list[dict]:
    """Links of the navigation bar, once each, for the viewer's roles."""
    return [
        {"label": link.label, "url": reverse(link.url_name), "audience": link.audience}
        for link in LINKS
        if _visible(link, navigation)
    ]


def home_links_for(navigation: Navigation) -> dict[str, list[dict]]:
    """The same links grouped by role, for the home page cards."""
    grouped: dict[str, list[dict]] = {"staff": [], "agent": [], "manager": [], "hr": []}
    for link in links_for(navigation):
        grouped[link["audience"]].append(link)
    return grouped
