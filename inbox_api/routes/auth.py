"""Token login (POST /api/v1/auth/token, OAuth2 password form)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy.ext.asyncio import AsyncSession

from inbox_api import throttle
from inbox_api.deps import SessionDep, SettingsDep
from inbox_api.errors import Problem
from inbox_api.schemas import TokenOut
from inbox_api.security import issue_token, verify_absent_user, verify_password
from store import repos
from store.models import User
from store.settings import Settings

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


async def authenticate(
    session: AsyncSession, settings: Settings, request: Request, username: str, password: str
) -> User:
    """The user with these credentials, or 401 ``bad-credentials``; 429 ``login-throttled``
    after too many failures (the API and the web login form both come here)."""
    client_ip = request.client.host if request.client else "unknown"
    await throttle.check_attempt(session, settings, username, client_ip, datetime.now(UTC))
    user = await repos.user_by_username(session, username)
    if user is None:
        verify_absent_user(password)
    if user is None or not user.active or not verify_password(user.password_hash, password):
        raise Problem(401, "bad-credentials", "Login failed", "wrong username or password")
    await throttle.record_success(session, username)
    return user


@router.post(
    "/token",
    response_model=TokenOut,
    responses={
        401: {"description": "wrong username or password"},
        429: {"description": "too many failed logins (see Retry-After)"},
    },
)
async def token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
) -> TokenOut:
    """Log in with username and password (OAuth2 password form) and get a bearer token."""
    user = await authenticate(session, settings, request, username, password)
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    return TokenOut(
        access_token=issue_token(settings.secret_key, user.id, datetime.now(UTC), ttl),
        expires_in=int(ttl.total_seconds()),
    )
