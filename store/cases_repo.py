"""The cases' SQL for the case search and the case detail view: the keyset-paginated search
in a jurisdiction subtree, a case's open tasks, one of its notices, and audit rows. Functions
take an ``AsyncSession`` and never commit (the request boundary does).

Search order is newest first, ``(submitted_at DESC, id DESC)``, with a keyset on that pair
(never an offset): a page starts strictly after the last row of the previous one, so cases
submitted while someone pages (they are newer, hence before the cursor) never shift a page and
no case is repeated or skipped.

Index use: the full ID number is an equality on ``ix_cases_id_number``; a name prefix ``q`` is
the range ``q <= applicant_name < q || U+10FFFF`` on ``ix_cases_name`` (a B-tree range on both
databases, unlike ``LIKE 'q%'``, which PostgreSQL only serves from an index in the "C"
collation or with ``text_pattern_ops``). The range is exact in a code-point collation (SQLite's
BINARY, PostgreSQL's C / C.UTF-8); ``substr(applicant_name, 1, len(q)) = q`` is added so that a
linguistic collation can never let a name that does not start with ``q`` through. Without an
ID number or a name, the subtree is a range on ``ix_cases_scope`` (path, submitted_at).
SQLite has no statistics (nothing runs ANALYZE) and would often take the path range anyway,
so there, when an ID number or a name is given, the path term is wrapped in a unary ``+`` (same
value, no index: SQLite's own idiom for steering its planner, as in :mod:`store.tasks_repo`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression
from sqlalchemy.sql.operators import custom_op

from domain.case_clock import PUBLICITY_EVENTS
from store.models import Case, CaseEvent, Notice, Task
from store.repos import in_subtree, path_range
from store.tasks_repo import OPEN

# The highest code point: every string that starts with q sorts below q + this character.
_MAX_CHAR = "\U0010ffff"

# (submitted_at, id) of the last row of a page.
CaseKey = tuple[datetime, str]

# The columns a search result shows (never facts or the full ID number's neighbours).
_LIST_COLUMNS = (
    Case.id,
    Case.applicant_name,
    Case.id_number,
    Case.jurisdiction_code,
    Case.policy_pack_id,
    Case.status,
    Case.stage,
    Case.category_code,
    Case.submitted_at,
    Case.closed_at,
    Case.identification_deadline,
    Case.deadline_provisional,
)


def _hidden(column: Any) -> Any:
    """``+column``: the same value, but SQLite cannot use an index for a term on it."""
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type)


@dataclass(frozen=True)
class CaseFilter:
    """The search: ``scope_path`` is the caller's subtree; ``id_number`` a validated
    18-character number (exact); ``name_prefix`` the start of the applicant's name;
    ``submitted_from`` (inclusive) and ``submitted_before`` (exclusive) bound ``submitted_at``."""

    scope_path: str
    id_number: str | None = None
    name_prefix: str | None = None
    status: str | None = None
    policy_pack: str | None = None
    category: str | None = None
    submitted_from: datetime | None = None
    submitted_before: datetime | None = None


def search_statement(
    flt: CaseFilter, after: CaseKey | None, limit: int, *, dialect: str
) -> Select[Case]:
    """The search query (separate from its execution so that tests can EXPLAIN it)."""
    steer = dialect == "sqlite" and (flt.id_number is not None or flt.name_prefix is not None)
    path: Any = _hidden(Case.jurisdiction_path) if steer else Case.jurisdiction_path
    lo, hi = path_range(flt.scope_path)
    conds: list[ColumnElement[bool]] = [path >= lo, path < hi]
    if flt.id_number is not None:
        conds.append(Case.id_number == flt.id_number)
    if flt.name_prefix is not None:
        q = flt.name_prefix
        conds += [
            Case.applicant_name >= q,
            Case.applicant_name < q + _MAX_CHAR,
            func.substr(Case.applicant_name, 1, len(q)) == q,
        ]
    if flt.status is not None:
        conds.append(Case.status == flt.status)
    if flt.policy_pack is not None:
        conds.append(Case.policy_pack_id == flt.policy_pack)
    if flt.category is not None:
        conds.append(Case.category_code == flt.category)
    if flt.submitted_from is not None:
        conds.append(Case.submitted_at >= flt.submitted_from)
    if flt.submitted_before is not None:
        conds.append(Case.submitted_at < flt.submitted_before)
    if after is not None:
        conds.append(tuple_(Case.submitted_at, Case.id) < (after[0], after[1]))
    return (
        select(Case)
        .options(load_only(*_LIST_COLUMNS))
        .where(*conds)
        .order_by(Case.submitted_at.desc(), Case.id.desc())
        .limit(limit)
    )


async def search_cases(
    session: AsyncSession, flt: CaseFilter, *, after: CaseKey | None, limit: int
) -> list[Case]:
    """One page of the search, newest first, strictly after the keyset ``after``."""
    q = search_statement(flt, after, limit, dialect=session.get_bind().dialect.name)
    return list((await session.scalars(q)).all())


async def open_tasks(session: AsyncSession, case_id: str) -> Sequence[Task]:
    """The case's open tasks, soonest due first (``ix_tasks_case_id``, a case has few)."""
    q = (
        select(Task)
        .where(Task.case_id == case_id, Task.state == OPEN)
        .order_by(Task.due_at, Task.id)
    )
    return (await session.scalars(q)).all()


async def completed_tasks(session: AsyncSession, case_id: str) -> Sequence[Task]:
    """The case's completed tasks in the order they were completed: the recorded decisions the
    printed 认定表 fills its opinion boxes from (a case has few tasks)."""
    q = (
        select(Task)
        .where(Task.case_id == case_id, Task.state == "completed")
        .order_by(Task.completed_at, Task.id)
    )
    return (await session.scalars(q)).all()


async def notice_of_case(session: AsyncSession, case_id: str, notice_id: int) -> Notice | None:
    """The notice if it belongs to the case (a notice of another case reads as absent)."""
    return await session.scalar(
        select(Notice).where(Notice.id == notice_id, Notice.case_id == case_id)
    )


async def publicity_starts(
    session: AsyncSession, scope_path: str, since: datetime, before: datetime, limit: int
) -> list[tuple[Case, CaseEvent]]:
    """The publicity starts recorded in [since, before) for cases of the subtree of
    ``scope_path``, oldest first, with their cases (at most ``limit`` rows)."""
    q = (
        select(Case, CaseEvent)
        .join(CaseEvent, CaseEvent.case_id == Case.id)
        .where(
            in_subtree(Case.jurisdiction_path, scope_path),
            CaseEvent.kind.in_(PUBLICITY_EVENTS),
            CaseEvent.at >= since,
            CaseEvent.at < before,
        )
        .order_by(CaseEvent.at, CaseEvent.id)
        .limit(limit)
    )
    return [(case, event) for case, event in (await session.execute(q)).all()]
