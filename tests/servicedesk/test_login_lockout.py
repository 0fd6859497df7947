"""Login brute force: django-axes locks a username at one address out after repeated failures."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.test import RequestFactory
from django.utils import timezone
from pytest_django.asserts import assertContains, assertRedirects, assertTemplateUsed

from core.security import client_ip_address
from tests.factories import UserFactory

# Lockouts run on the minutes after a failed login: the clock stands still at a fixed instant.
pytestmark = pytest.mark.clock(datetime.datetime(2026, 11, 23, 9, tzinfo=datetime.UTC))

LOGIN = "/login/"
PASSWORD = "password"  # UserFactory's
LOCKED_TEMPLATE = "registration/locked_out.html"


@pytest.fixture
def user(db):
    return UserFactory(username="alice")


def log_in(client, username, password, address="127.0.0.1", **headers):
    return client.post(
        LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, **headers
    )


def fail(client, username, times, address="127.0.0.1", **headers):
    return [log_in(client, username, "wrong", address, **headers) for _ in range(times)]


def test_it_counts_by_username_and_address_with_the_default_limits():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


def test_it_shows_the_form_error_below_the_limit(client, user):
    responses = fail(client, "alice", settings.AXES_FAILURE_LIMIT - 1)

    assert [response.status_code for response in responses] == [200] * 4
    assertContains(responses[-1], "Please enter a correct username and password.")


def test_it_locks_out_at_the_fifth_failure(client, user):
    *_, fifth, sixth = fail(client, "alice", 6)

    for response in (fifth, sixth):
        assert response.status_code == 429
        assertTemplateUsed(response, LOCKED_TEMPLATE)
        assertContains(response, "Too many failed logins", status_code=429)
        assertContains(response, "Logging in as <strong>alice</strong>", status_code=429)
        assertContains(response, "Try again in 15 minutes", status_code=429)


def test_it_refuses_the_right_password_while_locked_out(client, user):
    fail(client, "alice", 6)

    response = log_in(client, "alice", PASSWORD)

    assert response.status_code == 429
    assertTemplateUsed(response, LOCKED_TEMPLATE)
    assert "_auth_user_id" not in client.session


def test_it_leaves_another_user_at_the_same_address_alone(client, user):
    bob = UserFactory(username="bob")
    fail(client, "alice", 6)

    response = log_in(client, "bob", PASSWORD)

    assertRedirects(response, "/")
    assert client.session["_auth_user_id"] == str(bob.pk)


def test_it_leaves_the_same_user_at_another_address_alone(client, user):
    fail(client, "alice", 6, address="203.0.113.7")

    response = log_in(client, "alice", PASSWORD, address="198.51.100.2")

    assertRedirects(response, "/")


def test_it_unlocks_after_the_cooloff(client, user):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fail(client, "alice", 6)
    with time_machine.travel(start + datetime.timedelta(minutes=15, seconds=1), tick=False):
        unlocked = log_in(client, "alice", PASSWORD)

    assertRedirects(unlocked, "/")


def test_it_starts_the_cooloff_again_at_each_attempt_while_locked_out(client, user):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fail(client, "alice", 6)
    with time_machine.travel(start + datetime.timedelta(minutes=14), tick=False):
        at_14_minutes = log_in(client, "alice", PASSWORD)
    with time_machine.travel(start + datetime.timedelta(minutes=25), tick=False):
        at_25_minutes = log_in(client, "alice", PASSWORD)
    with time_machine.travel(start + datetime.timedelta(minutes=40, seconds=1), tick=False):
        at_40_minutes = log_in(client, "alice", PASSWORD)

    assert at_14_minutes.status_code == 429
    assert at_25_minutes.status_code == 429
    assertRedirects(at_40_minutes, "/")


def test_it_forgets_the_failures_after_a_successful_login(client, user):
    fail(client, "alice", 4)
    assertRedirects(log_in(client, "alice", PASSWORD), "/")
    client.post("/logout/")

    responses = fail(client, "alice", 4)

    assert [response.status_code for response in responses] == [200] * 4


def test_it_locks_out_the_admin_login_too(client, db):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    for _ in range(5):
        response = client.post("/admin/login/", {"username": "root", "password": "wrong"})

    assert response.status_code == 429
    assertTemplateUsed(response, LOCKED_TEMPLATE)


def test_it_ignores_x_forwarded_for_without_trusted_proxies(client, user):
    # Every attempt claims another address; without a trusted proxy the header is ignored.
    for number in range(5):
        response = log_in(client, "alice", "wrong", HTTP_X_FORWARDED_FOR=f"10.0.0.{number}")

    assert response.status_code == 429


def test_it_counts_the_address_the_trusted_proxy_saw(client, user, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # The left part is the client's to make up; the proxy appended the right-most address.
    for number in range(5):
        log_in(client, "alice", "wrong", HTTP_X_FORWARDED_FOR=f"10.0.0.{number}, 203.0.113.7")

    locked = log_in(client, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7")
    elsewhere = log_in(client, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.2")

    assert locked.status_code == 429
    assertRedirects(elsewhere, "/")


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (0, "10.0.0.1", "192.0.2.1"),
        (1, "", "192.0.2.1"),
        (1, "10.0.0.1", "10.0.0.1"),
        (1, "6.6.6.6, 10.0.0.1", "10.0.0.1"),
        (2, "6.6.6.6, 10.0.0.1, 172.16.0.1", "10.0.0.1"),
        (2, "10.0.0.1", "192.0.2.1"),
    ],
)
def test_it_picks_the_client_address(settings, proxies, forwarded_for, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR=forwarded_for)

    assert client_ip_address(request) == expected
