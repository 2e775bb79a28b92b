"""Working age and the statutory retirement age under gradual raising (渐进式延迟法定退休年龄).

Employment-difficulty status (就业困难人员) is only for people of working age: at least 16 and
not yet at the statutory retirement age. Since 2025-01-01 that age rises gradually under the
Decision of the NPC Standing Committee on Implementing the Gradual Raising of the Statutory
Retirement Age (全国人民代表大会常务委员会关于实施渐进式延迟法定退休年龄的决定, adopted
2024-09-13) and its annexed tables: men 60 → 63 and women cadres 55 → 58 by one month for
every four months of birth cohort, women workers 50 → 55 by one month for every two months.
The increment is derived from the month of the person's *original* retirement date counted
from January 2025, which reproduces the official tables exactly (see the tests). The category
is an input: whether a woman originally retires at 50 (worker) or 55 (cadre / managerial) is a
fact of her employment history, not something derivable from the ID number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from domain.calendar import add_months_clamped
from domain.ids import Sex, completed_years

__all__ = [
    "REFORM_START",
    "WORKING_AGE_MIN_YEARS",
    "RetirementCategory",
    "WorkingAge",
    "add_months_clamped",
    "default_category",
    "is_working_age",
    "retirement_age_months",
    "retirement_date",
    "working_age",
]


class RetirementCategory(StrEnum):
    """The person's original (pre-2025) statutory retirement category."""

    MALE_60 = "male_60"
    # Female cadres and managerial/technical staff (女干部), originally 55.
    FEMALE_55 = "female_55"
    # Female workers (女职工), originally 50.
    FEMALE_50 = "female_50"


# Labour Law art. 15 and the Provisions on the Prohibition of Child Labour: 16 is the minimum
# age for employment, so employment-assistance status starts there.
WORKING_AGE_MIN_YEARS: Final = 16

# NPC Standing Committee decision (2024-09-13), art. 1: the raising starts on 2025-01-01.
# People whose original retirement date falls before this keep their original age.
REFORM_START: Final = date(2025, 1, 1)


@dataclass(frozen=True)
class _Rule:
    original_years: int
    # Months of original-retirement cohort per extra month of age.
    step_months: int
    # The increment stops here (the target age minus the original age, in months).
    cap_months: int


# Decision art. 1 and annexed tables 1-3:
#   table 1, men 60 → 63: +1 month per 4 months, up to 36 months;
#   table 2, women 50 → 55: +1 month per 2 months, up to 60 months;
#   table 3, women 55 → 58: +1 month per 4 months, up to 36 months.
_RULES: Final[dict[RetirementCategory, _Rule]] = {
    RetirementCategory.MALE_60: _Rule(original_years=60, step_months=4, cap_months=36),
    RetirementCategory.FEMALE_55: _Rule(original_years=55, step_months=4, cap_months=36),
    RetirementCategory.FEMALE_50: _Rule(original_years=50, step_months=2, cap_months=60),
}


def retirement_age_months(birth_date: date, category: RetirementCategory) -> int:
    """The statutory retirement age in months (e.g. 60 years 2 months → 722).

    increment = min(cap, index // step + 1), where index is the month of the original
    retirement date counted from January 2025 (January 2025 = 0); no increment when the
    original retirement date is before 2025-01-01. Men born 1965-01..04 → 60y1m, 1965-05 →
    60y2m, 1976-09 and later → 63y.
    """
    rule = _RULES[category]
    original_months = rule.original_years * 12
    original_date = add_months_clamped(birth_date, original_months)
    if original_date < REFORM_START:
        return original_months
    index = (original_date.year - REFORM_START.year) * 12 + (original_date.month - 1)
    return original_months + min(rule.cap_months, index // rule.step_months + 1)


def retirement_date(birth_date: date, category: RetirementCategory) -> date:
    """The day the statutory retirement age is reached: the birth date plus the age in months,
    clamped to the month's last day when that day does not exist (born 31 January, age ending
    in February → last day of February). From this day on the person is no longer of working
    age."""
    return add_months_clamped(birth_date, retirement_age_months(birth_date, category))


def default_category(sex: Sex) -> RetirementCategory:
    """The category to assume when only the sex is known: men MALE_60, women FEMALE_50 (the
    worker category, which is the common case among employment-difficulty applicants). The
    applicant's actual original category is an input to the case; FEMALE_55 applies to female
    cadres and managerial staff and must be chosen explicitly."""
    return RetirementCategory.MALE_60 if sex == "male" else RetirementCategory.FEMALE_50


@dataclass(frozen=True)
class WorkingAge:
    """Where a person stands relative to working age on a given day."""

    age_years: int
    # Age ≥ WORKING_AGE_MIN_YEARS.
    minimum_reached: bool
    retirement_date: date
    # minimum_reached and the day is before retirement_date.
    within: bool


def working_age(birth_date: date, category: RetirementCategory, on: date) -> WorkingAge:
    """Working-age facts on ``on`` (ValueError if ``on`` is before the birth date)."""
    age = completed_years(birth_date, on)
    retires = retirement_date(birth_date, category)
    minimum = age >= WORKING_AGE_MIN_YEARS
    return WorkingAge(
        age_years=age,
        minimum_reached=minimum,
        retirement_date=retires,
        within=minimum and on < retires,
    )


def is_working_age(birth_date: date, category: RetirementCategory, on: date) -> bool:
    """True iff the person is at least 16 and has not reached the retirement date on ``on``.
    A day before the birth date is never working age."""
    if on < birth_date:
        return False
    return working_age(birth_date, category, on).within
