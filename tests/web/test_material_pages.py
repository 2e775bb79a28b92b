"""The case's materials on the officer's task page, on SQLite and PostgreSQL: each evidence item
with its files (an image's preview opening the file, a PDF's first page shown in the page with
the link to the whole file, the link alone said so for a PDF that has no preview), the 合格 /
不合格 form that records the judgement through the API's service (a rejection without its reason
answered beside the file, nothing recorded), in Chinese and in English."""

from __future__ import annotations

import html

from application.services import pre_check as pre_check_service
from store.models import Case
from tests.factories import pre_check_event
from tests.materials_support import jpeg, pdf, unrenderable_pdf
from tests.system import System
from tests.web.test_task_pages import as_user, hidden


async def test_the_task_page_shows_each_item_s_files_and_judges_them(system: System) -> None:
    region = await system.make_region()
    uploaded = []
    for name, data, code in (
        ("身份证.jpg", jpeg(), "id_card"),
        ("户口簿.pdf", pdf(), "household_register_or_residence_permit"),
    ):
        r = await system.http.post(
            f"/api/v1/cases/{region.case_id}/materials",
            headers=region.headers["officer"],
            data={"evidence_code": code},
            files={"file": (name, data, "application/octet-stream")},
        )
        assert r.status_code == 201, r.text
        uploaded.append(r.json())
    photo, paper = uploaded
    [task_id] = await system.insert_tasks(region, [{"name": "材料审查"}])
    web = as_user(system, region.users["officer"])
    page = (await web.get(f"/tasks/{task_id}")).text
    assert 'data-testid="materials"' in page
    assert "居民身份证" in page and "户口簿或居住证" in page
    assert f'src="{photo["preview_url"]}"' in page and f'href="{photo["file_url"]}"' in page
    # The PDF's first page in the page, opening the whole file; no bare link instead.
    assert paper["preview_url"] is not None
    assert f'src="{paper["preview_url"]}"' in page and f'href="{paper["file_url"]}"' in page
    assert 'data-testid="pdf-preview"' in page and "PDF 第 1 页预览" in page
    assert "打开完整 PDF" in page and 'data-testid="no-preview"' not in page
    csrf = hidden(page, "csrf")

    url = f"/tasks/{task_id}/materials/{paper['id']}/judgement"
    r = await web.post(url, data={"csrf": csrf, "verdict": "rejected", "reason": ""})
    assert r.status_code == 422 and "不合格时请填写原因" in r.text
    listed = await system.http.get(
        f"/api/v1/cases/{region.case_id}/materials", headers=region.headers["officer"]
    )
    assert [m["judgement"] for m in listed.json()["items"]] == [None, None]

    r = await web.post(url, data={"csrf": csrf, "verdict": "rejected", "reason": "缺户主页"})
    assert r.status_code == 303
    assert r.headers["location"] == f"/tasks/{task_id}#material-{paper['id']}"
    r = await web.post(
        f"/tasks/{task_id}/materials/{photo['id']}/judgement",
        data={"csrf": csrf, "verdict": "accepted"},
    )
    assert r.status_code == 303
    listed = await system.http.get(
        f"/api/v1/cases/{region.case_id}/materials", headers=region.headers["officer"]
    )
    assert [(m["judgement"], m["judgement_reason"]) for m in listed.json()["items"]] == [
        ("accepted", None),
        ("rejected", "缺户主页"),
    ]
    page = html.unescape((await web.get(f"/tasks/{task_id}")).text)
    assert "不合格：缺户主页" in page
    english = html.unescape((await web.get(f"/tasks/{task_id}?lang=en")).text)
    assert "Material files" in english and "Not acceptable" in english
    # A page's form without its CSRF token changes nothing.
    r = await web.post(url, data={"verdict": "accepted"})
    assert r.status_code in (400, 403)


async def test_a_pdf_without_a_preview_offers_its_link_and_says_so(system: System) -> None:
    """A PDF that could not be rendered (or one handed in before PDFs had previews, which
    reads the same: no preview hash) is still there to open, in Chinese and in English."""
    region = await system.make_region()
    r = await system.http.post(
        f"/api/v1/cases/{region.case_id}/materials",
        headers=region.headers["officer"],
        data={"evidence_code": "id_card"},
        files={"file": ("扫描件.pdf", unrenderable_pdf(), "application/pdf")},
    )
    assert r.status_code == 201, r.text
    paper = r.json()
    assert paper["preview_url"] is None
    [task_id] = await system.insert_tasks(region, [{"name": "材料审查"}])
    web = as_user(system, region.users["officer"])
    page = html.unescape((await web.get(f"/tasks/{task_id}")).text)
    assert 'data-testid="no-preview"' in page and f'href="{paper["file_url"]}"' in page
    assert "查看 PDF" in page and "此 PDF 无法在页面内预览，请打开文件查看" in page
    assert 'data-testid="pdf-preview"' not in page
    english = html.unescape((await web.get(f"/tasks/{task_id}?lang=en")).text)
    assert "Open the PDF" in english and "this PDF has no preview in the page" in english


async def test_an_item_whose_paper_department_data_replaced_says_so(system: System) -> None:
    """Weifang 二(一): the 低保证 is confirmed by the 民政 list, so the officer sees beside the
    item that no paper is needed (with the list and the date of the check) instead of a gap;
    a finding that confirms nothing (not on the 残联 list) replaces nothing, and a paper the
    applicant handed in stays handed in."""
    region = await system.make_region()
    async with system.sessions()() as session, session.begin():
        case = await session.get(Case, region.case_id)
        assert case is not None
        case.facts = {
            "person": {"name": "卢桂英", "able_to_work": True, "willing_to_work": True},
            "household": {"minimum_living_allowance": True},
            "requested_category": "minimum_living_allowance",
            "evidence": ["id_card"],
        }
        case.pre_check = {"eligible": False, "on": "2026-03-02", "lines": []}
        session.add(
            pre_check_event(
                region.case_id,
                {
                    "department_findings": [
                        {
                            "source": "民政部门·最低生活保障对象",
                            "fact": "household.minimum_living_allowance",
                            "value": True,
                            "checked_on": "2026-03-02",
                        },
                        {
                            "source": "残联·残疾人证持证人员",
                            "fact": "person.disability_certificate",
                            "value": False,
                            "checked_on": "2026-03-02",
                        },
                    ],
                    "eligible": False,
                    "evidence_counted": ["id_card"],
                },
            )
        )
    [task_id] = await system.insert_tasks(region, [{"name": "材料审查"}])
    web = as_user(system, region.users["officer"])
    page = html.unescape((await web.get(f"/tasks/{task_id}")).text)
    assert 'data-testid="materials"' in page
    item = page.split('data-testid="evidence-minimum_living_allowance_certificate"')[1]
    item = item.split("</section>")[0]
    assert "<h3>低保证</h3>" in item and 'data-testid="replaced-by-data"' in item
    assert (
        "已通过部门信息共享核验（民政部门·最低生活保障对象，2026-03-02 核查），无需纸质材料" in item
    )
    # Only that item: the ID card was handed in (no file here, nothing to say), the 残联 list
    # does not hold her, the household register is still owed.
    assert page.count('data-testid="replaced-by-data"') == 1
    for code in ("id_card", "disability_certificate", "household_register_or_residence_permit"):
        assert f'data-testid="evidence-{code}"' not in page
    english = html.unescape((await web.get(f"/tasks/{task_id}?lang=en")).text)
    assert (
        "Confirmed through department data sharing (民政部门·最低生活保障对象, checked on "
        "2026-03-02): no paper needed" in english
    )
    assert "minimum-living-allowance certificate" in english


async def test_a_paper_replaced_by_data_sharing_is_found_from_the_stored_assessment(
    system: System,
) -> None:
    """The one home (application/services/pre_check.py) reads the latest pre-check's findings:
    without findings, or with a paper handed in, nothing is replaced."""
    region = await system.make_region()
    facts = {
        "person": {"name": "卢桂英"},
        "requested_category": "minimum_living_allowance",
        "evidence": ["id_card", "minimum_living_allowance_certificate"],
    }
    finding = {
        "source": "民政部门·最低生活保障对象",
        "fact": "household.minimum_living_allowance",
        "value": True,
        "checked_on": "2026-03-02",
    }
    async with system.sessions()() as session, session.begin():
        case = await session.get(Case, region.case_id)
        assert case is not None
        case.facts = facts
        case.pre_check = {"eligible": False, "on": "2026-03-02", "lines": []}
        assert await pre_check_service.papers_replaced(session, case) == {}
        session.add(
            pre_check_event(
                region.case_id,
                {"department_findings": [finding], "evidence_counted": facts["evidence"]},
            )
        )
        await session.flush()
        # The certificate was handed in: it counts as handed in, not as replaced.
        assert await pre_check_service.papers_replaced(session, case) == {}
        case.facts = {**facts, "evidence": ["id_card"]}
        session.add(
            pre_check_event(
                region.case_id,
                {"department_findings": [finding], "evidence_counted": ["id_card"]},
                round_no=2,
            )
        )
        await session.flush()
        replaced = await pre_check_service.papers_replaced(session, case)
        assert list(replaced) == ["minimum_living_allowance_certificate"]
        assert replaced["minimum_living_allowance_certificate"].source == finding["source"]
