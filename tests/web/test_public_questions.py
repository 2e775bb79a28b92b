"""The public form asks what the place's pack needs (#21 item 3), without a browser: the common
questions (户籍, 劳动能力, 就业意愿, 失业登记, 就业和收入) for the place's pack, the category's
own ones when it is chosen (htmx fragment, or the 更新问题 button without JavaScript, which
keeps what was typed), answers checked by type with the message next to the input, and a
complete ordinary application decided by the pre-check (符合 or 不符合), not 待核实."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from domain.calendar import SHANGHAI
from domain.eligibility import assess
from domain.facts import ApplicantFacts
from domain.policy.loader import load_pack
from store.models import Case
from tests.factories import make_id
from tests.system import System
from tests.web.test_public_form import (
    JILIN_STREET,
    WEIFANG_STREET,
    csrf_of,
    field_error,
    filled,
    open_form,
    visitor,
)

# The answers of an ordinary applicant who meets the base conditions and no exclusion.
ORDINARY = {
    "fact.residence.hukou_local": "true",
    "fact.person.able_to_work": "true",
    "fact.person.willing_to_work": "true",
    "fact.unemployment.registered": "true",
    "fact.unemployment.registered_on": "2025-02-01",
    "fact.economic.has_labour_relation": "false",
    "fact.economic.employer_social_insurance_now": "false",
    "fact.economic.business_licence": "false",
    "fact.economic.legal_representative_or_officer_elsewhere": "false",
    "fact.economic.has_stable_income": "false",
    "fact.person.receiving_pension": "false",
}


def asked(html: str) -> list[str]:
    return re.findall(r'data-fact="([^"]+)"', html)


async def test_the_form_asks_the_packs_common_questions_and_the_categorys_own(
    system: System,
) -> None:
    client = visitor(system)
    page = (await client.get("/apply", params={"place": JILIN_STREET})).text
    common = asked(page)
    assert common[:4] == [
        "residence.hukou_local",
        "person.able_to_work",
        "person.willing_to_work",
        "unemployment.registered",
    ]
    assert "户籍在本地（吉林省）" in page and "已办理失业登记" in page and "基本条件" in page
    assert re.search(
        r'aria-describedby="hint-fact-unemployment-registered_on"[^>]*>.*?'
        r'id="hint-fact-unemployment-registered_on">“已办理失业登记”选“是”时填写<',
        page,
        re.S,
    )
    # No category yet: nothing of a category, and a word that more will come.
    assert "residence.urban" not in common and 'data-testid="choose-category-hint"' in page
    # What the ID number tells and what the office holds are never asked.
    assert not {"person.sex", "person.birth_date", "economic.local_minimum_wage"} & set(common)
    # Weifang's residence rule also takes months of residence and of insurance, with units.
    weifang = (await client.get("/apply", params={"place": WEIFANG_STREET})).text
    assert "residence.local_social_insurance_months" in asked(weifang)
    assert re.search(
        r'id="fact-residence-local_social_insurance_months"[^>]*type="number"', weifang
    )
    # A duration is asked as the day it counts from (the system counts the months).
    assert re.search(r'id="fact-residence-resided_locally_since"[^>]*type="date"', weifang)
    assert "户籍在本地（山东省潍坊市）" in weifang

    csrf = csrf_of(page)
    base = {"csrf": csrf, "place": JILIN_STREET, "fact.residence.hukou_local": "true"}
    older = await client.post("/apply/questions", data={**base, "category": "older_unemployed"})
    assert older.status_code == 200
    assert "residence.urban" in asked(older.text)
    assert "大龄失业人员" in older.text and "choose-category-hint" not in older.text
    # The answer already given is kept across the change.
    assert re.search(r'name="fact.residence.hukou_local" value="true" checked', older.text)
    disabled = await client.post("/apply/questions", data={**base, "category": "disabled"})
    assert "person.disability_certificate" in asked(disabled.text)
    assert "person.disability_certificate" not in asked(older.text)
    # Weifang's single parents are asked the marital status above (not twice) and whether
    # they raise a minor child; an enum question lists its Chinese names.
    single = await client.post(
        "/apply/questions",
        data={"csrf": csrf, "place": WEIFANG_STREET, "category": "needy_family_graduate"},
    )
    assert "graduate.left_school_on" in asked(single.text)
    assert re.search(r'id="fact-graduate-left_school_on"[^>]*type="date"', single.text)
    single = await client.post(
        "/apply/questions",
        data={"csrf": csrf, "place": WEIFANG_STREET, "category": "single_parent"},
    )
    assert "person.raising_minor_child" in asked(single.text)
    assert "person.marital_status" not in asked(single.text)
    jilin_graduate = await client.post(
        "/apply/questions",
        data={"csrf": csrf, "place": JILIN_STREET, "category": "difficult_graduate"},
    )
    assert re.search(r'<option value="junior_college">大专</option>', jilin_graduate.text)
    # In English, the same questions in English.
    english = await client.post(
        "/apply/questions?lang=en", data={**base, "category": "older_unemployed"}
    )
    assert "Don&#39;t know" in english.text or "Don't know" in english.text
    assert "Local hukou" in english.text and "吉林省" not in english.text
    # Without the form's token, nothing.
    assert (await visitor(system).post("/apply/questions", data=base)).status_code == 403
    await client.aclose()


async def test_without_javascript_the_button_shows_the_categorys_questions(
    system: System,
) -> None:
    client = visitor(system)
    csrf = await open_form(client, JILIN_STREET)
    r = await client.post(
        "/apply",
        data={
            **filled(JILIN_STREET, csrf, category="disabled", name="等一下"),
            "refresh": "1",
            "fact.person.able_to_work": "true",
        },
    )
    assert r.status_code == 200
    assert "person.disability_certificate" in asked(r.text)
    # Nothing submitted, nothing checked, everything kept.
    assert 'value="等一下"' in r.text and "field-error" not in r.text
    assert re.search(r'name="fact.person.able_to_work" value="true" checked', r.text)
    async with system.sessions()() as session:
        assert await session.scalar(select(Case).where(Case.applicant_name == "等一下")) is None
    await client.aclose()


async def test_bad_answers_are_explained_next_to_their_input(system: System) -> None:
    client = visitor(system)
    csrf = await open_form(client, WEIFANG_STREET)
    data: dict[str, Any] = {
        **filled(
            WEIFANG_STREET, csrf, category="older_unemployed", id_number=make_id(), evidence=[]
        ),
        **ORDINARY,
        "fact.residence.local_social_insurance_months": "-3",
        "fact.residence.local_social_insurance_back_paid_months": "六",
        "fact.person.able_to_work": "maybe",
        "fact.person.willing_to_work": "false",
    }
    r = await client.post("/apply", data=data)
    assert r.status_code == 422
    months = "fact-residence-local_social_insurance_months"
    assert field_error(r.text, months) == "请填写 0 到 1200 之间的整数"
    insured = "fact-residence-local_social_insurance_back_paid_months"
    assert field_error(r.text, insured) == "请填写 0 到 1200 之间的整数"
    assert field_error(r.text, "fact-person-able_to_work") == "请选择“是”“否”或“不清楚”"
    assert field_error(r.text, "fact-person-willing_to_work") == (
        "已选择就业创业意愿，有就业意愿应为“是”"
    )
    assert re.search(rf'id="{months}"[^>]*value="-3"[^>]*aria-invalid="true"', r.text)

    # Across answers: the service's words (a date after today, a registration date while
    # not registered), the same as the API's message_zh.
    today = datetime.now(SHANGHAI).date()
    later = date(today.year + 1, 1, 1).isoformat()
    r = await client.post(
        "/apply",
        data={
            **filled(
                WEIFANG_STREET, csrf, category="older_unemployed", id_number=make_id(), evidence=[]
            ),
            **ORDINARY,
            "fact.unemployment.registered_on": later,
        },
    )
    assert r.status_code == 422
    assert field_error(r.text, "fact-unemployment-registered_on") == (
        f"不能晚于今天（{today.isoformat()}）"
    )
    r = await client.post(
        "/apply?lang=en",
        data={
            **filled(
                WEIFANG_STREET, csrf, category="older_unemployed", id_number=make_id(), evidence=[]
            ),
            **ORDINARY,
            "fact.unemployment.registered": "false",
        },
    )
    assert field_error(r.text, "fact-unemployment-registered_on") == (
        "a registration date is given but registered is false"
    )
    await client.aclose()


async def _submit(system: System, place: str, **fields: Any) -> Case:
    client = visitor(system)
    csrf = await open_form(client, place)
    r = await client.post("/apply", data={**ORDINARY, **filled(place, csrf, **fields)})
    assert r.status_code == 303, r.text
    case_id = r.headers["location"].split("/")[3].split("?")[0]
    await client.aclose()
    async with system.sessions()() as session:
        case = await session.scalar(select(Case).where(Case.id == case_id))
    assert case is not None
    return case


async def test_an_ordinary_complete_application_is_decided(system: System) -> None:
    today = datetime.now(SHANGHAI).date()
    # Jilin: a woman born 1980, unemployed since January 2025, urban: 大龄失业人员, 符合.
    jilin = await _submit(
        system,
        JILIN_STREET,
        id_number=make_id(date(1980, 6, 15), region="220102"),
        category="older_unemployed",
        **{"fact.residence.urban": "true"},
    )
    assert jilin.facts["residence"]["hukou_local"] is True
    assert jilin.facts["unemployment"]["registered"] is True
    assert jilin.facts["unemployment"]["registered_on"] == "2025-02-01"
    assert jilin.facts["economic"]["has_stable_income"] is False
    decision = assess(ApplicantFacts.model_validate(jilin.facts), load_pack("jilin-2022"), today)
    assert decision.eligible and decision.requested_category_met
    assert not decision.base_conditions_failed
    assert all(f.rule == "other" for f in decision.officer_checks)  # the manual check only

    # Weifang: a man of 56 already drawing a pension — decided too: 不符合, not 待核实.
    weifang = await _submit(
        system,
        WEIFANG_STREET,
        id_number=make_id(date(1970, 3, 1), female=False),
        sex="male",
        category="older_unemployed",
        evidence=[],
        **{"fact.person.receiving_pension": "true"},
    )
    decision = assess(
        ApplicantFacts.model_validate(weifang.facts), load_pack("weifang-2023"), today
    )
    assert decision.eligible is False and decision.requested_category_met is False
    assert [f.rule for f in decision.exclusions_hit] == ["receiving_pension"]
    assert not decision.base_conditions_failed and not decision.officer_checks
