"""Contracts between the API, the workflows and the activities: inputs, results, update payloads,
task kinds, id builders and error types. One dataclass per argument so that fields can be added
later without breaking running histories (new fields need defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class TaskKind(StrEnum):
    """Human task kinds (待办类型)."""

    ACCEPTANCE = "acceptance"  # 受理查验
    SUPPLEMENT = "supplement"  # 补充材料 (after the one-time notice 一次性告知)
    INITIAL_REVIEW = "initial_review"  # 初审
    HOME_VISIT = "home_visit"  # 入户核实
    PUBLICITY_REPORT = "publicity_report"  # 公示结束后签署初步意见并上报
    OBJECTION = "objection"  # 公示异议处理
    REVIEW = "review"  # 复核认定
    IMMEDIATE_CONCLUSION = "immediate_conclusion"  # 审核认定、即时办结
    INFORM_REFUSAL = "inform_refusal"  # 告知申请人不予认定
    ESCALATION = "escalation"  # 督办


# Chinese names of the task kinds, for the inbox, the pages and notifications.
TASK_KIND_ZH: dict[str, str] = {
    "acceptance": "受理查验",
    "supplement": "补充材料",
    "initial_review": "初审",
    "home_visit": "入户核实",
    "publicity_report": "公示结果上报",
    "objection": "公示异议处理",
    "review": "复核认定",
    "immediate_conclusion": "审核认定（即时办结）",
    "inform_refusal": "告知不予认定",
    "escalation": "督办",
}


class Role(StrEnum):
    GRASSROOTS_OFFICER = "grassroots_officer"  # 街道/乡镇/社区经办人员
    COUNTY_REVIEWER = "county_reviewer"  # 县(区)公共就业服务机构审核人员
    SUPERVISOR = "supervisor"  # 区/市督导
    ADMIN = "admin"  # 系统管理员


class CaseStatus(StrEnum):
    SUBMITTED = "submitted"  # 已申请
    AWAITING_MATERIALS = "awaiting_materials"  # 待补充材料
    ACCEPTED = "accepted"  # 已受理
    UNDER_REVIEW = "under_review"  # 审核中
    IN_PUBLICITY = "in_publicity"  # 公示中
    IDENTIFIED = "identified"  # 已认定
    REFUSED = "refused"  # 不予认定
    NOT_ACCEPTED = "not_accepted"  # 不予受理
    WITHDRAWN = "withdrawn"  # 已撤回

    @property
    def closed(self) -> bool:
        return self in (CaseStatus.REFUSED, CaseStatus.NOT_ACCEPTED, CaseStatus.WITHDRAWN)


# Error types carried by ApplicationError.type and mapped to problem+json `type` by the API.
ERR_TASK_UNKNOWN = "task-unknown"
ERR_TASK_CLOSED = "task-closed"
ERR_BAD_OUTCOME = "bad-outcome"
ERR_MISSING_FIELDS = "missing-fields"
ERR_ACTOR_NOT_ALLOWED = "actor-not-allowed"
ERR_BAD_FIELD = "bad-field"
ERR_NOT_IN_PUBLICITY = "not-in-publicity"
ERR_CASE_CLOSED = "case-closed"


def identification_workflow_id(case_id: str) -> str:
    """The workflow id is derived from the case number (the business key), never from personal
    data: workflow ids are stored and shown unencrypted."""
    return f"identification-{case_id}"


def task_id(workflow_id: str, kind: str, seq: int) -> str:
    """Deterministic, URL-safe task id: the same task opened twice (an activity retry, a replay)
    gets the same id, so the inbox upsert never makes a second row."""
    return f"{workflow_id}.{kind}.{seq}"


@dataclass
class SlaInput:
    goal: int
    deadline: int
    unit: str = "working_days"


# Jurisdiction levels from the bottom of the tree up (行政区划层级).
LEVELS = ("community", "street", "county", "city", "province", "country")


@dataclass
class PlaceRef:
    """A node of the jurisdiction tree as the workflow sees it (plain data, no database)."""

    code: str
    path: str
    level: str
    name: str


@dataclass
class StageRule:
    """One stage of the pack's procedure, with its jurisdiction resolved for this case."""

    kind: str
    name: str
    role: str
    place: PlaceRef
    sla: SlaInput
    source: str = ""
    working_days: int | None = None  # publicity length
    objection_escalates_to: PlaceRef | None = None
    refusal_returns_to: PlaceRef | None = None
    refusal_notice: str | None = None


@dataclass
class CaseRules:
    """What the pinned policy pack says about this case's procedure and clocks: the workflow's
    steps come from here, never from branches on the region."""

    pack_id: str
    pack_ref: str
    stages: list[StageRule]
    categories: dict[str, str]  # code -> Chinese name (the categories an approval may record)
    supplement: SlaInput
    identification_deadline: SlaInput | None = None
    identification_deadline_source: str = ""
    # The case's jurisdiction and its ancestors, nearest first (escalations climb this chain).
    chain: list[PlaceRef] = field(default_factory=list)


@dataclass
class IdentificationInput:
    case_id: str
    applicant_name: str
    id_last4: str
    place: PlaceRef
    rules: CaseRules


@dataclass
class OpenTaskInput:
    task_id: str
    case_id: str
    workflow_id: str
    kind: str
    candidate_role: str
    jurisdiction_code: str
    jurisdiction_path: str
    policy_pack_id: str
    applicant_name: str
    id_last4: str
    opened_at: datetime
    sla: SlaInput
    priority: int = 0
    payload: dict[str, Any] = field(default_factory=dict)
    # The task's form: outcome -> required fields, and allowed values per field (the inbox and
    # the web page render it; the workflow's validator enforces it).
    outcomes: dict[str, list[str]] = field(default_factory=dict)
    choices: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class ClockInput:
    started_at: datetime
    sla: SlaInput


@dataclass
class Clock:
    """A running clock's instants, computed by an activity from the current holiday table."""

    started_at: datetime
    at_risk_at: datetime
    due_at: datetime
    deadline_at: datetime
    deadline_date: date
    provisional: bool


@dataclass
class OpenedTask:
    task_id: str
    at_risk_at: datetime
    due_at: datetime
    deadline_at: datetime
    provisional: bool


@dataclass
class CompleteTaskRequest:
    """An officer's decision on a task, delivered as a Temporal update (the update id is the
    request's Idempotency-Key, so a repeated request is applied once)."""

    task_id: str
    outcome: str
    actor_id: int
    actor_name: str
    actor_role: str
    actor_jurisdiction_path: str
    fields: dict[str, Any] = field(default_factory=dict)
    comment: str = ""


@dataclass
class CompleteTaskResult:
    task_id: str
    outcome: str
    case_status: str


@dataclass
class CloseTaskInput:
    task_id: str
    outcome: str
    completed_by: int | None
    completed_at: datetime
    fields: dict[str, Any] = field(default_factory=dict)
    comment: str = ""
    state: str = "completed"


@dataclass
class CaseUpdateInput:
    """A change to the case projection plus the timeline event that explains it."""

    case_id: str
    event_key: str
    at: datetime
    actor: str
    kind: str
    summary: str
    status: str | None = None
    stage: str | None = None
    category_code: str | None = None
    outcome_reason: str | None = None
    accepted: bool = False
    closed: bool = False
    identified: bool = False
    identified_by: str | None = None
    identifying_agency: str | None = None
    identification_deadline: date | None = None
    deadline_provisional: bool | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class SlaEventInput:
    """A clock event of a task or of the case: ``at_risk`` reminds, ``breached`` and
    ``past_deadline`` record a breach (once per key) and notify the supervisors of ``place``."""

    case_id: str
    key: str
    clock: str  # task:<kind> | identification_deadline
    event: str  # at_risk | breached | past_deadline
    at: datetime
    task_id: str | None = None
    place: PlaceRef | None = None
    escalation_task_id: str | None = None
    level: int = 0


@dataclass
class AssessInput:
    case_id: str
    on: datetime
    department_check: bool
    round: int = 1


@dataclass
class MissingItem:
    """Evidence still missing after department data and any written commitment were counted."""

    code: str
    name: str
    commitment_may_replace: bool


@dataclass
class AssessResult:
    eligible: bool
    categories_met: list[str]
    missing: list[MissingItem]
    commitment_can_stand_in: bool
    summary_zh: str
    findings: int = 0


@dataclass
class SupplementInput:
    case_id: str
    evidence: list[str]
    written_commitment: bool
    at: datetime


@dataclass
class NoticeInput:
    """A document served on the applicant (告知书/一次性告知单)."""

    case_id: str
    key: str
    kind: str  # missing_materials | refusal | not_accepted
    title: str
    at: datetime
    body: dict[str, Any] = field(default_factory=dict)


@dataclass
class ObjectionRequest:
    """An objection (异议) raised during publicity, recorded by an officer or submitted online."""

    content: str
    raised_by: str
    actor_id: int | None = None
    actor_name: str = "public"


@dataclass
class ObjectionResult:
    task_id: str


@dataclass
class WithdrawRequest:
    reason: str
    actor_id: int | None = None
    actor_name: str = "applicant"
