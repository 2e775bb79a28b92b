"""Where a case is now (domain/case_clock.py): the current stage, what it waits on, its clock
counted in working days across a holiday and a make-up working day (调休), the exclusive end
instant read as its inclusive last day, and the stage map."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.calendar import SHANGHAI, WorkingCalendar, YearTable, deadline_end
from domain.case_clock import (
    OpenTaskFact,
    ProcedureStage,
    TimelineFact,
    case_position,
    last_day,
)

# A made-up December 2026: Wednesday 9 December is a holiday, Saturday 12 December is worked.
HOLIDAY, MAKEUP = date(2026, 12, 9), date(2026, 12, 12)
CAL = WorkingCalendar([YearTable.build(2026, [HOLIDAY], [MAKEUP], "test")])

STAGES = [
    ProcedureStage("acceptance", "受理", "Acceptance", "grassroots_officer"),
    ProcedureStage("data_check", "部门信息共享", "Data sharing", "system"),
    ProcedureStage("initial_review", "初审", "Initial review", "grassroots_officer"),
    ProcedureStage("publicity", "公示", "Publicity", "grassroots_officer"),
    ProcedureStage("review", "复核认定", "Review", "county_reviewer"),
]


def at(d: date, hour: int = 10) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=SHANGHAI)


def history(publicity_start: date, publicity_last: date) -> list[TimelineFact]:
    return [
        TimelineFact("pre_check", at(date(2026, 11, 30)), {"eligible": True}),
        TimelineFact("accepted", at(date(2026, 12, 1)), {"stage": "intake"}),
        TimelineFact("stage", at(date(2026, 12, 1), 11), {"stage": "initial_review"}),
        TimelineFact(
            "task_completed",
            at(date(2026, 12, 4)),
            {"task_id": "case-1.initial_review.1", "outcome": "approve"},
        ),
        TimelineFact(
            "publicity",
            at(publicity_start),
            {"stage": "publicity", "ends_at": deadline_end(publicity_last).isoformat()},
        ),
    ]


def test_the_exclusive_end_instant_is_read_as_its_inclusive_last_day() -> None:
    assert last_day(datetime(2026, 12, 8, tzinfo=SHANGHAI)) == date(2026, 12, 7)
    # The same instant in UTC, and as SQLite hands it back (naive UTC).
    assert last_day(datetime(2026, 12, 7, 16, tzinfo=UTC)) == date(2026, 12, 7)
    assert last_day(datetime(2026, 12, 7, 16)) == date(2026, 12, 7)
    # An instant inside a day is on that day.
    assert last_day(datetime(2026, 12, 8, 0, 1, tzinfo=SHANGHAI)) == date(2026, 12, 8)


def test_publicity_across_a_holiday_counts_working_days_left() -> None:
    # 3 working days from Monday 7 December: 8, (9 is a holiday), 10, 11.
    last = CAL.add_working_days(date(2026, 12, 7), 3).date
    assert last == date(2026, 12, 11)
    where = case_position(
        stages=STAGES,
        stored_stage="publicity",
        concluded=False,
        events=history(date(2026, 12, 7), last),
        open_tasks=[],
        now=at(date(2026, 12, 8)),
        calendar=CAL,
    )
    assert where.stage == "publicity"
    assert where.waiting_on == "clock"
    clock = where.clock
    assert clock is not None
    assert (clock.kind, clock.start, clock.last_day) == ("publicity", date(2026, 12, 7), last)
    # After Tuesday 8 December: 10 and 11 (the holiday on the 9th does not count).
    assert clock.working_days_left == 2
    assert clock.overdue is False


def test_publicity_across_a_make_up_working_day() -> None:
    # From Thursday 10 December: 11, Saturday 12 (worked), then Monday 14.
    last = CAL.add_working_days(date(2026, 12, 10), 3).date
    assert last == date(2026, 12, 14)
    where = case_position(
        stages=STAGES,
        stored_stage="publicity",
        concluded=False,
        events=history(date(2026, 12, 10), last),
        open_tasks=[],
        now=at(date(2026, 12, 11)),
        calendar=CAL,
    )
    assert where.clock is not None
    assert where.clock.last_day == date(2026, 12, 14)
    assert where.clock.working_days_left == 2  # the 12th (调休) and the 14th
    # Without the make-up day the same wait would have one working day left.
    plain = WorkingCalendar([YearTable.build(2026, [HOLIDAY], [], "test")])
    assert plain.working_days_between(date(2026, 12, 11), date(2026, 12, 14)) == 1


def test_the_stage_map_marks_done_current_and_next_with_their_dates() -> None:
    last = date(2026, 12, 11)
    where = case_position(
        stages=STAGES,
        stored_stage="publicity",
        concluded=False,
        events=history(date(2026, 12, 7), last),
        open_tasks=[],
        now=at(date(2026, 12, 8)),
        calendar=CAL,
    )
    steps = {s.kind: s for s in where.steps}
    assert [s.state for s in where.steps] == ["done", "done", "done", "current", "next"]
    assert steps["acceptance"].finished_on == date(2026, 12, 1)
    assert steps["data_check"].finished_on == date(2026, 11, 30)
    assert steps["initial_review"].finished_on == date(2026, 12, 4)
    assert steps["publicity"].started_on == date(2026, 12, 7)
    assert steps["review"].finished_on is None and steps["review"].started_on is None
    assert where.current is steps["publicity"]


def test_an_office_task_is_the_clock_and_its_goal_day_the_last_day() -> None:
    # The acceptance task is open while the stored stage still reads "intake"; its goal
    # instant is the end of Tuesday 8 December.
    task = OpenTaskFact(
        "case-1.acceptance.1", "acceptance", at(date(2026, 12, 4)), deadline_end(date(2026, 12, 8))
    )
    where = case_position(
        stages=STAGES,
        stored_stage="intake",
        concluded=False,
        events=[],
        open_tasks=[task],
        now=at(date(2026, 12, 7)),
        calendar=CAL,
    )
    assert (where.stage, where.waiting_on) == ("acceptance", "office")
    assert where.clock is not None
    assert where.clock.last_day == date(2026, 12, 8)
    assert where.clock.working_days_left == 1
    assert where.clock.task_id == task.id
    assert not where.clock.overdue
    assert [s.state for s in where.steps][:2] == ["current", "next"]
    # The end of the last day passed: overdue, working days late counted negative (the
    # holiday on the 9th is not one of them).
    late = case_position(
        stages=STAGES,
        stored_stage="intake",
        concluded=False,
        events=[],
        open_tasks=[task],
        now=at(date(2026, 12, 10)),
        calendar=CAL,
    )
    assert late.clock is not None
    assert late.clock.overdue is True
    assert late.clock.working_days_left == -1


def test_a_supplement_waits_on_the_applicant() -> None:
    task = OpenTaskFact(
        "case-1.supplement.1", "supplement", at(date(2026, 12, 1)), deadline_end(date(2026, 12, 15))
    )
    where = case_position(
        stages=STAGES,
        stored_stage="supplement",
        concluded=False,
        events=[],
        open_tasks=[task],
        now=at(date(2026, 12, 2)),
        calendar=CAL,
    )
    assert (where.stage, where.waiting_on) == ("supplement", "applicant")
    assert where.clock is not None and where.clock.kind == "supplement"
    assert where.current is not None and where.current.kind == "acceptance"


def test_a_publicity_past_its_end_waits_on_the_open_objection() -> None:
    last = date(2026, 12, 11)
    objection = OpenTaskFact(
        "case-1.objection.1", "objection", at(date(2026, 12, 10)), deadline_end(date(2026, 12, 17))
    )
    where = case_position(
        stages=STAGES,
        stored_stage="publicity",
        concluded=False,
        events=history(date(2026, 12, 7), last),
        open_tasks=[objection],
        now=at(date(2026, 12, 14)),
        calendar=CAL,
    )
    assert where.waiting_on == "office"
    assert where.clock is not None and where.clock.kind == "publicity"
    assert where.clock.working_days_left == 0 and not where.clock.overdue


@pytest.mark.parametrize("stored", ["identified", "closed"])
def test_a_concluded_case_has_no_clock_and_stages_not_reached(stored: str) -> None:
    events = history(date(2026, 12, 7), date(2026, 12, 11))[:4]
    where = case_position(
        stages=STAGES,
        stored_stage=stored,
        concluded=True,
        events=events,
        open_tasks=[],
        now=at(date(2026, 12, 20)),
        calendar=CAL,
    )
    assert where.clock is None and where.waiting_on == "none"
    assert [s.state for s in where.steps] == [
        "done",
        "done",
        "done",
        "not_reached",
        "not_reached",
    ]


def test_an_old_event_without_ends_at_shows_no_publicity_clock() -> None:
    # Events written before the end was kept as data carry it only in the summary.
    events = [TimelineFact("publicity", at(date(2026, 12, 7)), {"stage": "publicity"})]
    where = case_position(
        stages=STAGES,
        stored_stage="publicity",
        concluded=False,
        events=events,
        open_tasks=[],
        now=at(date(2026, 12, 8)) + timedelta(hours=1),
        calendar=CAL,
    )
    assert where.clock is None
    assert where.current is not None and where.current.kind == "publicity"


def test_the_publicity_report_is_the_publicity_stage_waiting_on_the_office() -> None:
    events = [
        *history(date(2026, 12, 7), date(2026, 12, 11)),
        TimelineFact("publicity_ended", at(date(2026, 12, 14), 0), {"stage": "publicity_report"}),
    ]
    report = OpenTaskFact(
        "case-1.publicity_report.1",
        "publicity_report",
        at(date(2026, 12, 14), 0),
        deadline_end(date(2026, 12, 15)),
    )
    where = case_position(
        stages=STAGES,
        stored_stage="publicity_report",
        concluded=False,
        events=events,
        open_tasks=[report],
        now=at(date(2026, 12, 14)),
        calendar=CAL,
    )
    assert (where.stage, where.waiting_on) == ("publicity_report", "office")
    assert where.clock is not None and where.clock.task_id == report.id
    assert where.clock.working_days_left == 1
    assert where.current is not None and where.current.kind == "publicity"
    assert [s.state for s in where.steps] == ["done", "done", "done", "current", "next"]
