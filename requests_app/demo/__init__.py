"""Demo history for `manage.py seed_demo`: about six months of requests up to now, so the
pages look alive on first start.

`seed_demo(*, stdout)` is the step that the project's seed_demo command
(servicedesk/management/commands/seed_demo.py) calls after loading the demo organisation,
inside its transaction. It plans the history with
`random.Random(seed)` (same seed, organisation and "now": same history): who files what with
which department and when, and each request's later actions at their instants (first
response, questions and the requester's answers, internal notes, promises, priority changes,
transfers, blocked-by links to requests of third departments, resolutions, reopens, closing,
cancelling). The plan is then replayed in time order across all requests, with the SLA
scanner every simulated hour, by one of two engines:

- `FastReplay` (what seed_demo uses) runs the same lifecycle (requests_app.lifecycle) and
  the scanner's decision (workflow.clock_crossing) against a store in memory, and writes the
  rows with a few bulk inserts: months of history in seconds.
- `ServicesReplay` calls the service functions and the scanner with `now=`: the database
  store, a dozen ORM queries per action, minutes for the full history.

tests/requests_app/test_demo.py replays one history both ways and requires identical rows, and
the same refusals with the same messages for steps that must fail.

The package:
- `stories.py` reads `stories.toml`: how each department works, and what people write;
- `planner.py`: the plan, who files what and when, and every later step;
- `replay.py`: the two engines and the replay in time order with the scanner;
- `history.py`: `history_generate`, its summary, and seed_demo's step.

Behaviour differs by department so the scorecards tell a story: IT and Security answer
quickly, Facilities and Legal are slow (Legal is rarely asked), Procurement is often late and
holds others up through blocked-by links; Sales answers its providers' questions slowly.

The history's notifications are marked as emailed (and as read when older than two days), so
a worker started afterwards sends no emails about the past.

Size and seed: settings DEMO_HISTORY_WEEKS, DEMO_HISTORY_REQUESTS_PER_WEEK and
DEMO_HISTORY_SEED (environment variables of the same names); 0 weeks adds no history.
"""

from .history import (
    DEFAULT_REQUESTS_PER_WEEK,
    DEFAULT_SEED,
    DEFAULT_WEEKS,
    HistoryReport,
    history_generate,
    seed_demo,
    summary_lines,
)
from .planner import HistoryPlanner, Plan, Step
from .replay import FAST_MODELS, FastReplay, Outcome, ServicesReplay, history_replay, step_run

__all__ = [
    "DEFAULT_REQUESTS_PER_WEEK",
    "DEFAULT_SEED",
    "DEFAULT_WEEKS",
    "FAST_MODELS",
    "FastReplay",
    "HistoryPlanner",
    "HistoryReport",
    "Outcome",
    "Plan",
    "ServicesReplay",
    "Step",
    "history_generate",
    "history_replay",
    "seed_demo",
    "step_run",
    "summary_lines",
]
