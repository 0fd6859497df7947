"""A week of requests under agreements, with known answers, for the agreement tests of
the scorecards (compute, pages, API, report): the `agreement_story` fixture (conftest.py).

The week of Monday 23 November 2026 (2026-W48). IT works Mon-Fri 09:00-17:00 Berlin.

- Sales-IT agreement v1 (from the week before): normal priority, first response 1 business
  hour, resolution 4. Request A (Monday 09:00) meets both; request B (Monday 09:00) meets the
  first response and is resolved Tuesday, past its 13:00 due time.
- v2, accepted Tuesday 12:00, supersedes it: first response 2 hours, resolution 8. Request C
  (Wednesday 09:00) meets both. Request X, filed under v2 and cancelled before anything was
  due, is left out, as in every score.
- IT's agreement with every customer: Laptop at normal priority, 3 and 16 hours. Legal has
  no agreement of its own: request D (Monday 09:00, Legal) meets both under it. Legal's
  high-priority request H has no agreed target (the every-customer agreement sets none for
  high) and runs under IT's own target: not under an agreement, so not counted.

So the Sales-IT agreement (both versions, one agreement): first responses 3 of 3, resolutions
2 of 3 (67%, under 90%): not kept. The agreement with every customer: 2 of 2 and 2 of 2: kept.
IT kept 1 of its 2 agreements; 7 of the 8 clocks under them were met.
"""

import datetime
import zoneinfo

from departments.choices import Priority
from requests_app import services
from tests.factories import agreement_accepted

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
WEEK = "2026-W48"
# The clock of the modules that use it: a week after the story.
NOW = datetime.datetime(2026, 12, 1, 10, tzinfo=BERLIN)


def at(day, hour, minute=0):
    """Week of Monday 23 November 2026: day 0 = Monday."""
    return datetime.datetime(2026, 11, 23, hour, minute, tzinfo=BERLIN) + datetime.timedelta(
        days=day
    )


def file(requester, service, when, priority=None):
    return services.request_create(
        requester=requester,
        service=service,
        title="t",
        description="d",
        priority=priority,
        now=when,
    )


def answer_and_resolve(org, request, answered, resolved):
    services.request_comment_add(request=request, author=org.agent, body="on it", now=answered)
    services.request_transition(request=request, actor=org.agent, action="resolve", now=resolved)


def sales_it(org, *, first, resolution, now):
    return agreement_accepted(
        proposer=org.provider_manager,
        decider=org.customer_manager,
        provider=org.provider,
        customer=org.customer,
        targets=[(None, Priority.NORMAL, first, resolution)],
        now=now,
    )


def story_build(org, service) -> dict:
    """The week of the module's docstring; the agreements and requests by name."""
    v1 = sales_it(org, first=1, resolution=4, now=at(-7, 9))
    every = agreement_accepted(
        proposer=org.provider_manager,
        decider=org.customer_manager,
        provider=org.provider,
        customer=None,
        targets=[(service, Priority.NORMAL, 3, 16)],
        now=at(-7, 9),
    )
    a = file(org.requester, service, at(0, 9))
    answer_and_resolve(org, a, at(0, 9, 30), at(0, 11))
    b = file(org.requester, service, at(0, 9))
    answer_and_resolve(org, b, at(0, 9, 45), at(1, 10))
    d = file(org.outsider, service, at(0, 9))
    answer_and_resolve(org, d, at(0, 10), at(0, 15))
    h = file(org.outsider, service, at(0, 9), priority=Priority.HIGH)
    answer_and_resolve(org, h, at(0, 10), at(0, 15))
    v2 = sales_it(org, first=2, resolution=8, now=at(1, 12))
    c = file(org.requester, service, at(2, 9))
    answer_and_resolve(org, c, at(2, 9, 30), at(2, 12))
    x = file(org.requester, service, at(2, 9))
    services.request_transition(request=x, actor=org.requester, action="cancel", now=at(2, 9, 5))
    return {"v1": v1, "v2": v2, "every": every, "a": a, "b": b, "c": c, "d": d, "h": h, "x": x}
