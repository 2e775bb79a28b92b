"""The case page and the case search without a browser, on SQLite and PostgreSQL: the page
shows status, stage, timeline (who did what when), deadlines with their SLA states, the
documents and notices with their links, the pinned pack's version, the full ID number (an
audited view) and the workflow link; withdrawal works from the page; the search finds by full
ID number (audited, masked in the list) or by name prefix, filters by status and place, pages
by keyset, and answers a bad ID number beside the field."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from domain.ids import mask_id_number
from store.models import AuditEntry, Case
from tests.factories import application, make_id, pinned_ref
from tests.system import Region, System
from tests.web.test_task_pages import as_user, error_beside, hidden, login, wait_for

# Only the ID card is handed in and the applicant receives 低保: intake serves the one-time
# notice and opens a supplement task (tests/api/test_cases_api.py).
MISSING = {"evidence": ["id_card"], "household": {"minimum_living_allowance": True}}


async def audits(system: System, action: str, object_id: str | None = None) -> list[AuditEntry]:
    async with system.sessions()() as session:
        q = select(AuditEntry).where(AuditEntry.action == action)
        if object_id is not None:
            q = q.where(AuditEntry.object_id == object_id)
        return list((await session.scalars(q)).all())


async def test_case_page_shows_timeline_deadlines_documents_and_full_id(system: System) -> None:
    body = application(name="蒋玉梅", **MISSING)
    number = body["facts"]["person"]["id_number"]
    r = await system.http.post("/api/v1/applications", json=body)
    case_id = r.json()["case_id"]
    supplement = await system.wait_for_task("wf_reviewer", case_id, "supplement")
    web = await login(system, "wf_reviewer")
    before = len(await audits(system, "view_case_full", case_id))
    page = (await web.get(f"/cases/{case_id}")).text
    assert len(await audits(system, "view_case_full", case_id)) == before + 1  # audited
    assert number in page.split('data-testid="id-number"')[1][:80]
    status = page.split('data-testid="case-status"')[1][:300]
    assert "待补充材料" in status and "补充材料" in status
    policy = page.split('data-testid="policy"')[1][:400]
    assert "潍坊市2023年就业援助工作" in policy and "2023.1" in policy and "weifang-2023@" in policy
    assert "/namespaces/" in page and f"identification-{case_id}" in page
    # The open supplement task with its clock, linked.
    deadlines = page.split('data-testid="deadlines"')[1].split("</section>")[0]
    assert f'href="/tasks/{supplement["id"]}"' in deadlines and "补充材料" in deadlines
    assert "sla-on_track" in deadlines and "未领取" in deadlines
    # The one-time notice, with its printable page and its download.
    documents = page.split('data-testid="documents"')[1].split("</section>")[0]
    [notice_id] = re.findall(rf'href="/api/v1/cases/{case_id}/notices/(\d+)"', documents)
    assert f'href="/documents/cases/{case_id}/notices/{notice_id}"' in documents
    assert f'href="/documents/cases/{case_id}/application"' in documents
    assert "一次性告知书" in documents and "低保证" in documents
    # The timeline: the pre-check and the notice, by the system.
    timeline = page.split('data-testid="timeline"')[1].split("</table>")[0]
    assert "一次性告知需补充材料" in timeline and "<td>系统</td>" in timeline

    # The officer decides on the supplement: the timeline says who did what.
    csrf = hidden(page, "csrf")
    task_page = (await web.get(f"/tasks/{supplement['id']}")).text
    r = await web.post(
        f"/tasks/{supplement['id']}",
        data={
            "csrf": csrf,
            "idempotency_key": hidden(task_page, "idempotency_key"),
            "outcome": "commitment",
            "comment": "已签承诺",
        },
    )
    assert r.status_code == 303, r.text

    async def decided() -> str | None:
        text = (await web.get(f"/cases/{case_id}")).text
        # The identification deadline is written by a watcher beside the next stage's task.
        deadline = text.split('data-testid="identification-deadline"')[1][:200]
        ready = "补充材料：签署书面承诺" in text and re.search(r"\d{4}-\d{2}-\d{2}", deadline)
        return text if ready else None

    page = await wait_for(decided, "the decision and the deadline on the page")
    timeline = page.split('data-testid="timeline"')[1].split("</table>")[0]
    row = re.search(
        r"<tr>\s*<td>([^<]+)</td>\s*<td>李审核（潍城区）</td>\s*<td>补充材料：签署书面承诺",
        timeline,
    )
    assert row and re.match(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", row.group(1))
    assert "备注：已签承诺" in timeline
    english = (await web.get(f"/cases/{case_id}?lang=en")).text
    assert "Supplement of materials: Written commitment signed" in english
    await web.get("/cases?lang=zh-CN")

    # Withdrawal from the page: the reason is required; then the case closes as withdrawn.
    withdraw_key = hidden(page.split('data-testid="withdraw-form"')[1], "key")
    r = await web.post(f"/cases/{case_id}/withdraw", data={"csrf": csrf, "key": withdraw_key})
    assert r.status_code == 422 and error_beside(r.text, "reason") == "此项为必填项"
    r = await web.post(
        f"/cases/{case_id}/withdraw",
        data={"csrf": csrf, "key": withdraw_key, "reason": "已找到工作"},
    )
    assert r.status_code == 303 and r.headers["location"].endswith("withdrawn=1#actions")
    handle = system.env.client.get_workflow_handle(f"identification-{case_id}")
    assert await handle.result() == "withdrawn"
    page = (await web.get(f"/cases/{case_id}")).text
    assert "已撤回" in page and 'data-testid="withdraw-form"' not in page
    # An objection outside publicity is refused by the workflow with the API's words.
    r = await web.post(
        f"/cases/{case_id}/objections",
        data={"csrf": csrf, "key": withdraw_key + "x", "content": "有收入", "raised_by": "邻居"},
    )
    assert r.status_code == 409 and 'data-testid="case-alert"' in r.text
    await web.aclose()


async def insert_cases(system: System, region: Region, specs: list[dict[str, object]]) -> list[str]:
    ids: list[str] = []
    now = datetime.now(UTC)
    async with system.sessions()() as session, session.begin():
        for i, spec in enumerate(specs):
            case_id = f"WC{region.n:04d}-{i:04d}"
            number = str(spec.get("id_number") or make_id())
            place = str(spec.get("place", "street_a1"))
            at = now - timedelta(minutes=i)
            session.add(
                Case(
                    id=case_id,
                    workflow_id=f"no-workflow-{case_id}",
                    policy_pack_id="weifang-2023",
                    policy_pack_ref=await pinned_ref(session),
                    jurisdiction_code=region.codes[place],
                    jurisdiction_path=region.paths[place],
                    applicant_name=str(spec.get("name", "申请人")),
                    id_number=number,
                    id_last4=number[-4:],
                    facts={},
                    channel="online",
                    status=str(spec.get("status", "submitted")),
                    category_code=spec.get("category"),  # type: ignore[arg-type]
                    submitted_at=at,
                    updated_at=at,
                )
            )
            ids.append(case_id)
    return ids


def results(page: str) -> list[str]:
    if 'data-testid="case-results"' not in page:
        return []
    table = page.split('data-testid="case-results"')[1].split("</table>")[0]
    return re.findall(r'<td><a href="/cases/([^"]+)">', table)


async def test_case_search_masks_audits_filters_and_pages(system: System) -> None:
    region = await system.make_region()
    number = make_id()
    specs: list[dict[str, object]] = [
        {
            "name": "欧阳明",
            "id_number": number,
            "category": "older_unemployed",
            "status": "identified",
        },
        {"name": "欧阳华", "place": "street_a2"},
        {"name": "司马光", "place": "street_b1"},
    ] + [{"name": f"诸葛{i:02d}"} for i in range(27)]
    ids = await insert_cases(system, region, specs)
    reviewer = as_user(system, region.users["reviewer"])  # county_a: streets a1 and a2

    # By full ID number: the case, its number masked, the lookup audited (last four only).
    page = (await reviewer.get("/cases", params={"id_number": number})).text
    assert results(page) == [ids[0]]
    table = page.split('data-testid="case-results"')[1].split("</table>")[0]
    assert number not in table and mask_id_number(number) in table
    assert "女性四十周岁、男性五十周岁以上的人员" in page and "已认定" in page
    rows = await audits(system, "search_id_number")
    mine = [r for r in rows if r.actor_id == region.users["reviewer"]]
    assert len(mine) == 1 and mine[0].detail == {"id_last4": number[-4:], "case_ids": [ids[0]]}
    # A wrong check digit is said beside the field, with the reason.
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    r = await reviewer.get("/cases", params={"id_number": wrong})
    assert r.status_code == 422 and "校验码" in error_beside(r.text, "id_number")
    assert f'value="{wrong}"' in r.text  # what was typed is kept
    r = await reviewer.get("/cases", params={"name": "a"})
    assert r.status_code == 422 and "至少一个汉字" in error_beside(r.text, "name")

    # By name prefix, within the subtree only; narrowed by place and status.
    assert results((await reviewer.get("/cases", params={"name": "欧阳"})).text) == ids[:2]
    assert results((await reviewer.get("/cases", params={"name": "司马"})).text) == []
    narrowed = await reviewer.get(
        "/cases", params={"name": "欧阳", "place": region.codes["street_a2"]}
    )
    assert results(narrowed.text) == [ids[1]]
    assert results(
        (await reviewer.get("/cases", params={"name": "欧阳", "status": "identified"})).text
    ) == [ids[0]]
    r = await reviewer.get("/cases", params={"place": region.codes["street_b1"]})
    assert r.status_code == 404 and "无效的地区" in error_beside(r.text, "place")
    places = (await reviewer.get("/cases")).text
    assert region.codes["street_a2"] in places and region.codes["street_b1"] not in places

    # Keyset pages of 25, newest first, no repeats, the filters kept.
    first = (await reviewer.get("/cases", params={"name": "诸葛"})).text
    next_url = re.search(r'href="([^"]+)" rel="next"', first)
    assert next_url
    second = (await reviewer.get(next_url.group(1).replace("&amp;", "&"))).text
    assert results(first) + results(second) == ids[3:]
    assert 'rel="next"' not in second and "回到第一页" in second
    bad = await reviewer.get("/cases", params={"cursor": "nonsense"})
    assert bad.status_code == 422
    await reviewer.aclose()
