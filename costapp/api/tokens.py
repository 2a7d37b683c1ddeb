"""The API token service: issue (shown once), authenticate, revoke.

Tokens are 32 random bytes, so a plain SHA-256 is the right hash: there is nothing to
brute-force that a slow password hash would protect (the push API's tokens work the same way,
costapp/sources/push.py).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .models import ApiToken

# Distinct from the push API's "ilp_", so a token pasted in the wrong place is recognisable.
TOKEN_PREFIX = "ila_"
VISIBLE_CHARS = len(TOKEN_PREFIX) + 8
NAME_MAX = ApiToken._meta.get_field("name").max_length
# last_used_at is written at most this often per token: a busy client must not turn every
# read into a row update.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(ValueError):
    """A token request the service refuses, naming the field."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message, self.field = message, field


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # the whole token: shown to its owner once, never stored


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def clean_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise TokenError("name is required", "name")
    if len(name) > NAME_MAX:
        raise TokenError(f"name is longer than {NAME_MAX} characters", "name")
    if "\x00" in name:
        raise TokenError("name contains a NUL character", "name")
    return name


def issue(user, name: str | None) -> IssuedToken:
    """A new token for `user`. The secret is returned once; only its hash is kept."""
    name = clean_name(name)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=secret[:VISIBLE_CHARS], digest=_digest(secret)
    )
    return IssuedToken(token=token, secret=secret)


def authenticate(secret: str) -> ApiToken | None:
    """The active token `secret` is, with its user, or None. Marks it used."""
    if not secret:
        return None
    digest = _digest(secret)
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=digest, revoked_at=None, user__is_active=True)
        .first()
    )
    # The lookup is by hash already; compare_digest keeps the final check constant-time.
    if token is None or not hmac.compare_digest(token.digest, digest):
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def tokens_of(user) -> list[ApiToken]:
    return list(ApiToken.objects.filter(user=user))


@transaction.atomic
def revoke(user, token_id: int) -> bool:
    """Revoke one of `user`'s own tokens; False when they have no such token (another user's
    token is "no such token" too)."""
    updated = ApiToken.objects.filter(pk=token_id, user=user, revoked_at=None).update(
        revoked_at=timezone.now()
    )
    return updated == 1 or ApiToken.objects.filter(pk=token_id, user=user).exists()
