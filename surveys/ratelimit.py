"""Rate limit on guessing survey links: after N unknown links from one address in a window,
every link page answers 429 until the window ends.

The counter is atomic in the cache (`cache.add` creates it, `cache.incr` counts) and an
attempt is counted *before* its link is looked up: reading the count first and counting the
failure afterwards would let a burst of concurrent guesses all pass the read before any of
them is counted. A link that turns out to be known gives its count back (an expired or used
link is no guess). With the default local-memory cache each web process counts on its own;
set CACHE_URL to a shared cache (Redis) in production.
"""

import contextlib
import time

from django.conf import settings
from django.core.cache import cache

from core.security import client_ip_address

DEFAULT_LIMIT = 10
DEFAULT_WINDOW_SECONDS = 15 * 60


def _limit() -> int:
    return getattr(settings, "SURVEY_TOKEN_FAILURE_LIMIT", DEFAULT_LIMIT)


def _window() -> int:
    return getattr(settings, "SURVEY_TOKEN_FAILURE_WINDOW", DEFAULT_WINDOW_SECONDS)


def client_address(request) -> str:
    """The address the login lockout counts too: behind the TLS proxy REMOTE_ADDR is the
    proxy's, and one guesser would block every employee's links."""
    return client_ip_address(request) or "unknown"


def _key(address: str) -> str:
    window = _window()
    return f"surveys:token-failures:{address}:{int(time.time() // window)}"


def _incr(key: str) -> int:
    cache.add(key, 0, timeout=_window() * 2)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=_window() * 2)
        return 1


def token_attempt_reserve(address: str) -> str | None:
    """Count an attempt at a link from this address before the link is looked up. Returns
    the counter's key (for `token_attempt_refund`), or None when the address is over its
    limit: answer 429 without looking the link up."""
    key = _key(address)
    return key if _incr(key) <= _limit() else None


def token_attempt_refund(key: str) -> None:
    """Give back an attempt whose link was known: only unknown links count as guesses."""
    # ValueError: the window's counter expired meanwhile, nothing to give back.
    with contextlib.suppress(ValueError):
        cache.decr(key)
