"""The applicant's supplement after the one-time notice (补充材料, 一次性告知), online: the
public page (web/supplement.py) finds the case by its number, the last six characters of the ID
number and the notice's supplement code (store/notices.py), shows only what is missing, keeps
the files handed in for it (the materials service, source ``supplement``) and completes the
case's open supplement task as ``supplied`` with those items — the very update an officer
sends when the papers come to the counter, as the applicant (workflows/contracts.py
``APPLICANT_ROLE``), so the workflow records the evidence and moves on as it always did.

Every failure to find — no such case, another ID number, a wrong or old code, a case that
awaits no materials — is the one :func:`not_found`, so the page is no oracle of which cases
exist; attempts are limited (application/rate_limits.py ``limit_supplement_attempt``)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from application import gateway
from application.errors import Problem
from application.services import release_before_workflow
from application.services.materials import (
    CheckedUpload,
    FileBatch,
    check_batch,
    held_counts,
    keep_batch,
)
from application.task_fields import check_fields
from domain.policy.model import PolicyPack
from domain.vocabulary import CaseStatus, TaskKind
from store import notices as notices_repo, tasks_repo
from store.files import FileStore
from store.models import Case, Task
from store.models_materials import MaterialSource
from store.packs import pinned_pack
from store.settings import Settings
from workflows.contracts import APPLICANT_ROLE, CompleteTaskRequest
from workflows.identification import IdentificationWorkflow

# How the timeline names who handed the supplement in.
APPLICANT_NAME = "申请人（网上补充材料）"
ID_TAIL = 6


def not_found() -> Problem:
    """The one answer to anything that does not open a supplement."""
    return Problem(
        422,
        "supplement-not-found",
        "Not found",
        "the case number, the last six characters of the ID number or the supplement code is "
        "wrong, or the case awaits no materials",
        detail_zh="案件编号、身份证号码后六位或补正码不正确，或该案件目前无需补充材料。",
    )


@dataclass(frozen=True)
class MissingItem:
    code: str
    name: str
    name_en: str


@dataclass(frozen=True)
class Supplement:
    """An open supplement the applicant has proved to be theirs: its case, its task and what
    the one-time notice asks for (nothing else of the case is shown)."""

    case: Case
    task: Task
    pack: PolicyPack
    missing: list[MissingItem]


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


async def open_supplement(
    session: AsyncSession,
    settings: Settings,
    case_id: str,
    id_tail: str,
    code: str,
) -> Supplement:
    """The supplement the three answers open, or :func:`not_found`."""
    case = await session.get(Case, case_id.strip().upper()[:40])
    found = await _open(session, case) if case is not None else None
    tail = id_tail.strip().upper()[-ID_TAIL:]
    # Compared in full whatever was found, so that the answer takes as long either way.
    expected_tail = case.id_number[-ID_TAIL:].upper() if case is not None else "-" * ID_TAIL
    notice = (
        await notices_repo.notice_by_key(
            session, notices_repo.missing_notice_key(case.id, int(found.task.payload["round"]))
        )
        if case is not None and found is not None
        else None
    )
    expected_code = (notice and notices_repo.supplement_code(settings.secret_key, notice)) or ""
    typed_code = notices_repo.normalise_code(code)
    tail_ok = _same(tail, expected_tail) and len(tail) == ID_TAIL
    code_ok = _same(typed_code, expected_code or hashlib.sha256(b"none").hexdigest())
    if found is None or not (tail_ok and code_ok):
        raise not_found()
    return found


async def supplement_for(session: AsyncSession, case_id: str, task_id: str) -> Supplement:
    """The supplement a signed page link names (web/supplement.py checked the signature):
    still open, still the same task, else :func:`not_found`."""
    case = await session.get(Case, case_id)
    found = await _open(session, case) if case is not None else None
    if found is None or found.task.id != task_id:
        raise not_found()
    return found


async def _open(session: AsyncSession, case: Case) -> Supplement | None:
    if CaseStatus(case.status).closed:
        return None
    task = await tasks_repo.open_task_of(session, case.id, TaskKind.SUPPLEMENT)
    if task is None or not isinstance((task.payload or {}).get("round"), int):
        return None
    pack = await pinned_pack(session, case)
    missing = []
    for item in (task.payload or {}).get("missing") or []:
        code = str(item.get("code", ""))
        known = pack.evidence_item(code)
        name = str(item.get("name") or (known.name if known else code))
        missing.append(MissingItem(code, name, (known.name_en if known else "") or name))
    return Supplement(case, task, pack, missing)


async def check_files(
    session: AsyncSession,
    supplement: Supplement,
    uploads: Sequence[tuple[str, str | None, bytes]],
    settings: Settings,
) -> FileBatch:
    """The files handed in, each checked against the items missing and the case's limits
    (nothing kept yet)."""
    held = await held_counts(session, supplement.case.id)
    allowed = {m.code for m in supplement.missing}
    # Off the event loop (images normalised, PDFs rendered: see materials.check_batch).
    return await asyncio.to_thread(
        check_batch, supplement.pack, uploads, settings, held=held, allowed=allowed
    )


async def hand_in(
    session: AsyncSession,
    temporal: Client,
    files: FileStore,
    settings: Settings,
    supplement: Supplement,
    accepted: Sequence[CheckedUpload],
) -> dict[str, Any]:
    """Keep the files (source ``supplement``) and complete the supplement task as
    ``supplied`` with their items; the workflow's answer. The update's id is the task's and
    the items', so a form sent again after a lost answer is applied once."""
    codes = list(dict.fromkeys(u.evidence_code for u in accepted))
    if not codes:
        raise Problem(
            422,
            "validation-error",
            "Invalid request",
            "choose at least one file",
            detail_zh="请至少选择一个文件。",
        )
    check_fields(TaskKind.SUPPLEMENT, supplement.task.payload or {}, {"evidence": codes})
    await keep_batch(session, files, supplement.case, accepted, MaterialSource.SUPPLEMENT)
    task_id, workflow_id = supplement.task.id, supplement.task.workflow_id
    # The files are the applicant's whatever the engine does next: kept before it is asked.
    await release_before_workflow(session)
    decision = CompleteTaskRequest(
        task_id=task_id,
        outcome="supplied",
        actor_id=None,
        actor_name=APPLICANT_NAME,
        actor_role=APPLICANT_ROLE,
        actor_jurisdiction_path="",
        fields={"evidence": codes},
    )

    async def closed() -> Problem:
        return not_found()

    answer = await gateway.update(
        temporal,
        workflow_id,
        IdentificationWorkflow.complete_task,
        decision,
        key=f"supplement:{task_id}:{','.join(sorted(codes))}",
        words=gateway.Refusals("Supplement not taken"),
        closed=closed,
        away="the files are kept; the workflow engine did not take them yet: send them again "
        "shortly",
    )
    return answer if isinstance(answer, dict) else asdict(answer)


async def current_code(session: AsyncSession, settings: Settings, case: Case) -> str | None:
    """The supplement code of the one-time notice the case waits on now (for the receipt the
    applying browser alone opens), or None when it awaits no materials."""
    found = await _open(session, case)
    if found is None:
        return None
    key = notices_repo.missing_notice_key(case.id, int(found.task.payload["round"]))
    notice = await notices_repo.notice_by_key(session, key)
    return notices_repo.supplement_code(settings.secret_key, notice) if notice else None
