"""Which policy pack applies: for a case, the version it was opened under (the pinned version
in ``policy_pack_versions``, its ref ``id@version#hash12``), never today's. The pinned copy is
authoritative: a case whose version is not stored (a database restored without that table) is
an error that says so, not a silent switch to other rules. For what is opened from now on, the
packs in force (:func:`packs_in_force`): the packaged files, each replaced by the version an
administrator loaded under its id (``policy_packs_in_force``), and regions loaded that no
file has. Every process reads them from the database, so a load takes effect everywhere
without a deploy.

Parsed packs are kept per process by ref: a ref names its content (the hash), so a copy once
read never goes stale, and the activities, pages and exports that read a case's pack again and
again parse it once."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.calendar import local_date
from domain.policy.loader import UnknownPolicyPackError, list_packs, load_pack, pack_from_json
from domain.policy.model import PolicyPack
from store.models import Case, PolicyPackInForce, PolicyPackVersion

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


# --- the packs in force ----------------------------------------------------------------------


@dataclass(frozen=True)
class InForce:
    """The packs new cases, places and schedules use, by id: the packaged ones, and for an id
    an administrator loaded, its revisions by the day each took effect."""

    packaged: Mapping[str, PolicyPack]
    # id -> (first day, pack), oldest first.
    revisions: Mapping[str, tuple[tuple[date, PolicyPack], ...]]

    def find(self, pack_id: str | None, on: date | None = None) -> PolicyPack | None:
        """The pack ``pack_id`` of the day ``on`` (today, Shanghai): the latest revision in
        force by then, else the packaged file; None when there is none."""
        if not pack_id:
            return None
        day = on or local_date(datetime.now(UTC))
        for first, pack in reversed(self.revisions.get(pack_id, ())):
            if first <= day:
                return pack
        return self.packaged.get(pack_id)

    def get(self, pack_id: str, on: date | None = None) -> PolicyPack:
        """As :meth:`find`; :class:`UnknownPolicyPackError` (with the ids in force) for none."""
        pack = self.find(pack_id, on)
        if pack is None:
            raise UnknownPolicyPackError(pack_id, self.ids())
        return pack

    def latest(self, pack_id: str) -> tuple[date, PolicyPack] | None:
        """The last revision loaded for ``pack_id`` (perhaps not in effect yet), if any."""
        found = self.revisions.get(pack_id)
        return found[-1] if found else None

    def ids(self) -> list[str]:
        return sorted(set(self.packaged) | set(self.revisions))


# One snapshot per set of loaded revisions: a ref names its content, so a snapshot never goes
# stale.
_SNAPSHOTS: dict[frozenset[tuple[str, str, date, datetime]], InForce] = {}
# Which revisions are in force, read from the database at most once a second per process and
# database: it is asked on every application and on every page listing packs, and a query
# there takes a pooled connection earlier in the request. A load takes effect at once in the
# process that loads it (forget_packs_in_force) and within this in every other.
IN_FORCE_TTL = 1.0
_READ: dict[str, tuple[float, InForce]] = {}


def _database(session: AsyncSession) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=True)


def forget_packs_in_force(session: AsyncSession) -> None:
    """Read the packs in force again at the next ask (after a load in this process)."""
    _READ.pop(_database(session), None)


async def packs_in_force(session: AsyncSession) -> InForce:
    """The packaged packs with the loaded revisions in their place (and loaded new regions)."""
    key, now = _database(session), time.monotonic()
    read = _READ.get(key)
    if read is not None and now - read[0] < IN_FORCE_TTL:
        return read[1]
    rows = frozenset(
        (pack_id, ref, effective_on, activated_at)
        for pack_id, ref, effective_on, activated_at in (
            await session.execute(
                select(
                    PolicyPackInForce.pack_id,
                    PolicyPackInForce.ref,
                    PolicyPackInForce.effective_on,
                    PolicyPackInForce.activated_at,
                )
            )
        ).all()
    )
    snapshot = _SNAPSHOTS.get(rows)
    if snapshot is None:
        revisions: dict[str, list[tuple[date, PolicyPack]]] = {}
        # Oldest first; of two revisions from one day, the one loaded later stands.
        for pack_id, ref, effective_on, _at in sorted(rows, key=lambda r: (r[0], r[2], r[3])):
            revisions.setdefault(pack_id, []).append(
                (effective_on, await pack_by_ref(session, ref))
            )
        snapshot = _SNAPSHOTS[rows] = InForce(
            {pack_id: load_pack(pack_id) for pack_id in list_packs()},
            {pack_id: tuple(r) for pack_id, r in revisions.items()},
        )
    _READ[key] = (now, snapshot)
    return snapshot


async def pack_in_force(session: AsyncSession, pack_id: str, on: date | None = None) -> PolicyPack:
    """The pack ``pack_id`` as new cases get it on ``on`` (today); :class:`UnknownPolicyPackError`
    if none."""
    return (await packs_in_force(session)).get(pack_id, on)


# --- the revision that governs a person's assistance (#23) -------------------------------------


def assistance_revision(packs: InForce, pinned: PolicyPack, on: date) -> PolicyPack:
    """The revision whose assistance rules a person identified under ``pinned`` follows on
    ``on``: the latest revision of its id in force by then, loaded after ``pinned``, that moves
    the persons already identified (``[transition] assistance = "move"``); else ``pinned``.
    A revision that says "stay" (or nothing) leaves them where they are, and a later one that
    says "move" moves them on, from whichever earlier revision they follow."""
    revisions = packs.revisions.get(pinned.id, ())
    refs = [pack.ref for _, pack in revisions]
    later = revisions[refs.index(pinned.ref) + 1 :] if pinned.ref in refs else revisions
    for first, pack in reversed(later):
        if first <= on and pack.moves_assistance:
            return pack
    return pinned


def revision_document(pack: PolicyPack) -> str:
    """A revision's document as a notice names it: number and title."""
    return f"{pack.source.number}《{pack.source.title}》"
