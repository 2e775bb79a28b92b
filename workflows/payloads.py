"""The workflows' own payloads: their inputs, the state they carry across continue-as-new and
their results (the activities' contracts are in :mod:`workflows.contracts`).

Why a module of their own: the Temporal sandbox re-executes a workflow's module for every new
workflow instance, so a dataclass defined there is a new class in each instance, built again
each time (the dataclass decorator compiles its methods), and nothing keyed by the class — the
data converter's pydantic ``TypeAdapter`` cache — ever sees it twice. This module holds plain
data and no workflow code; the workflow modules import it under
``workflow.unsafe.imports_passed_through()``, so every instance uses the worker's one copy of
each class. The JSON is the same wherever the class lives: recorded histories still replay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from workflows.contracts import (
    AssistanceRules,
    BatchInfo,
    ExitRecord,
    HouseholdMemberRef,
    HouseholdRules,
    PendingExit,
    PlaceRef,
    RulesMove,
    RulesRevisedNotice,
    SubsidyRecord,
    VerificationPeriod,
)
from workflows.human_task import HumanTasks

# --- AssistanceWorkflow (workflows/assistance.py) -------------------------------------------------


@dataclass
class AssistanceState:
    """All of an assistance's state, carried whole across continue-as-new."""

    started_at: datetime
    tasks: HumanTasks
    status: str = "active"  # active | exited
    plan: dict[str, Any] | None = None
    services: dict[str, int] = field(default_factory=dict)
    contacts: int = 0
    last_contact_at: datetime | None = None
    # The contact clock's anchor: the person's own last contact, the start, or a review's
    # decision to keep the status.
    contact_anchor: datetime | None = None
    reminded_for: datetime | None = None  # the anchor a contact reminder was opened for
    reviewed_for: datetime | None = None  # the anchor a cancellation review was opened for
    refusals: list[date] = field(default_factory=list)
    # Refusals already put to an exit review: a new review needs a new refusal.
    refusals_reviewed: int = 0
    visits_opened: int = 0
    visits: int = 0
    gap_task_opened: bool = False
    subsidies: list[SubsidyRecord] = field(default_factory=list)
    pending_exit: PendingExit | None = None
    exit: ExitRecord | None = None
    # Update ids already applied (Temporal dedupes update ids only within a run).
    processed_updates: list[str] = field(default_factory=list)
    handled_tasks: list[str] = field(default_factory=list)
    # Quarterly verification periods (YYYY-MM) whose task this person's officer completed
    # (workflows/verification.py): a repeat after continue-as-new is refused.
    verified_periods: list[str] = field(default_factory=list)
    runs: int = 1
    # Bumped by every snapshot: concurrent handlers' writes may land out of order, and the
    # projection keeps the highest.
    version: int = 0
    # A revision that moves the persons already identified, told and not applied yet (the run
    # applies it at its next turn), and the moves applied, oldest first.
    pending_revision: RulesRevisedNotice | None = None
    rule_moves: list[RulesMove] = field(default_factory=list)
    # The visit clock's base after a move changed its interval: the last visit due before the
    # move and the visits opened by then (None, 0: the start, as before any move).
    visits_from: datetime | None = None
    visits_before: int = 0


@dataclass
class AssistanceInput:
    case_id: str
    applicant_name: str
    id_last4: str
    rules: AssistanceRules
    identified_at: datetime
    # Subsidy months of earlier identifications of the same person (for a cumulative cap).
    prior_subsidy_months: int = 0
    # Continue as new past this many history events (Temporal also suggests it near 4 Ki).
    history_limit: int = 2000
    state: AssistanceState | None = None
    # A temporary assistance (山东 二(四)) ends when its emergency's period does
    # (``emergency_ended``, domain/target_groups.py); None for every other assistance.
    ends_at: datetime | None = None
    emergency_id: int | None = None
    # Started on a later revision's rules than the case's (see AssistanceSetup.moved).
    moved: RulesMove | None = None


@dataclass
class TransitionInput:
    """RevisionTransitionWorkflow (workflows/transition.py): the revision ``ref`` of
    ``pack_id`` in force from ``effective_on`` moves the persons already identified; ``after``
    and the counts are carried across continue-as-new."""

    pack_id: str
    ref: str
    effective_on: date
    after: str | None = None
    told: int = 0
    unreached: int = 0
    page_size: int = 500
    pages_per_run: int = 20


# --- HouseholdWorkflow (workflows/household.py) ---------------------------------------------------


@dataclass
class HouseholdState:
    tasks: HumanTasks
    status: str = "discovered"  # discovered | identified | cleared | not_zero_employment
    identified_at: datetime | None = None
    deadline_at: datetime | None = None
    overdue: bool = False
    cleared_at: datetime | None = None
    clearing_member_id: int | None = None
    processed_updates: list[str] = field(default_factory=list)
    # Members whose assistance was asked to review their exit, and those it could not reach.
    exit_reviews: list[str] = field(default_factory=list)
    unreached: list[str] = field(default_factory=list)


@dataclass
class HouseholdInput:
    household_id: int
    case_id: str
    head_name: str
    id_last4: str
    rules: HouseholdRules
    members: list[HouseholdMemberRef]
    # None: discovered, the street officer verifies it first.
    identified_at: datetime | None = None
    discovery: dict[str, Any] = field(default_factory=dict)


# --- VerificationBatchWorkflow (workflows/verification.py) ----------------------------------------


@dataclass
class BatchState:
    """Carried across continue-as-new."""

    info: BatchInfo
    phase: str = "creating"  # creating | at_risk | breached | finished
    after: str | None = None  # the people cursor (last case id)
    sla_after: str | None = None  # the task cursor of a clock pass
    pages: int = 0
    found: int = 0
    created: int = 0
    runs: int = 1


@dataclass
class VerificationBatchInput:
    district: PlaceRef
    pack_id: str
    period: VerificationPeriod
    # A page's tasks in one transaction and one opening in flight by default, the next page
    # read meanwhile: concurrent openings only queue for SQLite's single writer (and hold a
    # page of rows each in the worker's memory). 100,000 persons: 100 pages, 201 activities.
    page_size: int = 1000
    chunk_size: int = 1000
    concurrency: int = 1
    pages_per_run: int = 20
    state: BatchState | None = None


@dataclass
class BatchResult:
    batch_id: str
    found: int
    created: int
    pages: int
    runs: int
