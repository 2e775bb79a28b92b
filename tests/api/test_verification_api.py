"""The district's view of its quarterly verification (定期审验): batches and progress by township
on SQLite and PostgreSQL, read from the task rows (a completion shows at once), and scoped like
everything else — a batch is seen from its district and above, 404 elsewhere."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import update

from store.models import Task
from store.models_verification import VerificationBatch, VerificationItem
from tests.system import Region, System

_years = itertools.count(2101)


async def make_batch(
    system: System, region: Region, district: str = "county_a", tasks: dict[str, int] | None = None
) -> tuple[str, list[str]]:
    """A batch of ``district`` with ``tasks`` open verification tasks per township."""
    tasks = tasks if tasks is not None else {"street_a1": 2, "street_a2": 1}
    period = f"{next(_years)}-01"
    batch_id = f"{region.codes[district]}-{period}"
    now = datetime.now(UTC)
    specs = [
        {"place": place, "kind": "quarterly_verification"}
        for place, n in tasks.items()
        for _ in range(n)
    ]
    ids = await system.insert_tasks(region, specs)
    async with system.sessions()() as session, session.begin():
        townships = [
            {"code": region.codes[p], "name": f"镇{p}", "path": region.paths[p]}
            for p in ("street_a1", "street_a2")
        ]
        townships.append(
            {"code": region.codes[district], "name": "区", "path": region.paths[district]}
        )
        session.add(
            VerificationBatch(
                id=batch_id,
                district_code=region.codes[district],
                district_path=region.paths[district],
                district_name="测试区",
                policy_pack_id="qingxin-2024",
                period=period,
                starts_on=date(2101, 1, 1),
                due_on=date(2101, 1, 31),
                opened_at=now,
                at_risk_at=now + timedelta(days=23),
                due_at=now + timedelta(days=30),
                status="open",
                townships=townships,
                found=len(ids),
                created=len(ids),
                runs=1,
                workflow_id=f"verification-{batch_id}",
                updated_at=now,
            )
        )
        await session.flush()
        for task_id, spec in zip(ids, specs, strict=True):
            session.add(
                VerificationItem(
                    task_id=task_id,
                    batch_id=batch_id,
                    case_id=region.case_id,
                    township_code=region.codes[spec["place"]],
                )
            )
    return batch_id, ids


async def test_progress_by_township(system: System) -> None:
    region = await system.make_region()
    batch_id, ids = await make_batch(system, region)
    reviewer = region.headers["reviewer"]
    r = await system.http.get(f"/api/v1/verification/batches/{batch_id}", headers=reviewer)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["created"], body["completed"], body["left"], body["overdue"]) == (3, 0, 3, False)
    assert [(t["code"], t["created"], t["left"]) for t in body["townships"]] == [
        (region.codes["street_a1"], 2, 2),
        (region.codes["street_a2"], 1, 1),
    ]  # the district office has nobody: not listed
    async with system.sessions()() as session, session.begin():
        await session.execute(update(Task).where(Task.id == ids[0]).values(state="completed"))
        await session.execute(update(Task).where(Task.id == ids[2]).values(state="cancelled"))
        await session.execute(
            update(VerificationBatch)
            .where(VerificationBatch.id == batch_id)
            .values(status="escalated")
        )
    body = (
        await system.http.get(f"/api/v1/verification/batches/{batch_id}", headers=reviewer)
    ).json()
    assert (body["completed"], body["cancelled"], body["left"]) == (1, 1, 1)
    assert body["overdue"] is True and body["status"] == "escalated"
    a1, a2 = body["townships"]
    assert (a1["completed"], a1["left"], a2["cancelled"], a2["left"]) == (1, 1, 1, 0)

    listed = await system.http.get(
        "/api/v1/verification/batches",
        headers=region.headers["supervisor"],
        params={"period": batch_id.split("-", 1)[1]},
    )
    assert listed.status_code == 200, listed.text
    assert [(b["id"], b["left"]) for b in listed.json()["items"]] == [(batch_id, 1)]


async def test_scope(system: System) -> None:
    region = await system.make_region()
    other = await system.make_region()
    batch_id, _ = await make_batch(system, region)
    path = f"/api/v1/verification/batches/{batch_id}"
    for user in ("reviewer", "supervisor", "admin"):  # the district and above
        assert (await system.http.get(path, headers=region.headers[user])).status_code == 200
    for headers in (
        region.headers["officer"],  # a township inside the district: works its tasks only
        region.headers["reviewer_b"],  # the sibling district
        other.headers["admin"],  # another city
    ):
        r = await system.http.get(path, headers=headers)
        assert r.status_code == 404 and r.json()["type"] == "/problems/not-found", r.text
        listed = await system.http.get("/api/v1/verification/batches", headers=headers)
        assert listed.status_code == 200 and batch_id not in listed.text
    r = await system.http.get(
        "/api/v1/verification/batches",
        headers=region.headers["reviewer"],
        params={"district": region.codes["county_b"]},
    )
    assert r.status_code == 404, r.text
    r = await system.http.get(
        "/api/v1/verification/batches",
        headers=region.headers["supervisor"],
        params={"district": region.codes["county_a"]},
    )
    assert batch_id in [b["id"] for b in r.json()["items"]]
    for bad in ("nope", "441803-2026-13", "x" * 41):
        r = await system.http.get(
            f"/api/v1/verification/batches/{bad}", headers=region.headers["admin"]
        )
        assert r.status_code == 404, (bad, r.text)  # a malformed id names no batch
    r = await system.http.get(
        "/api/v1/verification/batches", headers=region.headers["admin"], params={"period": "2026"}
    )
    assert r.status_code == 422
