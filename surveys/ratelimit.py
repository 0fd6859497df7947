"""Rate limit on guessing survey links: after N unknown links from one address in a window,
every link page answers 429 until the window ends.

The counter is atomic in the cache (`cache.add` creates it, `cache.incr` counts), so
concurrent guesses cannot slip past the limit. With the default local-memory cache each
web process counts on its own; set CACHE_URL to a shared cache (Redis) in production.
"""

import time

from django.conf import settings
from django.core.cache import cache

DEFAULT_LIMIT = 10
DEFAULT_WINDOW_SECONDS = 15 * 60


def _limit() -> int:
    return getattr(settings, "SURVEY_TOKEN_FAILURE_LIMIT", DEFAULT_LIMIT)


def _window() -> int:
    return getattr(settings, "SURVEY_TOKEN_FAILURE_WINDOW", DEFAULT_WINDOW_SECONDS)


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def _key(address: str) -> str:
    window = _window()
    return f"surveys:token-failures:{address}:{int(time.time() // window)}"


def token_failures_exceeded(address: str) -> bool:
    """Has this address had its share of unknown links in the current window?"""
    return (cache.get(_key(address)) or 0) >= _limit()


def token_failure_record(address: str) -> int:
    """Count one unknown link from the address; returns the count in this window."""
    key = _key(address)
    cache.add(key, 0, timeout=_window() * 2)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=_window() * 2)
        return 1
