"""The assistance targets API (/api/v1/supervision/assistance) on SQLite and PostgreSQL: the
assistance rate (帮扶率), clearance (年度清零, 零就业家庭动态清零) and exits by reason per place
and period, each target measured on its own pack's people (weifang's 96 % met exactly at 24 of
25), the period's edges (a service at its first instant counts, one at its end does not; an
exit on its last day clears, one the day after does not), drill-down, scope (404 outside the
caller's subtree, 403 for officers), a period with no data, and the figures of an assistance
run by the real workflow (services and an automatic exit recorded through the API).

Most data are rows inserted directly (no workflows) in a jurisdiction tree of the test's own
(:meth:`tests.system.System.make_region`) whose city applies weifang's pack, so every figure is
exact."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from domain.calendar import deadline_end, local_date, start_of_day
from domain.policy.loader import load_pack
from store.models import Case, Jurisdiction
from store.models_assistance import Assistance, AssistanceEntry, AssistanceExit
from tests.assistance_support import region_chain, start_assistance
from tests.factories import pinned_ref
from tests.problems import problem
from tests.system import Region, System

URL = "/api/v1/supervision/assistance"
DAY = timedelta(days=1)
WEIFANG = "weifang-2023"
XINYU = "xinyu-2023"
_seq = itertools.count(1)


# --- building the data -----------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """The period the tests ask for: Shanghai dates ``first``..``last``."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return start_of_day(self.first)

    @property
    def end(self) -> datetime:
        return deadline_end(self.last)

    @property
    def params(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def recent_span() -> Span:
    """Forty days ending ten days ago (everything the tests place in it is in the past)."""
    today = local_date(datetime.now(UTC))
    return Span(today - timedelta(days=50), today - timedelta(days=10))


async def set_pack(system: System, region: Region, place: str, pack_id: str) -> None:
    async with system.sessions()() as session, session.begin():
        await session.execute(
            update(Jurisdiction)
            .where(Jurisdiction.code == region.codes[place])
            .values(policy_pack_id=pack_id)
        )


async def person(
    system: System,
    region: Region,
    place: str,
    *,
    started: datetime,
    pack: str = WEIFANG,
    category: str = "older_unemployed",
    services: Sequence[datetime] = (),
    contacts: Sequence[datetime] = (),
    exit_reason: str | None = None,
    exited_on: date | None = None,
) -> str:
    """An identified person in assistance at ``place`` since ``started``, with services
    delivered (and contacts, which are not services) at the given instants and an exit."""
    n = next(_seq)
    case_id = f"TGT{region.n:04d}-{n:05d}"
    number = f"{n:018d}"
    reasons = {r.code: r for r in load_pack(pack).exit_reasons}
    async with system.sessions()() as session, session.begin():
        session.add(
            Case(
                id=case_id,
                workflow_id=f"no-workflow-{case_id}",
                policy_pack_id=pack,
                policy_pack_ref=await pinned_ref(session, pack),
                jurisdiction_code=region.codes[place],
                jurisdiction_path=region.paths[place],
                applicant_name=f"目标{n}",
                id_number=number,
                id_last4=number[-4:],
                facts={},
                channel="test",
                status="exited" if exit_reason else "identified",
                category_code=category,
                submitted_at=started,
                identified_at=started,
                updated_at=started,
            )
        )
        await session.flush()
        session.add(
            Assistance(
                case_id=case_id,
                workflow_id=f"assistance-{case_id}",
                status="exited" if exit_reason else "active",
                snapshot={},
                started_at=started,
                updated_at=started,
            )
        )
        for i, at in enumerate([*services, *contacts]):
            kind = "service" if i < len(services) else "contact"
            session.add(
                AssistanceEntry(
                    id=f"{case_id}-{i}",
                    case_id=case_id,
                    kind=kind,
                    channel="phone" if kind == "contact" else None,
                    own=True if kind == "contact" else None,
                    service_kind="career_guidance" if kind == "service" else None,
                    note="",
                    at=at,
                    recorded_by=None,
                    recorded_by_name="test",
                )
            )
        if exit_reason is not None:
            assert exited_on is not None
            reason = reasons.get(exit_reason)
            session.add(
                AssistanceExit(
                    case_id=case_id,
                    id_number=number,
                    policy_pack_id=pack,
                    reason_code=exit_reason,
                    reason_name=reason.name if reason else f"旧原因{exit_reason}",
                    mode=reason.mode if reason else "manual",
                    may_reapply=True,
                    fraud=bool(reason and reason.fraud),
                    exited_on=exited_on,
                    at=start_of_day(exited_on),
                    decided_by="test",
                )
            )
    return case_id


async def targets_region(system: System, span: Span) -> Region:
    """weifang at the city. county_a: one person at the district office itself (served);
    street_a1: P1 served at the period's first instant, exits the day after it; P2 started in
    it, served only at its end (not counted); P3 served and hired within it; P4 exited before
    it (not counted); P5 of a zero-employment household, only a contact. street_a2: P6 served
    and cancelled for false information on its last day. street_b1 (county_b): 25 weifang
    people, 24 served (exactly 96 %), one xinyu zero-employment person never served, one
    started after the period (not counted)."""
    region = await system.make_region()
    await set_pack(system, region, "city", WEIFANG)
    before = span.start - 5 * DAY
    inside = span.start + 3 * DAY
    await person(system, region, "county_a", started=inside, services=[inside + DAY])
    await person(
        system,
        region,
        "street_a1",
        started=before,
        services=[span.start],
        exit_reason="stable_income",
        exited_on=span.last + DAY,
    )
    await person(system, region, "street_a1", started=inside, services=[span.end])
    await person(
        system,
        region,
        "street_a1",
        started=before,
        services=[inside],
        exit_reason="hired",
        exited_on=span.first + timedelta(days=20),
    )
    await person(
        system,
        region,
        "street_a1",
        started=before - 30 * DAY,
        services=[before],
        exit_reason="hired",
        exited_on=span.first - DAY,
    )
    await person(
        system,
        region,
        "street_a1",
        started=inside,
        category="urban_zero_employment_household",
        contacts=[inside + DAY],
    )
    await person(
        system,
        region,
        "street_a2",
        started=before,
        services=[inside],
        exit_reason="false_information",
        exited_on=span.last,
    )
    for i in range(25):
        await person(
            system,
            region,
            "street_b1",
            started=before,
            services=[inside + i * timedelta(hours=1)] if i < 24 else [],
        )
    await person(
        system,
        region,
        "street_b1",
        started=inside,
        pack=XINYU,
        category="zero_employment_household",
    )
    await person(system, region, "street_b1", started=span.end, services=[span.end + DAY])
    return region


async def get(system: System, headers: dict[str, str], **params: Any) -> Any:
    r = await system.http.get(URL, headers=headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def by_code(body: dict[str, Any]) -> dict[str | None, dict[str, Any]]:
    return {row["code"]: row for row in body["rows"]}


def target(row: dict[str, Any], pack: str, code: str) -> dict[str, Any]:
    found = [t for t in row["targets"] if t["pack_id"] == pack and t["code"] == code]
    assert len(found) == 1, row["targets"]
    return dict(found[0])


def exits(body: dict[str, Any], row: dict[str, Any]) -> dict[tuple[str, str], int]:
    cols = [(c["pack_id"], c["code"]) for c in body["exit_reasons"]]
    return {col: n for col, n in zip(cols, row["exits"], strict=True) if n}


COUNTS = ("persons", "assisted", "remaining", "cleared")


def counts(row: dict[str, Any]) -> tuple[int, ...]:
    return tuple(row[c] for c in COUNTS)


# --- tests ---------------------------------------------------------------------------------


async def test_figures_per_district_with_their_targets(system: System) -> None:
    span = recent_span()
    region = await targets_region(system, span)
    body = await get(system, region.headers["supervisor"], **span.params)
    assert body["place"]["code"] == region.codes["city"]
    assert body["period"]["from_date"] == span.first.isoformat()
    rows = by_code(body)
    assert list(rows) == [region.codes["county_a"], region.codes["county_b"]]
    a, b = rows[region.codes["county_a"]], rows[region.codes["county_b"]]
    # county_a: the office's person, P1, P2, P3, P5 and P6.
    assert counts(a) == (6, 4, 4, 2)
    assert a["rate"] == round(4 / 6, 4)
    # county_b: 25 weifang people and the xinyu person.
    assert counts(b) == (26, 24, 26, 0)
    assert counts(body["total"]) == (32, 28, 30, 2)

    # weifang's 96 % is measured on weifang's people only: 24 of 25 meets it exactly.
    rate_b = target(b, WEIFANG, "assistance_rate")
    assert rate_b["persons"] == 25 and rate_b["assisted"] == 24
    assert rate_b["rate"] == 0.96 and rate_b["minimum_rate"] == 0.96 and rate_b["met"] is True
    assert target(a, WEIFANG, "assistance_rate")["met"] is False
    assert target(body["total"], WEIFANG, "assistance_rate")["persons"] == 31
    # xinyu has no assistance rate; its zero-employment clearance counts its own person.
    assert not [t for t in b["targets"] if t["pack_id"] == XINYU and t["kind"] == "coverage_rate"]
    xinyu_zero = target(b, XINYU, "zero_employment_dynamic_clearance")
    assert (xinyu_zero["persons"], xinyu_zero["remaining"], xinyu_zero["met"]) == (1, 1, False)
    # weifang's yearly clearance: everyone still in assistance at the period's end counts.
    yearly = target(a, WEIFANG, "annual_clearance")
    assert (yearly["persons"], yearly["cleared"], yearly["remaining"]) == (6, 2, 4)
    assert yearly["met"] is False and yearly["kind"] == "clearance"
    # weifang's zero-employment clearance is measured on P5 alone.
    zero = target(a, WEIFANG, "zero_employment_dynamic_clearance")
    assert (zero["persons"], zero["remaining"], zero["met"]) == (1, 1, False)
    assert target(b, WEIFANG, "zero_employment_dynamic_clearance")["met"] is None
    # The standard for new zero-employment households (a one-month clock) is no period figure.
    assert not [t for t in b["targets"] if t["code"] == "zero_employment_contingency_plan"]

    # Exits by the packs' reason codes: every weifang reason, then xinyu's.
    cols = [(c["pack_id"], c["code"]) for c in body["exit_reasons"]]
    weifang = [(WEIFANG, r.code) for r in load_pack(WEIFANG).exit_reasons]
    xinyu = [(XINYU, r.code) for r in load_pack(XINYU).exit_reasons]
    assert cols == weifang + xinyu
    assert exits(body, a) == {(WEIFANG, "hired"): 1, (WEIFANG, "false_information"): 1}
    assert a["exits_total"] == a["cleared"] == 2
    assert exits(body, body["total"]) == exits(body, a)
    names = {c["code"]: c for c in body["exit_reasons"] if c["pack_id"] == WEIFANG}
    assert names["hired"]["name"] == "被用人单位招用" and names["false_information"]["fraud"]


async def test_drill_down_into_a_district(system: System) -> None:
    span = recent_span()
    region = await targets_region(system, span)
    body = await get(
        system,
        region.headers["supervisor"],
        jurisdiction=region.codes["county_a"],
        **span.params,
    )
    rows = by_code(body)
    # The district office's own person first, then its streets.
    assert list(rows) == [region.codes[p] for p in ("county_a", "street_a1", "street_a2")]
    assert counts(rows[region.codes["county_a"]]) == (1, 1, 1, 0)
    a1 = rows[region.codes["street_a1"]]
    # P1 (served at the first instant, exits after the period), P2 (served only at its end),
    # P3 (hired), P5 (a contact is no service); P4 left before the period.
    assert counts(a1) == (4, 2, 3, 1) and a1["rate"] == 0.5
    a2 = rows[region.codes["street_a2"]]
    assert counts(a2) == (1, 1, 0, 1)
    assert target(a2, WEIFANG, "assistance_rate")["met"] is True
    assert target(a2, WEIFANG, "annual_clearance")["met"] is True
    assert exits(body, a2) == {(WEIFANG, "false_information"): 1}
    assert counts(body["total"]) == (6, 4, 4, 2)


async def test_scope_and_roles(system: System) -> None:
    span = recent_span()
    region = await targets_region(system, span)
    mine = await get(system, region.headers["supervisor_b"], **span.params)
    assert mine["place"]["code"] == region.codes["county_b"]
    assert list(by_code(mine)) == [region.codes["street_b1"]]
    assert counts(mine["total"]) == (26, 24, 26, 0)
    for outside in ("county_a", "street_a1", "city"):
        r = await system.http.get(
            URL,
            headers=region.headers["supervisor_b"],
            params={"jurisdiction": region.codes[outside], **span.params},
        )
        problem(r, 404, "not-found")
    r = await system.http.get(
        URL, headers=region.headers["supervisor"], params={"jurisdiction": "999999999999"}
    )
    problem(r, 404, "not-found")
    for who in ("officer", "reviewer"):
        r = await system.http.get(URL, headers=region.headers[who])
        problem(r, 403, "actor-not-allowed")
    admin = await get(system, region.headers["admin"], **span.params)
    assert counts(admin["total"]) == (32, 28, 30, 2)
    r = await system.http.get(
        URL, headers=region.headers["supervisor"], params={"from": "2026-02-01", "to": "2026-01-01"}
    )
    problem(r, 422, "validation-error")


async def test_a_period_with_no_data(system: System) -> None:
    span = recent_span()
    region = await targets_region(system, span)
    body = await get(
        system, region.headers["supervisor"], **{"from": "2001-01-01", "to": "2001-12-31"}
    )
    for row in [*body["rows"], body["total"]]:
        assert counts(row) == (0, 0, 0, 0) and row["rate"] is None
        assert set(row["exits"]) == {0} and row["exits_total"] == 0
        assert row["targets"] and all(t["met"] is None for t in row["targets"])
    # The place's pack still names its targets and reasons.
    assert target(body["total"], WEIFANG, "assistance_rate")["minimum_rate"] == 0.96
    assert {c["pack_id"] for c in body["exit_reasons"]} == {WEIFANG}
    # A fresh region without a pack: no targets, no reasons, no rows but its districts.
    empty = await system.make_region()
    body = await get(system, empty.headers["supervisor"])
    assert body["exit_reasons"] == [] and body["total"]["targets"] == []
    assert [r["persons"] for r in body["rows"]] == [0, 0]


async def test_an_assistance_run_by_the_workflow_is_counted(system: System) -> None:
    """A weifang person served and hired through the API: the rows the assistance activities
    write are the ones counted."""
    region = await system.make_region()
    case_id, _ = await start_assistance(
        system.sessions(),
        system.env.client,
        system.settings.temporal_task_queue,
        pack_id=WEIFANG,
        chain=region_chain(region.codes, region.paths),
        category="older_unemployed",
    )
    officer = region.headers["officer"]
    for _ in range(400):
        r = await system.http.get(f"/api/v1/cases/{case_id}/assistance", headers=officer)
        if r.status_code == 200:
            break
        await asyncio.sleep(0.05)
    assert r.status_code == 200, r.text
    r = await system.http.post(
        f"/api/v1/cases/{case_id}/assistance/services",
        headers=officer,
        json={"kind": "career_guidance"},
    )
    assert r.status_code == 201, r.text
    r = await system.http.post(
        f"/api/v1/cases/{case_id}/assistance/events", headers=officer, json={"reason": "hired"}
    )
    assert r.status_code in (200, 201, 202), r.text
    exit_row: AssistanceExit | None = None
    for _ in range(400):
        async with system.sessions()() as session:
            exit_row = await session.get(AssistanceExit, case_id)
            served = (
                await session.scalars(
                    select(AssistanceEntry.at).where(AssistanceEntry.case_id == case_id)
                )
            ).all()
            row = await session.get(Assistance, case_id)
        if exit_row is not None:
            break
        await asyncio.sleep(0.05)
    assert exit_row is not None and row is not None and len(served) == 1
    # The workflow's clock is the time-skipping server's: ask for the days it recorded.
    first = min(local_date(row.started_at), local_date(served[0]))
    last = max(exit_row.exited_on, local_date(served[0]))
    body = await get(
        system, region.headers["supervisor"], **{"from": first.isoformat(), "to": last.isoformat()}
    )
    assert counts(body["total"]) == (1, 1, 0, 1)
    assert exits(body, body["total"]) == {(WEIFANG, "hired"): 1}
    assert target(body["total"], WEIFANG, "assistance_rate")["met"] is True
    assert target(body["total"], WEIFANG, "annual_clearance")["met"] is True


async def test_a_target_is_not_missed_before_its_period_ends(system: System) -> None:
    """While the period runs, people short of a target are still inside its window: the
    shortfall is ``not_due`` (期限未到), not ``not_met``; once the period is over it is."""
    span = recent_span()
    region = await targets_region(system, span)
    h = region.headers["supervisor"]
    today = local_date(datetime.now(UTC))
    running = await get(system, h, **{"from": span.first.isoformat(), "to": today.isoformat()})
    a = by_code(running)[region.codes["county_a"]]
    yearly = target(a, WEIFANG, "annual_clearance")
    assert yearly["remaining"] > 0 and yearly["met"] is False
    assert yearly["state"] == "not_due"
    b = by_code(running)[region.codes["county_b"]]
    assert target(b, WEIFANG, "zero_employment_dynamic_clearance")["state"] is None

    over = await get(system, h, **span.params)
    a = by_code(over)[region.codes["county_a"]]
    assert target(a, WEIFANG, "annual_clearance")["state"] == "not_met"
    assert target(a, WEIFANG, "assistance_rate")["state"] == "not_met"
    b = by_code(over)[region.codes["county_b"]]
    assert target(b, WEIFANG, "assistance_rate")["state"] == "met"


async def test_zero_employment_clearance_runs_a_month_per_person(system: System) -> None:
    """动态清零 has a clock per person (the pack's zero_employment_household_deadline, one
    month): a member whose assistance started less than a month before the period's last day
    is inside it (期限未到) even after the period; one past it is a miss."""
    region = await system.make_region()
    await set_pack(system, region, "city", WEIFANG)
    today = local_date(datetime.now(UTC))
    span = Span(today - timedelta(days=40), today - timedelta(days=1))
    zero = "urban_zero_employment_household"
    await person(system, region, "street_a1", started=span.end - 5 * DAY, category=zero)
    h = region.headers["supervisor"]
    a = by_code(await get(system, h, **span.params))[region.codes["county_a"]]
    t = target(a, WEIFANG, "zero_employment_dynamic_clearance")
    assert (t["remaining"], t["remaining_in_window"], t["met"]) == (1, 1, False)
    assert t["state"] == "not_due"
    # The yearly clearance has no clock per person: the period is over, it is missed.
    assert target(a, WEIFANG, "annual_clearance")["state"] == "not_met"

    # Another member, waiting since before the month: now the target is missed.
    await person(system, region, "street_a2", started=span.start - 5 * DAY, category=zero)
    a = by_code(await get(system, h, **span.params))[region.codes["county_a"]]
    t = target(a, WEIFANG, "zero_employment_dynamic_clearance")
    assert (t["remaining"], t["remaining_in_window"], t["state"]) == (2, 1, "not_met")
