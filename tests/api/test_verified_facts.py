"""Facts an officer verifies on a decision task (#21 item 2), through the API: each refusal
is a 422 naming ``verified_facts.<path>`` with a stable code, and nothing is recorded; a
completion with verified facts merges them into the case's facts with a timeline entry and an
audit record, re-runs the pre-check, and a repeat of the request records nothing twice."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from store.models import AuditEntry
from tests.factories import application
from tests.system import System

PACK = "jilin-2022"


def _unknown_urban() -> dict[str, Any]:
    """A Jilin application that says nothing of urban residence (城镇户籍或城镇常住)."""
    body = application(PACK)
    del body["facts"]["residence"]["urban"]
    return body


async def _errors(r: Any) -> list[tuple[str, str]]:
    assert r.status_code == 422, r.text
    assert r.json()["type"] == "/problems/validation-error"
    return [(e["field"], e["code"]) for e in r.json()["errors"]]


async def test_verified_facts_refused_precisely_then_recorded_once(system: System) -> None:
    r = await system.http.post("/api/v1/applications", json=_unknown_urban())
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    task = await system.wait_for_task("jl_officer", case_id, "acceptance")
    officer = await system.login("jl_officer")
    url = f"/api/v1/tasks/{task['id']}/complete"

    async def complete(verified: dict[str, Any], key: str | None = None) -> Any:
        headers = officer | ({"Idempotency-Key": key} if key else {})
        return await system.http.post(
            url, headers=headers, json={"outcome": "accept", "verified_facts": verified}
        )

    # Integrators ask the task which facts it lets them verify, and of what type.
    r = await system.http.get(f"/api/v1/tasks/{task['id']}/verifiable-facts", headers=officer)
    assert r.status_code == 200, r.text
    offered = {f["path"]: f for f in r.json()}
    assert offered["residence.urban"]["input"] == "yes_no"
    assert offered["residence.urban"]["label_zh"] == "城镇户籍或城镇常住"
    assert offered["residence.urban"]["verifies"] == "residence.urban"
    assert "person.able_to_work" not in offered

    assert await _errors(await complete({"person.nickname": True})) == [
        ("verified_facts.person.nickname", "unknown_fact")
    ]
    # The counter holds no social-insurance record (受理 cannot verify it), and a fact the
    # application already states is not for verifying.
    assert await _errors(await complete({"residence.local_social_insurance_months": 6})) == [
        ("verified_facts.residence.local_social_insurance_months", "not_verifiable")
    ]
    assert await _errors(await complete({"person.able_to_work": True})) == [
        ("verified_facts.person.able_to_work", "not_verifiable")
    ]
    wrong = await complete({"residence.urban": "maybe"})
    assert await _errors(wrong) == [("verified_facts.residence.urban", "bool_type")]
    assert "verified_facts.residence.urban: must be true or false" in wrong.json()["detail"]
    # Nothing was recorded by the refusals: the task is still open.
    r = await system.http.get(f"/api/v1/tasks/{task['id']}", headers=officer)
    assert r.json()["state"] == "open"

    key = f"verify-{case_id}"
    first = await complete({"residence.urban": True}, key)
    assert first.status_code == 200, first.text
    again = await complete({"residence.urban": True}, key)
    assert (again.status_code, again.json()) == (200, first.json())
    stale = await complete({"residence.urban": True}, f"{key}-2")
    assert stale.status_code == 409

    r = await system.http.get(f"/api/v1/tasks/{task['id']}/verifiable-facts", headers=officer)
    assert r.json() == []  # a closed task offers nothing

    case = (await system.http.get(f"/api/v1/cases/{case_id}", headers=officer)).json()
    assert case["facts"]["residence"]["urban"] is True
    verified = [e for e in case["timeline"] if e["kind"] == "facts_verified"]
    assert len(verified) == 1
    assert verified[0]["summary"] == "经办人 赵经办（南岭街道） 核实：城镇户籍或城镇常住 = 是"
    assert verified[0]["after"]["verified_facts"] == {"residence.urban": True}
    assert verified[0]["before"] == {"facts": {"residence.urban": None}}
    # The pre-check ran again after the verification, and the next stage opens on it.
    checks = [e for e in case["timeline"] if e["kind"] == "pre_check"]
    assert len(checks) == 2 and checks[-1]["at"] >= verified[0]["at"]
    review = await system.wait_for_task("jl_officer", case_id, "initial_review")
    assert review["payload"]["pre_check"]["summary_zh"] == checks[-1]["summary"]
    async with system.sessions()() as session:
        audit = (
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "facts_verified", AuditEntry.object_id == case_id
                )
            )
        ).all()
    assert len(audit) == 1
    assert audit[0].detail == {
        "task_id": task["id"],
        "before": {"residence.urban": None},
        "after": {"residence.urban": True},
    }


async def test_a_stage_verifies_only_its_own_facts_and_values_must_make_valid_facts(
    system: System,
) -> None:
    body = application(PACK)
    del body["facts"]["residence"]["urban"]
    r = await system.http.post("/api/v1/applications", json=body)
    case_id = r.json()["case_id"]
    officer = await system.login("jl_officer")
    task = await system.wait_for_task("jl_officer", case_id, "acceptance")
    r = await system.http.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=officer,
        json={"outcome": "accept", "verified_facts": {"person.children_birth_dates": ["x"]}},
    )
    # Jilin's conditions do not read whether a child is raised: not on this task's form.
    assert await _errors(r) == [("verified_facts.person.children_birth_dates", "not_verifiable")]


async def test_primary_facts_must_make_valid_facts_together(system: System) -> None:
    # Not local hukou in Weifang: 连续居住并参保6个月以上（不含补缴月数）decides
    # (潍人社字〔2023〕1号 一).
    body = application("weifang-2023")
    body["facts"]["residence"]["hukou_local"] = False
    r = await system.http.post("/api/v1/applications", json=body)
    case_id = r.json()["case_id"]
    reviewer = await system.login("wf_reviewer")
    task = await system.wait_for_task("wf_reviewer", case_id, "immediate_conclusion")
    r = await system.http.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=reviewer,
        json={
            "outcome": "approve",
            "fields": {"category": "older_unemployed"},
            "verified_facts": {
                "residence.local_social_insurance_months": 3,
                "residence.local_social_insurance_back_paid_months": 4,
            },
        },
    )
    assert await _errors(r) == [("verified_facts", "value_error")]
    assert "exceeds" in r.json()["detail"]
    r = await system.http.get(f"/api/v1/tasks/{task['id']}", headers=reviewer)
    assert r.json()["state"] == "open"
