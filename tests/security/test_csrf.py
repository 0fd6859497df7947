"""CSRF: a page on another site makes a signed-in browser post to servicedesk.

Attack covered: cross-site request forgery against every form and every API call that a
browser session can make. Every route of the URLconf (pages: each request action too) and
every POST operation of the API schema refuses a POST that carries the session cookie but no
CSRF token; the same POST with the token gets past the check, so the refusal is the token's.
API calls with a token in the Authorization header are not exposed (a browser never adds it).
"""

import re

from django.test import Client
from django.urls import URLResolver, get_resolver
from rest_framework.test import APIClient

from requests_app.views import ACTIONS
from surveys.tokens import token_issue

from .schema import api_operations, collection_of, fill, page_routes

CSRF_REFUSED = b"CSRF verification failed"
CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def page_urls(route: str, world) -> list[str]:
    """The route with real objects in it; a request action route once per action."""
    survey_request = world.survey.request_id
    values = {
        "requests/<int:pk>": world.requests["sales_to_it"].pk,
        "attachment_pk": world.public_attachment.pk,
        "request_pk": survey_request,
        "surveys/quarterly/<int:pk>": world.invitations["requester"].pk,
        "reports/<int:pk>": world.report.pk,
        "departments/<slug:slug>/agreements/<int:pk>": world.agreement.pk,
        "reviews/<int:pk>": world.review.pk,
        "action_pk": world.review_action.pk,
        "verb": "done",
        "slug": "it",
        "customer_slug": "sales",
    }

    def value_of(match, route=route):
        name = match.group(2)
        if name == "token":
            return token_issue(request_survey=world.survey, expires_at=world.survey.closes_at)
        if name == "pk":
            return next(str(v) for k, v in values.items() if route.startswith(k))
        return str(values[name])

    if "<slug:action>" in route:
        return ["/" + CONVERTER.sub(value_of, route.replace("<slug:action>", a)) for a in ACTIONS]
    return ["/" + CONVERTER.sub(value_of, route)]


def test_no_view_is_exempt_from_the_csrf_check_but_the_apis_own():
    """DRF's views are exempt from Django's middleware because DRF checks CSRF itself for
    session-authenticated calls (tested below); anything else exempt would be a hole."""

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            else:
                yield pattern

    exempt = [
        str(pattern.pattern)
        for pattern in walk(get_resolver().url_patterns)
        if getattr(pattern.callback, "csrf_exempt", False)
        and not hasattr(pattern.callback, "cls")  # a DRF APIView
    ]
    assert exempt == []


def test_every_page_refuses_a_post_without_its_csrf_token(world):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.org.agent)
    browser.get("/")  # the site's own pages hand out the token
    token = browser.cookies["csrftoken"].value
    urls = [url for route in page_routes() for url in page_urls(route, world)]
    assert len(urls) > 40
    for url in urls:
        forged = browser.post(url, {"body": "Forged", "overall": "1"})
        assert forged.status_code == 403, url
        assert CSRF_REFUSED in forged.content, url

        genuine = browser.post(url, {"csrfmiddlewaretoken": token, "body": "Mine"})
        assert not (genuine.status_code == 403 and CSRF_REFUSED in genuine.content), url


def test_every_api_write_refuses_a_session_call_without_the_csrf_token(world):
    ids = {
        "requests": world.requests["sales_to_it"].pk,
        "surveys": world.survey.pk,
        "surveys/relationship": world.invitations["agent"].pk,
    }
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(world.org.agent)
    writes = [(method, path) for method, path in api_operations() if method != "GET"]
    assert len(writes) > 20
    for method, path in writes:
        url = fill(path, ids.get(collection_of(path), 1))

        forged = getattr(browser, method.lower())(url, {}, format="json")

        assert forged.status_code == 403, url
        assert "CSRF" in forged.json()["detail"], url


def test_an_api_call_with_a_token_needs_no_csrf_token(world):
    caller = APIClient(enforce_csrf_checks=True)
    caller.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens['agent']}")
    response = caller.post("/api/v1/notifications/mark-read/", {}, format="json")
    assert response.status_code == 200
