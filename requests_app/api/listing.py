"""The requests API's list, drawn from a projection.

A page of the list is up to 200 requests. Built as model instances with their related rows
(people, departments, clocks, calendar versions, links), it cost more than everything else in
the call. Here the page's ids are chosen by the view (filters, order, pagination), then read
as plain values in four queries, and each request is drawn as `RequestSerializer` draws one:
`test_api` holds the two equal, key for key.
"""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

from django.db.models import Exists, OuterRef
from rest_framework import serializers

from departments.choices import Role
from departments.models import CalendarVersion, Membership

from ..live import clock_live, current_clock_values
from ..models import RequestLink, ServiceRequest, reference_for
from ..selectors import PROVIDER_ROLES
from ..workflow import actions_allowed

REQUEST_TIMES = ("promised_at", "created_at", "first_responded_at", "resolved_at", "closed_at")
COLUMNS = {
    "status": "status",
    "priority": "priority",
    "service": "service_id",
    "provider_department": "provider_department__slug",
    "requesting_department": "requesting_department__slug",
    "requester": "requester__username",
    "assignee": "assignee__username",
    "title": "title",
    "description": "description",
    "confidential": "confidential",
    **{name: name for name in REQUEST_TIMES},
}
CLOCK_KINDS = ("first_response", "resolution")


def _clocks(ids: list[int], now) -> dict[int, dict]:
    clocks = current_clock_values(ids)
    versions = CalendarVersion.objects.in_bulk({clock.calendar_version_id for clock in clocks})
    by_request: dict[int, dict] = defaultdict(dict)
    for clock in clocks:
        clock.calendar_version = versions[clock.calendar_version_id]
        by_request[clock.request_id][clock.kind] = clock_live(clock, now=now).as_api()
    return by_request


def _blocked_by(ids: list[int]) -> dict[int, list[int]]:
    links = (
        RequestLink.objects.filter(request_id__in=ids, ended_at__isnull=True)
        .order_by(*RequestLink._meta.ordering)
        .values_list("request_id", "blocked_by_id")
    )
    blocked: dict[int, list[int]] = defaultdict(list)
    for request_id, blocked_by_id in links:
        blocked[request_id].append(blocked_by_id)
    return blocked


def request_rows(ids: list[int], *, now, user) -> list[dict]:
    """The API's representation of these requests as `user` sees them, in the order of `ids`.
    The ids must come from the visibility gate (`requests_visible_to`): this reads whatever
    it is given."""
    when = serializers.DateTimeField().to_representation
    # Whether the user works each request's department, in the same query as its columns.
    works_there = Exists(
        Membership.objects.filter(
            user=user, department=OuterRef("provider_department"), role__in=PROVIDER_ROLES
        )
    )
    manages_customer = Exists(
        Membership.objects.filter(
            user=user, department=OuterRef("requesting_department"), role=Role.MANAGER
        )
    )
    values = (
        ServiceRequest.objects.filter(pk__in=ids)
        .order_by()
        .annotate(works_there=works_there, manages_customer=manages_customer)
        .values_list(
            "pk",
            *COLUMNS.values(),
            "declined_at",
            "requester_id",
            "works_there",
            "manages_customer",
        )
    )
    by_pk = {row[0]: row for row in values}
    clocks, blocked = _clocks(ids, now), _blocked_by(ids)
    rows = []
    for pk in ids:
        row = by_pk.get(pk)
        if row is None:
            continue
        fields = dict(zip(COLUMNS, row[1:-4], strict=True))
        declined_at, requester_id, works_there, manages_customer = row[-4:]
        allowed = actions_allowed(
            SimpleNamespace(
                status=fields["status"],
                first_responded_at=fields["first_responded_at"],
                resolved_at=fields["resolved_at"],
                declined_at=declined_at,
            ),
            is_requester=requester_id == user.pk,
            is_provider_staff=works_there,
            is_customer_manager=manages_customer,
            now=now,
        )
        for name in REQUEST_TIMES:
            if fields[name] is not None:
                fields[name] = when(fields[name])
        request_clocks = clocks.get(pk, {})
        rows.append(
            {
                "id": pk,
                "reference": reference_for(pk),
                **fields,
                "blocked_by": blocked.get(pk, []),
                "clocks": {kind: request_clocks.get(kind) for kind in CLOCK_KINDS},
                "allowed_actions": allowed,
            }
        )
    return rows
