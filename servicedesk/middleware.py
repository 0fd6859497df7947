import functools
import logging
import zoneinfo
from urllib.parse import unquote

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

logger = logging.getLogger(__name__)


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class UserTimezoneMiddleware:
    """Show times in the viewer's timezone: the `tz` cookie set by the browser, if it names
    one of the IANA zones. Only a known name reaches ZoneInfo, which would otherwise try any
    text as a path below the zone folder (a folder, a name too long: OSError)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = unquote(request.COOKIES.get("tz", ""))
        if name in _zone_names():
            timezone.activate(zoneinfo.ZoneInfo(name))
        else:
            timezone.deactivate()
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """Answer 503 with `Retry-After`, not a 500, while the database cannot be reached.

    A view that meets `OperationalError` or `InterfaceError` (connection refused or lost, the
    server shutting down or in recovery, a lock or statement timeout: by DB-API's definition
    trouble of the database's operation, not of the request) ran in a transaction that is
    rolled back with it, so nothing it wrote stays: the visitor may simply try again. The
    page is plain HTML rendered without the request (no context processor, no session, no
    database); the API gets JSON. A bug in SQL raises ProgrammingError and still gives a 500.
    """

    RETRY_AFTER_SECONDS = 30

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error(
            "database unavailable: %s %s answered 503 (%s: %s)",
            request.method,
            request.path,
            type(exception).__name__,
            exception,
            exc_info=exception,
        )
        if request.path.startswith("/api/"):
            response = JsonResponse(
                {"detail": "The database is unavailable for a moment. Try again shortly."},
                status=503,
            )
        else:
            response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = str(self.RETRY_AFTER_SECONDS)
        add_never_cache_headers(response)
        return response
