"""The policy-pack model (地区政策包): one validated pydantic tree per source document.

A :class:`PolicyPack` is the data form of one regional document: its citation, base conditions
(基本条件), evidence catalogue (证明材料), identification categories (认定类别) whose predicates are
data (:mod:`domain.policy.expr`), exclusions (不予认定情形), the identification procedure
(认定程序) as an ordered list of :class:`Stage` objects, clocks (时限), assistance standards
(援助标准), exit reasons (退出/注销情形), target groups (援助对象) and duties (工作要求). Every
rule object is :class:`Sourced`: it either cites its clause (``source``, with a short Chinese
``quote`` from the seed) or is an explicit administrator setting (``assumed = true`` plus a
``note``), never a silent guess. A pack is immutable; its :attr:`PolicyPack.content_hash` is
the sha256 of its canonical JSON, and :attr:`PolicyPack.ref` (``id@version#hash12``) is what a
case pins so that a later policy change never rewrites a running case.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from domain.assistance import refusal_limit_reached
from domain.facts import (
    PACK_FACT_PATH,
    RECORD_ONLY,
    ApplicantFacts,
    FactSpec,
    OwnFact,
    fact_catalogue,
    fact_values,
    own_facts,
    stated_facts,
)
from domain.policy.expr import Expr, ExprError, expr_to_data, parse_expr
from domain.retirement import add_months_clamped

__all__ = [
    "PUBLICITY_FIELDS",
    "AssistanceStandard",
    "BaseCondition",
    "Category",
    "Citation",
    "ClockName",
    "Clocks",
    "Duration",
    "Duty",
    "Evidence",
    "Exclusion",
    "ExitReason",
    "FraudHandling",
    "HouseholdAgeBand",
    "HouseholdDefinition",
    "Identification",
    "Level",
    "Objection",
    "PackFact",
    "PolicyPack",
    "Procedure",
    "PublicityField",
    "QuarterlyVerification",
    "Reexamination",
    "RefusalHandling",
    "RefusalLimit",
    "Role",
    "ServiceKind",
    "ServiceQuota",
    "Sla",
    "Sourced",
    "Stage",
    "StageKind",
    "SubsidyPeriodCap",
    "TargetGroup",
    "Transition",
    "Unit",
]

# --- vocabularies -------------------------------------------------------------------------

Unit = Literal["working_days", "calendar_days", "months"]
# 受理 / 部门信息共享 / 初审 / 入户核实 / 公示 / 复核认定 / 即时办结.
StageKind = Literal[
    "acceptance",
    "data_check",
    "initial_review",
    "home_visit",
    "publicity",
    "review",
    "immediate_conclusion",
]
STAGE_KINDS: tuple[StageKind, ...] = (
    "acceptance",
    "data_check",
    "initial_review",
    "home_visit",
    "publicity",
    "review",
    "immediate_conclusion",
)
# 基层经办人员 / 县(区)审核人员 / 信息系统.
Role = Literal["grassroots_officer", "county_reviewer", "system"]
# 社区(村) / 街道(乡镇) / 县(市、区) / 设区的市.
Level = Literal["community", "street", "county", "city"]
ServiceKind = Literal[
    "career_guidance",  # 职业指导
    "job_recommendation",  # 岗位推荐 / 职业介绍
    "training",  # 职业培训
    "startup_service",  # 创业服务
    "public_welfare_post",  # 公益性岗位
    "policy_subsidy",  # 政策扶持 (补贴)
    "policy_consultation",  # 政策咨询
    "internship",  # 就业见习
    "job_seeking_subsidy",  # 一次性求职创业补贴
]
ClockName = Literal[
    "identification_deadline",
    "supplement_deadline",
    "contact_check",
    "refusal_limit",
    "zero_employment_household_deadline",
    "quarterly_verification",
    "reidentification_cooldown",
    "subsidy_period_cap",
    # Assistance (援助) settings no seed gives a number for: administrator settings.
    "assistance_plan_deadline",
    "assistance_task_period",
    "assistance_visit_interval",
    "contact_reminder_lead",
    "service_standard_deadline",
    "service_gap_lead",
]
CLOCK_NAMES: tuple[ClockName, ...] = (
    "identification_deadline",
    "supplement_deadline",
    "contact_check",
    "refusal_limit",
    "zero_employment_household_deadline",
    "quarterly_verification",
    "reidentification_cooldown",
    "subsidy_period_cap",
    # Assistance (援助) settings no seed gives a number for: administrator settings.
    "assistance_plan_deadline",
    "assistance_task_period",
    "assistance_visit_interval",
    "contact_reminder_lead",
    "service_standard_deadline",
    "service_gap_lead",
)
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]


def _parse_when(value: Any) -> Expr:
    try:
        return parse_expr(value, "$")
    except ExprError as e:
        # The pydantic location already names the field (``categories[2].when``), so the
        # message keeps only the path inside the predicate (``all[1].gte: ...``).
        msg = str(e)
        msg = msg[2:] if msg.startswith("$.") else msg.removeprefix("$: ")
        raise ValueError(msg) from None


When = Annotated[
    Expr,
    PlainValidator(_parse_when),
    PlainSerializer(expr_to_data, return_type=dict[str, Any]),
    WithJsonSchema({"type": "object", "description": "predicate, see domain/policy/README.md"}),
]


# --- the citation rule --------------------------------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sourced(_Frozen):
    """A rule and where it comes from: ``source`` (document number + clause, e.g.
    ``吉人社发〔2022〕10号 二(四)``) with ``quote``, or ``assumed = true`` with a ``note`` for a
    value the seed does not state (an administrator setting). Both may be present: the clause
    that creates the rule plus an assumed value it leaves open."""

    source: str | None = None
    quote: str | None = None
    assumed: bool = False
    note: str | None = None

    @model_validator(mode="after")
    def _cited(self) -> Sourced:
        if self.assumed and not self.note:
            raise ValueError("an assumed value needs a `note` saying why and who may change it")
        if not self.source and not self.assumed:
            raise ValueError("every rule needs a `source` clause or `assumed = true` with a `note`")
        return self

    @property
    def citation(self) -> str:
        """The clause, or ``assumed: <note>`` for an administrator setting."""
        if self.source:
            return self.source + (" (assumed value)" if self.assumed else "")
        return f"assumed: {self.note}"


class Citation(_Frozen):
    """The source document of a pack."""

    title: str
    number: str
    issuer: str
    issued_on: date | None = None
    level: Literal["province", "city", "district"]
    seed_file: str | None = None


class Identification(Sourced):
    """How a pack identifies difficulty persons: by its own categories, or delegated to the
    prefecture-level cities (山东 二: 具体认定范围、办法由设区的市...统一规定)."""

    mode: Literal["by_categories", "delegated_to_city"]


# --- conditions, categories, evidence -----------------------------------------------------


class Evidence(Sourced):
    """One kind of proof (证明材料). ``data_sharing_replaces_paper``: a data-sharing finding on
    one of ``data_facts`` satisfies it; ``written_commitment_may_replace``: a signed 诚信申报承诺
    may stand in when neither paper nor data is available. ``replacement_source`` cites the
    clause that allows either replacement."""

    code: Code
    name: str
    name_en: str
    data_sharing_replaces_paper: bool = False
    data_facts: list[str] = Field(default_factory=list)
    written_commitment_may_replace: bool = False
    replacement_source: str | None = None
    # Only required when this holds for the applicant (unknown counts as required).
    required_when: When | None = None

    @model_validator(mode="after")
    def _replacement(self) -> Evidence:
        if self.data_sharing_replaces_paper and not self.data_facts:
            raise ValueError("data_sharing_replaces_paper needs `data_facts` naming the facts")
        if (
            self.data_sharing_replaces_paper or self.written_commitment_may_replace
        ) and not self.replacement_source:
            raise ValueError("a replacement of paper needs `replacement_source` (the clause)")
        for i, f in enumerate(self.data_facts):
            if f not in fact_catalogue():
                raise ValueError(f"data_facts[{i}]: unknown fact path {f!r}")
        return self


class PackFact(Sourced):
    """A fact this document turns on that the shared catalogue lacks (退役军人, 领取失业保险金
    月数): its path (``section.name``, used in predicates like any other), type, names, unit,
    the evidence that proves it and the stages whose officers verify it. The applicant is asked
    it on the form when a rule reads it, unless ``asked = false`` (only an officer can know)."""

    path: str
    type: Literal["bool", "int", "float", "date"]
    name: str
    name_en: str
    unit: str = ""
    unit_en: str = ""
    evidence: list[str] = Field(default_factory=list)
    verified_at: list[StageKind] = Field(default_factory=list)
    asked: bool = True

    @model_validator(mode="after")
    def _new_path(self) -> PackFact:
        if not PACK_FACT_PATH.fullmatch(self.path):
            raise ValueError(f"path: {self.path!r} is not section.name (lower case, a-z0-9_)")
        if self.path in _shared_paths():
            raise ValueError(
                f"path: {self.path!r} is a fact every pack shares; name the new fact differently"
            )
        if self.unit and self.type not in ("int", "float"):
            raise ValueError("unit: only a number fact has a unit")
        return self

    def own(self) -> OwnFact:
        return OwnFact(
            spec=FactSpec(self.path, self.type, self.name, self.name_en),
            unit=(self.unit, self.unit_en or self.unit),
            stages=frozenset(self.verified_at),
            evidence=tuple(self.evidence),
            asked=self.asked,
        )


def _shared_paths() -> frozenset[str]:
    # Read outside any pack's scope: the shared catalogue, record-only facts included.
    with own_facts(()):
        return frozenset({*fact_catalogue(), *stated_facts(), *RECORD_ONLY})


def _declared(raw: Any) -> list[OwnFact]:
    """The own facts a pack's raw data declares, read leniently: a malformed item is left to
    PackFact's own validation, which reports it with its place."""
    out: list[OwnFact] = []
    items = raw.get("facts") if isinstance(raw, Mapping) else None
    for item in items if isinstance(items, list) else []:
        if isinstance(item, PackFact):
            out.append(item.own())
            continue
        try:
            out.append(PackFact.model_validate(item).own())
        except ValueError:
            continue
    return out


class DatedValue(_Frozen):
    """One value of an amount and the day it takes effect."""

    since: date
    value: float = Field(ge=0)


def in_order(field: str, values: Sequence[DatedValue | DatedRate], what: str) -> None:
    """Dated values must be listed in the order they took effect, each on a later day."""
    for i in range(1, len(values)):
        day, before = values[i].since, values[i - 1].since
        if day <= before:
            raise ValueError(
                f"{field}[{i}].since: {day.isoformat()} is not after {before.isoformat()}; "
                f"list the {what} in the order they took effect"
            )


def in_effect(values: Sequence[DatedValue | DatedRate], day: date) -> float | None:
    """The value in effect on ``day`` (listed in order, see :func:`in_order`), None before
    the first."""
    current = None
    for v in values:
        if v.since <= day:
            current = v.value
    return current


class DatedRate(_Frozen):
    """One value of a rate (a share, above 0 and at most 1) and the day it takes effect."""

    since: date
    value: float = Field(gt=0, le=1)


class DatedAmount(Sourced):
    """An amount the office holds that changes within a document's life (当地最低工资标准,
    当地年人均收入): the pack supplies the fact on each decision date from the value in effect
    that day, where the application leaves it unknown (a stated or verified value stands).
    Before the first ``since`` the pack supplies nothing (the fact stays 待核实)."""

    fact: str
    values: list[DatedValue] = Field(min_length=1)

    @model_validator(mode="after")
    def _dated(self) -> DatedAmount:
        spec = fact_catalogue().get(self.fact)
        if spec is None:
            raise ValueError(f"fact: unknown fact path {self.fact!r}")
        if spec.derived or spec.type not in ("int", "float"):
            raise ValueError(f"fact: {self.fact} is not a stated number fact")
        in_order("values", self.values, "values")
        if spec.type == "int":
            for i, v in enumerate(self.values):
                if not float(v.value).is_integer():
                    raise ValueError(f"values[{i}].value: {self.fact} is a whole number")
        return self

    def on(self, day: date) -> float | int | None:
        """The value in effect on ``day`` (None before the first)."""
        current = in_effect(self.values, day)
        if current is None:
            return None
        return int(current) if fact_catalogue()[self.fact].type == "int" else current


class BaseCondition(Sourced):
    """A condition every applicant must meet (户籍/居住, 法定劳动年龄, 劳动能力, 就业意愿,
    登记失业)."""

    code: Code
    name: str
    name_en: str
    when: When
    evidence: list[str] = Field(default_factory=list)


class Category(Sourced):
    """An identification category (认定类别): met when ``when`` is true."""

    code: Code
    name: str
    name_en: str
    ordinal: str | None = None
    when: When
    evidence: list[str] = Field(default_factory=list)


class Exclusion(Sourced):
    """A ground for refusal (不予认定情形): hit when ``when`` is true. Without ``when`` it is a
    check an officer makes (e.g. "其他情形"), listed on every decision."""

    code: Code
    name: str
    name_en: str
    when: When | None = None


# --- procedure ----------------------------------------------------------------------------


class Sla(Sourced):
    """A task's service level: ``goal`` (the target) and ``deadline`` (the hard limit) in
    ``unit``; same meaning as :class:`domain.sla.SlaSpec`."""

    goal: int = Field(ge=1)
    deadline: int = Field(ge=1)
    unit: Unit = "working_days"

    @model_validator(mode="after")
    def _order(self) -> Sla:
        if self.deadline < self.goal:
            raise ValueError(f"deadline ({self.deadline}) must not be before goal ({self.goal})")
        return self


class Objection(Sourced):
    """Where an objection (异议) goes when the stage's own office cannot resolve it."""

    escalates_to: Level


class RefusalHandling(Sourced):
    """What happens when the stage refuses (不予认定): the reason is written on the form, the
    case may be returned to a lower level which informs the applicant, and a formal notice
    may be served."""

    reason_on_form: bool = False
    returns_to: Level | None = None
    informs_applicant: Level | None = None
    notice: str | None = None
    channels: list[str] = Field(default_factory=list)


# What a publicity notice (公示名单) may show of each person: 姓名, 公民身份号码 (masked),
# 性别, 申报类别, 所在地 (the place the application was filed: community or street), 公示期.
PublicityField = Literal["name", "masked_id", "sex", "category", "place", "period"]
PUBLICITY_FIELDS: tuple[PublicityField, ...] = (
    "name",
    "masked_id",
    "sex",
    "category",
    "place",
    "period",
)
# Stage kinds a procedure may hold more than once, each under its own ``id``: the
# intermediate review levels (社区初审, 街道复查/审核 …) and visits. The others are one step of
# the procedure each: its acceptance, data check, publicity and conclusion.
REPEATABLE_KINDS: frozenset[str] = frozenset({"initial_review", "home_visit"})
# The kinds that conclude the case (认定 / 不予认定): the procedure's last human stage.
CONCLUDING_KINDS: frozenset[str] = frozenset({"review", "immediate_conclusion"})


class Stage(Sourced):
    """One step of the identification procedure; the workflow iterates over these.

    ``id`` names the step within its pack (``community_review``, ``street_recheck``) where the
    procedure has more than one of a kind; it defaults to the kind, so that a pack with one
    stage of each kind keeps its stage codes, hashes and histories. ``document`` is the
    document the step produces (初审意见, 公示名单, 认定表), shown beside it. A publicity stage
    runs ``working_days`` — exactly, or at least (``minimum``): see :attr:`minimum` — and its
    notice shows ``shows`` of each person (default: every column of the list but sex)."""

    id: Code | None = None
    kind: StageKind
    name: str
    name_en: str
    role: Role
    level: Level
    sla: Sla
    document: str | None = None
    working_days: int | None = Field(None, ge=1)
    # 公示期不少于N个工作日: the notice states the minimum and stays posted for it; the stage
    # closes at the minimum's end (the office's report follows, as after an exact period).
    minimum: bool = False
    shows: list[PublicityField] | None = None
    checks: list[str] = Field(default_factory=list)
    objection: Objection | None = None
    refusal: RefusalHandling | None = None

    @model_validator(mode="after")
    def _publicity(self) -> Stage:
        if self.kind == "publicity" and self.working_days is None:
            raise ValueError("a publicity stage needs `working_days`")
        if self.kind != "publicity":
            for name in ("working_days", "shows"):
                if getattr(self, name) is not None:
                    raise ValueError(f"`{name}` is only for the publicity stage")
            if self.minimum:
                raise ValueError("`minimum` is only for the publicity stage")
        if self.shows is not None:
            if "name" not in self.shows:
                raise ValueError("shows: a publicity notice names the person (`name`)")
            for i, f in enumerate(self.shows):
                if f in self.shows[:i]:
                    raise ValueError(f"shows[{i}]: {f!r} is listed twice")
        return self

    @property
    def stage_id(self) -> str:
        """The stage's code within its pack: its ``id``, else its kind."""
        return self.id or self.kind

    @property
    def publicity_fields(self) -> tuple[PublicityField, ...]:
        """What the publicity notice shows of each person, in the notice's column order."""
        if self.shows is None:
            return ("name", "masked_id", "category", "place", "period")
        return tuple(f for f in PUBLICITY_FIELDS if f in self.shows)

    @property
    def objection_escalates_to(self) -> Level | None:
        return self.objection.escalates_to if self.objection else None


class Reexamination(Sourced):
    """The applicant's request for re-examination after a refusal (复查/复核申请), where the
    document provides one: within ``request_within`` working days of the refusal the applicant
    may ask the office at ``level`` to examine the case again; that office (``role``) decides
    within ``sla`` — identify, or uphold the refusal, told in ``document``. Without this
    section a refusal is final in the system (what the document does not provide is not
    offered)."""

    name: str = "复核"
    name_en: str = "re-examination"
    request_within: int = Field(ge=1)
    level: Level
    role: Role
    sla: Sla
    document: str | None = None


class Procedure(Sourced):
    """The ordered identification stages and where one may apply; ``reexamination``, the
    applicant's request after a refusal, where the document provides one."""

    apply_at: list[str] = Field(default_factory=list)
    stages: list[Stage]
    reexamination: Reexamination | None = None

    @model_validator(mode="after")
    def _stages(self) -> Procedure:
        if not self.stages:
            raise ValueError("stages: at least one stage is required")
        errors: list[str] = []
        kinds = [s.kind for s in self.stages]
        ids = [s.stage_id for s in self.stages]
        for i, (k, sid) in enumerate(zip(kinds, ids, strict=True)):
            if sid in ids[:i]:
                # Tasks, timeline entries and the stage map name a stage by its id.
                field = "id" if self.stages[i].id else "kind"
                errors.append(
                    f"stages[{i}].{field}: duplicate stage {sid!r}"
                    + ("; give each a distinct `id`" if k in REPEATABLE_KINDS else "")
                )
            elif k in kinds[:i] and k not in REPEATABLE_KINDS:
                errors.append(
                    f"stages[{i}].kind: a procedure has one {k!r} stage; further review "
                    "levels are `initial_review` stages, each with its own `id`"
                )
        concluding = [i for i, s in enumerate(self.stages) if s.kind in CONCLUDING_KINDS]
        human = [i for i, s in enumerate(self.stages) if s.role != "system"]
        if concluding and human and concluding[0] != human[-1]:
            # The conclusion ends the case: a stage after it would never run.
            errors.append(
                f"stages[{concluding[0]}].kind: the concluding stage "
                f"({kinds[concluding[0]]}) must be the procedure's last human stage"
            )
        if "immediate_conclusion" in kinds:
            named = [s.kind for s in self.stages if s.role != "system"]
            if named != ["immediate_conclusion"]:
                errors.append(
                    "an immediate_conclusion procedure has exactly one human stage, got "
                    + ", ".join(named)
                )
        if errors:
            raise ValueError("\n".join(errors))
        return self

    @property
    def kinds(self) -> list[StageKind]:
        return [s.kind for s in self.stages]

    def stage(self, kind: StageKind) -> Stage | None:
        """The first stage of ``kind``."""
        return next((s for s in self.stages if s.kind == kind), None)

    def stage_by_id(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.stage_id == stage_id), None)

    @property
    def single_stage(self) -> bool:
        """True for 即时办结 procedures (one human stage concludes at once)."""
        return "immediate_conclusion" in self.kinds


# --- clocks -------------------------------------------------------------------------------


class Duration(Sourced):
    """A period of ``value`` units. Working days need the holiday calendar (domain.calendar);
    calendar days and months are plain date arithmetic here."""

    value: int = Field(ge=0)
    unit: Unit

    def add_to(self, start: date) -> date:
        """``start`` plus this period for months/calendar days (working days: use the
        calendar)."""
        if self.unit == "months":
            return add_months_clamped(start, self.value)
        if self.unit == "calendar_days":
            return date.fromordinal(start.toordinal() + self.value)
        raise ValueError("working days need the holiday calendar (domain.calendar)")

    def elapsed(self, start: date, on: date) -> bool:
        """True when the full period from ``start`` has run by ``on`` (month/calendar units)."""
        return on >= self.add_to(start)


class RefusalLimit(Sourced):
    """``count`` refusals of public employment services within ``window_months`` (半年内3次)."""

    count: int = Field(ge=1)
    window_months: int = Field(ge=1)

    def reached(self, refusals: Sequence[date], on: date) -> bool:
        """True when at least ``count`` refusals fall in the window ending on ``on``
        (a refusal exactly ``window_months`` before ``on`` is outside it)."""
        return refusal_limit_reached(refusals, self.count, self.window_months, on)


class QuarterlyVerification(Sourced):
    """定期审验: lists go out at the start of each quarter's first month (Jan, Apr, Jul, Oct);
    results are due by the end of that month."""

    months: list[int] = Field(default_factory=lambda: [1, 4, 7, 10])

    def period(self, on: date) -> tuple[date, date]:
        """The verification period (first day, last day) of the quarter containing ``on``,
        or of the next one when ``on`` is past this quarter's first month."""
        for m in sorted(self.months):
            start = date(on.year, m, 1)
            end = add_months_clamped(start, 1).replace(day=1)
            end = date.fromordinal(end.toordinal() - 1)
            if on <= end:
                return start, end
        start = date(on.year + 1, min(self.months), 1)
        end = date.fromordinal(add_months_clamped(start, 1).toordinal() - 1)
        return start, end


class SubsidyPeriodCap(Sourced):
    """The cap on the assistance-policy subsidy period; ``cumulative`` across identifications
    (新余 第三条(二): 累计享受...不得超过)."""

    value: int = Field(ge=1)
    unit: Unit = "months"
    cumulative: bool = False


class Clocks(_Frozen):
    """Every time rule of a pack; a clock the pack does not have is ``None``."""

    identification_deadline: Duration | None = None
    supplement_deadline: Duration | None = None
    contact_check: Duration | None = None
    refusal_limit: RefusalLimit | None = None
    zero_employment_household_deadline: Duration | None = None
    quarterly_verification: QuarterlyVerification | None = None
    reidentification_cooldown: Duration | None = None
    subsidy_period_cap: SubsidyPeriodCap | None = None
    # 一人一策: the assistance plan is drawn up within this period of identification.
    assistance_plan_deadline: Duration | None = None
    # The time an officer has for an assistance task (visit, reminder, review, service gap).
    assistance_task_period: Duration | None = None
    # 定期走访: how often a visit task opens.
    assistance_visit_interval: Duration | None = None
    # How long before the contact limit (contact_check) the officer is reminded.
    contact_reminder_lead: Duration | None = None
    # The period, from identification, within which a service standard should be met.
    service_standard_deadline: Duration | None = None
    # How long before that deadline a standard not met raises a service-gap task.
    service_gap_lead: Duration | None = None

    def present(self) -> dict[str, Sourced]:
        """The clocks this pack has, by name."""
        out: dict[str, Sourced] = {}
        for name in CLOCK_NAMES:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


# --- assistance, exit, groups -------------------------------------------------------------


class ServiceQuota(_Frozen):
    kind: ServiceKind
    count: int = Field(ge=1)
    free: bool = False


class AssistanceStandard(Sourced):
    """What assistance must deliver: a service package ("131"), at least N offers for a
    group, a personalised plan (一人一策), a coverage rate or a clearance target."""

    code: Code
    name: str
    name_en: str
    kind: Literal["service_package", "personalised_plan", "coverage_rate", "clearance", "placement"]
    services: list[ServiceQuota] = Field(default_factory=list)
    applies_to: str | None = None
    minimum_rate: float | None = Field(None, gt=0, le=1)
    # A rate that changes within the document's life (95 % this year, 96 % from the next):
    # its values by the day each takes effect, instead of ``minimum_rate``.
    minimum_rates: list[DatedRate] = Field(default_factory=list)
    agreement: bool = False

    @model_validator(mode="after")
    def _dated_rates(self) -> AssistanceStandard:
        if self.minimum_rates and self.minimum_rate is not None:
            raise ValueError("minimum_rates: give either minimum_rate or its dated values")
        if self.minimum_rates and self.kind != "coverage_rate":
            raise ValueError("minimum_rates: only a coverage_rate standard has a rate")
        in_order("minimum_rates", self.minimum_rates, "rates")
        return self

    def rate_on(self, day: date) -> float | None:
        """The rate to reach as it stands on ``day``: the dated value in effect then (None
        before the first), else ``minimum_rate``."""
        return in_effect(self.minimum_rates, day) if self.minimum_rates else self.minimum_rate


class ExitReason(Sourced):
    """A reason to end the status (退出/注销). ``mode``: automatic (the system ends it when
    ``trigger`` happens) or manual (an officer verifies). ``basis_specific``: only for people
    identified under these category codes. ``fraud``: subsidies are recovered (see
    :class:`FraudHandling`). ``clock``: the clock that raises it (e.g. contact_check)."""

    code: Code
    name: str
    name_en: str
    ordinal: str | None = None
    mode: Literal["automatic", "manual"]
    trigger: (
        Literal[
            "employment_registration",
            "related_business",
            "verification",
            "unemployment_rules",
            "applicant_request",
            "clock",
        ]
        | None
    ) = None
    clock: ClockName | None = None
    may_reapply: bool
    basis_specific: list[str] = Field(default_factory=list)
    fraud: bool = False


class FraudHandling(Sourced):
    """Fraud (弄虚作假/骗取): recover subsidies and record in the credit system."""

    recover_subsidies: bool = True
    recover_from: Literal["month_after_due_exit", "unspecified"] = "unspecified"
    credit_record: bool = False


class TargetGroup(Sourced):
    """An assistance target group (援助对象) and who identifies its members."""

    code: Code
    name: str
    name_en: str
    identified_by: Literal["pack_categories", "city_rules", "pes_assessment", "event"]
    # How long a member stays in the group where the seed ties it to a period (the graduates'
    # 择业期, counted from leaving school); domain/target_groups.py applies it.
    period: Duration | None = None


class Duty(Sourced):
    """A procedural or management duty with no predicate or clock of its own
    (一次性告知, 不得增设无关证明, 主动筛查, 定期走访...)."""

    code: Code
    name: str
    name_en: str


# --- zero-employment households (零就业家庭) -------------------------------------------------

# Members who do not count when a household is judged (weifang 一(二): 在校学生、现役军人、
# 退休人员等除外).
MemberExclusion = Literal["student", "military", "retired"]


class HouseholdAgeBand(_Frozen):
    """An age band of the members who count (weifang 一(三): 男16至50周岁，女16至40周岁);
    both ends inclusive."""

    sex: Literal["male", "female"]
    min_age: int = Field(ge=0)
    max_age: int = Field(ge=0)


class HouseholdDefinition(Sourced):
    """What makes a household zero-employment under this pack (domain/households.py applies
    it). ``residence``: urban (城镇) or rural (农村) households. The members who count are those
    within ``age_bands`` (empty: the statutory working age), and, when
    ``only_able_and_willing``, able and willing to work, minus ``excluded_members``. The
    household is zero-employment when at least one member counts and none of them is employed
    (``employment = "secondary_tertiary"``: nobody in the household works in the secondary or
    tertiary industry), and the income conditions hold. ``categories`` are the pack's
    identification categories on this basis; when the household is cleared, those members'
    assistance opens an exit review for ``exit_reason``."""

    code: Code
    name: str
    name_en: str
    residence: Literal["urban", "rural"]
    age_bands: list[HouseholdAgeBand] = Field(default_factory=list)
    only_able_and_willing: bool = True
    excluded_members: list[MemberExclusion] = Field(default_factory=list)
    employment: Literal["any", "secondary_tertiary"] = "any"
    no_business_investment_property_income: bool = False
    # Annual income per capita at most this share of the local average (50%以下: ≤ 0.5).
    income_at_most_share_of_local_average: float | None = Field(None, gt=0, le=1)
    transfer_registration: bool = False
    categories: list[str] = Field(default_factory=list)
    exit_reason: str | None = None


# --- the ledger ---------------------------------------------------------------------------

LedgerLayout = Literal["one_person_one_file", "service_tracking"]


class LedgerRule(Sourced):
    """How the pack's ledger of persons (台账) is laid out when exported: ``one_person_one_file``
    where the document asks for 一人一册 (jilin 三(一)), one sheet of rows per person; without
    this section, ``service_tracking`` (one row per person with the services counted)."""

    layout: LedgerLayout


# --- a revision's persons already identified ------------------------------------------------

# What a revision does to the persons identified under an earlier one of the same pack:
# ``stay`` on the assistance rules they were identified under (the default), or ``move`` to
# this revision's from its first day.
TransitionMode = Literal["move", "stay"]


class Transition(Sourced):
    """``[transition]``: what a revision says of the persons already identified
    (本办法施行前已认定的…). ``assistance = "move"``: from the revision's first day their running
    assistance follows this revision's assistance rules (clocks, standards, exit reasons),
    keeping what is theirs (place, category, target group, dates); ``"stay"`` (the default,
    also without the section): they keep the rules of the revision they were identified under.
    Identification itself is never re-decided: a case stays pinned to the revision of its
    application day. A revision's own; a pack that ``extends`` another does not inherit it."""

    assistance: TransitionMode = "stay"


# --- the pack -----------------------------------------------------------------------------

# Stage fields that came after packs were pinned by running cases, at their defaults:
# left out of the canonical JSON so that those packs keep their hashes.
STAGE_DEFAULTS: dict[str, Any] = {"id": None, "document": None, "minimum": False, "shows": None}

KEYED_SECTIONS: tuple[str, ...] = (
    "base_conditions",
    "evidence",
    "categories",
    "exclusions",
    "assistance_standards",
    "exit_reasons",
    "target_groups",
    "duties",
    "households",
)


class PolicyPack(_Frozen):
    """One regional policy, fully merged with any parent (``extends``)."""

    _content_hash: str | None = PrivateAttr(default=None)  # see content_hash

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    version: str
    name: str
    name_en: str
    region: str
    # GB/T 2260 prefix of the jurisdiction ("22" Jilin, "3707" Weifang): local hukou test.
    region_code: str = Field(pattern=r"^\d{2,6}$")
    # The prefix the 本地户籍 test uses when it differs from the jurisdiction (a district
    # applying a province-wide hukou rule); defaults to ``region_code``.
    hukou_region_prefix: str | None = Field(None, pattern=r"^\d{2,6}$")
    extends: str | None = None
    source: Citation
    identification: Identification
    base_conditions: list[BaseCondition] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    common_evidence: list[str] = Field(default_factory=list)
    categories: list[Category] = Field(default_factory=list)
    exclusions: list[Exclusion] = Field(default_factory=list)
    procedure: Procedure | None = None
    clocks: Clocks = Field(default_factory=Clocks)
    assistance_standards: list[AssistanceStandard] = Field(default_factory=list)
    exit_reasons: list[ExitReason] = Field(default_factory=list)
    target_groups: list[TargetGroup] = Field(default_factory=list)
    duties: list[Duty] = Field(default_factory=list)
    fraud_handling: FraudHandling | None = None
    # 零就业家庭: how this pack defines a zero-employment household (urban, rural variant).
    households: list[HouseholdDefinition] = Field(default_factory=list)
    ledger: LedgerRule | None = None
    # Facts this document turns on that the shared catalogue lacks.
    facts: list[PackFact] = Field(default_factory=list)
    # Amounts the office holds, each with the days its values take effect.
    amounts: list[DatedAmount] = Field(default_factory=list)
    # A revision's first day (施行日期): applications from that day are decided under it,
    # those before under the revision it replaces. None: from the day it is put in force.
    effective_from: date | None = None
    # What this revision does to the persons identified under an earlier one.
    transition: Transition | None = None

    @field_validator("facts")
    @classmethod
    def _one_declaration_each(cls, facts: list[PackFact]) -> list[PackFact]:
        # Checked with the fields (not after them), so that it is reported beside whatever
        # the second declaration's type made of the predicates.
        seen: set[str] = set()
        for f in facts:
            if f.path in seen:
                raise ValueError(f"duplicate fact {f.path!r}")
            seen.add(f.path)
        return facts

    @model_validator(mode="wrap")
    @classmethod
    def _in_own_scope(cls, data: Any, handler: Any) -> Any:
        # The pack's predicates may name its own facts: they are in the catalogue while the
        # pack is validated (a pinned copy read back by a workflow included).
        with own_facts(_declared(data)):
            return handler(data)

    @model_validator(mode="after")
    def _consistent(self) -> PolicyPack:
        errors: list[str] = []
        for section in KEYED_SECTIONS:
            seen: set[str] = set()
            for i, item in enumerate(getattr(self, section)):
                if item.code in seen:
                    errors.append(f"{section}[{i}].code: duplicate code {item.code!r}")
                seen.add(item.code)
        known_ev = {e.code for e in self.evidence}

        def check_ev(where: str, codes: list[str]) -> None:
            for j, c in enumerate(codes):
                if c not in known_ev:
                    errors.append(
                        f"{where}[{j}]: unknown evidence code {c!r}; known: "
                        + (", ".join(sorted(known_ev)) or "none")
                    )

        check_ev("common_evidence", self.common_evidence)
        for i, f in enumerate(self.facts):
            check_ev(f"facts[{i}].evidence", f.evidence)
        amounts: set[str] = set()
        for i, a in enumerate(self.amounts):
            if a.fact in amounts:
                errors.append(f"amounts[{i}].fact: a second amount for {a.fact!r}")
            amounts.add(a.fact)
        for i, b in enumerate(self.base_conditions):
            check_ev(f"base_conditions[{i}].evidence", b.evidence)
        for i, c in enumerate(self.categories):
            check_ev(f"categories[{i}].evidence", c.evidence)
        cat_codes = {c.code for c in self.categories}
        present = self.clocks.present()
        for i, r in enumerate(self.exit_reasons):
            for j, basis in enumerate(r.basis_specific):
                if basis not in cat_codes:
                    errors.append(
                        f"exit_reasons[{i}].basis_specific[{j}]: unknown category {basis!r}"
                    )
            if r.clock is not None and r.clock not in present:
                errors.append(f"exit_reasons[{i}].clock: the pack has no clock {r.clock!r}")
        exit_codes = {r.code for r in self.exit_reasons}
        for i, h in enumerate(self.households):
            for j, basis in enumerate(h.categories):
                if basis not in cat_codes:
                    errors.append(f"households[{i}].categories[{j}]: unknown category {basis!r}")
            if h.exit_reason is not None and h.exit_reason not in exit_codes:
                errors.append(f"households[{i}].exit_reason: unknown exit reason {h.exit_reason!r}")
        if self.identification.mode == "by_categories":
            if not self.categories:
                errors.append("categories: a pack that identifies by categories needs some")
            if not self.base_conditions:
                errors.append("base_conditions: a pack that identifies by categories needs some")
            if self.procedure is None:
                errors.append("procedure: a pack that identifies by categories needs one")
        elif self.categories:
            errors.append("categories: identification is delegated_to_city; define none")
        if errors:
            raise ValueError("\n".join(errors))
        return self

    # --- identity -------------------------------------------------------------------------

    def canonical_json(self) -> str:
        """Sorted-key, compact JSON of the merged pack: the input of the content hash."""
        data = self.model_dump(mode="json")
        if not data["households"]:
            # A pack without household definitions hashes as it did before the section
            # existed, so the copies pinned by running cases still verify.
            del data["households"]
        for late in ("ledger", "effective_from", "transition"):
            if data[late] is None:
                del data[late]  # likewise for the sections that came later
        for late_list in ("facts", "amounts"):
            if not data[late_list]:
                del data[late_list]
        for standard in data["assistance_standards"]:
            if not standard["minimum_rates"]:
                del standard["minimum_rates"]  # likewise for dated rates
        if data["procedure"] is not None:
            if data["procedure"]["reexamination"] is None:
                del data["procedure"]["reexamination"]
            for stage in data["procedure"]["stages"]:
                # The stage fields of #23 (ids, documents, minimum publicity and its
                # content), likewise, where a pack leaves them at their defaults.
                for late, default in STAGE_DEFAULTS.items():
                    if stage[late] == default:
                        del stage[late]
        return json.dumps(
            data,
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @property
    def content_hash(self) -> str:
        """sha256 (hex) of :meth:`canonical_json`; a parent's change changes the child's.
        Computed once per instance: an application's intake and every assessment ask for the
        pack's ref, and dumping the whole pack for it was 8 % of the worker's busy time under
        the officers' load (#22). The pack is frozen; a copy starts without it
        (:meth:`model_copy`)."""
        if self._content_hash is None:
            self._content_hash = hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()
        return self._content_hash

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy, whose content hash is computed afresh: ``update`` changes the content."""
        copy = super().model_copy(update=update, deep=deep)
        copy._content_hash = None
        return copy

    @property
    def ref(self) -> str:
        """``id@version#hash12``: what a case pins."""
        return f"{self.id}@{self.version}#{self.content_hash[:12]}"

    # --- its own facts ----------------------------------------------------------------------

    @property
    def own_facts(self) -> tuple[OwnFact, ...]:
        return tuple(f.own() for f in self.facts)

    def amounts_on(self, day: date) -> dict[str, float | int]:
        """The pack's dated amounts in effect on ``day``, by fact path."""
        with self.fact_scope():
            out = {a.fact: a.on(day) for a in self.amounts}
        return {path: value for path, value in out.items() if value is not None}

    def values_of(self, facts: ApplicantFacts, on: date) -> dict[str, Any]:
        """Every predicate fact's value for ``facts`` decided on ``on`` under this pack: its
        own facts in scope, its dated amounts supplied, the hukou tested against its region.
        The one way the pre-check, its explanation and the task forms read facts."""
        with self.fact_scope():
            return fact_values(facts, on, self.hukou_prefix, supplied=self.amounts_on(on))

    def fact_scope(self) -> AbstractContextManager[None]:
        """``with pack.fact_scope():`` — the catalogue, questions, verification inputs and
        fact values include this pack's own facts (domain.facts.own_facts)."""
        return own_facts(self.own_facts)

    def to_json(self) -> dict[str, Any]:
        """The full merged pack as JSON data, with ``content_hash`` and ``ref`` added so that
        :func:`domain.policy.loader.pack_from_json` can verify the data it is given."""
        data = self.model_dump(mode="json")
        data["content_hash"] = self.content_hash
        data["ref"] = self.ref
        return data

    # --- lookups --------------------------------------------------------------------------

    @property
    def hukou_prefix(self) -> str:
        """The region-code prefix of a local hukou for this pack."""
        return self.hukou_region_prefix or self.region_code

    @property
    def issuer(self) -> str:
        return self.source.issuer

    @property
    def moves_assistance(self) -> bool:
        """The revision moves the persons already identified to its assistance rules."""
        return self.transition is not None and self.transition.assistance == "move"

    def category(self, code: str) -> Category | None:
        return next((c for c in self.categories if c.code == code), None)

    def evidence_item(self, code: str) -> Evidence | None:
        return next((e for e in self.evidence if e.code == code), None)

    def exit_reason(self, code: str) -> ExitReason | None:
        return next((r for r in self.exit_reasons if r.code == code), None)

    def household_definition(self, code: str) -> HouseholdDefinition | None:
        return next((h for h in self.households if h.code == code), None)
