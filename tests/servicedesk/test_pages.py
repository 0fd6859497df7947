"""Log in and out, the home page per role, the API docs and the vendored front-end files."""

import hashlib
import json
import re
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from servicedesk import settings as project_settings
from tests.factories import UserFactory

VENDOR_DIR = settings.BASE_DIR / "static" / "vendor"

CARDS = {
    "staff": "<h2>Ask another department</h2>",
    "agent": "<h2>Your queues</h2>",
    "manager": "<h2>Departments you manage</h2>",
    "hr": "<h2>HR</h2>",
}


class _Sources(HTMLParser):
    """Collects the `src` of every script and the `href` of every link element."""

    def __init__(self):
        super().__init__()
        self.scripts: list[str | None] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes.get("src"))
        elif tag == "link" and attributes.get("href"):
            self.links.append(attributes["href"])


def sources_of(html: str) -> _Sources:
    parser = _Sources()
    parser.feed(html)
    return parser


def is_local(url: str) -> bool:
    return url.startswith("/") and not url.startswith("//") and "cdn" not in url.lower()


# Logging in and out


def test_it_renders_the_login_page(client, db):
    response = client.get("/login/")

    assert response.status_code == 200
    assertContains(response, '<label for="id_username">Username', html=False)
    assertContains(response, 'name="password"')
    assertContains(response, "csrfmiddlewaretoken")


def test_it_shows_an_error_for_a_bad_password(client, org):
    response = client.post("/login/", {"username": "requester", "password": "wrong"})

    assert response.status_code == 200
    assertContains(response, "Please enter a correct username and password.")
    assert "_auth_user_id" not in client.session


def test_it_logs_in_and_goes_home(client, org):
    response = client.post("/login/", {"username": "requester", "password": "password"})

    assertRedirects(response, "/")
    assert client.session["_auth_user_id"] == str(org.requester.pk)


def test_it_logs_in_and_goes_where_the_user_was_going(client, org):
    response = client.post(
        "/login/", {"username": "requester", "password": "password", "next": "/departments/"}
    )

    assertRedirects(response, "/departments/")


def test_it_does_not_redirect_to_another_site_after_login(client, org):
    response = client.post(
        "/login/",
        {"username": "requester", "password": "password", "next": "https://evil.example/"},
    )

    assertRedirects(response, "/")


def test_it_sends_a_signed_in_user_from_the_login_page_home(client, org):
    client.force_login(org.requester)

    assertRedirects(client.get("/login/"), "/")


def test_it_sends_anonymous_users_from_home_to_login(client, db):
    assertRedirects(client.get("/"), "/login/?next=/")


def test_it_logs_out_on_post_only(client, org):
    client.force_login(org.requester)

    assert client.get("/logout/").status_code == 405
    assert "_auth_user_id" in client.session

    response = client.post("/logout/")

    assertRedirects(response, "/login/")
    assert "_auth_user_id" not in client.session


def test_it_offers_logout_as_a_form(client, org):
    client.force_login(org.requester)

    response = client.get("/")

    assertContains(response, '<form method="post" action="/logout/" class="inline">')


# The home page per role


@pytest.mark.parametrize(
    ("username", "cards"),
    [
        ("requester", {"staff"}),
        ("agent", {"staff", "agent"}),
        # Managers work requests too, so they see the queues as well.
        ("provider_manager", {"staff", "agent", "manager"}),
        ("customer_manager", {"staff", "agent", "manager"}),
        ("hr", {"hr"}),
    ],
)
def test_it_shows_the_cards_of_the_users_roles(client, org, username, cards):
    client.force_login(getattr(org, username))

    response = client.get("/")

    assert response.status_code == 200
    for card, heading in CARDS.items():
        if card in cards:
            assertContains(response, heading, count=1)
        else:
            assertNotContains(response, heading)


def test_it_links_an_agent_to_their_queue(client, org):
    client.force_login(org.agent)

    response = client.get("/")

    assertContains(response, '<a href="/departments/it/">IT</a>')


def test_it_names_the_requesting_department(client, org):
    client.force_login(org.requester)

    response = client.get("/")

    assertContains(response, "You file requests for <strong>Sales</strong>.")


def test_it_tells_a_user_without_a_department_to_ask_for_one(client, db):
    client.force_login(UserFactory(username="newcomer"))

    response = client.get("/")

    assertContains(response, "You are not a member of any department yet.")
    for heading in CARDS.values():
        assertNotContains(response, heading)


def test_it_shows_the_admin_link_to_superusers_only(client, org, admin_user):
    client.force_login(org.provider_manager)
    assertNotContains(client.get("/"), 'href="/admin/"')

    client.force_login(admin_user)
    assertContains(client.get("/"), 'href="/admin/"')


# API docs and schema


def test_it_serves_the_api_schema(client, db):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    content = response.content.decode()
    assert content.startswith("openapi: 3.")
    assert "/api/v1/departments/" in content
    assert "/api/v1/services/" in content


def test_it_serves_the_api_docs_from_local_files_only(client, db):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    sources = sources_of(response.content.decode())
    external_scripts = [src for src in sources.scripts if src and not is_local(src)]
    assert [src for src in sources.scripts if src], "the docs page loads no script file"
    assert external_scripts == []
    assert [href for href in sources.links if not is_local(href)] == []


def test_it_ships_the_docs_assets_it_references(client, db):
    sources = sources_of(client.get("/api/docs/").content.decode())
    urls = [src for src in sources.scripts if src] + sources.links

    for url in urls:
        if url.startswith("/api/docs/?script="):
            # The split view serves its start-up script from its own URL: no inline script.
            assert client.get(url).status_code == 200
            continue
        assert url.startswith(settings.STATIC_URL), url
        assert finders.find(url.removeprefix(settings.STATIC_URL)), url


def test_it_serves_the_api_docs_without_inline_scripts(client, db):
    content = client.get("/api/docs/").content.decode()
    assert "<script>" not in content.replace(" ", "")


def test_it_loads_only_local_scripts_on_its_own_pages(client, org):
    client.force_login(org.requester)

    sources = sources_of(client.get("/").content.decode())

    assert sources.scripts == ["/static/vendor/htmx.min.js", "/static/js/app.js"]
    assert all(is_local(href) for href in sources.links)


# Vendored front-end files


def manifest() -> dict[str, str]:
    """file name -> sha256, from static/vendor/MANIFEST (`package version sha256 file`)."""
    rows = {}
    for line in (VENDOR_DIR / "MANIFEST").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        _package, _version, sha256, name = line.split()
        rows[name] = sha256
    return rows


def test_it_lists_htmx_and_chartjs_in_the_manifest():
    assert set(manifest()) == {"htmx.min.js", "chart.umd.min.js"}


@pytest.mark.parametrize("name", ["htmx.min.js", "chart.umd.min.js"])
def test_it_ships_the_vendored_files_the_manifest_names(name):
    path = VENDOR_DIR / name

    assert path.is_file()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == manifest()[name]


def test_it_collects_static_files_as_production_serves_them(settings, tmp_path):
    # The test settings serve static files unhashed; production hashes and compresses them.
    settings.STATIC_ROOT = tmp_path / "staticfiles"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": project_settings.STORAGES["staticfiles"],
    }

    call_command("collectstatic", interactive=False, verbosity=0)

    paths = json.loads((tmp_path / "staticfiles" / "staticfiles.json").read_text())["paths"]
    for name in ["vendor/htmx.min.js", "vendor/chart.umd.min.js", "js/app.js", "css/app.css"]:
        stem, extension = name.rsplit(".", 1)
        assert re.fullmatch(rf"{re.escape(stem)}\.[0-9a-f]{{12}}\.{extension}", paths[name])
        assert (tmp_path / "staticfiles" / f"{paths[name]}.gz").is_file()
    # Served byte for byte as published (the source-map comment is left alone).
    chart = (tmp_path / "staticfiles" / paths["vendor/chart.umd.min.js"]).read_bytes()
    assert hashlib.sha256(chart).hexdigest() == manifest()["chart.umd.min.js"]
