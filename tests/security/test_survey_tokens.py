"""Survey links: guessing, stealing from the database, replaying, and brute force.

Attacks covered: guessing a link (it carries at least 128 random bits), reading links out of
a database dump (only their sha256 is stored), and hammering the link page (429 from an
atomic per-address counter, in local memory and in Redis, also under a burst of concurrent
guesses). Replaying a used link, and ten concurrent submissions of one link (PostgreSQL),
are in tests/surveys: test_views.py and test_services.py
(test_ten_concurrent_link_submissions_leave_exactly_one_response).
"""

import base64
import hashlib
import os
import threading
import time
import uuid

import pytest
from django.core.cache import cache
from django.test import Client

from surveys import views
from surveys.choices import TokenState
from surveys.models import SurveyToken
from surveys.ratelimit import token_attempt_refund, token_attempt_reserve
from surveys.tokens import TokenCheck, token_issue

GUESS = "A" * 43


@pytest.fixture(params=["locmem", "redis"])
def counters(request, settings):
    """A cache of its own for the rate-limit counters: local memory (the default), and Redis
    (production) when REDIS_URL names one. Never cleared: the Redis database may be shared."""
    prefix = f"security-test-{uuid.uuid4().hex}"
    if request.param == "redis":
        if not os.environ.get("REDIS_URL"):
            pytest.skip("REDIS_URL is not set")
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": os.environ["REDIS_URL"],
                "KEY_PREFIX": prefix,
            }
        }
    else:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": prefix,
            }
        }
    return cache


def test_it_puts_at_least_128_random_bits_in_a_link(world):
    links = {token_issue(request_survey=world.survey, expires_at=world.survey.closes_at)}
    links.add(token_issue(request_survey=world.survey, expires_at=world.survey.closes_at))

    assert len(links) == 2
    for link in links:
        raw = base64.urlsafe_b64decode(link + "=" * (-len(link) % 4))
        assert len(raw) * 8 >= 128


def test_it_stores_the_sha256_of_a_link_and_nothing_from_which_to_rebuild_it(world):
    link = token_issue(request_survey=world.survey, expires_at=world.survey.closes_at)

    (row,) = SurveyToken.objects.filter(request_survey=world.survey, replaced_at=None).values()
    assert row["token_hash"] == hashlib.sha256(link.encode()).hexdigest()
    assert not any(link in str(value) or link[:16] in str(value) for value in row.values())


@pytest.mark.usefixtures("counters")
def test_it_counts_attempts_atomically_from_many_threads(settings):
    settings.SURVEY_TOKEN_FAILURE_LIMIT = 10
    start = threading.Barrier(30, timeout=10)
    granted = []

    def attempt():
        start.wait()
        granted.append(token_attempt_reserve("10.0.0.9"))

    threads = [threading.Thread(target=attempt) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert len(granted) == 30
    assert len([key for key in granted if key]) == 10


@pytest.mark.usefixtures("counters")
def test_it_gives_back_the_attempt_of_a_known_link(settings):
    settings.SURVEY_TOKEN_FAILURE_LIMIT = 2
    for _ in range(5):
        token_attempt_refund(token_attempt_reserve("10.0.0.9"))
    assert token_attempt_reserve("10.0.0.9")
    assert token_attempt_reserve("10.0.0.9")
    assert token_attempt_reserve("10.0.0.9") is None


@pytest.mark.usefixtures("counters")
def test_a_burst_of_concurrent_guesses_gets_no_more_lookups_than_the_limit(settings, monkeypatch):
    """With "read the count, look the link up, count the failure", ten guesses sent at once
    all pass the read before any is counted: the count must come before the lookup."""
    settings.SURVEY_TOKEN_FAILURE_LIMIT = 3
    looked_up = []

    def slow_unknown_link(*, raw_token, now=None):
        looked_up.append(raw_token)
        time.sleep(0.2)  # a slow database: every guess of the burst is in flight at once
        return TokenCheck(TokenState.INVALID)

    monkeypatch.setattr(views, "token_check", slow_unknown_link)
    start = threading.Barrier(10, timeout=10)
    statuses = []

    def guess(number):
        browser = Client()
        start.wait()
        statuses.append(browser.get(f"/surveys/t/{GUESS[:-2]}{number:02d}/").status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert len(looked_up) == 3
    assert sorted(statuses) == [404] * 3 + [429] * 7
