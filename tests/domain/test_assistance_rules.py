"""Pure assistance rules (domain/assistance.py): the fraud recovery of 潍人社字〔2023〕1号 五(四) on
worked examples, the refusal window of jilin 三(五) / xinyu 第三条(一)3, the cumulative subsidy
cap and the re-identification cooldown of xinyu 第三条(二), standards' progress, month periods."""

from __future__ import annotations

from datetime import date, datetime

from domain.assistance import (
    Quota,
    SubsidyGrant,
    cap_exceeded,
    fen_to_yuan,
    may_apply_from,
    months_after,
    recovery,
    refusal_limit_reached,
    refusals_in_window,
    standard_progress,
    subsidy_months,
)
from domain.calendar import SHANGHAI


def yuan(n: int) -> int:
    return n * 100


def test_recovery_worked_example_from_the_docstring() -> None:
    """¥1,000 a month from January 2025 for 12 months; the status should have ended on 15 March
    2025 and was cancelled on 10 June 2025: April, May, June are recovered (应注销资格次月起)."""
    grant = SubsidyGrant("social_insurance", date(2025, 1, 1), 12, yuan(1000))
    r = recovery([grant], date(2025, 3, 15), date(2025, 6, 10))
    assert r.from_month == date(2025, 4, 1)
    assert [line.month for line in r.lines] == [
        date(2025, 4, 1),
        date(2025, 5, 1),
        date(2025, 6, 1),
    ]
    assert r.total_fen == yuan(3000)
    assert fen_to_yuan(r.total_fen) == "3000.00"


def test_recovery_with_two_grants_and_an_end_on_the_last_day_of_a_month() -> None:
    """Should have ended on 31 January: the recovery starts in February, not in January; a
    grant that started after the cancellation month was never paid and is not recovered."""
    grants = [
        SubsidyGrant("public_welfare_post", date(2024, 11, 1), 6, yuan(1800)),  # Nov–Apr
        SubsidyGrant("social_insurance", date(2025, 2, 1), 3, 45050),  # Feb–Apr, ¥450.50
        SubsidyGrant("training", date(2025, 5, 1), 1, yuan(900)),  # May: after cancellation
    ]
    r = recovery(grants, date(2025, 1, 31), date(2025, 3, 2))
    assert r.from_month == date(2025, 2, 1)
    # Feb and Mar of both ongoing grants; April onwards was not paid (cancelled in March).
    assert r.total_fen == 2 * yuan(1800) + 2 * 45050
    assert fen_to_yuan(r.total_fen) == "4501.00"


def test_recovery_is_nothing_when_the_status_ended_in_the_cancellation_month() -> None:
    grant = SubsidyGrant("social_insurance", date(2025, 1, 1), 12, yuan(500))
    assert recovery([grant], date(2025, 6, 3), date(2025, 6, 20)).total_fen == 0


def test_recovery_from_identification_when_the_status_should_never_have_been() -> None:
    """False information at identification (2025-01-10): every month paid from February on."""
    grant = SubsidyGrant("social_insurance", date(2025, 1, 1), 24, yuan(600))
    r = recovery([grant], date(2025, 1, 10), date(2025, 12, 1))
    assert len(r.lines) == 11 and r.total_fen == 11 * yuan(600)


def test_refusal_window_is_the_half_year_before_today() -> None:
    refusals = [date(2026, 1, 10), date(2026, 3, 1), date(2026, 7, 9)]
    # 10 Jan is exactly six months before 10 Jul: outside the window.
    assert refusals_in_window(refusals, 6, date(2026, 7, 10)) == 2
    assert not refusal_limit_reached(refusals, 3, 6, date(2026, 7, 10))
    assert refusal_limit_reached(refusals, 3, 6, date(2026, 7, 9))


def test_cumulative_cap() -> None:
    grants = [
        SubsidyGrant("a", date(2025, 1, 1), 20, 1),
        SubsidyGrant("b", date(2026, 1, 1), 10, 1),
    ]
    assert subsidy_months(grants) == 30
    assert not cap_exceeded(30, 6, 36)
    assert cap_exceeded(30, 7, 36)
    assert not cap_exceeded(1000, 1, None)


def test_may_apply_again_three_months_after_the_exit() -> None:
    """xinyu 第三条(二): 自就业困难人员资格被退出之日起满 3 个月的."""
    assert may_apply_from(date(2026, 3, 15), 3) == date(2026, 6, 15)
    assert may_apply_from(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert may_apply_from(date(2026, 3, 15), None) == date(2026, 3, 15)


def test_standard_progress_131() -> None:
    """xinyu 第四条(三): 1次职业指导、3次岗位推荐、1次职业培训."""
    quotas = [Quota("career_guidance", 1), Quota("job_recommendation", 3), Quota("training", 1)]
    p = standard_progress("service_131", quotas, {"career_guidance": 1, "job_recommendation": 2})
    assert not p.met and p.missing == {"job_recommendation": 1, "training": 1}
    done = standard_progress(
        "service_131", quotas, {"career_guidance": 2, "job_recommendation": 3, "training": 1}
    )
    assert done.met and done.missing == {}


def test_months_after_ends_at_the_end_of_the_day() -> None:
    start = datetime(2026, 8, 31, 10, 0, tzinfo=SHANGHAI)
    assert months_after(start, 6) == datetime(2027, 3, 1, 0, 0, tzinfo=SHANGHAI)
