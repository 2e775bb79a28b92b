"""Supervision (督导): what a district or city supervisor needs to watch the clocks of their
area — the headline (overdue and at-risk tasks, the period's breaches, the on-time
identification rate of the period's decisions, the cases in identification by their stored
stage, also those no task stands for: in publicity, waiting for the applicant) and the cases
behind it, open tasks by SLA state, how long tasks have waited, each officer's load, the
escalations (督办) and how they were handled, the identification-deadline (认定时限) hit rate,
and the breach records.

Scope: every figure is confined to the caller's jurisdiction subtree; ``jurisdiction`` (a
code) drills down into a place inside it, and a place outside it (or unknown) is 404
``not-found``, never 403. SLA states are computed at "now" from the stored instants with the
inbox's definitions (:mod:`store.supervision_repo` reuses :mod:`store.tasks_repo`'s).

Periods: ``from``/``to`` are Shanghai dates, both inclusive ([00:00 of ``from``, 24:00 of
``to``) in Shanghai time); without them, the 30 days ending today. ``from`` after ``to``, a
span over :data:`MAX_PERIOD_DAYS` days or a date outside :data:`MIN_DATE`..:data:`MAX_DATE`
is 422 ``validation-error``.

The response models live here (not in ``application.schemas``, which this module may not
change) and are the routes' OpenAPI contract. ID numbers never appear in them.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from application.actor import Actor
from application.errors import Problem, not_found
from application.services import cases as cases_service
from domain.calendar import deadline_end, local_date, start_of_day
from domain.labels import CASE_STATUSES, STAGES, TASK_KINDS, label
from domain.vocabulary import Role
from store import repos, supervision_repo as repo, tasks_repo
from store.models import Case, Jurisdiction, SlaBreach, Task, User

# Periods: at most about three years, between these dates (a date far outside them cannot be
# turned into an instant on every database and is certainly a mistake).
MAX_PERIOD_DAYS = 3 * 366
DEFAULT_PERIOD_DAYS = 30
MIN_DATE = date(2000, 1, 1)
MAX_DATE = date(2099, 12, 31)
# The longest task id (store.models.Task.id).
MAX_ID_LENGTH = 160

# Aging buckets: waits of [0, 1), [1, 3), [3, 7), [7, 15), [15, 30) and 30 or more days.
AGE_EDGES_DAYS = (1, 3, 7, 15, 30)
AGE_BUCKETS: tuple[tuple[str, str], ...] = (
    ("lt_1d", "不足1天"),
    ("1_3d", "1–3天"),
    ("3_7d", "3–7天"),
    ("7_15d", "7–15天"),
    ("15_30d", "15–30天"),
    ("ge_30d", "30天以上"),
)

# Whose load /workload reports (the roles that work tasks).
OFFICER_ROLES = (Role.GRASSROOTS_OFFICER.value, Role.COUNTY_REVIEWER.value)

DEADLINE_CLOCK = "identification_deadline"
TASK_CLOCK_PREFIX = "task:"
UNASSIGNED_ZH = "未分配"
TOTAL_ZH = "合计"

EscalationState = Literal["open", "handled", "all"]
ESCALATION_STATES: dict[str, tuple[str, ...] | None] = {
    "open": ("open",),
    "handled": ("completed",),
    "all": None,
}


# --- response models -------------------------------------------------------------------------


class PlaceOut(BaseModel):
    code: str
    name: str
    level: str


class PeriodOut(BaseModel):
    """The period, as asked (Shanghai dates, inclusive) and as instants [start, end)."""

    from_date: date
    to_date: date
    start: datetime
    end: datetime


class OverviewRow(BaseModel):
    """One row of the overview. Exactly one of ``code`` (jurisdiction), ``kind`` (kind or
    clock) and ``user_id`` (officer; null for the unassigned row) identifies it, according
    to ``group_by``; the totals row has none. Task counts are open tasks now: ``breached``
    counts every task past its goal (``due_at <= now``, as the inbox's breached view), of
    which ``past_deadline`` are past the hard deadline too. ``breaches`` counts the breach
    records of the period."""

    code: str | None = None
    kind: str | None = None
    user_id: int | None = None
    name: str
    open: int = 0
    at_risk: int = 0
    breached: int = 0
    past_deadline: int = 0
    unassigned: int = 0
    breaches: int = 0


class OverviewOut(BaseModel):
    group_by: str
    place: PlaceOut
    period: PeriodOut
    as_of: datetime
    rows: list[OverviewRow]
    total: OverviewRow


class AgeBucketOut(BaseModel):
    key: str
    label: str
    min_days: int
    max_days: int | None = Field(description="Exclusive; null for the last bucket")


class AgingRow(BaseModel):
    """Open tasks of one place (``code``) or kind (``kind``) per age bucket (aligned with
    ``buckets``)."""

    code: str | None = None
    kind: str | None = None
    name: str
    counts: list[int]
    total: int


class OldestTaskOut(BaseModel):
    task_id: str
    case_id: str
    kind: str
    kind_name: str
    applicant_name: str
    jurisdiction_code: str
    created_at: datetime
    waited_days: float
    assignee_id: int | None
    assignee_name: str | None


class AgingOut(BaseModel):
    by: str
    place: PlaceOut
    as_of: datetime
    buckets: list[AgeBucketOut]
    rows: list[AgingRow]
    total: AgingRow
    oldest: list[OldestTaskOut]


class WorkloadRow(BaseModel):
    """An officer's load: open tasks assigned to them in the area now (and their SLA states),
    tasks of the area they completed in the period and the median hours from a task's
    creation to its completion (null without completions)."""

    user_id: int
    username: str
    display_name: str
    role: str
    jurisdiction_code: str
    active: bool
    open_assigned: int
    at_risk: int
    breached: int
    past_deadline: int
    completed: int
    median_hours_to_complete: float | None


class WorkloadOut(BaseModel):
    place: PlaceOut
    period: PeriodOut
    as_of: datetime
    officers: list[WorkloadRow]


class UserRefOut(BaseModel):
    id: int
    display_name: str


class EscalationOut(BaseModel):
    """An escalation task (督办) and what it escalates: the case, the clock (``task:<kind>``
    of the original task, or ``identification_deadline``), the event and level."""

    task_id: str
    case_id: str
    applicant_name: str
    jurisdiction_code: str
    state: str
    clock: str | None
    event: str | None
    level: int | None
    about_task_id: str | None
    about_kind: str | None
    about_kind_name: str | None
    opened_at: datetime
    due_at: datetime
    assignee: UserRefOut | None
    handled_at: datetime | None
    handled_by: UserRefOut | None
    action: str | None


class EscalationCounts(BaseModel):
    """Escalations opened in the period (all time without one), by their state now."""

    opened: int
    open: int
    handled: int
    cancelled: int


class EscalationPage(BaseModel):
    place: PlaceOut
    period: PeriodOut | None
    counts: EscalationCounts
    items: list[EscalationOut]
    next_cursor: str | None


class DeadlineRow(BaseModel):
    """Cases whose identification deadline falls in the period: concluded on time (before
    the end of the deadline day, Shanghai time), concluded late, pending past the deadline,
    pending within it; ``on_time_rate`` = on_time / concluded (null when none concluded)."""

    code: str | None = None
    name: str
    level: str | None = None
    cases: int = 0
    concluded: int = 0
    on_time: int = 0
    late: int = 0
    pending_overdue: int = 0
    pending_within: int = 0
    on_time_rate: float | None = None


class DeadlinesOut(BaseModel):
    """``districts``: the county-level places (区/县) in the area (a district supervisor's own
    district); ``children``: the place's direct children (a district's streets), plus the
    place itself when cases sit there directly."""

    place: PlaceOut
    period: PeriodOut
    as_of: datetime
    districts: list[DeadlineRow]
    children: list[DeadlineRow]
    total: DeadlineRow


class BreachOut(BaseModel):
    id: int
    case_id: str
    task_id: str | None
    clock: str
    event: str
    level: int
    jurisdiction_code: str
    escalation_task_id: str | None
    at: datetime


class BreachPage(BaseModel):
    items: list[BreachOut]
    next_cursor: str | None


class StageOut(BaseModel):
    """Cases in identification at one stage (``stage``: the stored stage, or the status of a
    case stored before stages were): ``with_task`` have an open task in someone's inbox,
    ``waiting`` none (waiting on a clock, the applicant or a department: ``waits_on``, the
    stage's usual wait, null where it waits on an officer), ``past_deadline`` are past their
    identification deadline."""

    stage: str
    name: str
    cases: int
    with_task: int
    waiting: int
    waits_on: Literal["clock", "applicant", "department"] | None
    past_deadline: int


class OnTimeOut(BaseModel):
    """Identification decisions (identified or refused) made in the period: within the
    case's identification deadline (认定时限, its last day inclusive, Shanghai time) or after
    it; ``rate`` = on_time / (on_time + late), null without decisions. Cases stored without a
    deadline are counted apart and left out of the rate."""

    decided: int
    on_time: int
    late: int
    without_deadline: int
    rate: float | None


class HeadlineOut(BaseModel):
    """The figures at the top of the supervisor's dashboard, for the place's subtree. Tasks
    now: ``overdue`` past their goal (of which ``past_deadline`` past the hard deadline too),
    ``at_risk``; ``breaches``: breach records of the period; ``identification``: the period's
    decisions against the deadline; cases now: ``open_cases`` in identification (by stage in
    ``stages``, counted from the cases, so a case in publicity with no task counts),
    ``cases_past_deadline`` of them past their identification deadline."""

    place: PlaceOut
    period: PeriodOut
    as_of: datetime
    overdue: int
    past_deadline: int
    at_risk: int
    breaches: int
    identification: OnTimeOut
    open_cases: int
    cases_waiting: int
    cases_past_deadline: int
    stages: list[StageOut]


class CaseClockOut(BaseModel):
    """The current stage's clock of a case (:class:`domain.case_clock.CaseClock`): what it
    waits on, from ``start`` to ``last_day`` (Shanghai dates, inclusive), the working days
    left (negative: late) and whether it is overdue."""

    kind: str
    waiting_on: str
    start: date
    last_day: date
    working_days_left: int
    overdue: bool
    provisional: bool


class CaseRowOut(BaseModel):
    """A case behind a headline figure (no ID number)."""

    case_id: str
    applicant_name: str
    jurisdiction_code: str
    status: str
    stage: str | None
    stage_name: str
    identification_deadline: date | None
    decided_at: datetime | None
    on_time: bool | None
    has_open_task: bool
    updated_at: datetime
    clock: CaseClockOut | None = Field(
        default=None,
        description="A case in identification: its current stage's clock, as the case page "
        "shows it (domain.case_clock); null for a decided case or where none runs",
    )


class CaseListOut(BaseModel):
    """The cases behind a headline figure (``which``: ``stage`` with its code, ``past_deadline``
    or ``decided`` in the period), at most ``limit``; ``more`` when there are others."""

    place: PlaceOut
    which: str
    stage: str | None
    period: PeriodOut | None
    items: list[CaseRowOut]
    more: bool


# --- periods and places ----------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Shanghai dates ``first``..``last`` inclusive, i.e. the instants [start, end)."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return start_of_day(self.first)

    @property
    def end(self) -> datetime:
        return deadline_end(self.last)

    def out(self) -> PeriodOut:
        return PeriodOut(from_date=self.first, to_date=self.last, start=self.start, end=self.end)


def _invalid(field: str, message: str) -> Problem:
    # The same shape as the request validation errors (application.errors).
    return Problem(
        422,
        "validation-error",
        "Invalid request",
        f"{field}: {message}",
        errors=[{"field": field, "message": message, "code": "value_error"}],
    )


def period(first: date | None, last: date | None, now: datetime) -> Period:
    """The period asked for; without ``to``, up to today; without ``from``, the
    :data:`DEFAULT_PERIOD_DAYS` days ending on ``to``."""
    for name, value in (("query.from", first), ("query.to", last)):
        if value is not None and not MIN_DATE <= value <= MAX_DATE:
            raise _invalid(name, f"must be between {MIN_DATE} and {MAX_DATE}")
    last = last or local_date(now)
    first = first or last - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if first > last:
        raise _invalid("query.from", "from is after to")
    if (last - first).days + 1 > MAX_PERIOD_DAYS:
        raise _invalid("query.to", f"the period is longer than {MAX_PERIOD_DAYS} days")
    return Period(first, last)


def optional_period(first: date | None, last: date | None, now: datetime) -> Period | None:
    """A period when ``from`` or ``to`` is given, else None (no restriction)."""
    if first is None and last is None:
        return None
    return period(first, last, now)


async def place_for(session: AsyncSession, actor: Actor, code: str | None) -> Jurisdiction:
    """The caller's own place, or the drill-down place ``code`` when it lies in the caller's
    subtree (else 404, the same answer as for an unknown code)."""
    place = await repos.get_jurisdiction(session, code or actor.jurisdiction_code)
    if place is None or not place.path.startswith(actor.jurisdiction_path):
        raise not_found("jurisdiction", code or actor.jurisdiction_code)
    return place


def _place_out(place: Jurisdiction) -> PlaceOut:
    return PlaceOut(code=place.code, name=place.name, level=place.level)


def child_code(place: Jurisdiction, path: str) -> str | None:
    """The code of the place's direct child that ``path`` lies in; None for the place."""
    return path[len(place.path) :].split("/", 1)[0] or None


def _kind_order(kind: str) -> tuple[int, str]:
    known = list(TASK_KINDS)
    if kind in known:
        return known.index(kind), kind
    return (len(known) + 1 if kind == DEADLINE_CLOCK else len(known)), kind


def _stage_order(stage: str) -> tuple[int, str]:
    known = [*STAGES, *CASE_STATUSES]
    return (known.index(stage) if stage in known else len(known)), stage


def _clock_kind(clock: str) -> str:
    """The kind a breach record's clock belongs to (``task:<kind>``) or the clock itself."""
    return clock.removeprefix(TASK_CLOCK_PREFIX)


# --- overview ---------------------------------------------------------------------------------


async def overview(
    session: AsyncSession,
    actor: Actor,
    *,
    group_by: repo.TaskGroup,
    code: str | None,
    span: Period,
    now: datetime,
) -> OverviewOut:
    """Open tasks by SLA state and the period's breach records, by child place, kind or
    officer, with a totals row."""
    place = await place_for(session, actor, code)
    counts = await repo.open_counts(session, place.path, group_by, now)
    breaches = await repo.breach_counts(session, place.path, group_by, span.start, span.end)
    if group_by == "jurisdiction":
        rows = await _overview_by_place(session, place, counts, breaches)
    elif group_by == "kind":
        rows = _overview_by_kind(counts, breaches)
    else:
        rows = await _overview_by_officer(session, counts, breaches)
    total = OverviewRow(name=TOTAL_ZH)
    for row in rows:
        _add_counts(total, row)
    return OverviewOut(
        group_by=group_by,
        place=_place_out(place),
        period=span.out(),
        as_of=now,
        rows=rows,
        total=total,
    )


_COUNT_FIELDS = ("open", "at_risk", "breached", "past_deadline", "unassigned", "breaches")


def _add_counts(into: OverviewRow, row: OverviewRow) -> None:
    for name in _COUNT_FIELDS:
        setattr(into, name, getattr(into, name) + getattr(row, name))


def _add_open(row: OverviewRow, c: repo.OpenCounts) -> None:
    row.open += c.open
    row.at_risk += c.at_risk
    row.breached += c.breached
    row.past_deadline += c.past_deadline
    row.unassigned += c.unassigned


async def _overview_by_place(
    session: AsyncSession,
    place: Jurisdiction,
    counts: Sequence[repo.OpenCounts],
    breaches: dict[repo.GroupKey, int],
) -> list[OverviewRow]:
    """Rows for the place's direct children (every one, also without tasks) and, first, the
    place itself when something sits there directly."""
    own = OverviewRow(code=place.code, name=place.name)
    rows = {
        j.code: OverviewRow(code=j.code, name=j.name)
        for j in await repo.children(session, place.code)
    }

    def row_for(path: str) -> OverviewRow:
        code = child_code(place, path)
        if code is None:
            return own
        return rows.setdefault(code, OverviewRow(code=code, name=code))

    for c in counts:
        _add_open(row_for(str(c.key)), c)
    for path, n in breaches.items():
        row_for(str(path)).breaches += n
    ordered = [rows[code] for code in sorted(rows)]
    if any(getattr(own, name) for name in _COUNT_FIELDS):
        ordered.insert(0, own)
    return ordered


def _overview_by_kind(
    counts: Sequence[repo.OpenCounts], breaches: dict[repo.GroupKey, int]
) -> list[OverviewRow]:
    rows: dict[str, OverviewRow] = {}

    def row_for(kind: str) -> OverviewRow:
        name = label("clock" if kind == DEADLINE_CLOCK else "task_kind", kind)
        return rows.setdefault(kind, OverviewRow(kind=kind, name=name))

    for c in counts:
        _add_open(row_for(str(c.key)), c)
    for clock, n in breaches.items():
        row_for(_clock_kind(str(clock))).breaches += n
    return [rows[k] for k in sorted(rows, key=_kind_order)]


async def _overview_by_officer(
    session: AsyncSession,
    counts: Sequence[repo.OpenCounts],
    breaches: dict[repo.GroupKey, int],
) -> list[OverviewRow]:
    """Rows per assignee by display name; unassigned tasks (and breaches of a case-level
    clock, which have no task) in a last row with ``user_id`` null."""
    ids = {int(k) for k in [*(c.key for c in counts), *breaches] if k is not None}
    names = await tasks_repo.display_names(session, ids)
    rows: dict[int | None, OverviewRow] = {}

    def row_for(key: repo.GroupKey) -> OverviewRow:
        uid = None if key is None else int(key)
        name = UNASSIGNED_ZH if uid is None else names.get(uid, str(uid))
        return rows.setdefault(uid, OverviewRow(user_id=uid, name=name))

    for c in counts:
        _add_open(row_for(c.key), c)
    for key, n in breaches.items():
        row_for(key).breaches += n
    assigned = sorted(
        (r for k, r in rows.items() if k is not None), key=lambda r: (r.name, r.user_id)
    )
    return assigned + ([rows[None]] if None in rows else [])


# --- aging -----------------------------------------------------------------------------------


def age_buckets() -> list[AgeBucketOut]:
    bounds = [0, *AGE_EDGES_DAYS, None]
    return [
        AgeBucketOut(key=key, label=label, min_days=bounds[i] or 0, max_days=bounds[i + 1])
        for i, (key, label) in enumerate(AGE_BUCKETS)
    ]


async def aging(
    session: AsyncSession,
    actor: Actor,
    *,
    by: Literal["jurisdiction", "kind"],
    code: str | None,
    oldest: int,
    now: datetime,
) -> AgingOut:
    """How long the open tasks have waited (``now - created_at``) per age bucket, by child
    place or kind, and the ``oldest`` longest-waiting tasks."""
    place = await place_for(session, actor, code)
    own = _aging_row(code=place.code, name=place.name)
    rows: dict[str, AgingRow] = {}
    if by == "jurisdiction":
        for j in await repo.children(session, place.code):
            rows[j.code] = _aging_row(code=j.code, name=j.name)

    def row_for(key: str) -> AgingRow:
        if by == "kind":
            return rows.setdefault(key, _aging_row(kind=key, name=label("task_kind", key)))
        child = child_code(place, key)
        if child is None:
            return own
        return rows.setdefault(child, _aging_row(code=child, name=child))

    for key, bucket, count in await repo.age_counts(session, place.path, by, now, AGE_EDGES_DAYS):
        row = row_for(key)
        row.counts[bucket] += count
        row.total += count
    if by == "kind":
        ordered = [rows[k] for k in sorted(rows, key=_kind_order)]
    else:
        ordered = [own] * bool(own.total) + [rows[k] for k in sorted(rows)]
    total = AgingRow(
        name=TOTAL_ZH,
        counts=[sum(r.counts[i] for r in ordered) for i in range(len(AGE_BUCKETS))],
        total=sum(r.total for r in ordered),
    )
    tasks = await repo.oldest_open(session, place.path, now, oldest)
    names = await tasks_repo.display_names(session, (t.assignee_id for t in tasks))
    return AgingOut(
        by=by,
        place=_place_out(place),
        as_of=now,
        buckets=age_buckets(),
        rows=ordered,
        total=total,
        oldest=[_oldest_out(t, now, names) for t in tasks],
    )


def _aging_row(*, name: str, code: str | None = None, kind: str | None = None) -> AgingRow:
    return AgingRow(code=code, kind=kind, name=name, counts=[0] * len(AGE_BUCKETS), total=0)


def _oldest_out(task: Task, now: datetime, names: dict[int, str]) -> OldestTaskOut:
    return OldestTaskOut(
        task_id=task.id,
        case_id=task.case_id,
        kind=task.kind,
        kind_name=label("task_kind", task.kind),
        applicant_name=task.applicant_name,
        jurisdiction_code=task.jurisdiction_code,
        created_at=task.created_at,
        waited_days=round((now - task.created_at) / timedelta(days=1), 2),
        assignee_id=task.assignee_id,
        assignee_name=names.get(task.assignee_id) if task.assignee_id else None,
    )


# --- workload ------------------------------------------------------------------------------


async def workload(
    session: AsyncSession, actor: Actor, *, code: str | None, span: Period, now: datetime
) -> WorkloadOut:
    """Every active officer of the area (grassroots officers and county reviewers), also
    those without work, plus anyone else holding or having completed tasks of the area in
    the period (an inactive officer's tasks need reassigning), by place and name."""
    place = await place_for(session, actor, code)
    officers = {u.id: u for u in await repo.officers_in_scope(session, place.path, OFFICER_ROLES)}
    load = {c.key: c for c in await repo.open_load_by_assignee(session, place.path, now)}
    done = {
        c.user_id: c
        for c in await repo.completions_by_user(session, place.path, span.start, span.end)
    }
    others = {int(k) for k in [*load, *done] if k is not None} - set(officers)
    for user in await repo.users_by_id(session, others):
        officers[user.id] = user
    rows = [_workload_row(u, load.get(u.id), done.get(u.id)) for u in officers.values()]
    rows.sort(key=lambda r: (officers[r.user_id].jurisdiction_path, r.display_name, r.user_id))
    return WorkloadOut(place=_place_out(place), period=span.out(), as_of=now, officers=rows)


def _workload_row(
    user: User, load: repo.OpenCounts | None, done: repo.Completions | None
) -> WorkloadRow:
    return WorkloadRow(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        jurisdiction_code=user.jurisdiction_code,
        active=user.active,
        open_assigned=load.open if load else 0,
        at_risk=load.at_risk if load else 0,
        breached=load.breached if load else 0,
        past_deadline=load.past_deadline if load else 0,
        completed=done.completed if done else 0,
        median_hours_to_complete=round(done.median_seconds / 3600, 2) if done else None,
    )


# --- cursors -----------------------------------------------------------------------------------


def encode_cursor(tag: str, at: datetime, ident: str | int) -> str:
    """An opaque cursor: which list it belongs to and the last row's (instant, id)."""
    raw = json.dumps({"l": tag, "k": [at.isoformat(), ident]}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad_cursor() -> Problem:
    return Problem(422, "bad-cursor", "Invalid cursor", "the cursor is not valid")


def decode_cursor(cursor: str, tag: str) -> tuple[datetime, Any]:
    """The (instant, id) of a cursor of the list ``tag``; else 422 ``bad-cursor``."""
    bad = _bad_cursor()
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(data, dict) or data.get("l") != tag:
            raise bad
        at_text, ident = data["k"]
        at = datetime.fromisoformat(at_text)
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise bad from None
    # Bounded so that no cursor can make the database fail (an instant it cannot convert, an
    # integer beyond BIGINT, an id longer than any stored one).
    if at.tzinfo is None or not MIN_DATE.year <= at.year <= MAX_DATE.year:
        raise bad
    if isinstance(ident, bool) or not isinstance(ident, str | int):
        raise bad
    if isinstance(ident, int) and not 0 <= ident < 2**63:
        raise bad
    if isinstance(ident, str) and len(ident) > MAX_ID_LENGTH:
        raise bad
    return at, ident


# --- escalations -------------------------------------------------------------------------------


async def escalations(
    session: AsyncSession,
    actor: Actor,
    *,
    state: EscalationState,
    code: str | None,
    span: Period | None,
    cursor: str | None,
    limit: int,
) -> EscalationPage:
    """A page of the area's escalation tasks (newest first) with what they escalate and how
    they were handled, and the counts of those opened in the period by state."""
    place = await place_for(session, actor, code)
    after: repo.CreatedKey | None = None
    if cursor:
        at, ident = decode_cursor(cursor, "escalations")
        if not isinstance(ident, str):
            raise _bad_cursor()
        after = (at, ident)
    start, end = (span.start, span.end) if span else (None, None)
    tasks = await repo.escalation_page(
        session,
        place.path,
        states=ESCALATION_STATES[state],
        start=start,
        end=end,
        after=after,
        limit=limit,
    )
    by_state = await repo.escalation_states(session, place.path, start, end)
    records = {
        b.escalation_task_id: b
        for b in await repo.breaches_of_cases(session, (t.case_id for t in tasks))
        if b.escalation_task_id
    }
    names = await tasks_repo.display_names(
        session, [u for t in tasks for u in (t.assignee_id, t.completed_by)]
    )
    next_cursor = (
        encode_cursor("escalations", tasks[-1].created_at, tasks[-1].id)
        if len(tasks) == limit
        else None
    )
    return EscalationPage(
        place=_place_out(place),
        period=span.out() if span else None,
        counts=EscalationCounts(
            opened=sum(by_state.values()),
            open=by_state.get("open", 0),
            handled=by_state.get("completed", 0),
            cancelled=by_state.get("cancelled", 0),
        ),
        items=[_escalation_out(t, records.get(t.id), names) for t in tasks],
        next_cursor=next_cursor,
    )


def _user_ref(user_id: int | None, names: dict[int, str]) -> UserRefOut | None:
    if user_id is None:
        return None
    return UserRefOut(id=user_id, display_name=names.get(user_id, str(user_id)))


def _escalation_out(task: Task, record: SlaBreach | None, names: dict[int, str]) -> EscalationOut:
    """What the escalation is about: from its breach record (which names the clock, event and
    level), else from the task's payload (the record is written just after the task)."""
    payload = task.payload or {}
    about_task = record.task_id if record else payload.get("about_task")
    if record is not None:
        clock: str | None = record.clock
    elif payload.get("about") == DEADLINE_CLOCK:
        clock = DEADLINE_CLOCK
    elif payload.get("about_kind"):
        clock = f"{TASK_CLOCK_PREFIX}{payload['about_kind']}"
    else:
        clock = None
    about_kind = _clock_kind(clock) if clock and clock.startswith(TASK_CLOCK_PREFIX) else None
    level = record.level if record else payload.get("level")
    event = record.event if record else payload.get("event")
    outcome = task.outcome or {}
    fields = outcome.get("fields") if isinstance(outcome.get("fields"), dict) else {}
    action = fields.get("action") if fields else None
    return EscalationOut(
        task_id=task.id,
        case_id=task.case_id,
        applicant_name=task.applicant_name,
        jurisdiction_code=task.jurisdiction_code,
        state=task.state,
        clock=clock,
        event=event if isinstance(event, str) else None,
        level=level if isinstance(level, int) and not isinstance(level, bool) else None,
        about_task_id=about_task if isinstance(about_task, str) else None,
        about_kind=about_kind,
        about_kind_name=label("task_kind", about_kind) if about_kind else None,
        opened_at=task.created_at,
        due_at=task.due_at,
        assignee=_user_ref(task.assignee_id, names),
        handled_at=task.completed_at if task.state == "completed" else None,
        handled_by=_user_ref(task.completed_by, names) if task.state == "completed" else None,
        action=str(action) if action is not None else None,
    )


# --- identification deadlines ---------------------------------------------------------------


def _deadline_row(row: DeadlineRow, outcomes: repo.DeadlineOutcomes) -> None:
    row.on_time += outcomes.on_time
    row.late += outcomes.late
    row.pending_overdue += outcomes.pending_overdue
    row.pending_within += outcomes.pending_within


def _finish_deadline_row(row: DeadlineRow) -> DeadlineRow:
    row.concluded = row.on_time + row.late
    row.cases = row.concluded + row.pending_overdue + row.pending_within
    row.on_time_rate = round(row.on_time / row.concluded, 4) if row.concluded else None
    return row


async def identification_deadlines(
    session: AsyncSession, actor: Actor, *, code: str | None, span: Period, now: datetime
) -> DeadlinesOut:
    """The identification-deadline hit rate of cases whose deadline falls in the period, per
    district (county-level place) of the area and per direct child of the place."""
    place = await place_for(session, actor, code)
    outcomes = await repo.deadline_outcomes(
        session, place.path, span.first, span.last, local_date(now)
    )
    counties = await repo.county_places(session, place.path)
    districts = {j.code: DeadlineRow(code=j.code, name=j.name, level=j.level) for j in counties}
    kids = {
        j.code: DeadlineRow(code=j.code, name=j.name, level=j.level)
        for j in await repo.children(session, place.code)
    }
    own = DeadlineRow(code=place.code, name=place.name, level=place.level)
    total = DeadlineRow(name=TOTAL_ZH)
    for o in outcomes:
        _deadline_row(total, o)
        district = _county_of(o.path, districts)
        if district is not None:
            _deadline_row(districts[district], o)
        child = child_code(place, o.path)
        if child is None:
            _deadline_row(own, o)
        else:
            _deadline_row(kids.setdefault(child, DeadlineRow(code=child, name=child)), o)
    children = [_finish_deadline_row(kids[k]) for k in sorted(kids)]
    if _finish_deadline_row(own).cases:
        children.insert(0, own)
    return DeadlinesOut(
        place=_place_out(place),
        period=span.out(),
        as_of=now,
        districts=[_finish_deadline_row(districts[k]) for k in sorted(districts)],
        children=children,
        total=_finish_deadline_row(total),
    )


def _county_of(path: str, counties: Iterable[str]) -> str | None:
    """The county-level place (of ``counties``) whose subtree holds ``path``."""
    segments = set(path.strip("/").split("/"))
    return next((code for code in counties if code in segments), None)


# --- breach records ------------------------------------------------------------------------------


async def breaches(
    session: AsyncSession,
    actor: Actor,
    *,
    code: str | None,
    span: Period | None,
    clock: str | None,
    event: str | None,
    cursor: str | None,
    limit: int,
) -> BreachPage:
    """A page of the area's breach records, newest first (keyset, stable under inserts)."""
    place = await place_for(session, actor, code)
    after: repo.BreachKey | None = None
    if cursor:
        at, ident = decode_cursor(cursor, "breaches")
        if not isinstance(ident, int):
            raise _bad_cursor()
        after = (at, ident)
    rows = await repo.breach_page(
        session,
        place.path,
        start=span.start if span else None,
        end=span.end if span else None,
        clock=clock,
        event=event,
        after=after,
        limit=limit,
    )
    next_cursor = (
        encode_cursor("breaches", rows[-1].at, rows[-1].id) if len(rows) == limit else None
    )
    return BreachPage(items=[_breach_out(b) for b in rows], next_cursor=next_cursor)


def _breach_out(b: SlaBreach) -> BreachOut:
    return BreachOut(
        id=b.id,
        case_id=b.case_id,
        task_id=b.task_id,
        clock=b.clock,
        event=b.event,
        level=b.level,
        jurisdiction_code=b.jurisdiction_code,
        escalation_task_id=b.escalation_task_id,
        at=b.at,
    )


# --- the headline ----------------------------------------------------------------------------

# What a case at a stage usually waits on when no task stands for it: the publicity clock
# (公示期), the applicant's supplement (补充材料), a department's data (部门数据核查).
WAITS_ON: dict[str, Literal["clock", "applicant", "department"]] = {
    "publicity": "clock",
    "supplement": "applicant",
    "awaiting_materials": "applicant",
    "in_publicity": "clock",
    "data_check": "department",
}
CASE_LIST_LIMIT = 100


def stage_name(stage: str) -> str:
    """A stage's Chinese name; a status's for a case stored before stages were."""
    return label("stage", stage) if stage in STAGES else label("case_status", stage)


async def headline(
    session: AsyncSession, actor: Actor, *, code: str | None, span: Period, now: datetime
) -> HeadlineOut:
    """The dashboard's top figures for the place's subtree (see :class:`HeadlineOut`)."""
    place = await place_for(session, actor, code)
    tasks = await repo.open_counts(session, place.path, "jurisdiction", now)
    breaches = await repo.breach_counts(session, place.path, "jurisdiction", span.start, span.end)
    today = local_date(now)
    stages: dict[str, StageOut] = {}
    for c in await repo.cases_by_stage(session, place.path, today):
        key = c.stage or c.status
        row = stages.setdefault(
            key,
            StageOut(
                stage=key,
                name=stage_name(key),
                cases=0,
                with_task=0,
                waiting=0,
                waits_on=WAITS_ON.get(key),
                past_deadline=0,
            ),
        )
        row.cases += c.cases
        row.with_task += c.with_open_task
        row.waiting += c.cases - c.with_open_task
        row.past_deadline += c.past_deadline
    ordered = [stages[k] for k in sorted(stages, key=_stage_order)]
    d = await repo.decisions(session, place.path, span.start, span.end)
    judged = d.on_time + d.late
    return HeadlineOut(
        place=_place_out(place),
        period=span.out(),
        as_of=now,
        overdue=sum(c.breached for c in tasks),
        past_deadline=sum(c.past_deadline for c in tasks),
        at_risk=sum(c.at_risk for c in tasks),
        breaches=sum(breaches.values()),
        identification=OnTimeOut(
            decided=judged + d.without_deadline,
            on_time=d.on_time,
            late=d.late,
            without_deadline=d.without_deadline,
            rate=round(d.on_time / judged, 4) if judged else None,
        ),
        open_cases=sum(r.cases for r in ordered),
        cases_waiting=sum(r.waiting for r in ordered),
        cases_past_deadline=sum(r.past_deadline for r in ordered),
        stages=ordered,
    )


async def case_list(
    session: AsyncSession,
    actor: Actor,
    *,
    which: repo.CaseListKind,
    code: str | None,
    stage: str | None,
    span: Period,
    now: datetime,
    limit: int = CASE_LIST_LIMIT,
) -> CaseListOut:
    """The cases behind a headline figure: at a stage (``stage`` required: a stage or, for
    cases stored without one, a status of :data:`store.supervision_repo.IN_IDENTIFICATION`),
    past their identification deadline, or decided in the period."""
    if which == "stage" and (stage is None or stage not in [*STAGES, *repo.IN_IDENTIFICATION]):
        raise _invalid("query.stage", "a stage code is required")
    place = await place_for(session, actor, code)
    rows = await repo.case_list(
        session,
        place.path,
        which,
        stage=stage,
        today=local_date(now),
        start=span.start,
        end=span.end,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    working = await repo.has_open_task(session, (c.id for c in rows))
    items = [_case_row(c, c.id in working) for c in rows]
    if which != "decided":
        for c, item in zip(rows, items, strict=True):
            item.clock = await _clock(session, c, now)
    return CaseListOut(
        place=_place_out(place),
        which=which,
        stage=stage if which == "stage" else None,
        period=span.out() if which == "decided" else None,
        items=items,
        more=more,
    )


async def _clock(session: AsyncSession, case: Case, now: datetime) -> CaseClockOut | None:
    """The case's current clock, computed as for its page (one rule: domain.case_clock); a
    case whose pinned pack cannot be read has none here (its page says why)."""
    try:
        where = await cases_service.position(session, case, now)
    except Problem:
        return None
    c = where.clock
    if c is None:
        return None
    return CaseClockOut(
        kind=c.kind,
        waiting_on=where.waiting_on,
        start=c.start,
        last_day=c.last_day,
        working_days_left=c.working_days_left,
        overdue=c.overdue,
        provisional=c.provisional,
    )


def _case_row(c: Case, has_task: bool) -> CaseRowOut:
    decided = c.identified_at or (c.closed_at if c.status == "refused" else None)
    on_time = (
        decided < deadline_end(c.identification_deadline)
        if decided is not None and c.identification_deadline is not None
        else None
    )
    stage = c.stage or c.status
    return CaseRowOut(
        case_id=c.id,
        applicant_name=c.applicant_name,
        jurisdiction_code=c.jurisdiction_code,
        status=c.status,
        stage=c.stage,
        stage_name=stage_name(stage),
        identification_deadline=c.identification_deadline,
        decided_at=decided,
        on_time=on_time,
        has_open_task=has_task,
        updated_at=c.updated_at,
    )
