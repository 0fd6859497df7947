"""The database refuses connections, or drops one mid-request: a clear 503, nothing half-saved.

The connection is real: this thread's default connection is pointed at a port where nothing
listens (PostgreSQL) or a file that cannot be opened (SQLite), or its PostgreSQL backend is
terminated in the middle of a transaction.
"""

import contextlib
import copy

import pytest
from django.db import close_old_connections, connection, connections

from requests_app.models import Notification, RequestEvent, ServiceRequest, SLAClock

from .conftest import free_port, postgresql_only


@pytest.fixture
def refused(tmp_path):
    """A context manager: meanwhile, connecting to the database is refused."""

    @contextlib.contextmanager
    def database_refusing_connections():
        working = connections["default"]
        settings_dict = copy.deepcopy(working.settings_dict)
        if working.vendor == "postgresql":
            settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))
        else:
            settings_dict["NAME"] = str(tmp_path / "no such folder" / "db.sqlite3")
        refusing = type(working)(settings_dict, alias="default")
        connections["default"] = refusing
        try:
            yield
        finally:
            connections["default"] = working
            refusing.close()

    return database_refusing_connections


def filing(service) -> dict:
    return {"service": service.pk, "title": "Laptop", "description": "broken"}


def nothing_written() -> bool:
    return not (
        ServiceRequest.objects.exists()
        or RequestEvent.objects.exists()
        or SLAClock.objects.exists()
        or Notification.objects.exists()
    )


def test_it_shows_a_plain_503_page_while_the_database_refuses_connections(
    client, org, refused, caplog
):
    client.force_login(org.requester)

    with refused():
        response = client.get("/requests/")

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response["Content-Type"].startswith("text/html")
    assert "no-cache" in response["Cache-Control"]
    page = response.content.decode()
    assert "unavailable for a moment" in page
    assert "<script" not in page
    assert "database unavailable: GET /requests/ answered 503" in caplog.text
    # The database is back: so is the page, without a restart.
    assert client.get("/requests/").status_code == 200


def test_it_answers_json_503_in_the_api(client, org, refused):
    client.force_login(org.requester)

    with refused():
        response = client.get("/api/v1/requests/")

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json() == {
        "detail": "The database is unavailable for a moment. Try again shortly."
    }


def test_it_files_nothing_while_refused_and_files_once_it_is_back(client, org, service, refused):
    client.force_login(org.requester)

    with refused():
        response = client.post(
            "/api/v1/requests/", filing(service), content_type="application/json"
        )

    assert response.status_code == 503
    assert nothing_written()
    response = client.post("/api/v1/requests/", filing(service), content_type="application/json")
    assert response.status_code == 201
    assert ServiceRequest.objects.count() == 1


def test_healthz_answers_503_while_the_database_refuses_connections(client, db, refused):
    with refused():
        response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == {"ok": False, "error": "OperationalError"}


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_it_rolls_back_a_request_whose_connection_dies_mid_transaction(client, org, service):
    """The server ends the connection after the request, its clocks and events were written
    and before its notification: the transaction dies with it, and the user gets a 503."""
    client.force_login(org.requester)
    terminated = []

    def terminate_before_notifying(execute, sql, params, many, context):
        if sql.startswith('INSERT INTO "requests_app_notification"') and not terminated:
            backend = context["connection"].connection.info.backend_pid
            other = connection.copy()
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
                terminated.append(backend)
                while True:  # until the backend has gone
                    cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [backend])
                    if cursor.fetchone() is None:
                        break
            other.close()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(terminate_before_notifying):
        response = client.post(
            "/api/v1/requests/", filing(service), content_type="application/json"
        )

    assert terminated
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    close_old_connections()  # what Django does at the end of every request
    assert nothing_written()
    response = client.post("/api/v1/requests/", filing(service), content_type="application/json")
    assert response.status_code == 201
    assert ServiceRequest.objects.count() == 1
