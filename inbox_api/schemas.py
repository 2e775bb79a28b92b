"""Request and response bodies of the API (the OpenAPI contract). Full ID numbers never appear
in lists: tasks and case summaries carry the masked number only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

from domain.facts import ApplicantFacts


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class ApplicationIn(BaseModel):
    jurisdiction_code: str = Field(description="The applicant's street/township or community code")
    policy_id: str | None = Field(
        default=None, description="Optional: must match the region's pack"
    )
    facts: ApplicantFacts

    @model_validator(mode="after")
    def _name_and_id_required(self) -> ApplicationIn:
        # The eligibility engine accepts partial facts; an application must name the person.
        missing = [f for f in ("name", "id_number") if not getattr(self.facts.person, f)]
        if missing:
            raise ValueError(
                "an application needs facts.person." + " and facts.person.".join(missing)
            )
        return self


class ApplicationOut(BaseModel):
    case_id: str
    workflow_id: str
    policy_pack_id: str
    policy_pack_ref: str
    status: str


def mask_tail(last4: str) -> str:
    """A masked ID number built from its last four characters (lists never hold more)."""
    return "*" * 14 + last4


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


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None


class CompleteTaskIn(BaseModel):
    outcome: str = Field(min_length=1, max_length=40)
    fields: dict[str, Any] = Field(default_factory=dict)
    comment: str = Field(default="", max_length=2000)


class CompleteTaskOut(BaseModel):
    task_id: str
    outcome: str
    case_status: str


class HealthOut(BaseModel):
    status: str
    database: str
    temporal: str
