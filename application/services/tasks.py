"""The task inbox: what the caller may see (views, filters, keyset pages, badge counts) and
what they may do with a task (claim, release, reassign, return, take the next one, comment,
complete).

Scoping: every task is looked up inside the caller's jurisdiction subtree first; a task outside
it is answered exactly like a task that does not exist (404 ``not-found``), before any role
check, so nobody learns that a case outside their remit exists. Inside the subtree, an action
the caller's role does not allow is 403 ``actor-not-allowed``.

Groups and claims (definitions in :mod:`store.tasks_repo`): a user is in a task's group when
their role is the task's ``candidate_role`` and the task lies inside their subtree. Only group
members claim (``POST …/claim``, a compare-and-set on the row's version: of concurrent claims
exactly one wins, the others get 409 ``task-claimed`` naming the holder). The holder or a
supervisor releases a claim; supervisors (roles supervisor and admin) reassign to a group
member or return a task to its queue.

Completion is delivered to the case's workflow as a Temporal update whose id is the
``Idempotency-Key``. A task claimed by someone else can only be completed by its holder (409
``task-claimed``); an *unclaimed* task may be completed by any group member directly (the
workflow checks the group again), so a small office is not forced to claim first. The first
answer for a key is stored and returned for every repeat of it; the key is reserved (a pending
record, committed) *before* the update is sent, so concurrent repeats wait for that answer
instead of racing it — and only one request per key ever sends the update.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from application import gateway, task_fields
from application.actor import Actor
from application.errors import PROBLEM_BASE, Problem, not_found
from application.schemas.tasks import (
    BulkItemOut,
    ChoiceOut,
    CommentIn,
    CompleteTaskIn,
    HolderOut,
    TaskListIn,
    VerifiableFactOut,
)
from application.services import release_before_workflow
from application.task_fields import check_fields, check_verified_facts
from domain.calendar import local_date
from domain.facts import (
    CHOICE_NAMES,
    FactInput,
    FactValueError,
    parse_fact_value,
)
from domain.policy.wording import fact_name, value_text
from store import admin_repo, idempotency, repos, tasks_repo
from store.audit import record_audit
from store.db import write_turn
from store.models import Case, CaseEvent, Task, User
from store.models_inbox import TaskComment
from store.packs import PinnedPackMissing, pinned_pack
from store.tasks_repo import OPEN, SUPERVISOR_ROLES, TaskFilter, Viewer
from workflows import contracts as c
from workflows.identification import IdentificationWorkflow

# Attempts of a compare-and-set whose row changed meanwhile for another reason (an SLA event
# bumps the version of an unassigned task).
CAS_ATTEMPTS = 5
# How long a repeat of an Idempotency-Key waits for the first request's answer, and after how
# long a pending key is considered abandoned (its request died) and taken over.
COMPLETION_WAIT = timedelta(seconds=60)
COMPLETION_STALE = timedelta(minutes=5)
_POLL_SECONDS = 0.05
# _settle_key's mark for a completion that failed after possibly reaching the workflow.
UNCERTAIN = "uncertain"


def viewer(actor: Actor) -> Viewer:
    return Viewer(user_id=actor.id, role=actor.role, path=actor.jurisdiction_path)


def is_supervisor(actor: Actor) -> bool:
    return actor.role in SUPERVISOR_ROLES


def _not_allowed(detail: str) -> Problem:
    return Problem(403, "actor-not-allowed", "Not allowed", detail)


def _closed(task: Task) -> Problem:
    return Problem(
        409, "task-closed", "Task already closed", f"task {task.id} is already {task.state}"
    )


async def _claimed(session: AsyncSession, task: Task) -> Problem:
    holder = await tasks_repo.user_by_id(session, task.assignee_id) if task.assignee_id else None
    name = holder.display_name if holder else "another user"
    return Problem(
        409,
        "task-claimed",
        "Task claimed",
        f"task {task.id} is claimed by {name}",
        holder={"id": task.assignee_id, "display_name": name},
    )


# --- reading -----------------------------------------------------------------------------


async def get_task(session: AsyncSession, actor: Actor, task_id: str) -> Task:
    """The task, freshly read, if it is in the caller's subtree; else 404."""
    task = await tasks_repo.task_in_scope(session, task_id, actor.jurisdiction_path)
    if task is None:
        raise not_found("task", task_id)
    return task


def encode_cursor(sort: str, task: Task) -> str:
    """An opaque cursor: the sort it belongs to and the last row's sort key."""
    key: list[Any] = [task.due_at.isoformat(), task.id]
    if sort == "priority":
        key.insert(0, task.priority)
    raw = json.dumps({"s": sort, "k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tasks_repo.DueKey | tasks_repo.PriorityKey:
    bad = Problem(422, "bad-cursor", "Invalid cursor", "the cursor is not valid")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        cursor_sort, key = data["s"], data["k"]
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise bad from None
    if cursor_sort != sort:
        raise Problem(
            422,
            "bad-cursor",
            "Cursor of another sort",
            f"this cursor belongs to sort={cursor_sort}, not sort={sort}",
        )
    try:
        if sort == "priority":
            priority, due, tid = key
            return int(priority), _aware(datetime.fromisoformat(due)), str(tid)
        due, tid = key
        return _aware(datetime.fromisoformat(due)), str(tid)
    except (ValueError, TypeError):
        raise bad from None


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive instant in cursor")
    return value


def task_filter(params: TaskListIn) -> TaskFilter:
    return TaskFilter(
        view=params.view,
        state=params.state,
        kind=params.kind,
        due_from=params.due_from,
        due_to=params.due_to,
        category=params.category,
        policy=params.policy,
        name=params.name,
        id_last4=params.id_last4,
        sort=params.sort,
    )


async def list_tasks(
    session: AsyncSession, actor: Actor, params: TaskListIn, now: datetime
) -> tuple[list[Task], str | None]:
    """One page of the caller's view and the cursor of the next page (None on the last)."""
    after = decode_cursor(params.cursor, params.sort) if params.cursor else None
    who = viewer(actor)
    if params.jurisdiction is not None:
        # A place of the caller's subtree narrows the list to it (the dashboard's drill-down
        # lands here); a place outside it is not found, as every object out of scope.
        place = await admin_repo.jurisdiction_in_scope(
            session, params.jurisdiction, actor.jurisdiction_path
        )
        if place is None:
            raise not_found("jurisdiction", params.jurisdiction)
        who = replace(who, path=place.path)
    rows = await tasks_repo.list_tasks(
        session, who, task_filter(params), now=now, after=after, limit=params.limit
    )
    next_cursor = encode_cursor(params.sort, rows[-1]) if len(rows) == params.limit else None
    return rows, next_cursor


async def assignee_names(
    session: AsyncSession, tasks: Sequence[Task], actor: Actor
) -> dict[int, str]:
    """The display names of the tasks' assignees. The caller's own is known: a task one has
    just claimed, or lists among one's own, needs no read (#22)."""
    others = (t.assignee_id for t in tasks if t.assignee_id != actor.id)
    return {actor.id: actor.display_name, **await tasks_repo.display_names(session, others)}


async def counts(session: AsyncSession, actor: Actor, *, cap: int) -> dict[str, int]:
    return await tasks_repo.count_views(session, viewer(actor), now=datetime.now(UTC), cap=cap)


# --- claims ------------------------------------------------------------------------------


async def claim(session: AsyncSession, actor: Actor, task_id: str) -> Task:
    """Claim an unassigned open task of one of the caller's groups (compare-and-set on the
    version). Claiming a task one already holds is a no-op."""
    for _ in range(CAS_ATTEMPTS):
        task = await get_task(session, actor, task_id)
        if not tasks_repo.in_group(actor.role, actor.jurisdiction_path, task):
            raise _not_allowed(f"{actor.username} is not in the group of task {task_id}")
        if task.state != OPEN:
            raise _closed(task)
        if task.assignee_id == actor.id:
            return task
        if task.assignee_id is not None:
            raise await _claimed(session, task)
        won = await tasks_repo.set_assignee(
            session, task.id, actor.id, current=None, version=task.version
        )
        if won is not None:
            return won
    raise await _claimed(session, await get_task(session, actor, task_id))


async def unclaim(session: AsyncSession, actor: Actor, task_id: str) -> Task:
    """Release a claim: the holder, or a supervisor. Releasing an unclaimed task is a no-op."""
    for _ in range(CAS_ATTEMPTS):
        task = await get_task(session, actor, task_id)
        if task.state != OPEN:
            raise _closed(task)
        if task.assignee_id is None:
            return task
        if task.assignee_id != actor.id and not is_supervisor(actor):
            raise _not_allowed("only the holder of the claim or a supervisor may release it")
        won = await tasks_repo.set_assignee(session, task.id, None, current=task.assignee_id)
        if won is not None:
            return won
    raise Problem(409, "task-busy", "Task busy", f"task {task_id} kept changing; try again")


def _require_supervisor(actor: Actor) -> None:
    if not is_supervisor(actor):
        raise _not_allowed("only supervisors reassign tasks or return them to the queue")


async def eligible_target(session: AsyncSession, actor: Actor, user_id: int) -> User:
    """The user a supervisor assigns to: active and inside the supervisor's subtree (the
    task-specific group check is :func:`tasks_repo.in_group`). Anything else is 422, the same
    answer for a user who does not exist."""
    user = await tasks_repo.user_by_id(session, user_id)
    if (
        user is None
        or not user.active
        or not user.jurisdiction_path.startswith(actor.jurisdiction_path)
    ):
        raise Problem(
            422, "bad-assignee", "Cannot assign", f"user {user_id} cannot be assigned tasks here"
        )
    return user


async def reassign(session: AsyncSession, actor: Actor, task_id: str, user_id: int) -> Task:
    """Supervisors: give an open task to a member of its group (whoever holds it now)."""
    task = await get_task(session, actor, task_id)
    _require_supervisor(actor)
    target = await eligible_target(session, actor, user_id)
    return await _reassign_to(session, actor, task, target)


async def _reassign_to(session: AsyncSession, actor: Actor, task: Task, target: User) -> Task:
    if not tasks_repo.in_group(target.role, target.jurisdiction_path, task):
        raise Problem(
            422,
            "bad-assignee",
            "Cannot assign",
            f"user {target.id} is not in the group of task {task.id}",
        )
    for _ in range(CAS_ATTEMPTS):
        if task.state != OPEN:
            raise _closed(task)
        if task.assignee_id == target.id:
            return task
        previous = task.assignee_id
        won = await tasks_repo.set_assignee(session, task.id, target.id, version=task.version)
        if won is not None:
            now = datetime.now(UTC)
            tasks_repo.notify_assignment(session, won, by=actor.display_name, now=now)
            record_audit(
                session,
                actor_id=actor.id,
                action="task_reassign",
                object_type="task",
                object_id=won.id,
                detail={"from": previous, "to": target.id},
                now=now,
            )
            return won
        task = await get_task(session, actor, task.id)
    raise Problem(409, "task-busy", "Task busy", f"task {task.id} kept changing; try again")


async def return_to_queue(session: AsyncSession, actor: Actor, task_id: str) -> Task:
    """Supervisors: clear the assignee so the group sees the task again."""
    task = await get_task(session, actor, task_id)
    _require_supervisor(actor)
    for _ in range(CAS_ATTEMPTS):
        if task.state != OPEN:
            raise _closed(task)
        if task.assignee_id is None:
            return task
        previous = task.assignee_id
        won = await tasks_repo.set_assignee(session, task.id, None, current=previous)
        if won is not None:
            record_audit(
                session,
                actor_id=actor.id,
                action="task_return",
                object_type="task",
                object_id=won.id,
                detail={"from": previous},
                now=datetime.now(UTC),
            )
            return won
        task = await get_task(session, actor, task_id)
    raise Problem(409, "task-busy", "Task busy", f"task {task_id} kept changing; try again")


async def claim_next(session: AsyncSession, actor: Actor) -> Task | None:
    """Claim the most urgent unassigned open task of the caller's groups, or None. Committed
    at once, in this process's turn to write (store.db.write_turn): on SQLite the claim holds
    the database's one write lock until its commit, and the answer built after it (the task
    with its pre-check in words) would keep every other writer waiting (#22)."""
    async with write_turn(session):
        return await tasks_repo.claim_next(session, viewer(actor), now=datetime.now(UTC))


def _bulk_item(task_id: str, problem: Problem) -> BulkItemOut:
    if problem.status == 404:
        return BulkItemOut(task_id=task_id, result="not_found")
    if problem.status == 409:
        holder = problem.extra.get("holder")
        return BulkItemOut(
            task_id=task_id,
            result="conflict",
            reason=PROBLEM_BASE + problem.type,
            holder=HolderOut(**holder) if holder else None,
        )
    if problem.status in (403, 422):
        return BulkItemOut(
            task_id=task_id, result="not_allowed", reason=PROBLEM_BASE + problem.type
        )
    raise problem


def _unique(task_ids: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(task_ids))


async def bulk_claim(
    session: AsyncSession, actor: Actor, task_ids: Sequence[str]
) -> list[BulkItemOut]:
    """Claim each task on its own (each item atomic, the batch not). Rows are locked in id
    order whatever the request's order, so two overlapping bulk requests cannot deadlock."""
    results: dict[str, BulkItemOut] = {}
    for task_id in sorted(_unique(task_ids)):
        try:
            await claim(session, actor, task_id)
            results[task_id] = BulkItemOut(task_id=task_id, result="claimed")
        except Problem as problem:
            results[task_id] = _bulk_item(task_id, problem)
    return [results[t] for t in _unique(task_ids)]


async def bulk_reassign(
    session: AsyncSession, actor: Actor, task_ids: Sequence[str], user_id: int
) -> list[BulkItemOut]:
    """Supervisors: reassign each task on its own to ``user_id`` (403 for other roles, 422
    when the user cannot be assigned anything in the caller's subtree)."""
    _require_supervisor(actor)
    target = await eligible_target(session, actor, user_id)
    results: dict[str, BulkItemOut] = {}
    for task_id in sorted(_unique(task_ids)):
        try:
            task = await get_task(session, actor, task_id)
            await _reassign_to(session, actor, task, target)
            results[task_id] = BulkItemOut(task_id=task_id, result="reassigned")
        except Problem as problem:
            results[task_id] = _bulk_item(task_id, problem)
    return [results[t] for t in _unique(task_ids)]


# --- comments ----------------------------------------------------------------------------


async def comments(
    session: AsyncSession, actor: Actor, task_id: str
) -> list[tuple[TaskComment, str]]:
    await get_task(session, actor, task_id)
    return await tasks_repo.task_comments(session, task_id)


async def add_comment(
    session: AsyncSession, actor: Actor, task_id: str, body: CommentIn
) -> tuple[TaskComment, str]:
    """Anyone who can see the task may comment on it (open or closed)."""
    await get_task(session, actor, task_id)
    comment = await tasks_repo.add_comment(
        session, task_id=task_id, user_id=actor.id, body=body.body, now=datetime.now(UTC)
    )
    return comment, actor.display_name


# --- completion --------------------------------------------------------------------------


# Completion keys are one scope (a key is unique across tasks, as clients were told). A
# completion is the same request when it is the same task completed by the same user with the
# same decision (outcome, fields, comment): an API client's key reused for another decision is
# refused (#20 §5). A page's key belongs to one rendered form, and a resubmission of that form
# — its comment edited, say — is still the one decision, answered as first: its fingerprint is
# the task and user alone, as every key recorded before decisions were compared.
SCOPE = "task-completion"


def _fingerprint(task_id: str, user_id: int, decision: dict[str, Any] | None = None) -> str:
    request = {"task_id": task_id, "user_id": user_id}
    return gateway.fingerprint(
        "complete_task", request | ({"decision": decision} if decision else {})
    )


async def _reserve_key(
    session: AsyncSession, key: str, task_id: str, user_id: int, request_print: str
) -> tuple[tuple[int, dict[str, Any]] | None, bool]:
    """Reserve ``key`` for this request, or return the answer stored for it — waiting while
    another request holding the key is still under way. Returns (stored answer or None,
    whether an earlier attempt under this key may already have delivered the decision).
    Commits: the reservation must be visible to concurrent requests, and no connection is
    held while waiting."""
    deadline = time.monotonic() + COMPLETION_WAIT.total_seconds()
    # A key first used by a page's form (or recorded before decisions were compared) stands
    # for its task and user.
    same = {request_print, _fingerprint(task_id, user_id)}
    while True:
        previous = await idempotency.record_for(session, SCOPE, key)
        if previous is None:
            try:
                async with write_turn(session):
                    idempotency.reserve(
                        session, SCOPE, key, fingerprint=request_print, now=datetime.now(UTC)
                    )
                return None, False
            except IntegrityError:
                await session.rollback()  # a concurrent request reserved it first
                continue
        if previous.fingerprint not in same:
            await session.commit()
            raise gateway.key_reused()
        if previous.status_code not in (idempotency.PENDING, idempotency.UNCERTAIN):
            await session.commit()
            assert previous.status_code is not None and previous.body is not None
            return (previous.status_code, previous.body), False
        now = datetime.now(UTC)
        # Taken over: an uncertain attempt at once; a pending one when its request died (too
        # old), or when the task is closed already (its request got as far as the workflow
        # and then lost the database before it could store the answer).
        if (
            previous.status_code == idempotency.UNCERTAIN
            or now - previous.created_at > COMPLETION_STALE
            or await tasks_repo.task_state(session, task_id) != OPEN
        ):
            taken = await idempotency.take_over(session, SCOPE, key, seen=previous, now=now)
            await session.commit()
            if taken:
                return None, True
            continue
        await session.commit()  # end the read transaction, give the connection back
        if time.monotonic() > deadline:
            raise Problem(
                409,
                "completion-in-progress",
                "Completion in progress",
                "a request with this Idempotency-Key is still being processed; retry later",
            )
        await asyncio.sleep(_POLL_SECONDS)


async def _settle_key(
    session: AsyncSession, key: str, answer: tuple[int, dict[str, Any]] | str | None
) -> None:
    """Store the answer of a reserved key; or (None) release the key, the request having been
    refused before anything happened; or ("uncertain") mark it for a retry to find out
    whether the workflow took the decision."""
    if answer is None or answer == UNCERTAIN:
        await session.rollback()  # whatever failed may have left the transaction unusable
    async with write_turn(session):
        if answer is None:
            await idempotency.release(session, SCOPE, key)
        elif answer == UNCERTAIN:
            await idempotency.mark_uncertain(session, SCOPE, key)
        else:
            assert isinstance(answer, tuple)
            await idempotency.finish(session, SCOPE, key, status_code=answer[0], body=answer[1])


async def complete_task(
    session: AsyncSession,
    temporal: Client,
    actor: Actor,
    task_id: str,
    completion: CompleteTaskIn,
    *,
    idempotency_key: str,
    form_key: bool = False,
) -> tuple[int, dict[str, Any]]:
    """Returns (HTTP status, body). Repeats of a key return the first answer; a completion
    of a closed task under a new key is 409 ``task-closed``; a task claimed by someone else is
    409 ``task-claimed``; a task whose case's workflow is no longer running is 409
    ``case-closed``. A retry after an answer was lost (Temporal or the database away
    mid-request) gets 200 if the first attempt's decision was taken; the key used for another
    decision is 422 ``idempotency-key-reused`` — unless ``form_key``: the key of a page's
    form, whose resubmissions are the one decision. Commits the session (see
    :func:`_reserve_key`)."""
    task = await get_task(session, actor, task_id)  # out of scope: 404, the key stays unused
    # Unknown keys, wrong types and sizes are refused here, before Temporal (#20 §4).
    check_fields(task.kind, task.payload or {}, completion.fields)
    verified = dict(completion.verified_facts)
    if verified and task.state == OPEN:
        # Checked against the form as it stands; a closed task's repeat is answered below
        # (its first answer, or 409) whatever it carries, as before.
        case = await session.get(Case, task.case_id)
        facts = case.facts if case is not None and isinstance(case.facts, dict) else {}
        offered = await verification_inputs(session, task)
        with await _fact_scope(session, case):
            verified = check_verified_facts(offered, facts, verified)
    # The decision is the body's outcome, fields and comment.
    decision_print = _fingerprint(task_id, actor.id, None if form_key else completion.model_dump())
    stored, retry = await _reserve_key(session, idempotency_key, task_id, actor.id, decision_print)
    if stored is not None:
        return stored
    decision = c.CompleteTaskRequest(
        task_id=task_id,
        outcome=completion.outcome,
        actor_id=actor.id,
        actor_name=actor.display_name,
        actor_role=actor.role,
        actor_jurisdiction_path=actor.jurisdiction_path,
        fields=completion.fields,
        comment=completion.comment,
        verified_facts=verified,
    )
    try:
        body = await _deliver(session, temporal, actor, decision, key=idempotency_key, retry=retry)
    except Problem as problem:
        # A refusal happened before anything changed; a 503 may have come after the workflow
        # took the decision (the answer lost on the way back).
        await _settle_key(session, idempotency_key, UNCERTAIN if problem.status >= 500 else None)
        raise
    except BaseException:
        await _settle_key(session, idempotency_key, UNCERTAIN)
        raise
    await _settle_key(session, idempotency_key, (200, body))
    return 200, body


async def _fact_scope(session: AsyncSession, case: Case | None) -> AbstractContextManager[None]:
    """The case's pinned pack's own facts in scope (domain.facts.own_facts), or none."""
    try:
        return (await pinned_pack(session, case)).fact_scope() if case else nullcontext()
    except PinnedPackMissing:
        return nullcontext()


async def verification_inputs(session: AsyncSession, task: Task) -> list[FactInput]:
    """The facts an open decision task's form lets its officer verify (#21): unknown to the
    pre-check today, read by the case's pinned pack, verifiable at this stage."""
    if task.kind not in task_fields.DECISION_KINDS or task.state != OPEN:
        return []
    case = await session.get(Case, task.case_id)
    if case is None:
        return []
    try:
        pack = await pinned_pack(session, case)
    except PinnedPackMissing:
        return []  # the case page says the pack is missing; nothing to verify against
    stored = case.facts if isinstance(case.facts, dict) else {}
    return task_fields.verification_inputs(task.kind, pack, stored, local_date(datetime.now(UTC)))


async def verifiable_facts(
    session: AsyncSession, actor: Actor, task_id: str
) -> list[VerifiableFactOut]:
    """The facts the task's form lets its officer verify (empty when it offers none or is
    closed), for integrators sending ``verified_facts``."""
    task = await get_task(session, actor, task_id)  # outside the subtree: 404
    return [
        VerifiableFactOut(
            path=i.path,
            input=i.kind,
            label_zh=i.label_zh,
            label_en=i.label_en,
            verifies=i.verifies,
            unit_zh=i.unit_zh,
            unit_en=i.unit_en,
            integer=i.integer,
            choices=[
                ChoiceOut(
                    code=c,
                    name_zh=CHOICE_NAMES.get(c, (c, c))[0],
                    name_en=CHOICE_NAMES.get(c, (c, c))[1],
                )
                for c in i.choices
            ],
        )
        for i in await verification_inputs(session, task)
    ]


@dataclass(frozen=True)
class VerifiedFact:
    """A fact an officer verified on a task of the case: the value in words, who, when."""

    path: str
    label_zh: str
    label_en: str
    text_zh: str
    text_en: str
    by: str
    at: datetime
    task_kind: str


async def verified_facts_of(session: AsyncSession, case_id: str) -> list[VerifiedFact]:
    """The facts verified on the case's tasks, from their timeline entries, latest last."""
    with await _fact_scope(session, await session.get(Case, case_id)):
        return _verified_facts(await repos.case_events(session, case_id))


def _verified_facts(events: Sequence[CaseEvent]) -> list[VerifiedFact]:
    out: list[VerifiedFact] = []
    for event in events:
        after = event.after if event.kind == "facts_verified" and event.after else None
        if not isinstance(after, dict) or not isinstance(after.get("verified_facts"), dict):
            continue
        for path, raw in after["verified_facts"].items():
            try:
                value = parse_fact_value(path, raw)
            except FactValueError:
                value = raw
            out.append(
                VerifiedFact(
                    path=path,
                    label_zh=fact_name(path, True),
                    label_en=fact_name(path, False),
                    text_zh=value_text(path, value, True),
                    text_en=value_text(path, value, False),
                    by=str(after.get("verified_by") or event.actor),
                    at=event.at,
                    task_kind=str(after.get("task_kind", "")),
                )
            )
    return out


async def _deliver(
    session: AsyncSession,
    temporal: Client,
    actor: Actor,
    decision: c.CompleteTaskRequest,
    *,
    key: str,
    retry: bool,
) -> dict[str, Any]:
    task = await get_task(session, actor, decision.task_id)  # read after the key was reserved
    if task.state != OPEN and not retry:
        raise _closed(task)
    if task.assignee_id is not None and task.assignee_id != actor.id:
        raise await _claimed(session, task)
    workflow_id = task.workflow_id
    await release_before_workflow(session)

    async def lost() -> dict[str, Any] | None:
        # The workflow ended while this request was on its way (a concurrent completion
        # closed the case) or before it (the case was closed, its workflow terminated): a
        # stale decision is the user's conflict, not an outage.
        again = await get_task(session, actor, decision.task_id)
        if again.state == OPEN:
            return None
        if _recorded(again, key):
            # This decision closed it — this request's (its answer lost on the way back)
            # or an earlier attempt's under this key, the workflow having ended since so
            # that Temporal cannot repeat the answer: the task row holds it.
            return await _answer_from_record(session, again)
        raise _closed(again)

    async def closed() -> Problem:
        return Problem(
            409,
            "case-closed",
            "Case closed",
            f"the case of task {decision.task_id} is no longer running; "
            "the decision was not recorded",
        )

    away = (
        "the workflow engine did not take the decision; send it again with the same "
        "Idempotency-Key shortly"
    )
    # The update id is the key: Temporal answers a retried update with its first result.
    try:
        answer = await gateway.update(
            temporal,
            workflow_id,
            IdentificationWorkflow.complete_task,
            decision,
            key=key,
            words=_REFUSED,
            closed=closed,
            lost=lost,
            away=away,
        )
    except Problem as problem:
        if problem.type == "not-found" and (await get_task(session, actor, task.id)).state == OPEN:
            # The inbox holds the task, its case's workflow does not know it yet: the local
            # step that opened it ran, and the workflow task that recorded it was lost with
            # the engine (workflows/steps.py); the workflow opens it again as it catches up.
            # Passing, like the engine away: the decision is not taken, send it again.
            raise gateway.temporal_unavailable(away, cause=problem.detail) from None
        raise
    return answer if isinstance(answer, dict) else asdict(answer)


_REFUSED = gateway.Refusals(
    "Task not completed", fields=lambda cause: gateway.field_errors(cause, prefix="fields.")
)


def _recorded(task: Task, key: str) -> bool:
    """Whether the closed task holds the decision of the request with this key."""
    return task.state == "completed" and (task.outcome or {}).get("update_id") == key


async def _answer_from_record(session: AsyncSession, task: Task) -> dict[str, Any]:
    case = await session.get(Case, task.case_id)
    assert case is not None and task.outcome is not None
    return asdict(c.CompleteTaskResult(task.id, task.outcome["outcome"], case.status))
