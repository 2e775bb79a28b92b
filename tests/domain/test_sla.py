"""SLA clocks across the 2026 National Day holiday: dates, exact transition instants, urgency
and working days left."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, strategies as st

from domain.calendar import SHANGHAI
from domain.calendar_seed import seed_calendar
from domain.sla import (
    DurationUnit,
    Rung,
    SlaClock,
    SlaLadder,
    SlaSpec,
    SlaState,
    sla_clock,
    sla_state,
    state_at,
    urgency,
    working_days_left,
)

CAL = seed_calendar()
TICK = timedelta(microseconds=1)
WD = DurationUnit.WORKING_DAYS

# Identification: goal 5 working days, hard deadline 10 (jilin), accepted Mon 2026-09-28 10:00.
IDENT = SlaSpec(goal=5, deadline=10, unit=WD)
ACCEPTED = datetime(2026, 9, 28, 10, 0, tzinfo=SHANGHAI)


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def test_identification_clock_across_national_day() -> None:
    clock = sla_clock(IDENT, ACCEPTED, CAL)
    # Working days after Sep 28: Sep 29, 30, Oct 8, 9, 10 (make-up Sat), 12, 13, 14, 15, 16.
    # At risk in the last r = max(1, ceil(0.25 × 5)) = 2 working days of the goal: Oct 9, 10.
    assert clock == SlaClock(
        started_on=date(2026, 9, 28),
        goal_date=date(2026, 10, 10),
        deadline_date=date(2026, 10, 16),
        at_risk_date=date(2026, 10, 9),
        provisional=False,
    )
    assert clock.at_risk_at == sh(2026, 10, 9)
    assert clock.goal_at == sh(2026, 10, 11)
    assert clock.deadline_at == sh(2026, 10, 17)
    assert clock.goal_at == datetime(2026, 10, 10, 16, 0, tzinfo=UTC)


def test_state_transitions_at_exact_instants() -> None:
    clock = sla_clock(IDENT, ACCEPTED, CAL)
    assert sla_state(clock, ACCEPTED) is SlaState.ON_TRACK
    assert sla_state(clock, sh(2026, 10, 1, 12)) is SlaState.ON_TRACK  # holiday
    assert sla_state(clock, clock.at_risk_at - TICK) is SlaState.ON_TRACK
    assert sla_state(clock, clock.at_risk_at) is SlaState.AT_RISK
    assert sla_state(clock, sh(2026, 10, 10, 23, 59)) is SlaState.AT_RISK
    assert sla_state(clock, clock.goal_at - TICK) is SlaState.AT_RISK
    assert sla_state(clock, clock.goal_at) is SlaState.BREACHED
    assert sla_state(clock, clock.deadline_at - TICK) is SlaState.BREACHED
    assert sla_state(clock, clock.deadline_at) is SlaState.PAST_DEADLINE
    # The same instant in UTC gives the same state.
    assert sla_state(clock, datetime(2026, 10, 8, 15, 59, tzinfo=UTC)) is SlaState.ON_TRACK
    assert sla_state(clock, datetime(2026, 10, 8, 16, 0, tzinfo=UTC)) is SlaState.AT_RISK


def test_state_at_from_stored_instants_in_any_offset() -> None:
    clock = sla_clock(IDENT, ACCEPTED, CAL)
    stored = [t.astimezone(UTC) for t in (clock.at_risk_at, clock.goal_at, clock.deadline_at)]
    for hours in range(0, 24 * 20, 7):
        now = ACCEPTED + timedelta(hours=hours)
        assert state_at(*stored, now) is sla_state(clock, now)
    assert state_at(*stored, stored[1]) == "breached"


def test_start_instant_is_converted_to_shanghai_date() -> None:
    # 2026-09-29 17:30 UTC is already Sep 30 01:30 in Shanghai: Sep 30 is the uncounted day.
    clock = sla_clock(SlaSpec(3, 3, WD), datetime(2026, 9, 29, 17, 30, tzinfo=UTC), CAL)
    assert clock.started_on == date(2026, 9, 30)
    # Publicity: 3 working days after Sep 30 is Sat 2026-10-10 (make-up day); r = 1.
    assert (clock.goal_date, clock.deadline_date, clock.at_risk_date) == (
        date(2026, 10, 10),
        date(2026, 10, 10),
        date(2026, 10, 10),
    )
    with pytest.raises(ValueError, match="naive"):
        sla_clock(IDENT, datetime(2026, 9, 28, 10, 0), CAL)


def test_spring_festival_publicity() -> None:
    # Publicity posted Fri 2026-02-13 15:00: Sat 14 (make-up), Tue 24, Wed 25.
    clock = sla_clock(SlaSpec(3, 3, WD), sh(2026, 2, 13, 15), CAL)
    assert clock.goal_date == date(2026, 2, 25)
    assert sla_state(clock, sh(2026, 2, 20)) is SlaState.ON_TRACK
    assert sla_state(clock, sh(2026, 2, 25)) is SlaState.AT_RISK
    assert sla_state(clock, sh(2026, 2, 26)) is SlaState.PAST_DEADLINE


def test_calendar_days_and_months() -> None:
    clock = sla_clock(SlaSpec(8, 10, DurationUnit.CALENDAR_DAYS), ACCEPTED, CAL)
    assert (clock.goal_date, clock.deadline_date) == (date(2026, 10, 6), date(2026, 10, 8))
    assert clock.at_risk_date == date(2026, 10, 5)  # r = ceil(2) = 2 days: Oct 5, 6
    # Zero-employment household: one month, from 31 Jan → 28 Feb; span 28 days, r = 7.
    month = sla_clock(SlaSpec(1, 1, DurationUnit.MONTHS), sh(2026, 1, 31, 9), CAL)
    assert month.goal_date == date(2026, 2, 28)
    assert month.at_risk_date == date(2026, 2, 22)
    assert not month.provisional
    six = sla_clock(SlaSpec(6, 6, "months"), sh(2026, 3, 15, 9), CAL)  # type: ignore[arg-type]
    assert six.goal_date == date(2026, 9, 15)


def test_provisional_when_a_year_has_no_table() -> None:
    clock = sla_clock(IDENT, sh(2026, 12, 28, 9), CAL)
    assert clock.provisional
    assert clock.goal_date == date(2027, 1, 4)  # Dec 29, 30, 31, Jan 1 (weekends only), Jan 4


def test_spec_validation() -> None:
    with pytest.raises(ValueError, match="goal"):
        SlaSpec(0, 3, WD)
    with pytest.raises(ValueError, match="deadline"):
        SlaSpec(5, 3, WD)
    with pytest.raises(ValueError, match="at_risk_fraction"):
        SlaSpec(3, 3, WD, at_risk_fraction=1.0)
    with pytest.raises(ValueError):
        SlaSpec(3, 3, "fortnights")  # type: ignore[arg-type]
    assert SlaSpec(3, 3, "working_days").unit is WD  # type: ignore[arg-type]


def test_at_risk_fraction() -> None:
    # 10 working days at 25 %: r = ceil(2.5) = 3 → the 8th working day (Oct 14).
    ten = sla_clock(SlaSpec(10, 10, WD), ACCEPTED, CAL)
    assert ten.at_risk_date == date(2026, 10, 14)
    # 10 % of 30 is exactly 3, not 4 (floating point).
    thirty = sla_clock(SlaSpec(30, 30, WD, at_risk_fraction=0.1), ACCEPTED, CAL)
    assert CAL.working_days_between(thirty.at_risk_date, thirty.goal_date) == 2
    # Fraction 0 still warns on the goal day itself.
    zero = sla_clock(SlaSpec(10, 10, WD, at_risk_fraction=0), ACCEPTED, CAL)
    assert zero.at_risk_date == zero.goal_date


def test_working_days_left() -> None:
    clock = sla_clock(IDENT, ACCEPTED, CAL)
    assert working_days_left(clock, ACCEPTED, CAL) == 5
    assert working_days_left(clock, sh(2026, 10, 1, 9), CAL) == 3  # Oct 8, 9, 10
    assert working_days_left(clock, sh(2026, 10, 10, 18), CAL) == 0
    assert working_days_left(clock, sh(2026, 10, 11, 9), CAL) == 0  # Sunday after the goal
    assert working_days_left(clock, sh(2026, 10, 12, 9), CAL) == -1
    assert working_days_left(clock, sh(2026, 10, 16, 9), CAL) == -5


def test_urgency_bands() -> None:
    clock = sla_clock(IDENT, ACCEPTED, CAL)
    assert urgency(clock, ACCEPTED, CAL) == 0
    assert urgency(clock, sh(2026, 10, 1), CAL) == 35  # 2 of 5 used: 89 × 2 // 5
    assert urgency(clock, sh(2026, 10, 10, 12), CAL) == 89
    assert urgency(clock, clock.goal_at, CAL) == 90
    assert urgency(clock, sh(2026, 10, 12, 9), CAL) == 90 + 9 * 1 // 5
    assert urgency(clock, sh(2026, 10, 16, 23, 59), CAL) == 99
    assert urgency(clock, clock.deadline_at, CAL) == 100
    assert urgency(clock, sh(2027, 1, 1), CAL) == 100
    # Before the start (clock skew) is simply 0.
    assert urgency(clock, sh(2026, 9, 1), CAL) == 0


@given(st.integers(0, 24 * 30), st.integers(0, 24 * 30))
def test_urgency_is_monotonic_and_bounded(h1: int, h2: int) -> None:
    clock = sla_clock(IDENT, ACCEPTED, CAL)
    a, b = sorted((h1, h2))
    ua = urgency(clock, ACCEPTED + timedelta(hours=a), CAL)
    ub = urgency(clock, ACCEPTED + timedelta(hours=b), CAL)
    assert 0 <= ua <= ub <= 100


@given(st.integers(0, 24 * 30))
def test_state_matches_urgency_band(hours: int) -> None:
    clock = sla_clock(IDENT, ACCEPTED, CAL)
    now = ACCEPTED + timedelta(hours=hours)
    state, u = sla_state(clock, now), urgency(clock, now, CAL)
    if state is SlaState.PAST_DEADLINE:
        assert u == 100
    elif state is SlaState.BREACHED:
        assert 90 <= u <= 99
    else:
        assert u <= 89


DAY = timedelta(days=1)


def test_task_ladder_reminds_breaches_at_the_goal_and_climbs_per_goal_span() -> None:
    # Identification as one task: goal Sat 10 Oct, deadline Fri 16 Oct; three places above it.
    clock = sla_clock(IDENT, ACCEPTED, CAL)
    ladder = SlaLadder.of_task(clock.at_risk_at, clock.goal_at, clock.deadline_at, levels=3)
    span = clock.deadline_at - clock.goal_at
    assert [ladder.rung(n) for n in range(5)] == [
        Rung(0, sh(2026, 10, 9), SlaState.AT_RISK),
        Rung(1, clock.goal_at, SlaState.BREACHED),
        Rung(2, clock.deadline_at, SlaState.PAST_DEADLINE),
        Rung(3, clock.deadline_at + span, SlaState.PAST_DEADLINE),
        None,  # above the province nobody is left to escalate to
    ]
    assert span == 6 * DAY


def test_task_ladder_whose_goal_is_its_deadline_climbs_a_level_a_day() -> None:
    # 吉人社发〔2022〕10号 二(四) split per stage: acceptance 1/1 working day from Wed 30 Sep.
    clock = sla_clock(SlaSpec(1, 1, WD), sh(2026, 9, 30, 9), CAL)
    ladder = SlaLadder.of_task(clock.at_risk_at, clock.goal_at, clock.deadline_at, levels=3)
    assert [r.at if r else None for r in map(ladder.rung, range(5))] == [
        sh(2026, 10, 8),
        sh(2026, 10, 9),
        sh(2026, 10, 9),
        sh(2026, 10, 10),
        None,
    ]


def test_deadline_ladder_breaches_at_the_deadline_then_a_level_a_day() -> None:
    # jilin 二(四): 10 working days from acceptance for both levels together.
    clock = sla_clock(SlaSpec(10, 10, WD), ACCEPTED, CAL)
    ladder = SlaLadder.of_deadline(clock.at_risk_at, clock.deadline_at, levels=3)
    assert [ladder.rung(n) for n in range(5)] == [
        Rung(0, sh(2026, 10, 14), SlaState.AT_RISK),
        Rung(1, sh(2026, 10, 17), SlaState.BREACHED),
        Rung(2, sh(2026, 10, 18), SlaState.PAST_DEADLINE),
        Rung(3, sh(2026, 10, 19), SlaState.PAST_DEADLINE),
        None,
    ]


def test_a_ladder_with_nowhere_to_escalate_still_reminds() -> None:
    ladder = SlaLadder.of_task(sh(2026, 10, 8), sh(2026, 10, 9), sh(2026, 10, 9), levels=0)
    assert ladder.rung(0) == Rung(0, sh(2026, 10, 8), SlaState.AT_RISK)
    assert ladder.rung(1) is None


def test_a_reminder_is_overtaken_once_the_breach_is_due() -> None:
    ladder = SlaLadder.of_deadline(sh(2026, 10, 24), sh(2026, 11, 1), levels=1)
    reminder, breach = ladder.rung(0), ladder.rung(1)
    assert reminder is not None and breach is not None
    assert not ladder.overtaken(reminder, sh(2026, 10, 24))
    assert not ladder.overtaken(reminder, sh(2026, 11, 1) - TICK)
    assert ladder.overtaken(reminder, sh(2026, 11, 1))
    assert not ladder.overtaken(breach, sh(2027, 1, 1))  # the top: nothing after it


@given(st.integers(0, 24 * 30), st.integers(1, 5), st.integers(0, 4))
def test_rungs_come_in_order(hours: int, deadline: int, levels: int) -> None:
    clock = sla_clock(SlaSpec(1, deadline, WD), ACCEPTED + timedelta(hours=hours), CAL)
    for ladder in (
        SlaLadder.of_task(clock.at_risk_at, clock.goal_at, clock.deadline_at, levels),
        SlaLadder.of_deadline(clock.at_risk_at, clock.deadline_at, levels),
    ):
        rungs = [ladder.rung(n) for n in range(levels + 2)]
        assert rungs[-1] is None
        taken = [r for r in rungs if r is not None]
        assert [r.level for r in taken] == list(range(levels + 1))
        assert all(a.at <= b.at for a, b in pairwise(taken))
        assert [r.event for r in taken[:2]] == [SlaState.AT_RISK, SlaState.BREACHED][: len(taken)]
        assert {r.event for r in taken[2:]} <= {SlaState.PAST_DEADLINE}
