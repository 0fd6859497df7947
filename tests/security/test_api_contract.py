"""API contract: schemathesis fuzzes every operation of /api/schema/ as every role.

Attack covered: malformed or unexpected input (wrong types, huge numbers, odd strings, ids of
other people's objects) that makes the API crash (5xx) or answer something other than what
its schema promises. Each generated case is sent in-process to the WSGI app once per role
with that role's API token; path ids are mostly those of the seeded objects, so the calls
reach real requests, surveys, ratings, invitations and reports, not just 404s.
"""

import importlib
import inspect

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from servicedesk.wsgi import application

from .conftest import ROLES
from .schema import openapi_schema

EXAMPLES_PER_OPERATION = 5
CONFIG = schemathesis.Config.from_dict(
    {
        "warnings": False,
        "phases": {
            # No examples in the schema, no links between operations: fuzzing is the test.
            "examples": {"enabled": False},
            "coverage": {"enabled": False},
            "stateful": {"enabled": False},
        },
        "generation": {"max-examples": EXAMPLES_PER_OPERATION},
    }
)
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture
def _requests_share_the_test_transaction():
    """The app runs in-process and in the test's transaction, as Django's test client does:
    without this, the end of the first request closes the connection under the test."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=CONFIG)


def seeded_ids(world) -> dict[str, list]:
    """Ids (or slugs) of existing objects per collection of the API."""
    requests = [request.pk for request in world.requests.values()]
    return {
        "requests": requests,
        "surveys": [world.survey.pk],
        "relationship": [invitation.pk for invitation in world.invitations.values()],
        "request-ratings": [world.rating.pk],
        "reports": [world.report.pk],
        "services": [world.laptop.pk, world.contract.pk],
        "departments": ["it", "sales", "legal"],
        "agreements": [world.agreement.pk],
    }


def aim_at_seeded_objects(case, world) -> None:
    """Three generated path ids in four become an existing object's id; the rest stay
    random (unknown ids must answer 404, not crash). Derived from the generated value, so
    Hypothesis still shrinks and replays it."""
    (name, value), *_ = [*case.path_parameters.items(), (None, None)]
    if name is None:
        return
    collection = case.path.removeprefix("/api/v1/").split("/{")[0].split("/")[-1]
    choices = seeded_ids(world).get(collection)
    if not choices:
        return
    number = value if isinstance(value, int) else len(str(value))
    if number % 4:
        case.path_parameters[name] = choices[number % len(choices)]


@schema.parametrize()
# One pytest parameter so that each operation gets its own test id under pytest 9.2 (without
# it, schemathesis's items all share the function's id, which xdist cannot tell apart).
@pytest.mark.parametrize("roles", [ROLES], ids=["every role"])
@settings(
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
@pytest.mark.usefixtures("_requests_share_the_test_transaction")
def test_it_never_fails_and_keeps_to_its_schema_for_any_role(case, roles, world):
    aim_at_seeded_objects(case, world)
    for role in roles:
        headers = {"Authorization": f"Token {world.tokens[role]}"}
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)


SERIALIZER_MODULES = [
    "departments.api.serializers",
    "requests_app.api.serializers",
    "surveys.api.serializers",
    "scorecards.api.serializers",
    "scorecards.reports.api.serializers",
]


def test_every_nullable_column_is_nullable_in_the_schema():
    """A response with null where the schema promises a string breaks typed clients; the
    fuzzing above only sees it when the data happens to hold a null (no assignee, a system
    event without actor, a report made at quarter close without requester)."""
    from rest_framework import serializers

    components = openapi_schema()["components"]["schemas"]
    missing = []
    for module in map(importlib.import_module, SERIALIZER_MODULES):
        for name, serializer in inspect.getmembers(module, inspect.isclass):
            if not (
                issubclass(serializer, serializers.ModelSerializer)
                and serializer.__module__ == module.__name__
            ):
                continue
            properties = components.get(name.removesuffix("Serializer"), {}).get("properties", {})
            model_fields = {field.name: field for field in serializer.Meta.model._meta.fields}
            for field_name, field in serializer().fields.items():
                column = model_fields.get(field.source)
                if column is None or not column.null or field_name not in properties:
                    continue
                if not properties[field_name].get("nullable"):
                    missing.append(f"{name}.{field_name}")
    assert missing == []
