"""Zero-employment households per pack (domain/households.py and the packs' ``households``):
weifang 一(二) and 一(三), xinyu 第一条(二), the assumed definitions of jilin, qingxin and
shandong, and the one-month clock each pack runs."""

from __future__ import annotations

from datetime import date

import pytest

from domain.households import (
    Household,
    Member,
    assess_household,
    first_zero_employment,
    member_working_age,
)
from domain.policy.loader import load_pack
from domain.policy.model import HouseholdDefinition, PolicyPack

WF = "潍人社字〔2023〕1号"
XY = "余人社字[2023]82号"


def definition(pack: str, code: str) -> HouseholdDefinition:
    d = load_pack(pack).household_definition(code)
    assert d is not None
    return d


def member(key: str, **kw: object) -> Member:
    base: dict[str, object] = {"sex": "female", "age": 45, "within_working_age": True}
    return Member(key=key, **{**base, **kw})  # type: ignore[arg-type]


URBAN = definition("weifang-2023", "urban_zero_employment")
RURAL = definition("weifang-2023", "rural_zero_transfer")
XINYU = definition("xinyu-2023", "urban_zero_employment")


def test_weifang_urban_every_able_willing_working_age_member_jobless() -> None:
    """一(二): students, soldiers and retirees, those not able or not willing, and those past
    working age do not count; the others must all be jobless."""
    h = Household(
        urban=True,
        members=(
            member("mother"),
            member("son", sex="male", age=19, status="student", employed=False),
            member("grandpa", sex="male", age=66, within_working_age=False, employed=True),
            member("aunt", willing_to_work=False, employed=True),
        ),
    )
    result = assess_household(h, URBAN)
    assert result.zero_employment and result.counted == ("mother",)
    assert result.source.startswith(WF + " 一(二)")
    employed = Household(urban=True, members=(member("mother"), member("father", employed=True)))
    assert assess_household(employed, URBAN).reasons == ("有家庭成员已就业",)


def test_weifang_urban_business_investment_or_property_income_excludes() -> None:
    h = Household(urban=True, members=(member("a"),), business_investment_or_property_income=True)
    assert assess_household(h, URBAN).reasons == ("有经营性、投资性、财产性收入",)
    # xinyu 第一条(二) names no income condition.
    assert assess_household(h, XINYU).zero_employment


def test_the_two_packs_differ_on_who_counts() -> None:
    """weifang excludes students and those unable to work; xinyu counts everyone of working age
    (法定劳动年龄内的家庭人员均处于失业状况): a household whose only jobless member is a student
    is no zero-employment household in weifang (nobody counts) but is one in xinyu."""
    h = Household(urban=True, members=(member("student", age=20, status="student"),))
    assert not assess_household(h, URBAN).zero_employment
    assert assess_household(h, XINYU).zero_employment
    # A member unable to work who has a job: weifang does not count them, xinyu does.
    h2 = Household(
        urban=True, members=(member("a"), member("b", able_to_work=False, employed=True))
    )
    assert assess_household(h2, URBAN).zero_employment
    assert not assess_household(h2, XINYU).zero_employment


def test_no_member_counts_is_not_zero_employment() -> None:
    h = Household(urban=True, members=(member("old", age=70, within_working_age=False),))
    assert not assess_household(h, URBAN).zero_employment


@pytest.mark.parametrize(
    ("sex", "age", "counts"),
    [
        ("male", 16, True),
        ("male", 50, True),
        ("male", 51, False),
        ("female", 40, True),
        ("female", 41, False),
        ("female", 15, False),
    ],
)
def test_weifang_rural_age_bands(sex: str, age: int, counts: bool) -> None:
    """一(三): 男16至50周岁，女16至40周岁 (both ends inclusive)."""
    h = Household(
        urban=False,
        members=(member("m", sex=sex, age=age, transfer_registered=True),),
        annual_income_per_capita=5000,
        local_average_annual_income_per_capita=10000,
    )
    assert assess_household(h, RURAL).zero_employment is counts


def test_weifang_rural_income_registration_and_non_farm_work() -> None:
    """一(三): income at most half the local average (50%以下 includes it), transfer registration
    done, and nobody in the household in the secondary or tertiary industry (farming does not
    count as employment here)."""

    def rural(income: float, *members: Member) -> Household:
        return Household(
            urban=False,
            members=members,
            annual_income_per_capita=income,
            local_average_annual_income_per_capita=10000,
        )

    ok = member("m", transfer_registered=True, age=35, employed=True)  # farming
    assert assess_household(rural(5000, ok), RURAL).zero_employment
    assert not assess_household(rural(5001, ok), RURAL).zero_employment
    unregistered = member("m", age=35)
    assert assess_household(rural(1000, unregistered), RURAL).reasons == ("未进行转移就业登记",)
    factory = member("elder", age=58, employed=True, employed_non_farm=True)
    assert assess_household(rural(1000, ok, factory), RURAL).reasons == (
        "有家庭成员在二、三产业就业",
    )
    # An urban household is not judged by the rural variant, nor the reverse.
    assert not assess_household(Household(urban=True, members=(ok,)), RURAL).zero_employment
    assert not assess_household(rural(1000, member("x")), URBAN).zero_employment


def test_first_zero_employment_in_pack_order() -> None:
    pack = load_pack("weifang-2023")
    urban = Household(urban=True, members=(member("a"),))
    found = first_zero_employment(urban, pack)
    assert found is not None and found.definition == "urban_zero_employment"
    assert first_zero_employment(Household(urban=True, members=()), pack) is None


def test_member_working_age_uses_the_retirement_rules() -> None:
    assert member_working_age(date(1980, 6, 15), "female", date(2026, 3, 2))
    assert not member_working_age(date(1970, 6, 15), "female", date(2026, 3, 2))
    assert member_working_age(date(1970, 6, 15), "male", date(2026, 3, 2))
    assert not member_working_age(date(2011, 6, 15), "male", date(2026, 3, 2))


# (pack, definition, residence, categories, exit reason, cited clause or None when assumed)
DEFINITIONS = [
    ("weifang-2023", "urban_zero_employment", "urban", ["urban_zero_employment_household"],
     "employment_registered_other", WF + " 一(二)；三(一)10"),
    ("weifang-2023", "rural_zero_transfer", "rural", ["rural_zero_transfer_household"],
     "employment_registered_other", WF + " 一(三)；三(一)10"),
    ("xinyu-2023", "urban_zero_employment", "urban", ["zero_employment_household"],
     "left_zero_employment_household", XY + " 第一条(二)；第三条(一)2"),
    ("jilin-2022", "urban_zero_employment", "urban", ["zero_employment_household"],
     "no_longer_eligible", None),
    ("qingxin-2024", "urban_zero_employment", "urban", ["urban_zero_employment_household"],
     "no_longer_eligible", None),
    ("shandong-2021", "urban_zero_employment", "urban", [], None, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("pack_id", "code", "residence", "categories", "exit_reason", "clause"), DEFINITIONS
)
def test_each_pack_defines_its_households(
    pack_id: str,
    code: str,
    residence: str,
    categories: list[str],
    exit_reason: str | None,
    clause: str | None,
) -> None:
    d = definition(pack_id, code)
    assert (d.residence, d.categories, d.exit_reason) == (residence, categories, exit_reason)
    if clause is None:
        # The seed does not define the household: the nearest definition, marked assumed.
        assert d.assumed and d.note and "一(二)" in d.note
    else:
        assert d.source == clause and not d.assumed and d.quote


def test_every_pack_runs_the_one_month_clock() -> None:
    """Only xinyu 第四条(五) states the month (保证一个月内解决其就业问题); the others' 动态清零
    takes it as an administrator setting."""
    for pack_id in ("weifang-2023", "xinyu-2023", "jilin-2022", "qingxin-2024", "shandong-2021"):
        clock = load_pack(pack_id).clocks.zero_employment_household_deadline
        assert clock is not None and (clock.value, clock.unit) == (1, "months")
        assert clock.assumed is (pack_id != "xinyu-2023")
        assert clock.add_to(date(2026, 1, 31)) == date(2026, 2, 28)


def test_a_definition_must_name_known_categories_and_reasons() -> None:
    data = load_pack("xinyu-2023").model_dump(mode="json")
    data["households"][0]["categories"] = ["nope"]
    data["households"][0]["exit_reason"] = "gone"
    with pytest.raises(ValueError) as e:
        PolicyPack.model_validate(data)
    assert "households[0].categories[0]: unknown category 'nope'" in str(e.value)
    assert "households[0].exit_reason: unknown exit reason 'gone'" in str(e.value)


def test_a_pack_without_households_hashes_as_before_the_section() -> None:
    """Copies pinned before the section existed carry no ``households`` key and still verify."""
    pack = load_pack("jilin-2022")
    bare = pack.model_copy(update={"households": []})
    assert '"households"' not in bare.canonical_json()
    assert '"households"' in pack.canonical_json()
