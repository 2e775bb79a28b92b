"""Contracts between the API, the workflows and the activities: inputs, results, update payloads,
task kinds, id builders and error types. One dataclass per argument so that fields can be added
later without breaking running histories (new fields need defaults)."""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from domain.eligibility import EligibilityDecision, pre_check_summary, still_missing
from domain.policy.model import ServiceKind
from domain.vocabulary import (  # the shared vocabulary, re-exported for the workflows' callers
    LEVELS as LEVELS,
    CaseStatus as CaseStatus,
    PlaceRef as PlaceRef,
    Role as Role,
    TaskKind as TaskKind,
    assistance_workflow_id as assistance_workflow_id,
    household_case_id as household_case_id,
    household_discovery_workflow_id as household_discovery_workflow_id,
    household_workflow_id as household_workflow_id,
    identification_workflow_id as identification_workflow_id,
    ledger_import_workflow_id as ledger_import_workflow_id,
    task_id as task_id,
    verification_batch_id as verification_batch_id,
    verification_task_id as verification_task_id,
)

# Error types carried by ApplicationError.type and mapped to problem+json `type` by the API.
ERR_TASK_UNKNOWN = "task-unknown"
ERR_TASK_CLOSED = "task-closed"
ERR_BAD_OUTCOME = "bad-outcome"
ERR_MISSING_FIELDS = "missing-fields"
ERR_ACTOR_NOT_ALLOWED = "actor-not-allowed"
ERR_BAD_FIELD = "bad-field"
ERR_NOT_IN_PUBLICITY = "not-in-publicity"
ERR_CASE_CLOSED = "case-closed"
ERR_NOT_IN_ASSISTANCE = "not-in-assistance"
ERR_SUBSIDY_CAP = "subsidy-cap-exceeded"
ERR_NOT_REEXAMINABLE = "not-reexaminable"


@dataclass
class SlaInput:
    goal: int
    deadline: int
    unit: str = "working_days"


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
    # The clause of the stage's refusal handling: a refusal's basis (依据). Empty in rules
    # made before it was carried (the stage's clause stands in).
    refusal_source: str = ""
    # The stage's id where its pack names one (a second review level: ``street_recheck``);
    # empty where the stage is known by its kind (every pack before #23).
    id: str = ""
    # A publicity of at least ``working_days`` (公示期不少于…): see domain/policy/model.py.
    minimum: bool = False

    @property
    def refusal_basis(self) -> str:
        return self.refusal_source or self.source

    @property
    def stage_id(self) -> str:
        """The stage's code on the timeline, the case row and its tasks: its id, else its
        kind."""
        return self.id or self.kind


@dataclass
class ReexaminationRule:
    """The applicant's request for re-examination after a refusal (复核申请), where the pack
    provides one, with its office resolved for this case: ``request_within`` working days to
    ask, then the office's task with ``sla``."""

    name: str
    request_within: int
    role: str
    place: PlaceRef
    sla: SlaInput
    source: str
    document: str = ""


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
    # The pack's own facts that a stage verifies (empty for the seeds; older histories too).
    own_facts: list[OwnFactRule] = field(default_factory=list)

    # None where the pack provides no re-examination (every pack before #23).
    reexamination: ReexaminationRule | None = None

    @property
    def asks_departments(self) -> bool:
        """The pack verifies through department data sharing (部门信息共享: a data_check
        stage): its pre-check asks the department source."""
        return any(s.kind == "data_check" for s in self.stages)


@dataclass
class OwnFactRule:
    """A fact the pinned pack declares for itself ([[facts]]) that officers verify: what the
    workflow needs to check a verified value (its type) and where (the stages)."""

    path: str
    type: str  # bool | int | float | date
    stages: list[str] = field(default_factory=list)


@dataclass
class IdentificationInput:
    case_id: str
    applicant_name: str
    id_last4: str
    place: PlaceRef
    rules: CaseRules
    # The first round's pre-check, made and recorded when the case was stored (#22); None when
    # it was not (department data from another system, a case started again by the sweep,
    # histories from before): the workflow's own assessment makes it.
    pre_check: AssessResult | None = None


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
    # The timeline entry that announces the task (进入初审 ...), written in the same transaction
    # as the opening (#22: one step instead of two). None: nothing to announce, or written on
    # its own before.
    announce: CaseUpdateInput | None = None
    # Entries the workflow held back to write with this opening, before ``announce`` (#22: a
    # stage's entries — 受理申请, 认定办结时限开始计算 — ride with the next task's opening
    # instead of taking a step each). Empty: none held, or written on their own before.
    carried: list[CaseUpdateInput] = field(default_factory=list)

    @property
    def entries(self) -> list[CaseUpdateInput]:
        """The timeline entries written with the opening, in their order."""
        return [*self.carried, *([self.announce] if self.announce is not None else [])]


@dataclass
class ClockInput:
    started_at: datetime
    sla: SlaInput


@dataclass
class Clock:
    """A running clock's instants, computed by an activity from the current holiday table
    (``compute_clock``, or the closing of the decision that starts it)."""

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
    # None: the applicant's own supplement online (no account; APPLICANT_ROLE).
    actor_id: int | None
    actor_name: str
    actor_role: str
    actor_jurisdiction_path: str
    fields: dict[str, Any] = field(default_factory=dict)
    comment: str = ""
    # Facts the officer verified on a decision task (#21): primary fact path -> value as JSON
    # (dates as YYYY-MM-DD), checked by the application against the task's form.
    verified_facts: dict[str, Any] = field(default_factory=dict)


# The actor role of the applicant handing in a supplement online (补充材料) after the
# one-time notice: the application has checked the notice's supplement code, and the workflow
# lets this role do nothing but complete a supplement task as ``supplied`` (HumanTasks.validate).
APPLICANT_ROLE = "applicant"
APPLICANT_OUTCOMES = {"supplement": ("supplied",)}


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
    # The update (its id is the API request's Idempotency-Key) that took the decision: kept
    # with the task, so a retry whose answer was lost can tell that its decision was taken.
    update_id: str | None = None
    # The decision's timeline entry, written in the same transaction as the closing (#22: one
    # step instead of two on the officer's path). None: the caller records it on its own.
    decision: CaseUpdateInput | None = None
    # The clock the decision starts (an acceptance the case's deadline, an approval the
    # publicity), computed by the closing from the holiday table and returned (#22: not a
    # local step of its own after it). None: the decision starts none.
    starts_clock: ClockInput | None = None


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
    # The timeline key of a re-run (after facts were verified); "" for the intake's rounds.
    key: str = ""


@dataclass
class VerifiedFactsInput:
    """Facts an officer verified on a task, recorded into the case's facts with who and when."""

    case_id: str
    task_id: str
    task_kind: str
    facts: dict[str, Any]
    actor_id: int | None
    actor_name: str
    at: datetime


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
    # The day it was made on (None in histories from before #22's pre-check at submission).
    on: date | None = None

    @classmethod
    def of(cls, decision: EligibilityDecision, findings: int) -> AssessResult:
        """What the workflow is told of a pre-check that saw ``findings`` department
        findings."""
        return cls(
            on=decision.on,
            eligible=decision.eligible,
            categories_met=[f.rule for f in decision.categories_met],
            missing=[
                MissingItem(m.code, m.name, m.written_commitment_may_replace)
                for m in still_missing(decision)
            ],
            commitment_can_stand_in=decision.written_commitment_can_stand_in,
            summary_zh=pre_check_summary(decision),
            findings=findings,
        )


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
class ReexaminationRequest:
    """The applicant's request for re-examination (复核申请) after a refusal, recorded by an
    officer: what the applicant asks to be examined again."""

    content: str
    actor_id: int | None = None
    actor_name: str = "applicant"


@dataclass
class ReexaminationResult:
    task_id: str


@dataclass
class WithdrawRequest:
    reason: str
    actor_id: int | None = None
    actor_name: str = "applicant"


# --- assistance (就业援助 / 动态管理) ----------------------------------------------------------

# Ways a contact happens (联系方式): a phone call, a visit, the person coming in, online.
CONTACT_CHANNELS = ("phone", "visit", "came_in", "online")
# Service kinds an officer records (援助服务): the pack model's ServiceKind.
SERVICE_KINDS: tuple[str, ...] = typing.get_args(ServiceKind)


@dataclass
class StandardRule:
    """A service standard of the pack with its quotas (kind -> count)."""

    code: str
    name: str
    kind: str
    quotas: dict[str, int] = field(default_factory=dict)
    applies_to: str | None = None
    agreement: bool = False
    source: str = ""


@dataclass
class ExitRule:
    """An exit reason (退出/注销情形) of the pack as the workflow applies it."""

    code: str
    name: str
    mode: str  # automatic | manual
    trigger: str | None
    clock: str | None
    may_reapply: bool
    basis_specific: list[str] = field(default_factory=list)
    fraud: bool = False
    source: str = ""


@dataclass
class AssistanceRules:
    """What the pinned pack says about this person's assistance, computed once at the start
    (like ``CaseRules``): a later change of pack never rewrites a running assistance."""

    pack_id: str
    pack_ref: str
    category_code: str | None
    standards: list[StandardRule]
    exit_reasons: list[ExitRule]
    plan_sla: SlaInput
    task_sla: SlaInput
    visit_interval_months: int | None
    contact_limit_months: int | None
    contact_reminder_lead_months: int
    refusal_limit_count: int | None
    refusal_window_months: int
    standard_deadline_months: int
    service_gap_lead_months: int
    subsidy_cap_months: int | None
    subsidy_cap_cumulative: bool
    reidentification_cooldown_months: int | None
    fraud_recover_from: str  # month_after_due_exit | unspecified
    fraud_source: str = ""
    # The plan is an agreement with the person (山东 五(四) 援助协议) where a standard says so.
    agreement: bool = False
    # The officer's place (the case's street) and the county that reviews exits, and the
    # chain above them for escalations.
    officer_place: PlaceRef | None = None
    officer_role: str = "grassroots_officer"
    county_place: PlaceRef | None = None
    chain: list[PlaceRef] = field(default_factory=list)
    # Shandong's target group (山东 二; domain/target_groups.py): the standards naming another
    # group are left out, those naming this one apply without being chosen in the plan.
    target_group: str = "difficulty_person"


@dataclass
class SubsidyRecord:
    id: str
    kind: str
    start_month: date
    months: int
    monthly_fen: int


@dataclass
class ExitRecord:
    code: str
    name: str
    at: datetime
    decided_by: str
    may_reapply: bool
    fraud: bool = False
    recovery_fen: int | None = None


@dataclass
class PendingExit:
    """An exit decided (an automatic event, or a review confirmed) that the run applies."""

    code: str
    decided_by: str
    detail: str = ""
    should_have_ended_on: date | None = None


@dataclass
class AssistanceStartInput:
    """What the identification workflow knows when it concludes "identified"."""

    case_id: str
    category_code: str | None
    identified_at: datetime
    place: PlaceRef
    chain: list[PlaceRef]
    # 山东 二: an enrolled member of another target group has no category (domain/target_groups).
    target_group: str = "difficulty_person"


@dataclass
class AssistanceSetup:
    """What the assistance's input is made of, read from the case and its pinned pack."""

    case_id: str
    applicant_name: str
    id_last4: str
    rules: AssistanceRules
    prior_subsidy_months: int
    history_limit: int
    # The person starts on a later revision's rules than the one the case was decided under
    # (that revision moved the persons already identified: ``[transition]``).
    moved: RulesMove | None = None


@dataclass
class RulesMove:
    """A person's assistance moved to a revision's rules (``[transition] assistance = "move"``):
    from which revision to which, the document and clause that say so, from which day."""

    from_ref: str
    to_ref: str
    document: str  # the revision's document: number and title
    version: str
    clause: str  # the [transition]'s citation
    effective_on: date
    at: datetime | None = None  # when the assistance took the rules


@dataclass
class RulesRevisedNotice:
    """Signal ``assistance_rules_revised``: the revision ``ref`` of the person's pack, in
    force from ``effective_on``, moves the persons already identified to its assistance
    rules (sent by :class:`workflows.transition.RevisionTransitionWorkflow`)."""

    ref: str
    effective_on: date


@dataclass
class RevisedRulesInput:
    """The assistance's rules now (the person's place, chain, category and target group) and
    the revision whose assistance rules replace them."""

    case_id: str
    rules: AssistanceRules
    ref: str
    effective_on: date


@dataclass
class RevisedRules:
    """The revision's assistance rules for this person, and the move to record."""

    rules: AssistanceRules
    move: RulesMove


@dataclass
class TransitionPageInput:
    """A page of the running assistances a revision moves: those of the pack ``pack_id``
    whose rules the revision ``ref`` now governs and that do not follow it yet, by case id
    after ``after``."""

    pack_id: str
    ref: str
    effective_on: date
    after: str | None = None
    limit: int = 500


@dataclass
class TransitionPage:
    workflow_ids: list[str]
    after: str | None
    more: bool


@dataclass
class TransitionDone:
    pack_id: str
    ref: str
    effective_on: date
    told: int
    unreached: int


@dataclass
class ContactRequest:
    channel: str
    own: bool
    note: str = ""
    actor_id: int | None = None
    actor_name: str = "system"


@dataclass
class ServiceRequest:
    kind: str
    note: str = ""
    actor_id: int | None = None
    actor_name: str = "system"


@dataclass
class RefusalRequest:
    service_kind: str
    note: str = ""
    actor_id: int | None = None
    actor_name: str = "system"


@dataclass
class SubsidyRequest:
    kind: str
    start_month: date
    months: int
    monthly_fen: int
    actor_id: int | None = None
    actor_name: str = "system"


@dataclass
class ExitEventRequest:
    """An exit reason reported for the person: an automatic reason (employment registration,
    pension ...) exits at once; a manual one opens a verification task."""

    reason: str
    detail: str = ""
    should_have_ended_on: date | None = None
    actor_id: int | None = None
    actor_name: str = "system"


@dataclass
class RecordResult:
    id: str
    handling: str = "recorded"  # recorded | exiting | exit_review
    task_id: str | None = None


@dataclass
class AssistanceRecordInput:
    """One write of the assistance ledger (idempotent by ``key``): an entry (contact, service,
    refusal), a subsidy, an exit with its recovery, and the projection's snapshot."""

    case_id: str
    workflow_id: str
    at: datetime
    key: str | None = None
    entry: dict[str, Any] | None = None
    subsidy: SubsidyRecord | None = None
    exit: dict[str, Any] | None = None
    recovery: dict[str, Any] | None = None
    snapshot: dict[str, Any] | None = None
    actor_id: int | None = None
    actor_name: str = "system"


# --- quarterly verification (定期审验, workflows/verification.py) ------------------------------

# How a township verified the person (清新 三(三)2: 通过电话、走访、相关业务系统信息比对).
VERIFICATION_METHODS = ("phone", "visit", "data")


@dataclass
class VerificationPeriod:
    """A verification period of the pack (清新 三(三)2): lists at the start of the quarter's
    first month, results due by its end."""

    label: str  # YYYY-MM, the first month
    starts_on: date
    due_on: date  # the last day of the first month


@dataclass
class VerificationRegionInput:
    """What the quarterly Schedule starts: the pack region whose districts are verified."""

    region_code: str
    pack_id: str
    # Leave unset for a scheduled run (the period containing the run's start); set to verify
    # another period (``YYYY-MM``).
    period: str | None = None


@dataclass
class PlanInput:
    region_code: str
    pack_id: str
    at: datetime
    period: str | None = None


def verification_reasons(reasons: list[Any]) -> list[str]:
    """The exit reasons a verification may propose (the pack's manual reasons verified by the
    office, ``trigger = "verification"``; all manual ones where none says so). The inbox form
    and the assistance workflow's validator both use this, from the same pinned pack."""
    manual = [r for r in reasons if r.mode == "manual"]
    by_verification = [r.code for r in manual if r.trigger == "verification"]
    return by_verification or [r.code for r in manual]


def verification_form(reasons: list[str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The verification task's form: outcome -> required fields, and allowed values."""
    outcomes = {"verified": ["method"], "exit_review": ["reason"]}
    choices = {"method": list(VERIFICATION_METHODS), "reason": reasons}
    return outcomes, choices


@dataclass
class VerificationPlan:
    period: VerificationPeriod
    districts: list[PlaceRef]


@dataclass
class BeginBatchInput:
    batch_id: str
    district: PlaceRef
    pack_id: str
    period: VerificationPeriod
    workflow_id: str
    at: datetime


@dataclass
class BatchInfo:
    """The batch as its workflow needs it: when the tasks fall due and when to remind."""

    batch_id: str
    opened_at: datetime
    at_risk_at: datetime
    due_at: datetime


@dataclass
class PeopleInput:
    batch_id: str
    district_path: str
    after: str | None
    limit: int


@dataclass
class PeoplePage:
    """A keyset page of the active persons of a district: case ids only (no personal data
    in the history), and the cursor of the next page (None after the last)."""

    case_ids: list[str]
    next_after: str | None


@dataclass
class OpenVerificationInput:
    batch_id: str
    case_ids: list[str]
    at: datetime


@dataclass
class SlaPageInput:
    """Mark a page of the batch's open tasks ``at_risk`` or ``breached`` (keyset on task id)."""

    batch_id: str
    event: str  # at_risk | breached
    at: datetime
    after: str | None
    limit: int


@dataclass
class SlaPageResult:
    marked: int
    next_after: str | None


@dataclass
class BatchEventInput:
    batch_id: str
    event: str  # created | at_risk | breached | finished
    at: datetime
    created: int = 0
    found: int = 0


# --- ledger import (台账导入), workflows/ledger_import.py --------------------------------------


@dataclass
class LedgerPersonStart:
    """A person an imported ledger made a case of, and what their assistance starts from: the
    input the identification would have given (``setup``) and the ledger's history."""

    case_id: str
    setup: AssistanceSetup
    identified_at: datetime
    intentions: str
    planned: list[str]
    services: dict[str, int]
    contacts: int
    last_own_contact_at: datetime | None
    # An enrolment (山东 二(二)–(四)): no history, the assistance starts as after an
    # identification; a temporary assistance ends with its emergency (``ends_at``).
    enrolled: bool = False
    ends_at: datetime | None = None
    emergency_id: int | None = None


@dataclass
class LedgerPageInput:
    import_id: int
    after: str | None
    limit: int


@dataclass
class LedgerPage:
    people: list[LedgerPersonStart]


@dataclass
class LedgerProgressInput:
    import_id: int
    case_ids: list[str]
    done: bool
    at: datetime


@dataclass
class LedgerImportInput:
    import_id: int
    batch_size: int = 50
    # The last case of the pages already started (continue-as-new carries it).
    after: str | None = None
    started: int = 0


# --- zero-employment households (零就业家庭, workflows/household.py) ---------------------------

# How the member found work (山东 三(三)2, 新余 第五条(三)3: 鼓励企业吸纳、支持灵活就业、
# 公益性岗位安置; self-employment 就业创业, 潍坊 三(一)10).
EMPLOYMENT_WAYS = (
    "enterprise_absorption",
    "flexible_employment",
    "public_welfare_post",
    "self_employment",
    "other",
)
# The measures a household plan (就业援助预案) may choose.
HOUSEHOLD_MEASURES = (
    "enterprise_absorption",
    "flexible_employment",
    "public_welfare_post",
    "job_recommendation",
    "training",
    "startup_service",
)


@dataclass
class HouseholdMemberRef:
    """A member as the household workflow sees it: row id, the last four of the ID number
    (for the forms), the member's own case and its identification category."""

    member_id: int
    id_last4: str
    case_id: str | None = None
    category_code: str | None = None


@dataclass
class HouseholdRules:
    """What the pinned pack says about this household, computed once when it starts."""

    pack_id: str
    pack_ref: str
    definition: str
    definition_name: str
    definition_source: str
    # The one-month clock (goal = deadline = the pack's zero_employment_household_deadline).
    deadline: SlaInput | None
    deadline_source: str
    plan_sla: SlaInput
    task_sla: SlaInput
    # Members identified under these categories are on the household basis (xinyu 第一条(二),
    # weifang ②③): clearing sends them to exit review for ``exit_reason``.
    basis_categories: list[str] = field(default_factory=list)
    exit_reason: str | None = None
    place: PlaceRef | None = None
    chain: list[PlaceRef] = field(default_factory=list)


@dataclass
class HouseholdSetup:
    """The household workflow's input as the store has it (``household_input`` activity)."""

    household_id: int
    case_id: str
    head_name: str
    id_last4: str
    rules: HouseholdRules
    members: list[HouseholdMemberRef]
    identified_at: datetime | None = None
    discovery: dict[str, Any] = field(default_factory=dict)
    # The row's workflow id (``household-<id>-<random>``); empty: household_workflow_id(id).
    workflow_id: str = ""


@dataclass
class MemberEmployedRequest:
    """A member recorded as employed: the household is cleared (an update; its id is the
    request's Idempotency-Key)."""

    member_id: int
    how: str
    employed_on: date | None = None
    note: str = ""
    actor_id: int | None = None
    actor_name: str = "system"


@dataclass
class HouseholdClearedNotice:
    """Sent by a cleared household to a member's assistance (a signal): open an exit review
    for ``reason`` (xinyu 第三条(一)2, weifang 三(一)10). ``key`` makes it apply once."""

    household_id: int
    key: str
    reason: str
    detail: str = ""
    actor_name: str = "system"


@dataclass
class HouseholdResult:
    household_id: int
    status: str
    cleared_at: datetime | None = None
    within_deadline: bool | None = None


@dataclass
class HouseholdDiscoveryInput:
    """Discovery (主动发现, 清新 三(一) 主动筛查, 山东 五(二)) over the imported lists, for the
    places under ``region_code``. ``at`` unset: the workflow's start."""

    region_code: str
    at: datetime | None = None


@dataclass
class DiscoverInput:
    region_code: str
    at: datetime


@dataclass
class DiscoveryResult:
    """Households made by this run, and those an earlier run made whose workflow may not have
    started (a run that failed between the two steps)."""

    household_ids: list[int]
    candidates: int = 0
    skipped_open: int = 0
