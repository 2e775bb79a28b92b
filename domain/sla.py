"""Service-level clocks: goal, hard deadline, "at risk" and urgency for a case step.

Every clock of the design card (publicity 3 working days, identification 10 working days, the
one-month zero-employment-household clock, the six-month contact check) is an :class:`SlaSpec`:
a *goal* (the target the office aims for) and a *deadline* (the hard limit in the rules), in
working days, calendar days or months. :func:`sla_clock` turns a spec and the aware instant a
step started into dates under the counting convention of :mod:`domain.calendar`: the start day
is not counted and a period ends at the end of its last day, Shanghai time. A clock is "at
risk" during the last ``r`` units of the goal period, where
``r = max(1, ceil(at_risk_fraction × goal span))`` — i.e. when a quarter (by default) or less
of the goal's span is left, and always at least on the goal's last day. Workflows sleep until
the instants ``at_risk_at``, ``goal_at`` and ``deadline_at`` and climb an :class:`SlaLadder`
(reminder, breach, escalation a level up at a time); inboxes sort by :func:`urgency`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from domain.calendar import (
    Deadline,
    WorkingCalendar,
    deadline_end,
    local_date,
    start_of_day,
)

__all__ = [
    "MIN_ESCALATION_INTERVAL",
    "DurationUnit",
    "Rung",
    "SlaClock",
    "SlaLadder",
    "SlaSpec",
    "SlaState",
    "sla_clock",
    "sla_state",
    "state_at",
    "urgency",
    "working_days_left",
]


class SlaState(StrEnum):
    ON_TRACK = "on_track"
    # Inside the last r units of the goal period (see the module docstring).
    AT_RISK = "at_risk"
    # Past the end of the goal day, not yet past the hard deadline.
    BREACHED = "breached"
    # Past the end of the deadline day.
    PAST_DEADLINE = "past_deadline"


class DurationUnit(StrEnum):
    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"
    MONTHS = "months"


@dataclass(frozen=True)
class SlaSpec:
    """A goal and a hard deadline in one unit; ``at_risk_fraction`` in [0, 1)."""

    goal: int
    deadline: int
    unit: DurationUnit
    at_risk_fraction: float = 0.25

    def __post_init__(self) -> None:
        if self.goal < 1:
            raise ValueError(f"goal must be at least 1, got {self.goal}")
        if self.deadline < self.goal:
            raise ValueError(f"deadline ({self.deadline}) must not be before goal ({self.goal})")
        if not 0 <= self.at_risk_fraction < 1:
            raise ValueError(f"at_risk_fraction must be in [0, 1), got {self.at_risk_fraction}")
        # Accept plain strings from configuration while keeping the field typed.
        object.__setattr__(self, "unit", DurationUnit(self.unit))


@dataclass(frozen=True)
class SlaClock:
    """The dates of one running clock. Goal and deadline end at the end of their day; the
    at-risk phase starts at the beginning of ``at_risk_date``. ``provisional`` when any date
    depends on a year without a holiday table (recompute when the table is imported)."""

    started_on: date
    goal_date: date
    deadline_date: date
    at_risk_date: date
    provisional: bool

    @property
    def goal_at(self) -> datetime:
        return deadline_end(self.goal_date)

    @property
    def deadline_at(self) -> datetime:
        return deadline_end(self.deadline_date)

    @property
    def at_risk_at(self) -> datetime:
        return start_of_day(self.at_risk_date)


def _add(calendar: WorkingCalendar, unit: DurationUnit, start: date, n: int) -> Deadline:
    if unit is DurationUnit.WORKING_DAYS:
        return calendar.add_working_days(start, n)
    if unit is DurationUnit.CALENDAR_DAYS:
        return calendar.add_calendar_days(start, n)
    return calendar.add_months(start, n)


def _risk_units(span: int, fraction: float) -> int:
    # round() first so that 0.1 × 30 = 3.0000000000000004 does not become 4.
    return max(1, math.ceil(round(span * fraction, 9)))


def sla_clock(spec: SlaSpec, started: datetime, calendar: WorkingCalendar) -> SlaClock:
    """The clock for a step that started at the aware instant ``started``. The period starts on
    its Shanghai date, which is not counted (a step accepted at 16:55 on a Monday with a goal
    of 3 working days is due at the end of Thursday, absent holidays)."""
    started_on = local_date(started)
    goal = _add(calendar, spec.unit, started_on, spec.goal)
    deadline = _add(calendar, spec.unit, started_on, spec.deadline)
    if spec.unit is DurationUnit.MONTHS:
        # Months vary in length; measure the at-risk window in calendar days of this period.
        span = (goal.date - started_on).days
        r = _risk_units(span, spec.at_risk_fraction)
        at_risk = goal.date - timedelta(days=r - 1)
        at_risk_provisional = False
    else:
        # The last r units of the goal period: they start on unit number goal - r + 1 (≥ 1).
        r = min(spec.goal, _risk_units(spec.goal, spec.at_risk_fraction))
        risk = _add(calendar, spec.unit, started_on, spec.goal - r + 1)
        at_risk, at_risk_provisional = risk.date, risk.provisional
    return SlaClock(
        started_on=started_on,
        goal_date=goal.date,
        deadline_date=deadline.date,
        at_risk_date=at_risk,
        provisional=goal.provisional or deadline.provisional or at_risk_provisional,
    )


def state_at(
    at_risk_at: datetime, goal_at: datetime, deadline_at: datetime, now: datetime
) -> SlaState:
    """The state at the aware instant ``now`` from the three stored instants (for projections
    such as the task table, which keep instants rather than a :class:`SlaClock`). Each
    transition happens exactly at its instant, so a workflow timer firing then agrees."""
    if now >= deadline_at:
        return SlaState.PAST_DEADLINE
    if now >= goal_at:
        return SlaState.BREACHED
    if now >= at_risk_at:
        return SlaState.AT_RISK
    return SlaState.ON_TRACK


def sla_state(clock: SlaClock, now: datetime) -> SlaState:
    """The state of ``clock`` at the aware instant ``now`` (see :func:`state_at`)."""
    return state_at(clock.at_risk_at, clock.goal_at, clock.deadline_at, now)


def working_days_left(clock: SlaClock, now: datetime, calendar: WorkingCalendar) -> int:
    """Working days after today up to and including the goal day (today's Shanghai date).

    1 means "due by the end of the next working day"; 0 means "due by the end of today" (also
    on non-working days just after the goal day, since no working day has been lost yet); -k
    on the k-th working day after the goal day. Counted in working days whatever the unit.
    """
    return calendar.working_days_between(local_date(now), clock.goal_date)


# Urgency bands: below the goal 0..89, between goal and deadline 90..99, past deadline 100.
_GOAL_BAND = 89
_LATE_BASE = 90
_LATE_BAND = 9


def urgency(clock: SlaClock, now: datetime, calendar: WorkingCalendar) -> int:
    """An integer 0..100 for sorting inboxes (higher = more urgent), non-decreasing in ``now``.

    Measured in working days (staff act on working days, whatever the spec's unit):
    * before ``goal_at``: ``89 × used / T``, where T = working days from the start to the goal
      day (at least 1) and used = T minus :func:`working_days_left` (clamped to 0..T) — 0 on the
      start day, 89 on the goal day;
    * from ``goal_at`` to ``deadline_at``: ``90 + min(9, 9 × late / D)``, where D = working days
      from the goal day to the deadline day (at least 1) and late = working days from the goal
      day to today — 99 on the deadline day;
    * from ``deadline_at``: 100.
    """
    if now >= clock.deadline_at:
        return 100
    today = local_date(now)
    if now >= clock.goal_at:
        span = max(1, calendar.working_days_between(clock.goal_date, clock.deadline_date))
        late = max(0, calendar.working_days_between(clock.goal_date, today))
        return _LATE_BASE + min(_LATE_BAND, (_LATE_BAND * late) // span)
    total = max(1, calendar.working_days_between(clock.started_on, clock.goal_date))
    left = calendar.working_days_between(today, clock.goal_date)
    used = min(total, max(0, total - left))
    return (_GOAL_BAND * used) // total


# The fastest a breach climbs the tree: a hard deadline's every day, a task's at least this
# far apart even when its goal and deadline fall together.
MIN_ESCALATION_INTERVAL = timedelta(days=1)


@dataclass(frozen=True)
class Rung:
    """One step of an :class:`SlaLadder`: level 0 is the at-risk reminder; level n ≥ 1 goes to
    the n-th place up the jurisdiction tree, the first recording the breach."""

    level: int
    at: datetime
    event: SlaState


@dataclass(frozen=True)
class SlaLadder:
    """The instants a running clock acts at: the reminder at ``at_risk_at``; the breach,
    escalated one level, at ``breach_at``; each further level at ``climb_at`` and then every
    ``climb_every``, up to ``levels`` levels (the places there are to escalate to)."""

    at_risk_at: datetime
    breach_at: datetime
    climb_at: datetime
    climb_every: timedelta
    levels: int

    @classmethod
    def of_task(
        cls, at_risk_at: datetime, goal_at: datetime, deadline_at: datetime, levels: int
    ) -> SlaLadder:
        """A task's: breached at its goal, a level up at its deadline and then every further
        goal-to-deadline span."""
        every = max(deadline_at - goal_at, MIN_ESCALATION_INTERVAL)
        return cls(at_risk_at, goal_at, deadline_at, every, levels)

    @classmethod
    def of_deadline(cls, at_risk_at: datetime, deadline_at: datetime, levels: int) -> SlaLadder:
        """A hard limit's: breached at the deadline, a level up every day after."""
        every = MIN_ESCALATION_INTERVAL
        return cls(at_risk_at, deadline_at, deadline_at + every, every, levels)

    def rung(self, level: int) -> Rung | None:
        """The rung at ``level`` (0 = the reminder); None above the top of the tree."""
        if level == 0:
            return Rung(0, self.at_risk_at, SlaState.AT_RISK)
        if level > self.levels:
            return None
        if level == 1:
            return Rung(1, self.breach_at, SlaState.BREACHED)
        return Rung(level, self.climb_at + self.climb_every * (level - 2), SlaState.PAST_DEADLINE)

    def overtaken(self, rung: Rung, now: datetime) -> bool:
        """Whether the rung after ``rung`` is due at ``now`` too (a reminder taken late, once
        the breach it warns of has come)."""
        following = self.rung(rung.level + 1)
        return following is not None and now >= following.at
