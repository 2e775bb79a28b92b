"""The caller's own account (/api/v1/me): the profile (role, place and the places above it) and
a change of one's own password (the current one required). Any authenticated user."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from application.http import CurrentActor, SessionDep
from application.schemas.account import MeOut, PasswordChangeIn, PlaceOut
from application.services import admin as service
from domain.labels import label

router = APIRouter(prefix="/api/v1/me", tags=["account"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not authenticated", **PROBLEM}
}


@router.get("", response_model=MeOut, responses=UNAUTHORIZED, summary="Your profile")
async def me(session: SessionDep, actor: CurrentActor) -> MeOut:
    """The caller's username, display name, role (and its Chinese name), place with the names
    of the places above it, and email."""
    p = await service.profile(session, actor)
    return MeOut(
        id=p.user.id,
        username=p.user.username,
        display_name=p.user.display_name,
        role=p.user.role,
        role_name=label("role", p.user.role),
        email=p.user.email,
        jurisdiction_code=p.place.code,
        jurisdiction_name=p.place.name,
        jurisdiction_level=p.place.level,
        jurisdiction_path_names=" / ".join(j.name for j in p.chain),
        jurisdiction_chain=[PlaceOut(code=j.code, name=j.name, level=j.level) for j in p.chain],
    )


@router.post(
    "/password",
    status_code=204,
    response_class=Response,
    responses={
        **UNAUTHORIZED,
        422: {
            "description": "validation-error with `errors` for current_password (wrong) and "
            "new_password (breaks a rule)",
            **PROBLEM,
        },
    },
    summary="Change your password",
)
async def change_password(
    body: PasswordChangeIn, session: SessionDep, actor: CurrentActor
) -> Response:
    """Change the caller's password; the current password is required. Every session of the
    caller ends with it (this token too: log in again with the new password)."""
    await service.change_own_password(session, actor, body.current_password, body.new_password)
    return Response(status_code=204)
