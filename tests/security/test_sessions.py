"""Sessions that can be ended (#20 §2, §7), on SQLite and PostgreSQL: logging out (API or
page), changing one's password, an administrator resetting it, changing the user's role or
place, and deactivating them each end every session of that user at once — their API tokens and
their page cookies alike — while a new login works. A bearer token that is bad, expired or of an
ended session is refused with 401 even where anonymous callers are welcome."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from application.http import SESSION_COOKIE
from application.security import issue_token
from tests.factories import application
from tests.problems import problem
from tests.reliability.report import tally
from tests.security.test_web_security import browser
from tests.system import Region, System, web_login

ME = "/api/v1/me"
USERS = "/api/v1/admin/users"
FIRST = "First-Pass-0001"
SECOND = "Second-Pass-0002"


async def _user(system: System, region: Region, name: str) -> tuple[int, str]:
    """A new officer at street_a1 who can log in with FIRST: their id and username."""
    username = f"r{region.n}_{name}"
    r = await system.http.post(
        USERS,
        headers=region.headers["admin"],
        json={
            "username": username,
            "display_name": f"会话{name}",
            "role": "grassroots_officer",
            "jurisdiction_code": region.codes["street_a1"],
            "password": FIRST,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()["id"], username


async def _token(system: System, username: str, password: str = FIRST) -> dict[str, str]:
    r = await system.http.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _page_cookie(system: System, username: str, password: str = FIRST) -> str:
    async with browser(system) as web:
        r = await web_login(web, username, password)
        assert r.status_code == 303, r.text
        return str(web.cookies[SESSION_COOKIE])


async def _works(system: System, headers: dict[str, str]) -> bool:
    r = await system.http.get(ME, headers=headers)
    if r.status_code == 401:
        problem(r, 401, "unauthorized")
        return False
    assert r.status_code == 200, r.text
    return True


async def _page_works(system: System, cookie: str) -> bool:
    async with browser(system, cookie) as web:
        r = await web.get("/inbox")
    if r.status_code == 303:
        assert r.headers["location"].startswith("/login"), r.headers
        return False
    assert r.status_code == 200, r.text
    return True


async def _ended(system: System, tokens: list[dict[str, str]], cookies: list[str]) -> None:
    for headers in tokens:
        assert not await _works(system, headers)
    for cookie in cookies:
        assert not await _page_works(system, cookie)


async def test_api_logout_ends_every_session_of_the_user(system: System) -> None:
    region = await system.make_region()
    _, username = await _user(system, region, "logout")
    one, two = await _token(system, username), await _token(system, username)
    cookie = await _page_cookie(system, username)
    assert await _works(system, one) and await _works(system, two)
    assert await _page_works(system, cookie)

    r = await system.http.post("/api/v1/auth/logout", headers=one)
    assert r.status_code == 204, r.text
    await _ended(system, [one, two], [cookie])
    problem(await system.http.post("/api/v1/auth/logout", headers=one), 401, "unauthorized")
    # Someone else's sessions are untouched; a new login of the user works.
    assert await _works(system, region.headers["officer"])
    assert await _works(system, await _token(system, username))
    tally("security", "ways to end a session checked (tokens and cookies)", 1)


async def test_page_logout_ends_the_api_tokens_too(system: System) -> None:
    region = await system.make_region()
    _, username = await _user(system, region, "pagelogout")
    token = await _token(system, username)
    async with browser(system) as web:
        await web_login(web, username, FIRST)
        cookie = str(web.cookies[SESSION_COOKIE])
        page = await web.get("/inbox")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf, page.text[:2000]
        r = await web.post("/logout", data={"csrf": csrf.group(1)})
        assert r.status_code == 303 and r.headers["location"] == "/login"
    await _ended(system, [token], [cookie])
    tally("security", "ways to end a session checked (tokens and cookies)", 1)


async def test_changing_ones_password_ends_the_other_sessions(system: System) -> None:
    region = await system.make_region()
    _, username = await _user(system, region, "ownpass")
    # Through the API: every token ends, the one that asked included.
    token, cookie = await _token(system, username), await _page_cookie(system, username)
    r = await system.http.post(
        f"{ME}/password",
        headers=token,
        json={"current_password": FIRST, "new_password": SECOND},
    )
    assert r.status_code == 204, r.text
    await _ended(system, [token], [cookie])
    problem(
        await system.http.post(
            "/api/v1/auth/token", data={"username": username, "password": FIRST}
        ),
        401,
        "bad-credentials",
    )

    # Through the page: the browser that changed it stays in, everything else is out.
    token = await _token(system, username, SECOND)
    async with browser(system) as web:
        await web_login(web, username, SECOND)
        before = str(web.cookies[SESSION_COOKIE])
        page = await web.get("/account")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf, page.text[:2000]
        r = await web.post(
            "/account/password",
            data={
                "csrf": csrf.group(1),
                "current_password": SECOND,
                "new_password": FIRST,
                "new_password2": FIRST,
            },
        )
        assert r.status_code == 303, r.text
        after = str(web.cookies[SESSION_COOKIE])
        assert after != before
        assert (await web.get("/account?done=password")).status_code == 200
    await _ended(system, [token], [before])
    assert await _page_works(system, after)
    tally("security", "ways to end a session checked (tokens and cookies)", 2)


async def test_what_an_administrator_changes_ends_the_users_sessions(system: System) -> None:
    region = await system.make_region()
    admin = region.headers["admin"]
    changes: list[tuple[str, str, dict[str, object]]] = [
        ("reset", "post", {"password": SECOND}),
        (
            "role",
            "patch",
            {"role": "county_reviewer", "jurisdiction_code": region.codes["county_a"]},
        ),
        ("place", "patch", {"jurisdiction_code": region.codes["street_a2"]}),
        ("deactivate", "patch", {"active": False}),
    ]
    for what, method, body in changes:
        user_id, username = await _user(system, region, f"by_admin_{what}")
        token, cookie = await _token(system, username), await _page_cookie(system, username)
        url = f"{USERS}/{user_id}/password" if what == "reset" else f"{USERS}/{user_id}"
        r = await system.http.request(method.upper(), url, headers=admin, json=body)
        assert r.status_code in (200, 204), (what, r.text)
        await _ended(system, [token], [cookie])
        if what == "deactivate":
            # Active again, the sessions from before stay ended.
            r = await system.http.patch(f"{USERS}/{user_id}", headers=admin, json={"active": True})
            assert r.status_code == 200, r.text
            await _ended(system, [token], [cookie])
        else:
            password = SECOND if what == "reset" else FIRST
            assert await _works(system, await _token(system, username, password))
        tally("security", "ways to end a session checked (tokens and cookies)", 1)

    # A change that leaves role, place and active alone (the display name) ends nothing.
    user_id, username = await _user(system, region, "by_admin_name")
    token = await _token(system, username)
    r = await system.http.patch(
        f"{USERS}/{user_id}", headers=admin, json={"display_name": "新名字"}
    )
    assert r.status_code == 200, r.text
    assert await _works(system, token)


async def test_a_bad_token_is_refused_where_anonymous_callers_are_welcome(
    system: System,
) -> None:
    region = await system.make_region()
    user_id = region.users["officer"]
    secret = system.settings.secret_key
    now = datetime.now(UTC)
    good = issue_token(secret, user_id, now, timedelta(hours=1))
    user, epoch, expiry, signature = good.split(".")
    bad = {
        "malformed": "not-a-token",
        "expired": issue_token(secret, user_id, now - timedelta(hours=2), timedelta(hours=1)),
        "tampered": f"{int(user) + 1}.{epoch}.{expiry}.{signature}",
        "another secret": issue_token("x" * 40, user_id, now, timedelta(hours=1)),
        "old form": f"{user}.{expiry}.{signature}",
        "ended session": issue_token(secret, user_id, now, timedelta(hours=1), epoch=-1),
    }
    for what, token in bad.items():
        r = await system.http.post(
            "/api/v1/applications",
            json=application("weifang-2023"),
            headers={"Authorization": f"Bearer {token}"},
        )
        body = problem(r, 401, "unauthorized")
        assert "log in again" in body["detail"], (what, body)
        tally("security", "bad tokens refused on an endpoint open to anonymous callers", 1)
    # Without a token the public may still apply.
    r = await system.http.post("/api/v1/applications", json=application("weifang-2023"))
    assert r.status_code == 201, r.text


async def test_a_stale_cookie_on_the_public_form_is_only_ignored(system: System) -> None:
    """A browser keeps a cookie after its session ended: the public form is still the public
    form (the cookie is not a credential the visitor chose to send, as a bearer token is)."""
    region = await system.make_region()
    stale = issue_token(
        system.settings.secret_key,
        region.users["officer"],
        datetime.now(UTC),
        timedelta(hours=1),
        epoch=-1,
    )
    async with browser(system, stale) as web:
        r: httpx.Response = await web.get("/apply")
    assert r.status_code == 200, r.text
