"""Submitting an application (申请): checks the ID number, places the case in its jurisdiction
and regional policy pack, refuses a second open case for the same person in the same region,
stores the case and starts its identification workflow. The officer intake (API) and the
public online form (web) both come through here.

Whether a person has a case, and why an earlier one ended, is told only to staff whose area
holds that case: anyone else whose application is refused for the person's open case, a
cooldown or a reason that forbids reapplying gets the one :func:`not_accepted` (issue #20 §1).
A submission with an ``Idempotency-Key`` is answered again with its first answer (the key's
record is stored with the case, scope :data:`SCOPE`), so a client that lost the answer learns
its case from its own key, not from a refusal."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy

from application import gateway
from application.actor import Actor
from application.errors import Problem
from application.rate_limits import ApplicationPlaces
from application.schemas.applications import ApplicationIn
from application.services import release_before_workflow
from domain.assistance import may_apply_from
from domain.calendar import local_date
from domain.eligibility import EligibilityDecision
from domain.facts import ApplicantFacts, DataFinding, own_fact, pack_fact_problems
from domain.ids import ResidentIdError, parse_resident_id
from domain.policy.loader import PolicyPackError
from domain.policy.model import PolicyPack
from domain.questions import AnswerProblem, Question, answer_problems, application_questions
from domain.vocabulary import CaseStatus, identification_workflow_id
from store import department_repo, idempotency, pre_checks, repos
from store.db import one_writer
from store.models import Case, Jurisdiction
from store.models_assistance import AssistanceExit
from store.packs import InForce, pack_in_force, packs_in_force, pinned_pack
from store.settings import Settings
from workflows.contracts import AssessResult, CaseRules, IdentificationInput, PlaceRef
from workflows.identification import IdentificationWorkflow
from workflows.rules import case_rules

# Applications are made at a county PES office (weifang 二(一)), a street/township or a
# community/village platform (jilin 二(一), xinyu 第二条(一)), never above a county.
APPLICATION_LEVELS = ("county", "street", "community")

# The idempotency scope of submissions: a key is the client's, whoever the person.
SCOPE = "application"
# Where the generic refusal sends the applicant when the pack names no office: every pack
# takes applications at the street/township office (weifang 二(一), jilin 二(一), xinyu 第二条(一)).
DEFAULT_OFFICE = "户籍所在地街道（乡镇）公共就业服务机构"


@dataclass(frozen=True)
class SubmittedCase:
    case_id: str
    workflow_id: str
    policy_pack_id: str
    policy_pack_ref: str
    status: str
    created: bool


def new_case_id(now: datetime) -> str:
    """Human-readable case number: the Beijing date of the submission (the date the receipt
    and the case page show; the UTC date was the day before for everything submitted before
    08:00) plus 8 random base32 characters (no personal data)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    # 32 letters: 5 random bits each, all 40 drawn at once (one read of the OS's source, where
    # a draw per letter took 3 % of the API's busy time under load, #22).
    bits = secrets.randbits(40)
    return f"YZ{local_date(now):%Y%m%d}-" + "".join(
        alphabet[(bits >> (5 * i)) & 31] for i in range(8)
    )


def invalid_id_number(exc: ResidentIdError, field: str) -> Problem:
    """422 ``invalid-id-number``: what is wrong with the number (its check digit, its date of
    birth, ...) in English and Chinese (``detail_zh``, which the pages show), on ``field``."""
    return Problem(
        422,
        "invalid-id-number",
        "Invalid ID number",
        str(exc),
        errors=[{"field": field, "message": str(exc), "code": exc.code}],
        detail_zh=exc.message_zh,
    )


def check_answers(application: ApplicationIn, today: date, pack: PolicyPack | None = None) -> None:
    """422 ``validation-error`` for answers that contradict the calendar or each other
    (:func:`domain.questions.answer_problems`), each on its ``facts.…`` field in English and
    Chinese (``message_zh``, which the public form shows beside the input). With the place's
    ``pack``, its own facts too: each must be one it declares, of its type."""
    if pack is None:
        problems = answer_problems(application.facts, today)
    else:
        with pack.fact_scope():
            problems = [
                AnswerProblem(f"pack_facts.{path}", code, message, _PACK_FACT_ZH.get(code, message))
                for path, message, code in pack_fact_problems(application.facts)
            ] + [
                # Where the answer sits in the request: facts.pack_facts.<path>.
                AnswerProblem(
                    f"pack_facts.{p.path}" if own_fact(p.path) else p.path,
                    p.code,
                    p.message,
                    p.message_zh,
                )
                for p in answer_problems(application.facts, today)
            ]
    if problems:
        raise Problem(
            422,
            "validation-error",
            "Invalid request",
            "; ".join(f"facts.{p.path}: {p.message}" for p in problems),
            errors=[
                {
                    "field": f"facts.{p.path}",
                    "message": p.message,
                    "message_zh": p.message_zh,
                    "code": p.code,
                }
                for p in problems
            ],
        )


# What the public form shows beside a pack's own fact that is wrong (domain.facts._one codes).
_PACK_FACT_ZH = {
    "unknown_fact": "本地政策没有此项",
    "bool_type": "请填写“是”或“否”",
    "date_type": "请按“年-月-日”填写日期",
    "int_type": "请填写整数",
    "float_type": "请填写数字",
    "greater_than_equal": "不能为负数",
}


@dataclass(frozen=True)
class PlaceQuestions:
    """The questions an application at one place asks (:func:`questions_at`)."""

    jurisdiction_code: str
    pack: PolicyPack
    category: str | None
    questions: list[Question]


def pack_applying(chain: list[Jurisdiction], packs: InForce) -> PolicyPack | None:
    """The pack in force a case filed at ``chain[0]`` (with the places above it) would run
    under, or None where no case can be filed (no pack or county office above it, or a pack
    that leaves identification to its cities): the rule :func:`submit_application` files by."""
    try:
        pack = packs.get(repos.filing_pack_id(chain))
    except (repos.NoPolicyPack, PolicyPackError):
        return None
    return pack if pack.procedure is not None else None


async def filing_pack(session: AsyncSession, code: str) -> PolicyPack | None:
    """The pack an application filed at ``code`` runs under (:func:`pack_applying`), or None
    for no such place or a level where applications are not made."""
    chain = await repos.place_and_ancestors(session, code)
    if not chain or chain[0].level not in APPLICATION_LEVELS:
        return None
    return pack_applying(chain, await packs_in_force(session))


async def questions_at(session: AsyncSession, code: str, category: str | None) -> PlaceQuestions:
    """What an application at ``code`` asks for ``category`` (none: the questions every
    applicant answers). 422 ``validation-error`` on ``jurisdiction_code`` for a place where no
    application can be filed, on ``category`` (with the pack's ``categories``) for a category
    the place's pack does not have."""
    pack = await filing_pack(session, code)
    if pack is None:
        raise Problem(
            422,
            "validation-error",
            "Invalid request",
            f"jurisdiction_code: no application can be filed at {code!r}",
            errors=[
                {
                    "field": "jurisdiction_code",
                    "message": "no application can be filed at this place",
                    "message_zh": "该地点不受理申请，请选择县区、街道乡镇或社区",
                    "code": "not-an-application-place",
                }
            ],
        )
    if category and pack.category(category) is None:
        known = [c.code for c in pack.categories]
        raise Problem(
            422,
            "validation-error",
            "Invalid request",
            f"category: {category!r} is not a category of {pack.id} ({', '.join(known)})",
            errors=[
                {
                    "field": "category",
                    "message": f"not a category of {pack.id}",
                    "message_zh": "该类别不属于本地区的政策，请重新选择",
                    "code": "unknown-category",
                }
            ],
            categories=known,
        )
    return PlaceQuestions(code, pack, category or None, application_questions(pack, category))


async def submit_application(
    session: AsyncSession,
    temporal: Client,
    settings: Settings,
    application: ApplicationIn,
    *,
    actor: Actor | None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
    with_case: Callable[[Case], Awaitable[None]] | None = None,
    window_places: ApplicationPlaces | None = None,
) -> SubmittedCase:
    """Store the case and start its workflow. A repeat of ``idempotency_key`` with the same
    application is answered with the first case (``created`` False), with another one 422
    ``idempotency-key-reused``. ``with_case`` adds rows that must be committed with the case
    or not at all (the public form's materials), in its transaction: it does no I/O but the
    session's, since it runs in the turn to write. ``window_places``: an anonymous application's
    places in its rate limits' windows, taken in the same transaction (429 when one is full:
    nothing stored)."""
    now = now or datetime.now(UTC)
    name = (application.facts.person.name or "").strip()
    if not name:
        raise Problem(
            422,
            "validation-error",
            "Invalid request",
            "facts.person.name: required",
            errors=[{"field": "facts.person.name", "message": "required", "code": "missing"}],
        )
    try:
        rid = parse_resident_id(application.facts.person.id_number or "", today=now.date())
    except ResidentIdError as exc:
        raise invalid_id_number(exc, "facts.person.id_number") from None
    check_answers(application, local_date(now))

    chain = await repos.place_and_ancestors(session, application.jurisdiction_code)
    place = chain[0] if chain else None
    if place is None or (actor is not None and not place.path.startswith(actor.jurisdiction_path)):
        raise Problem(
            422,
            "unknown-jurisdiction",
            "Unknown jurisdiction",
            f"jurisdiction {application.jurisdiction_code} does not exist"
            + (" in your area" if actor else ""),
        )
    if place.level not in APPLICATION_LEVELS:
        raise Problem(
            422,
            "wrong-jurisdiction-level",
            "Wrong jurisdiction level",
            f"applications are made at a street/township or community, "
            f"not at {place.name} ({place.level})",
        )
    try:
        pack_id = repos.filing_pack_id(chain)
    except repos.NoPolicyPack:
        raise Problem(
            422,
            "no-policy-for-jurisdiction",
            "No policy pack for this jurisdiction",
            f"no regional policy pack or county office is configured above {place.name}",
        ) from None
    if application.policy_id is not None and application.policy_id != pack_id:
        raise Problem(
            422,
            "policy-mismatch",
            "Policy does not apply here",
            f"policy {application.policy_id} does not apply in {place.name}; {pack_id} does",
        )
    places = [repos.place_ref(j) for j in chain]
    try:
        pack = await pack_in_force(session, pack_id)
        # The pack must work for this place before anything is stored; the workflow starts
        # with these very rules (what start_identification would build again from the case).
        rules = case_rules(pack, places)
    except (PolicyPackError, ValueError) as exc:
        raise Problem(422, "unknown-policy", "Unknown policy pack", str(exc)) from None
    check_answers(application, local_date(now), pack)

    request_print = gateway.fingerprint(
        "submit_application",
        {
            "facts": application.facts.model_dump(mode="json"),
            "jurisdiction_code": application.jurisdiction_code,
            "policy_id": application.policy_id,
            # a window submission and an online one are different requests
            "channel": "window" if actor else "online",
        },
    )
    open_key = f"{pack.id}:{rid.number}"
    existing = await repos.open_case_for(session, open_key)
    # The key is looked up after the open case: a concurrent first use that committed the
    # case just before it was seen committed the key's record with it.
    if idempotency_key is not None and (
        first := await _first_answer(session, temporal, settings, idempotency_key, request_print)
    ):
        return first
    if existing is not None:
        raise await _open_case(session, temporal, settings, existing, pack, actor)
    await check_reidentification(session, pack, rid.number, local_date(now), actor=actor)

    case_id = new_case_id(now)
    workflow_id = identification_workflow_id(case_id)
    stored_facts = application.facts.model_copy(
        update={"person": application.facts.person.model_copy(update={"id_number": rid.number})}
    )
    pack_ref = pack.ref  # a hash of the whole pack: computed once
    case = Case(
        id=case_id,
        workflow_id=workflow_id,
        policy_pack_id=pack.id,
        policy_pack_ref=pack_ref,
        jurisdiction_code=place.code,
        jurisdiction_path=place.path,
        applicant_name=name,
        id_number=rid.number,
        id_last4=rid.last_digits(4),
        facts=stored_facts.model_dump(mode="json"),
        channel="window" if actor else "online",
        status=CaseStatus.SUBMITTED,
        stage="acceptance",
        open_key=open_key,
        submitted_by=actor.id if actor else None,
        submitted_at=now,
        updated_at=now,
    )
    submitted = SubmittedCase(case_id, workflow_id, pack.id, pack_ref, CaseStatus.SUBMITTED, True)
    pre_check = await _first_pre_check(session, settings, case, pack, rules, now)
    # Nearly always stored, and then known to this process (read once, before the turn to
    # write, which is then the writes alone).
    pack_stored = repos.pack_version_known_stored(session, pack_ref) or (
        await repos.pack_version_stored(session, pack_ref)
    )
    try:
        # Queued in this process for SQLite's write lock (store.db.one_writer); nothing is
        # written before it in this request's session.
        async with one_writer(session):
            if window_places is not None:
                await window_places.take_with(session)  # first: the transaction's first write
            if not pack_stored:
                await repos.remember_pack_version(session, pack, now, ref=pack_ref)
            session.add(case)
            if pre_check is not None:
                pre_check.record(session, case)
            if with_case is not None:
                await with_case(case)
            if idempotency_key is not None:
                answer = {k: v for k, v in asdict(submitted).items() if k != "created"}
                idempotency.keep(
                    session,
                    SCOPE,
                    idempotency_key,
                    fingerprint=request_print,
                    status_code=201,
                    body=answer,
                    now=now,
                )
            # Committed before the workflow starts: its first activity reads the case row.
            await release_before_workflow(session)
        repos.pack_version_committed(session, pack_ref)
        if window_places is not None:
            window_places.committed()
    except IntegrityError:
        await session.rollback()
        # A concurrent submission under the same key, or of the same person, came first.
        if idempotency_key is not None and (
            first := await _first_answer(
                session, temporal, settings, idempotency_key, request_print
            )
        ):
            return first
        existing = await repos.open_case_for(session, open_key)
        if existing is not None:
            raise await _open_case(session, temporal, settings, existing, pack, actor) from None
        raise
    # The place and rules are at hand: nothing is read again, so the session holds no
    # connection from the pool while Temporal starts the workflow.
    await _start(
        temporal, settings, case, places[0], rules, pre_check.result if pre_check else None
    )
    return submitted


@dataclass(frozen=True)
class _PreCheck:
    """The first round's pre-check of an application, made before the turn to write."""

    facts: ApplicantFacts
    decision: EligibilityDecision
    findings: list[DataFinding]
    at: datetime

    def record(self, session: AsyncSession, case: Case) -> None:
        key = pre_checks.entry_key(case, "1")  # the workflow's first round (AssessInput.round)
        pre_checks.record(
            session,
            case,
            self.facts,
            self.decision,
            self.findings,
            key=key,
            at=self.at,
            existing=None,
        )

    @property
    def result(self) -> AssessResult:
        return AssessResult.of(self.decision, len(self.findings))


async def _first_pre_check(
    session: AsyncSession,
    settings: Settings,
    case: Case,
    pack: PolicyPack,
    rules: CaseRules,
    now: datetime,
) -> _PreCheck | None:
    """The application's first pre-check (资格预审), made as it is stored (#22): recorded with
    the case and handed to its workflow, whose first task then opens at once — the
    assessment activity's round trips were half of what an application cost the workflow
    engine. None where department data come from another system than the imported lists
    (``Settings.department_data``): the worker's assessment asks it, as it does every later
    round."""
    on = local_date(now)
    findings: list[DataFinding] | None = None
    if rules.asks_departments:
        if settings.department_data != "imported":
            return None
        findings = await department_repo.imported_findings(session, case.id_number, on)
    facts, decision = pre_checks.assessed(case, pack, on, findings)
    return _PreCheck(facts, decision, findings or [], now)


async def _first_answer(
    session: AsyncSession, temporal: Client, settings: Settings, key: str, request_print: str
) -> SubmittedCase | None:
    """The first answer of a key used before (its case started if it is not yet: the first
    attempt may have lost Temporal); None for a new key; 422 for a key used for another
    application."""
    record = await idempotency.record_for(session, SCOPE, key)
    if record is None:
        return None
    if record.fingerprint != request_print or record.body is None:
        raise gateway.key_reused()
    case = await session.get(Case, record.body["case_id"])
    assert case is not None  # cases are never deleted
    await _ensure_started(session, temporal, settings, case)
    return SubmittedCase(**record.body, created=False)


async def start_identification(
    session: AsyncSession, temporal: Client, settings: Settings, case: Case
) -> None:
    """Start the stored case's identification workflow; starting it again is harmless (the
    workflow id is the case's). When Temporal cannot be reached the case stays stored and
    submitted: a retry of the submission, or the worker's sweep (:func:`resume_submitted`),
    starts it — never deleted, because a retry may already have been told it exists."""
    chain = await repos.place_and_ancestors(session, case.jurisdiction_code)
    places = [repos.place_ref(j) for j in chain]  # a case's place is never deleted
    # The rules of the version the case pinned when it was stored, not of today's.
    rules = case_rules(await pinned_pack(session, case), places)
    await _start(temporal, settings, case, places[0], rules)


async def _start(
    temporal: Client,
    settings: Settings,
    case: Case,
    place: PlaceRef,
    rules: CaseRules,
    pre_check: AssessResult | None = None,
) -> None:
    """Start ``case``'s identification at ``place`` under ``rules`` (the pack's for the place
    and the places above it), with its first ``pre_check`` where the submission made it; 503
    when Temporal cannot be reached."""
    handle = await gateway.start(
        temporal,
        IdentificationWorkflow.run,
        IdentificationInput(
            case_id=case.id,
            applicant_name=case.applicant_name,
            id_last4=case.id_last4,
            place=place,
            rules=rules,
            pre_check=pre_check,
        ),
        id=case.workflow_id,
        task_queue=settings.temporal_task_queue,
        # an earlier attempt (or a sweep) that started it counts as started
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    if handle is None:
        raise gateway.temporal_unavailable(
            f"the application is stored as case {case.id}; its processing starts once the "
            "workflow engine is back (submitting again is safe)",
            case_id=case.id,
        )


async def _ensure_started(
    session: AsyncSession, temporal: Client, settings: Settings, case: Case
) -> None:
    """A second submission finds the case open; if its workflow may not have started (still
    submitted, nothing recorded yet) start it now, so the case the answer names moves."""
    if case.status == CaseStatus.SUBMITTED and not await repos.has_events(session, case.id):
        await start_identification(session, temporal, settings, case)


async def resume_submitted(
    session: AsyncSession, temporal: Client, settings: Settings, *, older_than: datetime
) -> int:
    """Start the workflows of cases stored but never started (Temporal was away when they
    were submitted and nobody submitted again); returns how many were (re)started. Run by
    every worker now and then; idempotent."""
    started = 0
    for case in await repos.unstarted_cases(session, submitted_before=older_than):
        await start_identification(session, temporal, settings, case)
        started += 1
    return started


async def check_reidentification(
    session: AsyncSession,
    pack: PolicyPack,
    id_number: str,
    today: date,
    *,
    actor: Actor | None,
) -> None:
    """A person whose status ended may apply again only as the pack allows: never after a
    reason with ``may_reapply = false`` (weifang 三(二): 除第 4、5 类人员外...可重新按规定申请认定),
    and not before the cooldown has run from the last exit (xinyu 第三条(二): 满 3 个月).
    The refusal names the exit (date, reason, case) only to staff whose area holds its case."""
    exits = list(
        (
            await session.scalars(
                select(AssistanceExit)
                .where(
                    AssistanceExit.policy_pack_id == pack.id,
                    AssistanceExit.id_number == id_number,
                )
                .order_by(AssistanceExit.exited_on.desc())
            )
        ).all()
    )
    final = next((x for x in exits if not x.may_reapply), None)
    if final is not None:
        if not await _holds(session, actor, final.case_id):
            raise not_accepted(pack)
        raise Problem(
            422,
            "reapplication-forbidden",
            "Re-identification not allowed",
            f"the status ended on {final.exited_on.isoformat()} for a reason after which the "
            f"person may not apply again: {final.reason_name} ({final.source})",
            case_id=final.case_id,
            reason=final.reason_code,
        )
    cooldown = pack.clocks.reidentification_cooldown
    if exits and cooldown is not None:
        months = cooldown.value if cooldown.unit == "months" else None
        start = may_apply_from(exits[0].exited_on, months)
        if today < start:
            if not await _holds(session, actor, exits[0].case_id):
                raise not_accepted(pack)
            raise Problem(
                409,
                "reidentification-cooldown",
                "Too early to apply again",
                f"the status ended on {exits[0].exited_on.isoformat()}; a new application is "
                f"possible from {start.isoformat()} ({cooldown.citation})",
                case_id=exits[0].case_id,
                may_apply_from=start.isoformat(),
            )


def not_accepted(pack: PolicyPack) -> Problem:
    """The one refusal of an application whose person may not apply now, for a caller who may
    not learn why (anonymous, the public form, staff of another area): the same status and
    words whether the person has an open case, is in a cooldown or may not reapply, and no
    case, pack, date or reason — only where to go and what to bring."""
    # The pack lists its in-person office first (procedure.apply_at; online channels after).
    offices = pack.procedure.apply_at if pack.procedure else []
    office = offices[0] if offices else DEFAULT_OFFICE
    return Problem(
        409,
        "application-not-accepted",
        "Application not accepted",
        f"暂不能受理此项申请。请携带本人身份证到{office}咨询办理。",
    )


def _may_know(actor: Actor | None, jurisdiction_path: str) -> bool:
    """Whether the caller may learn about a case at ``jurisdiction_path``: staff whose area
    holds it (the same scoping as every case read)."""
    return actor is not None and jurisdiction_path.startswith(actor.jurisdiction_path)


async def _holds(session: AsyncSession, actor: Actor | None, case_id: str) -> bool:
    if actor is None:
        return False
    case = await session.get(Case, case_id)
    return case is not None and _may_know(actor, case.jurisdiction_path)


async def _open_case(
    session: AsyncSession,
    temporal: Client,
    settings: Settings,
    existing: Case,
    pack: PolicyPack,
    actor: Actor | None,
) -> Problem:
    """The refusal of an application for a person with an open case, whose workflow is
    started now if it may not have been."""
    told = _may_know(actor, existing.jurisdiction_path)
    try:
        await _ensure_started(session, temporal, settings, existing)
    except Problem:
        if told:
            raise
        # Its 503 names the case; the worker's sweep (resume_submitted) starts it instead.
    return _duplicate(existing, pack.id) if told else not_accepted(pack)


def _duplicate(existing: Case, pack_id: str) -> Problem:
    return Problem(
        409,
        "duplicate-application",
        "Application already open",
        f"an application for this ID number is already open in {pack_id}: case {existing.id}",
        case_id=existing.id,
    )
