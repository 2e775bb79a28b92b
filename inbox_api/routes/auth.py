"""Token login (POST /api/v1/auth/token, OAuth2 password form)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form

from inbox_api.deps import SessionDep, SettingsDep
from inbox_api.errors import Problem
from inbox_api.schemas import TokenOut
from inbox_api.security import issue_token, verify_password
from store import repos

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


async def authenticate(session: SessionDep, username: str, password: str):  # type: ignore[no-untyped-def]
    user = await repos.user_by_username(session, username)
    if user is None or not user.active or not verify_password(user.password_hash, password):
        raise Problem(401, "bad-credentials", "Login failed", "wrong username or password")
    return user


@router.post("/token", response_model=TokenOut)
async def token(
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
) -> TokenOut:
    user = await authenticate(session, username, password)
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    return TokenOut(
        access_token=issue_token(settings.secret_key, user.id, datetime.now(UTC), ttl),
        expires_in=int(ttl.total_seconds()),
    )
