"""The clock rule's helpers (the rule itself is the `_clock` fixture of tests/conftest.py).

- `pytest.mark.clock(moment)` on a module (`pytestmark`), class or test: the clock stands
  still at `moment` for the test and every fixture it uses; `time_machine.travel` inside
  moves from there and comes back to it.
- A test without it may not travel in time: travelling is the sign that it works with fixed
  dates, and what it does outside the travel would then run on today's date.
- `pytest.mark.real_clock`: the test runs on the wall clock and may travel from it (browsers
  and servers keep their own clocks). CI runs the whole suite with the wall clock moved more
  than a year ahead (.ci/run), so a test of that kind that depends on today fails there.
"""

import os
from pathlib import Path

import pytest


class ClockRuleBroken(Exception):
    """A test travelled in time in a module that did not freeze its clock."""


def travel_refused(nodeid: str):
    """What `time_machine.travel` becomes in a test without a clock."""

    def refuse(*args, **kwargs):
        raise ClockRuleBroken(
            f"{nodeid} travels in time, so it works with fixed dates, but its module does not "
            "freeze the clock: what runs outside the travel would run on today's date. Add "
            "`pytestmark = pytest.mark.clock(NOW)` to the module (a fixed instant of its "
            "story), or `pytest.mark.real_clock` if it must run on the wall clock."
        )

    return refuse


def folder_mark(conftest_file: str, mark: pytest.MarkDecorator):
    """For a folder's conftest.py: `pytest_collection_modifyitems = folder_mark(__file__,
    pytest.mark.clock(NOW))` puts every test below it at NOW (or on the real clock), unless
    its module or the test says otherwise."""
    folder = Path(conftest_file).parent

    def pytest_collection_modifyitems(items):
        for item in items:
            if not item.path.is_relative_to(folder):
                continue
            if item.get_closest_marker("clock") or item.get_closest_marker("real_clock"):
                continue
            item.add_marker(mark)

    return pytest_collection_modifyitems


# libfaketime (Debian's faketime, which .ci/run uses to move the wall clock) works through
# these variables; a server the tests start gets an environment without them.
FAKETIME_VARIABLES = (
    "FAKETIME",
    "FAKETIME_DONT_FAKE_MONOTONIC",
    "FAKETIME_NO_CACHE",
    "DONT_FAKE_MONOTONIC",
)


def real_clock_environment(environment: dict | None = None) -> dict:
    """`environment` (default: this process's) for a server the tests start (redis-server,
    Celery workers, the browser): on the real clock even when the suite's clock is moved
    ahead, as the machine's own PostgreSQL and Redis are."""
    environment = dict(os.environ if environment is None else environment)
    for name in FAKETIME_VARIABLES:
        environment.pop(name, None)
    preload = [
        library
        for library in environment.get("LD_PRELOAD", "").replace(":", " ").split()
        if "faketime" not in Path(library).name
    ]
    if preload:
        environment["LD_PRELOAD"] = " ".join(preload)
    else:
        environment.pop("LD_PRELOAD", None)
    return environment
