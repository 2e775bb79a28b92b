"""The printable documents without a browser: the application form (认定表) as filled under the
region's own title, with the full ID number and telephone (audited as a full view), the hukou
address and the employment wishes ticked like the categories; the one-time notice of
missing materials and the notice of non-identification with the seed's way to object; Chinese
documents inside a translated toolbar; 404 outside the officer's jurisdiction."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import delete, func, select

from domain.calendar import SHANGHAI
from domain.ids import mask_id_number
from store import repos
from store.models import AuditEntry, Case, Notice, Task, User
from tests.factories import application
from tests.system import System, web_login
from worker.demo import DEMO_PASSWORD


async def login(system: System, user: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=system.http._transport, base_url="http://test")
    r = await web_login(client, user, DEMO_PASSWORD)
    assert r.status_code == 303, r.text
    return client


async def submit(system: System, pack: str, name: str, **facts: Any) -> tuple[str, str]:
    body = application(pack, name=name, **facts)
    person = body["facts"]["person"]
    person.update(ethnicity="朝鲜族", political_status="群众", education="大学专科")
    person.update(marital_status="divorced", phone="13943101234")
    person.update(employment_intentions=["training", "other"], employment_intentions_other="家政")
    body["facts"]["residence"]["hukou_address"] = "吉林省长春市南关区 自由大路 88 号"
    body["facts"]["unemployment"]["employment_card_no"] = "JY-20250101"
    body["facts"]["requested_category"] = "older_unemployed"
    r = await system.http.post("/api/v1/applications", json=body)
    assert r.status_code == 201, r.text
    return r.json()["case_id"], person["id_number"]


async def audits(system: System, username: str, action: str) -> int:
    async with system.sessions()() as session:
        uid = await session.scalar(select(User.id).where(User.username == username))
        n = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.actor_id == uid, AuditEntry.action == action)
        )
        return int(n or 0)


async def notices_of(system: System, case_id: str, timeout: float = 20) -> list[Notice]:
    deadline = time.monotonic() + timeout
    while True:
        async with system.sessions()() as session:
            found = list(await repos.case_notices(session, case_id))
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"no notice for {case_id}")
        await asyncio.sleep(0.05)


async def test_application_form_as_filled(system: System) -> None:
    case_id, id_number = await submit(
        system, "jilin-2022", "金顺姬", evidence=["application_form", "id_card"]
    )
    web = await login(system, "jl_officer")
    before = await audits(system, "jl_officer", "view_case_full")
    r = await web.get(f"/documents/cases/{case_id}/application")
    assert r.status_code == 200, r.text
    page = r.text
    assert "<h1>吉林省就业困难人员申请认定表</h1>" in page  # the pack's name of its form
    # The revision that decides: the document and the version the case pinned.
    revision = page.split('data-testid="policy-revision">')[1].split("</p>")[0]
    assert (
        revision
        == "认定依据：吉人社发〔2022〕10号《关于做好就业困难人员认定帮扶工作的通知》　版本 2022.2"
    )
    assert id_number in page and "金顺姬" in page
    for value in ("朝鲜族", "群众", "大学专科", "离婚", "JY-20250101", "2025-01-01", "女"):
        assert value in page, value
    assert "☑大龄失业人员" in page  # the category applied under
    assert "☐" in page and "下岗失业人员" in page  # the others, unticked
    assert "☑有效的居民身份证" in page and "☐户口簿（或城镇居住证明）" in page
    # 户籍地址 and 联系电话 (in full: this is the audited full view), as on the seed's form.
    assert '<th scope="row">户籍地址</th><td colspan="3" data-testid="hukou-address">' in page
    assert "吉林省长春市南关区 自由大路 88 号" in page
    assert '<th scope="row">联系电话</th><td data-testid="phone">13943101234</td>' in page
    # 就业创业意愿: the seed form's six boxes, the applicant's ticked, 其他 with its words.
    wishes = page.split('data-testid="intentions"')[1].split("</td>")[0]
    for box in (
        "☐就业推荐",
        "☑就业（创业）培训",
        "☐创业服务",
        "☐公益性岗位安置",
        "☐灵活就业（社会保险补贴）",
        "☑其他",
    ):
        assert box in wishes, box
    assert "（家政）" in wishes
    assert "初审意见" in page and "复核认定意见" in page  # the offices' boxes (jilin 二(二)(三))
    assert "长春市 南关区 南岭街道" in page
    assert 'href="/static/print.css"' in page and "no-store" in r.headers["cache-control"]
    assert await audits(system, "jl_officer", "view_case_full") == before + 1

    # Another region's officer, and a visitor, see nothing of it.
    other = await login(system, "wf_officer")
    assert (await other.get(f"/documents/cases/{case_id}/application")).status_code == 404
    visitor = httpx.AsyncClient(transport=system.http._transport, base_url="http://test")
    r = await visitor.get(f"/documents/cases/{case_id}/application")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    for client in (web, other, visitor):
        await client.aclose()


async def test_one_time_notice_of_missing_materials(system: System) -> None:
    # Only the form and the ID card: the household register is missing (jilin 二(一)).
    case_id, id_number = await submit(
        system, "jilin-2022", "朴海英", evidence=["application_form", "id_card"]
    )
    [notice] = await notices_of(system, case_id)
    assert notice.kind == "missing_materials"
    web = await login(system, "jl_officer")
    before = await audits(system, "jl_officer", "download_notice")
    r = await web.get(f"/documents/cases/{case_id}/notices/{notice.id}", params={"lang": "zh-CN"})
    assert r.status_code == 200, r.text
    assert "<h1>一次性告知书（需补充的材料）</h1>" in r.text
    assert "户口簿（或城镇居住证明）" in r.text and "一次性告知" in r.text
    assert mask_id_number(id_number) in r.text and id_number not in r.text
    assert "打印" in r.text and f'href="/cases/{case_id}"' in r.text
    assert await audits(system, "jl_officer", "download_notice") == before + 1

    # The toolbar follows the language; the document stays Chinese.
    english = await web.get(f"/documents/cases/{case_id}/notices/{notice.id}?lang=en")
    assert "Back to the case" in english.text and "Print" in english.text
    assert "一次性告知书" in english.text and "户口簿（或城镇居住证明）" in english.text

    # A notice id of no notice of this case, and another region's officer: 404.
    assert (await web.get(f"/documents/cases/{case_id}/notices/999999999")).status_code == 404
    other = await login(system, "wf_officer")
    assert (await other.get(f"/documents/cases/{case_id}/notices/{notice.id}")).status_code == 404
    await web.aclose()
    await other.aclose()


async def test_refusal_notice_with_reason_and_basis(system: System) -> None:
    case_id, _id = await submit(system, "weifang-2023", "高<b>秀</b>")
    task = await system.wait_for_task("wf_reviewer", case_id, "immediate_conclusion")
    r = await system.http.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=await system.login("wf_reviewer"),
        json={"outcome": "refuse", "fields": {"reason": "已有稳定收入<i>"}},
    )
    assert r.status_code == 200, r.text
    handle = system.env.client.get_workflow_handle(f"identification-{case_id}")
    assert await handle.result() == "refused"
    [notice] = await notices_of(system, case_id)
    web = await login(system, "wf_reviewer")
    page = (await web.get(f"/documents/cases/{case_id}/notices/{notice.id}")).text
    assert "不予认定的理由：已有稳定收入&lt;i&gt;" in page and "高&lt;b&gt;秀&lt;/b&gt;" in page
    assert "潍人社字〔2023〕1号 二(二)" in page  # the clause the refusal rests on
    assert "如对本决定有异议" not in page  # weifang's seed names no way to object
    form = (await web.get(f"/documents/cases/{case_id}/application")).text
    assert "<h1>就业困难人员认定申请表</h1>" in form  # weifang's documents name no form
    assert "不予认定。原因：已有稳定收入&lt;i&gt;" in form
    await web.aclose()


async def test_refusal_notice_says_how_to_object_where_the_seed_does(system: System) -> None:
    case_id, _id = await submit(system, "qingxin-2024", "黄<b>丽</b>")
    # The district's refusal at review is far down the procedure; the notice it serves is
    # stored as the workflow stores it, and the page is what is tested here.
    async with system.sessions()() as session:
        notice = Notice(
            notice_key=f"{case_id}:refusal-review-test",
            case_id=case_id,
            kind="refusal",
            title="《不予认定就业困难人员告知书》",
            body={
                "reason": "在其他单位担任法定代表人",
                "basis": "清新区人社局实施方案(2024) 三(二)",
                "stage": "区级审核",
                "agency": "441803 清新区",
            },
            issued_at=datetime.now(UTC),
        )
        session.add(notice)
        await session.commit()
        notice_id = notice.id
    web = await login(system, "qx_reviewer")
    page = (await web.get(f"/documents/cases/{case_id}/notices/{notice_id}")).text
    assert "<h1>不予认定就业困难人员告知书</h1>" in page
    assert (
        "审核、公示环节有异议经核实、解释后申请人仍不服的，应报区级公共就业服务机构进行处理" in page
    )
    assert "上报处理机构：清新区" in page
    assert "清新区人社局实施方案(2024) 三(二)" in page
    await web.aclose()


async def complete(
    system: System, user: str, case_id: str, kind: str, outcome: str, **extra: Any
) -> None:
    """Claim the case's task of ``kind`` and complete it as ``user`` through the API."""
    task = await system.wait_for_task(user, case_id, kind)
    headers = await system.login(user)
    r = await system.http.post(f"/api/v1/tasks/{task['id']}/claim", headers=headers)
    assert r.status_code == 200, r.text
    r = await system.http.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=headers,
        json={"outcome": outcome, **extra},
    )
    assert r.status_code == 200, r.text


async def in_publicity(system: System, pack: str, name: str) -> tuple[str, str]:
    """A case of ``pack`` accepted, through its initial review and now in publicity."""
    case_id, id_number = await submit(system, pack, name)
    officer = "jl_officer" if pack.startswith("jilin") else "qx_officer"
    await complete(system, officer, case_id, "acceptance", "accept")
    await complete(
        system, officer, case_id, "initial_review", "approve", comment="材料齐全，情况属实"
    )
    deadline = time.monotonic() + 20
    while True:
        async with system.sessions()() as session:
            status = await session.scalar(select(Case.status).where(Case.id == case_id))
        if status == "in_publicity":
            return case_id, id_number
        assert time.monotonic() < deadline, f"{case_id} never reached publicity ({status})"
        await asyncio.sleep(0.05)


async def test_application_form_fills_the_initial_review_opinion(system: System) -> None:
    case_id, _id = await in_publicity(system, "jilin-2022", "初审意见人")
    web = await login(system, "jl_officer")
    page = (await web.get(f"/documents/cases/{case_id}/application")).text
    boxes = page.split('data-testid="opinion"')
    assert len(boxes) == 3  # 初审 and 复核认定 (jilin 二(二)(三))
    initial, review = boxes[1].split("</td>")[0], boxes[2].split("</td>")[0]
    assert "初审通过。备注：材料齐全，情况属实" in initial  # 通过, never 认定, at 初审
    assert "认定" not in initial.split("依据")[0]
    assert "依据吉人社发〔2022〕10号 二(二)" in initial  # the clause the stage applies
    officer = await display_name(system, "jl_officer")
    assert f"经办人：{officer}" in initial
    today = datetime.now(UTC).astimezone(SHANGHAI).date()
    assert f"{today.year}年{today.month}月{today.day}日" in initial
    assert "年　　月　　日" in review  # not decided yet: left for the county's signature
    await web.aclose()


async def display_name(system: System, username: str) -> str:
    async with system.sessions()() as session:
        name = await session.scalar(select(User.display_name).where(User.username == username))
    assert name
    return str(name)


async def test_identification_serves_a_notice_of_identification(system: System) -> None:
    case_id, id_number = await submit(system, "weifang-2023", "认定告知人")
    web = await login(system, "wf_reviewer")
    assert "尚未向申请人送达告知书" in (await web.get(f"/cases/{case_id}")).text
    await complete(
        system,
        "wf_reviewer",
        case_id,
        "immediate_conclusion",
        "approve",
        fields={"category": "older_unemployed"},
        comment="即时办结",
    )
    [notice] = await notices_of(system, case_id)
    assert notice.kind == "identification" and notice.title == "就业困难人员认定结果告知书"
    assert notice.body["category"] == "older_unemployed"

    case_page = (await web.get(f"/cases/{case_id}")).text
    assert "尚未向申请人送达告知书" not in case_page
    assert f"/documents/cases/{case_id}/notices/{notice.id}" in case_page

    page = (await web.get(f"/documents/cases/{case_id}/notices/{notice.id}")).text
    assert "<h1>就业困难人员认定结果告知书</h1>" in page
    category = "女性四十周岁、男性五十周岁以上的人员"  # weifang's name of 大龄失业人员
    assert f"认定为就业困难人员（认定类别：{category}）" in page
    assert mask_id_number(id_number) in page and id_number not in page
    # The basis: the category's clause and the identifying stage's (潍人社字〔2023〕1号).
    basis = page.split("依据：")[1].split("</p>")[0]
    assert basis == "潍人社字〔2023〕1号 一(一)；潍人社字〔2023〕1号 二(二)"
    # The person's rights from the pinned pack: assistance owed and when the status ends.
    assistance = page.split('data-testid="assistance"')[1].split("</ol>")[0]
    assert "公益性岗位托底安置" in assistance  # a service for a situation (…的)
    assert "帮扶率" not in assistance  # an office's target, not the person's right
    assert "零就业家庭" not in assistance  # another target group's
    assert "连续6个月未主动与公共就业人才服务机构联系" in page  # when the status ends
    assert "将取消（退出）您的就业困难人员身份" in page
    assert "潍城区" in page.split('class="signature"')[1]  # the identifying office

    # The 认定表's identification box is filled from the decision, with its clause.
    form = (await web.get(f"/documents/cases/{case_id}/application")).text
    box = form.split('data-testid="opinion"')[1].split("</td>")[0]
    assert f"经审核，符合就业困难人员认定条件，予以认定。认定类别：{category}。" in box
    assert "备注：即时办结" in box and "认定机构：潍城区" in box
    assert "认定类别依据" in box

    # The API's download prints the same notice; another region's officer sees nothing.
    r = await system.http.get(
        f"/api/v1/cases/{case_id}/notices/{notice.id}", headers=await system.login("wf_reviewer")
    )
    assert r.status_code == 200 and f"认定类别：{category}" in r.text
    other = await login(system, "jl_officer")
    assert (await other.get(f"/documents/cases/{case_id}/notices/{notice.id}")).status_code == 404
    await web.aclose()
    await other.aclose()


async def test_publicity_list_masks_ids_and_shows_the_period(system: System) -> None:
    case_id, id_number = await in_publicity(system, "jilin-2022", "公示名单人")
    web = await login(system, "jl_officer")
    before = await audits(system, "jl_officer", "view_publicity_list")
    r = await web.get("/documents/publicity")
    assert r.status_code == 200, r.text
    page = r.text
    assert "no-store" in r.headers["cache-control"]
    row = page.split(f'data-case="{case_id}"')[1].split("</tr>")[0]
    assert "公示名单人" in row and mask_id_number(id_number) in row
    assert id_number not in page  # a list never shows a full ID number
    assert "大龄失业人员" in row
    today = datetime.now(UTC).astimezone(SHANGHAI).date()
    cell = row.split('class="period">')[1].split("</td>")[0]
    first, last = re.sub(r"<[^>]+>", "", cell).split("至")
    assert first == f"{today.year}年{today.month}月{today.day}日"
    async with system.sessions()() as session:
        [event] = [e for e in await repos.case_events(session, case_id) if e.kind == "publicity"]
    ends = datetime.fromisoformat(event.after["ends_at"])  # type: ignore[index]
    last_day = (ends - timedelta(microseconds=1)).astimezone(SHANGHAI).date()
    assert last == f"{last_day.year}年{last_day.month}月{last_day.day}日"  # inclusive
    # The stage's clause and words, the office, where to object.
    assert "吉人社发〔2022〕10号 二(二)" in page and "公示期为3个工作日" in page
    assert "公示期间对公示对象有异议的，可向南岭街道提出。" in page
    # The picker shows the period in use (today, by default).
    assert f'name="from" value="{today.isoformat()}"' in page
    assert f'name="to" value="{today.isoformat()}"' in page
    assert await audits(system, "jl_officer", "view_publicity_list") == before + 1

    # A period that ends before the publicity started: not on the list.
    yesterday = (today - timedelta(days=1)).isoformat()
    earlier = (await web.get("/documents/publicity", params={"to": yesterday})).text
    assert f'data-case="{case_id}"' not in earlier
    # Bad dates: the precise words in place, the dates typed kept, 422.
    bad = await web.get("/documents/publicity", params={"from": "2026-13-01", "to": "x"})
    assert bad.status_code == 422
    assert "请按“年-月-日”填写日期" in bad.text and 'value="2026-13-01"' in bad.text
    reversed_ = await web.get(
        "/documents/publicity", params={"from": today.isoformat(), "to": yesterday}
    )
    assert reversed_.status_code == 422 and "开始日期不能晚于结束日期" in reversed_.text

    # Another region's officer: the place is 404, and their own list does not show the case.
    other = await login(system, "wf_officer")
    assert (
        await other.get("/documents/publicity", params={"place": "220102001"})
    ).status_code == 404
    assert f'data-case="{case_id}"' not in (await other.get("/documents/publicity")).text
    await web.aclose()
    await other.aclose()


async def test_publicity_list_says_where_an_objection_goes(system: System) -> None:
    # qingxin 三(二): an objection the applicant still disputes goes to the district.
    case_id, _id = await in_publicity(system, "qingxin-2024", "清新公示人")
    web = await login(system, "qx_officer")
    page = (await web.get("/documents/publicity")).text
    assert f'data-case="{case_id}"' in page
    assert "报清新区处理（依据清新区人社局实施方案(2024) 三(二)" in page
    assert "公示期为5个工作日" in page
    await web.aclose()


def form_csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


async def test_a_case_identified_before_notices_of_identification_gets_one(
    system: System,
) -> None:
    """Stored data of older versions: an identified case without a notice of identification
    (its notice row removed here to stand for it) offers to issue one, once."""
    case_id, _id = await submit(system, "weifang-2023", "旧案认定人")
    await complete(
        system,
        "wf_reviewer",
        case_id,
        "immediate_conclusion",
        "approve",
        fields={"category": "older_unemployed"},
    )
    [old] = await notices_of(system, case_id)
    async with system.sessions()() as session, session.begin():
        await session.execute(delete(Notice).where(Notice.id == old.id))
    web = await login(system, "wf_reviewer")
    page = (await web.get(f"/cases/{case_id}")).text
    assert "尚未向申请人送达告知书" in page and 'data-testid="issue-identification-notice"' in page
    url = f"/documents/cases/{case_id}/identification-notice"
    r = await web.post(url, data={"csrf": form_csrf(page)})
    assert r.status_code == 303, r.text
    [notice] = await notices_of(system, case_id)
    assert r.headers["location"] == f"/documents/cases/{case_id}/notices/{notice.id}"
    assert notice.kind == "identification" and notice.body["agency"].endswith("潍城区")
    printed = (await web.get(r.headers["location"])).text
    assert "认定为就业困难人员（认定类别：女性四十周岁、男性五十周岁以上的人员）" in printed
    # Once: a second request shows the same notice; the case page no longer offers it.
    again = await web.post(url, data={"csrf": form_csrf(page)})
    assert again.headers["location"] == r.headers["location"]
    assert len(await notices_of(system, case_id)) == 1
    page = (await web.get(f"/cases/{case_id}")).text
    assert 'data-testid="issue-identification-notice"' not in page
    assert "尚未向申请人送达告知书" not in page
    # No CSRF token: refused; another region's officer: 404.
    assert (await web.post(url, data={})).status_code == 403
    other = await login(system, "jl_officer")
    other_page = (await other.get("/cases")).text
    assert (await other.post(url, data={"csrf": form_csrf(other_page)})).status_code == 404
    await web.aclose()
    await other.aclose()


async def test_a_case_not_identified_has_no_notice_of_identification_to_issue(
    system: System,
) -> None:
    case_id, _id = await submit(system, "weifang-2023", "未认定人")
    web = await login(system, "wf_reviewer")
    page = (await web.get(f"/cases/{case_id}")).text
    assert 'data-testid="issue-identification-notice"' not in page
    r = await web.post(
        f"/documents/cases/{case_id}/identification-notice", data={"csrf": form_csrf(page)}
    )
    assert r.status_code == 409 and "案件尚未认定，不能出具认定结果告知书" in r.text
    await web.aclose()


async def test_application_form_fills_every_office_from_the_decisions(system: System) -> None:
    """The 认定表 of a Jilin case decided at both levels: the street's box holds the initial
    review and, after the publicity, its report (jilin 二(二): 公示无异议，签署初步意见); the
    county's box the identification with its office, officer, date and clauses. The decisions
    are stored as the workflow's activities store them (completed task rows)."""
    case_id, _id = await submit(system, "jilin-2022", "两级意见人")
    officer = await user_id(system, "jl_officer")
    reviewer = await user_id(system, "jl_reviewer")
    on = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 2026-03-02 09:00 in Beijing
    decisions = [
        ("initial_review", "approve", {}, "情况属实", officer, on),
        ("publicity_report", "report", {}, "", officer, on + timedelta(days=4)),
        (
            "review",
            "approve",
            {"category": "older_unemployed"},
            "",
            reviewer,
            on + timedelta(days=5, hours=16),  # 2026-03-08 01:00 in Beijing: the next day
        ),
    ]
    async with system.sessions()() as session, session.begin():
        case = await session.get(Case, case_id)
        assert case is not None
        for n, (kind, outcome, fields, comment, by, at) in enumerate(decisions):
            session.add(
                Task(
                    id=f"{case.workflow_id}.{kind}.test{n}",
                    case_id=case_id,
                    workflow_id=case.workflow_id,
                    kind=kind,
                    state="completed",
                    candidate_role="grassroots_officer",
                    jurisdiction_code=case.jurisdiction_code,
                    jurisdiction_path=case.jurisdiction_path,
                    policy_pack_id=case.policy_pack_id,
                    applicant_name=case.applicant_name,
                    id_last4=case.id_last4,
                    created_at=at,
                    at_risk_at=at,
                    due_at=at,
                    deadline_at=at,
                    payload={},
                    outcome={"outcome": outcome, "fields": fields, "comment": comment},
                    completed_by=by,
                    completed_at=at,
                    version=2,
                )
            )
        case.category_code = "older_unemployed"
        case.identified_at = decisions[-1][-1]
        case.identifying_agency = "220102 南关区"
    web = await login(system, "jl_officer")
    page = (await web.get(f"/documents/cases/{case_id}/application")).text
    street, county = (b.split("</td>")[0] for b in page.split('data-testid="opinion"')[1:])
    assert "初审通过。备注：情况属实" in street
    assert "公示期满，签署初步意见并上报。" in street
    assert "2026年3月6日" in street  # the last decision in the box signs it
    assert "依据吉人社发〔2022〕10号 二(二)" in street
    reviewer_name = await display_name(system, "jl_reviewer")
    assert "经审核，符合就业困难人员认定条件，予以认定。认定类别：大龄失业人员。" in county
    assert f"认定机构：南关区　经办人：{reviewer_name}" in county
    assert "2026年3月8日" in county  # Beijing's date, not UTC's 3月7日
    assert "依据吉人社发〔2022〕10号 二(三)" in county
    assert "认定类别依据吉人社发〔2022〕10号 一(一)2" in county
    await web.aclose()


async def user_id(system: System, username: str) -> int:
    async with system.sessions()() as session:
        uid = await session.scalar(select(User.id).where(User.username == username))
    assert uid is not None
    return int(uid)
