"""Statutory retirement age under the 2024 NPC Standing Committee decision, checked against the
rows of its annexed tables, plus working age."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, strategies as st

from domain.retirement import (
    WORKING_AGE_MIN_YEARS,
    RetirementCategory,
    WorkingAge,
    default_category,
    is_working_age,
    retirement_age_months,
    retirement_date,
    working_age,
)

M60 = RetirementCategory.MALE_60
F55 = RetirementCategory.FEMALE_55
F50 = RetirementCategory.FEMALE_50


def ym(years: int, months: int = 0) -> int:
    return years * 12 + months


@pytest.mark.parametrize(
    ("category", "born", "age"),
    [
        # Table 1, men 60 → 63 (one month per four months of birth).
        (M60, (1964, 12), ym(60)),  # original date 2024-12: before the reform
        (M60, (1965, 1), ym(60, 1)),
        (M60, (1965, 4), ym(60, 1)),
        (M60, (1965, 5), ym(60, 2)),
        (M60, (1965, 8), ym(60, 2)),
        (M60, (1965, 9), ym(60, 3)),
        (M60, (1970, 1), ym(61, 4)),  # index 60 → 60 // 4 + 1 = 16 months
        (M60, (1976, 8), ym(62, 11)),
        (M60, (1976, 9), ym(63)),
        (M60, (1990, 6), ym(63)),  # cap
        # Table 3, women cadres 55 → 58 (one month per four months).
        (F55, (1969, 12), ym(55)),
        (F55, (1970, 1), ym(55, 1)),
        (F55, (1970, 4), ym(55, 1)),
        (F55, (1970, 5), ym(55, 2)),
        (F55, (1981, 8), ym(57, 11)),
        (F55, (1981, 9), ym(58)),
        (F55, (1995, 1), ym(58)),  # cap
        # Table 2, women workers 50 → 55 (one month per two months).
        (F50, (1974, 12), ym(50)),
        (F50, (1975, 1), ym(50, 1)),
        (F50, (1975, 2), ym(50, 1)),
        (F50, (1975, 3), ym(50, 2)),
        (F50, (1975, 4), ym(50, 2)),
        (F50, (1980, 1), ym(52, 7)),  # index 60 → 60 // 2 + 1 = 31 months
        (F50, (1984, 10), ym(54, 11)),
        (F50, (1984, 11), ym(55)),
        (F50, (1984, 12), ym(55)),
        (F50, (2000, 1), ym(55)),  # cap
    ],
)
def test_official_table_rows(category: RetirementCategory, born: tuple[int, int], age: int) -> None:
    for day in (1, 15, 28):
        assert retirement_age_months(date(*born, day), category) == age


def test_men_born_1965_01_retire_in_february_2025() -> None:
    assert retirement_date(date(1965, 1, 15), M60) == date(2025, 2, 15)
    assert retirement_date(date(1965, 5, 1), M60) == date(2025, 7, 1)
    assert retirement_date(date(1964, 12, 31), M60) == date(2024, 12, 31)
    assert retirement_date(date(1976, 9, 10), M60) == date(2039, 9, 10)


def test_women_retirement_dates() -> None:
    assert retirement_date(date(1975, 3, 10), F50) == date(2025, 5, 10)  # 50y2m
    assert retirement_date(date(1984, 12, 1), F50) == date(2039, 12, 1)
    assert retirement_date(date(1970, 1, 20), F55) == date(2025, 2, 20)
    assert retirement_date(date(1981, 9, 5), F55) == date(2039, 9, 5)


def test_missing_day_is_clamped_to_month_end() -> None:
    # 1965-01-31 + 60y1m → February 2025 has no 31st.
    assert retirement_date(date(1965, 1, 31), M60) == date(2025, 2, 28)
    # Women workers born 1975-12-31: original month 2025-12 (index 11) → 50y6m → no 31 June.
    assert retirement_age_months(date(1975, 12, 31), F50) == ym(50, 6)
    assert retirement_date(date(1975, 12, 31), F50) == date(2026, 6, 30)
    assert retirement_date(date(1964, 2, 29), M60) == date(2024, 2, 29)  # leap to leap year


def test_original_date_just_before_and_on_reform_start() -> None:
    assert retirement_age_months(date(1964, 12, 31), M60) == ym(60)
    assert retirement_age_months(date(1965, 1, 1), M60) == ym(60, 1)
    assert retirement_age_months(date(1974, 12, 31), F50) == ym(50)
    assert retirement_age_months(date(1975, 1, 1), F50) == ym(50, 1)


def test_default_category() -> None:
    assert default_category("male") is M60
    assert default_category("female") is F50


def test_working_age_bounds() -> None:
    born = date(1990, 6, 15)
    assert not is_working_age(born, M60, date(2006, 6, 14))
    assert is_working_age(born, M60, date(2006, 6, 15))  # 16th birthday
    retires = retirement_date(born, M60)
    assert retires == date(2053, 6, 15)
    assert is_working_age(born, M60, date(2053, 6, 14))
    assert not is_working_age(born, M60, retires)
    assert not is_working_age(born, M60, date(1980, 1, 1))  # before birth


def test_working_age_result() -> None:
    born = date(1975, 3, 10)
    assert working_age(born, F50, date(2025, 5, 9)) == WorkingAge(
        age_years=50, minimum_reached=True, retirement_date=date(2025, 5, 10), within=True
    )
    assert working_age(born, F50, date(2025, 5, 10)).within is False
    young = working_age(date(2010, 1, 1), M60, date(2025, 12, 31))
    assert young.age_years == 15 and not young.minimum_reached and not young.within
    assert WORKING_AGE_MIN_YEARS == 16


@given(st.dates(date(1940, 1, 1), date(2010, 12, 31)), st.sampled_from(list(RetirementCategory)))
def test_age_is_between_original_and_capped(born: date, category: RetirementCategory) -> None:
    original, cap = {M60: (720, 36), F55: (660, 36), F50: (600, 60)}[category]
    months = retirement_age_months(born, category)
    assert original <= months <= original + cap


@given(
    st.dates(date(1940, 1, 1), date(2010, 12, 31)),
    st.dates(date(1940, 1, 1), date(2010, 12, 31)),
    st.sampled_from(list(RetirementCategory)),
)
def test_later_cohorts_never_retire_younger_or_earlier(
    a: date, b: date, category: RetirementCategory
) -> None:
    first, second = sorted((a, b))
    assert retirement_age_months(first, category) <= retirement_age_months(second, category)
    assert retirement_date(first, category) <= retirement_date(second, category)
