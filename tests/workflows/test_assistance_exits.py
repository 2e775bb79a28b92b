"""Each exit reason of each pack (退出/注销情形), reported as an event through the API: an
automatic reason (weifang 三(二)1、3) ends the status at once; a manual one opens an exit review
for the county, whose confirmation ends it. Either way the person is told (a notice), the case
shows ``exited``, the exit is recorded with whether the person may apply again, and a fraud
reason asks for the day the status should have ended (the recovery runs from the month after).
Basis-specific reasons (xinyu 第三条(一)2、4) exist only for people identified on that basis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from domain.policy.loader import load_pack
from domain.vocabulary import PlaceRef
from store import repos
from store.models_assistance import AssistanceExit
from tests.assistance_support import start_assistance
from tests.workflows.scenario import Scenario, scenario_at, shanghai
from tests.workflows.test_assistance import post, wait_assistance

PLACES = {
    "weifang-2023": "370702",
    "jilin-2022": "220102001",
    "xinyu-2023": "360502001",
    "qingxin-2024": "441803100",
}
REVIEWERS = {
    "weifang-2023": "wf_reviewer",
    "jilin-2022": "jl_reviewer",
    "xinyu-2023": "xy_reviewer",
    "qingxin-2024": "qx_reviewer",
}
CASES = [(pack_id, reason.code) for pack_id in PLACES for reason in load_pack(pack_id).exit_reasons]


@pytest.fixture(scope="module")
async def sc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Scenario]:
    async with scenario_at(shanghai(2026, 2, 2, 9, 0), tmp_path_factory.mktemp("exits")) as s:
        yield s


async def chain_of(sc: Scenario, code: str) -> list[PlaceRef]:
    async with sc.system.sessions()() as session:
        place = await repos.get_jurisdiction(session, code)
        assert place is not None
        return [
            PlaceRef(j.code, j.path, j.level, j.name) for j in await repos.ancestors(session, place)
        ]


def test_every_pack_with_a_procedure_has_exit_reasons_here() -> None:
    assert {p for p, _ in CASES} == set(PLACES)
    assert len(CASES) >= 25


@pytest.mark.parametrize(("pack_id", "code"), CASES, ids=[f"{p}:{c}" for p, c in CASES])
async def test_exit_reason(sc: Scenario, pack_id: str, code: str) -> None:
    pack = load_pack(pack_id)
    reason = pack.exit_reason(code)
    assert reason is not None
    category = reason.basis_specific[0] if reason.basis_specific else pack.categories[0].code
    case_id, _ = await start_assistance(
        sc.system.sessions(),
        sc.env.client,
        sc.system.settings.temporal_task_queue,
        pack_id=pack_id,
        chain=await chain_of(sc, PLACES[pack_id]),
        category=category,
        now=await sc.now(),
    )
    a = await wait_assistance(sc, case_id, lambda a: True, "the start")
    assert code in [r["code"] for r in a["exit_reasons"]]
    reviewer = REVIEWERS[pack_id]
    r = await post(sc, reviewer, case_id, "events", {"reason": code, "detail": "测试"})
    assert r.status_code == 202, r.text
    if reason.mode == "automatic":
        assert r.json()["handling"] == "exiting"
    else:
        assert r.json()["handling"] == "exit_review"
        task = await sc.task(reviewer, case_id, "exit_review")
        assert task["id"] == r.json()["task_id"]
        fields: dict[str, Any] = {}
        if reason.fraud:
            fields["should_have_ended_on"] = "2026-02-02"
        await sc.complete(reviewer, task, "confirm", **fields)
    a = await wait_assistance(sc, case_id, lambda a: a["status"] == "exited", "the exit")
    assert a["exit"]["reason_code"] == code
    assert a["exit"]["may_reapply"] is reason.may_reapply
    assert (a["recovery"] is not None) is reason.fraud
    case = await sc.wait_case(case_id, lambda c: c["status"] == "exited", "exited")
    assert [n["kind"] for n in case["notices"]] == ["exit"]
    assert case["notices"][0]["body"]["basis"] == reason.citation
    [row] = await sc.rows(AssistanceExit, case_id=case_id)
    assert (row.policy_pack_id, row.mode) == (pack_id, reason.mode)
    # No more records once exited.
    late = await post(sc, reviewer, case_id, "contacts", {"channel": "phone", "own": True})
    assert late.status_code == 409 and late.json()["type"] == "/problems/not-in-assistance"


async def test_a_basis_specific_reason_is_not_offered_on_another_basis(sc: Scenario) -> None:
    """xinyu 第三条(一)2: only those identified as zero-employment household members."""
    case_id, _ = await start_assistance(
        sc.system.sessions(),
        sc.env.client,
        sc.system.settings.temporal_task_queue,
        pack_id="xinyu-2023",
        chain=await chain_of(sc, PLACES["xinyu-2023"]),
        category="age_4050",
        now=await sc.now(),
    )
    a = await wait_assistance(sc, case_id, lambda a: True, "the start")
    assert "left_zero_employment_household" not in [r["code"] for r in a["exit_reasons"]]
    r = await post(
        sc, "xy_reviewer", case_id, "events", {"reason": "left_zero_employment_household"}
    )
    assert r.status_code == 422, r.text
    assert r.json()["type"] == "/problems/bad-field"
    assert r.json()["errors"][0]["field"] == "reason"
