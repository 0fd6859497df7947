"""Hostile input around the payload: cookies, headers and the shape and size of a body.

Attack covered: a 500 on every URL from a cookie the browser lets anyone set (a `tz` naming a
folder, `Europe`, or 300 characters: ZoneInfo tried it as a path), a RecursionError from JSON
nested a thousand deep, an HTML error page for the API when a body is over the upload limit.
Fixed cases first, then hypothesis draws cookies, headers and JSON of any shape: whatever
arrives, the answer is below 500, and the API's answer is JSON.
"""

import json

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from .schema import api_operations, fill

FUZZ = hypothesis_settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
COOKIES = ["tz", settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME, "django_language"]
HEADERS = [
    "HTTP_ACCEPT",
    "HTTP_ACCEPT_LANGUAGE",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_HX_REQUEST",
    "HTTP_HX_TARGET",
    "HTTP_HX_CURRENT_URL",
    "HTTP_IF_NONE_MATCH",
    "HTTP_REFERER",
    "HTTP_AUTHORIZATION",
    "CONTENT_TYPE",
]
PAGES = ["/", "/login/", "/requests/mine/", "/requests/queue/", "/scorecards/"]
# What a header can hold on the wire (latin-1 without control characters).
HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=300)
# Cookies: any header text, and the shapes that broke the timezone (a zone folder, a name
# longer than a file name may be).
COOKIE_TEXT = (
    HEADER_TEXT
    | st.sampled_from(["Europe", "America", "Etc", "Europe/", "posix"])
    | st.text(alphabet="aZ/_", min_size=256, max_size=400)
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5)
    ),
    max_leaves=30,
)


def status_of(client, method, url, **kwargs) -> int | str:
    """The status, or the exception; each call in a savepoint (PostgreSQL aborts the
    transaction on a database error, which would spoil the calls after it)."""
    try:
        with transaction.atomic():
            response = getattr(client, method.lower())(url, **kwargs)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    content_type = response.get("Content-Type", "")
    is_json = content_type.startswith("application/json")
    if url.startswith("/api/") and response.status_code >= 400 and not is_json:
        return f"{response.status_code} as {content_type}"
    return response.status_code


def survived(status) -> bool:
    return isinstance(status, int) and status < 500


def api_client(world, role="agent") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[role]}")
    return client


def post_operations(world) -> list[str]:
    """Every POST of the API, its ids those of objects that exist."""
    ids = {"id": world.requests["sales_to_it"].pk}
    return [fill(path, ids["id"]) for method, path in api_operations() if method == "POST"]


@pytest.mark.parametrize(
    "value",
    ["Europe", "Europe/", "a" * 300, "../../etc/passwd", "UTC%00", "%2F", "Europe%2FBerlin"],
)
def test_a_timezone_cookie_that_names_no_zone_is_ignored(world, value):
    client = Client()
    client.force_login(world.org.requester)
    client.cookies["tz"] = value
    assert client.get("/").status_code == 200
    anonymous = Client()
    anonymous.cookies["tz"] = value
    assert anonymous.get("/login/").status_code == 200


def test_a_timezone_cookie_that_names_a_zone_is_used(world):
    client = Client()
    client.force_login(world.org.requester)
    client.cookies["tz"] = "America/New_York"
    response = client.get("/")
    assert response.status_code == 200
    assert response.wsgi_request.COOKIES["tz"] == "America/New_York"


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_json_nested_beyond_the_decoder_is_a_400(world, depth):
    body = "[" * depth + "]" * depth
    client = api_client(world)
    for url in post_operations(world):
        status = status_of(client, "POST", url, data=body, content_type="application/json")
        assert survived(status), (url, status)  # actions that take no body ignore it
    response = client.post(
        "/api/v1/notifications/mark-read/", data=body, content_type="application/json"
    )
    assert response.status_code == 400
    assert "nested too deep" in response.json()["detail"]


def test_a_body_over_the_upload_limit_is_a_413_in_json_for_the_api(world):
    big = json.dumps({"body": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    client = api_client(world)
    url = f"/api/v1/requests/{world.requests['sales_to_it'].pk}/comments/"
    response = client.post(url, data=big, content_type="application/json")
    assert response.status_code == 413
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in response.json()["detail"]
    # A page's form gets Django's 400 page.
    page = Client()
    page.force_login(world.org.requester)
    response = page.post(
        f"/requests/{world.requests['sales_to_it'].pk}/reply/",
        data=big,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400


@FUZZ
@given(cookies=st.dictionaries(st.sampled_from(COOKIES), COOKIE_TEXT, min_size=1))
def test_any_cookie_leaves_every_page_and_the_api_standing(world, cookies):
    for logged_in in (False, True):
        client = Client()
        if logged_in:
            client.force_login(world.org.agent)
        for name, value in cookies.items():
            client.cookies[name] = value
        for url in [*PAGES, "/api/v1/requests/"]:
            status = status_of(client, "GET", url)
            assert survived(status), (url, cookies, status)


@FUZZ
@given(headers=st.dictionaries(st.sampled_from(HEADERS), HEADER_TEXT, min_size=1))
def test_any_header_leaves_every_page_and_the_api_standing(world, headers):
    client = Client()
    client.force_login(world.org.agent)
    for url in [*PAGES, "/api/v1/requests/", "/api/v1/notifications/"]:
        status = status_of(client, "GET", url, **headers)
        assert survived(status), (url, headers, status)
    api = api_client(world)
    status = status_of(api, "POST", "/api/v1/notifications/mark-read/", data="{}", **headers)
    assert survived(status), headers


@FUZZ
@given(body=JSON_VALUES)
def test_a_json_body_of_any_shape_gets_a_4xx_or_success_in_json(world, body):
    client = api_client(world)
    text = json.dumps(body)
    for url in post_operations(world):
        status = status_of(client, "POST", url, data=text, content_type="application/json")
        assert survived(status), (url, body, status)
