"""Zero-employment households (零就业家庭): is this household zero-employment under this pack?

A :class:`Household` is its members' person facts (age, sex, able and willing to work, employed
or jobless, employed in the secondary/tertiary industry, students / soldiers / retirees,
transfer-employment registration) and the household's own facts (urban or rural, business /
investment / property income, annual income per capita against the local average). The rule is
the pack's :class:`~domain.policy.model.HouseholdDefinition`, data with its clause:

- weifang 一(二) (urban): every member within the statutory working age, able and willing to
  work (students, active soldiers and retirees excluded) is jobless, and the household has no
  business, investment or property income;
- weifang 一(三) (rural): men 16–50 and women 16–40, able and willing to transfer; annual income
  per capita at most 50 % of the local average (以下 includes the figure); transfer-employment
  registration done; nobody in the household employed in the secondary or tertiary industry;
- xinyu 第一条(二): an urban household whose members within the statutory working age are all
  unemployed (no ability/willingness filter, no income condition: the clause names none);
- jilin 一(一)4 and qingxin (Guangdong measures, not in the seed) name the category without
  defining the household; shandong 二 delegates definitions to the cities. Their packs use
  weifang's urban definition, marked ``assumed`` with a note.

Pure: no I/O and no clock — the caller passes each member's ``within_working_age`` (see
:func:`member_working_age`, which takes ``on``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from domain.ids import Sex
from domain.policy.model import HouseholdDefinition, PolicyPack
from domain.retirement import default_category, is_working_age
from domain.vocabulary import PlaceRef

__all__ = [
    "Household",
    "HouseholdAssessment",
    "Member",
    "assess_household",
    "first_zero_employment",
    "member_working_age",
]


@dataclass(frozen=True)
class Member:
    """One member living in the household (共同生活成员) and the facts the definitions read.
    ``key`` identifies the member within the household (the store uses the member row id)."""

    key: str
    sex: Sex
    age: int
    within_working_age: bool
    able_to_work: bool = True
    willing_to_work: bool = True
    employed: bool = False
    # Employed in the secondary or tertiary industry (二、三产业); implies ``employed``.
    employed_non_farm: bool = False
    # student | military | retired (在校学生、现役军人、退休人员), or None.
    status: str | None = None
    transfer_registered: bool = False


@dataclass(frozen=True)
class Household:
    urban: bool
    members: tuple[Member, ...]
    business_investment_or_property_income: bool = False
    annual_income_per_capita: float | None = None
    local_average_annual_income_per_capita: float | None = None


@dataclass(frozen=True)
class HouseholdAssessment:
    """The answer for one definition: ``zero_employment`` and why (``reasons``, Chinese, one
    per condition not met), with the members the definition counted."""

    definition: str
    zero_employment: bool
    counted: tuple[str, ...]
    reasons: tuple[str, ...] = field(default_factory=tuple)
    source: str = ""


def member_working_age(birth_date: date, sex: Sex, on: date) -> bool:
    """Within the statutory working age on ``on`` (16 up to the retirement age, with the
    gradual raising; the default retirement category of the sex, as the ID number gives no
    more)."""
    return is_working_age(birth_date, default_category(sex), on)


def _counts(m: Member, d: HouseholdDefinition) -> bool:
    """Whether the definition counts this member (the people whose joblessness matters)."""
    if m.status is not None and m.status in d.excluded_members:
        return False
    if d.age_bands:
        in_band = any(b.sex == m.sex and b.min_age <= m.age <= b.max_age for b in d.age_bands)
        if not in_band:
            return False
    elif not m.within_working_age:
        return False
    return not d.only_able_and_willing or (m.able_to_work and m.willing_to_work)


def assess_household(household: Household, d: HouseholdDefinition) -> HouseholdAssessment:
    """Apply one definition of the pack to the household."""
    reasons: list[str] = []
    counted = [m for m in household.members if _counts(m, d)]
    if household.urban != (d.residence == "urban"):
        reasons.append("城镇居民家庭" if d.residence == "urban" else "农村居民家庭")
    if not counted:
        reasons.append("无符合条件的家庭成员（劳动年龄内、有劳动能力和就业意愿）")
    if d.employment == "secondary_tertiary":
        # 且无人在二、三产业就业: anyone in the household, counted or not.
        if any(m.employed_non_farm for m in household.members):
            reasons.append("有家庭成员在二、三产业就业")
    elif any(m.employed or m.employed_non_farm for m in counted):
        reasons.append("有家庭成员已就业")
    if d.no_business_investment_property_income and (
        household.business_investment_or_property_income
    ):
        reasons.append("有经营性、投资性、财产性收入")
    share = d.income_at_most_share_of_local_average
    if share is not None:
        income = household.annual_income_per_capita
        average = household.local_average_annual_income_per_capita
        if income is None or average is None:
            reasons.append("年人均收入或当地平均水平未知")
        elif income > share * average:
            reasons.append(f"年人均收入高于当地平均水平的{share:.0%}")
    if d.transfer_registration and not any(m.transfer_registered for m in counted):
        reasons.append("未进行转移就业登记")
    return HouseholdAssessment(
        definition=d.code,
        zero_employment=not reasons,
        counted=tuple(m.key for m in counted),
        reasons=tuple(reasons),
        source=d.citation,
    )


def first_zero_employment(
    household: Household, definitions: Sequence[HouseholdDefinition] | PolicyPack
) -> HouseholdAssessment | None:
    """The first definition of the pack (in pack order) under which the household is
    zero-employment, or None. A pack with no definitions finds none."""
    defs = definitions.households if isinstance(definitions, PolicyPack) else definitions
    for d in defs:
        result = assess_household(household, d)
        if result.zero_employment:
            return result
    return None


@dataclass
class HouseholdChange:
    """One change of a household's row and status history (idempotent by ``key``), as its
    workflow records it (activities/household.py) into the store (store/household_repo.py)."""

    household_id: int
    key: str
    at: datetime
    kind: str
    summary: str
    status: str | None = None
    actor: str = "system"
    identified_at: datetime | None = None
    deadline_at: datetime | None = None
    cleared_at: datetime | None = None
    clearing_member_id: int | None = None
    employed_on: date | None = None
    employment: str | None = None
    overdue: bool | None = None
    closed: bool = False
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredMember:
    """A household member as the store holds it: row id, the last four of the ID number, the
    member's own case and that case's identification category."""

    member_id: int
    id_last4: str
    case_id: str | None = None
    category_code: str | None = None


@dataclass(frozen=True)
class StoredHousehold:
    """A household as the store holds it when its workflow starts: the pinned pack, the chain
    of places from the household's up, its members (head first in the head's fields)."""

    household_id: int
    case_id: str
    head_name: str
    head_id_last4: str
    definition_code: str
    pack: PolicyPack
    chain: list[PlaceRef]
    members: list[StoredMember]
    identified_at: datetime | None = None
    discovery: dict[str, Any] = field(default_factory=dict)
    workflow_id: str = ""
