"""The officer's task page with the case's papers, in a real browser, in Chinese (#24 item 3):
a Weifang applicant on the 民政 list of 低保 recipients applies without the 低保证 (the pack's
``data_sharing_replaces_paper``); the county reviewer hands in a PDF scan of the household
register at the counter. On the task page the 低保证 says it was confirmed through department
data sharing (the list, the date of the check), with no paper needed, and the PDF shows its
first page in the page (the file opens from it). A screenshot of the materials is kept as a
test artifact (``task-materials-pdf-data-sharing``, ``task-materials-panel``).

Its own system in-process (as the journey test's), so that the department list imported here
is seen by no other test's cases."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.async_api import expect

import store.department_repo as department_repo
from domain.department_data import DepartmentList
from domain.department_import import ImportedRecord
from tests.browser.conftest import artifacts_dir, open_page, screenshot
from tests.browser.test_journey import served
from tests.factories import make_id
from tests.materials_support import scan_pdf
from tests.workflows.scenario import scenario_at

REVIEWER = "wf_reviewer"
NAME = "低保申请人"


async def test_the_task_page_shows_a_pdf_s_first_page_and_the_paper_data_replaced(
    chromium: Any, tmp_path: Path
) -> None:
    id_number = make_id(region="370702")
    async with scenario_at(datetime.now(UTC), tmp_path) as sc, served(sc) as base:
        async with sc.system.sessions()() as session, session.begin():
            await department_repo.replace_list(
                session,
                DepartmentList.MINIMUM_LIVING_ALLOWANCE,
                [
                    ImportedRecord(
                        line=2,
                        list=DepartmentList.MINIMUM_LIVING_ALLOWANCE,
                        id_number=id_number,
                        name=NAME,
                    )
                ],
                file_name="低保名单.csv",
                imported_by="admin",
                now=datetime.now(UTC),
            )
        case_id = await sc.submit(
            "weifang-2023",
            name=NAME,
            id_number=id_number,
            evidence=["id_card"],
            household={"minimum_living_allowance": True},
        )
        task = await sc.task(REVIEWER, case_id, "supplement")
        # The 低保证 is not among what the notice asks for: the 民政 list stood in for it.
        missing = [m["code"] for m in task["payload"]["missing"]]
        assert "minimum_living_allowance_certificate" not in missing
        assert "household_register_or_residence_permit" in missing
        headers = await sc.system.login(REVIEWER)
        scan = scan_pdf(("常住人口登记卡", f"户主：{NAME}", "与户主关系：本人"))
        r = await sc.http.post(
            f"/api/v1/cases/{case_id}/materials",
            headers=headers,
            data={"evidence_code": "household_register_or_residence_permit", "source": "counter"},
            files={"file": ("户口簿.pdf", scan, "application/pdf")},
        )
        assert r.status_code == 201, r.text
        paper = r.json()
        assert paper["preview_url"]

        context, page = await open_page(chromium, base, REVIEWER)
        try:
            await page.goto(f"/tasks/{task['id']}")
            materials = page.get_by_test_id("materials")
            replaced = materials.get_by_test_id("evidence-minimum_living_allowance_certificate")
            await expect(replaced.get_by_test_id("replaced-by-data")).to_contain_text(
                "已通过部门信息共享核验（民政部门·最低生活保障对象"
            )
            await expect(replaced).to_contain_text("无需纸质材料")
            await expect(replaced.get_by_test_id("material")).to_have_count(0)
            register = materials.get_by_test_id("evidence-household_register_or_residence_permit")
            figure = register.get_by_test_id("pdf-preview")
            await expect(figure).to_contain_text("PDF 第 1 页预览")
            image = figure.locator("img.material-preview")
            await image.scroll_into_view_if_needed()
            await expect(image).to_have_js_property("complete", True)
            # The first page as rendered: 480 px high for an A4-like scan.
            assert await image.evaluate("i => i.naturalHeight") == 480
            link = figure.get_by_role("link", name="打开完整 PDF")
            await expect(link).to_have_attribute("href", paper["file_url"])
            await screenshot(page, "task-materials-pdf-data-sharing")
            # The materials panel alone, as the officer reads it.
            await materials.screenshot(path=str(artifacts_dir() / "task-materials-panel.png"))
        finally:
            await context.close()
