"""The notice of identification (就业困难人员认定结果告知书) as a record: built from the case's
identification and its pinned pack, one per case (its key). Written by the activity that
records the identification (activities/cases.py), and for a case identified before notices of
identification existed, when an officer issues it (application/services/cases.py).

The one-time notice's supplement code (补正码) too: the code the applicant types on the public
supplement page (application/services/supplements.py). The notice keeps only a random salt
(``supplement_salt``, added by the activity that writes the notice); the code is an HMAC of
the salt and the notice's key under the secret key, so the database alone gives no code (a
stolen copy of it opens no case), while the printed notice and the receipt can show it again
whenever they are printed. Rotating the secret key changes every code: print the notices of
cases waiting for materials again after a rotation."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.vocabulary import REEXAMINATION_REQUESTED
from store.models import Case, CaseEvent, Notice
from store.packs import pinned_pack

# Where the one-time notice keeps its code's salt (left out of the notice as the API shows it).
SUPPLEMENT_SALT = "supplement_salt"
# Unambiguous letters and digits (no I, O, 0, 1): 8 of them are 40 bits, read off paper.
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
SUPPLEMENT_CODE_LENGTH = 8


def with_supplement_salt(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """A notice's body as stored: a one-time notice of missing materials gets its code's
    random salt; any other kind is kept as it is."""
    if kind != "missing_materials" or SUPPLEMENT_SALT in body:
        return body
    return {**body, SUPPLEMENT_SALT: secrets.token_hex(16)}


def supplement_code(secret_key: str, notice: Notice) -> str | None:
    """The notice's supplement code (补正码), e.g. ``K7MR-Q2XA``; None for a notice that has
    none (another kind, or a one-time notice written before codes existed)."""
    body = notice.body if isinstance(notice.body, dict) else {}
    salt = body.get(SUPPLEMENT_SALT)
    if notice.kind != "missing_materials" or not isinstance(salt, str) or not salt:
        return None
    digest = hmac.new(
        secret_key.encode(), f"supplement:{notice.notice_key}:{salt}".encode(), hashlib.sha256
    ).digest()
    chars = "".join(
        _CODE_ALPHABET[b % len(_CODE_ALPHABET)] for b in digest[:SUPPLEMENT_CODE_LENGTH]
    )
    return f"{chars[:4]}-{chars[4:]}"


def normalise_code(typed: str) -> str:
    """A code as typed (any case, spaces or dashes anywhere) in its printed form."""
    chars = "".join(ch for ch in typed.upper() if ch.isalnum())[:SUPPLEMENT_CODE_LENGTH]
    return f"{chars[:4]}-{chars[4:]}" if len(chars) > 4 else chars


def public_body(notice: Notice) -> dict[str, Any]:
    """The notice's body as it is shown and exported: without the code's salt."""
    body = notice.body if isinstance(notice.body, dict) else {}
    return {k: v for k, v in body.items() if k != SUPPLEMENT_SALT}


def missing_notice_key(case_id: str, round_no: int) -> str:
    """The key of a case's one-time notice of a supplement round (the workflow's
    ``missing-<round>``)."""
    return f"{case_id}/missing-{round_no}"


async def notice_by_key(session: AsyncSession, key: str) -> Notice | None:
    return await session.scalar(select(Notice).where(Notice.notice_key == key))


# The stages whose decision identifies (workflows/identification.py _run_stage).
IDENTIFYING_STAGES = ("review", "immediate_conclusion")


async def _reexamined(session: AsyncSession, case_id: str) -> bool:
    """Whether the applicant asked for the case's refusal to be examined again."""
    found = await session.scalar(
        select(CaseEvent.id)
        .where(CaseEvent.case_id == case_id, CaseEvent.kind == REEXAMINATION_REQUESTED)
        .limit(1)
    )
    return found is not None


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
    stage's — or, for a case identified on the applicant's request for re-examination, the
    re-examination's), as they stand in the case's pinned pack; the person's rights are read
    from the same pack when it is printed."""
    pack = await pinned_pack(session, case)
    category = next((c for c in pack.categories if c.code == case.category_code), None)
    procedure = pack.procedure
    stages = procedure.stages if procedure else []
    deciding = next((s for s in reversed(stages) if s.kind in IDENTIFYING_STAGES), None)
    stage_name = deciding.name if deciding is not None else ""
    stage_source = deciding.source if deciding is not None else pack.identification.source
    reexamination = procedure.reexamination if procedure else None
    if reexamination is not None and await _reexamined(session, case.id):
        # The refusal was examined again and reversed: the decision applies the
        # re-examination's clause, by its office (the fourstep test pack: 二(五), the county).
        stage_name, stage_source = reexamination.name, reexamination.source
    basis = [x for x in (category.source if category is not None else None, stage_source) if x]
    return Notice(
        notice_key=identification_notice_key(case.id),
        case_id=case.id,
        kind="identification",
        title="就业困难人员认定结果告知书",
        body={
            "category": case.category_code or "",
            "category_name": category.name if category is not None else "",
            "basis": "；".join(dict.fromkeys(basis)),
            "stage": stage_name,
            "agency": agency or "",
        },
        issued_at=at,
    )
