"""The case's materials on the officer's task page, on SQLite and PostgreSQL: each evidence item
with its files (an image's preview opening the file, a PDF's link), the 合格 / 不合格 form that
records the judgement through the API's service (a rejection without its reason answered
beside the file, nothing recorded), in Chinese and in English."""

from __future__ import annotations

import html

from tests.materials_support import jpeg, pdf
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
    assert f'href="{paper["file_url"]}"' in page and "查看 PDF" in page
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
