"""Dependencies shared by the routes: the database session, the Temporal client, the current
user (bearer token for the API, session cookie for the web pages)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from application.actor import Actor as Actor  # re-exported: routes and pages take it here
from application.errors import Problem
from application.gateway import TemporalHolder
from application.security import read_token
from store.files import FileStore, file_store
from store.models import User
from store.settings import Settings


def client_address(request: Request) -> str:
    """The caller's address as the server saw it (behind a proxy: the proxy's, unless the
    server is told to trust its forwarded header)."""
    return request.client.host if request.client else "unknown"


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, committed here at the request boundary: the end of the route
    function (``Session``'s ``scope="function"``), before the answer is sent, so that a client
    told "created" finds the object when it asks at once, and a commit that fails is an error
    answer rather than a success already sent. Services do not commit, except in three named
    places: before a call to Temporal (:func:`application.services.release_before_workflow`:
    the workflow reads what the request wrote, and no connection is held while it works); the
    records that must outlive a refused request or be seen by concurrent ones at once (the
    rate limits' hits, written on connections of their own by ``store/ratelimit.py``; the task
    completions' Idempotency-Keys, ``application/services/tasks.py``); and the claim of the
    next task, committed before its answer is built (on SQLite a write holds the database's
    one write lock until its commit: ``store.db.write_turn``)."""
    async with request.app.state.sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# FastAPI ends a dependency with yield after the answer is sent unless told otherwise: the
# session must end with the route (see get_session). Every use goes through this alias, so
# that a request has one session.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_temporal(request: Request) -> Client:
    """The Temporal client, or 503 ``temporal-unavailable`` (:mod:`application.gateway`)."""
    holder: TemporalHolder = request.app.state.temporal
    return await holder.require()


_bearer = HTTPBearer(auto_error=False)

SESSION_COOKIE = "yz_session"


async def _user_from_token(session: AsyncSession, settings: Settings, token: str) -> User | None:
    """The active user a token belongs to, if the token is well signed, unexpired and of the
    user's current session epoch (an ended session's token is refused)."""
    claim = read_token(settings.secret_key, token, datetime.now(UTC))
    if claim is None:
        return None
    user = await session.get(User, claim.user_id)
    if user is None or not user.active or user.session_epoch != claim.epoch:
        return None
    return user


def _token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    """The bearer token; else, for a request that changes nothing (GET, HEAD), the web
    session's cookie, so that a page's link to an API download works. A cookie alone never
    authenticates a POST, PUT, PATCH or DELETE of the API: a browser sends it with a request
    another site makes, and the API has no CSRF token (the pages check theirs in web/)."""
    if credentials:
        return credentials.credentials
    if request.method in ("GET", "HEAD") or not request.url.path.startswith("/api/"):
        return request.cookies.get(SESSION_COOKIE)
    return None


async def current_actor(
    request: Request,
    session: SessionDep,
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    token = _token(request, credentials)
    user = await _user_from_token(session, settings, token) if token else None
    if user is None:
        raise Problem(401, "unauthorized", "Not authenticated", "a valid bearer token is required")
    return Actor.of(user)


async def optional_actor(
    request: Request,
    session: SessionDep,
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor | None:
    token = _token(request, credentials)
    user = await _user_from_token(session, settings, token) if token else None
    if user is None and credentials is not None:
        # A caller who sent credentials must learn that they failed, rather than be served
        # as anonymous (an expired token would otherwise file an application as the public).
        raise Problem(
            401,
            "unauthorized",
            "Not authenticated",
            "the bearer token is invalid, expired or of an ended session; log in again or "
            "send no token",
        )
    return Actor.of(user) if user else None


def require_roles(*roles: str) -> Any:
    """A dependency giving the current actor when their role is one of ``roles``, else 403
    ``actor-not-allowed``. Endpoints that are a role's whole business (administration,
    supervision) use it; objects outside the caller's subtree are still answered with 404 by
    the services, never 403."""

    async def guard(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        if actor.role not in roles:
            raise Problem(
                403,
                "actor-not-allowed",
                "Not allowed",
                f"this needs one of the roles: {', '.join(roles)}",
            )
        return actor

    guard.required_roles = roles  # type: ignore[attr-defined]  # read by inbox_api.openapi
    return Depends(guard)


SettingsDep = Annotated[Settings, Depends(get_settings)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
CurrentActor = Annotated[Actor, Depends(current_actor)]
OptionalActor = Annotated[Actor | None, Depends(optional_actor)]
AdminActor = Annotated[Actor, require_roles("admin")]
SupervisorActor = Annotated[Actor, require_roles("supervisor", "admin")]


async def get_files(request: Request) -> FileStore:
    """The file store the settings name (materials' files, store/files.py)."""
    return file_store(request.app.state.settings)


FilesDep = Annotated[FileStore, Depends(get_files)]
