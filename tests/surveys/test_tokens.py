"""Spending a survey link: only for the kind of survey it was sent for, and only once."""

import datetime

import pytest

from surveys.choices import TokenState
from surveys.models import RelationshipInvitation
from surveys.tokens import TokenRefused, token_check, token_spend

from .conftest import Q3_OPENED, survey_links

WHILE_OPEN = Q3_OPENED + datetime.timedelta(days=1)


def test_it_spends_a_request_survey_link_and_returns_its_survey(surveyed):
    _request, survey, token = surveyed
    assert token_spend(raw_token=token, target="request_survey") == survey
    assert token_check(raw_token=token).state == TokenState.USED


def test_it_spends_a_link_once(surveyed):
    _request, _survey, token = surveyed
    token_spend(raw_token=token, target="request_survey")
    with pytest.raises(TokenRefused) as refused:
        token_spend(raw_token=token, target="request_survey")
    assert refused.value.check.state == TokenState.USED


def test_it_refuses_a_request_survey_link_for_an_invitation_and_leaves_it_unspent(surveyed):
    _request, _survey, token = surveyed
    with pytest.raises(TokenRefused) as refused:
        token_spend(raw_token=token, target="invitation")
    assert refused.value.check.state == TokenState.VALID
    assert token_check(raw_token=token).state == TokenState.VALID


def test_it_refuses_an_invitation_link_for_a_request_survey_and_leaves_it_unspent(opened, org):
    (token,) = survey_links(org.requester)
    with pytest.raises(TokenRefused):
        token_spend(raw_token=token, target="request_survey", now=WHILE_OPEN)
    assert token_check(raw_token=token, now=WHILE_OPEN).state == TokenState.VALID
    invitation = token_spend(raw_token=token, target="invitation", now=WHILE_OPEN)
    assert invitation == RelationshipInvitation.objects.get(user=org.requester)
    assert token_check(raw_token=token, now=WHILE_OPEN).state == TokenState.USED
