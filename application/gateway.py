"""The application's one way to the workflows: the Temporal client (connected on first use and
again after a failure, so that the API and the pages start while Temporal is still coming up),
and ``start``, ``update`` and ``signal`` with the one reading of what goes wrong on the way —

- a workflow's refusal (an update's ``ApplicationError`` of a known type) is its problem
  (:data:`REFUSALS`), with field errors where the caller shows them beside the fields;
- a workflow that is no longer running is the caller's "closed" problem (``case-closed``,
  ``not-in-assistance``, ``household-closed`` …), for it knows what closed means;
- anything else the engine answers is the one ``temporal-unavailable`` 503
  (:func:`temporal_unavailable`), whose detail says what to do; the engine's own words go to
  the log under the problem's correlation id, never to the caller.

And the one check of an ``Idempotency-Key`` against the request it was first used for
(:func:`claim_key`, :func:`fingerprint`; records in :mod:`store.idempotency`): a key reused for
another request is 422 ``idempotency-key-reused``."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from application.errors import Problem, correlate
from infra.temporal_client import build_id_to_start_with, connect
from infra.tracing import traced
from store import idempotency
from store.settings import Settings
from workflows import contracts as c
from workflows.household import ERR_HOUSEHOLD_CLOSED
from workflows.steps import started_here

ENGINE_AWAY = "the workflow engine cannot be reached; try again shortly"

# The workflows' refusal types → (HTTP status, problem type); one table for every workflow
# (a type means the same wherever it is raised).
REFUSALS: dict[str, tuple[int, str]] = {
    c.ERR_TASK_UNKNOWN: (404, "not-found"),
    c.ERR_TASK_CLOSED: (409, "task-closed"),
    c.ERR_BAD_OUTCOME: (422, "bad-outcome"),
    c.ERR_MISSING_FIELDS: (422, "missing-fields"),
    c.ERR_ACTOR_NOT_ALLOWED: (403, "actor-not-allowed"),
    c.ERR_BAD_FIELD: (422, "bad-field"),
    c.ERR_NOT_IN_PUBLICITY: (409, "not-in-publicity"),
    c.ERR_NOT_REEXAMINABLE: (409, "not-reexaminable"),
    c.ERR_CASE_CLOSED: (409, "case-closed"),
    c.ERR_NOT_IN_ASSISTANCE: (409, "not-in-assistance"),
    c.ERR_SUBSIDY_CAP: (422, "subsidy-cap-exceeded"),
    ERR_HOUSEHOLD_CLOSED: (409, "household-closed"),
}
# An update that reaches a run just as it continues as new is retried on the latest run.
HANDOVER_ATTEMPTS = 5
_HANDOVER_PAUSE = 0.2

FieldErrors = Callable[[ApplicationError], list[dict[str, str]]]


def temporal_unavailable(detail: str = ENGINE_AWAY, cause: object = None, **extra: Any) -> Problem:
    """The one 503 of an engine that cannot be reached (or answers otherwise than expected):
    ``detail`` is what the caller can do; ``cause`` (the engine's error) is logged under the
    problem's correlation id."""
    problem = Problem(503, "temporal-unavailable", "Temporal unavailable", detail, **extra)
    return correlate(problem, cause)


class TemporalHolder:
    """Hands out the Temporal client, connecting on first use and retrying after failures."""

    def __init__(self, settings: Settings, client: Client | None) -> None:
        self.settings = settings
        self.client = client
        self._lock = asyncio.Lock()
        # Why the last connection failed, for the log line of the 503 (never its detail).
        self._failure: BaseException | None = None

    async def get(self) -> Client | None:
        if self.client is not None:
            return self.client
        async with self._lock:
            if self.client is None:
                try:
                    client = await asyncio.wait_for(connect(self.settings), timeout=5)
                    self.client = traced(client, self.settings)
                except Exception as exc:
                    self._failure = exc
                    return None
        return self.client

    async def require(self) -> Client:
        """The client, or 503 ``temporal-unavailable`` when it cannot be reached."""
        client = await self.get()
        if client is None:
            raise temporal_unavailable(cause=f"cannot connect: {self._failure!r}")
        return client


# --- refusals --------------------------------------------------------------------------------


def field_errors(cause: ApplicationError, prefix: str = "") -> list[dict[str, str]]:
    """The fields a workflow's refusal names (its details: ``{"missing": [...]}`` or
    ``{"field": name}``; a bad outcome names ``outcome``), as the API's field-level errors
    (``prefix`` + name), so a client or page can show each beside its field."""
    details = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
    if cause.type == c.ERR_MISSING_FIELDS:
        return [
            {"field": f"{prefix}{name}", "message": "required", "code": "missing"}
            for name in details.get("missing", [])
        ]
    if "field" in details:
        name = f"{prefix}{details['field']}"
        return [{"field": name, "message": cause.message, "code": "choice"}]
    if cause.type == c.ERR_BAD_OUTCOME:
        return [{"field": "outcome", "message": cause.message, "code": "choice"}]
    return []


@dataclass(frozen=True)
class Refusals:
    """How a caller words a workflow's refusal: the problem's title (``titles`` per problem
    type where it differs) and, where its form shows them, the field errors."""

    title: str
    titles: Mapping[str, str] = field(default_factory=dict)
    fields: FieldErrors | None = None


def refusal(exc: WorkflowUpdateFailedError, words: Refusals) -> Problem | None:
    """The problem of a refused update; None for a failure of no known type (a bug: the
    caller lets it rise as a 500)."""
    cause = exc.cause
    if not isinstance(cause, ApplicationError) or cause.type not in REFUSALS:
        return None
    status, slug = REFUSALS[cause.type]
    problem = Problem(status, slug, words.titles.get(slug, words.title), cause.message)
    if words.fields is not None and (errors := words.fields(cause)):
        problem.extra["errors"] = errors
    return problem


async def workflow_gone(handle: WorkflowHandle[Any, Any], exc: RPCError) -> bool:
    """Whether a call refused with ``exc`` was refused because the workflow is no longer
    running. The server answers NOT_FOUND for a finished workflow ("workflow execution
    already completed"; the test server: "update … not found"), but NOT_FOUND alone could
    also be a misconfigured namespace, so the workflow's own status decides. Any other code
    (UNAVAILABLE, DEADLINE_EXCEEDED, …) is the engine, not the case."""
    if exc.status != RPCStatusCode.NOT_FOUND:
        return False
    try:
        description = await handle.describe()
    except RPCError as again:
        # A workflow that does not exist is gone too; a namespace that does not is not.
        return again.status == RPCStatusCode.NOT_FOUND and "namespace" not in again.message.lower()
    return description.status != WorkflowExecutionStatus.RUNNING


async def _running(handle: WorkflowHandle[Any, Any]) -> bool:
    try:
        return (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    except RPCError:
        return False


# --- idempotency keys ----------------------------------------------------------------------

# Fields of a request that say who sent it and when, not what it asks: the same request
# retried by another officer's session is the same request.
_SENDER_FIELDS = frozenset({"actor_id", "actor_name", "at"})


def fingerprint(name: str, arg: object) -> str:
    """What makes a request the same request: its name and its fields, without its sender."""
    fields = dataclasses.asdict(arg) if dataclasses.is_dataclass(arg) else arg  # type: ignore[arg-type]
    if isinstance(fields, dict):
        fields = {k: v for k, v in fields.items() if k not in _SENDER_FIELDS}
    text = json.dumps([name, fields], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def key_reused(where: str = "") -> Problem:
    return Problem(
        422,
        "idempotency-key-reused",
        "Idempotency-Key reused",
        f"this Idempotency-Key was already used for another request{where}",
    )


async def claim_key(
    session: AsyncSession, scope: str, key: str, request_print: str, *, where: str = ""
) -> None:
    """Remember what ``key`` is first used for in ``scope``; 422 ``idempotency-key-reused``
    when it was used for another request. For updates whose workflow answers a repeat
    itself (the key is the update id); the caller commits."""
    first = await idempotency.claim(
        session, scope, key, fingerprint=request_print, now=datetime.now(UTC)
    )
    if first != request_print:
        raise key_reused(where)


# --- start, update, signal ----------------------------------------------------------------------


async def start(
    temporal: Client,
    run: Any,
    arg: object,
    *,
    id: str,
    task_queue: str,
    id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE,
) -> WorkflowHandle[Any, Any] | None:
    """Start a workflow; one already started under ``id`` (an earlier attempt, a sweep) counts
    as started. None when the engine cannot be reached: the caller knows whether that is a 503
    (:func:`temporal_unavailable`) or something a later sweep resumes."""
    try:
        # the patch set it answers, and the build id of the workers that run it
        # (workflows.steps)
        started = started_here(await build_id_to_start_with(temporal))
        handle: WorkflowHandle[Any, Any] = await temporal.start_workflow(
            run,
            arg,
            id=id,
            task_queue=task_queue,
            id_reuse_policy=id_reuse_policy,
            memo=started.memo,
            search_attributes=started.search_attributes,
        )
    except WorkflowAlreadyStartedError:
        return temporal.get_workflow_handle(id)
    except RPCError:
        return None
    return handle


async def update(
    temporal: Client,
    workflow_id: str,
    method: Any,
    arg: object,
    *,
    key: str | None,
    words: Refusals,
    closed: Callable[[], Awaitable[Problem]],
    lost: Callable[[], Awaitable[Any]] | None = None,
    away: str = ENGINE_AWAY,
    handover: bool = False,
) -> Any:
    """Send an update to a workflow and return its result; the update id is ``key`` (a retry
    under the same key is applied once: Temporal answers it with the first result).

    Raises the refusal's problem (:func:`refusal`); ``closed()``'s problem when the workflow
    is no longer running; else :func:`temporal_unavailable` with ``away`` (what the caller can
    do) as its detail and the engine's error in the log.
    ``lost``, asked first when the engine's answer did not arrive, may return the answer the
    update's effects already show (or raise the caller's own problem), None to go on.
    ``handover``: the workflow continues as new, so an update that reached a run as it
    handed over is sent again to the latest run."""
    handle = temporal.get_workflow_handle(workflow_id)
    update_id = key or str(uuid.uuid4())
    for attempt in range(HANDOVER_ATTEMPTS if handover else 1):
        try:
            return await handle.execute_update(method, arg, id=update_id)
        except WorkflowUpdateFailedError as exc:
            if (problem := refusal(exc, words)) is not None:
                raise problem from None
            raise
        except RPCError as exc:
            if lost is not None and (answer := await lost()) is not None:
                return answer
            if handover and attempt + 1 < HANDOVER_ATTEMPTS and await _running(handle):
                # The run we reached continued as new meanwhile: the latest run takes it.
                await asyncio.sleep(_HANDOVER_PAUSE)
                continue
            if await workflow_gone(handle, exc):
                raise await closed() from None
            raise temporal_unavailable(away, cause=f"update {workflow_id}: {exc!r}") from None
    raise AssertionError("unreachable")  # pragma: no cover


async def signal(temporal: Client, workflow_id: str, name: str, *args: Any) -> bool:
    """Signal a workflow; False when it could not be told (finished since, or the engine
    away): a signal carries news the workflow reads again on its own when it runs."""
    try:
        await temporal.get_workflow_handle(workflow_id).signal(name, *args)
    except RPCError:
        return False
    return True
