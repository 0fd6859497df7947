"""The API's operations as the OpenAPI schema lists them, with their paths filled in.

Tests that must cover every endpoint enumerate them from here, so that a new endpoint is a
failing test until it is placed in their tables.
"""

import re
from functools import cache

from django.urls import URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator

PATH_PARAMETER = re.compile(r"\{(\w+)\}")


@cache
def openapi_schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def api_operations() -> list[tuple[str, str]]:
    """(METHOD, path template) of every operation, e.g. ("POST", "/api/v1/requests/{id}/")."""
    return [
        (method.upper(), path)
        for path, operations in openapi_schema()["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def collection_of(path: str) -> str:
    """The collection an operation's path parameter belongs to: /api/v1/surveys/{id}/answer/
    -> "surveys", /api/v1/surveys/relationship/{id}/ -> "surveys/relationship"."""
    return path.removeprefix("/api/v1/").split("/{")[0]


def fill(path: str, value) -> str:
    return PATH_PARAMETER.sub(str(value), path)


def page_routes() -> list[str]:
    """Every route of the URLconf outside the API and the admin, e.g. "requests/<int:pk>/"."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern)

    return [
        route
        for route in walk(get_resolver().url_patterns)
        if not route.startswith(("api/", "admin/"))
    ]
