"""The few queries the case and task pages need beyond the API's repositories: the places a
search may narrow to, the packs that apply in a subtree, a pinned pack version, and the names
of places and users. Functions take an ``AsyncSession`` and never commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Jurisdiction
from store.repos import in_subtree


async def places_at_levels(
    session: AsyncSession, path: str, levels: Iterable[str], limit: int
) -> Sequence[Jurisdiction]:
    """The places of the subtree of ``path`` at ``levels``, in path order (parents first).
    Bounded by ``limit``: a national administrator's tree runs to hundreds of thousands."""
    q = (
        select(Jurisdiction)
        .where(in_subtree(Jurisdiction.path, path), Jurisdiction.level.in_(list(levels)))
        .order_by(Jurisdiction.path)
        .limit(limit)
    )
    return (await session.scalars(q)).all()


async def packs_in_subtree(session: AsyncSession, path: str) -> list[str]:
    """The policy packs set on places of the subtree of ``path``."""
    q = (
        select(Jurisdiction.policy_pack_id)
        .where(in_subtree(Jurisdiction.path, path), Jurisdiction.policy_pack_id.is_not(None))
        .distinct()
    )
    return sorted(p for p in (await session.scalars(q)).all() if p)


async def place_names(session: AsyncSession, codes: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    rows = await session.execute(
        select(Jurisdiction.code, Jurisdiction.name).where(Jurisdiction.code.in_(wanted))
    )
    return {code: name for code, name in rows}
