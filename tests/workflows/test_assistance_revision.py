"""A revision moves the persons already identified to its assistance rules only where it says so
(#23, ``[transition] assistance = "move"``), on its first day, on the time-skipping server.

A weifang person is in assistance under the seed (contact check 6 months, 三(一)9). A revision
that shortens the check to 3 months but says nothing of the persons identified leaves them on
the seed's clock. A later revision, effective weeks after it is loaded, with a 4-month check
and ``move``: until its first day nothing changes; from 00:00 of that day the person's
assistance follows it — the contact reminder and the cancellation review fall on its clock,
counted from the same last own contact — and the case's timeline, the assistance's record
and the audit log say which revision, which clause, from when."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from domain.policy.loader import PACKS_DIR
from store.models import AuditEntry
from tests.workflows.scenario import Scenario, scenario_at, shanghai
from tests.workflows.test_assistance import WEIFANG, assistance, wait_assistance, weifang_person

SEED = PACKS_DIR / f"{WEIFANG}.toml"
CASES = PACKS_DIR / "cases" / f"{WEIFANG}.toml"
MOVE_CLAUSE = "潍人社字〔2026〕2号 第九条"


def revision(
    version: str,
    effective_from: str | None,
    contact_months: int,
    *,
    move: bool,
    visit_months: int | None = None,
) -> str:
    """The seed as a revision: its version and first day (None: the day it is loaded),
    another contact check (and visit interval), and (with ``move``) the clause that moves the
    persons already identified."""
    text = SEED.read_text(encoding="utf-8")
    seed_version = 'version = "2023.1"'
    assert seed_version in text
    first = f"\neffective_from = {effective_from}" if effective_from else ""
    text = text.replace(seed_version, f'version = "{version}"{first}', 1)
    check = "[clocks.contact_check]\nvalue = 6\n"
    assert check in text
    text = text.replace(check, f"[clocks.contact_check]\nvalue = {contact_months}\n", 1)
    if visit_months is not None:
        text += (
            f'\n[clocks.assistance_visit_interval]\nvalue = {visit_months}\nunit = "months"\n'
            'source = "潍人社字〔2026〕2号 第七条"\nquote = "定期走访"\n'
        )
    if move:
        text += (
            '\n[transition]\nassistance = "move"\n'
            f'source = "{MOVE_CLAUSE}"\n'
            'quote = "本办法施行前已认定的就业困难人员，自本办法施行之日起按本办法实施就业援助"\n'
        )
    return text


async def load(sc: Scenario, pack: str) -> dict[str, Any]:
    r = await sc.http.post(
        "/api/v1/admin/policy-packs",
        headers=await sc.system.login("admin"),
        files={
            "pack": (f"{WEIFANG}.toml", pack.encode(), "application/toml"),
            "cases": (f"{WEIFANG}.toml", CASES.read_bytes(), "application/toml"),
        },
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_a_revision_moves_identified_persons_only_where_it_says_so(tmp_path: Path) -> None:
    async with scenario_at(shanghai(2026, 1, 5, 9, 0), tmp_path) as sc:
        case_id, a = await weifang_person(sc)
        seed_ref = a["policy_pack_ref"]
        assert a["assistance_pack_ref"] == seed_ref and a["rule_moves"] == []
        assert a["clocks"]["contact_limit_at"].startswith("2026-07-06")

        # A revision without [transition]: applications from 1 February are decided under it;
        # the person identified before keeps the seed's six months.
        stay = await load(sc, revision("2026.1", "2026-02-01", 3, move=False))
        assert stay["transition"] == "stay" and stay["transition_status"] is None
        await sc.sleep_until(shanghai(2026, 2, 2, 9, 0))
        a = await assistance(sc, case_id)
        assert a["assistance_pack_ref"] == seed_ref
        assert a["clocks"]["contact_limit_at"].startswith("2026-07-06")

        # A revision that moves them, effective from 1 March, loaded in February.
        moving = await load(sc, revision("2026.2", "2026-03-01", 4, move=True))
        assert moving["transition"] == "move" and moving["transition_status"] == "started"
        assert moving["transition_source"] == MOVE_CLAUSE
        v2 = moving["ref"]
        await sc.sleep_until(shanghai(2026, 2, 28, 23, 0))
        a = await assistance(sc, case_id)
        assert a["assistance_pack_ref"] == seed_ref, "moved before the revision's first day"

        # Its first day: the assistance follows it, counted from the same anchor (the start).
        await sc.sleep_until(shanghai(2026, 3, 1, 0, 30))
        a = await wait_assistance(
            sc, case_id, lambda a: a["assistance_pack_ref"] == v2, "the move to the revision"
        )
        assert a["policy_pack_ref"] == seed_ref  # the identification stays decided as it was
        # (A period ends with its last day: the clocks read 00:00 of the day after.)
        assert a["clocks"]["contact_limit_at"].startswith("2026-05-06")
        assert a["clocks"]["contact_reminder_at"].startswith("2026-04-06")
        assert a["clocks"]["contact_anchor_at"].startswith("2026-01-05")
        [move] = a["rule_moves"]
        assert move["from_ref"] == seed_ref and move["to_ref"] == v2
        assert move["clause"] == MOVE_CLAUSE and move["effective_on"] == "2026-03-01"
        case = await sc.case(case_id)
        [entry] = [e for e in case["timeline"] if e["kind"] == "assistance_rules"]
        assert "2026.2" in entry["summary"] and MOVE_CLAUSE in entry["summary"]
        assert entry["summary"].startswith("就业援助改按"), entry

        # The reminder and the review fall on the revision's 4 months, not the seed's 6.
        await sc.sleep_until(shanghai(2026, 4, 6, 9, 0))
        visit = await sc.task("wf_reviewer", case_id, "assistance_visit")  # every 3 months still
        await sc.complete("wf_reviewer", visit, "visited", visit_record="家访，正在求职")
        reminder = await sc.task("wf_reviewer", case_id, "contact_reminder")
        assert reminder["payload"]["limit_at"].startswith("2026-05-06")
        await sc.complete("wf_reviewer", reminder, "not_reached", note="电话无人接听")
        await sc.sleep_until(shanghai(2026, 5, 6, 9, 0))
        review = await sc.task("wf_reviewer", case_id, "cancellation_review")
        assert review["payload"]["limit_months"] == 4
        assert review["payload"]["reason"] == "no_contact_six_months"

        # A third revision moves them again, visits every 2 months: they go on from the last
        # visit due (5 April), not from the start (which would make one due in May at once).
        third = await load(sc, revision("2026.3", "2026-06-01", 4, move=True, visit_months=2))
        v3 = third["ref"]
        await sc.sleep_until(shanghai(2026, 6, 1, 0, 30))
        a = await wait_assistance(
            sc, case_id, lambda a: a["assistance_pack_ref"] == v3, "the second move"
        )
        assert [(m["from_ref"], m["to_ref"]) for m in a["rule_moves"]] == [
            (seed_ref, v2),
            (v2, v3),
        ]
        assert a["clocks"]["next_visit_at"].startswith("2026-06-06")

        async with sc.system.sessions()() as session:
            audits = (
                await session.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.action == "policy_pack_transition")
                    .order_by(AuditEntry.id)
                )
            ).all()
        assert [
            (x.object_id, (x.detail or {})["ref"], (x.detail or {})["assistances_told"])
            for x in audits
        ] == [(WEIFANG, v2, 1), (WEIFANG, v3, 1)]
