"""Demo data that command one seeds on first start (development only): a jurisdiction tree for
each region whose pack the system runs, and one account per role. The codes are the national
administrative division codes (GB/T 2260 style; streets and communities are illustrative)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from application.security import hash_password
from store import repos

DEMO_PASSWORD = "yuanzhu-demo"

# (code, name, level, parent, policy pack applying from here down)
JURISDICTIONS: list[tuple[str, str, str, str | None, str | None]] = [
    ("000000", "全国", "country", None, None),
    ("370000", "山东省", "province", "000000", "shandong-2021"),
    ("370700", "潍坊市", "city", "370000", "weifang-2023"),
    ("370702", "潍城区", "county", "370700", None),
    ("370702001", "城关街道", "street", "370702", None),
    ("370702001001", "向阳社区", "community", "370702001", None),
    ("370702002", "南关街道", "street", "370702", None),
    ("220000", "吉林省", "province", "000000", "jilin-2022"),
    ("220100", "长春市", "city", "220000", None),
    ("220102", "南关区", "county", "220100", None),
    ("220102001", "南岭街道", "street", "220102", None),
    ("220102001001", "大马路社区", "community", "220102001", None),
    ("220102002", "自强街道", "street", "220102", None),
    ("360000", "江西省", "province", "000000", None),
    ("360500", "新余市", "city", "360000", "xinyu-2023"),
    ("360502", "渝水区", "county", "360500", None),
    ("360502001", "城南街道", "street", "360502", None),
    ("440000", "广东省", "province", "000000", None),
    ("441800", "清远市", "city", "440000", None),
    ("441803", "清新区", "county", "441800", "qingxin-2024"),
    ("441803100", "太和镇", "street", "441803", None),
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
    for code, name, level, parent, pack in JURISDICTIONS:
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
