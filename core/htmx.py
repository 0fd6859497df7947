"""Pages that htmx swaps in part."""

from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def htmx_render(request, template: str, partial: str, context: dict, *, partial_wanted=None):
    """The whole page, or for htmx the part it swaps (`partial_wanted` decides when given).
    Both vary on HX-Request, so a cache or the browser's history never serves one for the
    other."""
    wanted = bool(request.htmx) if partial_wanted is None else partial_wanted
    response = render(request, partial if wanted else template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response
