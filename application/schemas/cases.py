"""Request and response schemas of cases (``/api/v1/...``): one home for the API's routes
and the web pages, which check a form with the same model the API checks its body with."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from application.schemas.common import IsoDate, Note, Note1000
from domain.precheck import PreCheckExplanation
from domain.vocabulary import CaseStatus

# A Chinese character (CJK unified ideographs, their extensions and compatibility forms).
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")

# Codes of packs and categories ("weifang-2023", "older_unemployed").
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"

# No control characters (NUL cannot even be stored in PostgreSQL text) in free text.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class CaseSearchIn(BaseModel):
    """The search's query parameters. ``id_number``: a full 15- or 18-character ID number
    (exact; a 15-digit number is converted; an invalid one is 422 ``invalid-id-number`` with
    the reason). ``name``: the start of the applicant's name (at least one Chinese character
    or two letters). ``submitted_from``/``submitted_to``: Shanghai dates, both inclusive.
    Pages are newest first; pass ``next_cursor`` back as ``cursor``."""

    model_config = ConfigDict(extra="ignore")

    id_number: str | None = Field(
        default=None, min_length=1, max_length=40, description="公民身份号码 (15 or 18)"
    )
    name: str | None = Field(
        default=None, min_length=1, max_length=100, description="申请人姓名 (prefix)"
    )
    status: CaseStatus | None = None
    policy_pack: str | None = Field(default=None, max_length=50, pattern=CODE_PATTERN)
    category: str | None = Field(default=None, max_length=50, pattern=CODE_PATTERN)
    submitted_from: IsoDate | None = Field(default=None, ge=date(1900, 1, 1), le=date(9998, 12, 31))
    submitted_to: IsoDate | None = Field(default=None, ge=date(1900, 1, 1), le=date(9998, 12, 31))
    cursor: str | None = Field(default=None, max_length=400)
    limit: int = Field(default=50, ge=1, le=100)

    @field_validator("name")
    @classmethod
    def _name_prefix(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if _CONTROL.search(value):
            raise ValueError("name must not contain control characters")
        letters = sum(1 for ch in value if ch.isalpha())
        if not _HAN.search(value) and letters < 2:
            raise ValueError("name needs at least one Chinese character or two letters")
        return value

    @field_validator("id_number")
    @classmethod
    def _no_control(cls, value: str | None) -> str | None:
        if value is not None and _CONTROL.search(value):
            raise ValueError("id_number must not contain control characters")
        return value

    @model_validator(mode="after")
    def _range(self) -> CaseSearchIn:
        if self.submitted_from and self.submitted_to and self.submitted_from > self.submitted_to:
            raise ValueError("submitted_from is after submitted_to")
        return self


class CaseSummaryOut(BaseModel):
    """A case in a list: the ID number masked, never whole."""

    id: str
    applicant_name: str
    id_number_masked: str
    jurisdiction_code: str
    policy_pack_id: str
    status: str
    stage: str | None
    category_code: str | None
    submitted_at: datetime
    closed_at: datetime | None
    identification_deadline: date | None
    deadline_provisional: bool


class CasePage(BaseModel):
    items: list[CaseSummaryOut]
    next_cursor: str | None


class TimelineEntry(BaseModel):
    at: datetime
    actor: str
    kind: str
    summary: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class NoticeOut(BaseModel):
    id: int
    kind: str
    title: str
    body: dict[str, Any]
    issued_at: datetime


class TaskClockOut(BaseModel):
    """An open task's clock: due (the goal) and deadline instants, and its SLA state now."""

    task_id: str
    kind: str
    kind_name: str
    at_risk_at: datetime
    due_at: datetime
    deadline_at: datetime
    sla_state: Literal["on_track", "at_risk", "breached", "past_deadline"]
    provisional: bool


class DeadlinesOut(BaseModel):
    """The case's clocks. ``identification_deadline`` is the last day (Shanghai) to identify;
    it runs out at ``identification_deadline_at``; ``identification_deadline_provisional``
    when it was computed for a year without a holiday table; ``identification_overdue`` when
    the case is still undecided after it."""

    identification_deadline: date | None
    identification_deadline_at: datetime | None
    identification_deadline_provisional: bool
    identification_overdue: bool
    tasks: list[TaskClockOut]


class OpenTaskOut(BaseModel):
    id: str
    kind: str
    kind_name: str
    assignee_id: int | None
    assignee_name: str | None
    sla_state: Literal["on_track", "at_risk", "breached", "past_deadline"]
    due_at: datetime


class DocumentOut(BaseModel):
    """A notice served on the applicant: ``download_url`` gives the printable HTML document,
    ``download_url?format=json`` the stored notice."""

    id: int
    kind: str
    title: str
    issued_at: datetime
    download_url: str


class StageClockOut(BaseModel):
    """The current stage's clock. ``kind``: ``publicity`` (公示期, runs by itself), ``task`` (an
    office's task, its goal day) or ``supplement`` (the applicant's 补充材料 period).
    ``start`` and ``last_day`` are Shanghai dates, ``last_day`` inclusive (a period stored as
    ending at 2026-12-08T00:00+08:00 has the last day 2026-12-07). ``working_days_left``:
    working days after today up to the last day (holidays and make-up days counted; 0 ends
    today, negative is late); ``provisional`` when a year on the way has no holiday table."""

    kind: Literal["publicity", "task", "supplement"]
    start: date
    last_day: date
    working_days_left: int
    overdue: bool
    provisional: bool
    task_id: str | None


class StageStepOut(BaseModel):
    """A stage of the pinned pack's procedure: ``done`` (with ``finished_on`` when the
    timeline says), ``current`` (with ``started_on``), ``next``, or ``not_reached`` (the case
    concluded before it); ``open_until``, the last day the applicant may ask for a ``next``
    step (a refusal's re-examination, 复核申请)."""

    kind: str
    name: str
    name_en: str
    state: Literal["done", "current", "next", "not_reached"]
    finished_on: date | None
    started_on: date | None
    open_until: date | None = None


class PositionOut(BaseModel):
    """Where the case is now: ``stage`` (the stage code, ``stage_name`` its Chinese name),
    ``waiting_on`` (``office``, ``applicant``, ``clock`` or ``none``), the stage's ``clock``
    (null when none runs) and the procedure as ``stages``."""

    stage: str | None
    stage_name: str | None
    waiting_on: Literal["office", "applicant", "clock", "none"]
    clock: StageClockOut | None
    stages: list[StageStepOut]


class CaseOut(BaseModel):
    id: str
    workflow_id: str
    workflow_url: str
    policy_pack_id: str
    policy_pack_ref: str
    jurisdiction_code: str
    applicant_name: str
    id_number: str
    channel: str
    status: str
    stage: str | None
    category_code: str | None
    outcome_reason: str | None
    submitted_at: datetime
    accepted_at: datetime | None
    closed_at: datetime | None
    identification_deadline: date | None
    deadline_provisional: bool
    identified_at: datetime | None
    identified_by: str | None
    identifying_agency: str | None
    pre_check: dict[str, Any] | None = Field(
        description="The stored pre-check decision (its shape varies with the version that "
        "made it; read pre_check_explanation instead)"
    )
    pre_check_explanation: PreCheckExplanation | None = Field(
        default=None,
        description="The pre-check explained (资格预审说明): verdict met | not_met | to_verify "
        "(an unknown fact is to_verify, never not_met), then the groups base_conditions, "
        "categories (the one applied for first, role requested / also_met / other), "
        "exclusions, evidence and data_check; each rule with its code, clause, verdict and "
        "the fact tests that explain it (fact path, operator, expected, actual, verdict), "
        "with Chinese and English texts. Rebuilt from the stored facts, the pinned pack and "
        "the pre-check's date, so cases assessed earlier have it too.",
    )
    facts: dict[str, Any]
    timeline: list[TimelineEntry]
    notices: list[NoticeOut]
    deadlines: DeadlinesOut
    open_tasks: list[OpenTaskOut]
    documents: list[DocumentOut]
    position: PositionOut


def _no_control_text(value: str) -> str:
    # Line breaks and tabs are fine in free text; other control characters are not (NUL
    # cannot even be stored in PostgreSQL text).
    if _CONTROL.search(value.replace("\n", "").replace("\r", "").replace("\t", "")):
        raise ValueError("must not contain control characters")
    return value


class ObjectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: Note = Field(min_length=1, description="异议内容")
    raised_by: str = Field(min_length=1, max_length=100, description="异议人")

    _plain = field_validator("content", "raised_by")(_no_control_text)


class ObjectionOut(BaseModel):
    task_id: str


class ReexaminationIn(BaseModel):
    """The applicant's request for re-examination (复核申请) after a refusal, as recorded by an
    officer: what the applicant asks to be examined again."""

    model_config = ConfigDict(extra="forbid")

    content: Note = Field(min_length=1, description="申请复核的理由")

    _plain = field_validator("content")(_no_control_text)


class ReexaminationOut(BaseModel):
    task_id: str


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Note1000 = Field(min_length=1, description="撤回原因")

    _plain = field_validator("reason")(_no_control_text)


class WithdrawOut(BaseModel):
    case_id: str
    status: Literal["withdrawing"]
