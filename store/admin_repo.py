"""Queries of the administration API (people and places): user lists keyset-paginated by
username, users and places confined to the caller's subtree, the subtree of places with user
counts, and the bulk insert of imported places. Functions take an ``AsyncSession`` and never
commit (the request boundary does)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from store.models import Jurisdiction, User
from store.repos import in_subtree


async def list_users(
    session: AsyncSession,
    *,
    scope_path: str,
    within_path: str | None = None,
    role: str | None = None,
    active: bool | None = None,
    q: str | None = None,
    after_username: str | None = None,
    limit: int = 50,
) -> Sequence[User]:
    """Users in the caller's subtree (and in ``within_path``'s, a place inside it), by username,
    starting after ``after_username``. ``q`` is a case-insensitive substring of the username or
    the display name (``%`` and ``_`` are literal)."""
    # Usernames are ordered bytewise on both databases (PostgreSQL's linguistic collations
    # would order "a_b" apart from "ab"), so pages come in the same order everywhere.
    username: ColumnElement[str] = User.username.expression
    if session.get_bind().dialect.name == "postgresql":
        username = User.username.collate("C")
    query = select(User).where(in_subtree(User.jurisdiction_path, scope_path))
    if within_path is not None:
        query = query.where(in_subtree(User.jurisdiction_path, within_path))
    if role is not None:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.active.is_(active))
    if q:
        needle = q.lower()
        query = query.where(
            func.lower(User.username).contains(needle, autoescape=True)
            | func.lower(User.display_name).contains(needle, autoescape=True)
        )
    if after_username is not None:
        query = query.where(username > after_username)
    return (await session.scalars(query.order_by(username).limit(limit))).all()


async def user_in_scope(session: AsyncSession, user_id: int, scope_path: str) -> User | None:
    """The user if their place is in the subtree of ``scope_path``, else None."""
    return await session.scalar(
        select(User).where(User.id == user_id, in_subtree(User.jurisdiction_path, scope_path))
    )


async def jurisdiction_in_scope(
    session: AsyncSession, code: str, scope_path: str
) -> Jurisdiction | None:
    """The place if it is ``scope_path``'s node or below it, else None."""
    return await session.scalar(
        select(Jurisdiction).where(
            Jurisdiction.code == code, in_subtree(Jurisdiction.path, scope_path)
        )
    )


async def jurisdictions_by_code(
    session: AsyncSession, codes: Iterable[str]
) -> dict[str, Jurisdiction]:
    """The existing places among ``codes`` (any jurisdiction; callers check the scope)."""
    wanted = sorted(set(codes))
    found: dict[str, Jurisdiction] = {}
    # Chunks keep the IN list below every driver's parameter limit.
    for i in range(0, len(wanted), 500):
        rows = await session.scalars(
            select(Jurisdiction).where(Jurisdiction.code.in_(wanted[i : i + 500]))
        )
        found.update({j.code: j for j in rows})
    return found


async def subtree(session: AsyncSession, path: str) -> Sequence[Jurisdiction]:
    """The place at ``path`` and everything below it, in path order (parents first)."""
    return (
        await session.scalars(
            select(Jurisdiction)
            .where(in_subtree(Jurisdiction.path, path))
            .order_by(Jurisdiction.path)
        )
    ).all()


async def children(session: AsyncSession, code: str) -> Sequence[Jurisdiction]:
    """The places directly below ``code``, by code."""
    return (
        await session.scalars(
            select(Jurisdiction).where(Jurisdiction.parent_code == code).order_by(Jurisdiction.code)
        )
    ).all()


async def user_counts(session: AsyncSession, path: str) -> dict[str, int]:
    """The number of users placed at each place of the subtree of ``path`` (places without
    users are absent)."""
    rows = await session.execute(
        select(User.jurisdiction_code, func.count())
        .where(in_subtree(User.jurisdiction_path, path))
        .group_by(User.jurisdiction_code)
    )
    return {code: int(n) for code, n in rows}


async def add_jurisdictions(
    session: AsyncSession, levels: Sequence[Sequence[Jurisdiction]]
) -> None:
    """Insert new places, one generation at a time (each generation's parents exist, or were
    flushed with the previous one, so the foreign key holds on both databases)."""
    for generation in levels:
        session.add_all(generation)
        await session.flush()
