"""The public form asks a pack's own facts (#23 item 2) like the shared ones: in a region whose
pack was loaded as data with a category for discharged veterans, choosing that category asks
退役军人 and 最近一次失业登记日期 by name, a date in the future is refused beside its input, and
a complete application keeps the answers under the pack's own facts."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from store.models import Case
from tests.api.test_pack_facts import region  # noqa: F401  (the fixture: a loaded region)
from tests.factories import make_id
from tests.system import System
from tests.web.test_public_form import csrf_of, field_error, visitor

STREET = "460105001"


def form(csrf: str, **answers: str) -> dict[str, Any]:
    return {
        "csrf": csrf,
        "place": STREET,
        "name": "退伍兵",
        "id_number": make_id(date(1990, 3, 1), female=False, region="460105"),
        "sex": "male",
        "category": "veteran",
        "fact.person.able_to_work": "true",
        "fact.person.willing_to_work": "true",
        **answers,
    }


async def test_the_form_asks_and_keeps_a_packs_own_facts(region: System) -> None:  # noqa: F811
    client = visitor(region)
    page = await client.get("/apply", params={"place": STREET, "category": "veteran"})
    assert page.status_code == 200, page.text
    assert 'data-fact="person.discharged_veteran"' in page.text
    assert 'data-fact="unemployment.latest_registered_on"' in page.text
    assert "退役军人" in page.text and "最近一次失业登记日期" in page.text
    # Only an officer knows the insurance months: not asked.
    assert 'data-fact="unemployment.insurance_months"' not in page.text
    csrf = csrf_of(page.text)

    future = await client.post(
        "/apply",
        data=form(
            csrf,
            **{
                "fact.person.discharged_veteran": "true",
                "fact.unemployment.latest_registered_on": "2099-01-01",
            },
        ),
    )
    assert future.status_code == 422, future.text
    assert field_error(future.text, "fact-unemployment-latest_registered_on").startswith(
        "不能晚于今天"
    )

    done = await client.post(
        "/apply",
        data=form(
            csrf,
            **{
                "fact.person.discharged_veteran": "true",
                "fact.unemployment.latest_registered_on": "2025-01-10",
            },
        ),
    )
    assert done.status_code == 303, done.text
    case_id = done.headers["location"].split("/")[3].split("?")[0]
    await client.aclose()
    async with region.sessions()() as session:
        case = await session.scalar(select(Case).where(Case.id == case_id))
    assert case is not None
    assert case.facts["pack_facts"] == {
        "person.discharged_veteran": True,
        "unemployment.latest_registered_on": "2025-01-10",
    }
    assert "discharged_veteran" not in case.facts["person"]
