"""A new region by data alone (#23), through the API as an administrator would do it: load a
pack and its cases (``POST /api/v1/admin/policy-packs``), map places to it (the jurisdiction
import), and an application filed there runs under it — no file in the source tree, no
deploy. A second version is loaded over it: running cases keep the version they pinned, new
ones take the new. Every refusal (a broken rule, cases the pack decides otherwise, the same
version again, an unchanged version number, a pack reaching outside the caller's area, a
non-administrator) names what is wrong and activates nothing.

On a system of its own (a private SQLite database): packs put in force here would change
what the shared system's other tests see."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from application.services.policy_load import ensure_transitions
from domain.assistance import months_after
from domain.policy.authoring import skeleton
from domain.vocabulary import PlaceRef
from store.models import AuditEntry, Case, PolicyPackInForce, Task, User
from store.packs import pack_by_ref, packs_in_force
from tests.assistance_support import start_assistance
from tests.factories import make_id
from tests.system import System
from tests.web.test_task_pages import as_user

PACK_ID = "testland-2026"
PLACES = (
    "code,name,level,parent_code,policy_pack_id\n"
    "460000,测试省,province,000000,testland-2026\n"
    "460100,测试市,city,460000,\n"
    "460105,测试区,county,460100,\n"
    "460105001,测试街道,street,460105,\n"
)


@pytest.fixture
def own(own_system: System) -> System:
    return own_system


def texts(version: str = "1", age: int = 40, effective_from: date | None = None) -> tuple[str, str]:
    pack, cases = skeleton(PACK_ID, region_code="46")
    pack = pack.replace('version = "1"', f'version = "{version}"')
    if effective_from is not None:
        pack = pack.replace(
            f'version = "{version}"',
            f'version = "{version}"\neffective_from = {effective_from.isoformat()}',
        )
    if age != 40:
        pack = pack.replace("gte = 40", f"gte = {age}")
        # The cases move their boundary with the rule.
        year = 2026 - age
        cases = cases.replace("1986-01-01", f"{year}-01-01").replace("1986-01-02", f"{year}-01-02")
    return pack, cases


async def load(
    system: System,
    user: str | dict[str, str],
    pack: str,
    cases: str,
    *,
    dry_run: bool = False,
    name: str = "",
) -> httpx.Response:
    return await system.http.post(
        "/api/v1/admin/policy-packs",
        headers=await system.login(user) if isinstance(user, str) else user,
        files={
            "pack": (name or f"{PACK_ID}.toml", pack.encode(), "application/toml"),
            "cases": (f"{PACK_ID}.toml", cases.encode(), "application/toml"),
        },
        data={"dry_run": "true" if dry_run else "false"},
    )


async def in_force(system: System, on: date | None = None) -> str | None:
    """The revision of the pack on ``on`` (today), as every process reads it."""
    async with system.sessions()() as session:
        pack = (await packs_in_force(session)).find(PACK_ID, on)
        return pack.ref if pack else None


async def apply(system: System) -> dict[str, Any]:
    """An application at the new region's street: a woman of 48 (category met under both
    versions: 40 and 45)."""
    number = make_id(date(1978, 3, 1), region="460105")
    r = await system.http.post(
        "/api/v1/applications",
        json={
            "jurisdiction_code": "460105001",
            "facts": {
                "person": {
                    "name": "测试",
                    "id_number": number,
                    "sex": "female",
                    "able_to_work": True,
                    "willing_to_work": True,
                },
                "residence": {"hukou_region_code": "460105", "urban": True},
                "unemployment": {"registered": True, "registered_on": "2025-10-01"},
            },
        },
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def first_task(system: System, case_id: str) -> Task:
    for _ in range(400):
        async with system.sessions()() as session:
            task = await session.scalar(select(Task).where(Task.case_id == case_id))
            if task is not None:
                return task
        await asyncio.sleep(0.05)
    raise AssertionError(f"no task opened for {case_id}")


async def pinned(system: System, case_id: str) -> str:
    async with system.sessions()() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        return case.policy_pack_ref


async def test_a_new_region_by_data_alone_then_a_second_version(own: System) -> None:
    system = own
    pack, cases = texts()
    # A dry run: checked and shown, nothing loaded.
    preview = await load(system, "admin", pack, cases, dry_run=True)
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["activated"] is False and body["replaces"] is None
    assert body["cases_passed"] == 5 and body["places"] == 0
    assert await in_force(system) is None

    loaded = await load(system, "admin", pack, cases)
    assert loaded.status_code == 201, loaded.text
    v1 = loaded.json()["ref"]
    assert v1.startswith(f"{PACK_ID}@1#") and await in_force(system) == v1
    listed = await system.http.get("/api/v1/policy-packs", headers=await system.login("admin"))
    assert PACK_ID in [p["id"] for p in listed.json()["items"]]

    # Places mapped to it by the administrator's import (which now knows the id).
    imported = await system.http.post(
        "/api/v1/admin/jurisdictions/import",
        headers=await system.login("admin"),
        files={"file": ("places.csv", PLACES.encode(), "text/csv")},
    )
    assert imported.status_code == 200, imported.text

    first = await apply(system)
    assert await pinned(system, first["case_id"]) == v1
    task = await first_task(system, first["case_id"])
    assert task.kind == "acceptance" and task.policy_pack_id == PACK_ID

    # Version 2: the age rises to 45. Shown against v1, then in force; the first case keeps v1.
    pack2, cases2 = texts(version="2", age=45)
    second_load = await load(system, "admin", pack2, cases2)
    assert second_load.status_code == 201, second_load.text
    out = second_load.json()
    assert out["replaces"] == v1 and out["places"] == 1
    assert {c["path"] for c in out["changes"]} == {
        "version",
        "categories[older_unemployed].when.any",
    }
    v2 = out["ref"]
    second = await apply(system)
    assert await pinned(system, second["case_id"]) == v2
    assert await pinned(system, first["case_id"]) == v1
    async with system.sessions()() as session:
        audits = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "policy_pack_loaded")
            )
        ).all()
    assert [(a.object_id, (a.detail or {})["ref"]) for a in audits] == [
        (PACK_ID, v1),
        (PACK_ID, v2),
    ]

    # Version 3 takes effect in a month (施行日期): until then applications are decided under
    # v2, from then under v3; a revision effective before v3's first day is refused.
    later = date.today() + timedelta(days=30)
    pack3, cases3 = texts(version="3", age=45, effective_from=later)
    pack3 = pack3.replace("gte = 50", "gte = 55")
    third = await load(system, "admin", pack3, cases3)
    assert third.status_code == 201, third.text
    assert third.json()["effective_on"] == later.isoformat() and third.json()["replaces"] == v2
    v3 = third.json()["ref"]
    assert await in_force(system) == v2 and await in_force(system, later) == v3
    assert await pinned(system, (await apply(system))["case_id"]) == v2
    earlier = later - timedelta(days=1)
    pack4, cases4 = texts(version="4", age=45, effective_from=earlier)
    refused = await load(system, "admin", pack4, cases4)
    assert refused.status_code == 422
    assert [e["message"] for e in refused.json()["errors"]] == [
        f"{PACK_ID}.toml: effective_from: {earlier.isoformat()} is before "
        f"{later.isoformat()}, when {v3} took effect"
    ]


async def test_refusals_name_the_problem_and_activate_nothing(own: System) -> None:
    system = own
    pack, cases = texts()
    assert (await load(system, "admin", pack, cases)).status_code == 201
    v1 = await in_force(system)

    broken = pack.replace('fact = "person.age"', 'fact = "person.agee"')
    r = await load(system, "admin", broken.replace('version = "1"', 'version = "2"'), cases)
    assert r.status_code == 422 and r.json()["type"].endswith("/policy-pack-invalid")
    assert any("unknown fact path 'person.agee'" in e["message"] for e in r.json()["errors"])
    assert {e["field"] for e in r.json()["errors"]} == {"pack"}

    contradicted = cases.replace('expect = "not_met"', 'expect = "met"', 1)
    r = await load(system, "admin", pack.replace('version = "1"', 'version = "2"'), contradicted)
    assert r.status_code == 422
    assert any(
        e["field"] == "cases"
        and e["message"].startswith(f"cases/{PACK_ID}.toml:")
        and "expected met, got not_met" in e["message"]
        for e in r.json()["errors"]
    ), r.json()["errors"]

    again = await load(system, "admin", pack, cases)
    assert again.status_code == 409 and again.json()["type"].endswith("/policy-pack-unchanged")
    same_version = await load(system, "admin", pack.replace("gte = 50", "gte = 55"), cases)
    assert same_version.status_code == 422
    assert "give the changed pack a new version" in same_version.json()["errors"][0]["message"]

    assert await in_force(system) == v1  # none of those refusals activated anything

    # Back to v1's rules after v2: under a new version, not v1's again.
    pack2, cases2 = texts(version="2", age=45)
    assert (await load(system, "admin", pack2, cases2)).status_code == 201
    back = await load(system, "admin", pack, cases)
    assert back.status_code == 422
    assert "load them under a new version" in back.json()["errors"][0]["message"]
    v2 = await in_force(system)
    assert v2 is not None and v2.startswith(f"{PACK_ID}@2#")

    misnamed = await load(system, "admin", pack, cases, name="other.toml")
    assert misnamed.status_code == 422
    assert [e["message"] for e in misnamed.json()["errors"]] == [
        "other.toml: id: 'testland-2026' does not match the file name"
    ]

    # Only an administrator, and one whose area holds every place the pack applies to:
    # jilin-2022 applies in Jilin, outside a city administrator's area elsewhere.
    jilin = (Path(__file__).parents[2] / "domain/policy/packs/jilin-2022.toml").read_text(
        encoding="utf-8"
    )
    officer = await load(system, "wf_officer", pack, cases)
    assert officer.status_code == 403
    region = await system.make_region()
    outside = await load(system, region.headers["admin"], jilin, cases, name="jilin-2022.toml")
    assert outside.status_code == 403
    assert "outside your jurisdiction" in outside.json()["detail"]
    assert await in_force(system) == v2
    async with system.sessions()() as session:
        loaded = (await session.scalars(select(PolicyPackInForce.pack_id))).all()
    assert set(loaded) == {PACK_ID}  # its two revisions, and no jilin-2022


async def test_a_city_pack_extends_a_loaded_provincial_pack(own: System) -> None:
    """A city's rules over a province's loaded as data (山东 二: the cities set their own): the
    child names the loaded pack in ``extends``, is merged with the revision in force when it
    is loaded, and keeps that merge when the province is revised later."""
    system = own
    pack, cases = texts()
    assert (await load(system, "admin", pack, cases)).status_code == 201
    city = (
        'id = "testcity-2026"\nversion = "1"\nextends = "testland-2026"\n'
        'name = "测试市实施细则"\nname_en = "test city rules"\nregion = "测试市"\n'
        'region_code = "4601"\n'
    )
    child_cases = cases.replace(f'pack = "{PACK_ID}"', 'pack = "testcity-2026"')

    async def load_city(text: str, child: str = child_cases) -> httpx.Response:
        return await system.http.post(
            "/api/v1/admin/policy-packs",
            headers=await system.login("admin"),
            files={
                "pack": ("testcity-2026.toml", text.encode(), "application/toml"),
                "cases": ("testcity-2026.toml", child.encode(), "application/toml"),
            },
        )

    unknown = await load_city(city.replace('extends = "testland-2026"', 'extends = "nowhere"'))
    assert unknown.status_code == 422
    message = unknown.json()["errors"][0]["message"]
    assert "extends: unknown policy pack 'nowhere'" in message and "testland-2026" in message

    loaded = await load_city(city)
    assert loaded.status_code == 201, loaded.text
    assert loaded.json()["ref"].startswith("testcity-2026@1#")
    admin = await system.login("admin")
    outline = (await system.http.get("/api/v1/policy-packs/testcity-2026", headers=admin)).json()
    assert outline["extends"] == PACK_ID and outline["region"] == "测试市"
    assert [c["code"] for c in outline["categories"]] == ["older_unemployed"]  # inherited

    # The province raises the age to 45; the city keeps the rules it was loaded with.
    pack2, cases2 = texts(version="2", age=45)
    assert (await load(system, "admin", pack2, cases2)).status_code == 201
    kept = (await system.http.get("/api/v1/policy-packs/testcity-2026", headers=admin)).json()
    assert kept["ref"] == loaded.json()["ref"]


# --- persons already identified: [transition] (#23) -------------------------------------------

STREET = PlaceRef("460105001", "/000000/460000/460100/460105/460105001/", "street", "测试街道")
CHAIN = [
    STREET,
    PlaceRef("460105", "/000000/460000/460100/460105/", "county", "测试区"),
    PlaceRef("460100", "/000000/460000/460100/", "city", "测试市"),
    PlaceRef("460000", "/000000/460000/", "province", "测试省"),
]
TRANSITION_CLAUSE = "测试省就业援助办法（2026修订）第三十条"


def with_assistance(pack: str, contact_months: int, transition: str | None = None) -> str:
    """The skeleton with a contact check (and a [transition] section, ``transition`` its
    ``assistance`` value)."""
    pack += (
        f'\n[clocks.contact_check]\nvalue = {contact_months}\nunit = "months"\n'
        'source = "测试省就业援助办法 第十条"\nquote = "连续未主动联系"\n'
    )
    if transition is not None:
        pack += (
            f'\n[transition]\nassistance = "{transition}"\nsource = "{TRANSITION_CLAUSE}"\n'
            'quote = "本办法施行前已认定的就业困难人员，按本办法实施就业援助"\n'
        )
    return pack


async def assistance_of(system: System, case_id: str, until: Any, what: str) -> dict[str, Any]:
    headers = await system.login("admin")
    for _ in range(400):
        r = await system.http.get(f"/api/v1/cases/{case_id}/assistance", headers=headers)
        if r.status_code == 200 and until(r.json()):
            return r.json()  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{case_id}: timed out waiting for {what}: {r.text[:800]}")


async def person_in_assistance(system: System, ref: str) -> str:
    """A person identified under the revision ``ref`` at the street, in assistance."""
    async with system.sessions()() as session:
        pack = await pack_by_ref(session, ref)
    case_id, _ = await start_assistance(
        system.sessions(),
        system.env.client,
        system.settings.temporal_task_queue,
        pack_id=PACK_ID,
        pack=pack,
        chain=CHAIN,
        category="older_unemployed",
    )
    return case_id


def months_later(iso: str, months: int) -> str:
    """The day a ``months`` clock from the instant ``iso`` runs out, as the API shows it."""
    start = datetime.fromisoformat(iso)
    return months_after(start, months).isoformat()[:10]


async def test_identified_persons_move_to_a_revisions_assistance_rules_where_it_says_so(
    own: System,
) -> None:
    """v1 with a 6-month contact check; a person in assistance under it. v2 says the persons
    identified move (its clause): loaded, their assistance follows v2's 3 months at once,
    from the same last contact, and the move is on the case's timeline and in the audit. v3
    says nothing of them: nobody moves. A person identified under v1 after v2's move starts
    on v2's rules. A [transition] that is not "move" or "stay", or cites nothing, is refused
    naming file, line and field."""
    system = own
    pack, cases = texts()
    loaded = await load(system, "admin", with_assistance(pack, 6), cases)
    assert loaded.status_code == 201, loaded.text
    assert loaded.json()["transition"] == "stay"
    v1 = loaded.json()["ref"]
    imported = await system.http.post(
        "/api/v1/admin/jurisdictions/import",
        headers=await system.login("admin"),
        files={"file": ("places.csv", PLACES.encode(), "text/csv")},
    )
    assert imported.status_code == 200, imported.text
    first = await person_in_assistance(system, v1)
    a = await assistance_of(system, first, lambda a: True, "the start")
    started = a["started_at"]
    assert a["assistance_pack_ref"] == v1
    assert a["clocks"]["contact_limit_at"][:10] == months_later(started, 6)

    pack2, cases2 = texts(version="2")
    bad = await load(system, "admin", with_assistance(pack2, 3, "go"), cases2)
    assert bad.status_code == 422
    [error] = bad.json()["errors"]
    line = with_assistance(pack2, 3, "go").splitlines().index("[transition]") + 1
    assert error["message"] == (
        f"{PACK_ID}.toml: line {line}: transition.assistance: Input should be 'move' or 'stay'"
    )
    uncited = with_assistance(pack2, 3, "move").replace(f'source = "{TRANSITION_CLAUSE}"\n', "")
    uncited = uncited.replace(
        'quote = "本办法施行前已认定的就业困难人员，按本办法实施就业援助"\n', ""
    )
    r = await load(system, "admin", uncited, cases2)
    assert r.status_code == 422
    assert "transition: every rule needs a `source` clause" in r.json()["errors"][0]["message"]
    assert await in_force(system) == v1

    preview = await load(system, "admin", with_assistance(pack2, 3, "move"), cases2, dry_run=True)
    assert preview.status_code == 200
    assert preview.json()["transition"] == "move" and preview.json()["transition_status"] is None
    outline = (
        await system.http.get(
            f"/api/v1/policy-packs/{PACK_ID}", headers=await system.login("admin")
        )
    ).json()
    assert outline["transition"] is None  # v1 says nothing of it
    moving = await load(system, "admin", with_assistance(pack2, 3, "move"), cases2)
    assert moving.status_code == 201, moving.text
    body = moving.json()
    assert body["transition"] == "move" and body["transition_source"] == TRANSITION_CLAUSE
    assert body["transition_status"] == "started"
    v2 = body["ref"]
    outline = (
        await system.http.get(
            f"/api/v1/policy-packs/{PACK_ID}", headers=await system.login("admin")
        )
    ).json()
    assert outline["transition"]["assistance"] == "move"
    assert outline["transition"]["citation"] == TRANSITION_CLAUSE

    a = await assistance_of(system, first, lambda a: a["assistance_pack_ref"] == v2, "the move")
    assert a["policy_pack_ref"] == v1
    assert a["clocks"]["contact_limit_at"][:10] == months_later(started, 3)
    [move] = a["rule_moves"]
    assert (move["from_ref"], move["to_ref"], move["clause"]) == (v1, v2, TRANSITION_CLAUSE)
    assert move["effective_on"] == body["effective_on"]
    case = (
        await system.http.get(f"/api/v1/cases/{first}", headers=await system.login("admin"))
    ).json()
    [entry] = [e for e in case["timeline"] if e["kind"] == "assistance_rules"]
    assert TRANSITION_CLAUSE in entry["summary"]
    # The case page names the revision that governs the assistance (its decision stays v1's).
    async with system.sessions()() as session:
        admin_id = await session.scalar(select(User.id).where(User.username == "admin"))
    assert admin_id is not None
    async with as_user(system, admin_id) as web:
        page = (await web.get(f"/cases/{first}")).text
    governing = page.split('data-testid="assistance-revision">')[1].split("</p>")[0]
    assert "版本 2" in governing and TRANSITION_CLAUSE in governing, governing
    for _ in range(400):  # the transition's audit entry is written as it ends
        async with system.sessions()() as session:
            audit = await session.scalar(
                select(AuditEntry).where(AuditEntry.action == "policy_pack_transition")
            )
        if audit is not None:
            break
        await asyncio.sleep(0.05)
    assert audit is not None and (audit.detail or {})["ref"] == v2
    assert (audit.detail or {})["assistances_told"] == 1

    # v3 says nothing of the persons identified: no transition, everyone stays where they are.
    pack3, cases3 = texts(version="3")
    stay = await load(system, "admin", with_assistance(pack3, 2), cases3)
    assert stay.status_code == 201, stay.text
    assert stay.json()["transition"] == "stay" and stay.json()["transition_status"] is None
    with pytest.raises(RPCError):
        await system.env.client.get_workflow_handle(
            f"policy-transition-{stay.json()['ref']}"
        ).describe()

    # A person identified under v1 from now on starts on v2's rules (v3 stays).
    later = await person_in_assistance(system, v1)
    b = await assistance_of(system, later, lambda a: True, "the later start")
    assert b["assistance_pack_ref"] == v2 and b["policy_pack_ref"] == v1
    assert b["clocks"]["contact_limit_at"][:10] == months_later(b["started_at"], 3)
    assert [m["to_ref"] for m in b["rule_moves"]] == [v2]
    a = await assistance_of(system, first, lambda a: True, "the first person")
    assert a["assistance_pack_ref"] == v2

    # The worker's check when it starts: v2's move is found done, not begun again; v1 (a new
    # region's first) and v3 (stay) move nobody.
    transition = system.env.client.get_workflow_handle(f"policy-transition-{v2}")
    assert await transition.result() == 1  # one assistance told
    done = await transition.describe()
    assert done.status == WorkflowExecutionStatus.COMPLETED
    moves = await ensure_transitions(
        system.env.client, system.settings.temporal_task_queue, system.sessions()
    )
    assert moves == [v2]
    assert (await transition.describe()).run_id == done.run_id
