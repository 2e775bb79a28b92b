"""Token login (POST /api/v1/auth/token, OAuth2 password form)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request

from application.http import SessionDep, SettingsDep, client_address
from application.schemas.auth import TokenOut
from application.security import issue_token
from application.services.auth import authenticate

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


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
    user = await authenticate(session, settings, client_address(request), username, password)
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    return TokenOut(
        access_token=issue_token(settings.secret_key, user.id, datetime.now(UTC), ttl),
        expires_in=int(ttl.total_seconds()),
    )
