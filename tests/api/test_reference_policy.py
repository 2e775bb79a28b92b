"""Policy packs through the API on SQLite and PostgreSQL: the packaged packs, one pack as data
with its clause citations, the versions cases pinned, and the diff between two versions (a pack
id means its current version; a pinned ``id@version#hash12`` comes from
``policy_pack_versions``). Unknown packs and refs are 404 naming the known ones.

The pinned version made here (an older jilin-2022 with a longer identification deadline) is a
row of the shared database; it is deleted again after the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import delete

from domain.policy.loader import list_packs, load_pack, pack_from_json
from domain.policy.model import PolicyPack
from store.models import PolicyPackVersion
from tests.problems import problem
from tests.system import System


def ok(r: httpx.Response) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
async def older_jilin(system: System) -> AsyncIterator[PolicyPack]:
    """A jilin-2022 version a case pinned before the identification deadline became 10
    working days (it was 15 here)."""
    data = load_pack("jilin-2022").model_dump(mode="json")
    data["version"] = "2021.9-test"
    data["clocks"]["identification_deadline"]["value"] = 15
    older = pack_from_json(data)
    async with system.sessions()() as session, session.begin():
        session.add(
            PolicyPackVersion(
                ref=older.ref,
                pack_id=older.id,
                version=older.version,
                content_hash=older.content_hash,
                content=older.to_json(),
                first_used_at=datetime(2021, 9, 1, tzinfo=UTC),
            )
        )
    try:
        yield older
    finally:
        async with system.sessions()() as session, session.begin():
            await session.execute(
                delete(PolicyPackVersion).where(PolicyPackVersion.ref == older.ref)
            )


async def test_list_packs(system: System) -> None:
    region = await system.make_region()
    body = ok(await system.http.get("/api/v1/policy-packs", headers=region.headers["officer"]))
    assert [p["id"] for p in body["items"]] == list_packs()
    jilin = next(p for p in body["items"] if p["id"] == "jilin-2022")
    pack = load_pack("jilin-2022")
    assert jilin == {
        "id": "jilin-2022",
        "name": pack.name,
        "name_en": pack.name_en,
        "region": "吉林省",
        "region_code": pack.region_code,
        "version": pack.version,
        "content_hash": pack.content_hash,
        "ref": pack.ref,
        "issuer": pack.issuer,
        "level": "province",
        "extends": None,
    }
    weifang = next(p for p in body["items"] if p["id"] == "weifang-2023")
    assert weifang["extends"] == "shandong-2021"
    problem(await system.http.get("/api/v1/policy-packs"), 401, "unauthorized")


async def test_a_pack_as_data(system: System) -> None:
    region = await system.make_region()
    officer = region.headers["officer"]
    body = ok(await system.http.get("/api/v1/policy-packs/jilin-2022", headers=officer))
    pack = load_pack("jilin-2022")
    assert body["ref"] == pack.ref and body["content_hash"] == pack.content_hash
    assert body["source"]["number"] == pack.source.number
    older = next(c for c in body["categories"] if c["code"] == "older_unemployed")
    assert older["name"] == "大龄失业人员"
    assert older["citation"] == "吉人社发〔2022〕10号 一(一)2" and older["quote"]
    publicity = next(s for s in body["stages"] if s["kind"] == "publicity")
    assert publicity["working_days"] == 3 and publicity["citation"]
    assert set(publicity["sla"]) >= {"goal", "deadline", "unit", "citation"}
    deadline = next(c for c in body["clocks"] if c["name"] == "identification_deadline")
    assert deadline["values"] == {"value": 10, "unit": "working_days"}
    assert deadline["citation"].startswith("吉人社发〔2022〕10号")
    assert any(r["code"] == "exit_request_or_refusals" for r in body["exit_reasons"])
    assert all(r["citation"] for r in body["exit_reasons"])
    assert body["content"] == pack.to_json()
    assert pack_from_json(body["content"]) == pack

    # An administrator setting is cited as assumed.
    qingxin = ok(await system.http.get("/api/v1/policy-packs/qingxin-2024", headers=officer))
    rules = [*qingxin["stages"], *qingxin["clocks"], *qingxin["categories"]]
    assert any(r["citation"].startswith("assumed: ") or r["assumed"] for r in rules)

    unknown = problem(
        await system.http.get("/api/v1/policy-packs/xx", headers=officer), 404, "not-found"
    )
    assert unknown["known"] == list_packs() and "jilin-2022" in unknown["detail"]
    # A path that cannot name a pack is not found (the app's rule for path parameters).
    for bad in ("Jilin", "a" * 51, "jilin-2022@2022.1"):
        problem(
            await system.http.get(f"/api/v1/policy-packs/{bad}", headers=officer),
            404,
            "not-found",
        )


async def test_versions_and_diff(system: System, older_jilin: PolicyPack) -> None:
    region = await system.make_region()
    officer = region.headers["officer"]
    current = load_pack("jilin-2022")

    versions = ok(
        await system.http.get("/api/v1/policy-packs/jilin-2022/versions", headers=officer)
    )
    assert versions["pack_id"] == "jilin-2022" and versions["current_ref"] == current.ref
    pinned = next(v for v in versions["versions"] if v["ref"] == older_jilin.ref)
    assert pinned["version"] == "2021.9-test" and pinned["current"] is False
    assert pinned["content_hash"] == older_jilin.content_hash
    assert all(
        v["current"] == (v["content_hash"] == current.content_hash) for v in versions["versions"]
    )

    diff = ok(
        await system.http.get(
            "/api/v1/policy-packs/diff",
            headers=officer,
            params={"from": older_jilin.ref, "to": "jilin-2022"},
        )
    )
    assert diff["from_version"]["ref"] == older_jilin.ref
    assert diff["from_version"]["current"] is False
    assert diff["from_version"]["first_used_at"].startswith("2021-09-01")
    assert diff["to_version"] == {
        "ref": current.ref,
        "pack_id": "jilin-2022",
        "version": current.version,
        "content_hash": current.content_hash,
        "current": True,
        "first_used_at": None,
    }
    assert diff["changes"] == [
        {"path": "version", "kind": "changed", "before": "2021.9-test", "after": current.version},
        {
            "path": "clocks.identification_deadline.value",
            "kind": "changed",
            "before": 15,
            "after": 10,
        },
    ]
    # The current ref works as well as the id, and the other way round reverses the change.
    back = ok(
        await system.http.get(
            "/api/v1/policy-packs/diff",
            headers=officer,
            params={"from": current.ref, "to": older_jilin.ref},
        )
    )
    assert back["changes"][1]["before"] == 10 and back["changes"][1]["after"] == 15
    same = ok(
        await system.http.get(
            "/api/v1/policy-packs/diff",
            headers=officer,
            params={"from": "jilin-2022", "to": current.ref},
        )
    )
    assert same["changes"] == []
    across = ok(
        await system.http.get(
            "/api/v1/policy-packs/diff",
            headers=officer,
            params={"from": "shandong-2021", "to": "weifang-2023"},
        )
    )
    assert any(c["path"] == "id" for c in across["changes"])


async def test_unknown_versions_and_refs(system: System, older_jilin: PolicyPack) -> None:
    region = await system.make_region()
    officer = region.headers["officer"]

    async def diff(params: dict[str, str]) -> httpx.Response:
        return await system.http.get("/api/v1/policy-packs/diff", headers=officer, params=params)

    missing = problem(
        await diff({"from": "jilin-2022@2020.1#000000000000", "to": "jilin-2022"}),
        404,
        "not-found",
    )
    assert missing["known"] == list_packs()
    assert older_jilin.ref in missing["versions"] and older_jilin.ref in missing["detail"]
    no_pack = problem(await diff({"from": "jilin-2022", "to": "beijing-2030"}), 404, "not-found")
    assert no_pack["known"] == list_packs() and no_pack["versions"] == []
    problem(await diff({"from": "nobody@1#000000000000", "to": "jilin-2022"}), 404, "not-found")
    for params in (
        {"from": "jilin-2022"},
        {"from": "../jilin-2022", "to": "jilin-2022"},
        {"from": "jilin-2022@1#XYZ", "to": "jilin-2022"},
        {"from": "jilin-2022", "to": "x" * 121},
        {"from": "jilin-2022", "to": "jilin-2022", "base": "jilin-2022"},
    ):
        problem(await diff(params), 422, "validation-error")

    gone = problem(
        await system.http.get("/api/v1/policy-packs/beijing-2030/versions", headers=officer),
        404,
        "not-found",
    )
    assert gone["known"] == list_packs()
    problem(await system.http.get("/api/v1/policy-packs/jilin-2022/versions"), 401, "unauthorized")
