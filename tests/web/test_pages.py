"""The web pages without a browser: an officer logs in, finds the task in the inbox, completes
it through the task's own form (CSRF-protected), and reads the case page. Browser tests come
with the web issue."""

from __future__ import annotations

import re

import httpx

from tests.factories import application
from tests.system import System, web_login
from worker.demo import DEMO_PASSWORD


async def login(system: System, user: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=system.http._transport, base_url="http://test")
    r = await web_login(client, user, DEMO_PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/inbox"
    assert "httponly" in r.headers["set-cookie"].lower()
    return client


async def test_wrong_password_stays_on_the_login_page(system: System) -> None:
    r = await web_login(system.http, "wf_reviewer", "nope")
    assert r.status_code == 401 and "用户名或密码错误" in r.text


async def test_officer_completes_a_task_in_the_browser_flow(system: System) -> None:
    r = await system.http.post("/api/v1/applications", json=application(name="王秀兰"))
    case_id = r.json()["case_id"]
    task = await system.wait_for_task("wf_reviewer", case_id, "immediate_conclusion")
    web = await login(system, "wf_reviewer")
    inbox = await web.get("/inbox")
    assert inbox.status_code == 200 and "王秀兰" in inbox.text and "审核认定" in inbox.text
    assert task["id"] in inbox.text

    page = await web.get(f"/tasks/{task['id']}")
    assert page.status_code == 200 and "认定类别" in page.text and "older_unemployed" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]

    # A forged post without the session's CSRF token is refused in place.
    bad = await web.post(
        f"/tasks/{task['id']}", data={"csrf": "x", "idempotency_key": key, "outcome": "approve"}
    )
    assert bad.status_code == 403 and "表单已过期" in bad.text
    # Missing the category: the workflow's message is shown on the form.
    missing = await web.post(
        f"/tasks/{task['id']}", data={"csrf": csrf, "idempotency_key": key, "outcome": "approve"}
    )
    assert missing.status_code == 422 and "category" in missing.text
    done = await web.post(
        f"/tasks/{task['id']}",
        data={
            "csrf": csrf,
            "idempotency_key": key + "-2",
            "outcome": "approve",
            "f_category": "older_unemployed",
        },
    )
    assert done.status_code == 303
    handle = system.env.client.get_workflow_handle(f"identification-{case_id}")
    assert await handle.result() == "identified"
    case = await web.get(f"/cases/{case_id}")
    assert case.status_code == 200 and "已认定" in case.text and "办理过程" in case.text
    await web.aclose()


async def test_out_of_scope_pages_say_not_found(system: System) -> None:
    r = await system.http.post("/api/v1/applications", json=application())
    case_id = r.json()["case_id"]
    task = await system.wait_for_task("wf_reviewer", case_id, "immediate_conclusion")
    web = await login(system, "jl_officer")
    assert (await web.get(f"/tasks/{task['id']}")).status_code == 404
    assert (await web.get(f"/cases/{case_id}")).status_code == 404
    await web.aclose()
