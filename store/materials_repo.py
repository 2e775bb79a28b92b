"""The SQL of materials (证明材料) received as files (store/models_materials.py): adding one
(the same bytes for the same item again is the row already there), a case's list, one file
of a case, the counts the limits read, a judgement, and the counts the ledger shows.

Scoping is the caller's: these take a case already found in the caller's subtree
(application/services/cases.py ``case_for``), and every lookup of one file names its case, so
a file of another case is not found."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Case
from store.models_materials import CaseMaterial, Judgement


@dataclass(frozen=True)
class NewMaterial:
    case_id: str
    evidence_code: str
    content_hash: str
    preview_hash: str | None
    file_name: str
    media_type: str
    size_bytes: int
    source: str
    uploaded_by: int | None
    uploaded_at: datetime
    taken_at: datetime | None = None


async def held(
    session: AsyncSession, case_id: str, evidence_code: str, content_hash: str
) -> CaseMaterial | None:
    """The row of these bytes for this item of the case, if they were handed in already."""
    return await session.scalar(
        select(CaseMaterial).where(
            CaseMaterial.case_id == case_id,
            CaseMaterial.evidence_code == evidence_code,
            CaseMaterial.content_hash == content_hash,
        )
    )


async def add(session: AsyncSession, new: NewMaterial) -> tuple[CaseMaterial, bool]:
    """The material's row and whether it is new: bytes already held for the item (a retried
    upload, or two at once) give the row already there."""
    existing = await held(session, new.case_id, new.evidence_code, new.content_hash)
    if existing is not None:
        return existing, False
    row = CaseMaterial(**new.__dict__)
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # The same upload, committed by a concurrent request between the look and the insert.
        again = await held(session, new.case_id, new.evidence_code, new.content_hash)
        if again is None:
            raise
        return again, False
    return row, True


async def counts(session: AsyncSession, case_id: str, evidence_code: str) -> tuple[int, int]:
    """How many files the case holds for ``evidence_code`` and in all."""
    rows = (
        await session.execute(
            select(CaseMaterial.evidence_code, func.count())
            .where(CaseMaterial.case_id == case_id)
            .group_by(CaseMaterial.evidence_code)
        )
    ).all()
    by_code = {code: n for code, n in rows}
    return by_code.get(evidence_code, 0), sum(by_code.values())


async def of_case(session: AsyncSession, case_id: str) -> Sequence[CaseMaterial]:
    """A case's files in the order they came."""
    return (
        await session.scalars(
            select(CaseMaterial)
            .where(CaseMaterial.case_id == case_id)
            .order_by(CaseMaterial.uploaded_at, CaseMaterial.id)
        )
    ).all()


async def one_of_case(session: AsyncSession, case_id: str, material_id: int) -> CaseMaterial | None:
    return await session.scalar(
        select(CaseMaterial).where(CaseMaterial.id == material_id, CaseMaterial.case_id == case_id)
    )


def judge(
    material: CaseMaterial,
    *,
    judgement: Judgement,
    reason: str | None,
    judged_by: int,
    at: datetime,
) -> None:
    """Record an officer's judgement (a later one replaces it; the audit log keeps each)."""
    material.judgement = judgement.value
    material.judgement_reason = reason if judgement is Judgement.REJECTED else None
    material.judged_by = judged_by
    material.judged_at = at


async def rejected_items(session: AsyncSession, case_id: str) -> dict[str, list[str]]:
    """The evidence items whose every file was judged 不合格, each with the reasons given (in
    the order the files came): such an item is not held, whatever was ticked, and the next
    one-time notice asks for it again with why. An item with one file not judged, or judged
    合格, is held."""
    by_code: dict[str, list[CaseMaterial]] = {}
    for row in await of_case(session, case_id):
        by_code.setdefault(row.evidence_code, []).append(row)
    return {
        code: list(dict.fromkeys(r.judgement_reason or "" for r in rows if r.judgement_reason))
        for code, rows in by_code.items()
        if all(r.judgement == Judgement.REJECTED for r in rows)
    }


async def held_per_case(
    session: AsyncSession, case_ids: Iterable[str]
) -> dict[str, dict[str, int]]:
    """For each case, how many files it holds by evidence code (the ledger's column)."""
    ids = list(case_ids)
    out: dict[str, dict[str, int]] = {}
    for start in range(0, len(ids), 500):  # bound the IN list
        rows = (
            await session.execute(
                select(CaseMaterial.case_id, CaseMaterial.evidence_code, func.count())
                .where(CaseMaterial.case_id.in_(ids[start : start + 500]))
                .group_by(CaseMaterial.case_id, CaseMaterial.evidence_code)
            )
        ).all()
        for case_id, code, n in rows:
            out.setdefault(case_id, {})[code] = n
    return out


async def every_file(session: AsyncSession) -> list[str]:
    """Every content hash the materials name (files and previews), each once, sorted."""
    files = await session.scalars(select(CaseMaterial.content_hash).distinct())
    previews = await session.scalars(
        select(CaseMaterial.preview_hash).where(CaseMaterial.preview_hash.is_not(None)).distinct()
    )
    return sorted({*files, *(p for p in previews if p)})


async def past_retention(session: AsyncSession, closed_before: datetime) -> list[str]:
    """The files (content and preview hashes) whose every case closed before
    ``closed_before``: those the retention rule no longer requires to be kept. A file any open
    case, or any case closed since, holds is not among them."""
    still_kept = (
        select(CaseMaterial.content_hash)
        .join(Case, Case.id == CaseMaterial.case_id)
        .where((Case.closed_at.is_(None)) | (Case.closed_at >= closed_before))
    )
    rows = (
        await session.execute(
            select(CaseMaterial.content_hash, CaseMaterial.preview_hash)
            .where(CaseMaterial.content_hash.not_in(still_kept))
            .distinct()
        )
    ).all()
    return sorted({h for row in rows for h in row if h})
