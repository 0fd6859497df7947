"""Fixtures of the scorecards tests."""

import pytest

from tests.scorecards.agreement_story import story_build


@pytest.fixture
def agreement_story(org, service):
    """A week of requests under agreements (tests/scorecards/agreement_story.py)."""
    return story_build(org, service)
