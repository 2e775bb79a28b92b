"""Passwords and tokens. Passwords are hashed with Argon2id (memory-hard). Access tokens are
HMAC-SHA256-signed ``<user id>.<expiry>`` strings under the configured secret: stateless, so
several API processes accept each other's tokens, and invalidated by rotating the secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

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


def issue_token(secret: str, user_id: int, now: datetime, ttl: timedelta) -> str:
    payload = f"{user_id}.{int((now + ttl).timestamp())}"
    return f"{payload}.{_sign(secret, payload)}"


def read_token(secret: str, token: str, now: datetime) -> int | None:
    """The user id of a valid, unexpired token, else None."""
    try:
        user_id, expiry, signature = token.split(".")
        payload = f"{user_id}.{expiry}"
        if not hmac.compare_digest(signature, _sign(secret, payload)):
            return None
        if int(expiry) < now.timestamp():
            return None
        return int(user_id)
    except ValueError:
        return None
