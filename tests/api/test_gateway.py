"""The gateway's one reading of what goes wrong on the way to a workflow, without a server: a
refusal of a known type is its problem with the caller's words and field errors, one of no
known type rises; a workflow no longer running is the caller's closed problem; an engine away
is 503 ``temporal-unavailable``; a run that continued as new is retried on the latest run
when the caller asks for the handover, and a lost answer is looked for before anything
else."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from application import gateway
from application.errors import Problem
from tests.reliability.report import tally
from workflows import contracts as c


class _Description:
    def __init__(self, status: WorkflowExecutionStatus) -> None:
        self.status = status


class _Handle:
    """Fails the first ``failures`` updates with ``error``; then answers ``ok``."""

    def __init__(
        self, error: BaseException, failures: int, status: WorkflowExecutionStatus | None
    ) -> None:
        self.error, self.failures, self.status = error, failures, status
        self.sent: list[str] = []

    async def execute_update(self, method: Any, arg: Any, *, id: str) -> str:
        self.sent.append(id)
        if len(self.sent) <= self.failures:
            raise self.error
        return "ok"

    async def describe(self) -> _Description:
        if self.status is None:
            raise RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b"")
        return _Description(self.status)


class _Client:
    def __init__(self, handle: _Handle) -> None:
        self.handle = handle

    def get_workflow_handle(self, workflow_id: str) -> _Handle:
        return self.handle


def _refused(type_: str, *details: Any) -> WorkflowUpdateFailedError:
    return WorkflowUpdateFailedError(ApplicationError("not now", *details, type=type_))


GONE = RPCError("workflow execution already completed", RPCStatusCode.NOT_FOUND, b"")
AWAY = RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")
WORDS = gateway.Refusals("Not accepted", fields=gateway.field_errors)


async def _closed() -> Problem:
    return Problem(409, "case-closed", "Case closed", "gone")


async def _update(handle: _Handle, **kw: Any) -> Any:
    client: Any = _Client(handle)
    return await gateway.update(
        client, "wf", "m", {}, key="k", words=kw.pop("words", WORDS), closed=_closed, **kw
    )


async def test_a_refusal_is_its_problem_with_the_callers_words() -> None:
    handle = _Handle(_refused(c.ERR_BAD_FIELD, {"field": "kind"}), 1, None)
    with pytest.raises(Problem) as refused:
        await _update(handle)
    p = refused.value
    assert (p.status, p.type, p.title, p.detail) == (422, "bad-field", "Not accepted", "not now")
    assert p.extra["errors"] == [{"field": "kind", "message": "not now", "code": "choice"}]
    titled = gateway.Refusals("Not accepted", titles={"household-closed": "Household closed"})
    with pytest.raises(Problem) as closed:
        await _update(_Handle(_refused("household-closed"), 1, None), words=titled)
    assert (closed.value.status, closed.value.title) == (409, "Household closed")
    assert "errors" not in closed.value.extra
    with pytest.raises(WorkflowUpdateFailedError):  # of no known type: a bug, a 500
        await _update(_Handle(_refused("something-else"), 1, None))


async def test_gone_is_the_callers_closed_problem_away_is_503() -> None:
    with pytest.raises(Problem) as gone:
        await _update(_Handle(GONE, 1, WorkflowExecutionStatus.COMPLETED))
    assert (gone.value.status, gone.value.type) == (409, "case-closed")
    with pytest.raises(Problem) as away:
        await _update(_Handle(AWAY, 1, WorkflowExecutionStatus.RUNNING))
    assert (away.value.status, away.value.type, away.value.detail) == (
        503,
        "temporal-unavailable",
        gateway.ENGINE_AWAY,
    )
    with pytest.raises(Problem) as worded:
        await _update(_Handle(AWAY, 1, None), away="not delivered; send it again")
    assert worded.value.detail == "not delivered; send it again"


async def test_the_engines_words_go_to_the_log_under_the_problems_correlation_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """#20 §8: the caller reads what to do and a correlation id; the log line with the
    engine's error carries the same id."""
    with caplog.at_level("WARNING"), pytest.raises(Problem) as away:
        await _update(_Handle(AWAY, 1, WorkflowExecutionStatus.RUNNING))
    body = away.value.body()
    assert "connection refused" not in str(body)
    correlation_id = body["correlation_id"]
    assert away.value.headers["X-Correlation-Id"] == correlation_id
    [line] = [r.getMessage() for r in caplog.records if correlation_id in r.getMessage()]
    assert "connection refused" in line
    tally("security", "server-side failures that hide their cause behind a correlation id", 1)


async def test_the_handover_retries_on_the_latest_run_under_the_same_id() -> None:
    handle = _Handle(GONE, 2, WorkflowExecutionStatus.RUNNING)
    assert await _update(handle, handover=True) == "ok"
    assert handle.sent == ["k", "k", "k"]
    # Without the handover the same refusal is an answer at once (the run is not gone).
    with pytest.raises(Problem) as once:
        await _update(_Handle(GONE, 2, WorkflowExecutionStatus.RUNNING))
    assert once.value.status == 503


async def test_a_lost_answer_is_looked_for_first() -> None:
    async def lost() -> str:
        return "from the record"

    handle = _Handle(AWAY, 1, None)
    assert await _update(handle, lost=lost) == "from the record"
    assert handle.sent == ["k"]
