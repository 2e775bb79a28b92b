"""Facts verified from the task page without a browser (#21 item 2): a Weifang applicant
without local hukou reaches the county's 即时办结 with insured months and residence to verify;
a value of the wrong type is answered beside its input in the API's words (in Chinese) with
what was typed kept and nothing recorded; the corrected form records the primary facts and the
system computes the months excluding back pay."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from store.models import Case, CaseEvent
from tests.factories import application
from tests.system import System
from tests.web.test_task_pages import hidden, login

INSURED = "residence.local_social_insurance_months"
BACK_PAID = "residence.local_social_insurance_back_paid_months"
SINCE = "residence.resided_locally_since"


def error_of(page: str, path: str) -> str:
    fid = "v-" + path.replace(".", "-")
    match = re.search(rf'id="{fid}-error"[^>]*>([^<]*)<', page)
    assert match, f"no message beside {path}"
    return html.unescape(match.group(1))


async def test_verify_on_the_page_refused_beside_the_input_then_recorded(system: System) -> None:
    body = application("weifang-2023")
    body["facts"]["residence"]["hukou_local"] = False
    r = await system.http.post("/api/v1/applications", json=body)
    case_id = r.json()["case_id"]
    task = await system.wait_for_task("wf_reviewer", case_id, "immediate_conclusion")
    client = await login(system, "wf_reviewer")
    page = (await client.get(f"/tasks/{task['id']}")).text
    assert 'data-testid="verify-facts"' in page
    for path in (INSURED, BACK_PAID, SINCE):
        assert f'name="v_{path}"' in page
    assert "其中补缴月数（个月）" in page
    assert "系统据此计算：在当地用人单位参加社会保险月数(不含补缴月数)" in page

    form = {
        "csrf": hidden(page, "csrf"),
        "idempotency_key": hidden(page, "idempotency_key"),
        "outcome": "approve",
        "f_category": "older_unemployed",
        f"v_{INSURED}": "-3",
        f"v_{BACK_PAID}": "2",
        f"v_{SINCE}": "2025/01/01",
    }
    r = await client.post(f"/tasks/{task['id']}", data=form)
    assert r.status_code == 422
    assert error_of(r.text, INSURED) == "不能为负数"
    assert error_of(r.text, SINCE) == "请填写有效的日期（年-月-日）"
    assert 'value="-3"' in r.text and 'value="2025/01/01"' in r.text  # kept as typed
    async with system.sessions()() as session:
        case = await session.get(Case, case_id)
        assert case is not None and case.facts["residence"].get(INSURED.split(".")[1]) is None

    # The English page says it in the API's words.
    r = await client.post(f"/tasks/{task['id']}?lang=en", data=form)
    assert error_of(r.text, INSURED) == "must not be negative"

    form |= {f"v_{INSURED}": "9", f"v_{SINCE}": "2025-01-01", "idempotency_key": "verify-page-1"}
    r = await client.post(f"/tasks/{task['id']}", data=form)
    assert r.status_code == 303, r.text
    async with system.sessions()() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        residence = case.facts["residence"]
        assert (residence["local_social_insurance_months"], residence[BACK_PAID.split(".")[1]]) == (
            9,
            2,
        )
        assert residence["resided_locally_since"] == "2025-01-01"
        events = (
            await session.scalars(
                select(CaseEvent).where(
                    CaseEvent.case_id == case_id, CaseEvent.kind == "facts_verified"
                )
            )
        ).all()
    assert len(events) == 1
    assert "其中补缴月数 = 2个月" in events[0].summary
    assert "在本地连续居住起始日期 = 2025年1月1日" in events[0].summary
    # The pre-check ran again on the primary facts: 9 insured months less 2 back-paid = 7 ≥ 6,
    # so the residence condition (潍人社字〔2023〕1号 一) is met.
    assert case.pre_check is not None
    residence_lines = [
        line
        for line in case.pre_check["lines"]
        if line["kind"] == "base_condition" and line["rule"] == "residence"
    ]
    assert [line["outcome"] for line in residence_lines] == ["met"]
