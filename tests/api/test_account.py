"""The caller's own account on SQLite and PostgreSQL: the profile (role and its Chinese name,
the place and the names of the places above it) and the change of one's own password (current
password required; field errors for a wrong current password or a weak new one)."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from store.models import AuditEntry
from tests.problems import problem
from tests.system import System

ME = "/api/v1/me"
FIRST = "First-Pass-0001"
SECOND = "Second-Pass-0002"


async def login(system: System, username: str, password: str) -> httpx.Response:
    return await system.http.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )


async def test_profile(system: System) -> None:
    region = await system.make_region()
    n = region.n
    r = await system.http.get(ME, headers=region.headers["officer"])
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["id"] == region.users["officer"]
    assert me["username"] == f"r{n}_officer" and me["display_name"] == f"officer@{n}"
    assert (me["role"], me["role_name"]) == ("grassroots_officer", "基层经办人员")
    assert me["jurisdiction_code"] == region.codes["street_a1"]
    assert me["jurisdiction_name"] == f"测试street_a1{n}"
    assert me["jurisdiction_level"] == "street"
    # From the province down: the country root above it is left out.
    assert me["jurisdiction_path_names"] == (
        f"测试province{n} / 测试city{n} / 测试county_a{n} / 测试street_a1{n}"
    )
    assert [p["code"] for p in me["jurisdiction_chain"]] == [
        region.codes[p] for p in ("province", "city", "county_a", "street_a1")
    ]
    assert me["email"] is None
    assert "password" not in r.text

    r = await system.http.get(ME, headers=region.headers["supervisor"])
    assert r.json()["role_name"] == "督导"
    assert r.json()["jurisdiction_path_names"] == f"测试province{n} / 测试city{n}"

    # The demo accounts: the Weifang officer, and the administrator at the root.
    r = await system.http.get(ME, headers=await system.login("wf_officer"))
    assert r.json()["jurisdiction_path_names"] == "山东省 / 潍坊市 / 潍城区 / 城关街道"
    r = await system.http.get(ME, headers=await system.login("admin"))
    assert r.json()["role_name"] == "系统管理员"
    assert r.json()["jurisdiction_path_names"] == "全国"

    problem(await system.http.get(ME), 401, "unauthorized")
    problem(
        await system.http.get(ME, headers={"Authorization": "Bearer 1.2.3"}), 401, "unauthorized"
    )


async def test_change_own_password(system: System) -> None:
    region = await system.make_region()
    username = f"r{region.n}_officer_b"
    uid = region.users["officer_b"]
    r = await system.http.post(
        f"/api/v1/admin/users/{uid}/password",
        headers=region.headers["admin_b"],
        json={"password": FIRST},
    )
    assert r.status_code == 204, r.text
    r = await login(system, username, FIRST)
    assert r.status_code == 200, r.text
    me = {"Authorization": f"Bearer {r.json()['access_token']}"}
    url = f"{ME}/password"

    r = await system.http.post(
        url, headers=me, json={"current_password": "wrong-password", "new_password": SECOND}
    )
    err = problem(r, 422, "validation-error")
    assert [(e["field"], e["code"]) for e in err["errors"]] == [
        ("current_password", "wrong-password")
    ]
    r = await system.http.post(
        url, headers=me, json={"current_password": FIRST, "new_password": "short"}
    )
    err = problem(r, 422, "validation-error")
    assert [e["field"] for e in err["errors"]] == ["new_password"]
    assert "at least 8" in err["errors"][0]["message"]
    # Both wrong at once: both named.
    r = await system.http.post(
        url, headers=me, json={"current_password": "nope", "new_password": username}
    )
    err = problem(r, 422, "validation-error")
    assert {e["field"] for e in err["errors"]} == {"current_password", "new_password"}
    r = await system.http.post(
        url, headers=me, json={"current_password": FIRST, "new_password": FIRST}
    )
    assert "differ" in problem(r, 422, "validation-error")["errors"][0]["message"]
    for bad in ({"new_password": SECOND}, {"current_password": FIRST, "new_password": "x" * 201}):
        problem(await system.http.post(url, headers=me, json=bad), 422, "validation-error")
        assert FIRST not in r.text and SECOND not in r.text  # never echoed back

    r = await system.http.post(
        url, headers=me, json={"current_password": FIRST, "new_password": SECOND}
    )
    assert r.status_code == 204 and r.content == b""
    problem(await login(system, username, FIRST), 401, "bad-credentials")
    assert (await login(system, username, SECOND)).status_code == 200

    async with system.sessions()() as session:
        rows = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.object_type == "user", AuditEntry.object_id == str(uid))
                .order_by(AuditEntry.id)
            )
        ).all()
    assert [a.action for a in rows] == ["reset_password", "change_password"]
    assert rows[1].actor_id == uid and rows[1].detail == {"username": username}

    problem(
        await system.http.post(
            url, json={"current_password": SECOND, "new_password": "Third-Pass-0003"}
        ),
        401,
        "unauthorized",
    )
