"""The task inbox's SQL: views and filters with keyset pagination, badge counts, the
compare-and-set updates behind claim / unclaim / reassign / return / next, comments, saved
filters and the task's state as a completion reads it (its idempotency records are in
:mod:`store.idempotency`). Functions take an ``AsyncSession`` and never commit (the request
boundary does; the completion protocol in ``application.services.tasks`` is the one caller
that commits between steps, on purpose).

Definitions (every query is confined to the caller's jurisdiction subtree):

- **group**: a task's group is (``candidate_role``, jurisdiction). A user is in the group when
  their role equals the task's ``candidate_role`` and the task's ``jurisdiction_path`` is
  inside the user's subtree.
- **views**: ``mine`` — tasks assigned to me; ``group`` — unassigned open tasks of my groups;
  ``scope`` — every task in my subtree; ``at_risk`` — open tasks with
  ``at_risk_at <= now < due_at``; ``breached`` — open tasks with ``due_at <= now`` (the SLA
  states ``breached`` and ``past_deadline`` of :func:`domain.sla.state_at`). The time
  conditions are written on the stored instants, not on ``sla_state``, so they agree with
  ``state_at`` at every instant and are ranges on ``due_at`` that an index can serve.
- **sorts**: ``due`` — ``(due_at, id)``; ``priority`` — ``priority`` descending, then
  ``(due_at, id)``. Pagination is a keyset on the sort key (never an offset): a page starts
  strictly after the last row of the previous one, so rows added or removed elsewhere never
  shift it and no row is repeated. Under ``due``, every task present for the whole walk is
  returned exactly once while tasks are added; under ``priority`` a task whose priority rises
  (an SLA event) after its new level was passed is not returned again.

Index use (see the indexes on :class:`store.models.Task`): a path range cannot precede the
sort key in an index without a sort of the whole subtree, so large subtrees (a city with a
million rows) are served by indexes that lead with the sort key (or an equality such as the
role, the assignee, the last four characters) and carry the path as a trailing column, small
subtrees (a street) by ``ix_tasks_inbox`` (path first, then a sort of a few rows).
PostgreSQL's planner chooses from its statistics. SQLite usually has none (nothing runs
ANALYZE) and then misjudges both ways, so on SQLite a capped count over ``ix_tasks_inbox``
measures the subtree first and the query is written so that only the right family can be
used: the other terms are wrapped in a unary ``+`` (same value, no index), SQLite's own
idiom for steering its planner. The applicant-name substring (``q`` that is not four
characters of digits) cannot use a B-tree index: it filters the subtree's rows as they are
walked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from typing import Any, Literal

from sqlalchemy import (
    Select,
    Update,
    and_,
    bindparam,
    delete,
    func,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression
from sqlalchemy.sql.operators import custom_op

from store.models import Notification, Task, User
from store.models_inbox import SavedFilter, TaskComment
from store.repos import in_bound_subtree, path_range, subtree_params

OPEN = "open"
VIEWS = ("mine", "group", "scope", "at_risk", "breached")
OPEN_ONLY_VIEWS = frozenset({"group", "at_risk", "breached"})
SORTS = ("due", "priority")
# Roles with supervision powers (reassign, return to queue, release anyone's claim).
SUPERVISOR_ROLES = frozenset({"supervisor", "admin"})
# A subtree with at least this many rows of the listed state counts as large (SQLite only):
# below it, sorting the subtree's rows costs a few milliseconds; above it, walking a sort-key
# index finds a page after about limit × (rows in the table / rows in the subtree) entries.
LARGE_SUBTREE_ROWS = 10_000

DueKey = tuple[datetime, str]
PriorityKey = tuple[int, datetime, str]


@dataclass(frozen=True)
class Viewer:
    """Whose inbox: the user, their role and their jurisdiction path (the subtree)."""

    user_id: int
    role: str
    path: str


@dataclass(frozen=True)
class TaskFilter:
    """The list endpoint's filters (see the module docstring for views and sorts).
    ``name`` is a substring of the applicant's name; ``id_last4`` the last four characters of
    the ID number; ``due_from``/``due_to`` bound ``due_at`` inclusively."""

    view: str = "scope"
    state: str = OPEN
    kind: str | None = None
    due_from: datetime | None = None
    due_to: datetime | None = None
    category: str | None = None
    policy: str | None = None
    name: str | None = None
    id_last4: str | None = None
    sort: str = "due"

    def __post_init__(self) -> None:
        if self.view not in VIEWS:
            raise ValueError(f"unknown view {self.view!r}")
        if self.sort not in SORTS:
            raise ValueError(f"unknown sort {self.sort!r}")
        if self.view in OPEN_ONLY_VIEWS and self.state != OPEN:
            raise ValueError(f"the {self.view} view lists open tasks only")


def in_group(role: str, path: str, task: Task) -> bool:
    """Whether a user with ``role`` at ``path`` is in the task's group."""
    return role == task.candidate_role and task.jurisdiction_path.startswith(path)


def _hidden(column: Any) -> Any:
    """``+column``: the same value, but SQLite cannot use an index for a term on it."""
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type)


@dataclass(frozen=True)
class _Plan:
    """Which index family a query leaves usable. PostgreSQL gets every term indexable (its
    planner chooses from statistics); on SQLite, ``path_first`` hides the sort key and the
    other leading terms so that only the path range (``ix_tasks_inbox``) can drive the scan,
    and ``sort_first`` hides the path so that the sort-key indexes drive it."""

    hide_path: bool = False
    hide_sort: bool = False

    def path(self) -> Any:
        return _hidden(Task.jurisdiction_path) if self.hide_path else Task.jurisdiction_path

    def due(self) -> Any:
        return _hidden(Task.due_at) if self.hide_sort else Task.due_at

    def priority(self) -> Any:
        return _hidden(Task.priority) if self.hide_sort else Task.priority

    def role(self) -> Any:
        return _hidden(Task.candidate_role) if self.hide_sort else Task.candidate_role


ANY_INDEX = _Plan()
PATH_FIRST = _Plan(hide_sort=True)
SORT_FIRST = _Plan(hide_path=True)


async def _plan(session: AsyncSession, path: str, state: str) -> _Plan:
    """The index family for a subtree (see the module docstring): on SQLite, a capped count of
    the subtree's rows in ``state`` over ``ix_tasks_inbox`` (at most LARGE_SUBTREE_ROWS index
    entries) tells a small subtree, best sorted whole, from a large one, best walked in
    sort-key order."""
    if session.get_bind().dialect.name != "sqlite":
        return ANY_INDEX
    rows = await session.scalar(_SUBTREE_PROBE, {"state": state, **subtree_params(path)})
    return PATH_FIRST if (rows or 0) < LARGE_SUBTREE_ROWS else SORT_FIRST


# The statements on every officer's path — this count before every inbox page, badge count and
# claim on SQLite, the task read in scope and the claim's compare-and-set below — are each built
# once, their values bound at execution. Built anew for every request, the SQL expression and
# the cache key SQLAlchemy computes for it took 90–160 µs of the API's CPU each (#22,
# bench/before_after.md); a statement kept keeps its key (as store/ratelimit.py's).
_SUBTREE_PROBE = select(func.count()).select_from(
    select(literal(1))
    .where(Task.state == bindparam("state"), in_bound_subtree(Task.jurisdiction_path))
    .limit(LARGE_SUBTREE_ROWS)
    .subquery()
)


def view_conditions(
    viewer: Viewer, flt: TaskFilter, now: datetime, plan: _Plan
) -> list[ColumnElement[bool]]:
    lo, hi = path_range(viewer.path)
    conds = [Task.state == flt.state, plan.path() >= lo, plan.path() < hi]
    if flt.view == "mine":
        conds.append(Task.assignee_id == viewer.user_id)
    elif flt.view == "group":
        conds += [plan.role() == viewer.role, Task.assignee_id.is_(None)]
    elif flt.view == "at_risk":
        conds += [plan.due() > now, Task.at_risk_at <= now]
    elif flt.view == "breached":
        conds.append(plan.due() <= now)
    if flt.kind:
        conds.append(Task.kind == flt.kind)
    if flt.due_from is not None:
        conds.append(plan.due() >= flt.due_from)
    if flt.due_to is not None:
        conds.append(plan.due() <= flt.due_to)
    if flt.category:
        conds.append(Task.category_code == flt.category)
    if flt.policy:
        conds.append(Task.policy_pack_id == flt.policy)
    if flt.id_last4:
        conds.append(Task.id_last4 == flt.id_last4)
    if flt.name:
        conds.append(Task.applicant_name.contains(flt.name, autoescape=True))
    return conds


async def list_tasks(
    session: AsyncSession,
    viewer: Viewer,
    flt: TaskFilter,
    *,
    now: datetime,
    after: DueKey | PriorityKey | None = None,
    limit: int = 50,
) -> list[Task]:
    """One page of the view, starting strictly after the keyset ``after`` (a
    :data:`DueKey` for ``sort=due``, a :data:`PriorityKey` for ``sort=priority``)."""
    plan = await _plan(session, viewer.path, flt.state)
    conds = view_conditions(viewer, flt, now, plan)
    if flt.sort == "priority":
        if after is not None and len(after) != 3:
            raise ValueError("sort=priority needs a (priority, due_at, id) keyset")
        levels = _level_conditions(flt, plan)
        return await _by_priority(session, plan, conds, after, limit, levels)
    if after is not None and len(after) != 2:
        raise ValueError("sort=due needs a (due_at, id) keyset")
    return await _page(session, plan, conds, (after[0], after[1]) if after else None, limit)


async def _page(
    session: AsyncSession,
    plan: _Plan,
    conds: Sequence[ColumnElement[bool]],
    after: DueKey | None,
    limit: int,
) -> list[Task]:
    """Rows in (due_at, id) order strictly after the keyset ``after`` = (due_at, id)."""
    q = page_statement(plan, conds, after, limit)
    return list((await session.scalars(q.execution_options(populate_existing=True))).all())


def page_statement(
    plan: _Plan, conds: Sequence[ColumnElement[bool]], after: DueKey | None, limit: int
) -> Select[Task]:
    q = select(Task).where(*conds)
    if after is not None:
        q = q.where(tuple_(plan.due(), Task.id) > (after[0], after[1]))
    return q.order_by(plan.due(), Task.id).limit(limit)


async def _level_below(
    session: AsyncSession, plan: _Plan, conds: Sequence[ColumnElement[bool]], below: int | None
) -> int | None:
    q = select(Task.priority).where(*conds)
    if below is not None:
        q = q.where(plan.priority() < below)
    return await session.scalar(q.order_by(plan.priority().desc()).limit(1))


def _level_conditions(flt: TaskFilter, plan: _Plan) -> list[ColumnElement[bool]] | None:
    """The conditions of the level queries of sort=priority. On SQLite's large-subtree plan,
    only the state: the next priority level present in the table is an index-only lookup on
    ix_tasks_priority, and a level without a row of the view costs one empty page query. With
    the view's conditions SQLite chose ix_tasks_due for "at_risk" (the due_at range), walked
    every open task not yet due and sorted them (58 ms at a million rows, see
    bench/before_after.md)."""
    return [Task.state == flt.state] if plan.hide_path else None


def _by_priority_order(plan: _Plan) -> tuple[Any, ...]:
    """Most urgent first: priority desc, due_at, id."""
    return plan.priority().desc(), plan.due(), Task.id


async def _by_priority(
    session: AsyncSession,
    plan: _Plan,
    conds: Sequence[ColumnElement[bool]],
    after: PriorityKey | None,
    limit: int,
    level_conds: Sequence[ColumnElement[bool]] | None = None,
) -> list[Task]:
    """Priority levels from the highest down, each an ordered (due_at, id) index scan: the
    ascending indexes serve "priority desc, due_at asc" without sorting the subtree."""
    if plan.hide_sort:  # a small subtree on SQLite: one sort of its rows is cheaper
        q = select(Task).where(*conds)
        if after is not None:
            p, due, tid = after
            q = q.where(
                or_(
                    plan.priority() < p,
                    and_(plan.priority() == p, tuple_(plan.due(), Task.id) > (due, tid)),
                )
            )
        q = q.order_by(*_by_priority_order(plan)).limit(limit)
        return list((await session.scalars(q.execution_options(populate_existing=True))).all())
    rows: list[Task] = []
    level: int | None = None
    if after is not None:
        level = after[0]
        at_level = [*conds, plan.priority() == level]
        rows += await _page(session, plan, at_level, (after[1], after[2]), limit)
    while len(rows) < limit:
        level = await _level_below(session, plan, level_conds or conds, level)
        if level is None:
            break
        at_level = [*conds, plan.priority() == level]
        rows += await _page(session, plan, at_level, None, limit - len(rows))
    return rows


async def count_views(
    session: AsyncSession, viewer: Viewer, *, now: datetime, cap: int
) -> dict[str, int]:
    """Open tasks per view for badges, each count exact below ``cap`` and ``cap`` otherwise
    (a capped count reads at most ``cap`` index entries per view). One round trip."""
    plan = await _plan(session, viewer.path, OPEN)
    columns = []
    for view in VIEWS:
        conds = view_conditions(viewer, TaskFilter(view=view), now, plan)
        capped = select(literal(1)).where(*conds).limit(cap).subquery()
        columns.append(select(func.count()).select_from(capped).scalar_subquery().label(view))
    row = (await session.execute(select(*columns))).one()
    return {view: int(row[i]) for i, view in enumerate(VIEWS)}


# --- single tasks ------------------------------------------------------------------------


# Built once (see _SUBTREE_PROBE).
_IN_SCOPE = (
    select(Task)
    .where(Task.id == bindparam("task_id"), in_bound_subtree(Task.jurisdiction_path))
    .execution_options(populate_existing=True)
)


async def task_in_scope(session: AsyncSession, task_id: str, scope_path: str) -> Task | None:
    """The task if it is inside the subtree (:func:`store.repos.in_subtree`), else None (out of
    scope reads as absent). Always read from the database, never from the session's identity
    map."""
    return await session.scalar(_IN_SCOPE, {"task_id": task_id, **subtree_params(scope_path)})


@cache
def _assignee_statement(current: Literal["none", "any", "one"], versioned: bool) -> Update:
    """:func:`set_assignee`'s UPDATE for a kind of ``current`` and with or without a version,
    its values bound at execution (``of_task``, ``new_assignee``, ``if_assignee``,
    ``if_version``: not the columns' names, which are the SET clause's own)."""
    q = update(Task).where(Task.id == bindparam("of_task"), Task.state == OPEN)
    if current == "none":
        q = q.where(Task.assignee_id.is_(None))
    elif current == "one":
        q = q.where(Task.assignee_id == bindparam("if_assignee"))
    if versioned:
        q = q.where(Task.version == bindparam("if_version"))
    # The row comes back by RETURNING and refreshes the session's copy (populate_existing); the
    # session is not also synchronised by evaluating the criteria, which are bound values.
    return (
        q.values(
            assignee_id=bindparam("new_assignee", type_=Task.assignee_id.type),
            version=Task.version + 1,
        )
        .returning(Task)
        .execution_options(synchronize_session=False)
    )


async def set_assignee(
    session: AsyncSession,
    task_id: str,
    assignee_id: int | None,
    *,
    current: int | Literal["any"] | None = "any",
    version: int | None = None,
) -> Task | None:
    """Compare-and-set the assignee of an open task in one UPDATE and bump its version:
    ``current`` is the assignee the row must still have (None: unassigned; "any": whoever),
    ``version`` the version it must still have. Returns the updated row, or None when the row
    no longer matches (someone else changed it first). On PostgreSQL a concurrent writer
    waits for the row lock and then re-checks the condition on the committed row; on SQLite
    writers are serialised; so of N concurrent claims of one task exactly one matches."""
    kind: Literal["none", "any", "one"] = (
        "none" if current is None else "any" if current == "any" else "one"
    )
    q = _assignee_statement(kind, version is not None)
    params: dict[str, Any] = {"of_task": task_id, "new_assignee": assignee_id}
    if kind == "one":
        params["if_assignee"] = current
    if version is not None:
        params["if_version"] = version
    result = await session.scalars(q, params, execution_options={"populate_existing": True})
    return result.one_or_none()


_CLAIMABLE = TaskFilter(view="group", sort="priority")


@lru_cache(maxsize=1024)
def _candidates(role: str, path: str, batch: int) -> Select[str]:
    """The ids of a group's most urgent claimable tasks on a small subtree (SQLite's
    path-first plan, where one sort of the subtree's rows is cheapest), kept per group: an
    officer claims task after task, and building the statement (its conditions and cache key)
    took longer than running it. Ids only: the claim's compare-and-set returns the row it
    won (#22). The group view's conditions are ``view_conditions``', which do not depend on
    the time or on who asks within the group."""
    group = Viewer(user_id=0, role=role, path=path)
    conds = view_conditions(group, _CLAIMABLE, datetime.min, PATH_FIRST)
    return select(Task.id).where(*conds).order_by(*_by_priority_order(PATH_FIRST)).limit(batch)


async def claim_next(
    session: AsyncSession, viewer: Viewer, *, now: datetime, batch: int = 10, rounds: int = 20
) -> Task | None:
    """Claim the most urgent unassigned open task of the viewer's groups (priority desc,
    due_at, id): read a few candidates, compare-and-set them in order, and read again when
    all were taken meanwhile. Two concurrent calls never get the same task (the CAS)."""
    plan = await _plan(session, viewer.path, OPEN)
    # The path-first plan has its statement kept per group (_candidates); the others build
    # the view's conditions here.
    conds = None if plan is PATH_FIRST else view_conditions(viewer, _CLAIMABLE, now, plan)
    for _ in range(rounds):
        if conds is None:
            candidates = list(
                (await session.scalars(_candidates(viewer.role, viewer.path, batch))).all()
            )
        else:
            levels = _level_conditions(_CLAIMABLE, plan)
            rows = await _by_priority(session, plan, conds, None, batch, levels)
            candidates = [t.id for t in rows]
        if not candidates:
            return None
        for task_id in candidates:
            won = await set_assignee(session, task_id, viewer.user_id, current=None)
            if won is not None:
                return won
    return None


# --- users -------------------------------------------------------------------------------


async def user_by_id(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def display_names(session: AsyncSession, user_ids: Iterable[int | None]) -> dict[int, str]:
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {uid: name for uid, name in rows}


def notify_assignment(session: AsyncSession, task: Task, *, by: str, now: datetime) -> None:
    """An in-app notification (分派) to the user a supervisor assigned the task to; the key
    (task and version) makes it one per assignment."""
    assert task.assignee_id is not None
    session.add(
        Notification(
            notification_key=f"assignment:{task.id}:{task.version}",
            user_id=task.assignee_id,
            kind="assignment",
            case_id=task.case_id,
            task_id=task.id,
            message=f"分派：{by}将{task.applicant_name}的待办分派给您",
            created_at=now,
        )
    )


# --- comments ----------------------------------------------------------------------------


async def add_comment(
    session: AsyncSession, *, task_id: str, user_id: int, body: str, now: datetime
) -> TaskComment:
    comment = TaskComment(task_id=task_id, user_id=user_id, body=body, created_at=now)
    session.add(comment)
    await session.flush()
    return comment


async def task_comments(
    session: AsyncSession, task_id: str, limit: int = 500
) -> list[tuple[TaskComment, str]]:
    """The task's comments, oldest first, with their authors' display names."""
    q = (
        select(TaskComment, User.display_name)
        .join(User, User.id == TaskComment.user_id)
        .where(TaskComment.task_id == task_id)
        .order_by(TaskComment.id)
        .limit(limit)
    )
    return [(c, name) for c, name in await session.execute(q)]


# --- saved filters -----------------------------------------------------------------------


def _visible_filter(user_id: int, role: str, path: str) -> ColumnElement[bool]:
    lo, hi = path_range(path)
    return or_(
        SavedFilter.owner_id == user_id,
        and_(
            SavedFilter.shared_role == role,
            SavedFilter.shared_path >= lo,
            SavedFilter.shared_path < hi,
        ),
    )


async def add_filter(
    session: AsyncSession,
    *,
    owner_id: int,
    name: str,
    query: dict[str, Any],
    shared_role: str | None,
    shared_path: str | None,
    now: datetime,
) -> SavedFilter:
    """Raises IntegrityError when the owner already has a filter of that name."""
    row = SavedFilter(
        owner_id=owner_id,
        name=name,
        query=query,
        shared_role=shared_role,
        shared_path=shared_path,
        created_at=now,
    )
    async with session.begin_nested():
        session.add(row)
    return row


async def visible_filters(
    session: AsyncSession, *, user_id: int, role: str, path: str
) -> list[tuple[SavedFilter, str]]:
    """Mine and those shared with a group I am in (role equal, shared path in my subtree),
    with the owners' display names."""
    q = (
        select(SavedFilter, User.display_name)
        .join(User, User.id == SavedFilter.owner_id)
        .where(_visible_filter(user_id, role, path))
        .order_by(SavedFilter.name, SavedFilter.id)
    )
    return [(f, name) for f, name in await session.execute(q)]


async def visible_filter(
    session: AsyncSession, filter_id: int, *, user_id: int, role: str, path: str
) -> SavedFilter | None:
    q = select(SavedFilter).where(SavedFilter.id == filter_id, _visible_filter(user_id, role, path))
    return await session.scalar(q)


async def delete_filter(session: AsyncSession, filter_id: int, owner_id: int) -> bool:
    result = await session.execute(
        delete(SavedFilter).where(SavedFilter.id == filter_id, SavedFilter.owner_id == owner_id)
    )
    return bool(getattr(result, "rowcount", 0))


# --- completion --------------------------------------------------------------------------


async def task_state(session: AsyncSession, task_id: str) -> str | None:
    """The task's state as the database holds it now (None: no such task)."""
    return await session.scalar(
        select(Task.state).where(Task.id == task_id).execution_options(populate_existing=True)
    )


async def open_task_of(session: AsyncSession, case_id: str, kind: str) -> Task | None:
    """The case's open task of ``kind`` (the latest, should there be two)."""
    return await session.scalar(
        select(Task)
        .where(Task.case_id == case_id, Task.kind == kind, Task.state == "open")
        .order_by(Task.created_at.desc())
        .limit(1)
    )
