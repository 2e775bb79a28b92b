"""Record workflow histories for the replay test (tests/workflows/test_replay.py).

Recorded on the real dev server (``temporal server start-dev``): the histories the Java
time-skipping server writes for updates differ from a real server's and do not replay, so
these cover what a real deployment holds — finished cases, and cases still running (partial
histories: timers scheduled, tasks open, an objection under way). Run after an intentional,
patched change of workflow code to add histories of the new shape:

    .venv/bin/python -m tests.workflows.record_histories

Existing files are never overwritten: they are what running cases look like, and the replay
test must keep passing on them (use ``workflow.patched`` for changes).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from activities.verification import period_of
from domain.policy.loader import load_pack
from infra.temporal_client import DATA_CONVERTER
from store.migrate import upgrade
from store.models_verification import VerificationBatch
from tests.api import test_procedure_levels as four
from tests.conftest import make_settings
from tests.factories import application
from tests.system import System, running_system
from tests.workflows.test_assistance_revision import CASES, revision
from tests.workflows.test_verification import DISTRICT, PACK, TAIHE, insert_people
from worker.binaries import find_binary
from workflows.payloads import VerificationBatchInput
from workflows.steps import started_here
from workflows.verification import VerificationBatchWorkflow

HERE = Path(__file__).parent / "histories"


async def _save(
    env: WorkflowEnvironment, case_id: str, name: str, workflow: str = "identification"
) -> None:
    path = HERE / f"{name}.json"
    if path.exists():
        print(f"kept {path.name}")
        return
    workflow_id = f"{workflow}-{case_id}"
    history = await env.client.get_workflow_handle(workflow_id).fetch_history()
    # The workflow id goes with the history: task ids and event keys derive from it, so a
    # replay under another id would not be the same execution.
    path.write_text(
        json.dumps(
            {"workflow_id": workflow_id, "history": json.loads(history.to_json())},
            ensure_ascii=False,
            indent=1,
        )
    )
    print(f"wrote {path.name} ({len(history.events)} events)")


async def _do(sy: System, user: str, case_id: str, kind: str, outcome: str, **fields: Any) -> None:
    task = await sy.wait_for_task(user, case_id, kind)
    r = await sy.http.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=await sy.login(user),
        json={"outcome": outcome, "fields": fields},
    )
    assert r.status_code == 200, r.text


async def _submit(sy: System, pack: str, **kwargs: Any) -> str:
    r = await sy.http.post("/api/v1/applications", json=application(pack, **kwargs))
    assert r.status_code == 201, r.text
    return str(r.json()["case_id"])


async def main() -> None:
    HERE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(f"sqlite+aiosqlite:///{Path(tmp) / 'y.db'}", Path(tmp))
        await asyncio.to_thread(upgrade, settings)
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=find_binary("temporal"),
            data_converter=DATA_CONVERTER,
        )
        async with running_system(settings, env) as sy:
            # Jilin, running: in publicity with an objection dismissed (timers pending).
            jl = await _submit(sy, "jilin-2022")
            await _do(sy, "jl_officer", jl, "acceptance", "accept")
            await _do(sy, "jl_officer", jl, "initial_review", "approve")
            headers = await sy.login("jl_officer")
            for _ in range(100):
                r = await sy.http.post(
                    f"/api/v1/cases/{jl}/objections",
                    headers=headers,
                    json={"content": "申请人在外地有工作", "raised_by": "邻居"},
                )
                if r.status_code == 201:
                    break
                await asyncio.sleep(0.1)  # publicity starts once the projection caught up
            await _do(sy, "jl_officer", jl, "objection", "dismissed", explanation="经核实无此情况")
            await _save(env, jl, "jilin_running_in_publicity_after_objection")
            # Jilin, running: waiting out its publicity.
            back = await _submit(sy, "jilin-2022")
            await _do(sy, "jl_officer", back, "acceptance", "accept")
            await _do(sy, "jl_officer", back, "initial_review", "approve")
            await _save(env, back, "jilin_running_waiting_in_publicity")
            # Jilin, missing evidence: the one-time notice and the supplement, then accepted.
            sup = await _submit(sy, "jilin-2022", evidence=["application_form"])
            await _do(
                sy,
                "jl_officer",
                sup,
                "supplement",
                "supplied",
                evidence=["id_card", "household_register_or_urban_residence_proof"],
            )
            await _do(sy, "jl_officer", sup, "acceptance", "accept")
            await _save(env, sup, "jilin_running_after_supplement")
            # Weifang: identified and refused at the single stage (即时办结).
            wf = await _submit(sy, "weifang-2023")
            await _do(
                sy,
                "wf_reviewer",
                wf,
                "immediate_conclusion",
                "approve",
                category="older_unemployed",
            )
            assert await env.client.get_workflow_handle(f"identification-{wf}").result()
            await _save(env, wf, "weifang_identified")
            wr = await _submit(sy, "weifang-2023")
            await _do(sy, "wf_reviewer", wr, "immediate_conclusion", "refuse", reason="不符合条件")
            await env.client.get_workflow_handle(f"identification-{wr}").result()
            await _save(env, wr, "weifang_refused")
            # Xinyu: withdrawn while the acceptance task is open.
            xy = await _submit(sy, "xinyu-2023")
            await sy.wait_for_task("xy_officer", xy, "acceptance")
            r = await sy.http.post(
                f"/api/v1/cases/{xy}/withdraw",
                headers=await sy.login("xy_officer"),
                json={"reason": "申请人已就业"},
            )
            assert r.status_code == 202, r.text
            await env.client.get_workflow_handle(f"identification-{xy}").result()
            await _save(env, xy, "xinyu_withdrawn")
            # Weifang, identified and in assistance: the identification that starts it (the
            # patched shape) and the running assistance with a contact and a service.
            await record_assistance(
                sy, env, "weifang_identified_starting_assistance", "weifang_assistance_running"
            )
            # Jilin, running at its initial review: the case-level deadline started before the
            # first stage (the "deadline-started-before-stages" shape).
            dl = await _submit(sy, "jilin-2022")
            await _do(sy, "jl_officer", dl, "acceptance", "accept")
            await sy.wait_for_task("jl_officer", dl, "initial_review")
            await _save(env, dl, "jilin_running_deadline_started_before_stages")
            # Jilin, withdrawn at its initial review: the deadline's watcher ends with the case
            # (the "deadline-watcher-ends-with-the-case" shape).
            wd = await _submit(sy, "jilin-2022")
            await _do(sy, "jl_officer", wd, "acceptance", "accept")
            await sy.wait_for_task("jl_officer", wd, "initial_review")
            r = await sy.http.post(
                f"/api/v1/cases/{wd}/withdraw",
                headers=await sy.login("jl_officer"),
                json={"reason": "申请人已就业"},
            )
            assert r.status_code == 202, r.text
            await env.client.get_workflow_handle(f"identification-{wd}").result()
            await _save(env, wd, "jilin_withdrawn_watcher_ends_with_the_case")
            # Jilin, at its initial review after the acceptance verified a fact (#21): the
            # completion's verified facts recorded and the pre-check re-run in the update.
            body = application("jilin-2022")
            del body["facts"]["residence"]["urban"]
            r = await sy.http.post("/api/v1/applications", json=body)
            assert r.status_code == 201, r.text
            vf = str(r.json()["case_id"])
            task = await sy.wait_for_task("jl_officer", vf, "acceptance")
            r = await sy.http.post(
                f"/api/v1/tasks/{task['id']}/complete",
                headers=await sy.login("jl_officer"),
                json={"outcome": "accept", "verified_facts": {"residence.urban": True}},
            )
            assert r.status_code == 200, r.text
            await sy.wait_for_task("jl_officer", vf, "initial_review")
            await _save(env, vf, "jilin_running_after_verified_facts")
            await record_verification_batch(sy, env)
            await record_four_step(sy, env)
            await record_revision_move(sy, env)
            # #22's local steps (the "local-writes" shape), recorded on the code of 2d0f438.
            await record_officer_path(sy, env, "local_writes")
            # The stage's entries held for the next opening ("entries-held-for-the-opening").
            await record_officer_path(sy, env, "held_entries")
            # The first pre-check made as the case was stored, handed to the workflow in its
            # input (#22): no assessment activity before the first task.
            await record_officer_path(sy, env, "pre_checked")
            # Every patch answered by one marker at the run's start ("started-with-patches-1",
            # workflows/steps.py): the officer's path, an assistance and a verification batch.
            await record_officer_path(sy, env, "started_with_patches")
            await record_assistance(
                sy,
                env,
                "weifang_started_with_patches_starting_assistance",
                "weifang_started_with_patches_assistance_running",
            )
            await record_verification_batch(sy, env, "verification_batch_open_started_with_patches")
            # A decision's clock computed by its closing ("decision-starts-its-clock", in the
            # set "started-with-patches-2"): the acceptance's deadline, the approval's publicity.
            await record_officer_path(sy, env, "decision_starts_its_clock")
            # Every patch answered from the memo the run was started with, no marker at all
            # (steps.started_here): the officer's path, an assistance and a verification batch.
            await record_officer_path(sy, env, "started_here")
            await record_assistance(
                sy,
                env,
                "weifang_started_here_starting_assistance",
                "weifang_started_here_assistance_running",
            )
            await record_verification_batch(
                sy, env, "verification_batch_open_started_here", started_here(None).memo
            )
        await env.shutdown()


async def record_assistance(
    sy: System, env: WorkflowEnvironment, identified: str, running: str
) -> None:
    """A Weifang case identified at once, under ``identified``, and the assistance it starts,
    with a contact and a service recorded, under ``running``."""
    if (HERE / f"{identified}.json").exists() and (HERE / f"{running}.json").exists():
        print(f"kept {identified}.json and {running}.json")
        return
    wa = await _submit(sy, "weifang-2023")
    await _do(sy, "wf_reviewer", wa, "immediate_conclusion", "approve", category="older_unemployed")
    await env.client.get_workflow_handle(f"identification-{wa}").result()
    await _save(env, wa, identified)
    headers = await sy.login("wf_reviewer")
    for path, body in (
        ("contacts", {"channel": "phone", "own": True}),
        ("services", {"kind": "career_guidance"}),
    ):
        for _ in range(100):
            r = await sy.http.post(
                f"/api/v1/cases/{wa}/assistance/{path}", headers=headers, json=body
            )
            if r.status_code == 201:
                break
            await asyncio.sleep(0.1)  # the assistance starts once the case is identified
        assert r.status_code == 201, r.text
    await _save(env, wa, running, workflow="assistance")


async def record_revision_move(sy: System, env: WorkflowEnvironment) -> None:
    """A weifang assistance moved to a revision's rules (#23 [transition] assistance = "move",
    the assistance_rules_revised signal applied) and still running; and the transition
    workflow that told it, done."""
    name = "weifang_assistance_moved_to_revision"
    if (HERE / f"{name}.json").exists():
        print(f"kept {name}.json")
        return
    wa = await _submit(sy, "weifang-2023")
    await _do(sy, "wf_reviewer", wa, "immediate_conclusion", "approve", category="older_unemployed")
    await env.client.get_workflow_handle(f"identification-{wa}").result()
    headers = await sy.login("admin")
    for _ in range(100):
        r = await sy.http.get(f"/api/v1/cases/{wa}/assistance", headers=headers)
        if r.status_code == 200:
            break
        await asyncio.sleep(0.1)  # the assistance starts once the case is identified
    r = await sy.http.post(
        "/api/v1/admin/policy-packs",
        headers=headers,
        files={
            "pack": ("weifang-2023.toml", revision("2026.9", None, 4, move=True).encode()),
            "cases": ("weifang-2023.toml", CASES.read_bytes()),
        },
    )
    assert r.status_code == 201 and r.json()["transition_status"] == "started", r.text
    ref = r.json()["ref"]
    await env.client.get_workflow_handle(f"policy-transition-{ref}").result()
    for _ in range(100):
        r = await sy.http.get(f"/api/v1/cases/{wa}/assistance", headers=headers)
        if r.json()["assistance_pack_ref"] == ref:
            break
        await asyncio.sleep(0.1)  # the assistance applies the signal at its next turn
    assert r.json()["assistance_pack_ref"] == ref, r.text
    await _save(env, wa, name, workflow="assistance")
    await _save(env, ref, "policy_transition_done", workflow="policy-transition")


async def record_officer_path(sy: System, env: WorkflowEnvironment, shape: str) -> None:
    """The officer's path as a given shape of the workflow code records it, each under
    ``<case>_<shape>_<where>``: a Jilin case at its initial review (acceptance, the deadline
    started, the first stage opened), one waiting out its publicity, and Weifang cases
    identified and refused at their single stage (即时办结)."""
    names = {
        where: f"{region}_{shape}_{where}"
        for region, where in (
            ("jilin", "at_initial_review"),
            ("jilin", "waiting_in_publicity"),
            ("weifang", "identified"),
            ("weifang", "refused"),
        )
    }
    if all((HERE / f"{n}.json").exists() for n in names.values()):
        print(f"kept the {shape} histories")
        return
    at_review = await _submit(sy, "jilin-2022")
    await _do(sy, "jl_officer", at_review, "acceptance", "accept")
    await sy.wait_for_task("jl_officer", at_review, "initial_review")
    await _save(env, at_review, names["at_initial_review"])
    posted = await _submit(sy, "jilin-2022")
    await _do(sy, "jl_officer", posted, "acceptance", "accept")
    await _do(sy, "jl_officer", posted, "initial_review", "approve")
    for _ in range(100):
        r = await sy.http.get(f"/api/v1/cases/{posted}", headers=await sy.login("jl_officer"))
        if r.json()["status"] == "in_publicity":
            break
        await asyncio.sleep(0.1)  # the publicity starts once its clock is computed
    assert r.json()["status"] == "in_publicity", r.text
    await _save(env, posted, names["waiting_in_publicity"])
    for where, outcome, fields in (
        ("identified", "approve", {"category": "older_unemployed"}),
        ("refused", "refuse", {"reason": "不符合条件"}),
    ):
        wf = await _submit(sy, "weifang-2023")
        await _do(sy, "wf_reviewer", wf, "immediate_conclusion", outcome, **fields)
        await env.client.get_workflow_handle(f"identification-{wf}").result()
        await _save(env, wf, names[where])


async def record_four_step(sy: System, env: WorkflowEnvironment) -> None:
    """The shapes of #23's procedures as data, under the test pack of four steps
    (tests/fixtures/policy/fourstep-2026.toml): a refusal at the community's review whose
    re-examination was requested (the window, the update, the county's task open), and a case
    in its minimum publicity after the first review level."""
    names = ("fourstep_running_reexamination_requested", "fourstep_running_in_minimum_publicity")
    if all((HERE / f"{n}.json").exists() for n in names):
        print("kept the fourstep histories")
        return
    await four.load_pack(sy)
    refused, _ = await four.apply(sy, "复核申请人")
    task = await four.open_task(sy, refused, "initial_review")
    r = await four.decide(sy, "fs_community", task, "refuse", reason="不符合条件")
    assert r.status_code == 200, r.text
    await four.case_state(sy, refused, "refused")
    r = await sy.http.post(
        f"/api/v1/cases/{refused}/reexamination",
        headers=await sy.login("fs_county", four.PASSWORD),
        json={"content": "请求复核"},
    )
    assert r.status_code == 201, r.text
    await four.open_task(sy, refused, "reexamination")
    await _save(env, refused, names[0])
    posted, _ = await four.apply(sy, "公示中")
    task = await four.open_task(sy, posted, "initial_review")
    r = await four.decide(sy, "fs_community", task, "approve")
    assert r.status_code == 200, r.text
    await four.case_state(sy, posted, "in_publicity")
    await _save(env, posted, names[1])


async def record_verification_batch(
    sy: System,
    env: WorkflowEnvironment,
    name: str = "verification_batch_open_read_ahead",
    memo: dict[str, str] | None = None,
) -> None:
    """A district's batch with its tasks open, waiting for its reminder (small pages and
    chunks, two in flight: the shape of a batch of any size in one run); ``memo`` as its
    quarterly run starts it (steps.started_here), or none as the older shapes were."""
    if (HERE / f"{name}.json").exists():
        print(f"kept {name}.json")
        return
    people = await insert_people(
        sy.sessions(), datetime.now(UTC), {TAIHE: 45}, exited=2, prefix="QH"
    )
    period = period_of(load_pack(PACK), date.today(), "2030-01")
    await env.client.start_workflow(
        VerificationBatchWorkflow.run,
        VerificationBatchInput(
            district=DISTRICT,
            pack_id=PACK,
            period=period,
            page_size=10,
            chunk_size=5,
            concurrency=2,
        ),
        id=f"verification-{DISTRICT.code}-{period.label}",
        task_queue=sy.settings.temporal_task_queue,
        memo=memo,
    )
    for _ in range(300):
        async with sy.sessions()() as session:
            batch = await session.get(VerificationBatch, f"{DISTRICT.code}-{period.label}")
        if batch is not None and batch.status == "open":
            break
        await asyncio.sleep(0.1)  # the batch row says when every task is open
    assert batch is not None and batch.created == len(people), batch
    await _save(env, f"{DISTRICT.code}-{period.label}", name, workflow="verification")


if __name__ == "__main__":
    asyncio.run(main())
