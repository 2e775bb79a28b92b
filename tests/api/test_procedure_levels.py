"""Procedures as data (#23): a pack with four steps at three offices — the community's initial
review, a publicity of at least 7 working days, the street's re-check, the county's
identification — loaded by an administrator, and applications driven through it by the API:
each review level's task opens at its own office and names its stage, the publicity notice
shows exactly what the pack says it shows, the case page's stage map and the 认定表 have a place
for each level, and a refusal at the second level ends the case there, told as its pack says —
until the applicant's request for re-examination (复核申请), which the pack provides within 5
working days of a refusal, has the county identify the person after all; a refusal nobody asks
to re-examine in time stands, and a case whose pack provides none closes with its refusal.

The pack (tests/fixtures/policy/fourstep-2026.toml) is a test pack: it is never packaged. The
test runs its own system on its own time-skipping server: it skips the publicity's working
days, which would move the clock of every other test sharing the session's server."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from application.security import hash_password
from domain.ids import mask_id_number
from domain.labels import label
from infra.temporal_client import DATA_CONVERTER
from store import repos
from store.migrate import upgrade
from store.models import Case, Task
from tests.conftest import make_settings
from tests.factories import application, make_id
from tests.system import System, running_system, web_login
from tests.time_skip import skip
from worker.binaries import find_binary

FIXTURES = Path(__file__).parents[1] / "fixtures" / "policy"
PACK_ID = "fourstep-2026"
COMMUNITY, STREET, COUNTY = "460105001001", "460105001", "460105"
PLACES = (
    "code,name,level,parent_code,policy_pack_id\n"
    "460000,测试省,province,000000,fourstep-2026\n"
    "460100,测试市,city,460000,\n"
    "460105,测试区,county,460100,\n"
    "460105001,测试街道,street,460105,\n"
    "460105001001,测试社区,community,460105001,\n"
)
PASSWORD = "four-step-test-password"
# Who works each level: the community's and the street's grassroots officers, the county's
# reviewer.
USERS = {
    "fs_community": ("grassroots_officer", COMMUNITY),
    "fs_street": ("grassroots_officer", STREET),
    "fs_county": ("county_reviewer", COUNTY),
}


@pytest.fixture
async def own_clock(tmp_path: Path) -> AsyncIterator[System]:
    """The whole system on a private database and its own time-skipping server."""
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'yuanzhu.db'}", tmp_path)
    await asyncio.to_thread(upgrade, settings)
    settings = settings.model_copy(update={"temporal_task_queue": f"four-{tmp_path.name}"})
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=find_binary("temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    try:
        async with running_system(settings, env) as system:
            yield system
    finally:
        await env.shutdown()


async def load_pack(system: System) -> str:
    r = await system.http.post(
        "/api/v1/admin/policy-packs",
        headers=await system.login("admin"),
        files={
            "pack": (f"{PACK_ID}.toml", (FIXTURES / f"{PACK_ID}.toml").read_bytes()),
            "cases": (f"{PACK_ID}.toml", (FIXTURES / "cases" / f"{PACK_ID}.toml").read_bytes()),
        },
        data={"dry_run": "false"},
    )
    assert r.status_code == 201, r.text
    imported = await system.http.post(
        "/api/v1/admin/jurisdictions/import",
        headers=await system.login("admin"),
        files={"file": ("places.csv", PLACES.encode(), "text/csv")},
    )
    assert imported.status_code == 200, imported.text
    async with system.sessions()() as session, session.begin():
        for username, (role, code) in USERS.items():
            place = await repos.get_jurisdiction(session, code)
            assert place is not None
            await repos.add_user(
                session,
                username=username,
                display_name=username,
                password_hash=hash_password(PASSWORD),
                role=role,
                jurisdiction=place,
                now=datetime.now(UTC),
            )
    return str(r.json()["ref"])


async def apply(system: System, name: str) -> tuple[str, str]:
    """A woman of 48 applies at the community."""
    number = make_id(date(1978, 3, 1), region="460105")
    r = await system.http.post(
        "/api/v1/applications",
        json={
            "jurisdiction_code": COMMUNITY,
            "facts": {
                "person": {
                    "name": name,
                    "id_number": number,
                    "sex": "female",
                    "able_to_work": True,
                    "willing_to_work": True,
                },
                "residence": {"hukou_region_code": "460105", "urban": True},
                "unemployment": {"registered": True, "registered_on": "2025-10-01"},
                "requested_category": "older_unemployed",
            },
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["case_id"]), number


async def open_task(system: System, case_id: str, kind: str, n: int = 1) -> Task:
    """The case's ``n``-th task of ``kind`` once it is open (the inbox row is written by an
    activity, so it follows the workflow shortly)."""
    deadline = time.monotonic() + 30
    while True:
        async with system.sessions()() as session:
            tasks = (
                await session.scalars(
                    select(Task).where(Task.case_id == case_id, Task.kind == kind).order_by(Task.id)
                )
            ).all()
        if len(tasks) >= n and tasks[n - 1].state == "open":
            return tasks[n - 1]
        assert time.monotonic() < deadline, f"no open {kind} #{n} for {case_id}"
        await asyncio.sleep(0.05)


async def decide(
    system: System, user: str, task: Task, outcome: str, **fields: Any
) -> httpx.Response:
    headers = await system.login(user, PASSWORD)
    r = await system.http.post(f"/api/v1/tasks/{task.id}/claim", headers=headers)
    if r.status_code != 200:
        return r
    return await system.http.post(
        f"/api/v1/tasks/{task.id}/complete",
        headers=headers,
        json={"outcome": outcome, "fields": fields},
    )


async def case_state(system: System, case_id: str, status: str, *, closed: bool = False) -> Case:
    """The case once its projection has ``status`` (and, with ``closed``, is closed)."""
    deadline = time.monotonic() + 30
    while True:
        async with system.sessions()() as session:
            case = await session.get(Case, case_id)
        if case is not None and case.status == status and (case.closed_at or not closed):
            return case
        assert time.monotonic() < deadline, f"{case_id} never {status}"
        await asyncio.sleep(0.05)


async def web(system: System, user: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=system.http._transport, base_url="http://test")
    r = await web_login(client, user, PASSWORD)
    assert r.status_code == 303, r.text
    return client


async def test_two_review_levels_a_minimum_publicity_and_its_content(own_clock: System) -> None:
    system = own_clock
    ref = await load_pack(system)
    assert ref.startswith(f"{PACK_ID}@1#")
    passed, passed_id = await apply(system, "两级通过")
    refused, _ = await apply(system, "复查不过")
    final, _ = await apply(system, "初审不过")
    upheld, _ = await apply(system, "复核维持")
    # Refused at the community, re-examined at once on request: the county upholds the
    # refusal, told in the pack's document with the re-examination's clause.
    first = await open_task(system, upheld, "initial_review")
    r = await decide(system, "fs_community", first, "refuse", reason="未登记失业")
    assert r.status_code == 200, r.text
    await case_state(system, upheld, "refused")
    # Recorded on the case page, as the officer at the counter does it.
    client = await web(system, "fs_community")
    page = await client.get(f"/cases/{upheld}")
    assert page.status_code == 200 and 'data-testid="reexamination-form"' in page.text
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    empty = await client.post(
        f"/cases/{upheld}/reexamination", data={"csrf": token.group(1), "content": " "}
    )
    assert empty.status_code == 422 and "此项为必填项" in empty.text
    asked = await client.post(
        f"/cases/{upheld}/reexamination",
        data={"csrf": token.group(1), "content": "已于上月登记失业"},
    )
    assert asked.status_code == 303, asked.text
    again = await open_task(system, upheld, "reexamination")
    assert asked.headers["location"] == f"/cases/{upheld}?reexamination={again.id}#actions"
    shown = await client.get(asked.headers["location"])
    assert 'data-testid="reexamination-recorded"' in shown.text
    await client.aclose()
    r = await decide(system, "fs_county", again, "refuse", reason="登记日期晚于申请日")
    assert r.status_code == 200, r.text
    case = await case_state(system, upheld, "refused", closed=True)
    async with system.sessions()() as session:
        notices = await repos.case_notices(session, upheld)
        summaries = [e.summary for e in await repos.case_events(session, upheld)]
    assert case.outcome_reason == "登记日期晚于申请日"
    assert summaries[-1] == "复核：维持不予认定"
    [told] = [n for n in notices if n.title == "复核决定告知书"]
    assert told.kind == "refusal" and told.body["basis"] == "测人社发〔2026〕1号 二(五)"
    assert told.body["reason"] == "登记日期晚于申请日"

    final_review = await open_task(system, final, "initial_review")
    r = await decide(system, "fs_community", final_review, "refuse", reason="不符合条件")
    assert r.status_code == 200, r.text
    # The refusal opens the pack's window for a request for re-examination (5 working days).
    case = await case_state(system, final, "refused")
    assert case.stage == "reexamination_window" and case.closed_at is None
    shown = await system.http.get(
        f"/api/v1/cases/{final}", headers=await system.login("fs_community", PASSWORD)
    )
    position = shown.json()["position"]
    assert position["stage"] == "reexamination_window" and position["stage_name"] == "可申请复核"
    assert [s["state"] for s in position["stages"]] == ["done", *["not_reached"] * 3, "next"]
    # The re-examination is the map's last step, open to the applicant until the window's
    # last day; the page says what the case waits for.
    window = position["stages"][-1]
    assert (window["kind"], window["name"]) == ("reexamination", "复核")
    assert window["open_until"] is not None
    community_page = (await (await web(system, "fs_community")).get(f"/cases/{final}")).text
    assert "申请人可在期限内申请复核" in community_page
    step = community_page.split('data-kind="reexamination"')[1].split("</li>")[0]
    assert 'data-state="next"' in step and "可申请，至" in step

    # 1. The community's initial review: a task at the community, naming its stage.
    for case_id in (passed, refused):
        task = await open_task(system, case_id, "initial_review")
        assert task.jurisdiction_code == COMMUNITY
        assert task.payload["stage_id"] == "community_review"
        assert task.payload["stage"] == "社区初审"
        # The street cannot take the community's task (its role fits, its place does not
        # hold it: the task is the community's own).
        r = await decide(system, "fs_county", task, "approve")
        assert r.status_code in (403, 404), r.text
        r = await decide(system, "fs_community", task, "approve")
        assert r.status_code == 200, r.text

    # 2. The publicity: at least 7 working days, its notice showing what the pack says.
    case = await case_state(system, passed, "in_publicity")
    assert case.stage == "publicity"
    async with system.sessions()() as session:
        events = await repos.case_events(session, passed)
    [started] = [e for e in events if e.kind == "publicity"]
    assert re.fullmatch(r"公示开始（不少于7个工作日，至.+）", started.summary), started.summary
    ends = datetime.fromisoformat(started.after["ends_at"])  # type: ignore[index]
    community = await web(system, "fs_community")
    page = (await community.get("/documents/publicity")).text
    sheet = page.split('data-testid="publicity-sheet"')[1].split("</article>")[0]
    assert "公示期不少于7个工作日" in sheet
    headings = re.findall(r'<th scope="col" data-field="([a-z_]+)">', sheet)
    assert headings == ["name", "masked_id", "category", "place"]  # no period, no sex
    row = sheet.split(f'data-case="{passed}"')[1].split("</tr>")[0]
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
    assert cells[1:] == ["两级通过", mask_id_number(passed_id), "大龄失业人员", "测试社区"]
    assert passed_id not in page

    # Past its last day the community reports (its office closes the publicity).
    await skip(system.env, ends - await system.env.get_current_time() + timedelta(hours=1))
    # Nobody asked within the 5 working days: the refusal stands, and no request is taken now.
    case = await case_state(system, final, "refused", closed=True)
    assert case.closed_at is not None and case.stage == "closed"
    assert case.outcome_reason == "不符合条件"
    async with system.sessions()() as session:
        summaries = [e.summary for e in await repos.case_events(session, final)]
    assert summaries[-1] == "复核申请期满，不予认定"
    late = await system.http.post(
        f"/api/v1/cases/{final}/reexamination",
        headers=await system.login("fs_county", PASSWORD),
        json={"content": "迟到的申请"},
    )
    # (the case's workflow has ended with the refusal: the case is closed)
    assert (late.status_code, late.json()["type"]) == (409, "/problems/case-closed")
    for case_id in (passed, refused):
        report = await open_task(system, case_id, "publicity_report")
        assert report.jurisdiction_code == COMMUNITY
        assert (await decide(system, "fs_community", report, "report")).status_code == 200

    # 3. The street's re-check: a second initial_review task, at the street, its own stage.
    for case_id in (passed, refused):
        recheck = await open_task(system, case_id, "initial_review", n=2)
        assert recheck.jurisdiction_code == STREET
        assert recheck.payload["stage_id"] == "street_recheck"
        assert recheck.payload["stage"] == "街道复查"
        # The community's officer is below the street: not theirs to decide.
        assert (await decide(system, "fs_community", recheck, "approve")).status_code in (
            403,
            404,
        )
        if case_id == refused:
            r = await decide(system, "fs_street", recheck, "refuse", reason="复查发现已就业")
        else:
            r = await decide(system, "fs_street", recheck, "approve")
        assert r.status_code == 200, r.text
    case = await case_state(system, refused, "refused")
    assert case.outcome_reason == "复查发现已就业"
    async with system.sessions()() as session:
        events = await repos.case_events(session, refused)
        notices = await repos.case_notices(session, refused)
    [refusal] = [e for e in events if e.kind == "reexamination_window"]
    assert re.fullmatch(r"街道复查不通过；可申请复核（5个工作日内，至.+）", refusal.summary)
    # The street tells the applicant the reason and basis itself (its refusal's clause).
    [notice] = [n for n in notices if n.kind == "refusal"]
    assert notice.body["basis"] == "测人社发〔2026〕1号 二(三)"
    assert notice.body["stage"] == "街道复查"

    # The applicant asks the county to examine the refusal again (recorded by the county):
    # the county's task, on its own clock; it identifies after all.
    county_headers = await system.login("fs_county", PASSWORD)
    asked = await system.http.post(
        f"/api/v1/cases/{refused}/reexamination",
        headers=county_headers,
        json={"content": "已办理退工，复查所称就业不实"},
    )
    assert asked.status_code == 201, asked.text
    again = await open_task(system, refused, "reexamination")
    assert again.id == asked.json()["task_id"]
    assert again.jurisdiction_code == COUNTY and again.candidate_role == "county_reviewer"
    assert again.payload["source"] == "测人社发〔2026〕1号 二(五)"
    assert again.payload["refused_reason"] == "复查发现已就业"
    assert (again.due_at - again.created_at) >= timedelta(days=7)  # 7 working days
    twice = await system.http.post(
        f"/api/v1/cases/{refused}/reexamination",
        headers=county_headers,
        json={"content": "再次申请"},
    )
    assert (twice.status_code, twice.json()["type"]) == (409, "/problems/not-reexaminable")
    # While the county examines it, the map's last step is current, on the task's clock.
    during = (await system.http.get(f"/api/v1/cases/{refused}", headers=county_headers)).json()
    assert during["position"]["stages"][-1]["state"] == "current"
    assert during["position"]["stage"] == "reexamination"
    assert during["position"]["waiting_on"] == "office"
    assert during["position"]["clock"]["task_id"] == again.id
    r = await decide(system, "fs_county", again, "approve", category="older_unemployed")
    assert r.status_code == 200, r.text
    case = await case_state(system, refused, "identified")
    assert case.category_code == "older_unemployed"
    async with system.sessions()() as session:
        summaries = [e.summary for e in await repos.case_events(session, refused)]
    assert "申请人申请复核：已办理退工，复查所称就业不实" in summaries
    assert "进入复核" in summaries
    # The 认定结果告知书 cites the re-examination's clause and names it, by the county: the
    # decision that identified was the re-examination, not the county's identification stage.
    async with system.sessions()() as session:
        [told] = [
            n for n in await repos.case_notices(session, refused) if n.kind == "identification"
        ]
    assert told.body["stage"] == "复核"
    assert told.body["basis"].endswith("测人社发〔2026〕1号 二(五)")
    assert "二(四)" not in told.body["basis"]

    # 4. The county identifies.
    review = await open_task(system, passed, "review")
    assert review.jurisdiction_code == COUNTY
    r = await decide(system, "fs_county", review, "approve", category="older_unemployed")
    assert r.status_code == 200, r.text
    await case_state(system, passed, "identified")

    # The case, through the API: each stage by its id, in the pack's order, all done.
    detail = (await system.http.get(f"/api/v1/cases/{passed}", headers=county_headers)).json()
    steps = [(s["kind"], s["name"], s["state"]) for s in detail["position"]["stages"]]
    assert steps == [
        ("community_review", "社区初审", "done"),
        ("publicity", "社区公示", "done"),
        ("street_recheck", "街道复查", "done"),
        ("review", "县级认定", "done"),
    ]
    entered = [e["summary"] for e in detail["timeline"] if e["summary"].startswith("进入")]
    assert entered == ["进入社区初审", "进入街道复查", "进入县级认定"]
    # The refused case stopped at the second level: the county's stage never reached.
    other = (await system.http.get(f"/api/v1/cases/{refused}", headers=county_headers)).json()
    assert [s["state"] for s in other["position"]["stages"]] == [
        "done",
        "done",
        "done",
        "not_reached",
        "done",  # identified on re-examination
    ]

    # The 认定表: a box per review level, each with its own words and clause.
    county = await web(system, "fs_county")
    form = (await county.get(f"/documents/cases/{passed}/application")).text
    boxes = form.split('data-testid="opinion"')[1:]
    assert len(boxes) == 3
    assert "社区初审通过。" in boxes[0] and "依据测人社发〔2026〕1号 二(一)" in boxes[0]
    assert "街道复查通过。" in boxes[1] and "依据测人社发〔2026〕1号 二(三)" in boxes[1]
    assert "认定类别：大龄失业人员" in boxes[2]
    # The case page's stage map names each level by the pack's name.
    case_page = (await county.get(f"/cases/{passed}")).text
    stage_map = case_page.split('data-testid="stage-map"')[1].split("</ol>")[0]
    # (a stage known by its kind keeps the catalogue's name; one the pack names, the pack's)
    assert re.findall(r'<span class="step-name">([^<]+)</span>', stage_map) == [
        "社区初审",
        label("stage", "publicity"),
        "街道复查",
        label("stage", "review"),
    ]
    for client in (community, county):
        await client.aclose()

    # A case under a pack that provides no re-examination cannot ask for one.
    body = application("jilin-2022", name="吉林不予")
    jilin = await system.http.post("/api/v1/applications", json=body)
    assert jilin.status_code == 201, jilin.text
    jl_case = jilin.json()["case_id"]
    acceptance = await open_task(system, jl_case, "acceptance")
    headers = await system.login("jl_officer")
    assert (
        await system.http.post(f"/api/v1/tasks/{acceptance.id}/claim", headers=headers)
    ).status_code == 200
    r = await system.http.post(
        f"/api/v1/tasks/{acceptance.id}/complete",
        headers=headers,
        json={"outcome": "accept"},
    )
    assert r.status_code == 200, r.text
    review = await open_task(system, jl_case, "initial_review")
    assert (
        await system.http.post(f"/api/v1/tasks/{review.id}/claim", headers=headers)
    ).status_code == 200
    r = await system.http.post(
        f"/api/v1/tasks/{review.id}/complete",
        headers=headers,
        json={"outcome": "refuse", "fields": {"reason": "不符合条件"}},
    )
    assert r.status_code == 200, r.text
    # Closed with the refusal: no window, the case's workflow ended.
    case = await case_state(system, jl_case, "refused")
    assert case.stage == "closed" and case.closed_at is not None
    none = await system.http.post(
        f"/api/v1/cases/{jl_case}/reexamination", headers=headers, json={"content": "请复核"}
    )
    assert (none.status_code, none.json()["type"]) == (409, "/problems/case-closed")
    jl_page = httpx.AsyncClient(transport=system.http._transport, base_url="http://test")
    assert (await web_login(jl_page, "jl_officer")).status_code == 303
    closed_page = await jl_page.get(f"/cases/{jl_case}")
    assert closed_page.status_code == 200
    assert 'data-testid="reexamination-form"' not in closed_page.text
    await jl_page.aclose()
