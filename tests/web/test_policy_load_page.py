"""The administrator's page for loading a policy pack (``/admin/packs``, #23): choose the pack
and its cases, see them checked and the changes shown (a preview keeps both texts in the page),
then load what was previewed with one more click; a refused pack shows every problem, and a
missing file is said beside its field. On a system of its own: a pack put in force changes
what other tests would see."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from temporalio.service import RPCError

from domain.policy.authoring import skeleton
from tests.system import System, web_login

PACK_ID = "pageland-2026"


def client(system: System) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=system.http._transport, base_url="http://test")


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


def hidden(page: str, name: str) -> str:
    match = re.search(rf'<textarea name="{name}" hidden>(.*?)</textarea>', page, re.S)
    assert match is not None, name
    return html.unescape(match.group(1))


async def test_preview_then_load_what_was_previewed(own_system: System) -> None:
    system = own_system
    web = client(system)
    assert (await web_login(web, "admin")).status_code == 303
    r = await web.get("/admin/packs")
    assert r.status_code == 200 and "载入政策包" in r.text
    token = csrf_of(r.text)
    pack, cases = skeleton(PACK_ID, region_code="45")
    files = {
        "file": (f"{PACK_ID}.toml", pack.encode(), "application/toml"),
        "cases": (f"{PACK_ID}.toml", cases.encode(), "application/toml"),
    }
    r = await web.post("/admin/packs/load", data={"csrf": token, "action": "preview"}, files=files)
    assert r.status_code == 200, r.text
    assert "预览，尚未生效" in r.text and "5 个全部通过" in r.text and "无（新地区）" in r.text
    assert PACK_ID not in r.text.split('data-testid="packs"')[1].split("</table>")[0]
    # Loading what was previewed: the texts come back from the page, no second upload.
    assert hidden(r.text, "pack_text") == pack and hidden(r.text, "cases_text") == cases
    r = await web.post(
        "/admin/packs/load",
        data={
            "csrf": token,
            "action": "load",
            "file_name": f"{PACK_ID}.toml",
            "pack_text": hidden(r.text, "pack_text"),
            "cases_text": hidden(r.text, "cases_text"),
        },
        files={"none": ("", b"", "application/octet-stream")},  # a multipart form, as a page's
    )
    assert r.status_code == 200, r.text
    assert f"已生效：{PACK_ID}@1#" in r.text
    assert f'href="/admin/packs/{PACK_ID}"' in r.text  # listed among the packs in force
    assert (await web.get(f"/admin/packs/{PACK_ID}")).status_code == 200
    await web.aclose()


async def test_refusals_show_every_problem_and_load_nothing(own_system: System) -> None:
    system = own_system
    web = client(system)
    assert (await web_login(web, "admin")).status_code == 303
    token = csrf_of((await web.get("/admin/packs")).text)
    pack, cases = skeleton(PACK_ID, region_code="45")
    broken = pack.replace('fact = "person.age"', 'fact = "person.agee"')
    r = await web.post(
        "/admin/packs/load",
        data={"csrf": token, "action": "preview"},
        files={
            "file": (f"{PACK_ID}.toml", broken.encode(), "application/toml"),
            "cases": (f"{PACK_ID}.toml", cases.encode(), "application/toml"),
        },
    )
    assert r.status_code == 422
    errors = r.text.split('data-testid="load-errors"')[1].split("</table>")[0]
    assert "unknown fact path &#39;person.agee&#39;" in errors
    assert f"{PACK_ID}.toml 未载入" in r.text
    r = await web.post(
        "/admin/packs/load",
        data={"csrf": token, "action": "preview"},
        files={"file": (f"{PACK_ID}.toml", pack.encode(), "application/toml")},
    )
    assert r.status_code == 422 and "请选择该政策包的测试用例文件" in r.text
    forged = await web.post(
        "/admin/packs/load",
        data={"csrf": "forged", "action": "load"},
        files={"file": (f"{PACK_ID}.toml", pack.encode(), "application/toml")},
    )
    assert forged.status_code == 403
    assert PACK_ID not in (await web.get("/admin/packs")).text
    await web.aclose()


async def test_loading_a_revision_that_moves_the_persons_identified_starts_its_move(
    own_system: System,
) -> None:
    """A revision whose [transition] says "move", loaded from the page, starts the workflow
    that tells the running assistances on its first day (its id names the revision); one
    that says nothing starts none."""
    system = own_system
    web = client(system)
    assert (await web_login(web, "admin")).status_code == 303
    token = csrf_of((await web.get("/admin/packs")).text)
    pack, cases = skeleton(PACK_ID, region_code="45")

    said: list[str] = []  # what each load's answer says of the persons identified

    async def load(text: str) -> str:
        r = await web.post(
            "/admin/packs/load",
            data={"csrf": token, "action": "load"},
            files={
                "file": (f"{PACK_ID}.toml", text.encode(), "application/toml"),
                "cases": (f"{PACK_ID}.toml", cases.encode(), "application/toml"),
            },
        )
        assert r.status_code == 200, r.text
        match = re.search(rf"已生效：({PACK_ID}@[^<\s]+)", r.text)
        assert match is not None, r.text
        moved = re.search(r'data-testid="load-transition">([^<]*)<', r.text)
        assert moved is not None
        said.append(html.unescape(moved.group(1)))
        return html.unescape(match.group(1))

    await load(pack)
    moving = await load(
        pack.replace('version = "1"', 'version = "2"')
        + '\n[transition]\nassistance = "move"\nsource = "（文号） 第三十条"\n'
        'quote = "本办法施行前已认定的"\n'
    )
    assert moving.startswith(f"{PACK_ID}@2#")
    handle = system.env.client.get_workflow_handle(f"policy-transition-{moving}")
    assert await handle.result() == 0  # nobody in assistance here yet
    silent = await load(pack.replace('version = "1"', 'version = "3"'))
    with pytest.raises(RPCError):
        await system.env.client.get_workflow_handle(f"policy-transition-{silent}").describe()
    assert said == [
        "无（新地区）",
        "自施行日期起改按本版本的就业援助规定执行（依据 （文号） 第三十条）",
        "继续按原认定时的版本执行",
    ]
    await web.aclose()
