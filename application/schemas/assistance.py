"""Request and response schemas of assistance (``/api/v1/...``): one home for the API's routes
and the web pages, which check a form with the same model the API checks its body with."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from application.schemas.common import IsoDate, Note1000
from domain.policy.model import ServiceKind

# The pack model's service kinds (one list for the packs, the workflow and the API).
ServiceKindName = ServiceKind

ChannelName = Literal["phone", "visit", "came_in", "online"]

CODE = r"^[a-z][a-z0-9_]*$"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _plain(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


class QuotaOut(BaseModel):
    kind: str
    required: int
    delivered: int


class StandardOut(BaseModel):
    """A service standard of the pack: counts delivered against its quotas. ``applies`` when it
    has no condition or the plan chose it (jilin 四(二) 对具有市场就业能力的...)."""

    code: str
    name: str
    applies_to: str | None
    applies: bool
    met: bool
    quotas: list[QuotaOut]
    source: str


class ClocksOut(BaseModel):
    next_visit_at: datetime | None
    contact_anchor_at: datetime | None
    contact_reminder_at: datetime | None
    contact_limit_at: datetime | None
    standard_deadline_at: datetime | None
    service_gap_at: datetime | None
    refusals_in_window: int
    refusal_limit: int | None
    refusal_window_months: int


class SubsidyPeriodOut(BaseModel):
    months_this_identification: int
    months_before: int
    cap_months: int | None
    cumulative: bool


class EntryOut(BaseModel):
    id: str
    kind: Literal["contact", "service", "refusal"]
    channel: str | None
    own: bool | None
    service_kind: str | None
    note: str
    at: datetime
    recorded_by: str


class SubsidyOut(BaseModel):
    id: str
    kind: str
    start_month: date
    months: int
    monthly_amount: str
    granted_at: datetime
    granted_by: str


class ExitOut(BaseModel):
    reason_code: str
    reason_name: str
    mode: str
    may_reapply: bool
    fraud: bool
    exited_on: date
    decided_by: str
    detail: str
    source: str


class RecoveryLineOut(BaseModel):
    kind: str
    month: date
    amount: str


class RecoveryOut(BaseModel):
    """Subsidies to recover (潍坊 五(四)): from the month after the one in which the status
    should have ended, to the cancellation."""

    should_have_ended_on: date
    from_month: date
    cancelled_on: date
    total_amount: str
    lines: list[RecoveryLineOut]
    rule: str
    basis: str


class ExitReasonOut(BaseModel):
    code: str
    name: str
    mode: Literal["automatic", "manual"]
    trigger: str | None
    may_reapply: bool
    fraud: bool
    source: str


class AssistanceTaskOut(BaseModel):
    id: str
    kind: str
    kind_name: str
    due_at: datetime


class RuleMoveOut(BaseModel):
    """The assistance moved to a later revision's rules, where that revision said so
    ([transition] assistance = "move")."""

    from_ref: str
    to_ref: str
    document: str
    version: str
    clause: str = Field(description="The revision's clause that moves the persons identified")
    effective_on: date
    at: datetime | None = None


class AssistanceOut(BaseModel):
    case_id: str
    workflow_id: str
    status: Literal["active", "exited"]
    started_at: datetime
    policy_pack_ref: str = Field(description="The revision the case was decided under")
    assistance_pack_ref: str = Field(
        "",
        description="The revision whose assistance rules govern now: the case's, or a later "
        "one that moved the persons already identified (rule_moves)",
    )
    rule_moves: list[RuleMoveOut] = []
    # 山东 二: difficulty_person | rural_surplus_labour | low_income_graduate |
    # temporary_assistance (domain/target_groups.py); a temporary assistance ends at ends_at.
    target_group: str = "difficulty_person"
    ends_at: datetime | None = None
    plan: dict[str, Any] | None
    agreement: bool
    standards: list[StandardOut]
    services_delivered: dict[str, int]
    contact_count: int
    visit_count: int
    last_contact_at: datetime | None
    clocks: ClocksOut
    subsidy_period: SubsidyPeriodOut
    contacts: list[EntryOut]
    services: list[EntryOut]
    refusals: list[EntryOut]
    subsidies: list[SubsidyOut]
    exit: ExitOut | None
    recovery: RecoveryOut | None
    exit_reasons: list[ExitReasonOut]
    open_tasks: list[AssistanceTaskOut]


class RecordOut(BaseModel):
    """``id`` is the record's id (the Idempotency-Key when one was sent). ``handling``:
    ``recorded``; for an exit reason ``exiting`` (automatic: the status ends now) or
    ``exit_review`` (manual: ``task_id`` is the verification task); ``duplicate`` for a
    repeated exit event whose first answer was given by an earlier run of the workflow."""

    id: str
    handling: Literal["recorded", "exiting", "exit_review", "duplicate"]
    task_id: str | None = None


class ContactIn(BaseModel):
    """A contact with the person: ``own`` when the person made it (came in, called): only
    those reset the contact clock (潍坊 三(一)9 未主动...联系)."""

    model_config = ConfigDict(extra="forbid")

    channel: ChannelName
    own: bool
    note: Note1000 = ""

    _plain = field_validator("note")(_plain)


class ServiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ServiceKindName
    note: Note1000 = ""

    _plain = field_validator("note")(_plain)


class RefusalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_kind: ServiceKindName
    note: Note1000 = ""

    _plain = field_validator("note")(_plain)


class SubsidyIn(BaseModel):
    """A subsidy granted: ``kind`` (e.g. ``social_insurance``, ``public_welfare_post``),
    the first month (``YYYY-MM``), the number of months and the monthly amount in yuan."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=40, pattern=CODE)
    start_month: str = Field(pattern=r"^(19|20)\d\d-(0[1-9]|1[0-2])$")
    months: int = Field(ge=1, le=120)
    monthly_amount: Decimal = Field(ge=0, le=1_000_000, max_digits=9, decimal_places=2)


class ExitEventIn(BaseModel):
    """An exit reason of the pack (see ``exit_reasons`` in the GET): automatic reasons
    (employment registration, pension...) end the status at once; manual ones open a
    verification task. For a fraud reason, ``should_have_ended_on`` is the day the status
    should have ended (the recovery runs from the month after)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=60, pattern=CODE)
    detail: str = Field(default="", max_length=1000)
    should_have_ended_on: IsoDate | None = Field(
        default=None, ge=date(1990, 1, 1), le=date(2999, 12, 31)
    )

    _plain = field_validator("detail")(_plain)
