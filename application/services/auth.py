"""Logging in and out: the user with these credentials, or a refusal that does not say which
part was wrong (failed logins are throttled, application/throttle.py); the token of a session;
logging out, which ends the user's sessions. The API's token endpoint and the web login form
both come here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from application import throttle
from application.errors import Problem
from application.security import end_sessions, issue_token, verify_absent_user, verify_password
from store import repos
from store.models import User
from store.settings import Settings


async def authenticate(
    session: AsyncSession, settings: Settings, client_ip: str, username: str, password: str
) -> User:
    """The user with these credentials, or 401 ``bad-credentials``; 429 ``login-throttled``
    after too many failures from the account or the client address."""
    attempt = await throttle.begin_attempt(session, settings, username, client_ip)
    try:
        user = await repos.user_by_username(session, username)
        if user is None:
            verify_absent_user(password)
        if user is None or not user.active or not verify_password(user.password_hash, password):
            raise Problem(401, "bad-credentials", "Login failed", "wrong username or password")
    except BaseException:
        # Counted as a failure, whatever went wrong: only a success gives the places back.
        await attempt.failed()
        raise
    await attempt.succeeded()
    return user


@dataclass(frozen=True)
class SessionToken:
    """A bearer token or page cookie for a user's current session, and how long it lasts."""

    token: str
    ttl: timedelta


def session_token(settings: Settings, user: User) -> SessionToken:
    """A token for ``user``'s current session epoch (one ended by :func:`log_out` or by a
    change of password or access no longer counts)."""
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    token = issue_token(settings.secret_key, user.id, datetime.now(UTC), ttl, user.session_epoch)
    return SessionToken(token, ttl)


async def log_out(session: AsyncSession, user_id: int) -> None:
    """End every session of the user: the API tokens and page cookies issued so far stop
    counting at once (tokens are not stored, so one cannot be ended alone)."""
    user = await session.get(User, user_id)
    if user is not None:
        end_sessions(user)
        await session.flush()
