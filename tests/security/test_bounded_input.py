"""Update-backed requests are checked before Temporal (#20 §4): a task completion's ``fields``
must be fields of the task's own form (unknown keys 422 naming ``fields.<name>``), of their
type (a list field a list, a text field a string) and within their size (422); assistance,
objection and withdrawal bodies refuse unknown keys; a JSON or form body over the limit is
413 ``payload-too-large`` with a problem body before it is parsed, whether it declares its
length or not. Bad input never reaches the workflow, nor becomes a 5xx."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from application.body_limit import MAX_BODY_BYTES
from application.errors import Problem
from application.task_fields import LIST_LIMIT, TEXT_LIMIT, check_fields
from tests.api.test_tasks_concurrency import _reviewer_task
from tests.problems import problem
from tests.reliability.report import tally
from tests.system import System

FORM = {
    "form": {
        "outcomes": {"approve": ["category"], "supplement": ["evidence"]},
        "choices": {"category": ["a", "b"]},
    }
}


def _fields_refused(kind: str, fields: dict[str, object]) -> list[str]:
    with pytest.raises(Problem) as refused:
        check_fields(kind, FORM, fields)
    assert (refused.value.status, refused.value.type) == (422, "validation-error")
    tally("security", "bad inputs refused before the workflow (422 or 413)", 1)
    return [e["field"] for e in refused.value.extra["errors"]]


def test_a_tasks_fields_are_its_forms_of_their_type_and_size() -> None:
    check_fields("immediate_conclusion", FORM, {"category": "a", "evidence": ["id_card"]})
    assert _fields_refused("x", {"status": "approved", "case_id": "Y", "category": "a"}) == [
        "fields.status",
        "fields.case_id",
    ]
    assert _fields_refused("x", {"evidence": "id_card"}) == ["fields.evidence"]
    assert _fields_refused("x", {"evidence": [1]}) == ["fields.evidence"]
    assert _fields_refused("x", {"evidence": ["a"] * (LIST_LIMIT + 1)}) == ["fields.evidence"]
    assert _fields_refused("x", {"category": ["a"]}) == ["fields.category"]
    assert _fields_refused("x", {"category": "a" * (TEXT_LIMIT + 1)}) == ["fields.category"]
    # The household clearance's day of employment is read when given, and must be a day.
    check_fields("household_clearance", FORM, {"employed_on": "2026-03-02"})
    assert _fields_refused("household_clearance", {"employed_on": "soon"}) == ["fields.employed_on"]


async def test_a_completion_with_bad_fields_is_refused_before_the_workflow(
    system: System,
) -> None:
    case_id, task_id = await _reviewer_task(system)
    headers = await system.login("wf_reviewer")
    url = f"/api/v1/tasks/{task_id}/complete"
    for fields, named in [
        ({"category": "older_unemployed", "status": "approved", "actor_id": 1}, "fields.status"),
        ({"category": ["older_unemployed"]}, "fields.category"),
        ({"category": "x" * (TEXT_LIMIT + 1)}, "fields.category"),
    ]:
        r = await system.http.post(
            url,
            headers=headers | {"Idempotency-Key": f"bad-{len(str(fields))}-{task_id}"},
            json={"outcome": "approve", "fields": fields},
        )
        body = problem(r, 422, "validation-error")
        assert named in [e["field"] for e in body["errors"]], body
        tally("security", "bad inputs refused before the workflow (422 or 413)", 1)
    # Three megabytes of fields (once a 503 from the gRPC limit): 413 before it is parsed.
    huge = {"outcome": "approve", "fields": {"category": "x" * (3 * 1024 * 1024)}}
    r = await system.http.post(url, headers=headers | {"Idempotency-Key": "huge"}, json=huge)
    problem(r, 413, "payload-too-large")
    tally("security", "bad inputs refused before the workflow (422 or 413)", 1)
    # The task is still open and takes a good decision.
    r = await system.http.post(
        url,
        headers=headers | {"Idempotency-Key": f"good-{task_id}"},
        json={"outcome": "approve", "fields": {"category": "older_unemployed"}},
    )
    assert r.status_code == 200, r.text

    # Withdrawal and objection bodies refuse keys they do not define.
    officer = await system.login("wf_reviewer")
    r = await system.http.post(
        f"/api/v1/cases/{case_id}/withdraw",
        headers=officer,
        json={"reason": "自行就业", "status": "withdrawn"},
    )
    body = problem(r, 422, "validation-error")
    assert "status" in body["detail"], body
    tally("security", "bad inputs refused before the workflow (422 or 413)", 1)


async def test_a_body_over_the_limit_is_413_with_or_without_its_length(system: System) -> None:
    big = b'{"outcome": "approve", "fields": {"category": "' + b"x" * MAX_BODY_BYTES + b'"}}'

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(big), 64 * 1024):
            yield big[i : i + 64 * 1024]

    headers = await system.login("wf_reviewer") | {"Content-Type": "application/json"}
    url = "/api/v1/tasks/no-such-task/complete"
    declared = await system.http.post(url, headers=headers, content=big)
    problem(declared, 413, "payload-too-large")
    streamed = await system.http.post(url, headers=headers, content=chunks())
    assert "content-length" not in streamed.request.headers
    problem(streamed, 413, "payload-too-large")
    # A form post to a page as well (the public form).
    page = await system.http.post("/apply", data={"name": "x" * MAX_BODY_BYTES, "csrf": "x"})
    assert page.status_code == 413, page.text
    tally("security", "bad inputs refused before the workflow (422 or 413)", 3)
