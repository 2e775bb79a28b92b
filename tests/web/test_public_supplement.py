"""The online supplement after the one-time notice (#24 items 2 and 3), driven end to end:
an application missing materials → the notice printed with its supplement code (kept only as
a salt, never shown by the API) → ``/supplement`` with the case number, the ID number's last
six and the code → only the missing items, a file for each → the files are the case's (source
``supplement``), the evidence includes them and the workflow moves on to its next task.
Wrong answers get one message whatever was wrong; attempts are limited. A file judged 不合格
makes its item missing again, and the next notice asks for it with the reason."""

from __future__ import annotations

import errno
import re

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from store.files import LocalFileStore
from store.models import Case, Notice, Task
from store.models_materials import CaseMaterial
from tests.factories import application
from tests.materials_support import jpeg, pdf
from tests.system import System, web_login
from tests.web.test_public_form import visitor
from tests.web.test_task_pages import wait_for
from worker.server import create_app
from workflows.contracts import APPLICANT_ROLE, ERR_ACTOR_NOT_ALLOWED, CompleteTaskRequest
from workflows.identification import IdentificationWorkflow

# Only the ID card is handed in and the applicant receives 低保: two materials are missing.
MISSING = {"evidence": ["id_card"], "household": {"minimum_living_allowance": True}}
GENERIC = "案件编号、身份证号码后六位或补正码不正确，或该案件目前无需补充材料。"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the form carries its CSRF token"
    return match.group(1)


async def applied(system: System) -> tuple[str, str]:
    body = application(**MISSING)
    r = await system.http.post("/api/v1/applications", json=body)
    assert r.status_code == 201, r.text
    return r.json()["case_id"], body["facts"]["person"]["id_number"]


async def printed_code(system: System, case_id: str) -> str:
    """The code as the officer prints it on the one-time notice (the API's download)."""
    headers = await system.login("wf_reviewer")
    case = (await system.http.get(f"/api/v1/cases/{case_id}", headers=headers)).json()
    [notice] = [n for n in case["notices"] if n["kind"] == "missing_materials"]
    assert "supplement_salt" not in notice["body"]  # the API never shows what the code is from
    html = (
        await system.http.get(f"/api/v1/cases/{case_id}/notices/{notice['id']}", headers=headers)
    ).text
    match = re.search(r"补正码 <strong>([A-Z2-9]{4}-[A-Z2-9]{4})</strong>", html)
    assert match, "the printed notice carries the supplement code"
    return match.group(1)


async def open_page(client: httpx.AsyncClient, **answers: str) -> httpx.Response:
    csrf = csrf_of((await client.get("/supplement")).text)
    return await client.post("/supplement", data={"csrf": csrf, **answers})


async def missing_codes(system: System, case_id: str) -> list[str]:
    async with system.sessions()() as session:
        task = await session.scalar(
            select(Task).where(
                Task.case_id == case_id, Task.kind == "supplement", Task.state == "open"
            )
        )
    assert task is not None
    return [m["code"] for m in task.payload["missing"]]


async def test_the_applicant_hands_in_what_is_missing_and_the_case_moves_on(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id, id_number = await applied(system)
    await system.wait_for_task("wf_reviewer", case_id, "supplement")
    code = await printed_code(system, case_id)
    missing = await missing_codes(system, case_id)
    assert len(missing) == 2
    client = visitor(system)

    # Any wrong part gets the one message, and nothing of the case.
    for answers in (
        {"case_id": case_id, "id_tail": id_number[-6:], "code": "AAAA-AAAA"},
        {"case_id": case_id, "id_tail": "000000", "code": code},
        {"case_id": "YZ20990101-NOSUCHCS", "id_tail": id_number[-6:], "code": code},
    ):
        r = await open_page(client, **answers)
        assert r.status_code == 422 and GENERIC in r.text
        assert code not in r.text

    # The right three (the code typed loosely) open the list of what is missing, nothing else.
    r = await open_page(
        client,
        case_id=case_id.lower(),
        id_tail=id_number[-6:].lower(),
        code=code.replace("-", " ").lower(),
    )
    assert r.status_code == 303, r.text
    link = r.headers["location"]
    page = await client.get(link)
    assert page.status_code == 200
    listed = page.text.split('data-testid="missing"')[1].split("</ol>")[0]
    assert "低保" in listed
    assert all(f'name="file.{c}"' in listed for c in missing)
    async with system.sessions()() as session:
        case = await session.get(Case, case_id)
    assert case is not None and case.applicant_name not in page.text and id_number not in page.text
    # Another browser cannot use the link.
    assert (await visitor(system).get(link)).status_code == 404

    # The workflow lets the applicant do nothing but hand in: abandoning is the office's.
    async with system.sessions()() as session:
        task = await session.scalar(
            select(Task).where(Task.case_id == case_id, Task.kind == "supplement")
        )
    assert task is not None
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await system.env.client.get_workflow_handle(task.workflow_id).execute_update(
            IdentificationWorkflow.complete_task,
            CompleteTaskRequest(
                task_id=task.id,
                outcome="abandoned",
                actor_id=None,
                actor_name="申请人",
                actor_role=APPLICANT_ROLE,
                actor_jurisdiction_path="",
                fields={"reason": "不办了"},
            ),
        )
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == ERR_ACTOR_NOT_ALLOWED

    # Upload a file for each missing item.
    csrf = csrf_of(page.text)
    files = [
        (f"file.{missing[0]}", ("低保证.jpg", jpeg(), "image/jpeg")),
        (f"file.{missing[1]}", ("证明.pdf", pdf(), "application/pdf")),
    ]
    # The store fails at the second file (the disk full): the page says so, nothing is kept
    # and the task still waits; the same form sent again once the store is back is taken.
    real_put, calls = LocalFileStore._put, []

    def disk_fills(self: LocalFileStore, digest: str, data: bytes) -> None:
        calls.append(digest)
        if len(calls) > 2:  # the photo and its preview go in
            raise OSError(errno.ENOSPC, "No space left on device")
        real_put(self, digest, data)

    monkeypatch.setattr(LocalFileStore, "_put", disk_fills)
    failed = await client.post(link, data={"csrf": csrf}, files=files)
    assert failed.status_code == 503 and "材料文件暂时无法保存，未保存任何内容" in failed.text
    assert 'data-testid="missing"' in failed.text  # the list, to choose the files again
    assert await missing_codes(system, case_id) == missing
    async with system.sessions()() as session:
        held = await session.scalar(
            select(func.count()).select_from(CaseMaterial).where(CaseMaterial.case_id == case_id)
        )
    assert held == 0
    monkeypatch.setattr(LocalFileStore, "_put", real_put)
    done = await client.post(link, data={"csrf": csrf}, files=files)
    assert done.status_code == 200, done.text[:3000]
    assert 'data-testid="supplement-done"' in done.text

    # The case holds the files, its evidence includes the items, and the workflow moved on.
    await system.wait_for_task("wf_reviewer", case_id, "immediate_conclusion")
    async with system.sessions()() as session:
        case = await session.get(Case, case_id)
        rows = (
            await session.scalars(select(CaseMaterial).where(CaseMaterial.case_id == case_id))
        ).all()
        supplement = await session.scalar(
            select(Task).where(Task.case_id == case_id, Task.kind == "supplement")
        )
    assert case is not None and set(missing) <= set(case.facts["evidence"])
    assert sorted(r.evidence_code for r in rows) == sorted(missing)
    assert {(r.source, r.uploaded_by) for r in rows} == {("supplement", None)}
    assert supplement is not None and supplement.state == "completed"
    assert supplement.outcome is not None and supplement.outcome["outcome"] == "supplied"
    # The code opens nothing once the case awaits no materials.
    r = await open_page(client, case_id=case_id, id_tail=id_number[-6:], code=code)
    assert r.status_code == 422 and GENERIC in r.text
    await client.aclose()


async def test_attempts_are_limited(system: System) -> None:
    settings = system.settings.model_copy(
        update={"supplement_limit_per_address": "8/minute", "supplement_limit_per_case": "5/hour"}
    )
    app = create_app(settings, temporal_client=system.env.client)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("10.97.0.1", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            statuses = []
            for _ in range(6):
                r = await open_page(
                    client, case_id="YZ20990101-ABCDEFGH", id_tail="123456", code="AAAA-BBBB"
                )
                statuses.append(r.status_code)
            # Five a case an hour: the sixth attempt on the case number is refused.
            assert statuses == [422] * 5 + [429]
            assert int(r.headers["retry-after"]) > 0
            # Another case from the same address: its own window, until the address's is full.
            statuses = []
            for _ in range(3):
                r = await open_page(
                    client, case_id="YZ20990101-HGFEDCBA", id_tail="123456", code="AAAA-BBBB"
                )
                statuses.append(r.status_code)
            assert statuses == [422, 422, 429]


async def test_a_rejected_item_is_asked_for_again_with_the_reason(system: System) -> None:
    case_id, id_number = await applied(system)
    await system.wait_for_task("wf_reviewer", case_id, "supplement")
    code = await printed_code(system, case_id)
    missing = await missing_codes(system, case_id)
    client = visitor(system)
    r = await open_page(client, case_id=case_id, id_tail=id_number[-6:], code=code)
    link = r.headers["location"]
    csrf = csrf_of((await client.get(link)).text)
    # The ID card, handed in as a file at the counter, is judged 不合格 meanwhile.
    headers = await system.login("wf_reviewer")
    up = await system.http.post(
        f"/api/v1/cases/{case_id}/materials",
        headers=headers,
        data={"evidence_code": "id_card", "source": "counter"},
        files={"file": ("身份证.jpg", jpeg(), "image/jpeg")},
    )
    assert up.status_code == 201, up.text
    judged = await system.http.post(
        f"/api/v1/cases/{case_id}/materials/{up.json()['id']}/judgement",
        headers=headers,
        json={"verdict": "rejected", "reason": "照片模糊，无法辨认"},
    )
    assert judged.status_code == 200, judged.text
    files = [(f"file.{c}", (f"{c}.jpg", jpeg(), "image/jpeg")) for c in missing]
    done = await client.post(link, data={"csrf": csrf}, files=files)
    assert done.status_code == 200, done.text[:2000]

    # The next round's notice asks for the ID card again, with the reason.
    async def second_notice() -> Notice | None:
        async with system.sessions()() as session:
            return await session.scalar(
                select(Notice).where(Notice.notice_key == f"{case_id}/missing-2")
            )

    notice = await wait_for(second_notice, "the second one-time notice")
    [item] = notice.body["items"]
    assert item["code"] == "id_card" and item["rejected_reasons"] == ["照片模糊，无法辨认"]
    html = (
        await system.http.get(f"/api/v1/cases/{case_id}/notices/{notice.id}", headers=headers)
    ).text
    assert "已提交的材料不合格：照片模糊，无法辨认" in html
    assert "已收到的材料" in html and "不合格 1 份" in html
    await client.aclose()
    # The officer's pre-check explanation counts what the assessment counted: the ID card
    # judged 不合格 is missing there too.
    case = (await system.http.get(f"/api/v1/cases/{case_id}", headers=headers)).json()
    [evidence] = [g for g in case["pre_check_explanation"]["groups"] if g["code"] == "evidence"]
    assert "id_card" in [r["code"] for r in evidence["rules"]]  # shown: not met
    assert "id_card" not in [r["code"] for r in evidence["folded"]]

    # The printed 认定表 lists what was received, item by item, with the judgements.
    officer = visitor(system)
    assert (await web_login(officer, "wf_reviewer")).status_code == 303
    form = await officer.get(f"/documents/cases/{case_id}/application")
    assert form.status_code == 200, form.text
    cell = re.search(r'data-testid="received">(.*?)</td>', form.text, re.S)
    assert cell is not None, "the 认定表 has its 收到的材料 row"
    rows = re.findall(r"<li>(.*?)</li>", cell.group(1))
    assert len(rows) == len({*missing, "id_card"}), rows
    assert any("不合格" in row for row in rows), rows
    await officer.aclose()
