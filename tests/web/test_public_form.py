"""The public application form without a browser: the place decides the pack, and the pack the
categories and materials offered (weifang and jilin differ); the seed form's fields (户籍地址,
联系电话, 就业创业意愿 among them) reach the case's facts; field errors are shown next to the
fields with what was typed kept; the ID number's check fragment explains what is wrong in
Chinese; a second application for the same person gets the one generic refusal, which names
neither the case nor why (it says where to go and what to bring); a submitted
application leads to a receipt only its own browser can open."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import select

from domain.ids import mask_id_number
from store.models import Case
from tests.factories import make_id
from tests.reliability.report import tally
from tests.system import System

JILIN_STREET = "220102001"  # 南岭街道, 长春市南关区: jilin-2022
WEIFANG_STREET = "370702001"  # 城关街道, 潍坊市潍城区: weifang-2023


def visitor(system: System) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=system.http._transport, base_url="http://test")


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the form carries its CSRF token"
    return match.group(1)


def field_error(html: str, field: str) -> str:
    match = re.search(rf'id="err-{field}"[^>]*>([^<]*)<', html)
    assert match, f"no error shown next to {field}"
    return match.group(1)


async def open_form(client: httpx.AsyncClient, place: str) -> str:
    r = await client.get("/apply", params={"place": place})
    assert r.status_code == 200, r.text
    return csrf_of(r.text)


def filled(place: str, csrf: str, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "csrf": csrf,
        "place": place,
        "name": "韩梅",
        "id_number": make_id(region="220102"),
        "sex": "female",
        "ethnicity": "汉族",
        "political_status": "群众",
        "education": "高中",
        "marital_status": "married",
        "employment_card_no": "2201020012345",
        "unemployed_since": "2025-01-01",
        "category": "older_unemployed",
        "evidence": ["id_card", "household_register_or_urban_residence_proof"],
        "hukou_address": "吉林省长春市南关区南岭街道 自由大路 88 号",
        "phone": "138 0431 5678",
        "employment_intentions": ["job_referral", "public_welfare_post"],
    }
    data.update(fields)
    return data


async def test_the_place_decides_the_categories_and_materials(system: System) -> None:
    client = visitor(system)
    start = await client.get("/apply")
    assert start.status_code == 200
    # Every application point of the demo tree is offered, by region; no form before a place.
    assert f'value="{JILIN_STREET}"' in start.text and f'value="{WEIFANG_STREET}"' in start.text
    assert 'id="apply-form"' not in start.text

    jilin = (await client.get("/apply", params={"place": JILIN_STREET})).text
    weifang = (await client.get("/apply", params={"place": WEIFANG_STREET})).text
    assert 'data-pack="jilin-2022"' in jilin and 'data-pack="weifang-2023"' in weifang
    # Categories: jilin's 下岗失业人员 and 失地农民; weifang's 12 with 低保边缘家庭成员.
    assert 'value="laid_off"' in jilin and "下岗失业人员" in jilin and "失地农民" in jilin
    assert 'value="laid_off"' not in weifang and "下岗失业人员" not in weifang
    assert 'value="low_income_edge"' in weifang and "低保边缘家庭成员" in weifang
    assert "低保边缘家庭成员" not in jilin
    # Materials: jilin's own form (handed in by filling this one) and its per-category proofs.
    assert "《吉林省就业困难人员申请认定表》" in jilin and "在线填写本表即为提交" in jilin
    assert 'value="termination_proof"' in jilin and 'value="termination_proof"' not in weifang
    assert 'value="divorce_or_widowhood_proof"' in weifang and "离婚证或丧偶证明" in weifang
    assert "在线填写本表即为提交" not in weifang  # weifang's documents name no form of theirs
    # The seeds' fields.
    for label in (
        "姓名",
        "性别",
        "民族",
        "政治面貌",
        "文化程度",
        "婚否",
        "身份证号码",
        "就业创业证号",
        "失业时间",
        "户籍地址",
        "联系电话",
        "申报困难人员类别",
        "所提供资料",
        "就业创业意愿",
    ):
        assert label in jilin, label
    # 就业创业意愿: the seed form's six boxes, 其他 with a text of its own.
    for code, name in (
        ("job_referral", "就业推荐"),
        ("training", "就业（创业）培训"),
        ("entrepreneurship_service", "创业服务"),
        ("public_welfare_post", "公益性岗位安置"),
        ("flexible_employment", "灵活就业（社会保险补贴）"),
        ("other", "其他"),
    ):
        assert re.search(
            rf'<input type="checkbox" name="employment_intentions" value="{code}"> {name}', jilin
        ), code
    assert '<label for="employment_intentions_other">其他（请注明）</label>' in jilin
    assert '<label for="phone">联系电话</label>' in jilin and 'type="tel"' in jilin
    assert 'name="willing"' not in jilin  # no longer reduced to yes/no

    english = await client.get("/apply", params={"place": JILIN_STREET, "lang": "en"})
    assert "Category applied under" in english.text
    assert "Contact telephone" in english.text and "Hukou address" in english.text
    assert "Flexible employment (social insurance subsidy)" in english.text
    assert "laid off from a former state-owned" in english.text  # the pack's name_en

    unknown = await client.get("/apply", params={"place": "999999", "lang": "zh-CN"})
    assert unknown.status_code == 404 and "请选择申请地点" in unknown.text
    await client.aclose()


async def test_field_errors_are_shown_in_place_and_the_input_is_kept(system: System) -> None:
    client = visitor(system)
    csrf = await open_form(client, JILIN_STREET)
    bad_id = make_id(region="220102")
    bad_id = bad_id[:17] + ("0" if bad_id[17] != "0" else "1")  # a wrong check digit
    r = await client.post(
        "/apply",
        data=filled(
            JILIN_STREET,
            csrf,
            name="",
            id_number=bad_id,
            unemployed_since="2099-01-01",
            category="",
            employment_card_no="EC-77",
        ),
    )
    assert r.status_code == 422
    assert field_error(r.text, "name") == "请填写姓名"
    assert field_error(r.text, "id_number").startswith("校验码错误：应为")
    assert field_error(r.text, "unemployed_since") == "失业时间不能晚于今天"
    assert field_error(r.text, "category") == "请选择申报类别"
    # What was typed is kept.
    assert f'value="{bad_id}"' in r.text and 'value="EC-77"' in r.text
    assert re.search(r'value="household_register_or_urban_residence_proof" checked', r.text)
    assert re.search(r'<option value="高中" selected', r.text)
    assert 'aria-invalid="true"' in r.text

    # A sex that contradicts the ID number is named as such.
    csrf = csrf_of(r.text)
    male = await client.post(
        "/apply", data=filled(JILIN_STREET, csrf, id_number=make_id(region="220102"), sex="male")
    )
    assert male.status_code == 422
    assert field_error(male.text, "sex") == "性别与身份证号码不符（身份证号码为女性）"

    # A bad telephone number is explained next to it in the model's words (Chinese here),
    # with every other answer kept, the wishes ticked among them.
    phone = await client.post(
        "/apply",
        data=filled(
            JILIN_STREET,
            csrf,
            phone="0431-0123",
            employment_intentions=["training", "other"],
            employment_intentions_other="家政",
        ),
    )
    assert phone.status_code == 422
    assert field_error(phone.text, "phone") == (
        "联系电话格式不正确：请填写以13-19开头的11位手机号码，或带区号的固定电话（如0536-1234567）"
    )
    assert re.search(r'id="phone"[^>]*value="0431-0123"', phone.text)
    assert re.search(r'id="phone"[^>]*aria-invalid="true"', phone.text)
    assert re.search(r'value="training" checked', phone.text)
    assert re.search(r'value="other" checked', phone.text)
    assert not re.search(r'value="job_referral" checked', phone.text)
    assert 'value="家政"' in phone.text
    assert 'value="吉林省长春市南关区南岭街道 自由大路 88 号"' in phone.text
    english = await client.post("/apply?lang=en", data=filled(JILIN_STREET, csrf, phone="12345"))
    assert field_error(english.text, "phone").startswith(
        "the telephone number must be a mobile number of 11 digits"
    )
    # Control characters in the address and a wish outside the seed's list.
    odd = await client.post(
        "/apply?lang=zh-CN",
        data=filled(
            JILIN_STREET,
            csrf,
            hukou_address="自由大路\x0788 号",
            employment_intentions=["gardening"],
        ),
    )
    assert odd.status_code == 422
    assert field_error(odd.text, "hukou_address") == "不能包含控制字符、文字方向控制符或不可见字符"
    assert field_error(odd.text, "employment_intentions") == "请从所列的就业创业意愿中选择"

    # A category of another region's pack is refused (it is not offered here).
    other = await client.post("/apply", data=filled(JILIN_STREET, csrf, category="low_income_edge"))
    assert other.status_code == 422
    assert field_error(other.text, "category") == "该类别不属于本地区的政策，请重新选择"

    # Without the form's token nothing is submitted.
    forged = await visitor(system).post("/apply", data=filled(JILIN_STREET, "x"))
    assert forged.status_code == 403 and "表单已过期" in forged.text
    await client.aclose()


async def test_id_number_is_checked_as_it_is_typed(system: System) -> None:
    client = visitor(system)
    csrf = await open_form(client, JILIN_STREET)
    good = make_id(region="220102")

    async def check(value: str) -> str:
        r = await client.post(
            "/apply/check-id", data={"id_number": value}, headers={"X-CSRF-Token": csrf}
        )
        assert r.status_code == 200
        assert "<html" not in r.text  # a fragment, not a page
        return r.text

    assert "已输入 6 位，共 18 位" in await check(good[:6])
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    assert f"校验码错误：应为{good[17]}" in await check(wrong)
    assert "出生日期码错误" in await check("220102" + "19801332" + "0012")
    assert "地址码错误" in await check("990102198006150012")
    assert "长度错误" in await check(good + "1")
    valid = await check(good)
    assert "号码有效" in valid and 'data-valid="true"' in valid and "1980-06-15" in valid

    no_token = await visitor(system).post("/apply/check-id", data={"id_number": good})
    assert no_token.status_code == 403
    await client.aclose()


async def test_submit_leads_to_a_receipt_and_a_duplicate_to_the_409_words(
    system: System,
) -> None:
    client = visitor(system)
    csrf = await open_form(client, JILIN_STREET)
    id_number = make_id(region="220102")
    r = await client.post("/apply", data=filled(JILIN_STREET, csrf, id_number=id_number))
    assert r.status_code == 303, r.text
    receipt_url = r.headers["location"]
    assert receipt_url.startswith("/apply/receipt/YZ")
    case_id = receipt_url.split("/")[3].split("?")[0]

    receipt = await client.get(receipt_url)
    assert receipt.status_code == 200
    assert case_id in receipt.text and "韩梅" in receipt.text
    assert mask_id_number(id_number) in receipt.text and id_number not in receipt.text
    assert "长春市 南关区 南岭街道" in receipt.text
    assert "（北京时间）" in receipt.text
    assert "自受理之日起 10 个工作日内完成认定" in receipt.text  # jilin 二(四)
    assert "大龄失业人员" in receipt.text and "初审" in receipt.text and "复核认定" in receipt.text
    assert receipt.headers["cache-control"] == "no-store"
    # Another browser (or anyone who only knows the case number) sees nothing.
    stranger = visitor(system)
    assert (await stranger.get(receipt_url)).status_code == 404
    assert (await client.get(f"/apply/receipt/{case_id}?t=forged")).status_code == 404

    # The application went through the same service as the API: an online case with the
    # form's answers mapped onto the application model.
    async with system.sessions()() as session:
        case = await session.scalar(select(Case).where(Case.id == case_id))
    assert case is not None and case.channel == "online" and case.policy_pack_id == "jilin-2022"
    person = case.facts["person"]
    assert (person["ethnicity"], person["political_status"], person["education"]) == (
        "汉族",
        "群众",
        "高中",
    )
    assert person["marital_status"] == "married"
    # 户籍地址, 联系电话 (stored normalised) and 就业创业意愿; a wish is 有就业意愿.
    assert case.facts["residence"]["hukou_address"] == "吉林省长春市南关区南岭街道 自由大路 88 号"
    assert person["phone"] == "13804315678"
    assert person["employment_intentions"] == ["job_referral", "public_welfare_post"]
    assert person["employment_intentions_other"] is None
    assert person["willing_to_work"] is True
    assert case.facts["unemployment"] == {
        **case.facts["unemployment"],
        "employment_card_no": "2201020012345",
        "unemployed_since": "2025-01-01",
    }
    assert case.facts["requested_category"] == "older_unemployed"
    assert case.facts["evidence"] == [
        "application_form",  # filling the form online hands it in
        "id_card",
        "household_register_or_urban_residence_proof",
    ]

    # The same person again, while the first case is open: the one generic refusal (#20 §1),
    # which tells a visitor neither that the case exists nor its number; values kept.
    again = await client.post(
        "/apply", data=filled(JILIN_STREET, csrf, id_number=id_number, name="韩梅二")
    )
    assert again.status_code == 409
    assert "暂不能受理此项申请" in again.text and "请携带本人身份证到" in again.text
    assert case_id not in again.text and "已有在办" not in again.text
    tally("security", "refusals of an application that name no case nor why", 1)
    assert 'value="韩梅二"' in again.text
    await client.aclose()
    await stranger.aclose()


async def test_words_next_to_other_are_the_other_wish(system: System) -> None:
    client = visitor(system)
    csrf = await open_form(client, WEIFANG_STREET)
    r = await client.post(
        "/apply",
        data=filled(
            WEIFANG_STREET,
            csrf,
            id_number=make_id(region="370702"),
            category="low_income_edge",
            evidence=["id_card"],
            phone="0536 8123456",
            hukou_address="",
            employment_intentions=["training"],
            employment_intentions_other="  照护老人 ",
        ),
    )
    assert r.status_code == 303, r.text
    case_id = r.headers["location"].split("/")[3].split("?")[0]
    async with system.sessions()() as session:
        case = await session.scalar(select(Case).where(Case.id == case_id))
    assert case is not None
    person = case.facts["person"]
    # 其他 counts as ticked once its words are written (the seed's box has no other way).
    assert person["employment_intentions"] == ["training", "other"]
    assert person["employment_intentions_other"] == "照护老人"
    assert person["phone"] == "0536-8123456"
    assert case.facts["residence"]["hukou_address"] is None
    await client.aclose()


async def test_weifang_receipt_names_its_own_clock(system: System) -> None:
    client = visitor(system)
    csrf = await open_form(client, WEIFANG_STREET)
    r = await client.post(
        "/apply",
        data=filled(
            WEIFANG_STREET,
            csrf,
            id_number=make_id(region="370702"),
            category="low_income_edge",
            evidence=["id_card"],
        ),
    )
    assert r.status_code == 303, r.text
    receipt = await client.get(r.headers["location"])
    assert "潍坊市 潍城区 城关街道" in receipt.text and "低保边缘家庭成员" in receipt.text
    assert "自受理之日起 1 个工作日内完成认定" in receipt.text  # 即时办结
    await client.aclose()
