"""The working-day calendar: the 2026 holidays (verified against the installed chinese_calendar
data), the counting convention, provisional answers for years without a table, imports,
instants in Shanghai time, and properties."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone

import chinese_calendar
import pytest
from chinese_calendar import constants as cc
from hypothesis import given, settings, strategies as st

from domain.calendar import (
    SHANGHAI,
    CalendarDataError,
    DayAnswer,
    Deadline,
    WorkingCalendar,
    YearTable,
    deadline_end,
    local_date,
    parse_year_table,
    start_of_day,
    year_table_to_json,
)
from domain.calendar_seed import SEED_SOURCE, seed_calendar, seed_year_tables

CAL = seed_calendar()
D = date


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(n) for n in range((last - first).days + 1)]


def wd(start: date, n: int, cal: WorkingCalendar = CAL) -> date:
    return cal.add_working_days(start, n).date


# A hypothetical 2027 table for tests (the real one is published late in 2026): New Year
# 2027-01-01..03, Spring Festival 2027-02-06..14 with make-up Sundays 2027-01-31 and 2027-02-21.
TABLE_2027 = {
    "year": 2027,
    "holidays": [
        "2027-01-01",
        "2027-01-02",
        "2027-01-03",
        *[f"2027-02-{d:02d}" for d in range(6, 15)],
    ],
    "workdays": ["2027-01-31", "2027-02-21"],
    "note": "test fixture, not the official table",
}


# -- the data we rely on, checked against the installed package ---------------------------


def test_2026_dates_match_the_installed_chinese_calendar() -> None:
    official_off = {d for d in cc.holidays if d.year == 2026}
    official_on = {d for d in cc.workdays if d.year == 2026}
    # Spring Festival: Sun 15 Feb .. Mon 23 Feb off; Saturdays 14 Feb and 28 Feb worked.
    assert set(days(D(2026, 2, 15), D(2026, 2, 23))) <= official_off
    assert D(2026, 2, 14) in official_on and D(2026, 2, 14).weekday() == 5
    assert D(2026, 2, 28) in official_on and D(2026, 2, 28).weekday() == 5
    # Labour Day: Fri 1 May .. Tue 5 May off; Saturday 9 May worked.
    assert set(days(D(2026, 5, 1), D(2026, 5, 5))) <= official_off
    assert D(2026, 5, 9) in official_on
    # Mid-Autumn Fri 25 .. Sun 27 Sep; National Day Thu 1 .. Wed 7 Oct; Sun 20 Sep and
    # Sat 10 Oct worked; Thu 8 Oct is an ordinary working day.
    assert set(days(D(2026, 9, 25), D(2026, 9, 27))) <= official_off
    assert set(days(D(2026, 10, 1), D(2026, 10, 7))) <= official_off
    assert D(2026, 10, 8) not in official_off
    assert {D(2026, 9, 20), D(2026, 10, 10)} <= official_on
    # New Year: 1..3 Jan off, Sunday 4 Jan worked.
    assert set(days(D(2026, 1, 1), D(2026, 1, 3))) <= official_off
    assert D(2026, 1, 4) in official_on
    assert official_on == {
        D(2026, 1, 4),
        D(2026, 2, 14),
        D(2026, 2, 28),
        D(2026, 5, 9),
        D(2026, 9, 20),
        D(2026, 10, 10),
    }
    assert not any(d.year == 2027 for d in cc.holidays)


def test_seed_agrees_with_chinese_calendar_on_every_day() -> None:
    for d in days(D(2004, 1, 1), D(2026, 12, 31)):
        answer = CAL.is_workday(d)
        assert answer.value == chinese_calendar.is_workday(d), d
        assert not answer.provisional


def test_seed_tables() -> None:
    tables = seed_year_tables()
    assert [t.year for t in tables] == list(range(2004, 2027))
    assert all(t.source == SEED_SOURCE for t in tables)
    assert SEED_SOURCE.startswith("chinese-calendar 1.11")
    assert CAL.years == tuple(range(2004, 2027))
    assert seed_calendar() is CAL  # cached


# -- single days ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2026, 2, 13), True),  # Friday before the Spring Festival
        (D(2026, 2, 14), True),  # make-up Saturday
        (D(2026, 2, 16), False),  # Monday, holiday
        (D(2026, 2, 23), False),  # Monday, last day of the holiday
        (D(2026, 2, 24), True),
        (D(2026, 2, 28), True),  # make-up Saturday
        (D(2026, 3, 1), False),  # ordinary Sunday
        (D(2026, 5, 1), False),
        (D(2026, 5, 9), True),
        (D(2026, 9, 20), True),  # make-up Sunday
        (D(2026, 10, 7), False),
        (D(2026, 10, 8), True),
        (D(2026, 10, 10), True),
    ],
)
def test_is_workday_2026(day: date, expected: bool) -> None:
    assert CAL.is_workday(day) == DayAnswer(value=expected, provisional=False)
    assert bool(CAL.is_workday(day)) is expected


def test_is_workday_without_a_table_is_provisional_weekends_only() -> None:
    assert CAL.is_workday(D(2027, 1, 1)) == DayAnswer(value=True, provisional=True)  # Friday
    assert CAL.is_workday(D(2027, 1, 2)) == DayAnswer(value=False, provisional=True)
    assert not CAL.covers(2027)
    assert CAL.covers(2026)


# -- named deadlines -----------------------------------------------------------------------


def test_spring_festival_2026() -> None:
    # 3 working days after Thu 2026-02-12: Fri 13, Sat 14 (make-up), Tue 24.
    assert wd(D(2026, 2, 12), 3) == D(2026, 2, 24)
    assert wd(D(2026, 2, 13), 1) == D(2026, 2, 14)
    # From the make-up Saturday the next working day is after the whole holiday.
    assert wd(D(2026, 2, 14), 1) == D(2026, 2, 24)
    # Started during the holiday: the first working day after it counts as day 1.
    assert wd(D(2026, 2, 18), 1) == D(2026, 2, 24)
    # 10 working days after Fri 2026-02-13: 14, 24, 25, 26, 27, 28 (Sat), 2, 3, 4, 5 Mar.
    assert wd(D(2026, 2, 13), 10) == D(2026, 3, 5)


def test_labour_day_2026() -> None:
    # 3 working days after Thu 2026-04-30: May 1-5 off → Wed 6, Thu 7, Fri 8.
    assert wd(D(2026, 4, 30), 3) == D(2026, 5, 8)
    # The 4th is the make-up Saturday 2026-05-09.
    assert wd(D(2026, 4, 30), 4) == D(2026, 5, 9)
    assert wd(D(2026, 4, 30), 5) == D(2026, 5, 11)


def test_national_day_2026() -> None:
    # 3 working days after 2026-09-30 is 2026-10-10: Thu 8, Fri 9, Sat 10 (make-up).
    assert wd(D(2026, 9, 30), 3) == D(2026, 10, 10)
    assert wd(D(2026, 9, 30), 1) == D(2026, 10, 8)
    # 1 working day after Sat 2026-09-19 is the make-up Sunday 2026-09-20.
    assert wd(D(2026, 9, 19), 1) == D(2026, 9, 20)


def test_jilin_ten_working_day_identification_across_national_day() -> None:
    # Accepted Mon 2026-09-28: Sep 29, 30, Oct 8, 9, 10 (Sat), 12, 13, 14, 15, 16.
    deadline = CAL.add_working_days(D(2026, 9, 28), 10)
    assert deadline == Deadline(date=D(2026, 10, 16), provisional=False, provisional_years=())
    # Accepted Thu 2026-09-24, just before Mid-Autumn (Fri 25 - Sun 27 off):
    # Sep 28, 29, 30, Oct 8, 9, 10, 12, 13, 14, 15.
    assert wd(D(2026, 9, 24), 10) == D(2026, 10, 15)
    assert deadline_end(D(2026, 10, 16)) == datetime(2026, 10, 17, tzinfo=SHANGHAI)


def test_year_boundary_2026_to_2027_then_import() -> None:
    # 3 working days after Wed 2026-12-30: Thu 31, Fri 2027-01-01 (no table: weekends only),
    # Mon 2027-01-04 → provisional.
    before = CAL.add_working_days(D(2026, 12, 30), 3)
    assert before == Deadline(date=D(2027, 1, 4), provisional=True, provisional_years=(2027,))
    # Staying inside 2026 is not provisional, even on its last day.
    assert CAL.add_working_days(D(2026, 12, 30), 1) == Deadline(D(2026, 12, 31), False, ())
    # Import a 2027 table: New Year's Day is off, so the deadline moves to Tue 2027-01-05.
    cal = CAL.with_year(parse_year_table(TABLE_2027, source="test"))
    after = cal.add_working_days(D(2026, 12, 30), 3)
    assert after == Deadline(date=D(2027, 1, 5), provisional=False, provisional_years=())
    assert cal.covers(2027) and not CAL.covers(2027)  # with_year returns a new calendar
    assert cal.is_workday(D(2027, 1, 31)) == DayAnswer(value=True, provisional=False)
    # Spring Festival 2027 in the fixture: Fri 2027-02-05 → Sat 6 .. Sun 14 off.
    assert wd(D(2027, 2, 5), 1, cal) == D(2027, 2, 15)
    assert wd(D(2027, 2, 5), 1) == D(2027, 2, 8)  # without the table
    # Two years without tables.
    far = CAL.add_working_days(D(2026, 12, 1), 300)
    assert far.provisional_years == (2027, 2028)


def test_zero_and_negative_n() -> None:
    assert CAL.add_working_days(D(2026, 2, 15), 0) == Deadline(D(2026, 2, 15), False, ())
    assert CAL.add_working_days(D(2027, 6, 1), 0) == Deadline(D(2027, 6, 1), False, ())
    with pytest.raises(ValueError):
        CAL.add_working_days(D(2026, 1, 1), -1)


def test_calendar_days_and_months() -> None:
    assert CAL.add_calendar_days(D(2026, 9, 30), 3) == Deadline(D(2026, 10, 3), False, ())
    assert CAL.add_calendar_days(D(2027, 1, 1), -1).date == D(2026, 12, 31)
    assert CAL.add_months(D(2026, 1, 31), 1) == Deadline(D(2026, 2, 28), False, ())
    assert CAL.add_months(D(2027, 8, 31), 6).date == D(2028, 2, 29)
    assert CAL.add_months(D(2026, 3, 15), 6).date == D(2026, 9, 15)
    assert CAL.add_months(D(2026, 3, 31), -1).date == D(2026, 2, 28)
    assert CAL.add_months(D(2026, 1, 15), 12).date == D(2027, 1, 15)


def test_working_days_between() -> None:
    assert CAL.working_days_between(D(2026, 9, 30), D(2026, 10, 10)) == 3
    assert CAL.working_days_between(D(2026, 10, 10), D(2026, 9, 30)) == -3
    assert CAL.working_days_between(D(2026, 2, 14), D(2026, 2, 23)) == 0
    assert CAL.working_days_between(D(2026, 5, 5), D(2026, 5, 5)) == 0
    # Across the year boundary: 2026 has 250 working days under the official table... count
    # them from the data instead of trusting a number.
    n2026 = sum(chinese_calendar.is_workday(d) for d in days(D(2026, 1, 1), D(2026, 12, 31)))
    assert CAL.working_days_between(D(2025, 12, 31), D(2026, 12, 31)) == n2026
    assert CAL.working_days_between(D(2026, 12, 31), D(2027, 1, 8)) == 6  # weekends only
    assert CAL.provisional_years_between(D(2026, 12, 31), D(2027, 1, 8)) == (2027,)
    assert CAL.provisional_years_between(D(2026, 1, 1), D(2026, 12, 31)) == ()


# -- year tables ---------------------------------------------------------------------------


def test_year_table_validation() -> None:
    with pytest.raises(CalendarDataError, match="2026-01-01 is not in 2027"):
        YearTable.build(2027, [D(2026, 1, 1)], [], "t")
    with pytest.raises(CalendarDataError, match="2027-01-02 is both a holiday and a make-up"):
        YearTable.build(2027, [D(2027, 1, 2)], [D(2027, 1, 2)], "t")
    with pytest.raises(CalendarDataError, match="make-up workday 2027-01-04 is a Monday"):
        YearTable.build(2027, [], [D(2027, 1, 4)], "t")
    with pytest.raises(CalendarDataError, match="make-up workday 2027-01-09 is not in 2026"):
        YearTable(2026, frozenset(), frozenset({D(2027, 1, 9)}), "t")
    with pytest.raises(CalendarDataError, match="is not a date"):
        YearTable.build(2027, [datetime(2027, 1, 1)], [], "t")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {**TABLE_2027, "holidays": ["2027-01-01", "x", "2027-01-03", "2027-02-30"]},
            "holidays[1]: 'x' is not a date",
        ),
        (
            {**TABLE_2027, "holidays": ["2027-01-01", "2027-01-02", "2027-01-03", "2027-02-30"]},
            "holidays[3]: '2027-02-30' is not a date",
        ),
        ({**TABLE_2027, "holidays": ["20270101"]}, "holidays[0]: '20270101' is not a date"),
        ({**TABLE_2027, "holidays": [20270101]}, "holidays[0]: 20270101 is not a date string"),
        ({**TABLE_2027, "holidays": ["2026-12-31"]}, "holidays[0]: 2026-12-31 is not in 2027"),
        (
            {**TABLE_2027, "holidays": ["2027-01-01", "2027-01-01"]},
            "holidays[1]: 2027-01-01 is listed twice",
        ),
        ({**TABLE_2027, "holidays": "2027-01-01"}, "holidays: expected a list"),
        ({**TABLE_2027, "workdays": ["2027-01-04"]}, "workdays[0]: 2027-01-04 is a Monday"),
        (
            {**TABLE_2027, "workdays": ["2027-01-02"]},
            "workdays[0]: 2027-01-02 is also listed in holidays",
        ),
        ({**TABLE_2027, "year": "2027"}, "year: expected an integer"),
        ({**TABLE_2027, "year": True}, "year: expected an integer"),
        ({**TABLE_2027, "year": 1800}, "year: 1800 is out of range"),
        ({"year": 2027}, "holidays: missing"),
        ({**TABLE_2027, "holiday": []}, "unknown field 'holiday'"),
        ({**TABLE_2027, "note": 3}, "note: expected a string"),
    ],
)
def test_parse_year_table_errors(data: dict[str, object], message: str) -> None:
    with pytest.raises(CalendarDataError) as info:
        parse_year_table(data, source="test")
    assert message in str(info.value)


def test_parse_and_serialise_round_trip() -> None:
    table = parse_year_table(TABLE_2027, source="2027.json")
    assert table.year == 2027
    assert len(table.holidays) == 12 and len(table.workdays) == 2
    assert table.source == "2027.json: test fixture, not the official table"
    again = parse_year_table(year_table_to_json(table), source="x")
    assert (again.year, again.holidays, again.workdays) == (2027, table.holidays, table.workdays)
    assert year_table_to_json(table)["workdays"] == ["2027-01-31", "2027-02-21"]
    bare = parse_year_table({"year": 2027, "holidays": []}, source="empty")
    assert bare.source == "empty" and not bare.workdays


def test_later_table_for_the_same_year_replaces_the_earlier() -> None:
    first = YearTable.build(2027, [D(2027, 1, 1)], [], "first")
    second = YearTable.build(2027, [D(2027, 1, 4)], [], "second")
    cal = WorkingCalendar([first, second])
    assert cal.table(2027) is second
    assert cal.is_workday(D(2027, 1, 1)).value
    assert not cal.is_workday(D(2027, 1, 4)).value
    assert cal.with_year(first).table(2027) is first
    assert cal.years == (2027,)


# -- instants ------------------------------------------------------------------------------


def test_shanghai_instants() -> None:
    assert SHANGHAI.utcoffset(None) == timedelta(hours=8)
    end = deadline_end(D(2026, 2, 24))
    assert end == datetime(2026, 2, 25, 0, 0, tzinfo=SHANGHAI)
    assert end == datetime(2026, 2, 24, 16, 0, tzinfo=UTC)
    assert CAL.deadline_end(D(2026, 2, 24)) == end
    assert start_of_day(D(2026, 2, 24)) == datetime(2026, 2, 23, 16, 0, tzinfo=UTC)


def test_local_date() -> None:
    assert local_date(datetime(2026, 2, 13, 15, 59, tzinfo=UTC)) == D(2026, 2, 13)
    assert local_date(datetime(2026, 2, 13, 16, 0, tzinfo=UTC)) == D(2026, 2, 14)
    assert local_date(datetime(2026, 2, 14, 1, 0, tzinfo=timezone(timedelta(hours=9)))) == D(
        2026, 2, 14
    )
    assert CAL.local_date(datetime(2026, 12, 31, 20, 0, tzinfo=UTC)) == D(2027, 1, 1)
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2026, 2, 13, 12, 0))


def test_ten_thousand_working_days_is_fast() -> None:
    cal = WorkingCalendar(seed_year_tables())  # cold: no per-year cache yet
    t0 = time.perf_counter()
    result = cal.add_working_days(D(2004, 1, 1), 10_000)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(10):
        cal.add_working_days(D(2010, 6, 1), 10_000)
    warm = (time.perf_counter() - t0) / 10
    assert result.provisional and result.provisional_years[0] == 2027
    assert cal.working_days_between(D(2004, 1, 1), result.date) == 10_000
    # Typical: ~3 ms cold, ~0.1 ms warm; generous bounds for slow CI machines.
    assert cold < 0.05
    assert warm < 0.005


# -- properties ----------------------------------------------------------------------------

some_dates = st.dates(D(2003, 1, 1), D(2029, 12, 31))
counts = st.integers(0, 700)


@given(some_dates, st.integers(1, 700))
def test_result_is_a_working_day(start: date, n: int) -> None:
    assert CAL.is_workday(CAL.add_working_days(start, n).date).value


@given(some_dates, counts)
def test_between_inverts_add(start: date, n: int) -> None:
    end = CAL.add_working_days(start, n)
    assert CAL.working_days_between(start, end.date) == n
    assert CAL.working_days_between(end.date, start) == -n
    # The provisional years are exactly the uncovered years of start+1 .. end.
    assert end.provisional_years == CAL.provisional_years_between(start, end.date)
    assert end.provisional == bool(end.provisional_years)


@given(some_dates, counts, counts)
def test_monotonic_in_n(start: date, a: int, b: int) -> None:
    lo, hi = sorted((a, b))
    assert wd(start, lo) <= wd(start, hi)
    if lo < hi:
        assert wd(start, lo) < wd(start, hi)


@given(some_dates, counts, counts)
def test_additive(start: date, a: int, b: int) -> None:
    assert wd(wd(start, a), b) == wd(start, a + b)


@settings(max_examples=50)
@given(some_dates, st.integers(0, 60))
def test_matches_a_day_by_day_walk(start: date, n: int) -> None:
    d, left = start, n
    while left:
        d += timedelta(days=1)
        if CAL.is_workday(d).value:
            left -= 1
    assert wd(start, n) == d
