"""Hostile values at the edges: numbers no key can hold, dates at the ends of the calendar,
NUL characters, periods like 0000-Q1 or 9999-W52.

Attack covered: crashing the app (500s, a log flood, on PostgreSQL an aborted transaction)
with values that pass a type check but break further in: 10**30 as an id in a path, a filter
or a body (SQLite cannot bind it), 0001-01-01 as a date (it overflows on its way to UTC), a
year-0 or year-9999 period (the league's trend steps past the calendar). Every query
parameter of the schema gets the edge values of its type; the bodies and pages that take
ids get theirs. Each answers 4xx. These are the cases schemathesis found, or the probing
around them did, kept as a fixed regression list.
"""

import re

import pytest
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from .schema import api_operations, fill, openapi_schema, page_routes

HUGE = 10**30
EDGE_VALUES = {
    "integer": [HUGE, -1, 0, "1.5"],
    "number": [HUGE, -1, "1e400", "NaN"],
    "boolean": ["maybe"],
    "array": [HUGE, "\x00"],
    "string": [
        "0000-Q1",
        "0001-Q1",
        "9999-Q4",
        "0001-01",
        "9999-W52",
        "0001-01-01",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "REQ-" + "9" * 30,
        "9" * 30,
        "a\x00b",
    ],
}
# Parameters that must be right for the others to be read at all.
REQUIRED = {"department": "it"}


def send(client, method, url, data=None):
    """The status code, or the exception: each call in a savepoint, so that a database error
    (PostgreSQL aborts the transaction) cannot spoil the calls after it."""
    try:
        with transaction.atomic():
            if method == "GET":
                return client.get(url, data).status_code
            return client.post(url, data, format="json").status_code
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def callers(world) -> list[APIClient]:
    """HR sees reports and every scorecard, the agent requests and ratings."""
    clients = []
    for role in ("hr", "agent"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[role]}")
        clients.append(client)
    return clients


def crashes(results) -> list:
    return [case for case in results if not (isinstance(case[-1], int) and case[-1] < 500)]


def test_every_query_parameter_survives_the_edge_values_of_its_type(world):
    results = []
    for path, operations in openapi_schema()["paths"].items():
        if "get" not in operations:
            continue
        url = fill(path, world.requests["sales_to_it"].pk)
        for parameter in operations["get"].get("parameters", []):
            if parameter["in"] != "query":
                continue
            kind = parameter["schema"].get("type", "string")
            for value in EDGE_VALUES[kind]:
                query = {**REQUIRED, parameter["name"]: value}
                for client in callers(world):
                    results.append((url, query, send(client, "GET", url, query)))
    assert len(results) > 300
    assert crashes(results) == []


def test_every_id_in_an_api_path_survives_a_number_no_key_can_hold(world):
    results = [
        (method, path, send(client, method, fill(path, HUGE), {}))
        for method, path in api_operations()
        if "{id}" in path
        for client in callers(world)
    ]
    assert crashes(results) == []
    assert {status for *_, status in results} <= {400, 404}


def test_the_bodies_that_take_ids_dates_and_periods_survive_their_edge_values(world):
    request = world.requests["sales_to_it"].pk
    invitation = world.invitations["agent"].pk
    bodies = [
        ("/api/v1/notifications/mark-read/", {"ids": [HUGE]}),
        ("/api/v1/notifications/mark-read/", {"ids": [-1, "\x00"]}),
        (f"/api/v1/requests/{request}/block/", {"blocked_by": HUGE}),
        (f"/api/v1/requests/{request}/unblock/", {"blocked_by": HUGE}),
        (f"/api/v1/requests/{request}/assign/", {"assignee": "a\x00b"}),
        (f"/api/v1/requests/{request}/transfer/", {"department": "legal", "service": HUGE}),
        (f"/api/v1/requests/{request}/promise/", {"promised_at": "0001-01-01T00:00:00Z"}),
        (f"/api/v1/requests/{request}/promise/", {"promised_at": "9999-12-31T23:59:59-14:00"}),
        (f"/api/v1/requests/{request}/comments/", {"body": "a\x00b"}),
        ("/api/v1/requests/", {"service": HUGE, "title": "x", "description": "y"}),
        ("/api/v1/requests/", {"service": world.laptop.pk, "title": "x\x00", "description": "y"}),
        ("/api/v1/surveys/request-ratings/", {"request": HUGE, "clarity": 3}),
        ("/api/v1/surveys/request-ratings/", {"request": request, "clarity": HUGE}),
        (f"/api/v1/surveys/{world.survey.pk}/answer/", {"overall": HUGE}),
        (
            f"/api/v1/surveys/relationship/{invitation}/answer/",
            {"answers": [{"item": HUGE, "hire_back": "yes"}]},
        ),
        ("/api/v1/reports/", {"quarter": "0000-Q1"}),
        ("/api/v1/reports/", {"quarter": "9999-Q4"}),
    ]
    results = [
        (url, body, send(client, "POST", url, body))
        for url, body in bodies
        for client in callers(world)
    ]
    assert crashes(results) == []


def test_every_page_with_an_id_answers_404_to_a_number_no_key_can_hold(world):
    results = []
    for route in page_routes():
        if "<int:" not in route:
            continue
        url = "/" + re.sub(r"<int:\w+>", str(HUGE), route)
        url = url.replace("<slug:action>", "reply")
        for role in ("requester", "agent", "hr"):
            browser = Client()
            browser.force_login(getattr(world.org, role))
            results.append((role, url, send(browser, "GET", url)))
            results.append((role, url, send(browser, "POST", url, {"body": "x"})))
    assert crashes(results) == []
    assert {status for *_, status in results} <= {404, 405}


@pytest.mark.parametrize(
    "url",
    [
        "/requests/?created_after=0001-01-01",
        "/requests/queue/it/?created_before=9999-12-31T23:59:59-14:00",
        f"/requests/queue/it/?service={HUGE}",
        "/scorecards/it/?period=0001-Q1",
        "/scorecards/it/pair/sales/?period=9999-W52",
        "/scorecards/matrix/?period=9999-W52",
        "/scorecards/organisation/?period=0001-01",
        "/surveys/results/it/?quarter=0000-Q1",
        "/surveys/results/it/?quarter=9999-Q4",
        f"/departments/?parent_id={HUGE}",
        "/requests/new/services/?department=a%00b",
        "/requests/new/?department=a%00b",
        "/scorecards/?department=a%00b",
        "/surveys/t/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa%00/",
    ],
)
def test_the_pages_survive_edge_filters_and_periods(world, url):
    for role in ("agent", "provider_manager", "hr"):
        browser = Client()
        browser.force_login(getattr(world.org, role))
        result = send(browser, "GET", url)
        assert isinstance(result, int), result
        assert result < 500, (role, url)
