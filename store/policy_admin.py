"""Policy packs for administrators and officers, shared by ``yuanzhu policy`` and the API
(``/api/v1/policy-packs``).

One implementation of each read: :func:`pack_listing` (a line of ``policy list``),
:func:`pack_outline` (what ``policy show`` prints: categories, stages, clocks, exit rules...
each with its clause citation), :func:`pinned_versions` (the versions cases were opened under,
``policy_pack_versions``), :func:`resolve_ref` (a pack id for the version in force, or a pinned
``id@version#hash12`` ref) and :func:`diff_resolved` / :func:`change_json` (the differences
between two versions, :mod:`domain.policy.diff`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.policy.authoring import defaults_applying
from domain.policy.diff import Change, diff_data
from domain.policy.model import PolicyPack, Sourced
from store.models import PolicyPackVersion
from store.packs import packs_in_force

__all__ = [
    "PACK_ID_PATTERN",
    "PACK_REF_PATTERN",
    "CategoryOutline",
    "Cited",
    "ClockOutline",
    "ConditionOutline",
    "DefaultOutline",
    "EvidenceOutline",
    "ExitReasonOutline",
    "FraudOutline",
    "IdentificationOutline",
    "LedgerOutline",
    "PackListing",
    "PackOutline",
    "ResolvedPack",
    "RuleOutline",
    "SlaOutline",
    "SourceOutline",
    "StageOutline",
    "UnknownPackRefError",
    "change_json",
    "diff_resolved",
    "ids_in_force",
    "in_force",
    "pack_listing",
    "pack_outline",
    "pinned_versions",
    "resolve_ref",
]

# A pack id (the TOML file name) and a ref as cases pin it (PolicyPack.ref).
PACK_ID_PATTERN = r"^[a-z][a-z0-9-]{0,49}$"
PACK_REF_PATTERN = r"^[a-z][a-z0-9-]{0,49}(@[^@#\s]{1,30}#[0-9a-f]{12})?$"
_PACK_ID = re.compile(PACK_ID_PATTERN)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class PackListing(_Out):
    """One packaged pack: identity and provenance."""

    id: str
    name: str
    name_en: str
    region: str
    region_code: str
    version: str
    content_hash: str
    ref: str
    issuer: str
    level: str
    extends: str | None


class Cited(_Out):
    """Where a rule comes from: ``citation`` is the clause (``吉人社发〔2022〕10号 二(四)``) or
    ``assumed: <note>`` for an administrator setting; ``quote`` is the clause's wording."""

    citation: str
    source: str | None
    quote: str | None
    assumed: bool
    note: str | None


class RuleOutline(Cited):
    code: str
    name: str
    name_en: str


class ConditionOutline(RuleOutline):
    evidence: list[str]


class CategoryOutline(ConditionOutline):
    ordinal: str | None


class SlaOutline(Cited):
    goal: int
    deadline: int
    unit: str


class StageOutline(Cited):
    """A stage: ``id`` its code in the pack (the kind where the pack names none), the
    document it produces, and for a publicity whether ``working_days`` is a minimum and what
    its notice shows of each person."""

    id: str
    kind: str
    name: str
    name_en: str
    role: str
    level: str
    sla: SlaOutline
    working_days: int | None
    minimum: bool = False
    document: str | None = None
    shows: list[str] = []


class ReexaminationOutline(Cited):
    """The applicant's request for re-examination after a refusal (复核申请), where the pack
    provides one."""

    name: str
    name_en: str
    request_within: int
    role: str
    level: str
    sla: SlaOutline
    document: str | None = None


class ClockOutline(Cited):
    name: str
    values: dict[str, Any]


class ExitReasonOutline(RuleOutline):
    ordinal: str | None
    mode: str
    trigger: str | None
    clock: str | None
    may_reapply: bool
    basis_specific: list[str]
    fraud: bool


class SourceOutline(_Out):
    title: str
    number: str
    issuer: str
    issued_on: date | None
    level: str


class IdentificationOutline(Cited):
    mode: str


class EvidenceOutline(RuleOutline):
    data_sharing_replaces_paper: bool
    written_commitment_may_replace: bool


class FactOutline(Cited):
    """A fact the pack declares for itself ([[facts]])."""

    path: str
    type: str
    name: str
    name_en: str
    unit: str
    evidence: list[str]
    verified_at: list[str]
    asked: bool


class AmountOutline(Cited):
    """An amount the pack holds, with the day each value took effect."""

    fact: str
    values: list[tuple[date, float]]


class LedgerOutline(Cited):
    layout: str


class TransitionOutline(Cited):
    """What a revision does to the persons already identified ([transition]): ``move`` them to
    its assistance rules from its first day, or let them ``stay`` on theirs."""

    assistance: str


class FraudOutline(Cited):
    recover_subsidies: bool
    recover_from: str
    credit_record: bool


class DefaultOutline(_Out):
    """A value the system supplies because the pack is silent (domain.policy.authoring)."""

    path: str
    value: str
    why: str


class PackOutline(_Out):
    """A pack as officers read it (``yuanzhu policy show``), every rule with its citation."""

    id: str
    ref: str
    version: str
    content_hash: str
    name: str
    name_en: str
    region: str
    region_code: str
    extends: str | None
    source: SourceOutline
    identification: IdentificationOutline
    base_conditions: list[ConditionOutline]
    categories: list[CategoryOutline]
    exclusions: list[RuleOutline]
    stages: list[StageOutline]
    reexamination: ReexaminationOutline | None = None
    clocks: list[ClockOutline]
    assistance_standards: list[RuleOutline]
    exit_reasons: list[ExitReasonOutline]
    target_groups: list[RuleOutline]
    # Where one applies (受理), what papers prove, the duties without a clock, households,
    # fraud and the ledger: every section of the pack, and the defaults its silence leaves.
    apply_at: list[str] = []
    common_evidence: list[str] = []
    evidence: list[EvidenceOutline] = []
    duties: list[RuleOutline] = []
    households: list[RuleOutline] = []
    fraud_handling: FraudOutline | None = None
    ledger: LedgerOutline | None = None
    effective_from: date | None = None
    transition: TransitionOutline | None = None
    facts: list[FactOutline] = []
    amounts: list[AmountOutline] = []
    defaults: list[DefaultOutline] = []


def pack_listing(p: PolicyPack) -> PackListing:
    """A pack's identity: id, name, region, version, content hash, ref, issuer."""
    return PackListing(
        id=p.id,
        name=p.name,
        name_en=p.name_en,
        region=p.region,
        region_code=p.region_code,
        version=p.version,
        content_hash=p.content_hash,
        ref=p.ref,
        issuer=p.issuer,
        level=p.source.level,
        extends=p.extends,
    )


def _cited(rule: Sourced) -> dict[str, Any]:
    return {
        "citation": rule.citation,
        "source": rule.source,
        "quote": rule.quote,
        "assumed": rule.assumed,
        "note": rule.note,
    }


def _rule(rule: Any) -> dict[str, Any]:
    return {**_cited(rule), "code": rule.code, "name": rule.name, "name_en": rule.name_en}


_CITATION_FIELDS = {"source", "quote", "assumed", "note"}


def _reexamination(p: PolicyPack) -> ReexaminationOutline | None:
    again = p.procedure.reexamination if p.procedure is not None else None
    if again is None:
        return None
    return ReexaminationOutline(
        **_cited(again),
        name=again.name,
        name_en=again.name_en,
        request_within=again.request_within,
        role=again.role,
        level=again.level,
        sla=SlaOutline(
            **_cited(again.sla),
            goal=again.sla.goal,
            deadline=again.sla.deadline,
            unit=again.sla.unit,
        ),
        document=again.document,
    )


def pack_outline(p: PolicyPack) -> PackOutline:
    """The pack's rules, each with its clause citation, in the pack's order."""
    stages = p.procedure.stages if p.procedure is not None else []
    return PackOutline(
        id=p.id,
        ref=p.ref,
        version=p.version,
        content_hash=p.content_hash,
        name=p.name,
        name_en=p.name_en,
        region=p.region,
        region_code=p.region_code,
        extends=p.extends,
        source=SourceOutline(
            title=p.source.title,
            number=p.source.number,
            issuer=p.source.issuer,
            issued_on=p.source.issued_on,
            level=p.source.level,
        ),
        identification=IdentificationOutline(
            **_cited(p.identification), mode=p.identification.mode
        ),
        base_conditions=[
            ConditionOutline(**_rule(b), evidence=list(b.evidence)) for b in p.base_conditions
        ],
        categories=[
            CategoryOutline(**_rule(c), evidence=list(c.evidence), ordinal=c.ordinal)
            for c in p.categories
        ],
        exclusions=[RuleOutline(**_rule(x)) for x in p.exclusions],
        stages=[
            StageOutline(
                **_cited(s),
                id=s.stage_id,
                kind=s.kind,
                name=s.name,
                name_en=s.name_en,
                role=s.role,
                level=s.level,
                sla=SlaOutline(
                    **_cited(s.sla), goal=s.sla.goal, deadline=s.sla.deadline, unit=s.sla.unit
                ),
                working_days=s.working_days,
                minimum=s.minimum,
                document=s.document,
                shows=list(s.publicity_fields) if s.kind == "publicity" else [],
            )
            for s in stages
        ],
        reexamination=_reexamination(p),
        clocks=[
            ClockOutline(
                **_cited(clock),
                name=name,
                values=clock.model_dump(mode="json", exclude=_CITATION_FIELDS),
            )
            for name, clock in p.clocks.present().items()
        ],
        assistance_standards=[RuleOutline(**_rule(a)) for a in p.assistance_standards],
        exit_reasons=[
            ExitReasonOutline(
                **_rule(r),
                ordinal=r.ordinal,
                mode=r.mode,
                trigger=r.trigger,
                clock=r.clock,
                may_reapply=r.may_reapply,
                basis_specific=list(r.basis_specific),
                fraud=r.fraud,
            )
            for r in p.exit_reasons
        ],
        target_groups=[RuleOutline(**_rule(g)) for g in p.target_groups],
        apply_at=list(p.procedure.apply_at) if p.procedure is not None else [],
        common_evidence=list(p.common_evidence),
        evidence=[
            EvidenceOutline(
                **_rule(e),
                data_sharing_replaces_paper=e.data_sharing_replaces_paper,
                written_commitment_may_replace=e.written_commitment_may_replace,
            )
            for e in p.evidence
        ],
        duties=[RuleOutline(**_rule(d)) for d in p.duties],
        households=[RuleOutline(**_rule(h)) for h in p.households],
        fraud_handling=FraudOutline(
            **_cited(p.fraud_handling),
            recover_subsidies=p.fraud_handling.recover_subsidies,
            recover_from=p.fraud_handling.recover_from,
            credit_record=p.fraud_handling.credit_record,
        )
        if p.fraud_handling
        else None,
        ledger=LedgerOutline(**_cited(p.ledger), layout=p.ledger.layout) if p.ledger else None,
        effective_from=p.effective_from,
        transition=TransitionOutline(**_cited(p.transition), assistance=p.transition.assistance)
        if p.transition
        else None,
        facts=[
            FactOutline(
                **_cited(f),
                path=f.path,
                type=f.type,
                name=f.name,
                name_en=f.name_en,
                unit=f.unit,
                evidence=list(f.evidence),
                verified_at=list(f.verified_at),
                asked=f.asked,
            )
            for f in p.facts
        ],
        amounts=[
            AmountOutline(**_cited(a), fact=a.fact, values=[(v.since, v.value) for v in a.values])
            for a in p.amounts
        ],
        defaults=[
            DefaultOutline(path=d.path, value=d.value, why=d.why) for d in defaults_applying(p)
        ],
    )


# -- versions ------------------------------------------------------------------------------


class UnknownPackRefError(LookupError):
    """No such pack or pinned version. ``known`` lists the packaged pack ids; ``versions`` the
    pinned refs of the pack named, if any."""

    def __init__(self, what: str, known: list[str], versions: list[str]) -> None:
        self.what = what
        self.known = known
        self.versions = versions
        detail = f"{what} was not found; known packs: {', '.join(known) or 'none'}"
        if versions:
            detail += f"; pinned versions: {', '.join(versions)}"
        super().__init__(detail)


@dataclass(frozen=True)
class ResolvedPack:
    """A pack version as data: ``data`` is the merged pack's JSON (without hash and ref)."""

    ref: str
    pack_id: str
    version: str
    content_hash: str
    data: dict[str, Any]
    current: bool  # the pack in force has this content
    first_used_at: datetime | None  # when a case first pinned it; None if none has


async def in_force(session: AsyncSession, pack_id: str) -> PolicyPack | None:
    """The pack ``pack_id`` in force (store.packs), or None (also for a string that is not an
    id)."""
    if not _PACK_ID.fullmatch(pack_id):
        return None
    return (await packs_in_force(session)).find(pack_id)


async def ids_in_force(session: AsyncSession) -> list[str]:
    return (await packs_in_force(session)).ids()


async def pinned_versions(session: AsyncSession, pack_id: str) -> list[PolicyPackVersion]:
    """The versions of ``pack_id`` that cases were opened under, newest first."""
    rows = await session.scalars(
        select(PolicyPackVersion)
        .where(PolicyPackVersion.pack_id == pack_id)
        .order_by(PolicyPackVersion.first_used_at.desc(), PolicyPackVersion.ref)
    )
    return list(rows)


async def resolve_ref(session: AsyncSession, ref: str) -> ResolvedPack:
    """``ref`` is a pack id (its version in force) or a pinned ``id@version#hash12`` (from
    ``policy_pack_versions``, or the version in force when it has that ref). Raises
    :class:`UnknownPackRefError`."""
    pack_id, at, _ = ref.partition("@")
    current = await in_force(session, pack_id)
    if not at:
        if current is None:
            raise UnknownPackRefError(f"policy pack {ref!r}", await ids_in_force(session), [])
        return _from_pack(current, None)
    row = await session.get(PolicyPackVersion, ref)
    if row is not None:
        data = {k: v for k, v in dict(row.content).items() if k not in ("content_hash", "ref")}
        return ResolvedPack(
            ref=row.ref,
            pack_id=row.pack_id,
            version=row.version,
            content_hash=row.content_hash,
            data=data,
            current=current is not None and current.content_hash == row.content_hash,
            first_used_at=row.first_used_at,
        )
    if current is not None and current.ref == ref:
        return _from_pack(current, None)
    versions: list[str] = []
    if _PACK_ID.fullmatch(pack_id):
        versions = [v.ref for v in await pinned_versions(session, pack_id)]
    raise UnknownPackRefError(f"policy pack version {ref!r}", await ids_in_force(session), versions)


def _from_pack(p: PolicyPack, first_used_at: datetime | None) -> ResolvedPack:
    return ResolvedPack(
        ref=p.ref,
        pack_id=p.id,
        version=p.version,
        content_hash=p.content_hash,
        data=p.model_dump(mode="json"),
        current=True,
        first_used_at=first_used_at,
    )


def diff_resolved(a: ResolvedPack, b: ResolvedPack) -> list[Change]:
    """What changes from version ``a`` to version ``b`` (the merged data, as
    :func:`domain.policy.diff.diff_packs` compares packs)."""
    return diff_data(a.data, b.data)


def change_json(c: Change) -> dict[str, Any]:
    """A change as JSON: ``path``, ``kind`` (added, removed, changed), ``before``, ``after``."""
    return {"path": c.path, "kind": c.kind, "before": c.before, "after": c.after}
