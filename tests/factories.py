"""Test data: valid resident ID numbers and application bodies per region."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.ids import check_digit
from domain.policy import load_pack
from store import repos
from store.models import CaseEvent

_serial = itertools.count(100)

# The demo tree's application points per region (weifang: the county PES office).
PLACE = {
    "weifang-2023": "370702",
    "jilin-2022": "220102001",
    "xinyu-2023": "360502001",
    "qingxin-2024": "441803100",
}
# Where each region's people are registered (户籍), by division code prefix.
HUKOU = {
    "weifang-2023": "370702",
    "jilin-2022": "220102",
    "xinyu-2023": "360502",
    "qingxin-2024": "441803",
}


def make_id(birth: date = date(1980, 6, 15), *, female: bool = True, region: str = "370702") -> str:
    """A valid 18-digit ID number; each call gets a fresh sequence number."""
    seq = next(_serial) % 500 * 2 + (0 if female else 1)
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + check_digit(body)


def application(
    pack: str = "weifang-2023",
    *,
    name: str = "刘芳",
    id_number: str | None = None,
    evidence: list[str] | None = None,
    **facts: Any,
) -> dict[str, Any]:
    """An application that meets the pack's base conditions with every piece of evidence the
    pack knows handed in (so intake is complete unless a test says otherwise)."""
    loaded = load_pack(pack)
    body: dict[str, Any] = {
        "jurisdiction_code": PLACE[pack],
        "facts": {
            "person": {
                "name": name,
                "id_number": id_number or make_id(region=HUKOU[pack]),
                "able_to_work": True,
                "willing_to_work": True,
                "receiving_pension": False,
            },
            "residence": {
                "hukou_region_code": HUKOU[pack],
                "hukou_local": True,
                "urban": True,
            },
            "unemployment": {"registered": True, "unemployed_since": "2025-01-01"},
            "economic": {
                "has_labour_relation": False,
                "employer_social_insurance_now": False,
                "business_licence": False,
                "legal_representative_or_officer_elsewhere": False,
                "has_stable_income": False,
            },
            "evidence": [e.code for e in loaded.evidence] if evidence is None else evidence,
            **facts,
        },
    }
    return body


async def pinned_ref(session: AsyncSession, pack_id: str = "weifang-2023") -> str:
    """A stored pack version's ref, for cases a test writes straight into the database (no
    workflow behind them): every case is pinned to a stored version of its pack, and reading a
    case whose version is missing is an error (store/packs.py). ``pack_id`` names a packaged
    pack; a test's made-up pack id keeps its cases pinned to Weifang's rules."""
    pack = load_pack(pack_id)
    await repos.remember_pack_version(session, pack, datetime.now(UTC))
    return pack.ref


def pre_check_event(case_id: str, after: dict[str, Any], round_no: int = 1) -> CaseEvent:
    """A stored pre-check's timeline entry, as ``assess_case`` writes it (activities/cases.py):
    what the task page and the pre-check service read its findings from."""
    return CaseEvent(
        case_id=case_id,
        event_key=f"{case_id}/pre_check:{round_no}",
        at=datetime.now(UTC),
        actor="system",
        kind="pre_check",
        summary="预审",
        before=None,
        after=after,
    )
