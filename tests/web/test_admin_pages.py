"""The administration pages without a browser, on SQLite and PostgreSQL: each section as an
administrator sees it, its forms (CSRF-checked, multipart uploads too) and the API's refusals
shown in place with the API's words; a non-administrator gets the 403 page; "my account" for
every role.

Users and places are made in a region of their own per test (:meth:`System.make_region`);
the calendar years (2096-2098), the department list kind and the outbound setting are global
to the shared database, so the tests that change them restore them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import delete, select

from application.services import reference as reference_service
from store import repos
from store.models import AppSetting, Jurisdiction, User
from store.models_calendar import CalendarYear
from store.outbound_settings import SMTP_SETTING
from tests.activities.test_outbound import SmtpSink
from tests.api.test_reference_department import count, csv_bytes, kept, make_id, people
from tests.system import Region, System, web_login
from worker.demo import DEMO_PASSWORD

PASSWORD = "Admin-Page-Pass-01"
YEAR, BAD_YEAR, PENDING_YEAR = 2096, 2097, 2098


def client(system: System) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=system.http._transport, base_url="http://test")


def as_user(system: System, headers: dict[str, str]) -> httpx.AsyncClient:
    """A browser session for a region user (they have no password): the session cookie holds
    the same token the API takes as a bearer."""
    web = client(system)
    web.cookies.set("yz_session", headers["Authorization"].removeprefix("Bearer "))
    return web


async def login(system: System, username: str, password: str = DEMO_PASSWORD) -> httpx.AsyncClient:
    web = client(system)
    r = await web_login(web, username, password)
    assert r.status_code == 303, r.text
    return web


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match is not None
    return match.group(1)


async def csrf(web: httpx.AsyncClient, url: str = "/account") -> str:
    r = await web.get(url)
    assert r.status_code == 200, r.text
    return csrf_of(r.text)


def field_error(html: str, field: str) -> str:
    """The error shown next to ``field`` ('' when none)."""
    match = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', html, re.S)
    return match.group(1) if match else ""


def refusal(html: str) -> str:
    match = re.search(
        r'<div class="refusal" role="alert" data-problem="([^"]+)">(.*?)</div>', html, re.S
    )
    return f"{match.group(1)}: {match.group(2)}" if match else ""


def unescape(text: str) -> str:
    return text.replace("&#39;", "'").replace("&quot;", '"').replace("&amp;", "&")


async def user_row(system: System, username: str) -> User | None:
    async with system.sessions()() as session:
        return await repos.user_by_username(session, username)


# --- who may see the pages -----------------------------------------------------------------


async def test_non_administrators_get_the_403_page_and_visitors_the_login(system: System) -> None:
    region = await system.make_region()
    for who in ("officer", "reviewer", "supervisor"):
        web = as_user(system, region.headers[who])
        for url in ("/admin", "/admin/users", "/admin/calendar", "/admin/packs", "/admin/outbound"):
            r = await web.get(url)
            assert r.status_code == 403, (who, url)
            assert (
                'data-problem="actor-not-allowed"' in r.text and "此页面仅对特定角色开放" in r.text
            )
        # A form posted anyway is refused before anything is read.
        r = await web.post("/admin/users", data={"csrf": "x", "username": "sneaky"})
        assert r.status_code == 403
        await web.aclose()
    assert await user_row(system, "sneaky") is None
    r = await client(system).get("/admin/users?role=admin")
    assert (
        r.status_code == 303
        and r.headers["location"] == "/login?next=%2Fadmin%2Fusers%3Frole%3Dadmin"
    )


async def test_landing_page_links_every_section_with_its_status(system: System) -> None:
    region = await system.make_region()
    web = as_user(system, region.headers["admin"])
    r = await web.get("/admin")
    assert r.status_code == 200
    for href in (
        "/admin/users",
        "/admin/places",
        "/admin/calendar",
        "/admin/department",
        "/admin/packs",
        "/admin/outbound",
        "/account",
    ):
        assert f'href="{href}"' in r.text, href
    # The city administrator's subtree: the region's 11 users, the city and 5 places below.
    assert "管辖范围内共 11 个用户" in r.text
    assert f"测试city{region.n} 及以下共 6 个地区" in r.text
    assert re.search(r"已载入 \d+ 个年度（2004–", r.text)
    assert "共 5 个政策包" in r.text
    en = await web.get("/admin?lang=en")
    assert "11 users in your jurisdiction" in en.text and "My account" in en.text
    await web.aclose()


# --- users ---------------------------------------------------------------------------------


async def test_users_list_and_filters(system: System) -> None:
    region = await system.make_region()
    n = region.n
    web = as_user(system, region.headers["admin"])
    r = await web.get("/admin/users", params={"role": "county_reviewer"})
    assert f"r{n}_reviewer<" in r.text and f"r{n}_reviewer_b<" in r.text
    assert f"r{n}_officer<" not in r.text
    r = await web.get("/admin/users", params={"place": region.codes["county_b"]})
    shown = set(re.findall(rf">(r{n}_\w+)</a>", r.text))
    assert shown == {f"r{n}_{u}" for u in ("officer_b", "reviewer_b", "supervisor_b", "admin_b")}
    r = await web.get("/admin/users", params={"q": f"r{n}_officer_a"})
    assert set(re.findall(rf">(r{n}_\w+)</a>", r.text)) == {f"r{n}_officer_a2"}
    # Another region's users are not listed; their place is not found.
    other = await system.make_region()
    r = await web.get("/admin/users", params={"q": f"r{other.n}_"})
    assert re.findall(rf">r{other.n}_\w+</a>", r.text) == []
    r = await web.get("/admin/users", params={"place": other.codes["city"]})
    assert r.status_code == 404
    await web.aclose()


async def test_create_user_with_refusals_in_place_then_the_user_logs_in(system: System) -> None:
    region = await system.make_region()
    n = region.n
    web = as_user(system, region.headers["admin"])
    token = await csrf(web, "/admin/users/new")
    form = {
        "csrf": token,
        "username": f"r{n}_new",
        "display_name": "新用户",
        "role": "grassroots_officer",
        "jurisdiction_code": region.codes["street_a1"],
        "email": "",
        "password": "short",
    }
    r = await web.post("/admin/users", data=form)
    assert r.status_code == 422
    assert "密码不符合规则" in field_error(r.text, "password")
    assert "the password must be at least 8 characters" in field_error(r.text, "password")
    assert f'value="r{n}_new"' in r.text  # what was typed stays

    r = await web.post("/admin/users", data={**form, "password": PASSWORD, "username": "Bad Name"})
    assert r.status_code == 422 and "lower-case letters" in field_error(r.text, "username")

    r = await web.post(
        "/admin/users", data={**form, "password": PASSWORD, "role": "county_reviewer"}
    )
    assert r.status_code == 422
    assert "该角色不能设在所选的行政区划" in field_error(r.text, "role")
    assert "cannot work at" in field_error(r.text, "role")

    # The privilege rule: an administrator at one's own place only from above.
    r = await web.post(
        "/admin/users",
        data={
            **form,
            "password": PASSWORD,
            "role": "admin",
            "jurisdiction_code": region.codes["city"],
        },
    )
    assert r.status_code == 403
    assert refusal(r.text).startswith("privilege-exceeded: ")
    assert (
        "不能授予高于自己的权限" in r.text
        and "can only be made by an administrator above it" in r.text
    )
    assert await user_row(system, f"r{n}_new") is None

    r = await web.post(
        "/admin/users", data={**form, "password": PASSWORD, "email": "new@example.cn"}
    )
    assert r.status_code == 303, r.text
    assert re.fullmatch(r"/admin/users/\d+\?done=created", r.headers["location"])
    r = await web.get(r.headers["location"])
    assert "用户已创建" in r.text and "新用户" in r.text and "new@example.cn" in r.text

    r = await web.post("/admin/users", data={**form, "password": PASSWORD})
    assert r.status_code == 409 and "is already taken" in field_error(r.text, "username")

    newcomer = await login(system, f"r{n}_new", PASSWORD)
    r = await newcomer.get("/account")
    assert r.status_code == 200 and "新用户" in r.text and "基层经办人员" in r.text
    await newcomer.aclose()
    await web.aclose()


async def test_edit_user_and_reset_password_with_the_apis_refusals(system: System) -> None:
    region = await system.make_region()
    n = region.n
    web = as_user(system, region.headers["admin"])
    officer = region.users["officer"]
    page = await web.get(f"/admin/users/{officer}")
    assert page.status_code == 200 and f"r{n}_officer" in page.text
    token = csrf_of(page.text)
    base = {
        "csrf": token,
        "display_name": "改名的经办",
        "email": "",
        "role": "grassroots_officer",
        "jurisdiction_code": region.codes["street_a2"],
    }
    # Moved and deactivated (the active box unchecked).
    r = await web.post(f"/admin/users/{officer}", data=base)
    assert r.status_code == 303 and r.headers["location"].endswith("?done=saved")
    row = await user_row(system, f"r{n}_officer")
    assert row is not None and row.active is False and row.display_name == "改名的经办"
    assert row.jurisdiction_code == region.codes["street_a2"]
    r = await web.get("/admin/users", params={"active": "0", "q": f"r{n}_"})
    assert f">r{n}_officer</a>" in r.text and f">r{n}_officer2</a>" not in r.text

    # A role that does not fit the place: in place, nothing changed.
    r = await web.post(
        f"/admin/users/{officer}", data={**base, "active": "1", "role": "supervisor"}
    )
    assert r.status_code == 422 and "cannot work at" in field_error(r.text, "role")
    row = await user_row(system, f"r{n}_officer")
    assert row is not None and row.role == "grassroots_officer" and row.active is False

    # Nobody locks themself out.
    me = region.users["admin"]
    r = await web.post(
        f"/admin/users/{me}",
        data={
            **base,
            "display_name": "admin",
            "role": "admin",
            "jurisdiction_code": region.codes["city"],
        },
    )
    assert r.status_code == 409 and refusal(r.text).startswith("self-lockout: ")
    assert (
        "不能停用或降级自己的账号" in r.text and "you cannot deactivate your own account" in r.text
    )
    row = await user_row(system, f"r{n}_admin")
    assert row is not None and row.active is True

    # A county administrator may not make an administrator at their own county.
    admin_b = as_user(system, region.headers["admin_b"])
    reviewer_b = region.users["reviewer_b"]
    r = await admin_b.post(
        f"/admin/users/{reviewer_b}",
        data={
            "csrf": await csrf(admin_b),
            "display_name": "x",
            "role": "admin",
            "jurisdiction_code": region.codes["county_b"],
            "active": "1",
        },
    )
    assert r.status_code == 403 and refusal(r.text).startswith("privilege-exceeded: ")
    # ... and does not see a user of the other county at all.
    assert (await admin_b.get(f"/admin/users/{officer}")).status_code == 404
    await admin_b.aclose()

    # Password reset: the rules in place, then done; one's own is refused with the API's words.
    r = await web.post(
        f"/admin/users/{officer}/password", data={"csrf": token, "password": f"r{n}_officer"}
    )
    assert r.status_code == 422 and "must not be the username" in field_error(r.text, "password")
    r = await web.post(
        f"/admin/users/{officer}/password", data={"csrf": token, "password": PASSWORD}
    )
    assert r.status_code == 303 and r.headers["location"].endswith("?done=reset")
    assert "密码已重置" in (await web.get(r.headers["location"])).text
    r = await web.post(f"/admin/users/{me}/password", data={"csrf": token, "password": PASSWORD})
    assert r.status_code == 409 and refusal(r.text).startswith("self-reset: ")
    assert "请在“我的账号”中修改自己的密码" in r.text
    # A forged form is refused.
    officer2 = region.users["officer2"]
    r = await web.post(
        f"/admin/users/{officer2}/password", data={"csrf": "forged", "password": PASSWORD}
    )
    assert r.status_code == 403 and "表单已过期" in r.text
    await web.aclose()


# --- places --------------------------------------------------------------------------------


async def test_place_tree_and_all_or_nothing_import(system: System) -> None:
    region = await system.make_region()
    web = as_user(system, region.headers["admin"])
    r = await web.get("/admin/places")
    assert r.status_code == 200
    for name in ("city", "county_a", "county_b", "street_a1", "street_b1"):
        assert f"测试{name}{region.n}" in r.text
    assert "<details open>" in r.text  # expandable without JavaScript
    token = csrf_of(r.text)
    county = region.codes["county_a"]
    street, community = f"{county}009", f"{county}009001"
    bad = (
        "code,name,level,parent_code\n"
        f"{street},新街道,street,{county}\n"
        f"{community}1,新社区,community,{street}\n"  # 13 digits
        f"999999009,外地街道,street,999999\n"  # an unknown parent
    )
    r = await web.post(
        "/admin/places/import",
        data={"csrf": token},
        files={"file": ("places.csv", bad.encode(), "text/csv")},
    )
    assert r.status_code == 422
    assert (
        refusal(r.text).startswith("import-invalid: ") and "导入文件有误，未导入任何记录" in r.text
    )
    errors = re.findall(r"<tr><td>(\d*)</td><td>(\w+)</td><td>(.*?)</td></tr>", r.text)
    assert [(line, col) for line, col, _m in errors] == [("3", "code"), ("4", "parent_code")]
    assert "a community code has 12 digits, not 13" in unescape(errors[0][2])
    assert "新街道" not in (await web.get("/admin/places")).text

    good = (
        "code,name,level,parent_code\n"
        f"{street},新街道,street,{county}\n"
        f"{community},新社区,community,{street}\n"
    )
    r = await web.post(
        "/admin/places/import",
        data={"csrf": token},
        files={"file": ("places.csv", good.encode(), "text/csv")},
    )
    assert r.status_code == 200 and "新建 2 个" in r.text
    assert "新街道" in r.text and "新社区" in r.text
    # The upload's CSRF token is checked as well.
    r = await web.post(
        "/admin/places/import",
        data={"csrf": "forged"},
        files={"file": ("places.csv", good.encode(), "text/csv")},
    )
    assert r.status_code == 403 and "表单已过期" in r.text
    r = await web.post(
        "/admin/places/import", data={"csrf": token}, files={"file": ("", b"", "text/csv")}
    )
    assert r.status_code == 422 and "请选择要上传的文件" in field_error(r.text, "file")
    await web.aclose()


# --- calendar ------------------------------------------------------------------------------


@pytest.fixture
async def own_years(system: System) -> AsyncIterator[None]:
    async def clean() -> None:
        async with system.sessions()() as session, session.begin():
            await session.execute(
                delete(CalendarYear).where(CalendarYear.year.in_((YEAR, BAD_YEAR, PENDING_YEAR)))
            )

    await clean()
    yield
    await clean()


def makeup_day(year: int) -> date:
    """The last weekend day of September: a make-up working day must be a Saturday or Sunday."""
    d = date(year, 9, 30)
    while d.weekday() < 5:
        d -= timedelta(days=1)
    return d


def year_file(year: int) -> bytes:
    return (
        f'{{"year": {year}, "holidays": ["{year}-10-01", "{year}-10-02", "{year}-10-03"], '
        f'"workdays": ["{makeup_day(year)}"], "note": "国办发明电〔2095〕1号"}}'
    ).encode()


async def upload_year(
    web: httpx.AsyncClient, token: str, year: int | str, data: bytes
) -> httpx.Response:
    return await web.post(
        "/admin/calendar",
        data={"csrf": token, "year": str(year)},
        files={"file": (f"{year}.json", data, "application/json")},
    )


async def stored_year(system: System, year: int) -> CalendarYear | None:
    async with system.sessions()() as session:
        return await session.get(CalendarYear, year)


@pytest.mark.usefixtures("own_years")
async def test_calendar_years_and_a_year_as_a_month_grid(system: System) -> None:
    region = await system.make_region()
    web = as_user(system, region.headers["admin"])
    r = await web.get("/admin/calendar")
    assert r.status_code == 200 and 'href="/admin/calendar/2024"' in r.text
    # Only a root administrator loads a year: no form here, and a post is refused in place.
    assert 'data-testid="year-upload"' not in r.text and "只有全国系统管理员可以载入年度" in r.text
    r = await upload_year(web, csrf_of(r.text), YEAR, year_file(YEAR))
    assert r.status_code == 403 and refusal(r.text).startswith("actor-not-allowed: ")
    assert "only an administrator at the root jurisdiction 000000 may load a year" in r.text
    assert await stored_year(system, YEAR) is None

    r = await web.get("/admin/calendar/2024")
    assert r.status_code == 200
    assert 'class="day holiday" data-date="2024-10-01"' in r.text
    assert 'class="day makeup" data-date="2024-09-29"' in r.text
    assert "国庆节" in r.text and "调休上班" in r.text
    assert (await web.get("/admin/calendar/1800")).status_code == 404
    await web.aclose()


@pytest.mark.usefixtures("own_years")
async def test_root_administrator_loads_a_year(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = await login(system, "admin")
    r = await web.get("/admin/calendar")
    assert 'data-testid="year-upload"' in r.text
    token = csrf_of(r.text)

    r = await upload_year(web, token, YEAR, year_file(YEAR))
    assert r.status_code == 200, r.text
    assert 'data-recompute="done"' in r.text
    for day in ("10-01", "10-02", "10-03"):
        assert f'class="day holiday" data-date="{YEAR}-{day}"' in r.text
    assert f'class="day makeup" data-date="{makeup_day(YEAR)}"' in r.text
    row = await stored_year(system, YEAR)
    assert row is not None and row.loaded_by == "admin"

    # Invalid tables are refused in place with the API's words, nothing stored.
    r = await upload_year(web, token, BAD_YEAR, b'{"year": 2097, "holidays": ["2097-02-30"]}')
    assert r.status_code == 422 and "is not a date" in unescape(field_error(r.text, "file"))
    r = await upload_year(web, token, BAD_YEAR, year_file(YEAR))
    assert r.status_code == 422
    assert f"the table is for {YEAR} but the path says {BAD_YEAR}" in field_error(r.text, "year")
    r = await upload_year(web, token, BAD_YEAR, b"{not json")
    assert r.status_code == 422 and "not valid JSON" in field_error(r.text, "file")
    r = await upload_year(web, token, "20x7", year_file(BAD_YEAR))
    assert r.status_code == 422 and field_error(r.text, "year")
    assert await stored_year(system, BAD_YEAR) is None

    # The workflow engine unreachable: stored all the same, the recompute pending (202).
    async def unreachable(*_args: object) -> int:
        raise ConnectionError("temporal is down")

    monkeypatch.setattr(reference_service, "signal_provisional_clocks", unreachable)
    r = await upload_year(web, token, PENDING_YEAR, year_file(PENDING_YEAR))
    assert r.status_code == 202 and 'data-recompute="pending"' in r.text
    assert "工作流引擎暂不可用" in r.text and "yuanzhu calendar recompute" in r.text
    assert await stored_year(system, PENDING_YEAR) is not None
    await web.aclose()


# --- department lists ----------------------------------------------------------------------


async def test_department_upload_shows_line_errors_and_imports_nothing(system: System) -> None:
    region = await system.make_region()
    web = as_user(system, region.headers["admin"])
    kind = "monitoring_target"
    async with kept(system, kind):
        before = await count(system, kind)
        r = await web.get("/admin/department")
        assert r.status_code == 200 and "防返贫监测对象" in r.text
        token = csrf_of(r.text)
        bad = csv_bytes(
            [
                people(1)[0],
                f"{make_id(7)[:-1]}0,人7,2024-01-01,,370702001,JC7",  # wrong check digit
                f"{make_id(8)},人8,2024-02-30,,370702001,JC8",  # no such date
            ]
        )
        r = await web.post(
            "/admin/department",
            data={"csrf": token, "kind": kind},
            files={"file": ("坏名单.csv", bad, "text/csv")},
        )
        assert r.status_code == 422
        assert refusal(r.text).startswith("department-file-invalid: ")
        assert "坏名单.csv 中有 2 处错误，未导入任何记录" in r.text
        rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", r.text)
        assert [(line, col) for line, col, _m in rows] == [("3", "身份证号"), ("4", "开始日期")]
        assert rows[0][2].startswith("身份证号无效") and "不是有效日期" in rows[1][2]
        assert await count(system, kind) == before

        r = await web.post(
            "/admin/department",
            data={"csrf": token, "kind": kind},
            files={"file": ("好名单.csv", csv_bytes(people(3)), "text/csv")},
        )
        assert r.status_code == 303 and re.fullmatch(
            r"/admin/department\?imported=\d+", r.headers["location"]
        )
        r = await web.get(r.headers["location"])
        assert "已导入 好名单.csv：防返贫监测对象 3 条记录" in r.text
        assert "好名单.csv" in r.text and "在用" in r.text
        assert (await count(system, kind))[1] == 3

        r = await web.post(
            "/admin/department",
            data={"csrf": "forged", "kind": kind},
            files={"file": ("好名单.csv", csv_bytes(people(1)), "text/csv")},
        )
        assert r.status_code == 403 and (await count(system, kind))[1] == 3
        r = await web.post(
            "/admin/department",
            data={"csrf": token, "kind": "no_such_list"},
            files={"file": ("x.csv", csv_bytes(people(1)), "text/csv")},
        )
        assert r.status_code == 422 and "请选择名单类别" in field_error(r.text, "kind")
    await web.aclose()


# --- policy packs --------------------------------------------------------------------------


async def test_policy_packs_by_locale_versions_and_diff(system: System) -> None:
    region = await system.make_region()
    web = as_user(system, region.headers["admin"])
    r = await web.get("/admin/packs")
    assert r.status_code == 200
    for pack_id in ("jilin-2022", "weifang-2023", "xinyu-2023", "qingxin-2024", "shandong-2021"):
        assert f'href="/admin/packs/{pack_id}"' in r.text
    assert "吉林省就业困难人员认定帮扶" in r.text

    r = await web.get("/admin/packs/jilin-2022")
    assert r.status_code == 200
    assert "下岗失业人员" in r.text and "认定办结时限" in r.text and "10 个工作日" in r.text
    assert "吉人社发〔2022〕10号" in r.text and "已享受基本养老保险待遇或达到法定退休年龄" in r.text
    assert 'data-testid="materials"' in r.text
    en = await web.get("/admin/packs/jilin-2022?lang=en")
    assert "laid off from a former state-owned (incl. collective) enterprise" in en.text
    assert "Jilin 2022: identification of and assistance to difficulty persons" in en.text

    r = await web.get("/admin/packs/diff", params={"from": "weifang-2023", "to": "jilin-2022"})
    assert r.status_code == 200 and 'data-testid="changes"' in r.text
    assert "<code>id</code>" in r.text and "吉林省" in r.text
    r = await web.get(
        "/admin/packs/diff", params={"from": "jilin-2022@0.1#000000000000", "to": "jilin-2022"}
    )
    assert r.status_code == 404 and "known packs" in r.text
    assert (await web.get("/admin/packs/no-such-pack")).status_code == 404
    await web.aclose()


# --- outbound e-mail -----------------------------------------------------------------------


@pytest.fixture
async def no_setting(system: System) -> AsyncIterator[None]:
    async with system.sessions()() as session, session.begin():
        row = await session.get(AppSetting, SMTP_SETTING)
        saved = (row.value, row.updated_at, row.updated_by) if row else None
        await session.execute(delete(AppSetting).where(AppSetting.key == SMTP_SETTING))
    yield
    async with system.sessions()() as session, session.begin():
        await session.execute(delete(AppSetting).where(AppSetting.key == SMTP_SETTING))
        if saved is not None:
            value, at, by = saved
            session.add(AppSetting(key=SMTP_SETTING, value=value, updated_at=at, updated_by=by))


async def root_admin(system: System, region: Region) -> httpx.AsyncClient:
    """A fresh administrator at the root of the tree (全国 000000), logged in by cookie."""
    async with system.sessions()() as session, session.begin():
        root = await session.scalar(select(Jurisdiction).where(Jurisdiction.code == "000000"))
        assert root is not None
        user = await repos.add_user(
            session,
            username=f"r{region.n}_root",
            display_name="全国管理员",
            password_hash="!",
            role="admin",
            jurisdiction=root,
            now=datetime.now(UTC),
        )
    return as_user(system, system.headers_for(user.id))


@pytest.mark.usefixtures("no_setting")
async def test_outbound_settings_and_test_message(system: System) -> None:
    region = await system.make_region()
    city = as_user(system, region.headers["admin"])
    r = await city.get("/admin/outbound")
    assert r.status_code == 200 and "尚未配置" in r.text and "<fieldset disabled>" in r.text
    settings = {
        "csrf": csrf_of(r.text),
        "enabled": "1",
        "host": "smtp.rsj.example.cn",
        "port": "587",
        "tls": "starttls",
        "sender": "yuanzhu@rsj.example.cn",
        "username": "yuanzhu",
        "password": "s3cret-relay-pw",
    }
    r = await city.post("/admin/outbound", data=settings)
    assert r.status_code == 403 and refusal(r.text).startswith("actor-not-allowed: ")
    await city.aclose()

    web = await root_admin(system, region)
    token = await csrf(web, "/admin/outbound")
    r = await web.post(
        "/admin/outbound", data={**settings, "csrf": token, "port": "x", "sender": "nobody"}
    )
    assert r.status_code == 422
    assert "端口须为1至65535之间的数字" in field_error(r.text, "port")
    assert "s3cret-relay-pw" not in r.text

    r = await web.post("/admin/outbound", data={**settings, "csrf": token, "port": "70000"})
    assert r.status_code == 422 and field_error(r.text, "port")
    r = await web.post("/admin/outbound", data={**settings, "csrf": token})
    assert r.status_code == 303
    r = await web.get(r.headers["location"])
    assert "已保存" in r.text and "已设置（不显示）" in r.text and "s3cret-relay-pw" not in r.text
    assert 'value="smtp.rsj.example.cn"' in r.text
    # Saved again with the password left empty: the stored one is kept.
    r = await web.post(
        "/admin/outbound", data={**settings, "csrf": token, "password": "", "port": "25"}
    )
    assert r.status_code == 303
    r = await web.get("/admin/outbound")
    assert "已设置（不显示）" in r.text and 'value="25"' in r.text

    r = await web.post("/admin/outbound/test", data={"csrf": token, "to": "not an address"})
    assert r.status_code == 422 and "收件人须为电子邮箱地址" in field_error(r.text, "to")
    async with SmtpSink() as sink:
        relay = {
            **settings,
            "csrf": token,
            "host": "127.0.0.1",
            "port": str(sink.port),
            "tls": "none",
        }
        relay.update(username="", password="", clear_password="1")
        assert (await web.post("/admin/outbound", data=relay)).status_code == 303
        r = await web.post("/admin/outbound/test", data={"csrf": token, "to": "wang@example.cn"})
        assert r.status_code == 200 and 'data-testid="test-sent"' in r.text
        assert "wang@example.cn" in r.text
        [message] = sink.messages
        assert message["To"] == "wang@example.cn"
    await web.aclose()


@pytest.mark.usefixtures("no_setting")
async def test_outbound_test_without_a_relay_is_refused_in_place(system: System) -> None:
    region = await system.make_region()
    web = await root_admin(system, region)
    r = await web.post(
        "/admin/outbound/test", data={"csrf": await csrf(web), "to": "wang@example.cn"}
    )
    assert r.status_code == 409 and refusal(r.text).startswith("outbound-not-configured: ")
    assert "尚未配置外发通知" in r.text
    await web.aclose()


# --- my account ----------------------------------------------------------------------------


async def test_my_account_for_any_role(system: System) -> None:
    officer = await login(system, "wf_officer")
    r = await officer.get("/account")
    assert r.status_code == 200
    assert "山东省 / 潍坊市 / 潍城区 / 城关街道" in r.text and "基层经办人员" in r.text
    assert 'class="admin-nav' not in r.text  # the administration sections are not theirs
    await officer.aclose()

    # A user of our own with a known password (the demo users' passwords stay as they are).
    region = await system.make_region()
    admin = as_user(system, region.headers["admin"])
    token = await csrf(admin, "/admin/users/new")
    r = await admin.post(
        "/admin/users",
        data={
            "csrf": token,
            "username": f"r{region.n}_self",
            "display_name": "自己改密码",
            "role": "county_reviewer",
            "jurisdiction_code": region.codes["county_a"],
            "password": PASSWORD,
        },
    )
    assert r.status_code == 303
    await admin.aclose()

    web = await login(system, f"r{region.n}_self", PASSWORD)
    token = await csrf(web)
    new = "Brand-New-Pass-02"
    r = await web.post(
        "/account/password",
        data={
            "csrf": token,
            "current_password": "wrong",
            "new_password": new,
            "new_password2": new,
        },
    )
    assert r.status_code == 422 and "当前密码不正确" in field_error(r.text, "current_password")
    assert "the current password is wrong" in field_error(r.text, "current_password")
    r = await web.post(
        "/account/password",
        data={
            "csrf": token,
            "current_password": PASSWORD,
            "new_password": new,
            "new_password2": "x",
        },
    )
    assert r.status_code == 422 and "两次输入的新密码不一致" in field_error(r.text, "new_password2")
    r = await web.post(
        "/account/password",
        data={
            "csrf": token,
            "current_password": PASSWORD,
            "new_password": "short",
            "new_password2": "short",
        },
    )
    assert r.status_code == 422 and "at least 8 characters" in field_error(r.text, "new_password")
    r = await web.post(
        "/account/password",
        data={
            "csrf": "forged",
            "current_password": PASSWORD,
            "new_password": new,
            "new_password2": new,
        },
    )
    assert r.status_code == 403
    r = await web.post(
        "/account/password",
        data={
            "csrf": token,
            "current_password": PASSWORD,
            "new_password": new,
            "new_password2": new,
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/account?done=password"
    assert "密码已修改" in (await web.get(r.headers["location"])).text
    await web.aclose()
    r = await web_login(client(system), f"r{region.n}_self", new)
    assert r.status_code == 303
