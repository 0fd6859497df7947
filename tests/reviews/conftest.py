"""A small story for reviews: Sales asks IT for a laptop in the week of Monday 23 November
2026 (Berlin; IT works Monday to Friday 9-17, resolution target 8 business hours)."""

import datetime
import zoneinfo

import pytest

from departments.choices import Role
from requests_app import services as request_services
from reviews import services
from reviews.choices import Trigger
from reviews.triggers import Found, request_key
from tests.factories import MembershipFactory, UserFactory

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def at(day, hour, minute=0):
    """Week of Monday 23 November 2026: day 0 = Monday."""
    return datetime.datetime(2026, 11, 23 + day, hour, minute, tzinfo=BERLIN)


def file(org, service, *, when=None, title="New laptop", requester=None, confidential=False):
    return request_services.request_create(
        requester=requester or org.requester,
        service=service,
        title=title,
        description="broken",
        confidential=confidential,
        now=when or at(0, 9),
    )


def resolve(org, request, when):
    return request_services.request_transition(
        request=request, actor=org.agent, action="resolve", now=when
    )


@pytest.fixture
def legal_agent(org):
    user = UserFactory(username="legal_agent")
    MembershipFactory(user=user, department=org.other, role=Role.AGENT)
    return user


@pytest.fixture
def review(org, service):
    """An open review of one Sales request to IT, as a rule opens it."""
    request = file(org, service)
    opened, _ = services._open(
        Found(
            trigger=Trigger.BREACH,
            key=request_key(request.pk),
            title=f"{request.reference} took well past its target",
            provider_id=org.provider.pk,
            customer_id=org.customer.pk,
            request_ids=[request.pk],
        ),
        opened_by=None,
        now=at(3, 9),
    )
    return opened
