"""Demo data that command one seeds on first start (development only): a jurisdiction tree for
each region whose pack the system runs, and one account per role. The codes are the national
administrative division codes (GB/T 2260 style; streets and communities are illustrative)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from application.security import hash_password
from store import repos

DEMO_PASSWORD = "yuanzhu-demo"

# The demo's places in the administrator's import format (code, name, level, parent_code,
# policy_pack_id: the pack applying from that place down) — data, as any region's tree is.
PLACES_FILE = Path(__file__).with_name("demo_places.csv")


def demo_places() -> list[tuple[str, str, str, str | None, str | None]]:
    with PLACES_FILE.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [
        (r["code"], r["name"], r["level"], r["parent_code"] or None, r["policy_pack_id"] or None)
        for r in rows
    ]


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: str
    jurisdiction: str


USERS = [
    DemoUser("admin", "系统管理员", "admin", "000000"),
    DemoUser("wf_officer", "王经办（城关街道）", "grassroots_officer", "370702001"),
    DemoUser("wf_reviewer", "李审核（潍城区）", "county_reviewer", "370702"),
    DemoUser("wf_supervisor", "张督导（潍坊市）", "supervisor", "370700"),
    DemoUser("jl_officer", "赵经办（南岭街道）", "grassroots_officer", "220102001"),
    DemoUser("jl_reviewer", "钱审核（南关区）", "county_reviewer", "220102"),
    DemoUser("jl_supervisor", "孙督导（长春市）", "supervisor", "220100"),
    DemoUser("xy_officer", "周经办（城南街道）", "grassroots_officer", "360502001"),
    DemoUser("xy_reviewer", "吴审核（渝水区）", "county_reviewer", "360502"),
    DemoUser("qx_officer", "郑经办（太和镇）", "grassroots_officer", "441803100"),
    DemoUser("qx_reviewer", "冯审核（清新区）", "county_reviewer", "441803"),
]


async def seed_jurisdictions(session: AsyncSession) -> int:
    added = 0
    for code, name, level, parent, pack in demo_places():
        if await repos.get_jurisdiction(session, code) is None:
            await repos.add_jurisdiction(session, code, name, level, parent, pack)
            added += 1
    return added


async def seed_demo(session: AsyncSession, *, password: str = DEMO_PASSWORD) -> int:
    """Idempotent: adds what is missing, changes nothing that exists. Returns users added."""
    await seed_jurisdictions(session)
    added = 0
    hashed = hash_password(password)
    for u in USERS:
        if await repos.user_by_username(session, u.username) is None:
            place = await repos.get_jurisdiction(session, u.jurisdiction)
            assert place is not None
            await repos.add_user(
                session,
                username=u.username,
                display_name=u.display_name,
                password_hash=hashed,
                role=u.role,
                jurisdiction=place,
                now=datetime.now(UTC),
            )
            added += 1
    return added
