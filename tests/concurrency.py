"""Running the same call in several threads at once, each on its own database connection:
for the tests that two scanners (or beats, or workers) never do a thing twice."""

import threading

from django.db import connections


def at_once(function, count: int = 2, *, timeout: float = 30) -> list:
    """Call `function()` in `count` threads released together; their results, once every
    thread has finished. A thread's exception fails the caller (AssertionError)."""
    start = threading.Barrier(count, timeout=10)
    results, errors = [], []

    def run():
        try:
            start.wait()
            results.append(function())
        except Exception as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert errors == []
    assert len(results) == count
    return results
