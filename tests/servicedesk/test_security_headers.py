"""Security headers: the Content Security Policy on pages, the API and the API docs; the rest."""

import json
import re

import pytest
from django.conf import settings

TEMPLATES_DIR = settings.BASE_DIR / "templates"
# Styles and scripts a strict CSP refuses: a style attribute, a <style> element, a <script>
# without src (a data block such as json_script's is fine), an event-handler attribute.
INLINE_STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style[\s>]", re.IGNORECASE)
SCRIPT_ELEMENT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
EVENT_HANDLER_ATTRIBUTE = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
TEMPLATE_COMMENT = re.compile(r"{#.*?#}|{% comment %}.*?{% endcomment %}", re.DOTALL)


def template_sources() -> dict[str, str]:
    """Each of our templates' text without its template comments, by path."""
    return {
        str(path.relative_to(TEMPLATES_DIR)): TEMPLATE_COMMENT.sub("", path.read_text())
        for path in TEMPLATES_DIR.rglob("*.html")
    }


def policy_of(response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as {directive: [sources]}."""
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_strict_base_policy(policy: dict[str, list[str]]):
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]


def assert_other_security_headers(response):
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_it_sends_a_strict_policy_with_a_page(client, org):
    client.force_login(org.requester)

    response = client.get("/")

    assert response.status_code == 200
    policy = policy_of(response)
    assert_strict_base_policy(policy)
    assert policy["style-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'"]
    assert_other_security_headers(response)


def test_it_sends_the_headers_with_the_login_page(client, db):
    response = client.get("/login/")

    assert_strict_base_policy(policy_of(response))
    assert_other_security_headers(response)


def test_it_sends_the_headers_with_an_api_response(api_client, org):
    api_client.force_authenticate(org.requester)

    response = api_client.get("/api/v1/departments/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert_strict_base_policy(policy_of(response))
    assert_other_security_headers(response)


def test_it_allows_the_swagger_ui_only_its_data_images(client, db):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    policy = policy_of(response)
    assert_strict_base_policy(policy)
    assert policy["style-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert_other_security_headers(response)
    content = response.content.decode()
    assert not STYLE_ELEMENT.search(content)
    assert "/static/css/api-swagger.css" in content


def test_it_serves_the_swagger_ui_script_from_a_url(client, db):
    response = client.get("/api/docs/?script=")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle(" in response.content


def test_it_allows_redoc_its_runtime_styles_and_search_worker_but_no_inline_script(client, db):
    response = client.get("/api/redoc/")

    assert response.status_code == 200
    policy = policy_of(response)
    assert_strict_base_policy(policy)
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["worker-src"] == ["blob:"]
    assert policy["img-src"] == ["'self'", "data:"]
    content = response.content.decode()
    assert all("src=" in attributes for attributes in SCRIPT_ELEMENT.findall(content))
    assert not STYLE_ELEMENT.search(content)
    assert "fonts.googleapis.com" not in content


def test_it_sends_hsts_over_https_in_production(client, db, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True

    response = client.get("/login/", secure=True)

    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


HTMX_CONFIG = re.compile(r"""<meta name="htmx-config" content='([^']*)'>""")


def test_it_tells_htmx_not_to_inject_styles_or_eval(client, db):
    response = client.get("/login/")

    (config,) = HTMX_CONFIG.findall(response.content.decode())
    # Nor to copy style attributes across a swap, which style-src 'self' would refuse.
    assert json.loads(config) == {
        "includeIndicatorStyles": False,
        "allowEval": False,
        "attributesToSettle": ["class", "width", "height"],
    }


@pytest.mark.parametrize(
    ("pattern", "what"),
    [
        (INLINE_STYLE_ATTRIBUTE, "a style attribute"),
        (STYLE_ELEMENT, "a <style> element"),
        (EVENT_HANDLER_ATTRIBUTE, "an event-handler attribute"),
    ],
)
def test_it_keeps_inline_styles_and_handlers_out_of_the_templates(pattern, what):
    offenders = [name for name, text in template_sources().items() if pattern.search(text)]

    assert offenders == [], f"{what} in {offenders}: the CSP refuses it"


def test_it_keeps_inline_scripts_out_of_the_templates():
    offenders = [
        name
        for name, text in template_sources().items()
        for attributes in SCRIPT_ELEMENT.findall(text)
        if "src=" not in attributes and 'type="application/json"' not in attributes
    ]

    assert offenders == [], f"inline <script> in {offenders}: the CSP refuses it"
