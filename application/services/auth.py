"""Logging in: the user with these credentials, or a refusal that does not say which part was
wrong; failed logins are throttled (application/throttle.py). The API's token endpoint and the
web login form both come here."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from application import throttle
from application.errors import Problem
from application.security import verify_absent_user, verify_password
from store import repos
from store.models import User
from store.settings import Settings


async def authenticate(
    session: AsyncSession, settings: Settings, client_ip: str, username: str, password: str
) -> User:
    """The user with these credentials, or 401 ``bad-credentials``; 429 ``login-throttled``
    after too many failures from the account or the client address."""
    await throttle.check_attempt(session, settings, username, client_ip, datetime.now(UTC))
    user = await repos.user_by_username(session, username)
    if user is None:
        verify_absent_user(password)
    if user is None or not user.active or not verify_password(user.password_hash, password):
        raise Problem(401, "bad-credentials", "Login failed", "wrong username or password")
    await throttle.record_success(session, username)
    return user
