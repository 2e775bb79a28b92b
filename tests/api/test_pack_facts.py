"""Facts a pack declares for itself (#23 item 2), through the API as a new region uses them: a
document with a category for discharged veterans (退役军人) counted from the latest
unemployment registration is loaded as data; the questions endpoint asks its own facts with
their names, the application carries them in ``facts.pack_facts``, the pre-check decides on
them, a wrong type or a fact the pack does not declare is a 422 naming the field, and the
counter officer verifies one on the acceptance task like any shared fact.

On a system of its own (a private SQLite database): the loaded pack would change what the
shared system's other tests see."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from domain.policy.authoring import skeleton
from tests.api.test_policy_load import load
from tests.factories import make_id
from tests.system import System

PACK_ID = "testland-2026"
PLACES = (
    "code,name,level,parent_code,policy_pack_id\n"
    "460000,测试省,province,000000,testland-2026\n"
    "460100,测试市,city,460000,\n"
    "460105,测试区,county,460100,\n"
    "460105001,测试街道,street,460105,\n"
)

OWN_FACTS = """
[[facts]]
path = "person.discharged_veteran"
type = "bool"
name = "退役军人"
name_en = "discharged veteran"
verified_at = ["acceptance", "review"]
source = "（文号） 一(二)"
quote = "退役军人"

[[facts]]
path = "unemployment.latest_registered_on"
type = "date"
name = "最近一次失业登记日期"
name_en = "date of the latest unemployment registration"
verified_at = ["review"]
source = "（文号） 一(二)"
quote = "最近一次失业登记"

[[facts]]
path = "unemployment.insurance_months"
type = "int"
name = "领取失业保险金月数"
name_en = "months of unemployment insurance received"
unit = "个月"
unit_en = "months"
asked = false
verified_at = ["review"]
source = "（文号） 一(二)"
quote = "领取失业保险金"

[[categories]]
code = "veteran"
ordinal = "2"
name = "失业退役军人"
name_en = "unemployed discharged veteran"
when.all = [
  { fact = "person.discharged_veteran", is = true },
  { fact = "unemployment.latest_registered_on.months_since", gte = 6 },
  { fact = "unemployment.insurance_months", lte = 24 },
]
source = "（文号） 一(二)"
quote = "退役军人"
"""

OWN_CASES = """
[[cases]]
name = "退役军人，最近一次登记满6个月"
rule = "categories.veteran"
expect = "met"
clause = "（文号） 一(二)"
facts = { "person.discharged_veteran" = true, "unemployment.latest_registered_on" = 2025-07-01 }

[[cases]]
name = "退役军人，最近一次登记不满6个月"
rule = "categories.veteran"
expect = "not_met"
clause = "（文号） 一(二)"
facts = { "person.discharged_veteran" = true, "unemployment.latest_registered_on" = 2025-07-02 }
"""


def veteran_pack() -> tuple[str, str]:
    pack, cases = skeleton(PACK_ID, region_code="46")
    cases = cases.replace(
        "willing_to_work = true }",
        "willing_to_work = true, discharged_veteran = false }",
    ).replace(
        "unemployment = { registered = true, registered_on = 2025-10-01 }",
        "unemployment = { registered = true, registered_on = 2025-10-01, insurance_months = 12 }",
    )
    return pack + OWN_FACTS, cases + OWN_CASES


@pytest.fixture
async def region(own_system: System) -> System:
    system = own_system
    pack, cases = veteran_pack()
    loaded = await load(system, "admin", pack, cases)
    assert loaded.status_code == 201, loaded.text
    assert loaded.json()["cases_passed"] == 7
    admin = await system.login("admin")
    imported = await system.http.post(
        "/api/v1/admin/jurisdictions/import",
        headers=admin,
        files={"file": ("places.csv", PLACES.encode(), "text/csv")},
    )
    assert imported.status_code == 200, imported.text
    officer = await system.http.post(
        "/api/v1/admin/users",
        headers=admin,
        json={
            "username": "test_officer",
            "display_name": "测试经办",
            "role": "grassroots_officer",
            "jurisdiction_code": "460105001",
            "password": "Secret-Pass-0001",
        },
    )
    assert officer.status_code == 201, officer.text
    await system.login("test_officer", "Secret-Pass-0001")  # kept for wait_for_task
    return system


def application(pack_facts: dict[str, Any]) -> dict[str, Any]:
    return {
        "jurisdiction_code": "460105001",
        "facts": {
            "person": {
                "name": "测试",
                "id_number": make_id(date(1990, 3, 1), female=False, region="460105"),
                "sex": "male",
                "able_to_work": True,
                "willing_to_work": True,
            },
            "residence": {"hukou_region_code": "460105"},
            "unemployment": {"registered": True, "registered_on": "2025-01-10"},
            "requested_category": "veteran",
            "pack_facts": pack_facts,
        },
    }


async def test_own_facts_are_asked_checked_decided_and_verified(region: System) -> None:
    system = region
    asked = await system.http.get(
        "/api/v1/applications/questions",
        params={"jurisdiction_code": "460105001", "category": "veteran"},
    )
    assert asked.status_code == 200, asked.text
    questions = {q["path"]: q for q in asked.json()["questions"]}
    veteran = questions["person.discharged_veteran"]
    assert (veteran["type"], veteran["label_zh"], veteran["pack_fact"]) == (
        "bool",
        "退役军人",
        True,
    )
    # The months since the latest registration are asked as the date they count from.
    latest = questions["unemployment.latest_registered_on"]
    assert (latest["type"], latest["label_zh"]) == ("date", "最近一次失业登记日期")
    assert latest["rules"] == ["category:veteran"]
    # Only an officer knows the insurance months (asked = false): not a question.
    assert "unemployment.insurance_months" not in questions
    assert {p for p, q in questions.items() if q["pack_fact"]} == {
        "person.discharged_veteran",
        "unemployment.latest_registered_on",
    }

    # A fact the pack does not declare, or of the wrong type: 422 on its field, nothing stored.
    wrong = await system.http.post(
        "/api/v1/applications",
        json=application({"person.discharged_veteran": "maybe", "person.astronaut": True}),
    )
    assert wrong.status_code == 422, wrong.text
    assert {(e["field"], e["code"]) for e in wrong.json()["errors"]} == {
        ("facts.pack_facts.person.discharged_veteran", "bool_type"),
        ("facts.pack_facts.person.astronaut", "unknown_fact"),
    }
    assert "本地政策没有此项" in {e["message_zh"] for e in wrong.json()["errors"]}
    future = await system.http.post(
        "/api/v1/applications",
        json=application({"unemployment.latest_registered_on": "2099-01-01"}),
    )
    assert future.status_code == 422, future.text
    assert [e["field"] for e in future.json()["errors"]] == [
        "facts.pack_facts.unemployment.latest_registered_on"
    ]

    filed = await system.http.post(
        "/api/v1/applications",
        json=application({"unemployment.latest_registered_on": "2025-01-10"}),
    )
    assert filed.status_code == 201, filed.text
    case_id = filed.json()["case_id"]
    task = await system.wait_for_task("test_officer", case_id, "acceptance")
    officer = await system.login("test_officer")
    # The pre-check decides on the own facts: the months since the latest registration are
    # met; the veteran status and the insurance months are to be verified (待核实), by name.
    before = (await system.http.get(f"/api/v1/cases/{case_id}", headers=officer)).json()
    explained = before["pre_check_explanation"]
    assert explained["verdict"] == "to_verify"
    assert explained["facts_to_verify"] == [
        "person.discharged_veteran",
        "unemployment.insurance_months",
    ]
    tests = {
        t["fact"]: t for g in explained["groups"] for r in g["rules"] for t in r.get("tests", [])
    }
    assert tests["person.discharged_veteran"]["fact_name"] == "退役军人"
    months = tests["unemployment.latest_registered_on.months_since"]
    assert months["fact_name"] == "自最近一次失业登记日期起满月数"
    assert months["verdict"] == "met" and months["actual_text"].endswith("个月")
    assert tests["person.discharged_veteran"]["actual_text"] == "待核实"

    offered = await system.http.get(f"/api/v1/tasks/{task['id']}/verifiable-facts", headers=officer)
    assert offered.status_code == 200, offered.text
    paths = {f["path"]: f for f in offered.json()}
    # The counter verifies the veteran's certificate; the insurance months are the review's.
    assert paths["person.discharged_veteran"]["input"] == "yes_no"
    assert paths["person.discharged_veteran"]["label_zh"] == "退役军人"
    assert "unemployment.insurance_months" not in paths

    done = await system.http.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=officer,
        json={"outcome": "accept", "verified_facts": {"person.discharged_veteran": True}},
    )
    assert done.status_code == 200, done.text
    case = (await system.http.get(f"/api/v1/cases/{case_id}", headers=officer)).json()
    assert case["facts"]["pack_facts"] == {
        "unemployment.latest_registered_on": "2025-01-10",
        "person.discharged_veteran": True,
    }
    verified = [e for e in case["timeline"] if e["kind"] == "facts_verified"]
    assert verified[-1]["summary"] == "经办人 测试经办 核实：退役军人 = 是"
    assert verified[-1]["after"]["verified_facts"] == {"person.discharged_veteran": True}
