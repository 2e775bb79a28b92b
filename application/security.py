"""Passwords and tokens. Passwords are hashed with Argon2id (memory-hard). Access tokens (the
API's bearer token and the pages' session cookie alike) are HMAC-SHA256-signed
``<user id>.<session epoch>.<expiry>`` strings under the configured secret: several API
processes accept each other's tokens without a shared session store, and a token counts only
while its epoch is the user's current one, so raising the epoch (:func:`end_sessions`) ends
every session of that user at once; rotating the secret ends everyone's."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_absent_user_hash: str | None = None


def verify_absent_user(password: str) -> bool:
    """Spend what checking a real password costs, for a username that does not exist, so that
    the response time does not tell which usernames do. Always False."""
    global _absent_user_hash
    if _absent_user_hash is None:
        _absent_user_hash = hash_password("absent user")
    verify_password(_absent_user_hash, password)
    return False


def _sign(secret: str, payload: str) -> str:
    mac = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def issue_token(secret: str, user_id: int, now: datetime, ttl: timedelta, epoch: int = 0) -> str:
    """A token for ``user_id`` in their current session ``epoch``, valid for ``ttl``."""
    payload = f"{user_id}.{epoch}.{int((now + ttl).timestamp())}"
    return f"{payload}.{_sign(secret, payload)}"


@dataclass(frozen=True)
class TokenClaim:
    """What a well-signed, unexpired token says: whose it is and the epoch it was issued in
    (the caller compares that with the user's current epoch)."""

    user_id: int
    epoch: int


def read_token(secret: str, token: str, now: datetime) -> TokenClaim | None:
    """The claim of a valid, unexpired token, else None (tokens from before session epochs,
    ``<user id>.<expiry>``, no longer count)."""
    try:
        user_id, epoch, expiry, signature = token.split(".")
        payload = f"{user_id}.{epoch}.{expiry}"
        if not hmac.compare_digest(signature, _sign(secret, payload)):
            return None
        if int(expiry) < now.timestamp():
            return None
        return TokenClaim(int(user_id), int(epoch))
    except ValueError:
        return None


class HasSessionEpoch(Protocol):
    session_epoch: int


def end_sessions(user: HasSessionEpoch) -> None:
    """End every session of ``user`` now: tokens and cookies issued before stop counting on
    their next request. Called on logout, on a password changed or reset, when an
    administrator changes the user's role, place or active flag."""
    user.session_epoch = (user.session_epoch or 0) + 1
