"""Token login (POST /api/v1/auth/token, OAuth2 password form) and logout (POST
/api/v1/auth/logout, which ends every session of the caller: tokens and page cookies)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from application.http import CurrentActor, SessionDep, SettingsDep, client_address
from application.schemas.auth import TokenOut
from application.services.auth import authenticate, log_out, session_token

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
    issued = session_token(settings, user)
    return TokenOut(access_token=issued.token, expires_in=int(issued.ttl.total_seconds()))


@router.post(
    "/logout",
    status_code=204,
    responses={401: {"description": "no valid token (nothing to end)"}},
)
async def logout(session: SessionDep, actor: CurrentActor) -> Response:
    """End every session of the caller: this token, the caller's other tokens and their page
    cookies stop working at once (tokens are not stored, so one cannot be ended alone)."""
    await log_out(session, actor.id)
    return Response(status_code=204)
