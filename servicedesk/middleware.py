import zoneinfo
from urllib.parse import unquote

from django.utils import timezone


class UserTimezoneMiddleware:
    """Show times in the viewer's timezone: the `tz` cookie set by the browser, if valid."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = unquote(request.COOKIES.get("tz", ""))
        try:
            timezone.activate(zoneinfo.ZoneInfo(name)) if name else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        return self.get_response(request)
