"""A clock that reaches a year without a holiday table is provisional (weekends only); when an
administrator loads that year, running cases recompute their deadlines (issue: calendar)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from domain.calendar import YearTable
from store.models import Task
from tests.workflows.scenario import scenario_at, shanghai

# A stand-in 2027 table (the State Council has not published 2027 yet): New Year 1–3 Jan and
# an extra day off on Monday 4 Jan, so deadlines across it move by a working day.
TABLE_2027 = YearTable.build(
    2027,
    holidays=[date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3), date(2027, 1, 4)],
    workdays=[],
    source="test table",
)


async def test_loading_the_year_recomputes_provisional_deadlines(tmp_path: Path) -> None:
    # Accepted Monday 28 Dec 2026: jilin's 10 working days reach into 2027.
    async with scenario_at(shanghai(2026, 12, 28, 9, 0), tmp_path) as sc:
        case_id = await sc.submit("jilin-2022")
        await sc.do("jl_officer", case_id, "acceptance", "accept")
        case = await sc.wait_case(case_id, lambda c: c["identification_deadline"], "deadline")
        assert case["deadline_provisional"] is True
        # Weekends only: 29, 30, 31 Dec, then 1, 4, 5, 6, 7, 8, 11 Jan.
        assert case["identification_deadline"] == "2027-01-11"

        assert await sc.load_year(TABLE_2027) >= 1

        # With 1 and 4 Jan off: 29, 30, 31 Dec, 5, 6, 7, 8, 11, 12, 13 Jan.
        case = await sc.wait_case(
            case_id, lambda c: c["identification_deadline"] == "2027-01-13", "recomputed deadline"
        )
        assert case["deadline_provisional"] is False
        assert any(e["kind"] == "deadline_recomputed" for e in case["timeline"])
        review = await sc.task("jl_officer", case_id, "initial_review")
        rows = await sc.rows(Task, id=review["id"])
        assert rows and rows[0].sla_provisional is False
