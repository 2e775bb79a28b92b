"""What follows a completed task (后续进展) and the cases an officer handled that wait on
someone else or on a clock (我经办的案件): the API's completion answer carries a
:class:`NextStepOut`, and ``/api/v1/tasks/handled`` lists :class:`HandledCaseOut`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

# task: someone has the next task; clock: the case waits on a clock (the publicity); closed:
# the procedure concluded (identified, refused, not accepted, withdrawn, exited); none: the
# case goes on with nothing open (an assistance between its visits); pending: the next step
# was not recorded yet when the answer was written (ask the case again shortly).
NextState = Literal["task", "clock", "closed", "none", "pending"]


class NextTaskOut(BaseModel):
    task_id: str
    kind: str
    candidate_role: str
    jurisdiction_code: str
    jurisdiction_name: str
    assignee_name: str | None = None
    # officer: an officer acts on it; applicant: it waits on the applicant (补正材料)
    waiting_on: Literal["officer", "applicant"] = "officer"
    due_at: datetime


class ClockOut(BaseModel):
    kind: Literal["publicity"] = "publicity"
    # The end of the last day of the period (that day's end, i.e. the next day's 00:00).
    ends_at: datetime


class NextStepOut(BaseModel):
    state: NextState
    case_id: str
    case_url: str = Field(description="the case in the API: /api/v1/cases/{case_id}")
    case_page: str = Field(description="the case's page: /cases/{case_id}")
    case_status: str
    stage: str | None = None
    tasks: list[NextTaskOut] = Field(default_factory=list)
    clock: ClockOut | None = None


class HandledCaseOut(BaseModel):
    case_id: str
    applicant_name: str
    id_number_masked: str
    policy_pack_id: str
    category_code: str | None
    last_handled_at: datetime
    next: NextStepOut
