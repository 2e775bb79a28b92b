"""Administration of people and places (用户与区划管理), and the caller's own account.

The rules live here once, for the API and the CLI (``yuanzhu user create``):

- **Passwords** (:func:`check_password_rules`): 8 to 200 characters (200 is what the login form
  accepts), not only spaces, not the username.
- **Usernames** (``USERNAME_PATTERN``, with the request schemas): 2 to 64 characters of
  lower-case letters, digits, ``.``, ``_`` and ``-``, starting with a letter or digit.
- **Which role fits which place** (:data:`ROLE_LEVELS`): a grassroots officer works at a
  community, street/township or county; a county reviewer at a county; a supervisor at a
  county, city or province; an administrator anywhere (within the rule below).

Scope and privilege (nobody may grant more than they have):

- An administrator administers the users and places of their own subtree (their node and
  everything below it). Anything outside it is answered like something that does not exist
  (404 ``not-found``).
- Administrator accounts may be created, or given, only *strictly below* the caller's node;
  only an administrator at the top of the tree (the root, ``/000000/``) may make administrators
  anywhere, the root included. Likewise a non-root administrator may view but not change (403
  ``privilege-exceeded``) another administrator at their own node: that peer has exactly the
  caller's powers.
- Nobody deactivates, demotes or moves themself (409 ``self-lockout``), so an installation never
  loses its last administrator; a password of one's own is changed at ``/api/v1/me/password``
  (which asks for the current one), not through the administrator's reset.

Every change writes an :class:`~store.models.AuditEntry` with the actor and the fields before and
after (never a password or a hash).

Places are imported from a CSV (UTF-8, with or without BOM) or JSON file of ``code, name, level,
parent_code[, policy_pack_id]`` rows (:func:`import_jurisdictions`): everything is validated
before anything is written, an existing place may be renamed or given a policy pack but never
moved to another parent (that would move its cases and users between jurisdictions), and
importing the same file again changes nothing.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from application.actor import Actor
from application.errors import Problem, not_found
from application.schemas.admin import (
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    USERNAME_PATTERN,
    UserCreateIn,
    UserPatchIn,
)
from application.security import end_sessions, hash_password, verify_password
from store import admin_repo, repos
from store.audit import record_audit
from store.models import Jurisdiction, User
from store.packs import packs_in_force

# --- the rules ---------------------------------------------------------------------------------

ROLES = ("grassroots_officer", "county_reviewer", "supervisor", "admin")

# Jurisdiction levels from the top down (the names stored in ``jurisdictions.level``).
LEVEL_RANK = {"country": 5, "province": 4, "city": 3, "county": 2, "street": 1, "community": 0}
# A township (乡镇) is stored as a street and a village (村) as a community: the workflows'
# level rules know these six levels only.
LEVEL_ALIASES = {"township": "street", "village": "community"}
# The national division code's length at each importable level.
CODE_LENGTHS = {"province": 6, "city": 6, "county": 6, "street": 9, "community": 12}

# Which role fits which place: used for every create and every change of role or place.
ROLE_LEVELS: dict[str, frozenset[str]] = {
    "grassroots_officer": frozenset({"county", "street", "community"}),
    "county_reviewer": frozenset({"county"}),
    "supervisor": frozenset({"county", "city", "province"}),
    "admin": frozenset(LEVEL_RANK),
}


def check_password_rules(password: str, username: str | None = None) -> list[str]:
    """The rules ``password`` breaks (English sentences), empty when it is acceptable. The one
    place the password rules live: the API and ``yuanzhu user create`` both call it."""
    broken: list[str] = []
    if len(password) < PASSWORD_MIN_LENGTH:
        broken.append(f"the password must be at least {PASSWORD_MIN_LENGTH} characters")
    if len(password) > PASSWORD_MAX_LENGTH:
        broken.append(f"the password must be at most {PASSWORD_MAX_LENGTH} characters")
    if password and not password.strip():
        broken.append("the password must not be only spaces")
    if username and password.casefold() == username.casefold():
        broken.append("the password must not be the username")
    return broken


def check_username(username: str) -> str | None:
    """Why ``username`` is not acceptable, or None when it is."""
    if re.fullmatch(USERNAME_PATTERN, username) is None:
        return (
            "the username must be 2 to 64 characters of lower-case letters, digits, '.', '_' "
            "and '-', starting with a letter or digit"
        )
    return None


def role_fits(role: str, level: str) -> bool:
    """Whether ``role`` may be held at a place of ``level`` (:data:`ROLE_LEVELS`)."""
    return level in ROLE_LEVELS.get(role, frozenset())


def _inside(path: str, scope: str) -> bool:
    # Paths end with '/', so a prefix is a whole ancestor (the same test as repos.in_subtree).
    return path.startswith(scope)


def _field_errors(errors: list[dict[str, str]]) -> Problem:
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return Problem(422, "validation-error", "Invalid request", detail, errors=errors)


def _weak_password(broken: list[str], field_name: str) -> Problem:
    return _field_errors(
        [{"field": field_name, "message": m, "code": "weak-password"} for m in broken]
    )


def _audit(
    session: AsyncSession,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str,
    detail: dict[str, Any] | None,
) -> None:
    record_audit(
        session,
        actor_id=actor.id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
        now=datetime.now(UTC),
    )


async def _hash(password: str) -> str:
    # Argon2 is deliberately slow: keep it off the event loop.
    return await asyncio.to_thread(hash_password, password)


async def _verify(password_hash: str, password: str) -> bool:
    return await asyncio.to_thread(verify_password, password_hash, password)


# --- users -------------------------------------------------------------------------------------


# A change of any of these ends the user's sessions (what they may see and do changed).
ACCESS_FIELDS = frozenset({"role", "jurisdiction_code", "active"})


def snapshot(user: User) -> dict[str, Any]:
    """The user's administrable fields, for the audit log (no password hash)."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "jurisdiction_code": user.jurisdiction_code,
        "email": user.email,
        "active": user.active,
    }


def encode_cursor(username: str) -> str:
    """An opaque cursor: the last username of the page."""
    return base64.urlsafe_b64encode(username.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    bad = Problem(422, "bad-cursor", "Invalid cursor", "the cursor is not valid")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        username = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (ValueError, binascii.Error):
        raise bad from None
    if not username or len(username) > 64 or any(ord(c) < 32 for c in username):
        raise bad
    return username


async def place_names(session: AsyncSession, users: Sequence[User]) -> dict[str, str]:
    """The names of the users' places, by code."""
    places = await admin_repo.jurisdictions_by_code(session, {u.jurisdiction_code for u in users})
    return {code: j.name for code, j in places.items()}


async def list_users(
    session: AsyncSession,
    actor: Actor,
    *,
    role: str | None,
    jurisdiction: str | None,
    active: bool | None,
    q: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[User], str | None]:
    """A page of the users of the caller's subtree (of ``jurisdiction``'s subtree when given: a
    place outside the caller's is 404), by username; the next page's cursor or None."""
    within: str | None = None
    if jurisdiction is not None:
        place = await admin_repo.jurisdiction_in_scope(
            session, jurisdiction, actor.jurisdiction_path
        )
        if place is None:
            raise not_found("jurisdiction", jurisdiction)
        within = place.path
    rows = await admin_repo.list_users(
        session,
        scope_path=actor.jurisdiction_path,
        within_path=within,
        role=role,
        active=active,
        q=q,
        after_username=decode_cursor(cursor) if cursor else None,
        limit=limit,
    )
    next_cursor = encode_cursor(rows[-1].username) if len(rows) == limit else None
    return rows, next_cursor


async def get_user(session: AsyncSession, actor: Actor, user_id: int) -> User:
    """The user if they are in the caller's subtree; else 404."""
    user = await admin_repo.user_in_scope(session, user_id, actor.jurisdiction_path)
    if user is None:
        raise not_found("user", str(user_id))
    return user


def _check_may_change(actor: Actor, user: User) -> None:
    """A non-root administrator may not change a peer administrator at their own node."""
    if (
        user.id != actor.id
        and user.role == "admin"
        and user.jurisdiction_path == actor.jurisdiction_path
        and not repos.is_root_path(actor.jurisdiction_path)
    ):
        raise Problem(
            403,
            "privilege-exceeded",
            "Privilege exceeded",
            f"user {user.username} is an administrator at your own jurisdiction; only an "
            "administrator above it may change them",
        )


async def _place_in_scope(session: AsyncSession, actor: Actor, code: str) -> Jurisdiction:
    place = await admin_repo.jurisdiction_in_scope(session, code, actor.jurisdiction_path)
    if place is None:
        raise not_found("jurisdiction", code)
    return place


def _check_grant(actor: Actor, role: str, place: Jurisdiction) -> None:
    """The role must fit the place, and an administrator may be made only strictly below the
    caller's node (anywhere by a root administrator)."""
    if not role_fits(role, place.level):
        allowed = sorted(ROLE_LEVELS.get(role, frozenset()), key=lambda lv: -LEVEL_RANK[lv])
        message = (
            f"a {role} cannot work at {place.name} ({place.code}), a {place.level}; "
            f"allowed levels: {', '.join(allowed)}"
        )
        raise Problem(
            422,
            "role-place-mismatch",
            "Role does not fit the place",
            message,
            allowed_levels=allowed,
            errors=[{"field": "role", "message": message, "code": "role-place-mismatch"}],
        )
    if (
        role == "admin"
        and place.path == actor.jurisdiction_path
        and not repos.is_root_path(actor.jurisdiction_path)
    ):
        raise Problem(
            403,
            "privilege-exceeded",
            "Privilege exceeded",
            f"an administrator at {place.name} ({place.code}) can only be made by an "
            "administrator above it; you may make administrators below your jurisdiction",
        )


async def create_user(session: AsyncSession, actor: Actor, body: UserCreateIn) -> User:
    """Create a user in the caller's subtree; 409 ``conflict`` for a taken username."""
    broken = check_password_rules(body.password, body.username)
    if broken:
        raise _weak_password(broken, "password")
    place = await _place_in_scope(session, actor, body.jurisdiction_code)
    _check_grant(actor, body.role, place)
    if await repos.user_by_username(session, body.username) is not None:
        raise _taken(body.username)
    try:
        user = await repos.add_user(
            session,
            username=body.username,
            display_name=body.display_name,
            password_hash=await _hash(body.password),
            role=body.role,
            jurisdiction=place,
            now=datetime.now(UTC),
            email=body.email,
        )
    except IntegrityError:  # created by a concurrent request since the check
        raise _taken(body.username) from None
    _audit(session, actor, "create_user", "user", str(user.id), {"after": snapshot(user)})
    return user


def _taken(username: str) -> Problem:
    return Problem(409, "conflict", "Username taken", f"the username {username} is already taken")


async def update_user(
    session: AsyncSession, actor: Actor, user_id: int, changes: UserPatchIn
) -> User:
    """Change a user's display name, email, role, place or active flag (see the module's rules:
    404 outside the subtree, 403 for a peer administrator or an administrator at one's own
    node, 409 for changing one's own role, place or active flag, 422 for a role that does not
    fit the place)."""
    user = await get_user(session, actor, user_id)
    _check_may_change(actor, user)
    place: Jurisdiction | None = None
    if changes.jurisdiction_code is not None:
        place = await _place_in_scope(session, actor, changes.jurisdiction_code)
    if user.id == actor.id:
        refused = [
            what
            for what, changed in (
                ("deactivate", changes.active is False and user.active),
                ("change the role of", changes.role is not None and changes.role != user.role),
                ("move", place is not None and place.code != user.jurisdiction_code),
            )
            if changed
        ]
        if refused:
            raise Problem(
                409,
                "self-lockout",
                "Cannot change your own access",
                f"you cannot {' or '.join(refused)} your own account; another administrator "
                "above you must do it (so that no installation loses its last administrator)",
            )
    new_role = changes.role if changes.role is not None else user.role
    if new_role != user.role or (place is not None and place.code != user.jurisdiction_code):
        target = place
        if target is None:
            target = await repos.get_jurisdiction(session, user.jurisdiction_code)
            assert target is not None  # a foreign key
        _check_grant(actor, new_role, target)
    before = snapshot(user)
    if changes.display_name is not None:
        user.display_name = changes.display_name
    # An explicit null clears the address; an absent field leaves it (the page's form always
    # sends it, an empty one as null).
    if "email" in changes.model_fields_set:
        user.email = changes.email
    user.role = new_role
    if place is not None:
        user.jurisdiction_code, user.jurisdiction_path = place.code, place.path
    if changes.active is not None:
        user.active = changes.active
    after = snapshot(user)
    changed = {k for k in after if after[k] != before[k]}
    if changed & ACCESS_FIELDS:
        # What the user may see and do changed: sessions opened under the old access end.
        end_sessions(user)
    if changed:
        _audit(
            session,
            actor,
            "update_user",
            "user",
            str(user.id),
            {
                "username": user.username,
                "before": {k: before[k] for k in sorted(changed)},
                "after": {k: after[k] for k in sorted(changed)},
            },
        )
        await session.flush()
    return user


async def reset_password(session: AsyncSession, actor: Actor, user_id: int, password: str) -> None:
    """An administrator sets a new password for a user of their subtree (not their own: that is
    ``/api/v1/me/password``, which asks for the current one)."""
    user = await get_user(session, actor, user_id)
    _check_may_change(actor, user)
    if user.id == actor.id:
        raise Problem(
            409,
            "self-reset",
            "Use your own account page",
            "change your own password at /api/v1/me/password (it asks for the current one)",
        )
    broken = check_password_rules(password, user.username)
    if broken:
        raise _weak_password(broken, "password")
    user.password_hash = await _hash(password)
    end_sessions(user)  # whoever held the old password is out at once
    _audit(session, actor, "reset_password", "user", str(user.id), {"username": user.username})
    await session.flush()


# --- places ------------------------------------------------------------------------------------


@dataclass
class PlaceNode:
    """One place of a tree answer: own and inherited policy pack, users placed here and in the
    whole subtree, direct children (empty below the requested depth; ``child_count`` still
    counts them)."""

    code: str
    name: str
    level: str
    parent_code: str | None
    policy_pack_id: str | None
    effective_policy_pack_id: str | None
    user_count: int
    subtree_user_count: int
    child_count: int
    children: list[PlaceNode] = field(default_factory=list)


@dataclass
class PlaceDetail:
    """One place with its ancestors (top first) and its direct children."""

    node: PlaceNode
    path: str
    ancestors: list[Jurisdiction]
    children: list[PlaceNode]


async def _inherited_pack(session: AsyncSession, place: Jurisdiction) -> str | None:
    try:
        return await repos.pack_id_at(session, place)
    except repos.NoPolicyPack:  # shown as no pack: the tree is where one sets it
        return None


async def place_tree(
    session: AsyncSession, actor: Actor, root: str | None, depth: int | None
) -> PlaceNode:
    """The caller's place (or ``root``, a place inside the caller's subtree) with everything
    below it, nested; ``depth`` levels of children at most (all when None)."""
    top = await _place_in_scope(session, actor, root or actor.jurisdiction_code)
    places = await admin_repo.subtree(session, top.path)
    counts = await admin_repo.user_counts(session, top.path)
    inherited = await _inherited_pack(session, top)
    nodes: dict[str, PlaceNode] = {}
    base = top.path.count("/")
    for j in places:  # path order: parents first
        parent = nodes.get(j.parent_code or "") if j.code != top.code else None
        effective = j.policy_pack_id or (
            parent.effective_policy_pack_id if parent is not None else inherited
        )
        node = PlaceNode(
            code=j.code,
            name=j.name,
            level=j.level,
            parent_code=j.parent_code,
            policy_pack_id=j.policy_pack_id,
            effective_policy_pack_id=effective,
            user_count=counts.get(j.code, 0),
            subtree_user_count=counts.get(j.code, 0),
            child_count=0,
        )
        nodes[j.code] = node
        if parent is not None:
            parent.child_count += 1
            if depth is None or j.path.count("/") - base <= depth:
                parent.children.append(node)
    for j in reversed(places):  # children before parents: sum the users upwards
        if j.code != top.code and j.parent_code in nodes:
            nodes[j.parent_code].subtree_user_count += nodes[j.code].subtree_user_count
    for node in nodes.values():
        node.children.sort(key=lambda n: n.code)
    return nodes[top.code]


async def place_detail(session: AsyncSession, actor: Actor, code: str) -> PlaceDetail:
    """One place of the caller's subtree with its ancestors and direct children; else 404."""
    place = await _place_in_scope(session, actor, code)
    tree = await place_tree(session, actor, code, depth=1)
    chain = list(reversed(await repos.ancestors(session, place)))
    return PlaceDetail(node=tree, path=place.path, ancestors=chain[:-1], children=tree.children)


# --- import ------------------------------------------------------------------------------------

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 50_000
MAX_REPORTED_ERRORS = 500
IMPORT_COLUMNS = ("code", "name", "level", "parent_code", "policy_pack_id")
REQUIRED_COLUMNS = IMPORT_COLUMNS[:4]


@dataclass(frozen=True)
class ImportRow:
    line: int
    code: str
    name: str
    level: str
    parent_code: str
    policy_pack_id: str | None


@dataclass
class ImportResult:
    """What an import did: places created, renamed, given another policy pack (a place both
    renamed and given a pack counts in both) and left unchanged."""

    created: int = 0
    renamed: int = 0
    policy_changed: int = 0
    unchanged: int = 0


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(
        self, line: int | None, field_name: str | None, message: str, code: str | None = None
    ) -> None:
        """One problem: the CSV line (the row's position for JSON; None for the whole file),
        the column (``row`` for the whole row, ``file`` for the whole file), a message and a
        stable code (by default ``invalid-<column>``)."""
        where = field_name or ("row" if line is not None else "file")
        self.items.append(
            {"line": line, "field": where, "message": message, "code": code or f"invalid-{where}"}
        )

    def problem(self) -> Problem:
        items = sorted(self.items, key=lambda e: e["line"] or 0)
        shown = items[:MAX_REPORTED_ERRORS]
        first = "; ".join(
            (f"line {e['line']}: " if e["line"] else "") + e["message"] for e in shown[:3]
        )
        return Problem(
            422,
            "import-invalid",
            "Invalid import file",
            f"{len(items)} problem(s) found, nothing was imported: {first}",
            errors=shown,
            error_count=len(items),
        )


def _parse_csv(text: str, errors: _Errors) -> list[tuple[int, dict[str, Any]]]:
    rows: list[tuple[int, dict[str, Any]]] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            cells = [c.strip() for c in cells]
            if header is None:
                if cells[0].lower() == "code":  # a header row names the columns
                    names = [c.lower() for c in cells]
                    while names[-1] == "":  # spreadsheets add empty trailing columns
                        names.pop()
                    unknown = [c for c in names if c not in IMPORT_COLUMNS]
                    missing = [c for c in REQUIRED_COLUMNS if c not in names]
                    if unknown or missing or len(set(names)) != len(names):
                        errors.add(
                            line,
                            None,
                            "the header must name the columns code, name, level, parent_code "
                            "and optionally policy_pack_id, each once",
                        )
                        return []
                    header = names
                    continue
                header = list(IMPORT_COLUMNS)  # no header: the columns in the documented order
                if len(cells) == 4:
                    header = header[:4]
            extra = [c for c in cells[len(header) :] if c]
            if len(cells) < len(REQUIRED_COLUMNS) or extra:
                errors.add(
                    line,
                    None,
                    f"expected the columns {', '.join(header)}, found {len(cells)} values",
                )
                continue
            rows.append((line, dict(zip(header, cells, strict=False))))
            if len(rows) > MAX_IMPORT_ROWS:
                break
    except csv.Error as exc:
        errors.add(reader.line_num, None, f"the CSV cannot be read: {exc}")
    return rows


def _parse_json(text: str, errors: _Errors) -> list[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        errors.add(exc.lineno, None, f"the JSON cannot be read: {exc.msg}")
        return []
    except RecursionError:
        errors.add(None, None, "the JSON is nested too deeply")
        return []
    if isinstance(data, dict) and isinstance(data.get("jurisdictions"), list):
        data = data["jurisdictions"]
    if not isinstance(data, list):
        errors.add(None, None, 'the JSON must be a list of rows or {"jurisdictions": [...]}')
        return []
    rows: list[tuple[int, dict[str, Any]]] = []
    for n, item in enumerate(data[: MAX_IMPORT_ROWS + 1], start=1):
        if not isinstance(item, dict):
            errors.add(n, None, "each row must be an object")
            continue
        unknown = sorted(str(k) for k in item if k not in IMPORT_COLUMNS)
        if unknown:
            errors.add(n, None, f"unknown field(s): {', '.join(unknown)[:200]}")
            continue
        bad = [k for k, v in item.items() if v is not None and not isinstance(v, str)]
        if bad:
            errors.add(n, bad[0], f"{bad[0]} must be a string (codes keep their leading zeros)")
            continue
        rows.append((n, {k: (v or "").strip() for k, v in item.items()}))
    return rows


def _check_row(
    line: int, raw: dict[str, Any], packs: set[str], errors: _Errors
) -> ImportRow | None:
    before = len(errors.items)
    code = raw.get("code") or ""
    name = raw.get("name") or ""
    level_given = (raw.get("level") or "").lower()
    level = LEVEL_ALIASES.get(level_given, level_given)
    parent_code = raw.get("parent_code") or ""
    pack = raw.get("policy_pack_id") or None
    if level not in CODE_LENGTHS:
        errors.add(
            line,
            "level",
            f"unknown level {level_given[:40]!r}; use one of "
            "province, city, county, street (township), community (village)",
        )
    if not re.fullmatch(r"[0-9]+", code):
        errors.add(line, "code", f"the code {code[:40]!r} must be digits only")
    elif level in CODE_LENGTHS and len(code) != CODE_LENGTHS[level]:
        errors.add(
            line, "code", f"a {level} code has {CODE_LENGTHS[level]} digits, not {len(code)}"
        )
    if not name:
        errors.add(line, "name", "the name is required")
    elif len(name) > 100 or any(ord(c) < 32 or ord(c) == 127 for c in name):
        errors.add(line, "name", "the name must be at most 100 printable characters")
    if not parent_code:
        errors.add(line, "parent_code", "the parent code is required")
    elif not re.fullmatch(r"[0-9]{6}|[0-9]{9}|[0-9]{12}", parent_code):
        errors.add(line, "parent_code", f"the parent code {parent_code[:40]!r} is not a code")
    elif parent_code == code:
        errors.add(line, "parent_code", "a place cannot be its own parent")
    if pack is not None and pack not in packs:
        errors.add(
            line,
            "policy_pack_id",
            f"unknown policy pack {pack[:60]!r}; known: {', '.join(sorted(packs))}",
        )
    if len(errors.items) > before:
        return None
    return ImportRow(line, code, name, level, parent_code, pack)


def parse_import(data: bytes, packs: set[str], errors: _Errors) -> list[ImportRow]:
    """The file's rows, each checked on its own (cross-row checks come later); ``packs`` the
    ids in force a row may name."""
    try:
        text = data.decode("utf-8-sig")  # with or without a byte order mark
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        errors.add(line, None, "the file is not UTF-8 text")
        return []
    if text.lstrip().startswith(("[", "{")):
        raw_rows = _parse_json(text, errors)
    else:
        raw_rows = _parse_csv(text, errors)
    if len(raw_rows) > MAX_IMPORT_ROWS:
        errors.add(None, None, f"at most {MAX_IMPORT_ROWS} rows can be imported at once")
        return []
    if not raw_rows and not errors.items:
        errors.add(None, None, "the file holds no rows")
    rows = [_check_row(line, raw, packs, errors) for line, raw in raw_rows]
    return [r for r in rows if r is not None]


async def import_jurisdictions(session: AsyncSession, actor: Actor, data: bytes) -> ImportResult:
    """Validate every row, then create, rename or re-pack places below the caller's node, all or
    nothing (422 ``import-invalid`` with line-numbered ``errors``)."""
    errors = _Errors()
    packs = set((await packs_in_force(session)).ids())
    by_code = _unique_codes(parse_import(data, packs, errors), errors)
    existing = await admin_repo.jurisdictions_by_code(
        session, set(by_code) | {r.parent_code for r in by_code.values()}
    )
    scope = actor.jurisdiction_path
    new_rows = _check_existing(by_code, existing, scope, errors)
    depth = _new_depths(new_rows, by_code, existing, scope, errors)
    if errors.items:
        raise errors.problem()

    result = ImportResult()
    generations = _create(session, actor, new_rows, existing, depth, result)
    _update(session, actor, by_code, existing, result)
    try:
        await admin_repo.add_jurisdictions(session, generations)
        await session.flush()
    except IntegrityError:
        raise Problem(
            409,
            "conflict",
            "Concurrent change",
            "some of these places were created by another request at the same time; "
            "import the file again",
        ) from None
    return result


def _unique_codes(rows: list[ImportRow], errors: _Errors) -> dict[str, ImportRow]:
    """The rows by code; a code on two lines is an error on the second."""
    by_code: dict[str, ImportRow] = {}
    for row in rows:
        first = by_code.get(row.code)
        if first is not None:
            errors.add(
                row.line,
                "code",
                f"the code {row.code} is already on line {first.line}",
                "duplicate-code",
            )
        else:
            by_code[row.code] = row
    return by_code


def _check_existing(
    by_code: dict[str, ImportRow],
    existing: dict[str, Jurisdiction],
    scope: str,
    errors: _Errors,
) -> dict[str, ImportRow]:
    """The rows of new places; a row of an existing place may rename it or give it a pack
    only: it must lie below the caller's node and keep its parent and level."""
    new_rows: dict[str, ImportRow] = {}
    for row in by_code.values():
        old = existing.get(row.code)
        if old is None:
            new_rows[row.code] = row
            continue
        if not _inside(old.path, scope):
            errors.add(
                row.line, "code", f"the code {row.code} is taken by a place elsewhere", "code-taken"
            )
        elif old.path == scope:
            errors.add(
                row.line,
                "code",
                f"{row.code} is your own jurisdiction; only places below it can be imported",
                "outside-jurisdiction",
            )
        else:
            if old.parent_code != row.parent_code:
                errors.add(
                    row.line,
                    "parent_code",
                    f"{old.name} ({row.code}) is under {old.parent_code}; moving a place to "
                    f"another parent ({row.parent_code}) is not supported, because it would move "
                    "its cases and users to another jurisdiction",
                    "move-refused",
                )
            if old.level != row.level:
                errors.add(
                    row.line,
                    "level",
                    f"{old.name} ({row.code}) is a {old.level}; the level of an existing place "
                    "cannot change",
                    "level-change-refused",
                )
    return new_rows


def _new_depths(
    new_rows: dict[str, ImportRow],
    by_code: dict[str, ImportRow],
    existing: dict[str, Jurisdiction],
    scope: str,
    errors: _Errors,
) -> dict[str, int]:
    """Each new place's depth below the existing places (0: its parent exists), once its parent
    is known, inside the caller's node and of a higher level, and no parents form a cycle."""
    depth: dict[str, int] = {}
    for row in new_rows.values():
        parent = existing.get(row.parent_code)
        if parent is not None:
            if not _inside(parent.path, scope):
                errors.add(
                    row.line,
                    "parent_code",
                    f"the parent {row.parent_code} is outside your jurisdiction",
                    "outside-jurisdiction",
                )
                continue
            parent_level = parent.level
        elif row.parent_code in by_code:
            parent_level = by_code[row.parent_code].level
        else:
            errors.add(
                row.line,
                "parent_code",
                f"the parent {row.parent_code} is neither in the file nor in the database",
                "unknown-parent",
            )
            continue
        if LEVEL_RANK[row.level] >= LEVEL_RANK.get(parent_level, -1):
            errors.add(
                row.line,
                "level",
                f"a {row.level} cannot be below a {parent_level} ({row.parent_code})",
                "level-not-below-parent",
            )
            continue
        # Follow the chain of new parents up to a place whose depth is known (an existing
        # place is depth -1); meeting a code twice is a cycle (the level rule forbids cycles
        # too, but this names the problem).
        chain: list[str] = []
        cur = row.code
        while cur in new_rows and cur not in depth and cur not in chain:
            chain.append(cur)
            cur = new_rows[cur].parent_code
        if cur in chain:
            errors.add(
                row.line,
                "parent_code",
                "the parents form a cycle: " + " → ".join([*chain, cur]),
                "cycle",
            )
            continue
        base = depth.get(cur, -1)
        for offset, code in enumerate(reversed(chain), start=1):
            depth[code] = base + offset
    return depth


def _create(
    session: AsyncSession,
    actor: Actor,
    new_rows: dict[str, ImportRow],
    existing: dict[str, Jurisdiction],
    depth: dict[str, int],
    result: ImportResult,
) -> list[list[Jurisdiction]]:
    """The new places, audited, in generations (parents before children: one insert each)."""
    generations: dict[int, list[Jurisdiction]] = {}
    paths = {code: j.path for code, j in existing.items()}
    for row in sorted(new_rows.values(), key=lambda r: depth[r.code]):
        path = f"{paths[row.parent_code]}{row.code}/"
        paths[row.code] = path
        generations.setdefault(depth[row.code], []).append(
            Jurisdiction(
                code=row.code,
                name=row.name,
                level=row.level,
                parent_code=row.parent_code,
                path=path,
                policy_pack_id=row.policy_pack_id,
            )
        )
        result.created += 1
        _audit(
            session,
            actor,
            "create_jurisdiction",
            "jurisdiction",
            row.code,
            {
                "after": {
                    "name": row.name,
                    "level": row.level,
                    "parent_code": row.parent_code,
                    "policy_pack_id": row.policy_pack_id,
                }
            },
        )
    return [generations[d] for d in sorted(generations)]


def _update(
    session: AsyncSession,
    actor: Actor,
    by_code: dict[str, ImportRow],
    existing: dict[str, Jurisdiction],
    result: ImportResult,
) -> None:
    """Rename and re-pack the existing places the file names, auditing each change."""
    for row in by_code.values():
        old = existing.get(row.code)
        if old is None:
            continue
        before = {"name": old.name, "policy_pack_id": old.policy_pack_id}
        if row.name != old.name:
            old.name = row.name
            result.renamed += 1
        # An absent pack leaves the place's pack as it is (the column is optional).
        if row.policy_pack_id is not None and row.policy_pack_id != old.policy_pack_id:
            old.policy_pack_id = row.policy_pack_id
            result.policy_changed += 1
        after = {"name": old.name, "policy_pack_id": old.policy_pack_id}
        if after == before:
            result.unchanged += 1
        else:
            _audit(
                session,
                actor,
                "update_jurisdiction",
                "jurisdiction",
                row.code,
                {"before": before, "after": after},
            )


# --- the caller's own account ------------------------------------------------------------------


@dataclass
class Profile:
    user: User
    place: Jurisdiction
    chain: list[Jurisdiction]  # top first; the country root left out below it


async def profile(session: AsyncSession, actor: Actor) -> Profile:
    """The caller's account and place, with the names of the places above it."""
    user = await session.get(User, actor.id)
    place = await repos.get_jurisdiction(session, actor.jurisdiction_code)
    assert user is not None and place is not None  # current_actor read the user just now
    chain = list(reversed(await repos.ancestors(session, place)))
    shown = [j for j in chain if j.level != "country"] or chain
    return Profile(user=user, place=place, chain=shown)


async def change_own_password(
    session: AsyncSession, actor: Actor, current_password: str, new_password: str
) -> User:
    """Change the caller's password: 422 ``validation-error`` naming ``current_password`` when
    it is wrong and ``new_password`` when it breaks a rule. Every session of the caller ends
    (someone who had the old password is out); the page logs its own browser in again."""
    user = await session.get(User, actor.id)
    assert user is not None
    errors: list[dict[str, str]] = []
    current_ok = await _verify(user.password_hash, current_password)
    if not current_ok:
        errors.append(
            {
                "field": "current_password",
                "message": "the current password is wrong",
                "code": "wrong-password",
            }
        )
    errors += [
        {"field": "new_password", "message": m, "code": "weak-password"}
        for m in check_password_rules(new_password, user.username)
    ]
    if current_ok and new_password == current_password:
        errors.append(
            {
                "field": "new_password",
                "message": "the new password must differ from the current one",
                "code": "weak-password",
            }
        )
    if errors:
        raise _field_errors(errors)
    user.password_hash = await _hash(new_password)
    end_sessions(user)
    _audit(session, actor, "change_password", "user", str(user.id), {"username": user.username})
    await session.flush()
    return user
