"""Zero-employment household pages (零就业家庭): an officer registers a household from the form
(a household that does not qualify is refused with the conditions named, a bad ID number beside
its row), sees it in the list with its days left, opens it (members masked) and its plan and
clearance tasks render usable forms with the household beside them; recording a member
employed from the household page clears it; the supervisor's dashboard shows the households
section; English pages translate."""

from __future__ import annotations

import asyncio
from datetime import date
from html import unescape

from tests.api.test_households_api import days_until, household, region_with, wrong_check_digit
from tests.factories import make_id
from tests.system import System
from tests.web.test_dashboard_pages import Page, client
from tests.web.test_task_pages import hidden


def member_fields(i: int, name: str, number: str, *flags: str) -> dict[str, str]:
    data = {f"m{i}_name": name, f"m{i}_id_number": number}
    for f in ("able_to_work", "willing_to_work", *flags):
        data[f"m{i}_{f}"] = "1"
    return data


async def test_register_read_and_clear_from_the_pages(system: System) -> None:
    region = await region_with(system, "weifang-2023")
    a, b = make_id(birth=date(1981, 4, 4)), make_id(birth=date(1984, 8, 8), female=False)
    async with client(system, region, "officer") as web:
        r = await web.get("/households/new")
        assert r.status_code == 200, r.text
        csrf = hidden(r.text, "csrf")
        base = {"csrf": csrf, "jurisdiction": region.codes["street_a1"], "residence": "urban"}

        # An employed member: refused with the condition named.
        r = await web.post(
            "/households/new",
            data={
                **base,
                **member_fields(0, "赵一", a, "head"),
                **member_fields(1, "赵二", b, "employed"),
            },
        )
        assert r.status_code == 422 and "有家庭成员已就业" in unescape(r.text), r.text
        assert 'data-testid="reasons"' in r.text
        # A bad ID number: the message beside its row.
        r = await web.post(
            "/households/new", data={**base, **member_fields(0, "赵一", wrong_check_digit(a))}
        )
        assert r.status_code == 422 and 'data-testid="error-m0_id_number"' in r.text
        # No CSRF: refused.
        r = await web.post("/households/new", data={**member_fields(0, "赵一", a)})
        assert r.status_code == 403

        r = await web.post(
            "/households/new",
            data={**base, **member_fields(0, "赵一", a, "head"), **member_fields(1, "赵二", b)},
        )
        assert r.status_code == 303, r.text
        url = r.headers["location"].split("?")[0]
        household_id = int(url.rsplit("/", 1)[1])
        h = await household(
            system,
            region,
            household_id,
            lambda h: len(h["open_tasks"]) >= 2 and bool(h["deadline_at"]),
        )

        page = (await web.get(url)).text
        assert "赵一" in page and a not in page and a[-4:] in page
        assert 'data-testid="employment-form"' in page
        assert f'data-days="{days_until(h["deadline_at"])}"' in page, page

        listing = (await web.get("/households")).text
        assert f'href="/households/{household_id}"' in listing and a not in listing

        # The plan and clearance tasks render their forms with the household beside them.
        h = await household(system, region, household_id)
        tasks = {t["kind"]: t["id"] for t in h["open_tasks"]}
        plan = (await web.get(f"/tasks/{tasks['household_plan']}")).text
        assert 'data-testid="household-task"' in plan and 'name="f_measures"' in plan
        assert "公益性岗位安置" in plan and 'type="checkbox"' in plan
        clearance = (await web.get(f"/tasks/{tasks['household_clearance']}")).text
        assert 'name="f_member"' in clearance and "赵二（尾号" in clearance
        assert 'name="f_how"' in clearance

        # English.
        english = (await web.get(f"{url}?lang=en")).text
        assert "Record a member employed" in english and "day(s) left" in english
        await web.get("/households?lang=zh-CN")

        # Record a member employed from the page: cleared.
        page = (await web.get(url)).text
        member_b = h["members"][1]["id"]
        r = await web.post(
            f"{url}/employment",
            data={
                "csrf": hidden(page, "csrf"),
                "idempotency_key": hidden(page, "idempotency_key"),
                "member": str(member_b),
                "how": "flexible_employment",
            },
        )
        assert r.status_code == 303, r.text
        done = await household(system, region, household_id, lambda h: h["status"] == "cleared")
        assert done["clearing_member_id"] == member_b
        page = (await web.get(url)).text
        assert 'data-testid="employment-form"' not in page and "灵活就业" in page

    async with client(system, region, "supervisor") as web:
        r = await web.get("/dashboard")
        assert r.status_code == 200, r.text
        figures = Page(r.text).numbers("households")
        assert figures["total"]["cleared_within"] == 1, figures
        # The one-month target: cleared in time is met; nothing open is missed or pending.
        target = Page(r.text).numbers("households-target")["total"]
        assert target == {"met": 1, "missed": 0, "not_due": 0}, target
        assert 'id="households"' in r.text


async def test_other_roles_and_places(system: System) -> None:
    region = await region_with(system, "weifang-2023")
    async with client(system, region, "supervisor") as web:
        assert (await web.get("/households/new")).status_code == 403
        assert (await web.get("/households")).status_code == 200
        assert (await web.get("/households/999999999")).status_code == 404
        assert (await web.get("/households/abc")).status_code == 404
    async with client(system, region, "reviewer") as web:
        page = (await web.get("/households")).text
        assert 'data-testid="discovery-form"' in page
        r = await web.post("/households/discovery", data={"csrf": hidden(page, "csrf")})
        assert r.status_code == 303 and "discovered=" in r.headers["location"]
    await asyncio.sleep(0)
