"""The policy pack a case was opened under: the pinned version (``policy_pack_versions``, its
ref ``id@version#hash12``), never the packaged one of today. The pinned copy is authoritative:
a case whose version is not stored (a database restored without that table) is an error that
says so, not a silent switch to other rules.

Parsed packs are kept per process by ref: a ref names its content (the hash), so a copy once
read never goes stale, and the activities, pages and exports that read a case's pack again and
again parse it once."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from domain.policy.loader import pack_from_json
from domain.policy.model import PolicyPack
from store.models import Case, PolicyPackVersion

_PARSED: dict[str, PolicyPack] = {}


class PinnedPackMissing(LookupError):
    """The pinned version a case was opened under is not in the database."""

    def __init__(self, ref: str, case_id: str | None = None) -> None:
        of = f" of case {case_id}" if case_id else ""
        super().__init__(
            f"policy pack version {ref}{of} is not stored: restore the policy_pack_versions "
            "table from the backup taken with the cases (docs/operations.md, 备份与恢复)"
        )
        self.ref, self.case_id = ref, case_id


async def pack_by_ref(session: AsyncSession, ref: str) -> PolicyPack:
    """The stored pack version ``ref``; :class:`PinnedPackMissing` when it is not stored."""
    pack = _PARSED.get(ref)
    if pack is None:
        row = await session.get(PolicyPackVersion, ref)
        if row is None:
            raise PinnedPackMissing(ref)
        pack = _PARSED[ref] = pack_from_json(row.content)
    return pack


class Pinned(Protocol):
    """A case, or a row of its columns ``id`` and ``policy_pack_ref``."""

    @property
    def id(self) -> str: ...
    @property
    def policy_pack_ref(self) -> str: ...


async def pinned_pack(session: AsyncSession, case: Case | Pinned) -> PolicyPack:
    """The pack version ``case`` was opened under (never the current one)."""
    try:
        return await pack_by_ref(session, case.policy_pack_ref)
    except PinnedPackMissing as exc:
        raise PinnedPackMissing(exc.ref, case.id) from None
