"""The task inbox (``/api/v1/tasks``): tasks and their pages, the list's parameters (one model
for the API's query and the inbox page's filters), completion, claims and reassignment in bulk,
comments. Full ID numbers never appear in lists: tasks carry the masked number only."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from application.schemas.common import IsoDateTime, Note, RowId, TaskIdStr
from application.schemas.followup import NextStepOut
from domain.calendar import SHANGHAI
from domain.precheck import PreCheckExplanation


class TaskOut(BaseModel):
    id: str
    case_id: str
    kind: str
    state: str
    candidate_role: str
    jurisdiction_code: str
    assignee_id: int | None
    applicant_name: str
    id_number_masked: str
    policy_pack_id: str
    category_code: str | None
    priority: int
    created_at: datetime
    at_risk_at: datetime
    due_at: datetime
    deadline_at: datetime
    sla_state: str
    sla_provisional: bool
    payload: dict[str, Any]
    outcome: dict[str, Any] | None
    version: int
    assignee_name: str | None = None
    pre_check_explanation: PreCheckExplanation | None = Field(
        default=None,
        description="On GET /tasks/{task_id} only: the case's pre-check explained (see "
        "CaseOut.pre_check_explanation); null in lists and when the case has no pre-check "
        "or lies outside your subtree",
    )


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None


class CompleteTaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: str = Field(min_length=1, max_length=40)
    fields: dict[str, Any] = Field(default_factory=dict)
    comment: Note = ""
    verified_facts: dict[str, Any] = Field(
        default_factory=dict,
        max_length=50,
        description="Facts the officer verified on a decision task (受理, 初审, 入户核实, "
        "复核认定): primary fact path -> value (true/false, YYYY-MM-DD, a number, a choice's "
        "code, a list of dates). Only the facts the task's form offers: those the pre-check "
        "leaves unknown, that the case's policy pack reads and that this stage may verify.",
    )


class ChoiceOut(BaseModel):
    code: str
    name_zh: str
    name_en: str


class VerifiableFactOut(BaseModel):
    """A fact the task's officer may verify (send it in the completion's ``verified_facts``):
    ``input`` says its value's type — ``yes_no`` true/false, ``date`` YYYY-MM-DD, ``number``
    (a whole one when ``integer``; ``unit_*`` its unit), ``choice`` one of ``choices``'
    codes, ``dates`` a list of YYYY-MM-DD. ``verifies``: the fact of the pack's conditions it
    lets the pre-check decide (another path when the system computes it from this one)."""

    path: str
    input: Literal["yes_no", "date", "dates", "number", "choice"]
    label_zh: str
    label_en: str
    verifies: str
    unit_zh: str = ""
    unit_en: str = ""
    integer: bool = False
    choices: list[ChoiceOut] = Field(default_factory=list)


class CompleteTaskOut(BaseModel):
    task_id: str
    outcome: str
    case_status: str
    # What happens next (the next task, who has it and by when, or the clock the case waits
    # on), read once the workflow recorded it or after a short bounded wait ("pending").
    next: NextStepOut | None = None


TaskView = Literal["mine", "group", "scope", "at_risk", "breached"]


LAST4 = re.compile(r"^[0-9]{3}[0-9Xx]$")


class TaskQueryIn(BaseModel):
    """The task list's query parameters, which a saved filter stores as they were given.

    ``view``: ``mine`` (assigned to me), ``group`` (unassigned open tasks of my groups: my role,
    inside my subtree), ``scope`` (everything in my subtree; the default), ``at_risk``
    (``at_risk_at <= now < due_at``), ``breached`` (``due_at <= now``); group, at_risk and
    breached are open tasks only. ``due_from``/``due_to`` bound ``due_at`` inclusively (an
    instant without an offset is Shanghai time). ``q``: exactly four characters of digits (the
    last may be X) match the end of the ID number, anything else is a substring of the
    applicant's name. ``sort``: ``due`` (soonest first) or ``priority`` (highest first, then
    soonest)."""

    model_config = ConfigDict(extra="forbid")

    view: TaskView = "scope"
    state: Literal["open", "completed", "cancelled"] = "open"
    kind: str | None = Field(default=None, max_length=40)
    due_from: IsoDateTime | None = None
    due_to: IsoDateTime | None = None
    category: str | None = Field(default=None, max_length=50)
    policy: str | None = Field(default=None, max_length=50)
    q: str | None = Field(default=None, min_length=1, max_length=50)
    jurisdiction: str | None = Field(
        default=None,
        max_length=12,
        pattern=r"^[0-9A-Za-z]{1,12}$",
        description="Only tasks at or under this place (a code inside your jurisdiction)",
    )
    sort: Literal["due", "priority"] = "due"
    limit: int = Field(default=50, ge=1, le=200)

    @field_validator("due_from", "due_to")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=SHANGHAI)
        return value

    @field_validator("q")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        value = value.strip() if value is not None else None
        if value == "":
            raise ValueError("q must not be blank")
        if value is not None and not value.isprintable():
            # A NUL would cut SQLite's LIKE pattern short and match every name.
            raise ValueError("q must not contain control characters")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TaskQueryIn:
        if self.view in ("group", "at_risk", "breached") and self.state != "open":
            raise ValueError(f"the {self.view} view lists open tasks only (state=open)")
        if self.due_from and self.due_to and self.due_from > self.due_to:
            raise ValueError("due_from is after due_to")
        return self

    @property
    def id_last4(self) -> str | None:
        return self.q.upper() if self.q and LAST4.match(self.q) else None

    @property
    def name(self) -> str | None:
        return self.q if self.q and not LAST4.match(self.q) else None


class TaskListIn(TaskQueryIn):
    """The list endpoint's parameters: the filters and the opaque ``cursor`` of the next page
    (it encodes the sort: a cursor of one sort is refused under another)."""

    model_config = ConfigDict(extra="ignore")

    cursor: str | None = Field(default=None, max_length=400)


class HolderOut(BaseModel):
    id: int
    display_name: str


class TaskCountsOut(BaseModel):
    """Open tasks per view for badges; a count equal to ``cap`` means "cap or more"."""

    mine: int
    group: int
    scope: int
    at_risk: int
    breached: int
    cap: int


class ReassignIn(BaseModel):
    user_id: RowId


class BulkClaimIn(BaseModel):
    task_ids: list[TaskIdStr] = Field(min_length=1, max_length=100)


class BulkReassignIn(BaseModel):
    task_ids: list[TaskIdStr] = Field(min_length=1, max_length=100)
    user_id: RowId


BulkResult = Literal["claimed", "reassigned", "conflict", "not_found", "not_allowed"]


class BulkItemOut(BaseModel):
    """``claimed``/``reassigned``: done; ``conflict``: claimed by someone else (``holder``) or
    closed; ``not_found``: no such task in your subtree; ``not_allowed``: you (claim) or the
    target user (reassign) are not in the task's group. ``reason`` is the problem type the
    single-task endpoint would have answered (``/problems/task-closed``, ...)."""

    task_id: str
    result: BulkResult
    reason: str | None = None
    holder: HolderOut | None = None


class BulkOut(BaseModel):
    results: list[BulkItemOut]


class CommentIn(BaseModel):
    body: str = Field(min_length=1, max_length=2000)

    @field_validator("body")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a comment needs some text")
        return value


class CommentOut(BaseModel):
    """A comment as plain text (clients must escape it when rendering)."""

    id: int
    task_id: str
    user_id: int
    author: str
    body: str
    created_at: datetime
