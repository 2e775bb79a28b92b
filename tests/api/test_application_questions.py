"""GET /api/v1/applications/questions (#21 item 3): what an application at a place asks, the
same list the public form shows (domain/questions.py), anonymous like the submission; a place
where nobody can apply or a category of another pack is a precise 422; answers that contradict
the calendar or each other are refused on submission with the field and both languages."""

from __future__ import annotations

from datetime import date, datetime

from domain.calendar import SHANGHAI
from domain.policy.loader import load_pack
from domain.questions import application_questions
from tests.factories import application
from tests.system import System

JILIN_STREET = "220102001"
WEIFANG_STREET = "370702001"
URL = "/api/v1/applications/questions"


async def test_the_questions_of_a_place_and_category(system: System) -> None:
    r = await system.http.get(URL, params={"jurisdiction_code": JILIN_STREET})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["policy_pack_id"] == "jilin-2022" and body["category"] is None
    assert "older_unemployed" in [c["code"] for c in body["categories"]]
    paths = [q["path"] for q in body["questions"]]
    assert paths == [q.path for q in application_questions(load_pack("jilin-2022"))]
    hukou = body["questions"][0]
    assert hukou == {
        "path": "residence.hukou_local",
        "type": "bool",
        "label_zh": "户籍在本地",
        "label_en": "local hukou",
        "group": "base_condition",
        "rules": ["base_condition:residence"],
        "choices": [],
        "unit_zh": "",
        "unit_en": "",
        "follows": None,
        "pack_fact": False,
    }
    registered_on = next(q for q in body["questions"] if q["path"].endswith("registered_on"))
    assert registered_on["follows"] == "unemployment.registered"

    older = (
        await system.http.get(
            URL, params={"jurisdiction_code": JILIN_STREET, "category": "older_unemployed"}
        )
    ).json()
    urban = next(q for q in older["questions"] if q["path"] == "residence.urban")
    assert urban["group"] == "category" and urban["rules"] == ["category:older_unemployed"]
    assert len(older["questions"]) > len(body["questions"])

    single = (
        await system.http.get(
            URL, params={"jurisdiction_code": WEIFANG_STREET, "category": "single_parent"}
        )
    ).json()
    status = next(q for q in single["questions"] if q["path"] == "person.marital_status")
    assert {"code": "divorced", "name_zh": "离婚", "name_en": "divorced"} in status["choices"]
    months = next(
        q for q in single["questions"] if q["path"] == "residence.local_social_insurance_months"
    )
    assert (months["type"], months["unit_zh"], months["unit_en"]) == ("int", "个月", "months")


async def test_a_place_or_category_that_cannot_be_asked_is_a_precise_422(system: System) -> None:
    r = await system.http.get(URL, params={"jurisdiction_code": "220000"})  # the province
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "jurisdiction_code"
    r = await system.http.get(
        URL, params={"jurisdiction_code": JILIN_STREET, "category": "low_income_edge"}
    )
    assert r.status_code == 422
    body = r.json()
    assert body["errors"][0] == {
        "field": "category",
        "message": "not a category of jilin-2022",
        "message_zh": "该类别不属于本地区的政策，请重新选择",
        "code": "unknown-category",
    }
    assert "older_unemployed" in body["categories"]
    r = await system.http.get(URL)
    assert r.status_code == 422


async def test_contradicting_answers_are_refused_on_their_field(system: System) -> None:
    today = datetime.now(SHANGHAI).date()
    body = application("jilin-2022")
    body["facts"]["unemployment"] = {
        **body["facts"].get("unemployment", {}),
        "registered": False,
        "registered_on": date(today.year + 1, 1, 1).isoformat(),
    }
    r = await system.http.post("/api/v1/applications", json=body)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["type"].endswith("validation-error")
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [
        ("facts.unemployment.registered_on", "date-in-future"),
        ("facts.unemployment.registered_on", "registration-date-without-registration"),
    ]
    assert problem["errors"][0]["message_zh"] == f"不能晚于今天（{today.isoformat()}）"
