"""Cross-cutting behaviour of the identification workflow, whatever the pack: withdrawal,
stale and double completions, a worker restarted mid-case, and task clocks (reminder, breach,
escalation up the jurisdiction tree, 督办逐级上报)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from store.models import Task
from tests.factories import application
from tests.workflows.scenario import end_of, instant, scenario_at, shanghai, timeline_kinds
from tests.workflows.test_provisional_deadlines import TABLE_2027


async def test_withdrawal_cancels_open_task_stale_completion_409_id_number_freed(
    tmp_path: Path,
) -> None:
    """The applicant may withdraw (撤回申请) at any time before the conclusion (workflow
    contract; the documents are silent). The open task is cancelled, a completion of it is
    stale (409), and the person may apply again in the region."""
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit("qingxin-2024")
        await sc.do("qx_officer", case_id, "acceptance", "accept")
        task = await sc.task("qx_officer", case_id, "initial_review")
        id_number = (await sc.case(case_id))["id_number"]
        # While the case is open the same person cannot apply again in this region (an
        # anonymous caller is not told why, #20 §1).
        r = await sc.http.post(
            "/api/v1/applications", json=application("qingxin-2024", id_number=id_number)
        )
        assert (r.status_code, r.json()["type"]) == (409, "/problems/application-not-accepted")

        r = await sc.withdraw("qx_officer", case_id, reason="申请人已自行就业")
        assert r.status_code == 202, r.text
        case = await sc.closed(case_id)
        assert case["status"] == "withdrawn"
        assert case["outcome_reason"] == "申请人已自行就业"
        assert case["closed_at"] is not None
        [row] = [t for t in await sc.tasks_of(case_id) if t.id == task["id"]]
        assert row.state == "cancelled"
        assert row.outcome is not None and row.outcome["outcome"] == "cancelled"

        # Stale: the officer's page still shows the task; completing it now is refused.
        r = await sc.post_complete("qx_officer", task["id"], "approve")
        assert (r.status_code, r.json()["type"]) == (409, "/problems/task-closed")
        r = await sc.withdraw("qx_officer", case_id)  # the case is no longer running
        assert (r.status_code, r.json()["type"]) == (409, "/problems/case-closed")
        assert timeline_kinds(await sc.case(case_id)).count("task_completed") == 1  # acceptance

        again = await sc.submit("qingxin-2024", id_number=id_number)
        assert again != case_id
        await sc.task("qx_officer", again, "acceptance")


async def test_double_completions_are_applied_once(tmp_path: Path) -> None:
    """Inbox contract: the Idempotency-Key is the Temporal update id, so two concurrent
    requests with one key are one decision — both answered alike, recorded once. A decision
    under another key, later or at the same moment, is stale (409): the workflow's handler
    re-checks what its validator admitted."""
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit("xinyu-2023")
        task = await sc.task("xy_officer", case_id, "acceptance")
        await sc.system.login("xy_officer")  # both requests use the cached token
        first, second = await asyncio.gather(
            sc.post_complete("xy_officer", task["id"], "accept", key="dbl-1"),
            sc.post_complete("xy_officer", task["id"], "accept", key="dbl-1"),
        )
        assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
        assert first.json() == second.json()
        assert first.json()["task_id"] == task["id"]
        # A repeat later returns the stored answer.
        third = await sc.post_complete("xy_officer", task["id"], "accept", key="dbl-1")
        assert (third.status_code, third.json()) == (200, first.json())
        # A second decision under a new key is stale.
        other = await sc.post_complete("xy_officer", task["id"], "not_accepted", key="dbl-2")
        assert (other.status_code, other.json()["type"]) == (409, "/problems/task-closed")

        await sc.task("xy_officer", case_id, "home_visit")
        case = await sc.case(case_id)
        assert timeline_kinds(case).count("task_completed") == 1
        assert [t.kind for t in await sc.tasks_of(case_id)].count("acceptance") == 1

        # Two different decisions at once: exactly one is applied, the other is stale.
        other_case = await sc.submit("xinyu-2023")
        task = await sc.task("xy_officer", other_case, "acceptance")
        answers = await asyncio.gather(
            sc.post_complete("xy_officer", task["id"], "accept", key="race-accept"),
            sc.post_complete(
                "xy_officer", task["id"], "not_accepted", key="race-refuse", reason="材料不全"
            ),
        )
        codes = sorted(a.status_code for a in answers)
        assert codes == [200, 409], [a.text for a in answers]
        [loser] = [a for a in answers if a.status_code == 409]
        assert loser.json()["type"] == "/problems/task-closed"
        [winner] = [a for a in answers if a.status_code == 200]
        if winner.json()["outcome"] == "accept":
            await sc.task("xy_officer", other_case, "home_visit")
        else:
            assert (await sc.closed(other_case))["status"] == "not_accepted"
        case = await sc.case(other_case)
        assert timeline_kinds(case).count("task_completed") == 1


async def test_worker_restarted_in_the_middle_of_a_case(tmp_path: Path) -> None:
    """Durable execution: tasks and timers outlive the worker. A first worker opens the
    acceptance task and stops; a second completes it, starts the 3-working-day publicity
    (吉人社发〔2022〕10号 二(二)) and stops; a third, with nothing but the history, sees the
    publicity timer fire at the end of the make-up Saturday 10 Oct and finishes the case.
    (The time-skipping server cannot skip time while no worker runs: a fired timer's workflow
    task waits for one, so time is skipped under the third worker.)"""
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path, worker=False) as sc:
        async with sc.worker():
            case_id = await sc.submit("jilin-2022")
            acceptance = await sc.task("jl_officer", case_id, "acceptance")

        async with sc.worker():
            await sc.complete("jl_officer", acceptance, "accept")
            await sc.do("jl_officer", case_id, "initial_review", "approve")
            await sc.in_publicity(case_id)

        async with sc.worker():
            await sc.sleep_until(shanghai(2026, 10, 10, 20, 0))
            assert (await sc.case(case_id))["status"] == "in_publicity"
            await sc.sleep_until(shanghai(2026, 10, 11, 0, 5))
            await sc.do("jl_officer", case_id, "publicity_report", "report")
            await sc.do("jl_reviewer", case_id, "review", "approve", category="older_unemployed")
            case = await sc.closed(case_id)
        assert case["status"] == "identified"
        kinds = timeline_kinds(case)
        assert kinds.count("accepted") == 1 and kinds.count("publicity") == 1
        assert kinds.count("task_completed") == 4
        assert [t.kind for t in await sc.tasks_of(case_id)].count("acceptance") == 1


async def test_task_clock_reminds_then_escalates_once_per_level(tmp_path: Path) -> None:
    """A task's clock (吉人社发〔2022〕10号 二(四) split per stage: acceptance 1/1 working day):
    opened Wed 30 Sep, it is at risk from the start of Thu 8 Oct (the first working day after
    the holiday), breached at the end of 8 Oct, and climbs a level a working-day span later
    (督办逐级上报: 南关区, 长春市, 吉林省) — each level once, however far time is skipped."""
    async with scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path) as sc:
        case_id = await sc.submit("jilin-2022")
        task = await sc.task("jl_officer", case_id, "acceptance")
        assert instant(task["at_risk_at"]) == shanghai(2026, 10, 8, 0, 0)
        assert instant(task["due_at"]) == end_of(2026, 10, 8)

        await sc.sleep_until(shanghai(2026, 10, 7, 23, 0))  # still on track through the holiday
        assert [n for n in await sc.notifications(case_id) if n.task_id == task["id"]] == []

        await sc.sleep_until(shanghai(2026, 10, 8, 10, 0))
        reminders = [n for n in await sc.notifications(case_id) if n.task_id == task["id"]]
        assert [(n.kind, n.recipient_role, n.user_id) for n in reminders] == [
            ("reminder", "grassroots_officer", None)
        ]
        [reminder] = reminders
        assert reminder.recipient_path is not None
        assert reminder.recipient_path.rstrip("/").endswith("220102001")
        assert [b for b in await sc.breaches(case_id) if b.task_id == task["id"]] == []
        # The row records the state the workflow's timer saw (the API's own sla_state uses the
        # machine's clock, not the test server's) and the urgency rises.
        [row] = [t for t in await sc.tasks_of(case_id) if t.id == task["id"]]
        assert (row.sla_state, row.priority) == ("at_risk", 5)

        # Nobody acts for seven weeks.
        await sc.sleep_until(shanghai(2026, 11, 30, 12, 0))
        breaches = sorted(
            (b for b in await sc.breaches(case_id) if b.task_id == task["id"]),
            key=lambda b: b.level,
        )
        assert [(b.level, b.event, b.jurisdiction_code) for b in breaches] == [
            (1, "breached", "220102"),
            (2, "past_deadline", "220100"),
            (3, "past_deadline", "220000"),
        ]
        escalations = [
            t
            for t in await sc.tasks_of(case_id)
            if t.kind == "escalation" and t.payload.get("about_task") == task["id"]
        ]
        assert sorted((t.payload["level"], t.jurisdiction_code) for t in escalations) == [
            (1, "220102"),
            (2, "220100"),
            (3, "220000"),
        ]
        assert {b.escalation_task_id for b in breaches} == {t.id for t in escalations}
        assert all(t.candidate_role == "supervisor" and t.state == "open" for t in escalations)
        # One reminder, and one escalation notice per level for that level's supervisors.
        mine = [n for n in await sc.notifications(case_id) if n.task_id == task["id"]]
        assert [n.kind for n in mine].count("reminder") == 1
        groups = [(n.recipient_role, n.recipient_path) for n in mine if n.kind == "escalation"]
        assert sorted(groups) == sorted(("supervisor", b.jurisdiction_path) for b in breaches)


async def test_withdrawal_while_the_deadline_start_is_being_recorded(tmp_path: Path) -> None:
    """The identification deadline starts, on the timeline too, before the first stage opens
    its task (so even a case concluded at once shows it): 受理申请 and its start are held and
    written with the first stage's opening (#22). A withdrawal that arrives while they are
    being recorded (inside that local activity) closes the case as withdrawn, with no task
    left open and the acceptance and the deadline's start on the timeline."""
    async with (
        scenario_at(shanghai(2026, 9, 30, 9, 0), tmp_path, worker=False) as sc,
        # Recording the deadline's start on the timeline takes 3 real seconds.
        sc.worker(slow_events={"deadline": 3.0}),
    ):
        case_id = await sc.submit("jilin-2022")
        # The decision's answer leaves with the workflow task that records what follows it
        # (#22): the officer is still waiting while the deadline's start is being recorded.
        accepting = asyncio.create_task(sc.do("jl_officer", case_id, "acceptance", "accept"))
        for _ in range(200):
            if "task_completed" in timeline_kinds(await sc.case(case_id)):
                break
            await asyncio.sleep(0.05)
        kinds = timeline_kinds(await sc.case(case_id))
        assert "task_completed" in kinds  # the acceptance decided
        assert "accepted" not in kinds and "deadline" not in kinds  # still recording
        assert [t.kind for t in await sc.tasks_of(case_id)] == ["acceptance"]
        r = await sc.withdraw("jl_officer", case_id, reason="申请人撤回")
        assert r.status_code == 202, r.text
        await accepting  # the acceptance was taken (200), before the withdrawal
        assert await sc.result(case_id) == "withdrawn"
        case = await sc.closed(case_id)
        assert case["status"] == "withdrawn"
        kinds = timeline_kinds(case)
        assert kinds.index("accepted") < kinds.index("deadline") < kinds.index("stage")
        assert kinds[-1] == "closed"
        assert all(t.state != "open" for t in await sc.tasks_of(case_id))


async def test_withdrawal_while_the_deadline_watcher_is_inside_an_activity(
    tmp_path: Path,
) -> None:
    """A withdrawal that arrives while the deadline's watcher is recomputing it (a new holiday
    table, inside an activity) still closes the case as withdrawn: the cancelled activity's
    error is the watcher's cancellation, not a failure of the case."""
    # Accepted Monday 28 Dec 2026: jilin's 10 working days reach into 2027 (provisional).
    async with (
        scenario_at(shanghai(2026, 12, 28, 9, 0), tmp_path, worker=False) as sc,
        sc.worker(slow_events={"deadline_recomputed": 3.0}),
    ):
        case_id = await sc.submit("jilin-2022")
        await sc.do("jl_officer", case_id, "acceptance", "accept")
        review = await sc.task("jl_officer", case_id, "initial_review")
        assert await sc.load_year(TABLE_2027) >= 1
        # The task's clock and the deadline's watcher wake on the same signal; once the task's
        # is recomputed, the watcher is recording its recomputation (3 s).
        for _ in range(200):
            [row] = await sc.rows(Task, id=review["id"])
            if row.sla_provisional is False:
                break
            await asyncio.sleep(0.05)
        assert row.sla_provisional is False
        assert "deadline_recomputed" not in timeline_kinds(await sc.case(case_id))
        r = await sc.withdraw("jl_officer", case_id, reason="申请人撤回")
        assert r.status_code == 202, r.text
        assert await sc.result(case_id) == "withdrawn"
        case = await sc.closed(case_id)
        assert case["status"] == "withdrawn"
