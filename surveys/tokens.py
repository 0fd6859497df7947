"""Single-use survey links: 256 random bits, stored as sha256, checked without side effects.

A link is unforgeable because it is random and only its hash is kept: a changed character
gives an unknown hash ("not a survey link"), which counts towards the caller's rate limit.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Literal

from django.db import transaction
from django.utils import timezone

from .choices import TokenState
from .models import RelationshipInvitation, RequestSurvey, SurveyToken

TOKEN_BYTES = 32  # 256 bits; the hardening rule asks for at least 128
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def token_hash(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode("ascii")).hexdigest()


def token_issue(
    *,
    expires_at,
    request_survey: RequestSurvey | None = None,
    invitation: RelationshipInvitation | None = None,
    now=None,
) -> str:
    """A new link to the survey; older unused links of the same survey become `replaced`.
    Returns the raw token, which is stored nowhere."""
    now = now or timezone.now()
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        SurveyToken.objects.filter(
            request_survey=request_survey,
            invitation=invitation,
            used_at__isnull=True,
            replaced_at__isnull=True,
        ).update(replaced_at=now)
        SurveyToken.objects.create(
            token_hash=token_hash(raw),
            request_survey=request_survey,
            invitation=invitation,
            created_at=now,
            expires_at=expires_at,
        )
    return raw


@dataclass(frozen=True)
class TokenCheck:
    """What a link is worth at a moment; only VALID lets its holder answer."""

    state: TokenState
    token: SurveyToken | None = None

    @property
    def request_survey(self) -> RequestSurvey | None:
        return self.token.request_survey if self.token else None

    @property
    def invitation(self) -> RelationshipInvitation | None:
        return self.token.invitation if self.token else None

    @property
    def invitee_id(self) -> int | None:
        if self.token is None:
            return None
        if self.token.request_survey_id:
            return self.token.request_survey.requester_id
        return self.token.invitation.user_id


def token_check(*, raw_token: str, now=None) -> TokenCheck:
    """The state of a link, changing nothing."""
    now = now or timezone.now()
    if not raw_token or not TOKEN_PATTERN.match(raw_token):
        return TokenCheck(TokenState.INVALID)
    token = (
        SurveyToken.objects.select_related(
            "request_survey__request",
            "request_survey__provider_department",
            "request_survey__requester",
            "invitation__survey",
            "invitation__user",
        )
        .filter(token_hash=token_hash(raw_token))
        .first()
    )
    if token is None:
        return TokenCheck(TokenState.INVALID)
    if token.invitation_id and not token.invitation.survey.is_open(now):
        return TokenCheck(TokenState.CLOSED, token)  # the news that matters most
    if token.used_at is not None:
        return TokenCheck(TokenState.USED, token)
    if token.replaced_at is not None:
        return TokenCheck(TokenState.REPLACED, token)
    if token.expires_at <= now:
        return TokenCheck(TokenState.EXPIRED, token)
    return TokenCheck(TokenState.VALID, token)


def token_claim(*, token: SurveyToken, now) -> bool:
    """Spend the link: true for exactly one caller, however many submit at once."""
    return (
        SurveyToken.objects.filter(
            pk=token.pk, used_at__isnull=True, replaced_at__isnull=True, expires_at__gt=now
        ).update(used_at=now)
        == 1
    )


class TokenRefused(Exception):
    """The link cannot be used (any more); `check.state` says why."""

    def __init__(self, check: TokenCheck):
        super().__init__(check.state.label)
        self.check = check


def token_spend(
    *, raw_token: str, target: Literal["request_survey", "invitation"], now=None
) -> RequestSurvey | RelationshipInvitation:
    """Spend a valid link to a `target` and return that survey or invitation; raise
    TokenRefused otherwise. Call it in the transaction that records the answer, so that an
    answer refused later leaves the link unspent."""
    now = now or timezone.now()
    check = token_check(raw_token=raw_token, now=now)
    if check.state != TokenState.VALID or getattr(check, target) is None:
        raise TokenRefused(check)
    if not token_claim(token=check.token, now=now):
        raise TokenRefused(TokenCheck(TokenState.USED, check.token))
    return getattr(check, target)
