"""Loading a policy pack into the running system, without a deploy (#23): an administrator
hands in a pack file and its test cases (``yuanzhu policy load``, ``POST
/api/v1/admin/policy-packs``, the admin page), and the same steps run for all three:

1. the pack validates (its ``extends`` resolved among the packaged packs), its id is its file
   name, and it is not the version already in force, nor a new content under that version;
2. its own test cases are checked against it, run, and cover every rule
   (:mod:`domain.policy.cases`);
3. the difference from the revision it replaces is shown (none: a new region): the one in
   force on its first day — its ``effective_from`` (施行日期), else the day it is loaded,
   never before a revision already loaded;
4. then, unless it is a preview, the version is stored (``policy_pack_versions``) and put in
   force from that day for every place mapped to its id (``policy_packs_in_force``),
   audited. Running cases keep the version they pinned; applications from that day — in
   every process, since each reads the packs in force from the database (store/packs.py) —
   are decided under it, those before under the revision it replaces.

5. a revision that moves the persons already identified to its assistance rules
   (``[transition] assistance = "move"``) starts, once committed, the
   :class:`workflows.transition.RevisionTransitionWorkflow` of its ref
   (:func:`start_transition`): it waits for the revision's first day on a durable timer and
   then tells the running assistances it now governs. When the workflow engine cannot be
   reached the revision is in force all the same and the answer says the move is pending; the
   worker starts every such transition not started yet when it starts
   (:func:`ensure_transitions`), and a start that finds it started or done changes nothing.

Any failure refuses the whole (422 ``policy-pack-invalid`` with every problem, each naming
file, line where it has one, and field; 409 ``policy-pack-unchanged``) and activates nothing.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy

from application import gateway
from application.errors import Problem
from domain.calendar import local_date
from domain.policy import cases as pack_cases
from domain.policy.diff import diff_packs
from domain.policy.loader import PolicyPackError, load_pack_file
from domain.policy.model import PolicyPack
from store import repos
from store.audit import record_audit
from store.models import Jurisdiction, PolicyPackInForce
from store.packs import forget_packs_in_force, packs_in_force
from store.policy_admin import PACK_ID_PATTERN, change_json
from workflows.payloads import TransitionInput
from workflows.transition import RevisionTransitionWorkflow, transition_workflow_id

__all__ = [
    "AUDIT_LOADED",
    "LoadPlan",
    "activate",
    "ensure_transitions",
    "plan_load",
    "start_transition",
]

AUDIT_LOADED = "policy_pack_loaded"
MAX_PACK_BYTES = 512 * 1024


@dataclass(frozen=True)
class LoadPlan:
    """What loading would do: the pack, its cases' results, the version it replaces and the
    changes from it, and how many places are mapped to its id."""

    pack: PolicyPack
    cases: str
    passed: int
    effective_on: date
    replaces: PolicyPack | None
    changes: list[dict[str, Any]]
    places: int

    @property
    def moves_assistance(self) -> bool:
        """It replaces a revision and moves the persons identified before it."""
        return self.replaces is not None and self.pack.moves_assistance


def _invalid(problems: list[str], part: str = "pack") -> Problem:
    """422 with one error per problem: ``field`` the upload it is in (``pack`` or ``cases``),
    ``message`` the problem naming file, line where known, and field."""
    return Problem(
        422,
        "policy-pack-invalid",
        "Policy pack refused",
        f"{len(problems)} problem(s); nothing was loaded: {problems[0]}",
        errors=[
            {"field": part, "message": message, "code": f"invalid-{part}"} for message in problems
        ],
    )


def _read(
    file_name: str, pack_text: str, parents: Mapping[str, Mapping[str, Any]] | None = None
) -> PolicyPack:
    """The pack in ``pack_text`` as the file ``file_name``; its ``extends`` resolved among
    ``parents`` (the packs in force today), else among the packaged packs. A child is merged
    with its parent's revision in force when it is loaded: a later revision of the parent
    changes it only when it is loaded again."""
    if not re.fullmatch(PACK_ID_PATTERN.strip("^$") + r"\.toml", file_name):
        raise _invalid([f"{file_name}: the file name must be the pack's id and .toml"])
    if len(pack_text.encode("utf-8")) > MAX_PACK_BYTES:
        raise _invalid([f"{file_name}: larger than {MAX_PACK_BYTES // 1024} KiB"])
    with tempfile.TemporaryDirectory(prefix="yuanzhu-pack-") as tmp:
        path = Path(tmp) / file_name
        path.write_text(pack_text, encoding="utf-8")
        try:
            return load_pack_file(path, check_id=True, parents=parents)
        except PolicyPackError as e:
            raise _invalid(str(e).split("\n")) from None


def _run_cases(pack: PolicyPack, file_name: str, cases_text: str) -> int:
    """The number of cases passed; every failure and uncovered rule refuses the load."""
    try:
        loaded = pack_cases.parse_cases(cases_text, f"{pack_cases.CASES_DIR}/{file_name}")
        pack_cases.check_cases(loaded, pack)
    except PolicyPackError as e:
        raise _invalid(str(e).split("\n"), "cases") from None
    results = pack_cases.run_cases(loaded, pack)
    if errors := pack_cases.failures(loaded, pack, results):
        raise _invalid(errors, "cases")
    return len(results)


async def plan_load(
    session: AsyncSession,
    file_name: str,
    pack_text: str,
    cases_text: str,
    *,
    scope_path: str = "/",
) -> LoadPlan:
    """Validate, test and compare (steps 1–3); nothing is written. ``scope_path``: the
    administrator's subtree, which must hold every place the pack's id applies to (a pack
    in force changes the rules of all of them); the command line acts from the root."""
    packs = await packs_in_force(session)
    today = local_date(datetime.now(UTC))
    in_force = {i: p.to_json() for i in packs.ids() if (p := packs.find(i, today)) is not None}
    pack = _read(file_name, pack_text, in_force)
    outside = await session.scalar(
        select(func.count())
        .select_from(Jurisdiction)
        .where(Jurisdiction.policy_pack_id == pack.id, ~Jurisdiction.path.startswith(scope_path))
    )
    if outside:
        raise Problem(
            403,
            "actor-not-allowed",
            "Not allowed",
            f"{pack.id} applies to {outside} place(s) outside your jurisdiction; an "
            "administrator above them loads it",
        )
    passed = _run_cases(pack, file_name, cases_text)
    # 施行日期: from its effective_from, else from today; never before a revision already
    # loaded (the applications of those days were decided under it).
    effective_on = pack.effective_from or today
    latest = packs.latest(pack.id)
    if latest is not None and effective_on < latest[0]:
        raise _invalid(
            [
                f"{file_name}: effective_from: {effective_on.isoformat()} is before "
                f"{latest[0].isoformat()}, when {latest[1].ref} took effect"
            ]
        )
    # What it replaces: the revision in force on its first day.
    current = packs.find(pack.id, effective_on)
    if current is not None and current.content_hash == pack.content_hash:
        raise Problem(
            409,
            "policy-pack-unchanged",
            "Already in force",
            f"{pack.ref} is the version in force; nothing to load",
        )
    earlier = next(
        (day for day, loaded in packs.revisions.get(pack.id, ()) if loaded.ref == pack.ref), None
    )
    if earlier is not None:
        raise _invalid(
            [
                f"{file_name}: version: {pack.ref} was put in force from {earlier.isoformat()} "
                "already; to bring its rules back, load them under a new version"
            ]
        )
    if current is not None and current.version == pack.version:
        raise _invalid(
            [
                f"{file_name}: version: {pack.version!r} is the version in force "
                f"({current.ref}) with other content; give the changed pack a new version"
            ]
        )
    places = await session.scalar(
        select(func.count()).select_from(Jurisdiction).where(Jurisdiction.policy_pack_id == pack.id)
    )
    return LoadPlan(
        pack=pack,
        cases=cases_text,
        passed=passed,
        effective_on=effective_on,
        replaces=current,
        changes=[change_json(c) for c in diff_packs(current, pack)] if current else [],
        places=int(places or 0),
    )


async def activate(session: AsyncSession, plan: LoadPlan, *, actor_id: int | None, by: str) -> None:
    """Store the version and put it in force (step 4), audited; committed with the session."""
    now = datetime.now(UTC)
    pack = plan.pack
    await repos.remember_pack_version(session, pack, now)
    row = PolicyPackInForce(
        ref=pack.ref,
        pack_id=pack.id,
        effective_on=plan.effective_on,
        cases=plan.cases,
        activated_at=now,
        activated_by=by,
        replaced_ref=plan.replaces.ref if plan.replaces else None,
    )
    session.add(row)
    record_audit(
        session,
        actor_id=actor_id,
        action=AUDIT_LOADED,
        object_type="policy_pack",
        object_id=pack.id,
        detail={
            "ref": pack.ref,
            "effective_on": plan.effective_on.isoformat(),
            "replaced": row.replaced_ref,
            "cases_passed": plan.passed,
            "changes": len(plan.changes),
            "places": plan.places,
            "by": by,
        },
        now=now,
    )
    await session.flush()
    forget_packs_in_force(session)


# --- moving the persons already identified (#23 [transition]) ---------------------------------

TransitionStatus = Literal["started", "pending"]


async def start_transition(
    temporal: Client | None, task_queue: str, pack: PolicyPack, effective_on: date
) -> TransitionStatus:
    """Start the revision's transition workflow (after the load is committed: its activities
    read the revision in force). "pending" when the engine cannot be reached: the worker
    starts it when it starts (:func:`ensure_transitions`)."""
    if temporal is None:
        return "pending"
    handle = await gateway.start(
        temporal,
        RevisionTransitionWorkflow.run,
        TransitionInput(pack_id=pack.id, ref=pack.ref, effective_on=effective_on),
        id=transition_workflow_id(pack.ref),
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    )
    return "started" if handle is not None else "pending"


async def ensure_transitions(
    temporal: Client, task_queue: str, sessions: async_sessionmaker[AsyncSession]
) -> list[str]:
    """Start the transition of every revision in force that moves the persons already
    identified (a start the load could not make); the refs. A transition already started or
    done is found, not repeated; one run again after Temporal forgot it tells only the
    assistances that do not follow its revision yet."""
    async with sessions() as session:
        packs = await packs_in_force(session)
    refs = []
    for revisions in packs.revisions.values():
        for i, (first, pack) in enumerate(revisions):
            if not pack.moves_assistance or (i == 0 and pack.id not in packs.packaged):
                continue  # the first revision of a new region replaces nothing
            if await start_transition(temporal, task_queue, pack, first) == "started":
                refs.append(pack.ref)
    return refs
