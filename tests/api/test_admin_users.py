"""The administration API on SQLite and PostgreSQL: users (list, create, read, change, reset a
password) and places (tree, one place, import), confined to the administrator's subtree (404
outside it, 403 for other roles), the privilege rule (nobody grants more than they have),
self-lockout, deactivation, audit rows, and passwords never appearing in a response.

Each test makes its own jurisdiction tree (:meth:`tests.system.System.make_region`): the city
administrator ``admin`` and the county_b administrator ``admin_b``; the demo ``admin`` is the
administrator at the root (000000)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import select

from store.models import AuditEntry, Jurisdiction, User
from tests.problems import problem
from tests.system import Region, System

USERS = "/api/v1/admin/users"
PLACES = "/api/v1/admin/jurisdictions"
IMPORT = "/api/v1/admin/jurisdictions/import"
SECRET = "Secret-Pass-0001"


def no_secrets(r: httpx.Response, *passwords: str) -> None:
    """No password, hash or hash field in a response."""
    for secret in (*passwords, "$argon2", "password_hash"):
        assert secret not in r.text, r.text


def new_user(region: Region, name: str, **fields: Any) -> dict[str, Any]:
    body = {
        "username": f"r{region.n}_{name}",
        "display_name": f"新用户{name}",
        "role": "grassroots_officer",
        "jurisdiction_code": region.codes["street_a1"],
        "password": SECRET,
    }
    body.update(fields)
    return body


async def audit_rows(system: System, object_type: str, object_id: str) -> list[AuditEntry]:
    async with system.sessions()() as session:
        rows = await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.object_type == object_type, AuditEntry.object_id == object_id)
            .order_by(AuditEntry.id)
        )
        return list(rows)


async def usernames(system: System, headers: dict[str, str], **params: Any) -> list[str]:
    r = await system.http.get(USERS, headers=headers, params={"limit": 200, **params})
    assert r.status_code == 200, r.text
    no_secrets(r)
    return [u["username"] for u in r.json()["items"]]


async def upload(
    system: System, headers: dict[str, str], content: bytes, name: str = "places.csv"
) -> httpx.Response:
    return await system.http.post(
        IMPORT, headers=headers, files={"file": (name, content, "text/csv")}
    )


# --- roles and scope ---------------------------------------------------------------------------


async def test_administrators_only(system: System) -> None:
    region = await system.make_region()
    for who in ("officer", "reviewer", "supervisor"):
        h = region.headers[who]
        problem(await system.http.get(USERS, headers=h), 403, "actor-not-allowed")
        r = await system.http.post(USERS, headers=h, json=new_user(region, "x"))
        problem(r, 403, "actor-not-allowed")
        uid = region.users["officer2"]
        problem(await system.http.get(f"{USERS}/{uid}", headers=h), 403, "actor-not-allowed")
        r = await system.http.patch(f"{USERS}/{uid}", headers=h, json={"active": False})
        problem(r, 403, "actor-not-allowed")
        r = await system.http.post(f"{USERS}/{uid}/password", headers=h, json={"password": SECRET})
        problem(r, 403, "actor-not-allowed")
        problem(await system.http.get(PLACES, headers=h), 403, "actor-not-allowed")
        r = await upload(system, h, b"code,name,level,parent_code\n")
        problem(r, 403, "actor-not-allowed")
    problem(await system.http.get(USERS), 401, "unauthorized")


async def test_outside_the_subtree_is_not_found(system: System) -> None:
    region = await system.make_region()
    admin_b = region.headers["admin_b"]
    officer = region.users["officer"]  # street_a1, in county_a: not admin_b's
    problem(await system.http.get(f"{USERS}/{officer}", headers=admin_b), 404, "not-found")
    r = await system.http.patch(f"{USERS}/{officer}", headers=admin_b, json={"active": False})
    problem(r, 404, "not-found")
    r = await system.http.post(
        f"{USERS}/{officer}/password", headers=admin_b, json={"password": SECRET}
    )
    problem(r, 404, "not-found")
    # The same answer as for a user that does not exist.
    problem(await system.http.get(f"{USERS}/999999999", headers=admin_b), 404, "not-found")
    county_a = region.codes["county_a"]
    problem(await system.http.get(f"{PLACES}/{county_a}", headers=admin_b), 404, "not-found")
    r = await system.http.get(PLACES, headers=admin_b, params={"root": county_a})
    problem(r, 404, "not-found")
    r = await system.http.get(USERS, headers=admin_b, params={"jurisdiction": county_a})
    problem(r, 404, "not-found")
    # Creating a user there, or moving one of one's own users there, is 404 as well.
    body = new_user(region, "elsewhere", jurisdiction_code=region.codes["street_a1"])
    problem(await system.http.post(USERS, headers=admin_b, json=body), 404, "not-found")
    officer_b = region.users["officer_b"]
    r = await system.http.patch(
        f"{USERS}/{officer_b}",
        headers=admin_b,
        json={"jurisdiction_code": region.codes["street_a1"]},
    )
    problem(r, 404, "not-found")
    # The untouched user still works.
    r = await system.http.get("/api/v1/me", headers=region.headers["officer"])
    assert r.status_code == 200, r.text


# --- listing -----------------------------------------------------------------------------------


async def test_list_filters_and_keyset_pages(system: System) -> None:
    region = await system.make_region()
    n = region.n
    admin, admin_b = region.headers["admin"], region.headers["admin_b"]
    everyone = sorted(f"r{n}_{u}" for u in region.users)
    assert await usernames(system, admin) == everyone
    assert await usernames(system, admin_b) == sorted(
        f"r{n}_{u}" for u in ("officer_b", "reviewer_b", "supervisor_b", "admin_b")
    )
    assert await usernames(system, admin, role="county_reviewer") == [
        f"r{n}_reviewer",
        f"r{n}_reviewer_b",
    ]
    # A place filter takes the place's subtree.
    assert await usernames(system, admin, jurisdiction=region.codes["street_a1"]) == [
        f"r{n}_officer",
        f"r{n}_officer2",
    ]
    assert await usernames(system, admin, q="OFFICER2") == [f"r{n}_officer2"]
    assert await usernames(system, admin, q="officer_a2@") == [f"r{n}_officer_a2"]  # display
    assert await usernames(system, admin, q="%") == []  # wildcards are literal
    r = await system.http.patch(
        f"{USERS}/{region.users['officer2']}", headers=admin, json={"active": False}
    )
    assert r.status_code == 200, r.text
    assert await usernames(system, admin, active=False) == [f"r{n}_officer2"]
    assert f"r{n}_officer2" not in await usernames(system, admin, active=True)

    # Keyset pages by username: nothing skipped or repeated, a user added behind the cursor
    # shows up, one added before it does not disturb the pages.
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        r = await system.http.get(USERS, headers=admin, params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        seen += [u["username"] for u in page["items"]]
        if len(seen) == 3:
            r = await system.http.post(
                USERS, headers=admin, json=new_user(region, "zz_late", display_name="迟到")
            )
            assert r.status_code == 201, r.text
            r = await system.http.post(
                USERS, headers=admin, json=new_user(region, "0_early", display_name="早到")
            )
            assert r.status_code == 201, r.text
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert set(seen) == {*everyone, f"r{n}_zz_late"}

    problem(
        await system.http.get(USERS, headers=admin, params={"cursor": "%%%"}), 422, "bad-cursor"
    )
    for cursor in ("%%%", "AA", "_w"):  # not base64, a NUL, not UTF-8
        r = await system.http.get(USERS, headers=admin, params={"cursor": cursor})
        problem(r, 422, "bad-cursor")
    for bad in (
        {"limit": 0},
        {"limit": 201},
        {"role": "king"},
        {"jurisdiction": "12ab"},
        {"q": "a\x00b"},
        {"q": "x" * 101},
    ):
        r = await system.http.get(USERS, headers=admin, params=bad)
        problem(r, 422, "validation-error")


# --- create, read, change ----------------------------------------------------------------------


async def test_create_user_and_its_errors(system: System) -> None:
    region = await system.make_region()
    admin = region.headers["admin"]
    body = new_user(region, "new", email="new@example.cn")
    r = await system.http.post(USERS, headers=admin, json=body)
    assert r.status_code == 201, r.text
    no_secrets(r, SECRET)
    created = r.json()
    assert created["username"] == body["username"]
    assert created["role"] == "grassroots_officer" and created["role_name"] == "基层经办人员"
    assert created["jurisdiction_name"] == f"测试street_a1{region.n}"
    assert created["email"] == "new@example.cn" and created["active"] is True
    r = await system.http.get(f"{USERS}/{created['id']}", headers=admin)
    assert r.status_code == 200 and r.json() == created
    # The new user logs in with the initial password.
    r = await system.http.post(
        "/api/v1/auth/token", data={"username": body["username"], "password": SECRET}
    )
    assert r.status_code == 200, r.text

    r = await system.http.post(USERS, headers=admin, json=body)
    problem(r, 409, "conflict")
    r = await system.http.post(
        USERS, headers=admin, json=new_user(region, "weak", password="short")
    )
    err = problem(r, 422, "validation-error")
    assert err["errors"][0]["field"] == "password" and "at least 8" in err["errors"][0]["message"]
    no_secrets(r, "short")
    same = new_user(region, "samepass")
    r = await system.http.post(USERS, headers=admin, json={**same, "password": same["username"]})
    assert "must not be the username" in problem(r, 422, "validation-error")["detail"]
    for bad in (
        {"username": "Upper Case"},
        {"username": "x"},
        {"display_name": "   "},
        {"email": "not-an-address"},
        {"role": "king"},
        {"jurisdiction_code": "12345"},
        {"password": "p" * 201},
        {"surprise": True},
    ):
        r = await system.http.post(USERS, headers=admin, json=new_user(region, "bad", **bad))
        problem(r, 422, "validation-error")
    # The role must fit the place.
    for role, place in (
        ("county_reviewer", "street_a1"),
        ("supervisor", "street_a1"),
        ("grassroots_officer", "city"),
    ):
        r = await system.http.post(
            USERS,
            headers=admin,
            json=new_user(region, f"fit_{role}", role=role, jurisdiction_code=region.codes[place]),
        )
        assert problem(r, 422, "role-place-mismatch")["errors"][0]["field"] == "role"
    for role, place in (
        ("county_reviewer", "county_a"),
        ("supervisor", "county_a"),
        ("supervisor", "city"),
        ("grassroots_officer", "county_a"),
    ):
        r = await system.http.post(
            USERS,
            headers=admin,
            json=new_user(
                region, f"ok_{role}_{place}", role=role, jurisdiction_code=region.codes[place]
            ),
        )
        assert r.status_code == 201, r.text
    problem(
        await system.http.post(
            USERS, headers=admin, json=new_user(region, "nowhere", jurisdiction_code="999999999")
        ),
        404,
        "not-found",
    )
    audit = await audit_rows(system, "user", str(created["id"]))
    assert [a.action for a in audit] == ["create_user"]
    assert audit[0].actor_id == region.users["admin"]
    assert audit[0].detail == {
        "after": {
            "username": body["username"],
            "display_name": body["display_name"],
            "role": "grassroots_officer",
            "jurisdiction_code": region.codes["street_a1"],
            "email": "new@example.cn",
            "active": True,
        }
    }


async def test_update_user(system: System) -> None:
    region = await system.make_region()
    admin = region.headers["admin"]
    uid = region.users["officer_a2"]
    url = f"{USERS}/{uid}"
    r = await system.http.patch(
        url, headers=admin, json={"display_name": " 新名字 ", "email": "a2@example.cn"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["display_name"] == "新名字" and r.json()["email"] == "a2@example.cn"
    r = await system.http.patch(url, headers=admin, json={"email": None})
    assert r.status_code == 200 and r.json()["email"] is None
    # Promotion to county reviewer needs a county: the role must fit the (new) place.
    r = await system.http.patch(url, headers=admin, json={"role": "county_reviewer"})
    problem(r, 422, "role-place-mismatch")
    r = await system.http.patch(
        url,
        headers=admin,
        json={"role": "county_reviewer", "jurisdiction_code": region.codes["county_b"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["jurisdiction_code"] == region.codes["county_b"]
    assert r.json()["role_name"] == "县区审核人员"
    # Now the county_b administrator sees the user.
    r = await system.http.get(url, headers=region.headers["admin_b"])
    assert r.status_code == 200, r.text
    for bad in ({"role": None}, {"active": None}, {"display_name": ""}, {"password": SECRET}):
        problem(await system.http.patch(url, headers=admin, json=bad), 422, "validation-error")
    # A path that cannot name a user is simply not found.
    problem(await system.http.patch(f"{USERS}/0", headers=admin, json={}), 404, "not-found")
    # An empty change changes nothing and writes no audit row.
    assert (await system.http.patch(url, headers=admin, json={})).status_code == 200
    audit = await audit_rows(system, "user", str(uid))
    assert [a.action for a in audit] == ["update_user"] * 3
    assert audit[0].detail == {
        "username": f"r{region.n}_officer_a2",
        "before": {"display_name": "officer_a2@" + str(region.n), "email": None},
        "after": {"display_name": "新名字", "email": "a2@example.cn"},
    }
    assert audit[2].detail is not None
    assert audit[2].detail["before"] == {
        "jurisdiction_code": region.codes["street_a2"],
        "role": "grassroots_officer",
    }
    assert audit[2].detail["after"] == {
        "jurisdiction_code": region.codes["county_b"],
        "role": "county_reviewer",
    }
    async with system.sessions()() as session:
        user = await session.get(User, uid)
        assert user is not None and user.jurisdiction_path == region.paths["county_b"]


async def test_privilege_rule(system: System) -> None:
    """Nobody grants more than they have: administrators are made strictly below the maker's
    place (anywhere by the root administrator); a peer administrator is off limits."""
    region = await system.make_region()
    admin = region.headers["admin"]  # at the city
    at = region.codes
    r = await system.http.post(
        USERS,
        headers=admin,
        json=new_user(region, "adm_prov", role="admin", jurisdiction_code=at["province"]),
    )
    problem(r, 404, "not-found")  # above the city: outside the subtree
    r = await system.http.post(
        USERS,
        headers=admin,
        json=new_user(region, "adm_city", role="admin", jurisdiction_code=at["city"]),
    )
    problem(r, 403, "privilege-exceeded")
    r = await system.http.post(
        USERS,
        headers=admin,
        json=new_user(region, "adm_county", role="admin", jurisdiction_code=at["county_a"]),
    )
    assert r.status_code == 201, r.text
    county_admin = r.json()["id"]
    # Promotion follows the same rule.
    supervisor = region.users["supervisor"]  # at the city
    r = await system.http.patch(f"{USERS}/{supervisor}", headers=admin, json={"role": "admin"})
    problem(r, 403, "privilege-exceeded")
    r = await system.http.patch(
        f"{USERS}/{region.users['reviewer']}", headers=admin, json={"role": "admin"}
    )
    assert r.status_code == 200 and r.json()["role"] == "admin"  # at county_a: below the city
    # The city administrator administers the county administrators below it...
    r = await system.http.patch(
        f"{USERS}/{region.users['admin_b']}", headers=admin, json={"display_name": "县管理员"}
    )
    assert r.status_code == 200, r.text
    # ...but a county administrator may not touch a peer at the same county.
    r = await system.http.post(
        USERS,
        headers=admin,
        json=new_user(region, "adm_b2", role="admin", jurisdiction_code=at["county_b"]),
    )
    assert r.status_code == 201, r.text
    peer = r.json()["id"]
    admin_b = region.headers["admin_b"]
    assert (await system.http.get(f"{USERS}/{peer}", headers=admin_b)).status_code == 200
    r = await system.http.patch(f"{USERS}/{peer}", headers=admin_b, json={"active": False})
    problem(r, 403, "privilege-exceeded")
    r = await system.http.post(
        f"{USERS}/{peer}/password", headers=admin_b, json={"password": SECRET}
    )
    problem(r, 403, "privilege-exceeded")
    r = await system.http.patch(
        f"{USERS}/{region.users['reviewer_b']}", headers=admin_b, json={"role": "admin"}
    )
    problem(r, 403, "privilege-exceeded")
    r = await system.http.patch(f"{USERS}/{county_admin}", headers=admin_b, json={})
    problem(r, 404, "not-found")  # county_a's administrator: not admin_b's subtree

    # The root administrator makes administrators anywhere, the root included.
    root = await system.login("admin")
    for name, code in (("root_prov", at["province"]), ("root_city", at["city"])):
        r = await system.http.post(
            USERS, headers=root, json=new_user(region, name, role="admin", jurisdiction_code=code)
        )
        assert r.status_code == 201, r.text
    r = await system.http.post(
        USERS,
        headers=root,
        json=new_user(region, "root_root", role="admin", jurisdiction_code="000000"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["jurisdiction_name"] == "全国"


async def test_nobody_locks_themself_out(system: System) -> None:
    region = await system.make_region()
    admin = region.headers["admin"]
    me = f"{USERS}/{region.users['admin']}"
    for change in (
        {"active": False},
        {"role": "supervisor"},
        {"jurisdiction_code": region.codes["county_a"]},
    ):
        body = problem(await system.http.patch(me, headers=admin, json=change), 409, "self-lockout")
        assert "your own account" in body["detail"]
    r = await system.http.post(f"{me}/password", headers=admin, json={"password": SECRET})
    problem(r, 409, "self-reset")
    # Harmless changes of one's own account are fine, and so is repeating the current values.
    r = await system.http.patch(
        me,
        headers=admin,
        json={"display_name": "市管理员", "active": True, "role": "admin"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["active"] is True and r.json()["role"] == "admin"
    # The root administrator is refused the same way.
    root = await system.login("admin")
    r = await system.http.get("/api/v1/me", headers=root)
    r = await system.http.patch(f"{USERS}/{r.json()['id']}", headers=root, json={"active": False})
    problem(r, 409, "self-lockout")


async def test_deactivated_user_is_locked_out(system: System) -> None:
    region = await system.make_region()
    admin = region.headers["admin"]
    r = await system.http.post(USERS, headers=admin, json=new_user(region, "leaver"))
    assert r.status_code == 201, r.text
    uid, username = r.json()["id"], r.json()["username"]
    r = await system.http.post(
        "/api/v1/auth/token", data={"username": username, "password": SECRET}
    )
    assert r.status_code == 200, r.text
    token = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await system.http.get("/api/v1/me", headers=token)).status_code == 200

    r = await system.http.patch(f"{USERS}/{uid}", headers=admin, json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    problem(await system.http.get("/api/v1/me", headers=token), 401, "unauthorized")
    problem(await system.http.get("/api/v1/tasks", headers=token), 401, "unauthorized")
    r = await system.http.post(
        "/api/v1/auth/token", data={"username": username, "password": SECRET}
    )
    problem(r, 401, "bad-credentials")

    r = await system.http.patch(f"{USERS}/{uid}", headers=admin, json={"active": True})
    assert r.status_code == 200, r.text
    # Active again, the user logs in again: the sessions from before stay ended.
    problem(await system.http.get("/api/v1/me", headers=token), 401, "unauthorized")
    r = await system.http.post(
        "/api/v1/auth/token", data={"username": username, "password": SECRET}
    )
    token = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await system.http.get("/api/v1/me", headers=token)).status_code == 200


async def test_password_reset(system: System) -> None:
    region = await system.make_region()
    admin = region.headers["admin"]
    uid = region.users["officer"]
    username = f"r{region.n}_officer"
    url = f"{USERS}/{uid}/password"
    r = await system.http.post(url, headers=admin, json={"password": "short"})
    assert problem(r, 422, "validation-error")["errors"][0]["field"] == "password"
    r = await system.http.post(url, headers=admin, json={"password": username})
    problem(r, 422, "validation-error")
    problem(await system.http.post(url, headers=admin, json={}), 422, "validation-error")
    r = await system.http.post(url, headers=admin, json={"password": SECRET})
    assert r.status_code == 204 and r.content == b""
    r = await system.http.post(
        "/api/v1/auth/token", data={"username": username, "password": SECRET}
    )
    assert r.status_code == 200, r.text
    audit = await audit_rows(system, "user", str(uid))
    assert [a.action for a in audit] == ["reset_password"]
    assert audit[0].detail == {"username": username}
    async with system.sessions()() as session:
        user = await session.get(User, uid)
        assert user is not None and SECRET not in user.password_hash
        assert user.password_hash.startswith("$argon2")


# --- places ------------------------------------------------------------------------------------


async def test_jurisdiction_tree_and_one_place(system: System) -> None:
    region = await system.make_region()
    admin, admin_b = region.headers["admin"], region.headers["admin_b"]
    at, n = region.codes, region.n
    r = await system.http.get(PLACES, headers=admin)
    assert r.status_code == 200, r.text
    tree = r.json()
    assert (tree["code"], tree["level"], tree["name"]) == (at["city"], "city", f"测试city{n}")
    assert tree["user_count"] == 2  # supervisor and admin at the city
    assert tree["subtree_user_count"] == len(region.users)
    assert tree["child_count"] == 2
    county_a, county_b = tree["children"]
    assert (county_a["code"], county_b["code"]) == (at["county_a"], at["county_b"])
    assert county_a["user_count"] == 2 and county_a["subtree_user_count"] == 5
    assert [c["code"] for c in county_a["children"]] == [at["street_a1"], at["street_a2"]]
    assert county_a["children"][0]["user_count"] == 2
    assert county_a["children"][0]["children"] == []

    # Depth limits the nesting; the counts still tell what is below.
    r = await system.http.get(PLACES, headers=admin, params={"depth": 1})
    assert [c["children"] for c in r.json()["children"]] == [[], []]
    assert r.json()["children"][0]["child_count"] == 2
    r = await system.http.get(PLACES, headers=admin, params={"depth": 0})
    assert r.json()["children"] == [] and r.json()["child_count"] == 2

    r = await system.http.get(PLACES, headers=admin, params={"root": at["county_a"]})
    assert r.status_code == 200 and r.json()["code"] == at["county_a"]
    r = await system.http.get(PLACES, headers=admin_b)
    assert r.json()["code"] == at["county_b"] and r.json()["subtree_user_count"] == 4
    problem(
        await system.http.get(PLACES, headers=admin, params={"root": at["province"]}),
        404,
        "not-found",
    )
    for bad in ({"root": "abc"}, {"depth": -1}, {"depth": 99}):
        problem(await system.http.get(PLACES, headers=admin, params=bad), 422, "validation-error")

    r = await system.http.get(f"{PLACES}/{at['street_a1']}", headers=admin)
    assert r.status_code == 200, r.text
    one = r.json()
    assert one["path"] == region.paths["street_a1"]
    assert [a["code"] for a in one["ancestors"]] == [
        "000000",
        at["province"],
        at["city"],
        at["county_a"],
    ]
    assert one["user_count"] == 2 and one["children"] == []
    r = await system.http.get(f"{PLACES}/{at['city']}", headers=admin)
    assert [c["code"] for c in r.json()["children"]] == [at["county_a"], at["county_b"]]
    problem(await system.http.get(f"{PLACES}/{at['province']}", headers=admin), 404, "not-found")
    problem(await system.http.get(f"{PLACES}/x1", headers=admin), 404, "not-found")

    # The demo tree: packs are inherited from above.
    root = await system.login("admin")
    r = await system.http.get(PLACES, headers=root, params={"root": "370702"})
    assert r.status_code == 200, r.text
    assert r.json()["policy_pack_id"] is None
    assert r.json()["effective_policy_pack_id"] == "weifang-2023"
    assert {c["effective_policy_pack_id"] for c in r.json()["children"]} == {"weifang-2023"}


async def test_import_creates_renames_and_is_idempotent(system: System) -> None:
    region = await system.make_region()
    admin = region.headers["admin"]
    at, n = region.codes, region.n
    street, street2 = f"{at['county_a']}901", f"{at['county_b']}902"
    community = f"{street}001"
    # The community comes before its street: the order of rows does not matter.
    csv_text = (
        "code,name,level,parent_code,policy_pack_id\n"
        f"{community},新社区{n},village,{street},\n"
        f"{street},新街道{n},street,{at['county_a']},\n"
        f"{street2},新乡镇{n},township,{at['county_b']},jilin-2022\n"
        f"{at['street_a2']},改名街道{n},street,{at['county_a']},\n"
        f"{at['street_a1']},测试street_a1{n},street,{at['county_a']},weifang-2023\n"
        f"{at['street_b1']},测试street_b1{n},street,{at['county_b']},\n"
    )
    data = "\ufeff".encode() + csv_text.encode()  # with a byte order mark
    r = await upload(system, admin, data)
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 3, "renamed": 1, "policy_changed": 1, "unchanged": 1}
    async with system.sessions()() as session:
        made = await session.get(Jurisdiction, community)
        assert made is not None
        assert (made.level, made.parent_code) == ("community", street)
        assert made.path == f"{region.paths['county_a']}{street}/{community}/"
        township = await session.get(Jurisdiction, street2)
        assert township is not None and township.level == "street"
        assert township.policy_pack_id == "jilin-2022"
        renamed = await session.get(Jurisdiction, at["street_a2"])
        assert renamed is not None and renamed.name == f"改名街道{n}"
    # The same file again changes nothing, and the CSV without a BOM is the same file.
    for again in (data, csv_text.encode()):
        r = await upload(system, admin, again)
        assert r.status_code == 200, r.text
        assert r.json() == {"created": 0, "renamed": 0, "policy_changed": 0, "unchanged": 6}

    # The new places are in the tree and can hold users.
    r = await system.http.get(PLACES, headers=admin, params={"root": street})
    assert [c["code"] for c in r.json()["children"]] == [community]
    assert r.json()["children"][0]["level"] == "community"
    body = new_user(region, "community_officer", jurisdiction_code=community)
    assert (await system.http.post(USERS, headers=admin, json=body)).status_code == 201

    created = await audit_rows(system, "jurisdiction", community)
    assert [a.action for a in created] == ["create_jurisdiction"]
    assert created[0].actor_id == region.users["admin"]
    renames = await audit_rows(system, "jurisdiction", at["street_a2"])
    assert [a.action for a in renames] == ["update_jurisdiction"]
    assert renames[0].detail == {
        "before": {"name": f"测试street_a2{n}", "policy_pack_id": None},
        "after": {"name": f"改名街道{n}", "policy_pack_id": None},
    }


async def test_import_json_and_headerless_csv(system: System) -> None:
    region = await system.make_region()
    admin = region.headers["admin_b"]
    county_b = region.codes["county_b"]
    rows = [
        {"code": f"{county_b}903", "name": "甲街道", "level": "street", "parent_code": county_b},
        {
            "code": f"{county_b}903001",
            "name": "甲社区",
            "level": "community",
            "parent_code": f"{county_b}903",
            "policy_pack_id": None,
        },
    ]
    r = await upload(system, admin, json.dumps(rows).encode(), "places.json")
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 2
    wrapped = json.dumps({"jurisdictions": rows}).encode()
    r = await upload(system, admin, wrapped, "places.json")
    assert r.json() == {"created": 0, "renamed": 0, "policy_changed": 0, "unchanged": 2}
    headerless = f"{county_b}904,乙街道,street,{county_b}\n\n".encode()
    r = await upload(system, admin, headerless)
    assert r.status_code == 200 and r.json()["created"] == 1
    r = await upload(system, admin, b'[{"code": 370702901, "name": "x"}]', "p.json")
    err = problem(r, 422, "import-invalid")
    [only] = err["errors"]
    assert (only["line"], only["field"], only["code"]) == (1, "code", "invalid-code")


async def test_import_is_all_or_nothing(system: System) -> None:
    region = await system.make_region()
    at, n = region.codes, region.n
    admin_b = region.headers["admin_b"]  # at county_b
    good = f"{at['county_b']}905"
    lines = [
        "code,name,level,parent_code,policy_pack_id",  # 1
        f"{good},好街道{n},street,{at['county_b']},",  # 2: valid, but nothing is written
        f"{at['county_b']}96,短码,street,{at['county_b']},",  # 3: 8 digits for a street
        f"{at['county_b']}907,无父,street,{at['county_b']}999,",  # 4: parent nowhere
        f"{at['county_a']}908,越界,street,{at['county_a']},",  # 5: parent outside admin_b's
        f"{good},重复,street,{at['county_b']},",  # 6: duplicate of line 2
        f"{at['county_b']}909,未知政策,street,{at['county_b']},no-such-pack",  # 7
        f"{at['county_b']}910,层级,county,{at['county_b']},",  # 8: county code / level
        f"{at['street_b1']},搬家,street,{at['county_b']}905,",  # 9: a move
        f"{at['county_b']}911,,street,{at['county_b']},",  # 10: no name
        f"{at['county_b']}912,坏层级,planet,{at['county_b']},",  # 11
        f"{at['county_b']},自己,county,{at['city']},",  # 12: admin_b's own place
        f"{at['county_b']}913001,环甲,community,{at['county_b']}914,",  # 13
        f"{at['county_b']}914,环乙,county,{at['county_b']}913001,",  # 14 (cycle with 13)
        "only,two",  # 15
    ]
    r = await upload(system, admin_b, "\n".join(lines).encode())
    err = problem(r, 422, "import-invalid")
    by_line: dict[int, list[dict[str, Any]]] = {}
    for e in err["errors"]:
        by_line.setdefault(e["line"], []).append(e)
    assert 2 not in by_line and 1 not in by_line
    # (13: its parent on line 14 is itself invalid, so it is not in the file.)
    assert set(by_line) == {3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, err["errors"]
    assert err["error_count"] == len(err["errors"])
    assert by_line[3][0]["field"] == "code" and "9 digits" in by_line[3][0]["message"]
    assert "neither in the file nor in the database" in by_line[4][0]["message"]
    assert "outside your jurisdiction" in by_line[5][0]["message"]
    assert "line 2" in by_line[6][0]["message"] and by_line[6][0]["code"] == "duplicate-code"
    # Every error has the fields of the documented problem schema.
    assert all(isinstance(e["field"], str) and e["code"] for e in err["errors"])
    assert by_line[7][0]["field"] == "policy_pack_id"
    assert by_line[9][0]["code"] == "move-refused"
    assert "moving a place" in by_line[9][0]["message"]
    assert "cases and users" in by_line[9][0]["message"]
    assert by_line[10][0]["field"] == "name"
    assert by_line[11][0]["field"] == "level"
    assert "your own jurisdiction" in by_line[12][0]["message"]
    async with system.sessions()() as session:
        assert await session.get(Jurisdiction, good) is None  # nothing was written
        moved = await session.get(Jurisdiction, at["street_b1"])
        assert moved is not None and moved.parent_code == at["county_b"]
    # The same valid row alone goes in.
    r = await upload(system, admin_b, ("\n".join(lines[:2]) + "\n").encode())
    assert r.status_code == 200 and r.json()["created"] == 1

    for bad, needle in (
        (b"\xff\xfe\x00garbage", "UTF-8"),
        (b"", "no rows"),
        (b"code,name,level\n1,2,3\n", "header"),
        (b"[1, 2", "JSON"),
        (b'{"rows": []}', "list of rows"),
        (b'[{"code": "1", "colour": "red"}]', "unknown field"),
    ):
        err = problem(await upload(system, admin_b, bad), 422, "import-invalid")
        assert needle in err["detail"], err
    r = await system.http.post(IMPORT, headers=admin_b)
    problem(r, 422, "validation-error")


async def test_import_cycle_is_named(system: System) -> None:
    region = await system.make_region()
    county_b = region.codes["county_b"]
    a, b = f"{county_b}921", f"{county_b}922"
    text = f"{a},甲,street,{b}\n{b},乙,street,{a}\n"
    err = problem(
        await upload(system, region.headers["admin_b"], text.encode()), 422, "import-invalid"
    )
    assert {e["line"] for e in err["errors"]} == {1, 2}
    assert all("cannot be below" in e["message"] for e in err["errors"])
    # Levels that would allow the chain leave the cycle itself to be reported.
    street, community = f"{county_b}923", f"{county_b}923001"
    text = f"{street},甲,street,{community}\n{community},乙,community,{street}\n"
    # The street cannot be below a community, and the community's chain loops back.
    err = problem(
        await upload(system, region.headers["admin_b"], text.encode()), 422, "import-invalid"
    )
    messages = " ".join(e["message"] for e in err["errors"])
    assert "cannot be below" in messages and "cycle" in messages
    assert {e["code"] for e in err["errors"]} == {"level-not-below-parent", "cycle"}
