"""The walking skeleton end to end, on SQLite and PostgreSQL: an application starts a case
workflow, the task reaches the right officer's inbox, the decision arrives as a validated,
idempotent update, and the case is identified."""

from __future__ import annotations

from tests.factories import application, make_id
from tests.system import System

APPROVE = {"outcome": "approve", "fields": {"category": "older_unemployed"}}


async def test_application_to_identification(system: System) -> None:
    r = await system.http.post("/api/v1/applications", json=application())
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    assert r.json()["policy_pack_id"] == "weifang-2023"

    # Weifang concludes in one stage at the county PES (即时办结, 潍人社字〔2023〕1号 二(二)).
    task = await system.wait_for_task("wf_reviewer", case_id, "immediate_conclusion")
    assert task["state"] == "open"
    assert task["id_number_masked"].startswith("*") and len(task["id_number_masked"]) == 18
    reviewer = await system.login("wf_reviewer")
    url = f"/api/v1/tasks/{task['id']}/complete"

    # An outcome the task does not offer, and a category the pack does not have, are
    # rejected by the workflow's validator before anything enters history.
    # Each refusal names its field, as validation errors do.
    r = await system.http.post(url, headers=reviewer, json={"outcome": "maybe"})
    assert r.status_code == 422 and r.json()["type"] == "/problems/bad-outcome"
    assert [e["field"] for e in r.json()["errors"]] == ["outcome"]
    r = await system.http.post(url, headers=reviewer, json={"outcome": "approve"})
    assert r.status_code == 422 and r.json()["type"] == "/problems/missing-fields"
    assert [e["field"] for e in r.json()["errors"]] == ["fields.category"]
    r = await system.http.post(
        url, headers=reviewer, json={"outcome": "approve", "fields": {"category": "age_4050"}}
    )
    assert r.status_code == 422 and r.json()["type"] == "/problems/bad-field"
    assert [e["field"] for e in r.json()["errors"]] == ["fields.category"]

    key = {"Idempotency-Key": f"k-{case_id}-1"}
    r1 = await system.http.post(url, headers=reviewer | key, json=APPROVE)
    assert r1.status_code == 200, r1.text
    # The same key returns the first answer; another key finds the task closed.
    r2 = await system.http.post(url, headers=reviewer | key, json=APPROVE)
    assert (r2.status_code, r2.json()) == (200, r1.json())
    r3 = await system.http.post(
        url, headers=reviewer | {"Idempotency-Key": f"k-{case_id}-2"}, json=APPROVE
    )
    assert r3.status_code == 409
    assert r3.headers["content-type"].startswith("application/problem+json")

    handle = system.env.client.get_workflow_handle(f"identification-{case_id}")
    assert await handle.result() == "identified"
    r = await system.http.get(f"/api/v1/cases/{case_id}", headers=reviewer)
    assert r.status_code == 200
    case = r.json()
    assert case["status"] == "identified" and case["category_code"] == "older_unemployed"
    kinds = [e["kind"] for e in case["timeline"]]
    assert kinds[0] == "pre_check" and "identified" in kinds
    # The assistance that identification starts writes on the same timeline after it.
    assert set(kinds[kinds.index("identified") + 1 :]) <= {"assistance_started"}
    assert kinds.count("task_completed") == 1


async def test_other_region_officer_sees_nothing(system: System) -> None:
    r = await system.http.post("/api/v1/applications", json=application())
    case_id = r.json()["case_id"]
    task = await system.wait_for_task("wf_reviewer", case_id, "immediate_conclusion")
    outsider = await system.login("jl_reviewer")
    r = await system.http.get("/api/v1/tasks", headers=outsider, params={"limit": 200})
    assert all(t["case_id"] != case_id for t in r.json()["items"])
    r = await system.http.get(f"/api/v1/tasks/{task['id']}", headers=outsider)
    assert r.status_code == 404
    r = await system.http.get(f"/api/v1/cases/{case_id}", headers=outsider)
    assert r.status_code == 404
    r = await system.http.post(
        f"/api/v1/tasks/{task['id']}/complete", headers=outsider, json=APPROVE
    )
    assert r.status_code == 404


async def test_duplicate_application_names_the_open_case_to_staff_only(system: System) -> None:
    id_number = make_id()
    first = await system.http.post("/api/v1/applications", json=application(id_number=id_number))
    assert first.status_code == 201
    case_id = first.json()["case_id"]
    # The public learns nothing about the person from the refusal (#20 §1)…
    again = await system.http.post("/api/v1/applications", json=application(id_number=id_number))
    assert (again.status_code, again.json()["type"]) == (409, "/problems/application-not-accepted")
    assert case_id not in again.text
    # …staff whose area holds the case are told which case it is.
    staff = await system.http.post(
        "/api/v1/applications",
        json=application(id_number=id_number),
        headers=await system.login("wf_reviewer"),
    )
    assert (staff.status_code, staff.json()["type"]) == (409, "/problems/duplicate-application")
    assert case_id in staff.json()["detail"]


async def test_invalid_id_number_is_refused_and_nothing_stored(system: System) -> None:
    body = application(id_number="370702198006151230")  # wrong check digit
    r = await system.http.post("/api/v1/applications", json=body)
    assert r.status_code == 422
    assert r.json()["type"] in ("/problems/invalid-id-number", "/problems/validation-error")
    assert "check digit" in r.json()["detail"]


async def test_unauthenticated_task_list_is_401(system: System) -> None:
    r = await system.http.get("/api/v1/tasks")
    assert r.status_code == 401
    assert r.json()["type"] == "/problems/unauthorized"


async def test_healthz_reports_both(system: System) -> None:
    r = await system.http.get("/healthz")
    assert r.json() == {"status": "ok", "database": "ok", "temporal": "ok"}
