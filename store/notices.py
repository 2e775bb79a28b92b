"""The notice of identification (就业困难人员认定结果告知书) as a record: built from the case's
identification and its pinned pack, one per case (its key). Written by the activity that
records the identification (activities/cases.py), and for a case identified before notices of
identification existed, when an officer issues it (application/services/cases.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Case, Notice
from store.packs import pinned_pack

# The stages whose decision identifies (workflows/identification.py _run_stage).
IDENTIFYING_STAGES = ("review", "immediate_conclusion")


def identification_notice_key(case_id: str) -> str:
    return f"{case_id}/identification"


async def identification_notice_of(session: AsyncSession, case_id: str) -> Notice | None:
    return await session.scalar(
        select(Notice).where(Notice.notice_key == identification_notice_key(case_id))
    )


async def identification_notice(
    session: AsyncSession, case: Case, *, agency: str | None, at: datetime
) -> Notice:
    """The notice for an identified ``case`` (not added to the session): the category, the
    identifying office and the clauses the decision applies (the category's and the identifying
    stage's), as they stand in the case's pinned pack; the person's rights are read from the
    same pack when it is printed."""
    pack = await pinned_pack(session, case)
    category = next((c for c in pack.categories if c.code == case.category_code), None)
    stages = pack.procedure.stages if pack.procedure else []
    deciding = next((s for s in reversed(stages) if s.kind in IDENTIFYING_STAGES), None)
    basis = [
        x
        for x in (
            category.source if category is not None else None,
            deciding.source if deciding is not None else pack.identification.source,
        )
        if x
    ]
    return Notice(
        notice_key=identification_notice_key(case.id),
        case_id=case.id,
        kind="identification",
        title="就业困难人员认定结果告知书",
        body={
            "category": case.category_code or "",
            "category_name": category.name if category is not None else "",
            "basis": "；".join(dict.fromkeys(basis)),
            "stage": deciding.name if deciding is not None else "",
            "agency": agency or "",
        },
        issued_at=at,
    )
