"""The demo's story, read from stories.toml: how each department works (how much it is asked,
how often late, how fast) and what people write (request texts per service, replies,
questions, notes, resolutions, misfiled requests, blocking requests). Edit the TOML file to
tell another story; the planner draws from these with its seeded random generator."""

import tomllib
from dataclasses import dataclass
from pathlib import Path

STORY_FILE = Path(__file__).with_name("stories.toml")


@dataclass(frozen=True)
class Behaviour:
    """How a provider works: how much it is asked, how often late, how fast when on time."""

    volume: float  # relative number of requests it gets
    first_late: float  # probability the first response comes after its due time
    resolution_late: float  # probability the resolution comes after its due time
    pace: float  # mean fraction of a target used when on time (lower is faster)
    asks: float  # probability of asking the requester something (waiting on requester)


def _pairs(items) -> list[tuple]:
    return [tuple(item) for item in items]


_story = tomllib.loads(STORY_FILE.read_text(encoding="utf-8"))

_behaviours = {slug: Behaviour(**values) for slug, values in _story["behaviour"].items()}
DEFAULT_BEHAVIOUR = _behaviours.pop("default")
BEHAVIOUR: dict[str, Behaviour] = _behaviours
# Median business hours a requesting department takes to answer a question (customer side).
ANSWER_HOURS: dict[str, float] = _story["answer_hours"]
FILLERS: dict[str, list[str]] = _story["fillers"]
# Service name -> (relative volume within its department, share confidential, [(title, body)]).
SERVICE_TEXTS: dict[str, tuple[float, float, list[tuple[str, str]]]] = {
    name: (values["volume"], values["confidential"], _pairs(values["texts"]))
    for name, values in _story["services"].items()
}
_replies = _story["replies"]
GENERIC_TEXTS: list[tuple[str, str]] = _pairs(_replies["generic_texts"])
FIRST_REPLIES: list[str] = _replies["first_replies"]
ANSWERS: list[str] = _replies["answers"]
REMINDERS: list[str] = _replies["reminders"]
REOPENS: list[str] = _replies["reopens"]
CANCELS: list[str] = _replies["cancels"]
TRANSFER_NOTES: list[str] = _replies["transfer_notes"]
BLOCKED_NOTES: list[str] = _replies["blocked_notes"]
UNBLOCKED_REPLIES: list[str] = _replies["unblocked_replies"]
QUESTIONS: dict[str, list[str]] = _story["questions"]
NOTES: dict[str, list[str]] = _story["notes"]
RESOLUTIONS: dict[str, list[str]] = _story["resolutions"]
# Filed at the wrong place: (wrong department's service, right department's service).
TRANSFERS: list[tuple[str, str]] = _pairs(_story["misfiled"]["transfers"])
# A blocked request's service -> [(blocking service, title, description)], filed by its agent.
BLOCKERS: dict[str, list[tuple[str, str, str]]] = {
    service: _pairs(items) for service, items in _story["blockers"].items()
}
