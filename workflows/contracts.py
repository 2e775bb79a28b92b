"""Contracts between the API, the workflows and the activities: inputs, results, update payloads,
task kinds, id builders and error types. One dataclass per argument so that fields can be added
later without breaking running histories (new fields need defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class TaskKind(StrEnum):
    """Human task kinds (待办类型)."""

    SUPPLEMENT = "supplement"  # 补充材料
    INITIAL_REVIEW = "initial_review"  # 初审
    HOME_VISIT = "home_visit"  # 入户核实
    OBJECTION = "objection"  # 公示异议处理
    REVIEW = "review"  # 复核认定
    ESCALATION = "escalation"  # 督办


class Role(StrEnum):
    GRASSROOTS_OFFICER = "grassroots_officer"  # 街道/乡镇/社区经办人员
    COUNTY_REVIEWER = "county_reviewer"  # 县(区)公共就业服务机构审核人员
    SUPERVISOR = "supervisor"  # 区/市督导
    ADMIN = "admin"  # 系统管理员


class CaseStatus(StrEnum):
    SUBMITTED = "submitted"  # 已申请
    ACCEPTED = "accepted"  # 已受理
    UNDER_REVIEW = "under_review"  # 审核中
    IDENTIFIED = "identified"  # 已认定
    REFUSED = "refused"  # 不予认定
    WITHDRAWN = "withdrawn"  # 已撤回


# Error types carried by ApplicationError.type and mapped to problem+json `type` by the API.
ERR_TASK_UNKNOWN = "task-unknown"
ERR_TASK_CLOSED = "task-closed"
ERR_BAD_OUTCOME = "bad-outcome"
ERR_MISSING_FIELDS = "missing-fields"
ERR_ACTOR_NOT_ALLOWED = "actor-not-allowed"


def identification_workflow_id(case_id: str) -> str:
    """The workflow id is derived from the case number (the business key), never from personal
    data: workflow ids are stored and shown unencrypted."""
    return f"identification-{case_id}"


def task_id(workflow_id: str, kind: str, seq: int) -> str:
    """Deterministic, URL-safe task id: the same task opened twice (an activity retry, a replay)
    gets the same id, so the inbox upsert never makes a second row."""
    return f"{workflow_id}.{kind}.{seq}"


@dataclass
class IdentificationInput:
    case_id: str
    policy_pack_id: str
    jurisdiction_code: str
    jurisdiction_path: str
    applicant_name: str
    id_last4: str
    # The county/district office above the applicant's jurisdiction (复核认定 acts there).
    county_code: str
    county_path: str


@dataclass
class SlaInput:
    goal: int
    deadline: int
    unit: str = "working_days"


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
    detail: dict[str, Any] = field(default_factory=dict)
