"""Anonymous callers learn nothing from an ID number (#20 §1): an application refused because
the person has an open case, is in a cooldown or may not apply again gets one refusal — the
same status and words for all three, naming no case, pack, date or reason — unless the caller
is staff whose area holds the case, who keeps the detailed problem. A submission with an
``Idempotency-Key`` is answered again with its first case, so a client that lost its answer
learns its case from its own key."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from store import repos
from tests.api.test_assistance_api import exited
from tests.factories import application, make_id
from tests.problems import problem
from tests.reliability.report import tally
from tests.system import System

APPLY = "/api/v1/applications"
_seq = itertools.count(1)


def generic(r: httpx.Response, *secrets: str) -> dict[str, Any]:
    """The one refusal: 409 application-not-accepted, where to go and what to bring, and
    none of ``secrets`` (case ids, the pack, dates, reasons) anywhere in the answer."""
    body = problem(r, 409, "application-not-accepted")
    assert "身份证" in body["detail"] and "咨询办理" in body["detail"], body
    assert set(body) == {"type", "title", "status", "detail", "instance"}, body
    for secret in secrets:
        assert secret not in r.text, (secret, r.text)
    tally("security", "refusals of an application that name no case nor why", 1)
    return body


async def test_an_open_case_is_told_only_to_staff_whose_area_holds_it(system: System) -> None:
    number = make_id(region="370702")
    body = application("weifang-2023", id_number=number)
    first = await system.http.post(APPLY, json=body)
    assert first.status_code == 201, first.text
    case_id = first.json()["case_id"]

    anonymous = generic(await system.http.post(APPLY, json=body), case_id, "weifang")
    # The county reviewer's area holds the case (at 370702): the detailed problem.
    reviewer = await system.login("wf_reviewer")
    r = await system.http.post(APPLY, json=body, headers=reviewer)
    told = problem(r, 409, "duplicate-application")
    assert told["case_id"] == case_id
    # A street officer in the same pack submits at their street; the case is not in their area.
    street = {**body, "jurisdiction_code": "370702001"}
    officer = await system.login("wf_officer")
    other = generic(await system.http.post(APPLY, json=street, headers=officer), case_id)
    assert other["detail"] == anonymous["detail"]

    # Reapplication forbidden after an exit: the same answer as the open case.
    barred = make_id(region="370702")
    exit_case = await exited(
        system, "weifang-2023", barred, "unable_to_work", False, date(2020, 1, 1)
    )
    again = application("weifang-2023", id_number=barred)
    forbidden = generic(
        await system.http.post(APPLY, json=again), exit_case, "2020-01-01", "unable_to_work"
    )
    assert forbidden == anonymous
    told = problem(
        await system.http.post(APPLY, json=again, headers=reviewer), 422, "reapplication-forbidden"
    )
    assert told["case_id"] == exit_case and told["reason"] == "unable_to_work"


async def test_a_cooldown_looks_like_an_open_case(system: System) -> None:
    """xinyu 第三条(二): 满 3 个月 — the cooldown's refusal is the open case's, word for word."""
    today = datetime.now(UTC).date()
    waiting = make_id(region="360502")
    ended = today - timedelta(days=40)
    exit_case = await exited(system, "xinyu-2023", waiting, "left_labour_market", True, ended)
    cooling = generic(
        await system.http.post(APPLY, json=application("xinyu-2023", id_number=waiting)),
        exit_case,
        ended.isoformat(),
        "may_apply_from",
    )
    body = application("xinyu-2023", id_number=make_id(region="360502"))
    assert (await system.http.post(APPLY, json=body)).status_code == 201
    assert generic(await system.http.post(APPLY, json=body)) == cooling

    officer = await system.login("xy_officer")
    told = problem(
        await system.http.post(
            APPLY, json=application("xinyu-2023", id_number=waiting), headers=officer
        ),
        409,
        "reidentification-cooldown",
    )
    assert told["case_id"] == exit_case and told["may_apply_from"] > today.isoformat()


async def test_a_retry_under_its_key_gets_its_own_case(system: System) -> None:
    body = application("weifang-2023", id_number=make_id(region="370702"))
    key = {"Idempotency-Key": f"apply-{next(_seq)}-{datetime.now(UTC).timestamp()}"}
    first = await system.http.post(APPLY, json=body, headers=key)
    assert first.status_code == 201, first.text
    again = await system.http.post(APPLY, json=body, headers=key)
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    # Without the key the same application is the generic refusal; under it another
    # application is refused as a reused key.
    generic(await system.http.post(APPLY, json=body), first.json()["case_id"])
    other = application("weifang-2023", id_number=make_id(region="370702"))
    problem(await system.http.post(APPLY, json=other, headers=key), 422, "idempotency-key-reused")
    async with system.sessions()() as session:
        number = body["facts"]["person"]["id_number"]
        case = await repos.open_case_for(session, f"weifang-2023:{number}")
        assert case is not None and case.id == first.json()["case_id"]
