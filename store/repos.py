"""Repositories: every SQL query the API and the CLI need lives here. Functions take an
``AsyncSession`` and never commit (the request or command boundary does)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from weakref import WeakKeyDictionary

from sqlalchemy import Select, and_, bindparam, literal, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from domain.policy.model import PolicyPack
from domain.vocabulary import PlaceRef
from store.db import insert_ignoring_duplicates
from store.models import (
    Case,
    CaseEvent,
    Jurisdiction,
    Notice,
    PolicyPackVersion,
    Task,
    User,
)


def path_range(path: str) -> tuple[str, str]:
    """The half-open string range holding ``path`` and all its descendants' paths. Paths end
    with '/', and '0' is the character after '/', so [path, path[:-1] + '0') is the subtree."""
    return path, path[:-1] + "0"


def is_root_path(path: str) -> bool:
    """Whether ``path`` is the top of the tree ("/000000/" 全国): a single segment."""
    return path.count("/") == 2


def in_subtree(column: InstrumentedAttribute[str], path: str) -> ColumnElement[bool]:
    lo, hi = path_range(path)
    return and_(column >= lo, column < hi)


def in_bound_subtree(column: InstrumentedAttribute[str]) -> ColumnElement[bool]:
    """:func:`in_subtree` with the path bound at execution, for a statement built once: pass
    :func:`subtree_params` of the path."""
    return and_(column >= bindparam("subtree_lo"), column < bindparam("subtree_hi"))


def subtree_params(path: str) -> dict[str, str]:
    lo, hi = path_range(path)
    return {"subtree_lo": lo, "subtree_hi": hi}


# --- jurisdictions ---------------------------------------------------------------------------


async def get_jurisdiction(session: AsyncSession, code: str) -> Jurisdiction | None:
    return await session.get(Jurisdiction, code)


def _chain_statement() -> Select[Jurisdiction]:
    """The place coded ``code`` and the places above it, nearest first, followed up their
    parent codes (a path is its parent's path and its own code: the same places) by a recursive
    query, each step on the primary key. Built once."""
    chain = (
        select(Jurisdiction.code, Jurisdiction.parent_code, literal(0).label("depth"))
        .where(Jurisdiction.code == bindparam("code"))
        .cte("chain", recursive=True)
    )
    chain = chain.union_all(
        select(Jurisdiction.code, Jurisdiction.parent_code, chain.c.depth + 1).join(
            chain, Jurisdiction.code == chain.c.parent_code
        )
    )
    return (
        select(Jurisdiction).join(chain, Jurisdiction.code == chain.c.code).order_by(chain.c.depth)
    )


_CHAIN = _chain_statement()


async def place_and_ancestors(session: AsyncSession, code: str) -> list[Jurisdiction]:
    """The place and its ancestors, nearest first, in one statement; empty when there is no
    such place. An application read the place, then the places on its path: two statements
    where one does (#22)."""
    return list((await session.scalars(_CHAIN, {"code": code})).all())


async def ancestors(session: AsyncSession, j: Jurisdiction) -> list[Jurisdiction]:
    """The node and its ancestors, nearest first."""
    return await place_and_ancestors(session, j.code)


def place_ref(j: Jurisdiction) -> PlaceRef:
    """A place as the workflows and rules see it: plain data, no row."""
    return PlaceRef(code=j.code, path=j.path, level=j.level, name=j.name)


async def place_chain(session: AsyncSession, j: Jurisdiction) -> list[PlaceRef]:
    """The place and the places above it, nearest first, as plain data (the chain a pack's
    stages and escalations are resolved on)."""
    return [place_ref(a) for a in await ancestors(session, j)]


class NoPolicyPack(LookupError):
    """No pack applies at ``place``: neither it nor any place above it names one (or, for
    filing, no county office sits above it). Callers answer it as the problem they own."""

    def __init__(self, place: Jurisdiction, why: str) -> None:
        super().__init__(f"{why} {place.name} ({place.code})")
        self.place = place


def pack_id_on(chain: Sequence[Jurisdiction]) -> str:
    """The pack applying at ``chain[0]`` given its chain (the place and those above it, nearest
    first, as :func:`ancestors` returns it): the nearest place that names one, since a place
    inherits its region's pack unless it sets its own. :class:`NoPolicyPack` where none does."""
    for j in chain:
        if j.policy_pack_id:
            return j.policy_pack_id
    raise NoPolicyPack(chain[0], "no policy pack is set at or above")


async def pack_id_at(session: AsyncSession, place: Jurisdiction) -> str:
    """The pack applying at ``place`` (see :func:`pack_id_on`); :class:`NoPolicyPack` where
    none does."""
    return pack_id_on(await ancestors(session, place))


def filing_pack_id(chain: Sequence[Jurisdiction]) -> str:
    """The pack a case filed at ``chain[0]`` runs under: the pack applying there, provided a
    county office sits above the place, since every pack's review stage is the county's (its
    ``level = "county"`` stage; without one the stage would fall to a province or the country);
    :class:`NoPolicyPack` otherwise."""
    if not any(j.level == "county" for j in chain):
        raise NoPolicyPack(chain[0], "no county office is configured above")
    return pack_id_on(chain)


async def add_jurisdiction(
    session: AsyncSession,
    code: str,
    name: str,
    level: str,
    parent_code: str | None,
    policy_pack_id: str | None = None,
) -> Jurisdiction:
    parent_path = "/"
    if parent_code is not None:
        parent = await session.get(Jurisdiction, parent_code)
        if parent is None:
            raise ValueError(f"parent jurisdiction {parent_code} does not exist")
        parent_path = parent.path
    j = Jurisdiction(
        code=code,
        name=name,
        level=level,
        parent_code=parent_code,
        path=f"{parent_path}{code}/",
        policy_pack_id=policy_pack_id,
    )
    session.add(j)
    await session.flush()
    return j


# --- users -----------------------------------------------------------------------------------


async def user_by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username == username))


async def add_user(
    session: AsyncSession,
    *,
    username: str,
    display_name: str,
    password_hash: str,
    role: str,
    jurisdiction: Jurisdiction,
    now: datetime,
    email: str | None = None,
) -> User:
    user = User(
        username=username,
        display_name=display_name,
        password_hash=password_hash,
        role=role,
        jurisdiction_code=jurisdiction.code,
        jurisdiction_path=jurisdiction.path,
        email=email,
        active=True,
        created_at=now,
    )
    session.add(user)
    await session.flush()
    return user


# --- cases -----------------------------------------------------------------------------------


async def open_case_for(session: AsyncSession, open_key: str) -> Case | None:
    return await session.scalar(select(Case).where(Case.open_key == open_key))


# The submission records the first pre-check with the case (store.pre_checks, #22): an entry
# of that kind says nothing of whether the case's workflow started.
_BY_A_WORKFLOW = CaseEvent.kind != "pre_check"


async def has_events(session: AsyncSession, case_id: str) -> bool:
    """Whether the case's workflow has recorded anything yet."""
    found = await session.scalar(
        select(CaseEvent.id).where(CaseEvent.case_id == case_id, _BY_A_WORKFLOW).limit(1)
    )
    return found is not None


async def unstarted_cases(
    session: AsyncSession, *, submitted_before: datetime, limit: int = 200
) -> Sequence[Case]:
    """Applications still ``submitted`` with nothing recorded by a workflow, submitted before
    the instant: those whose identification may never have started."""
    return (
        await session.scalars(
            select(Case)
            .where(
                Case.status == "submitted",
                Case.workflow_id.startswith("identification-"),
                Case.submitted_at < submitted_before,
                ~select(CaseEvent.id).where(CaseEvent.case_id == Case.id, _BY_A_WORKFLOW).exists(),
            )
            .order_by(Case.submitted_at)
            .limit(limit)
        )
    ).all()


async def case_in_scope(session: AsyncSession, case_id: str, scope_path: str) -> Case | None:
    return await session.scalar(
        select(Case).where(Case.id == case_id, in_subtree(Case.jurisdiction_path, scope_path))
    )


async def case_events(session: AsyncSession, case_id: str) -> Sequence[CaseEvent]:
    return (
        await session.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id == case_id)
            .order_by(CaseEvent.at, CaseEvent.id)
        )
    ).all()


# The pack versions this process knows are stored, by database (engine). Rows of
# policy_pack_versions are never deleted, so a version once committed stays stored: an
# application need not read it again (one statement of the dozen it makes, #22). Learned only
# from committed data (pack_version_committed), never from a read that could see a
# transaction's own uncommitted insert.
_KNOWN_STORED: WeakKeyDictionary[Engine, set[str]] = WeakKeyDictionary()


def _known_stored(session: AsyncSession) -> set[str]:
    bind = session.get_bind()
    return _KNOWN_STORED.setdefault(bind.engine if isinstance(bind, Connection) else bind, set())


def pack_version_known_stored(session: AsyncSession, ref: str) -> bool:
    """Whether this process has seen the pack version ``ref`` committed
    (:func:`pack_version_committed`), so that it is stored without a read."""
    return ref in _known_stored(session)


def pack_version_committed(session: AsyncSession, ref: str) -> None:
    """The pack version ``ref`` is stored: read before the session wrote anything, or written
    by a transaction that has committed."""
    _known_stored(session).add(ref)


async def pack_version_stored(session: AsyncSession, ref: str) -> bool:
    """Whether the pack version ``ref`` is in ``policy_pack_versions`` (rows are never
    deleted: once stored, it stays)."""
    stored = await session.scalar(select(PolicyPackVersion.ref).where(PolicyPackVersion.ref == ref))
    return stored is not None


async def remember_pack_version(
    session: AsyncSession, pack: PolicyPack, now: datetime, *, ref: str | None = None
) -> None:
    """Store the pack version a case is pinned to (once per ref). ``ref``: ``pack.ref`` when
    the caller has it (a hash of the whole pack, not computed again)."""
    ref = ref or pack.ref
    # Nearly always stored already: a read, not a write, then — on SQLite even an insert that
    # changes nothing takes the database's one write lock (with the pack's 50 KB), and many
    # applications at once queued behind each other for it ("database is locked").
    if await pack_version_stored(session, ref):
        return
    # Two API processes may meet a pack version for the first time at once: one row stands.
    await session.execute(
        insert_ignoring_duplicates(session, PolicyPackVersion)
        .values(
            ref=ref,
            pack_id=pack.id,
            version=pack.version,
            content_hash=pack.content_hash,
            content=pack.to_json(),
            first_used_at=now,
        )
        .on_conflict_do_nothing(index_elements=["ref"])
    )


async def case_notices(session: AsyncSession, case_id: str) -> Sequence[Notice]:
    return (
        await session.scalars(select(Notice).where(Notice.case_id == case_id).order_by(Notice.id))
    ).all()


async def provisional_workflows(session: AsyncSession) -> list[str]:
    """Workflows with a clock computed for a year without a holiday table."""
    tasks = select(Task.workflow_id).where(Task.state == "open", Task.sla_provisional.is_(True))
    cases = select(Case.workflow_id).where(
        Case.closed_at.is_(None), Case.deadline_provisional.is_(True)
    )
    rows = (await session.scalars(tasks.union(cases))).all()
    return sorted(set(rows))
