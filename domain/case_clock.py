"""Where a case is now (办理进度): the current stage of its procedure and that stage's clock.

One pure computation serves the case page, the API's case detail and any page that needs it:
from the pack's procedure (its stages in order), the stored case stage, the timeline's events
and the open tasks, it says which stage the case is in, what it waits on (an office, the
applicant or a clock), when that wait started, its inclusive last day, the working days left
(counted with :class:`domain.calendar.WorkingCalendar`, holidays and 调休 make-up days
included) and whether it is overdue; and, for the stage map, each stage of the procedure as
done (with the day it finished), current (with its clock) or next.

Stored instants that end a period are exclusive (the period's last day ends at the next day's
00:00 in Shanghai, :func:`domain.calendar.deadline_end`); people read the inclusive last day,
so :func:`last_day` is the one conversion everyone uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from domain.calendar import WorkingCalendar, local_date
from domain.vocabulary import REEXAMINATION_WINDOW

__all__ = [
    "CaseClock",
    "CasePosition",
    "ClockKind",
    "MapStep",
    "OpenTaskFact",
    "ProcedureStage",
    "StepState",
    "TimelineFact",
    "WaitingOn",
    "case_position",
    "last_day",
]

# Who or what the case waits on: an office's task, the applicant (补充材料), a clock that
# runs by itself (公示期), or nothing open right now (between two steps, or concluded).
WaitingOn = Literal["office", "applicant", "clock", "none"]
# The clock of the current stage: the publicity period, an office's task (its goal day), the
# applicant's supplement period.
ClockKind = Literal["publicity", "task", "supplement"]
StepState = Literal["done", "current", "next", "not_reached"]

# Task kinds that are a stage's own work (the rest — objections, escalations, informing a
# refusal — run beside a stage and do not move the case along).
_STAGE_TASKS: Mapping[str, str] = {
    "acceptance": "acceptance",
    "initial_review": "initial_review",
    "home_visit": "home_visit",
    "publicity_report": "publicity",  # the report closes the publicity stage
    "review": "review",
    "immediate_conclusion": "immediate_conclusion",
}
# Stored case stages before the procedure's first human stage (intake, supplement) and after
# it (concluded).
_BEFORE = frozenset({"intake", "supplement"})
_CONCLUDED = frozenset({"identified", "closed", "exited", "assistance"})
# The stage kinds whose task completion ends the stage (the others end with their own event).
_DECISION_STAGES = frozenset({"initial_review", "home_visit", "review", "immediate_conclusion"})


# The events that set the end of a publicity (公示期): its start and each restart.
PUBLICITY_EVENTS = ("publicity", "publicity_restart")


def as_utc(at: datetime) -> datetime:
    """A stored instant as an aware one: SQLite hands back naive UTC."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def last_day(end: datetime) -> date:
    """The inclusive last day (Shanghai) of a period whose stored end instant is exclusive:
    2026-12-08T00:00+08:00 is the end of 7 December, so the last day is 2026-12-07."""
    return local_date(as_utc(end) - timedelta(microseconds=1))


@dataclass(frozen=True)
class ProcedureStage:
    """A stage of the pinned pack's procedure (:class:`domain.policy.model.Stage`); ``id``
    where the pack names one (a second review level), else the stage is known by its kind."""

    kind: str
    name: str
    name_en: str
    role: str
    id: str = ""

    @property
    def code(self) -> str:
        return self.id or self.kind


@dataclass(frozen=True)
class TimelineFact:
    """A timeline event as stored: its kind (``publicity``, ``stage:…`` keys' prefix,
    ``task_completed`` …), when, and the ``after`` data (``stage``, ``ends_at``, ``task_id``)."""

    kind: str
    at: datetime
    after: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ends_at(self) -> datetime | None:
        raw = self.after.get("ends_at")
        if not isinstance(raw, str):
            return None
        try:
            return as_utc(datetime.fromisoformat(raw))
        except ValueError:
            return None

    @property
    def task_kind(self) -> str | None:
        task_id = self.after.get("task_id")
        if isinstance(task_id, str) and task_id.count(".") >= 2:
            return task_id.rsplit(".", 2)[1]  # ids are <workflow>.<kind>.<seq>
        return None

    @property
    def task_stage(self) -> str | None:
        """The stage a completed task was: the stage id it names, else its kind's stage."""
        named = self.after.get("stage_id")
        if isinstance(named, str) and named:
            return named
        return self.task_kind


@dataclass(frozen=True)
class OpenTaskFact:
    """An open task: its kind, when it opened and its goal instant (exclusive); ``stage``, the
    stage id its payload names (a second review level), if any."""

    id: str
    kind: str
    created_at: datetime
    due_at: datetime
    stage: str | None = None

    @property
    def stage_code(self) -> str | None:
        """The procedure stage this task is the work of (None: it runs beside a stage)."""
        kind = _STAGE_TASKS.get(self.kind)
        if kind is None or kind == "publicity":
            return kind
        return self.stage or kind


@dataclass(frozen=True)
class CaseClock:
    """The current stage's clock: ``start`` and ``last_day`` are Shanghai dates (the last day
    inclusive); ``working_days_left`` counts the working days after today up to the last day
    (0: it ends today; negative: that many working days late)."""

    kind: ClockKind
    start: date
    last_day: date
    working_days_left: int
    overdue: bool
    provisional: bool = False
    task_id: str | None = None


@dataclass(frozen=True)
class MapStep:
    """A stage of the procedure on the stage map; ``kind`` is the stage's code (its id where
    the pack names one, shown by ``name`` then)."""

    kind: str
    name: str
    name_en: str
    state: StepState
    finished_on: date | None = None
    started_on: date | None = None
    # A step the applicant may still ask for, until this day (a refusal's re-examination).
    open_until: date | None = None


@dataclass(frozen=True)
class CasePosition:
    """Where the case is: ``stage`` (the stored stage code, or the open task's stage), what it
    waits on, the clock (None when nothing runs), and the stage map."""

    stage: str | None
    waiting_on: WaitingOn
    clock: CaseClock | None
    steps: tuple[MapStep, ...]

    @property
    def current(self) -> MapStep | None:
        return next((s for s in self.steps if s.state == "current"), None)

    def stage_name(self, code: str | None) -> str | None:
        """The pack's name of the stage ``code`` (a stage id the label catalogue cannot know,
        ``street_recheck`` → 街道复查), None for a code that is no stage of the map."""
        return next((s.name for s in self.steps if s.kind == code), None)


def _finished(stages: Sequence[ProcedureStage], events: Sequence[TimelineFact]) -> dict[str, date]:
    """The day each stage finished (by stage code), from the events that end it (the latest
    wins)."""
    kinds = {s.kind for s in stages}
    publicity = next((s.code for s in stages if s.kind == "publicity"), "publicity")
    out: dict[str, date] = {}
    for e in events:
        day = local_date(as_utc(e.at))
        if e.kind == "accepted" and "acceptance" in kinds:
            out["acceptance"] = day
        elif e.kind == "pre_check" and "data_check" in kinds and "data_check" not in out:
            out["data_check"] = day  # the department data are asked at intake
        elif e.kind == "publicity_ended":
            out[publicity] = day
        elif e.kind == "task_completed" and e.task_kind in _DECISION_STAGES:
            out[str(e.task_stage)] = day
        elif e.kind == "task_completed" and e.task_kind == "publicity_report":
            out[publicity] = day
    return out


def _started(events: Sequence[TimelineFact]) -> dict[str, date]:
    out: dict[str, date] = {}
    for e in events:
        stage = e.after.get("stage")
        if e.kind in ("stage", "publicity") and isinstance(stage, str):
            out.setdefault(stage, local_date(as_utc(e.at)))
    return out


def _current_kind(
    stages: Sequence[ProcedureStage], stored: str | None, tasks: Sequence[OpenTaskFact]
) -> str | None:
    """The procedure stage (its code) the case is in: an open stage task says it best (the
    stored stage may still read ``intake`` while the acceptance task is open); else the stored
    stage."""
    codes = [s.code for s in stages]
    publicity = next((s.code for s in stages if s.kind == "publicity"), None)
    for t in tasks:
        code = publicity if t.stage_code == "publicity" else t.stage_code
        if code in codes:
            return code
    if stored in codes:
        return stored
    if stored == "publicity_report" and publicity is not None:
        return publicity
    if stored is None or stored in _BEFORE:
        human = [s.code for s in stages if s.role != "system"]
        return human[0] if human else (codes[0] if codes else None)
    return None


def _task_clock(
    kind: ClockKind, task: OpenTaskFact, today: date, now: datetime, cal: WorkingCalendar
) -> CaseClock:
    end = last_day(task.due_at)
    return CaseClock(
        kind=kind,
        start=local_date(as_utc(task.created_at)),
        last_day=end,
        working_days_left=cal.working_days_between(today, end),
        overdue=now >= as_utc(task.due_at),
        provisional=bool(cal.provisional_years_between(today, end)),
        task_id=task.id,
    )


def case_position(
    *,
    stages: Sequence[ProcedureStage],
    stored_stage: str | None,
    concluded: bool,
    events: Sequence[TimelineFact],
    open_tasks: Sequence[OpenTaskFact],
    now: datetime,
    calendar: WorkingCalendar,
    reexamination: ProcedureStage | None = None,
) -> CasePosition:
    """Where the case is now (see the module docstring). ``concluded``: the case is closed or
    identified, so no stage is current and stages never reached stay ``not_reached``.
    ``reexamination``: the pack's re-examination (复核), for a refused case that may ask or
    has asked for it; drawn after the stages (see :func:`_reexamination_step`)."""
    today = local_date(now)
    finished = _finished(stages, events)
    started = _started(events)
    tasks = sorted(open_tasks, key=lambda t: as_utc(t.due_at))
    current = None if concluded else _current_kind(stages, stored_stage, tasks)
    publicity_code = next((s.code for s in stages if s.kind == "publicity"), "publicity")
    clock: CaseClock | None = None
    waiting: WaitingOn = "none"
    stage = stored_stage
    if not concluded:
        supplement = next((t for t in tasks if t.kind == "supplement"), None)
        stage_task = next(
            (
                t
                for t in tasks
                if (publicity_code if t.stage_code == "publicity" else t.stage_code) == current
            ),
            None,
        )
        publicity = [e for e in events if e.kind in PUBLICITY_EVENTS]
        if supplement is not None:
            # 一次性告知: the applicant brings the missing materials within the period.
            stage, waiting = "supplement", "applicant"
            clock = _task_clock("supplement", supplement, today, now, calendar)
        elif stage_task is not None:
            stage, waiting = stage_task.stage or stage_task.kind, "office"
            clock = _task_clock("task", stage_task, today, now, calendar)
        elif stored_stage == publicity_code and publicity and publicity[-1].ends_at is not None:
            ends = publicity[-1].ends_at
            assert ends is not None
            end = last_day(ends)
            # A publicity past its end waits only on the objections still open.
            waiting = "clock" if now < ends else "office"
            clock = CaseClock(
                kind="publicity",
                start=local_date(as_utc(publicity[0].at)),
                last_day=end,
                working_days_left=max(0, calendar.working_days_between(today, end)),
                overdue=False,  # the publicity ends by itself; nobody can be late on it
                provisional=bool(calendar.provisional_years_between(today, end)),
            )
    steps: list[MapStep] = []
    codes = [s.code for s in stages]
    index = codes.index(current) if current in codes else None
    for i, s in enumerate(stages):
        state: StepState
        if concluded:
            state = "done" if s.code in finished else "not_reached"
        elif index is None:
            state = "done" if s.code in finished else "next"
        elif i < index:
            state = "done"
        elif i == index:
            state = "current"
        else:
            state = "next"
        steps.append(
            MapStep(
                kind=s.code,
                name=s.name,
                name_en=s.name_en,
                state=state,
                finished_on=finished.get(s.code) if state == "done" else None,
                started_on=(clock.start if clock else started.get(s.code))
                if state == "current"
                else None,
            )
        )
    if reexamination is not None:
        step, task_clock = _reexamination_step(
            reexamination, stored_stage, events, tasks, today, now, calendar
        )
        steps.append(step)
        if task_clock is not None:
            stage, waiting, clock = reexamination.code, "office", task_clock
    return CasePosition(stage=stage, waiting_on=waiting, clock=clock, steps=tuple(steps))


def _reexamination_step(
    rule: ProcedureStage,
    stored_stage: str | None,
    events: Sequence[TimelineFact],
    tasks: Sequence[OpenTaskFact],
    today: date,
    now: datetime,
    cal: WorkingCalendar,
) -> tuple[MapStep, CaseClock | None]:
    """The re-examination after a refusal as the map's last step: ``current`` while its
    office's task is open (with that task's clock), ``done`` once decided, ``next`` while the
    applicant may still ask (the refusal's window), ``not_reached`` when the window passed."""
    task = next((t for t in tasks if t.kind == rule.kind), None)
    decided = [
        local_date(as_utc(e.at))
        for e in events
        if e.kind == "task_completed" and e.task_kind == rule.kind
    ]
    state: StepState
    clock = None
    open_until = None
    if task is not None:
        state, clock = "current", _task_clock("task", task, today, now, cal)
    elif decided:
        state = "done"
    elif stored_stage == REEXAMINATION_WINDOW:
        state = "next"
        windows = [e.ends_at for e in events if e.kind == REEXAMINATION_WINDOW and e.ends_at]
        open_until = last_day(windows[-1]) if windows else None
    else:
        state = "not_reached"
    step = MapStep(
        kind=rule.code,
        name=rule.name,
        name_en=rule.name_en,
        state=state,
        finished_on=decided[-1] if state == "done" else None,
        started_on=clock.start if clock is not None else None,
        open_until=open_until,
    )
    return step, clock
