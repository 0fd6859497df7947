"""Refuse NUL characters in the URL before any view reads it.

PostgreSQL cannot hold a NUL in a string: a lookup made from such a value (`?department=a%00b`)
fails in the database driver and the request ends in a 500. Forms and API bodies refuse NUL
already (Django's and DRF's CharField); query parameters that views read directly do not,
so they are refused here, once for every page and API call.
"""

from django.http import HttpResponseBadRequest, JsonResponse

MESSAGE = "NUL characters are not allowed in the address."


class RefuseNulCharactersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": MESSAGE}, status=400)
            return HttpResponseBadRequest(MESSAGE)
        return self.get_response(request)
