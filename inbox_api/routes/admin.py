"""Administration (系统管理) of people and places: users (list, create, read, change, reset a
password) and jurisdictions (the tree, one place, import). Administrators only (403
``actor-not-allowed`` for every other role); everything outside the caller's jurisdiction
subtree is answered like something that does not exist (404 ``not-found``). The rules — which
role fits which place, who may make administrators, the password rules, self-lockout — are in
:mod:`application.services.admin`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, Request, Response, UploadFile

from application.errors import Problem
from application.http import AdminActor, SessionDep, SettingsDep
from application.schemas.admin import (
    CODE,
    ImportOut,
    JurisdictionNode,
    JurisdictionOut,
    PasswordIn,
    PlaceRefOut,
    PolicyPackLoadOut,
    RoleName,
    UserCreateIn,
    UserOut,
    UserPage,
    UserPatchIn,
)
from application.services import admin as service, policy_load, release_before_workflow
from domain.labels import label
from store.models import User

router = APIRouter(prefix="/api/v1/admin", tags=["administration"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not an administrator (actor-not-allowed)", **PROBLEM}
}
USER_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such user in your jurisdiction", **PROBLEM}
}
PLACE_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such place in your jurisdiction", **PROBLEM}
}

UserId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The user's id")]


def user_out(user: User, place_name: str) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        role_name=label("role", user.role),
        email=user.email,
        jurisdiction_code=user.jurisdiction_code,
        jurisdiction_name=place_name,
        active=user.active,
        created_at=user.created_at,
    )


async def _one(session: SessionDep, user: User) -> UserOut:
    names = await service.place_names(session, [user])
    return user_out(user, names.get(user.jurisdiction_code, ""))


# --- users -------------------------------------------------------------------------------------


@router.get(
    "/users",
    response_model=UserPage,
    responses={
        **FORBIDDEN,
        404: {"description": "The `jurisdiction` is not in your jurisdiction", **PROBLEM},
        422: {"description": "Bad filter or cursor (bad-cursor)", **PROBLEM},
    },
    summary="List the users of your jurisdiction",
)
async def list_users(
    session: SessionDep,
    actor: AdminActor,
    role: Annotated[RoleName | None, Query()] = None,
    jurisdiction: Annotated[
        str | None, Query(pattern=CODE, description="Only users at this place or below it")
    ] = None,
    active: Annotated[bool | None, Query()] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            pattern=r"^[^\x00-\x1f\x7f]+$",
            description="Part of the username or display name",
        ),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> UserPage:
    """Users of the caller's subtree by username (keyset pages: pass ``next_cursor`` back as
    ``cursor``), filtered by role, place (its subtree), active flag and ``q``."""
    rows, next_cursor = await service.list_users(
        session,
        actor,
        role=role,
        jurisdiction=jurisdiction,
        active=active,
        q=q,
        cursor=cursor,
        limit=limit,
    )
    names = await service.place_names(session, rows)
    return UserPage(
        items=[user_out(u, names.get(u.jurisdiction_code, "")) for u in rows],
        next_cursor=next_cursor,
    )


@router.post(
    "/users",
    response_model=UserOut,
    status_code=201,
    responses={
        403: {
            "description": "Not an administrator, or privilege-exceeded (an administrator at "
            "or above your own place)",
            **PROBLEM,
        },
        404: {"description": "The place is not in your jurisdiction", **PROBLEM},
        409: {"description": "conflict: the username is taken", **PROBLEM},
        422: {
            "description": "validation-error (fields, weak password) or role-place-mismatch",
            **PROBLEM,
        },
    },
    summary="Create a user",
)
async def create_user(body: UserCreateIn, session: SessionDep, actor: AdminActor) -> UserOut:
    """Create a user at a place of the caller's subtree with an initial password. The role must
    fit the place; administrators can be made only below the caller's place (anywhere by an
    administrator at the root)."""
    user = await service.create_user(session, actor, body)
    return await _one(session, user)


@router.get(
    "/users/{user_id}",
    response_model=UserOut,
    responses={**FORBIDDEN, **USER_NOT_FOUND},
    summary="One user",
)
async def get_user(user_id: UserId, session: SessionDep, actor: AdminActor) -> UserOut:
    """A user of the caller's subtree."""
    return await _one(session, await service.get_user(session, actor, user_id))


@router.patch(
    "/users/{user_id}",
    response_model=UserOut,
    responses={
        403: {
            "description": "Not an administrator, or privilege-exceeded (a peer administrator, "
            "or making an administrator at or above your own place)",
            **PROBLEM,
        },
        404: {"description": "No such user or place in your jurisdiction", **PROBLEM},
        409: {"description": "self-lockout: your own role, place or active flag", **PROBLEM},
        422: {"description": "validation-error or role-place-mismatch", **PROBLEM},
    },
    summary="Change a user",
)
async def update_user(
    user_id: UserId, body: UserPatchIn, session: SessionDep, actor: AdminActor
) -> UserOut:
    """Change display name, email, role, place or active flag. A deactivated user can neither
    log in nor use a token issued before. Nobody deactivates, demotes or moves themself."""
    user = await service.update_user(session, actor, user_id, body)
    return await _one(session, user)


@router.post(
    "/users/{user_id}/password",
    status_code=204,
    response_class=Response,
    responses={
        403: {"description": "Not an administrator, or privilege-exceeded", **PROBLEM},
        **USER_NOT_FOUND,
        409: {"description": "self-reset: use /api/v1/me/password", **PROBLEM},
        422: {"description": "validation-error: the password breaks a rule", **PROBLEM},
    },
    summary="Set a user's password",
)
async def reset_password(
    user_id: UserId, body: PasswordIn, session: SessionDep, actor: AdminActor
) -> Response:
    """Set a new password for a user of the caller's subtree (an administrator's reset)."""
    await service.reset_password(session, actor, user_id, body.password)
    return Response(status_code=204)


# --- jurisdictions -----------------------------------------------------------------------------


@router.get(
    "/jurisdictions",
    response_model=JurisdictionNode,
    responses={**FORBIDDEN, 404: {"description": "`root` is not in your jurisdiction", **PROBLEM}},
    summary="The tree of places of your jurisdiction",
)
async def jurisdiction_tree(
    session: SessionDep,
    actor: AdminActor,
    root: Annotated[
        str | None, Query(pattern=CODE, description="Start here (inside your jurisdiction)")
    ] = None,
    depth: Annotated[
        int | None, Query(ge=0, le=6, description="Levels of children to list (default: all)")
    ] = None,
) -> JurisdictionNode:
    """The caller's place (or ``root``) and the places below it, nested, each with its level,
    policy pack (own and effective) and user counts."""
    tree = await service.place_tree(session, actor, root, depth)
    return JurisdictionNode.model_validate(tree)


@router.get(
    "/jurisdictions/{code}",
    response_model=JurisdictionOut,
    responses={**FORBIDDEN, **PLACE_NOT_FOUND},
    summary="One place",
)
async def get_jurisdiction(
    code: Annotated[str, Path(pattern=CODE)], session: SessionDep, actor: AdminActor
) -> JurisdictionOut:
    """A place of the caller's subtree with its ancestors and direct children."""
    detail = await service.place_detail(session, actor, code)
    node = detail.node
    return JurisdictionOut(
        code=node.code,
        name=node.name,
        level=node.level,
        parent_code=node.parent_code,
        path=detail.path,
        policy_pack_id=node.policy_pack_id,
        effective_policy_pack_id=node.effective_policy_pack_id,
        user_count=node.user_count,
        subtree_user_count=node.subtree_user_count,
        ancestors=[PlaceRefOut.model_validate(j) for j in detail.ancestors],
        children=[JurisdictionNode.model_validate(c) for c in detail.children],
    )


@router.post(
    "/jurisdictions/import",
    response_model=ImportOut,
    responses={
        **FORBIDDEN,
        409: {"description": "conflict: a concurrent import created the same places", **PROBLEM},
        413: {"description": "file-too-large", **PROBLEM},
        422: {
            "description": "import-invalid, with `errors`: [{line, field, message}] (nothing "
            "was written)",
            **PROBLEM,
        },
    },
    summary="Import places (CSV or JSON)",
)
async def import_jurisdictions(
    session: SessionDep,
    actor: AdminActor,
    file: Annotated[
        UploadFile,
        File(
            description="CSV (UTF-8, with or without BOM; a header row is optional) or JSON "
            '(a list of objects, or {"jurisdictions": [...]}) of rows code, name, level, '
            "parent_code[, policy_pack_id]"
        ),
    ],
) -> ImportOut:
    """Create, rename or set the policy pack of places below the caller's place. Every row is
    validated before anything is written (all or nothing): code digits and length per level
    (province/city/county 6, street/township 9, community/village 12), the parent in the file
    or the database and inside the caller's jurisdiction, no duplicates or cycles, the level
    below the parent's, a known policy pack. Errors name the CSV line (for JSON: the row's
    position, from 1). An existing place is never moved to another parent (it would move its
    cases and users between jurisdictions); an empty policy pack leaves a place's pack as it
    is. Importing the same file again changes nothing."""
    data = await file.read(service.MAX_IMPORT_BYTES + 1)
    if len(data) > service.MAX_IMPORT_BYTES:
        raise Problem(
            413,
            "file-too-large",
            "File too large",
            f"import files are limited to {service.MAX_IMPORT_BYTES // (1024 * 1024)} MiB",
        )
    result = await service.import_jurisdictions(session, actor, data)
    return ImportOut(
        created=result.created,
        renamed=result.renamed,
        policy_changed=result.policy_changed,
        unchanged=result.unchanged,
    )


@router.post(
    "/policy-packs",
    response_model=PolicyPackLoadOut,
    status_code=201,
    responses={
        200: {"description": "dry run: checked, the changes shown, nothing loaded"},
        **FORBIDDEN,
        409: {"description": "policy-pack-unchanged: that version is in force", **PROBLEM},
        413: {"description": "file-too-large", **PROBLEM},
        422: {
            "description": "policy-pack-invalid, with `errors`: one line per problem naming "
            "file, line and field (nothing was loaded)",
            **PROBLEM,
        },
    },
    summary="Load a policy pack into the running system",
)
async def load_policy_pack(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    actor: AdminActor,
    pack: Annotated[UploadFile, File(description="The pack (TOML), named <pack id>.toml")],
    cases: Annotated[UploadFile, File(description="Its test cases (TOML)")],
    dry_run: Annotated[bool, Form(description="Check and show the changes only")] = False,
) -> PolicyPackLoadOut:
    """Validate the pack, run its own test cases (they must pass and cover every rule), show
    the changes from the version in force under its id, then — unless ``dry_run`` — put it in
    force for the places mapped to that id, audited (``policy_pack_loaded``). Cases already
    running keep the version they were opened under; what is opened from now on, in every
    process, runs under the new one. A revision whose ``[transition]`` says ``assistance =
    "move"`` moves the persons already identified to its assistance rules from its first day
    (``transition_status``: started, or pending while the workflow engine is away). The
    caller's jurisdiction must hold every place the pack applies to."""
    texts = []
    for part, upload in (("pack", pack), ("cases", cases)):
        data = await upload.read(policy_load.MAX_PACK_BYTES + 1)
        if len(data) > policy_load.MAX_PACK_BYTES:
            raise Problem(
                413,
                "file-too-large",
                "File too large",
                f"pack and cases files are limited to {policy_load.MAX_PACK_BYTES // 1024} KiB",
            )
        try:
            texts.append(data.decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise Problem(
                422,
                "policy-pack-invalid",
                "Policy pack refused",
                f"{upload.filename}: not UTF-8 text",
                errors=[
                    {
                        "field": part,
                        "message": f"{upload.filename}: not UTF-8 text",
                        "code": f"invalid-{part}",
                    }
                ],
            ) from None
    plan = await policy_load.plan_load(
        session, pack.filename or "", texts[0], texts[1], scope_path=actor.jurisdiction_path
    )
    status = None
    if dry_run:
        response.status_code = 200
    else:
        await policy_load.activate(session, plan, actor_id=actor.id, by=actor.username)
        if plan.moves_assistance:
            await release_before_workflow(session)
            status = await policy_load.start_transition(
                await request.app.state.temporal.get(),
                settings.temporal_task_queue,
                plan.pack,
                plan.effective_on,
            )
    transition = plan.pack.transition
    return PolicyPackLoadOut(
        pack_id=plan.pack.id,
        ref=plan.pack.ref,
        effective_on=plan.effective_on,
        replaces=plan.replaces.ref if plan.replaces else None,
        cases_passed=plan.passed,
        changes=plan.changes,
        places=plan.places,
        activated=not dry_run,
        transition=transition.assistance if transition else "stay",
        transition_source=transition.citation if transition else None,
        transition_status=status,
    )
