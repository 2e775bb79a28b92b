"""What the task and case pages show beyond the API's task and case services, built from the
same services: the case detail as ``GET /api/v1/cases/{id}`` assembles it (audited full view,
timeline, deadlines with SLA states, open tasks, notices), the evidence an officer weighs at a
decision (the applicant's facts, the eligibility pre-check's findings, the department data),
the pinned pack for category and material names, and the case search narrowed to a place.

Nothing here decides anything: scoping, auditing and the workflow calls stay in
:mod:`application.services.cases` and :mod:`application.services.tasks`."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from application.actor import Actor
from application.errors import not_found
from application.services import (
    cases as case_service,
    pre_check as pre_check_service,
    tasks as task_service,
)
from domain.case_clock import CasePosition
from domain.facts import CHOICE_NAMES, DataFinding, fact_catalogue, stated_facts, stored_fact
from domain.ids import mask_id_number, mask_phone
from domain.labels import labels
from domain.policy.model import PolicyPack
from domain.precheck import PreCheckExplanation
from domain.vocabulary import LEVELS
from store import admin_repo, repos, tasks_repo, web_cases_repo
from store.models import Case, CaseEvent, Notice, Task
from store.models_inbox import TaskComment
from store.packs import packs_in_force, pinned_pack
from store.settings import Settings
from web.i18n import gettext

# Task kinds whose officer decides on the application itself: their page shows the facts,
# the pre-check and the department data beside the form.
DECISION_KINDS = frozenset(
    {"acceptance", "initial_review", "home_visit", "review", "immediate_conclusion"}
)
# The pre-check's lines about conditions (the rest are about materials).
CONDITION_LINES = ("base_condition", "exclusion", "category", "requested_category")
MATERIAL_LINES = ("evidence", "data_sharing")
# How each line outcome reads at a glance: met, not met, or to verify by the officer.
LINE_STATE = {
    "met": "met",
    "not_hit": "met",
    "provided": "met",
    "by_data_sharing": "met",
    "by_commitment": "met",
    "not_required": "met",
    "eligible": "met",
    "not_met": "not_met",
    "hit": "not_met",
    "missing": "not_met",
    "conflict": "not_met",
    "not_eligible": "not_met",
    "unknown": "verify",
    "check": "verify",
    "not_applicable": "na",
}
SEARCH_PLACES_LIMIT = 300


@dataclass(frozen=True)
class Named:
    """Anything the pages' ``|label`` filter shows: a Chinese name and an English one."""

    name: str
    name_en: str = ""


def named(kind: str) -> dict[str, Named]:
    """A kind of the domain's codes (domain/labels.py) as the ``choice_label`` macro reads it,
    in the reader's language."""
    return {code: Named(gettext(zh)) for code, zh in labels(kind).items()}


def category_names(pack: PolicyPack | None) -> dict[str, Named]:
    if pack is None:
        return {}
    return {c.code: Named(c.name, c.name_en) for c in pack.categories}


def evidence_names(pack: PolicyPack | None) -> dict[str, Named]:
    if pack is None:
        return {}
    return {e.code: Named(e.name, e.name_en) for e in pack.evidence}


# --- the evidence beside a decision -----------------------------------------------------


@dataclass(frozen=True)
class FactRow:
    label: Named
    value: Any


@dataclass(frozen=True)
class FindingRow:
    source: str
    label: Named
    value: Any
    checked_on: str


@dataclass(frozen=True)
class ReviewEvidence:
    """The applicant's facts (ID number and telephone masked), the pre-check (``eligible``
    None when it has not run) explained for officers (``explanation``; None when the stored
    facts no longer read, and the stored lines show instead), and the department data
    findings of the latest pre-check."""

    facts: list[FactRow]
    evidence: list[Named]
    written_commitment: bool
    requested_category: Named | None
    eligible: bool | None
    summary: dict[str, Any] | None
    conditions: list[dict[str, Any]]
    materials: list[dict[str, Any]]
    findings: list[FindingRow]
    explanation: PreCheckExplanation | None = None


def _fact_label(path: str) -> Named:
    spec = fact_catalogue().get(path)
    return Named(spec.label_zh, spec.label_en) if spec else Named(path)


def _lines(pre_check: dict[str, Any] | None, kinds: Sequence[str]) -> list[dict[str, Any]]:
    lines = pre_check.get("lines", []) if pre_check else []
    return [
        {**line, "state": LINE_STATE.get(str(line.get("outcome")), "verify")}
        for line in lines
        if isinstance(line, dict) and line.get("kind") in kinds
    ]


def review_evidence(
    case: Case, events: Sequence[CaseEvent], pack: PolicyPack | None
) -> ReviewEvidence:
    """What the applicant stated and handed in, and what the pre-check made of it; the
    pack's own facts ([[facts]]) among the stated ones, under their names."""
    with pack.fact_scope() if pack is not None else nullcontext():
        return _review_evidence(case, events, pack)


def _review_evidence(
    case: Case, events: Sequence[CaseEvent], pack: PolicyPack | None
) -> ReviewEvidence:
    facts = case.facts if isinstance(case.facts, dict) else {}
    rows: list[FactRow] = []
    for path, spec in stated_facts().items():
        value = stored_fact(facts, path)
        if value is None or value == "":
            continue
        # The full ID number and telephone only where the case page audits a full view.
        if path == "person.id_number":
            value = mask_id_number(str(value))
        elif path == "person.phone":
            value = mask_phone(str(value))
        elif spec.choices and value in CHOICE_NAMES:
            value = Named(*CHOICE_NAMES[value])
        rows.append(FactRow(Named(spec.label_zh, spec.label_en), value))
    materials = evidence_names(pack)
    handed_in = [materials.get(code, Named(code)) for code in facts.get("evidence", [])]
    requested = facts.get("requested_category")
    findings: list[FindingRow] = []
    checks = [e for e in events if e.kind == "pre_check"]
    if checks and checks[-1].after:
        for f in checks[-1].after.get("department_findings", []):
            if isinstance(f, dict):
                findings.append(
                    FindingRow(
                        source=str(f.get("source", "")),
                        label=_fact_label(str(f.get("fact", ""))),
                        value=f.get("value"),
                        checked_on=str(f.get("checked_on", "")),
                    )
                )
    pre_check = case.pre_check if isinstance(case.pre_check, dict) else None
    summary = next(iter(_lines(pre_check, ("summary",))), None)
    return ReviewEvidence(
        facts=rows,
        evidence=handed_in,
        written_commitment=bool(facts.get("written_commitment")),
        requested_category=(
            category_names(pack).get(requested, Named(requested)) if requested else None
        ),
        eligible=bool(pre_check.get("eligible")) if pre_check else None,
        summary=summary,
        conditions=_lines(pre_check, CONDITION_LINES),
        materials=_lines(pre_check, MATERIAL_LINES),
        findings=findings,
        explanation=pre_check_service.explanation_of(case, pack, events),
    )


# --- the task page ------------------------------------------------------------------------


@dataclass
class TaskView:
    """A task as its page shows it. ``can_complete``: open, the caller is in its group and
    nobody else holds it (the workflow checks all of this again)."""

    task: Task
    case: Case | None
    pack: PolicyPack | None
    assignee_name: str | None
    completed_by_name: str | None
    comments: list[tuple[TaskComment, str]]
    in_group: bool
    can_complete: bool
    can_claim: bool
    can_release: bool
    evidence: ReviewEvidence | None = None
    categories: dict[str, Named] = field(default_factory=dict)
    materials: dict[str, Named] = field(default_factory=dict)
    # Evidence code -> the department finding that stood in for its paper (weifang 二(一)).
    papers_replaced: dict[str, DataFinding] = field(default_factory=dict)


async def task_view(session: AsyncSession, actor: Actor, task_id: str) -> TaskView:
    """The task (404 outside the caller's subtree), its case when the caller may see it,
    who holds or completed it, and its comments."""
    task = await task_service.get_task(session, actor, task_id)
    case = await repos.case_in_scope(session, task.case_id, actor.jurisdiction_path)
    pinned = await pinned_pack(session, case) if case is not None else None
    pack = pinned or (await packs_in_force(session)).find(task.policy_pack_id)
    names = await tasks_repo.display_names(session, (task.assignee_id, task.completed_by))
    is_open = task.state == tasks_repo.OPEN
    in_group = tasks_repo.in_group(actor.role, actor.jurisdiction_path, task)
    free_or_mine = task.assignee_id in (None, actor.id)
    evidence = None
    replaced: dict[str, DataFinding] = {}
    if case is not None and (task.kind in DECISION_KINDS or isinstance(case.pre_check, dict)):
        # One read of the events and one explanation for both the review evidence and the
        # papers a department finding replaced (from the pinned pack only, as the case page).
        events = await repos.case_events(session, case.id)
        if task.kind in DECISION_KINDS:
            evidence = review_evidence(case, events, pack)
        if pinned is not None and isinstance(case.pre_check, dict):
            explained = evidence.explanation if evidence is not None else None
            replaced = pre_check_service.papers_replaced_of(case, pinned, events, explained)
    return TaskView(
        task=task,
        case=case,
        pack=pack,
        assignee_name=names.get(task.assignee_id) if task.assignee_id else None,
        completed_by_name=names.get(task.completed_by) if task.completed_by else None,
        comments=await task_service.comments(session, actor, task_id),
        in_group=in_group,
        can_complete=is_open and in_group and free_or_mine,
        can_claim=is_open and in_group and task.assignee_id is None,
        can_release=is_open
        and task.assignee_id is not None
        and (task.assignee_id == actor.id or task_service.is_supervisor(actor)),
        evidence=evidence,
        papers_replaced=replaced,
        categories=category_names(pack),
        materials=evidence_names(pack),
    )


# --- the case page ------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenTaskRow:
    task: Task
    assignee_name: str | None
    sla_state: str


@dataclass(frozen=True)
class TimelineRow:
    """A timeline event; a decision on a task also carries the task's kind, its outcome and
    the fields the officer filled in (for the page to name them in the reader's language)."""

    at: datetime
    actor: str
    kind: str
    summary: str
    task_kind: str | None = None
    outcome: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class CaseDetail:
    case: Case
    place_name: str
    pack: PolicyPack | None
    timeline: list[TimelineRow]
    notices: Sequence[Notice]
    open_tasks: list[OpenTaskRow]
    deadline_at: datetime | None
    overdue: bool
    workflow_url: str
    categories: dict[str, Named]
    materials: dict[str, Named]
    # Where the case is now: its stage, what it waits on, its clock and the stage map.
    position: CasePosition | None = None
    pre_check: PreCheckExplanation | None = None


def _timeline_row(e: CaseEvent) -> TimelineRow:
    after = e.after or {}
    task_id = after.get("task_id")
    if e.kind == "task_completed" and isinstance(task_id, str) and task_id.count(".") >= 2:
        kind = task_id.rsplit(".", 2)[1]  # ids are <workflow>.<kind>.<seq>
        fields = after.get("fields")
        return TimelineRow(
            e.at,
            e.actor,
            e.kind,
            e.summary,
            task_kind=kind,
            outcome=str(after.get("outcome", "")),
            fields=fields if isinstance(fields, dict) else {},
        )
    return TimelineRow(e.at, e.actor, e.kind, e.summary)


async def case_detail(
    session: AsyncSession, actor: Actor, settings: Settings, case_id: str, now: datetime
) -> CaseDetail:
    """The case as the API's detail view gives it (404 outside the caller's subtree); the
    view shows the full ID number, so it is written to the audit log."""
    case = await case_service.case_for(session, actor, case_id)
    await case_service.audit_full_view(session, actor, case)
    events = await repos.case_events(session, case.id)
    tasks = await case_service.open_tasks(session, case)
    place = await repos.get_jurisdiction(session, case.jurisdiction_code)
    pack = await pinned_pack(session, case)
    return CaseDetail(
        case=case,
        place_name=place.name if place else case.jurisdiction_code,
        pack=pack,
        timeline=[_timeline_row(e) for e in events],
        notices=await repos.case_notices(session, case.id),
        open_tasks=[OpenTaskRow(t, name, case_service.task_sla_state(t, now)) for t, name in tasks],
        deadline_at=case_service.identification_deadline_at(case),
        overdue=case_service.identification_overdue(case, now),
        workflow_url=case_service.workflow_url(settings, case),
        categories=category_names(pack),
        materials=evidence_names(pack),
        position=await case_service.position(
            session, case, now, events=events, tasks=[t for t, _ in tasks]
        ),
        pre_check=pre_check_service.explanation_of(case, pack, events),
    )


# --- the case search ----------------------------------------------------------------------


@dataclass(frozen=True)
class SearchOptions:
    """What the search form offers: the caller's place and up to two levels below it, and
    the categories of the packs that apply there."""

    places: Sequence[Any]
    packs: list[PolicyPack]


async def search_options(session: AsyncSession, actor: Actor) -> SearchOptions:
    own = await repos.get_jurisdiction(session, actor.jurisdiction_code)
    index = LEVELS.index(own.level) if own is not None and own.level in LEVELS else 2
    levels = LEVELS[max(0, index - 2) : index + 1]
    places = await web_cases_repo.places_at_levels(
        session, actor.jurisdiction_path, levels, SEARCH_PLACES_LIMIT
    )
    pack_ids = set(await web_cases_repo.packs_in_subtree(session, actor.jurisdiction_path))
    if own is not None:
        # The pack applying here may be set on an ancestor (a city's pack for its streets).
        with contextlib.suppress(repos.NoPolicyPack):
            pack_ids.add(await repos.pack_id_at(session, own))
    in_force = await packs_in_force(session)
    packs = [p for p in (in_force.find(i) for i in sorted(pack_ids)) if p and p.categories]
    return SearchOptions(places=places, packs=packs)


@dataclass(frozen=True)
class SearchResult:
    rows: list[Case]
    next_cursor: str | None
    place_names: dict[str, str]
    categories: dict[tuple[str, str], Named]


async def search(
    session: AsyncSession,
    actor: Actor,
    params: case_service.CaseSearch,
    place_code: str | None,
    now: datetime,
) -> SearchResult:
    """:func:`application.services.cases.search` (masked list, audited ID-number lookups),
    narrowed to ``place_code`` when given — a place inside the caller's subtree, else 404."""
    scope = actor
    if place_code:
        place = await admin_repo.jurisdiction_in_scope(session, place_code, actor.jurisdiction_path)
        if place is None:
            raise not_found("place", place_code)
        # The same caller (the audit names them), searching a smaller subtree.
        scope = dataclasses.replace(actor, jurisdiction_path=place.path)
    rows, next_cursor = await case_service.search(session, scope, params, now)
    names = await web_cases_repo.place_names(session, (c.jurisdiction_code for c in rows))
    categories: dict[tuple[str, str], Named] = {}
    packs = await packs_in_force(session)
    for c in rows:
        if c.category_code and (c.policy_pack_id, c.category_code) not in categories:
            found = category_names(packs.find(c.policy_pack_id)).get(c.category_code)
            categories[(c.policy_pack_id, c.category_code)] = found or Named(c.category_code)
    return SearchResult(rows, next_cursor, names, categories)
