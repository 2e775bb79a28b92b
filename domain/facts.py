"""Applicant facts (申请人信息): the one schema every eligibility pre-check reads.

An :class:`ApplicantFacts` holds what the office knows about an applicant for identification as
a person with employment difficulty (就业困难人员): the person (个人), residence (户籍/居住),
unemployment registration (失业登记), household (家庭), land (土地), graduate status (高校毕业生),
economic activity (经济活动), paper evidence handed in (纸质材料), findings from department data
sharing (部门信息共享) and whether a written integrity commitment (诚信申报承诺) was signed. Unknown
facts are ``None`` and stay unknown (the policy-pack predicates use three-valued logic), so an
officer sees "not stated" rather than a silent "no". Policy packs refer to facts by dotted path
(``person.age``); :func:`fact_catalogue` lists every path with its type, including the *derived*
facts computed for a decision date by :func:`derive_facts` (age, working age, months
unemployed, ...). The application form also records what no condition reads: the hukou
address (户籍地址), the contact telephone (联系电话) and the employment wishes (就业创业意愿);
they are stated facts (:func:`stated_facts`) but not predicate facts, so no policy pack or
department finding can name them. What every pack shares of each fact — labels, plain names,
units, the sources of derived facts, the stages that verify it, the names of choices — is
declared in data, ``domain/facts.toml`` (read and checked against the models at import). The
JSON Schema published as ``domain/applicant_facts.schema.json`` is generated from the models
and that file by :func:`applicant_facts_json_schema`.
"""

from __future__ import annotations

import enum
import json
import re
import tomllib
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from domain.ids import (
    PhoneNumberError,
    ResidentIdError,
    completed_years,
    parse_phone,
    parse_resident_id,
)
from domain.retirement import RetirementCategory, add_months_clamped, default_category, working_age
from domain.text import clean_line, person_name
from domain.vocabulary import TaskKind

__all__ = [
    "DERIVED_FROM",
    "EMPLOYMENT_INTENTIONS",
    "FACT_NAMES",
    "FACT_UNITS",
    "HUKOU_ADDRESS_MAX_LENGTH",
    "INTENTION_OTHER_MAX_LENGTH",
    "RECORD_ONLY",
    "VERIFIABLE",
    "ApplicantFacts",
    "DataFinding",
    "Economic",
    "EmploymentIntention",
    "FactInput",
    "FactSpec",
    "FactValueError",
    "Graduate",
    "Household",
    "Land",
    "OwnFact",
    "Person",
    "Residence",
    "Unemployment",
    "Verifiable",
    "applicant_facts_json_schema",
    "applicant_facts_json_schema_text",
    "completed_months",
    "derive_facts",
    "fact_catalogue",
    "fact_input",
    "fact_values",
    "format_validation_error",
    "inputs_to_verify",
    "merge_verified",
    "own_fact",
    "own_facts",
    "pack_fact_problems",
    "parse_fact_value",
    "set_stored_fact",
    "sources_of",
    "stage_inputs",
    "stated_facts",
    "stated_value",
    "stored_fact",
    "unit_of",
    "verifiable",
    "verified_paths",
    "with_supplied",
]

Sex = Literal["male", "female"]
# 婚否: 已婚 / 未婚 / 离婚 / 丧偶.
MaritalStatus = Literal["married", "unmarried", "divorced", "widowed"]
# 文化程度 of a graduate: 中专 / 大专(专科) / 本科 / 研究生.
GraduateLevel = Literal["secondary_vocational", "junior_college", "bachelor", "postgraduate"]
# 就业创业意愿, the choices of the seeds' application form (新余市就业困难人员认定申请表):
# 就业推荐 / 就业（创业）培训 / 创业服务 / 公益性岗位安置 / 灵活就业（社会保险补贴）/ 其他.
EmploymentIntention = Literal[
    "job_referral",
    "training",
    "entrepreneurship_service",
    "public_welfare_post",
    "flexible_employment",
    "other",
]
EMPLOYMENT_INTENTIONS: tuple[EmploymentIntention, ...] = typing.get_args(EmploymentIntention)
FindingValue = bool | int | float | str | date | None

# Free-text bounds: a Chinese address down to the room fits in well under 100 characters.
HUKOU_ADDRESS_MAX_LENGTH = 100
INTENTION_OTHER_MAX_LENGTH = 50
# A pack's own facts ([[facts]]): ``section.name``, a few per document.
PACK_FACT_PATH = re.compile(r"[a-z][a-z_]*\.[a-z][a-z0-9_]*")
MAX_PACK_FACTS = 50


class _Facts(BaseModel):
    # extra="forbid": a misspelt key in an intake JSON is an error, not a silently unknown fact.
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Section(_Facts):
    """A section of the application's facts: its fields' labels are the catalogue's
    (domain/facts.toml), put into the JSON schema when it is generated."""

    model_config = ConfigDict(
        json_schema_extra=lambda schema, model: _section_labels(schema, model)
    )


class Person(_Section):
    """个人基本信息. ``birth_date`` and ``sex`` are taken from the ID number when absent."""

    name: str | None = None
    id_number: str | None = None
    sex: Sex | None = None
    birth_date: date | None = None
    ethnicity: str | None = None
    political_status: str | None = None
    education: str | None = None
    marital_status: MaritalStatus | None = None
    retirement_category: RetirementCategory | None = None
    able_to_work: bool | None = None
    willing_to_work: bool | None = None
    receiving_pension: bool | None = None
    # Stated by older applications; children_birth_dates, when known, decides instead.
    raising_minor_child: bool | None = None
    # The primary fact: whether a child is under 18 depends on the decision date.
    children_birth_dates: list[date] | None = Field(None, max_length=20)
    released_prisoner: bool | None = None
    disability_certificate: bool | None = None
    # Stored as domain.ids.parse_phone gives it: 13812345678 or 0536-1234567.
    phone: str | None = None
    # Any of them means willing_to_work (see _intentions_mean_willing).
    employment_intentions: list[EmploymentIntention] = Field(default_factory=list)
    employment_intentions_other: str | None = None

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return parse_phone(value)
        except PhoneNumberError as e:
            raise ValueError(str(e)) from None

    @field_validator("employment_intentions")
    @classmethod
    def _unique_intentions(cls, value: list[EmploymentIntention]) -> list[EmploymentIntention]:
        repeated = sorted({v for v in value if value.count(v) > 1})
        if repeated:
            raise ValueError(f"each intention at most once: {', '.join(repeated)} repeated")
        return value

    @field_validator("employment_intentions_other")
    @classmethod
    def _other_text(cls, value: str | None) -> str | None:
        return clean_line(value, INTENTION_OTHER_MAX_LENGTH)

    @field_validator("name")
    @classmethod
    def _name_text(cls, value: str | None) -> str | None:
        return person_name(value)

    @model_validator(mode="after")
    def _intentions_mean_willing(self) -> Person:
        if self.employment_intentions_other and "other" not in self.employment_intentions:
            raise ValueError(
                "employment_intentions_other is given but 'other' is not among "
                "employment_intentions"
            )
        if self.employment_intentions:
            # Ticking a 就业创业意愿 on the form is how an applicant states 有就业意愿.
            if self.willing_to_work is False:
                raise ValueError("willing_to_work is false but employment_intentions are given")
            object.__setattr__(self, "willing_to_work", True)
        return self

    @field_validator("id_number")
    @classmethod
    def _valid_id(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return parse_resident_id(value).number
        except ResidentIdError as e:
            # The ID module's message is the user-facing one (e.g. "check digit is 1 but ...").
            raise ValueError(str(e)) from None

    @model_validator(mode="after")
    def _consistent_with_id(self) -> Person:
        if self.id_number is None:
            return self
        rid = parse_resident_id(self.id_number)
        if self.birth_date is not None and self.birth_date != rid.birth_date:
            raise ValueError(
                f"birth_date {self.birth_date.isoformat()} does not match the ID number "
                f"({rid.birth_date.isoformat()})"
            )
        if self.sex is not None and self.sex != rid.sex:
            raise ValueError(f"sex {self.sex!r} does not match the ID number ({rid.sex!r})")
        # Frozen model: fill the derived values in place once, at validation.
        object.__setattr__(self, "birth_date", rid.birth_date)
        object.__setattr__(self, "sex", rid.sex)
        return self


class Residence(_Section):
    """户籍与居住."""

    hukou_region_code: str | None = Field(None, pattern=r"^\d{6}$")
    hukou_local: bool | None = None
    urban: bool | None = None
    resided_locally_months: int | None = Field(None, ge=0)
    resided_locally_since: date | None = None
    local_social_insurance_months_excluding_back_pay: int | None = Field(None, ge=0)
    local_social_insurance_months: int | None = Field(None, ge=0)
    local_social_insurance_back_paid_months: int | None = Field(None, ge=0)
    hukou_address: str | None = None

    @field_validator("hukou_address")
    @classmethod
    def _address_text(cls, value: str | None) -> str | None:
        return clean_line(value, HUKOU_ADDRESS_MAX_LENGTH)

    @model_validator(mode="after")
    def _back_pay_within_total(self) -> Residence:
        total, back = (
            self.local_social_insurance_months,
            self.local_social_insurance_back_paid_months,
        )
        if total is not None and back is not None and back > total:
            raise ValueError(
                f"local_social_insurance_back_paid_months ({back}) exceeds "
                f"local_social_insurance_months ({total})"
            )
        return self


class Unemployment(_Section):
    """失业登记."""

    registered: bool | None = None
    registered_on: date | None = None
    unemployed_since: date | None = None
    employment_card_no: str | None = None
    employer_social_insurance_during_unemployment: bool | None = None
    laid_off_from_state_enterprise: bool | None = None
    transfer_registered: bool | None = None


class Household(_Section):
    """家庭情况."""

    zero_employment: bool | None = None
    has_business_investment_or_property_income: bool | None = None
    rural_zero_transfer: bool | None = None
    annual_income_per_capita: float | None = Field(None, ge=0)
    local_average_annual_income_per_capita: float | None = Field(None, ge=0)
    minimum_living_allowance: bool | None = None
    low_income_edge: bool | None = None
    poverty_alleviated: bool | None = None
    monitoring_target: bool | None = None


class Land(_Section):
    """土地征收."""

    landless_by_expropriation: bool | None = None
    all_contracted_land_expropriated: bool | None = None


class Graduate(_Section):
    """高校毕业生."""

    is_graduate: bool | None = None
    level: GraduateLevel | None = None
    full_time_domestic: bool | None = None
    left_school_on: date | None = None
    ever_employed: bool | None = None
    difficulty_certificate: bool | None = None


class Economic(_Section):
    """经济活动 (不予认定情形)."""

    has_labour_relation: bool | None = None
    employer_social_insurance_now: bool | None = None
    business_licence: bool | None = None
    legal_representative_or_officer_elsewhere: bool | None = None
    has_stable_income: bool | None = None
    stable_monthly_income: float | None = Field(None, ge=0)
    local_minimum_wage: float | None = Field(None, ge=0)


class DataFinding(_Facts):
    """One result of department data sharing (部门信息共享), e.g. 残联 confirms the certificate.
    ``fact`` is a fact path (see :func:`fact_catalogue`)."""

    source: str = Field(title="数据来源部门", description="department / system, e.g. 民政低保系统")
    fact: str = Field(title="核查事项", description="fact path, e.g. person.disability_certificate")
    value: FindingValue = Field(title="核查结果", description="value found")
    checked_on: date = Field(title="核查日期", description="date of the check")

    @field_validator("fact")
    @classmethod
    def _known_fact(cls, value: str) -> str:
        if value not in fact_catalogue():
            raise ValueError(f"unknown fact path {value!r}")
        return value


class ApplicantFacts(_Facts):
    """Everything the eligibility pre-check reads about one applicant."""

    person: Person = Field(default_factory=Person, title="个人")
    residence: Residence = Field(default_factory=Residence, title="户籍与居住")
    unemployment: Unemployment = Field(default_factory=Unemployment, title="失业登记")
    household: Household = Field(default_factory=Household, title="家庭")
    land: Land = Field(default_factory=Land, title="土地")
    graduate: Graduate = Field(default_factory=Graduate, title="毕业生")
    economic: Economic = Field(default_factory=Economic, title="经济活动")
    evidence: list[str] = Field(
        default_factory=list,
        title="已提交纸质材料",
        description="codes of the evidence handed in on paper (see the policy pack)",
    )
    data_sharing: list[DataFinding] = Field(
        default_factory=list, title="部门信息共享核查结果", description="data-sharing findings"
    )
    written_commitment: bool = Field(
        False, title="已签署诚信申报承诺", description="signed a written integrity commitment"
    )
    requested_category: str | None = Field(
        None, title="申报困难人员类别", description="category code the applicant applies under"
    )
    pack_facts: dict[str, bool | int | float | str | None] = Field(
        default_factory=dict,
        title="本地政策规定的其他事项",
        description="facts the place's policy pack declares for itself ([[facts]]), by path; "
        "dates as YYYY-MM-DD; checked against the pack when the application is received",
    )

    @field_validator("pack_facts")
    @classmethod
    def _pack_fact_keys(
        cls, value: dict[str, bool | int | float | str | None]
    ) -> dict[str, bool | int | float | str | None]:
        # The shape only: which paths exist and their types are the pack's
        # (pack_fact_problems), known where the application is received.
        if len(value) > MAX_PACK_FACTS:
            raise ValueError(f"at most {MAX_PACK_FACTS} facts")
        for path, v in value.items():
            if not PACK_FACT_PATH.fullmatch(path):
                raise ValueError(f"{path!r} is not a fact path (section.name)")
            if isinstance(v, str) and len(v) > 20:
                raise ValueError(f"{path}: at most 20 characters")
        return value


# --- the fact catalogue -------------------------------------------------------------------
#
# Declared in data, in domain/facts.toml beside this module: each stated fact's labels, plain
# name, unit and whether it is record-only; the derived facts with what each is computed
# from; which decision stages verify which facts, by stating which primary facts; the names
# of enum values. The models above say only the application's JSON shape (sections, fields,
# types, limits); the two are checked against each other at import (_check_catalogue).

FactType = Literal["bool", "int", "float", "str", "date", "enum"]
CATALOGUE_FILE = Path(__file__).with_name("facts.toml")


class FactCatalogueError(ValueError):
    """domain/facts.toml disagrees with itself or with the models: names the file's line."""


@dataclass(frozen=True)
class FactSpec:
    """One fact path usable in policy-pack predicates."""

    path: str
    type: FactType
    label_zh: str
    label_en: str
    # For enum facts: the allowed values.
    choices: tuple[str, ...] = ()
    derived: bool = False


@dataclass(frozen=True)
class Verifiable:
    """A fact a pack reads (``fact``) that an officer verifies at ``stages`` by stating the
    primary facts ``inputs`` (the fact itself when it is stated, not derived)."""

    fact: str
    stages: frozenset[str]
    inputs: tuple[str, ...] = ()

    @property
    def entered(self) -> tuple[str, ...]:
        return self.inputs or (self.fact,)


@dataclass(frozen=True)
class FactCatalogue:
    """domain/facts.toml as read: what every pack shares (see the file's header)."""

    labels: dict[str, tuple[str, str]]  # stated facts (list fields too): (zh, en)
    types: dict[str, str]  # stated facts: the type the file declares
    record_only: frozenset[str]
    derived: tuple[FactSpec, ...]
    derived_from: dict[str, tuple[str, ...]]
    names: dict[str, tuple[str, str]]
    units: dict[str, tuple[str, str]]
    verifiable: tuple[Verifiable, ...]
    choices: dict[str, tuple[str, str]]


_TYPES = ("bool", "int", "float", "str", "date", "enum", "list")


def read_catalogue(path: Path) -> FactCatalogue:
    """The catalogue as the file at ``path`` says it, each entry's shape checked and the whole
    checked against the models; :class:`FactCatalogueError` naming the line otherwise."""
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text)

    def fail(needle: str, message: str) -> NoReturn:
        line = next((i for i, ln in enumerate(text.splitlines(), 1) if needle in ln), 0)
        raise FactCatalogueError(f"{path.name}:{line}: {message}")

    def pair(where: str, key: str, value: Any) -> tuple[str, str]:
        if not (
            isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)
        ):
            fail(where, f"{key}: [Chinese, English] expected")
        return value[0], value[1]

    labels: dict[str, tuple[str, str]] = {}
    types_: dict[str, str] = {}
    names: dict[str, tuple[str, str]] = {}
    units: dict[str, tuple[str, str]] = {}
    record_only: set[str] = set()
    derived: list[FactSpec] = []
    derived_from: dict[str, tuple[str, ...]] = {}
    for table in ("stated", "derived"):
        for fact, entry in data.get(table, {}).items():
            where = f'[{table}."{fact}"]'
            unknown = set(entry) - {"type", "zh", "en", "name", "unit", "record_only", "from"}
            if unknown or (table == "stated") == ("from" in entry):
                fail(where, f"{fact}: unknown or misplaced keys {sorted(unknown or {'from'})}")
            kind = entry.get("type")
            if kind not in (_TYPES if table == "stated" else _TYPES[:-1]):
                fail(where, f"{fact}: type must be one of {', '.join(_TYPES)}")
            zh, en = entry.get("zh"), entry.get("en")
            if not (isinstance(zh, str) and zh and isinstance(en, str) and en):
                fail(where, f"{fact}: zh and en labels are required")
            for key, into in (("name", names), ("unit", units)):
                if key in entry:
                    value = pair(where, key, entry[key])
                    if into.get(fact, value) != value:
                        fail(where, f"{fact}: {key} differs from the other entry's")
                    into[fact] = value
            if table == "stated":
                labels[fact], types_[fact] = (zh, en), kind
                if entry.get("record_only"):
                    record_only.add(fact)
            else:
                sources = entry["from"]
                if not (isinstance(sources, list) and sources):
                    fail(where, f"{fact}: from must list the facts it is computed from")
                derived.append(FactSpec(fact, kind, zh, en, derived=True))
                derived_from[fact] = tuple(sources)
    stage_sets: dict[str, frozenset[str]] = {}
    for name, kinds in data.get("stages", {}).items():
        try:
            stage_sets[name] = frozenset(TaskKind(k) for k in kinds)
        except ValueError as exc:
            fail(f"{name} =", f"stages.{name}: {exc}")
    verifiable = []
    for row in data.get("verifiable", []):
        fact = row.get("fact", "")
        where = f'fact = "{fact}"'
        if row.get("at") not in stage_sets:
            fail(where, f"verifiable {fact}: at must name a set of [stages]")
        verifiable.append(Verifiable(fact, stage_sets[row["at"]], tuple(row.get("with", ()))))
    choices = {k: pair(f"{k} =", f"choices.{k}", v) for k, v in data.get("choices", {}).items()}
    catalogue = FactCatalogue(
        labels,
        types_,
        frozenset(record_only),
        tuple(derived),
        derived_from,
        names,
        units,
        tuple(verifiable),
        choices,
    )
    _check_catalogue(catalogue, fail)
    return catalogue


def _check_catalogue(catalogue: FactCatalogue, fail: Callable[[str, str], NoReturn]) -> None:
    """The file against the models: every field of a section has its entry, of its type, and
    nothing else has one; what derived facts and verifications name exists."""
    fields: dict[str, str] = {}
    for section, model in _SECTION_MODELS.items():
        for name, sub in model.model_fields.items():
            spec = _scalar_spec(sub.annotation)
            fields[f"{section}.{name}"] = spec[0] if spec else "list"
    for path in catalogue.types:
        if path not in fields:
            fail(f'"{path}"]', f"{path}: no field of the application has this path")
    for path, kind in fields.items():
        if path not in catalogue.types:
            # named at its section's heading, where the entry belongs
            section = path.split(".", 1)[0]
            fail(f"# --- {section}:", f"{path}: a field of the application without its entry")
        if catalogue.types[path] != kind:
            fail(f'"{path}"]', f"{path}: type {catalogue.types[path]!r}, the field is {kind!r}")
    known = set(fields) | {d.path for d in catalogue.derived}
    for path, sources in catalogue.derived_from.items():
        for source in sources:
            if source not in known:
                fail(f'"{path}"]', f"{path}: computed from unknown fact {source!r}")
    for row in catalogue.verifiable:
        for path in (row.fact, *row.inputs):
            if path not in known:
                fail(f'"{row.fact}"', f"verifiable {row.fact}: unknown fact {path!r}")


def _section_labels(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """The JSON schema's title and description of each field of a section, from the file."""
    section = next(s for s, m in _SECTION_MODELS.items() if m is model)
    for name, prop in schema.get("properties", {}).items():
        zh, en = _CATALOGUE.labels[f"{section}.{name}"]
        prop["title"], prop["description"] = zh, en


def _scalar_spec(annotation: Any) -> tuple[FactType, tuple[str, ...]] | None:
    """Map a field annotation (``X | None`` stripped) to a fact type; None for non-scalars."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _scalar_spec(inner[0]) if len(inner) == 1 else None
    if origin is Literal:
        return "enum", tuple(str(a) for a in args)
    if origin is Annotated:
        return _scalar_spec(args[0])
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            return "enum", tuple(str(m.value) for m in annotation)
        simple: dict[type, FactType] = {bool: "bool", int: "int", float: "float", str: "str"}
        if annotation is date:
            return "date", ()
        if annotation in simple:
            return simple[annotation], ()
    return None


_SECTION_MODELS: dict[str, type[BaseModel]] = {
    section: field.annotation
    for section, field in ApplicantFacts.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, _Section)
}
_CATALOGUE = read_catalogue(CATALOGUE_FILE)

# The names of enum facts' values as forms and pages show them (Chinese, English).
CHOICE_NAMES: dict[str, tuple[str, str]] = _CATALOGUE.choices
# Stated facts that no condition reads: what the form records for contacting the applicant
# and for the assistance plan. Kept out of the fact catalogue so that a pack predicate or a
# department finding cannot name a telephone number.
RECORD_ONLY: frozenset[str] = _CATALOGUE.record_only
# Derived facts are computed per decision date and policy pack by derive_facts().
_DERIVED: tuple[FactSpec, ...] = _CATALOGUE.derived
# Plain names (Chinese, English) where a field's label reads as a form label: what officers
# read on the pre-check, the public form's questions and the verification inputs.
FACT_NAMES: dict[str, tuple[str, str]] = _CATALOGUE.names
# The unit of each number fact (Chinese, English): beside an input, after a value (48周岁).
FACT_UNITS: dict[str, tuple[str, str]] = _CATALOGUE.units
# What each derived fact (derive_facts) is computed from, in the order a form asks them.
DERIVED_FROM: dict[str, tuple[str, ...]] = _CATALOGUE.derived_from


# --- a pack's own facts ---------------------------------------------------------------------
#
# The catalogue above is what every pack shares. A document may turn on a fact no other does
# (退役军人, months of unemployment insurance, a disabled-veteran certificate): its pack declares
# it (``[[facts]]``, domain/policy/model.py PackFact) with its type, names, unit, the evidence
# that proves it and the stages that verify it. While a pack is validated or applied, its own
# facts are in scope (:func:`own_facts`; PolicyPack.fact_scope): the catalogue, the questions,
# the verification inputs and the values below then include them, so every consumer follows
# the pack without naming it. Their values are kept in ApplicantFacts.pack_facts, by path.


@dataclass(frozen=True)
class OwnFact:
    """A fact one pack declares: its spec, unit (Chinese, English), the stages that may
    verify it, the evidence that proves it and whether the applicant is asked it."""

    spec: FactSpec
    unit: tuple[str, str] = ("", "")
    stages: frozenset[str] = frozenset()
    evidence: tuple[str, ...] = ()
    asked: bool = True


_OWN: ContextVar[Mapping[str, OwnFact]] = ContextVar(
    "own_facts", default=types.MappingProxyType({})
)


@contextmanager
def own_facts(declared: Iterable[OwnFact]) -> Iterator[None]:
    """Put a pack's own facts in scope (nested scopes replace, never merge: one pack at a
    time is applied)."""
    token = _OWN.set({f.spec.path: f for f in declared})
    try:
        yield
    finally:
        _OWN.reset(token)


def _own() -> Mapping[str, OwnFact]:
    return _OWN.get()


def _own_elapsed() -> dict[str, FactSpec]:
    return _elapsed_of(own.spec for own in _own().values() if own.spec.type == "date")


def own_fact(path: str) -> OwnFact | None:
    """The pack in scope's own fact at ``path``, if it declares one."""
    return _own().get(path)


def sources_of(path: str) -> tuple[str, ...]:
    """The stated facts a derived fact is computed from (:data:`DERIVED_FROM`, and an own
    date's ``.months_since``/``.years_since`` from the date)."""
    if path in DERIVED_FROM:
        return DERIVED_FROM[path]
    start, _, suffix = path.rpartition(".")
    if suffix in ELAPSED_UNITS and start in _own():
        return (start,)
    return ()


def unit_of(path: str) -> tuple[str, str]:
    """The unit (Chinese, English) of a number fact, shared or the pack's own; ("", "")."""
    if path in FACT_UNITS:
        return FACT_UNITS[path]
    own = _own().get(path)
    if own is not None:
        return own.unit
    start, _, suffix = path.rpartition(".")
    if suffix in ELAPSED_UNITS and start in _own():
        return ELAPSED_UNITS[suffix][2:]
    return ("", "")


def stated_value(facts: ApplicantFacts, path: str) -> Any:
    """The value an application states for ``path`` (a pack's own fact read by its type)."""
    own = _own().get(path)
    if own is not None:
        raw = facts.pack_facts.get(path)
        try:
            return None if raw is None else _one(own.spec, raw)
        except FactValueError:
            return None  # checked on receipt (pack_fact_problems); an old shape stays unknown
    section, name = path.split(".", 1)
    return getattr(getattr(facts, section), name)


def with_supplied(facts: ApplicantFacts, supplied: Mapping[str, Any]) -> ApplicantFacts:
    """``facts`` with each of ``supplied`` set where it is unknown (None)."""
    data = facts.model_dump(mode="json")
    changed = False
    for path, value in supplied.items():
        if value is None or stored_fact(data, path) is not None:
            continue
        changed = True
        set_stored_fact(data, path, value)
    return ApplicantFacts.model_validate(data) if changed else facts


def set_stored_fact(stored: dict[str, Any], path: str, value: Any) -> None:
    """Set ``path`` in stored facts (JSON) to ``value``: a pack's own fact under
    ``pack_facts``, dates as YYYY-MM-DD (the counterpart of :func:`stored_fact`)."""
    if path in _own():
        stored.setdefault("pack_facts", {})[path] = _json(value)
    else:
        section, name = path.split(".", 1)
        stored.setdefault(section, {})[name] = _json(value)


def stored_fact(stored: Mapping[str, Any], path: str) -> Any:
    """The raw JSON value at ``path`` in stored facts (a pack's own fact under
    ``pack_facts``), or None."""
    if path in _own():
        own = stored.get("pack_facts")
        return own.get(path) if isinstance(own, dict) else None
    section, name = path.split(".", 1)
    part = stored.get(section)
    return part.get(name) if isinstance(part, dict) else None


def pack_fact_problems(facts: ApplicantFacts) -> list[tuple[str, str, str]]:
    """``(path, message, code)`` for each of ``facts.pack_facts`` that the pack in scope
    does not declare or that is not of its type."""
    out: list[tuple[str, str, str]] = []
    for path, raw in facts.pack_facts.items():
        own = _own().get(path)
        if own is None:
            out.append((path, "not a fact of this place's policy", "unknown_fact"))
        elif raw is not None:
            try:
                _one(own.spec, raw)
            except FactValueError as exc:
                out.append((path, str(exc), exc.code))
    return out


@cache
def _shared_catalogue() -> dict[str, FactSpec]:
    out = {p: s for p, s in _shared_stated().items() if p not in RECORD_ONLY}
    for d in _DERIVED:
        out[d.path] = d
    for d in elapsed_facts().values():
        out[d.path] = d
    return out


def fact_catalogue() -> dict[str, FactSpec]:
    """Every fact path a predicate may use: scalar fields of the nested models plus derived
    facts, and the own facts of the pack in scope. Lists (evidence, data findings, employment
    intentions) and the record-only facts (telephone, address: :data:`RECORD_ONLY`) are not
    predicate facts."""
    own = _own()
    if not own:
        return _shared_catalogue()
    return {**_shared_catalogue(), **{p: f.spec for p, f in own.items()}, **_own_elapsed()}


# Durations that say what they count from (#23): for every date an application states, the
# completed months and years from it to the decision date — ``unemployment.registered_on.
# months_since`` where a document counts from the (latest) registration, not from when the
# person became unemployed.
ELAPSED_UNITS: dict[str, tuple[str, str, str, str]] = {
    # suffix: (Chinese label, English label, Chinese unit, English unit)
    "months_since": ("起满月数", "months since", "个月", "months"),
    "years_since": ("起满年数", "years since", "年", "years"),
}


@cache
def elapsed_facts() -> dict[str, FactSpec]:
    """The derived ``<date fact>.months_since`` / ``.years_since`` facts, by path."""
    return _elapsed_of(
        s for p, s in _shared_stated().items() if s.type == "date" and p not in RECORD_ONLY
    )


def _elapsed_of(dates: Iterable[FactSpec]) -> dict[str, FactSpec]:
    """The completed months and years since each of ``dates``, as derived facts."""
    out: dict[str, FactSpec] = {}
    for spec in dates:
        for suffix, (zh, en, _zh_unit, _en_unit) in ELAPSED_UNITS.items():
            out[f"{spec.path}.{suffix}"] = FactSpec(
                f"{spec.path}.{suffix}",
                "int",
                f"自{spec.label_zh}{zh}",
                f"{en} {spec.label_en}",
                derived=True,
            )
    return out


def stated_facts() -> dict[str, FactSpec]:
    """Every scalar fact an application states, predicate or record-only, in the models'
    order, then the own facts of the pack in scope (what a page listing the applicant's
    answers shows; no derived facts)."""
    own = _own()
    if not own:
        return _shared_stated()
    return {**_shared_stated(), **{p: f.spec for p, f in own.items()}}


@cache
def _shared_stated() -> dict[str, FactSpec]:
    out: dict[str, FactSpec] = {}
    for section, model in _SECTION_MODELS.items():
        for name, sub in model.model_fields.items():
            spec = _scalar_spec(sub.annotation)
            if spec is None:
                continue
            path = f"{section}.{name}"
            zh, en = _CATALOGUE.labels[path]
            out[path] = FactSpec(path=path, type=spec[0], label_zh=zh, label_en=en, choices=spec[1])
    return out


# --- derived facts ------------------------------------------------------------------------


def completed_months(start: date, on: date) -> int | None:
    """Completed calendar months from ``start`` to ``on`` (None if ``on`` is before ``start``).
    A month is complete on the same day number of a later month, or that month's last day
    when the day does not exist (31 January → 28/29 February)."""
    if on < start:
        return None
    months = (on.year - start.year) * 12 + on.month - start.month
    if add_months_clamped(start, months) > on:
        months -= 1
    return months


def _hukou_in_jurisdiction(r: Residence, region_code: str | None) -> bool | None:
    if r.hukou_local is not None:
        return r.hukou_local
    if r.hukou_region_code is None or not region_code:
        return None
    return r.hukou_region_code.startswith(region_code)


def derive_facts(facts: ApplicantFacts, on: date, region_code: str | None) -> dict[str, Any]:
    """The derived facts on decision date ``on`` for a pack whose jurisdiction has the
    (prefix) administrative ``region_code``. Unknown inputs give ``None``, never a guess."""
    p = facts.person
    age: int | None = None
    within: bool | None = None
    retires: date | None = None
    if p.birth_date is not None and p.birth_date <= on:
        age = completed_years(p.birth_date, on)
        category = p.retirement_category or (default_category(p.sex) if p.sex else None)
        if category is not None:
            wa = working_age(p.birth_date, category, on)
            within, retires = wa.within, wa.retirement_date
    # Primary facts decide where they are known; the quantity stated by an older application
    # (or an intake JSON) stands otherwise, so stored cases keep their pre-check.
    raising = p.raising_minor_child
    if p.children_birth_dates is not None:
        # 抚养的未成年子女年龄在18周岁以下 (weifang 一(四)) on the decision date.
        raising = any(b <= on and completed_years(b, on) < 18 for b in p.children_birth_dates)
    r = facts.residence
    resided = r.resided_locally_months
    if r.resided_locally_since is not None:
        resided = completed_months(r.resided_locally_since, on)
    insured = r.local_social_insurance_months_excluding_back_pay
    total, back = r.local_social_insurance_months, r.local_social_insurance_back_paid_months
    if total is not None and back is not None:
        # 参加社会保险6个月以上（不含补缴月数）(weifang 一): back-paid months do not count.
        insured = max(0, total - back)
    u = facts.unemployment
    since = u.unemployed_since or u.registered_on
    g = facts.graduate
    e = facts.economic
    income_ok: bool | None = None
    if e.has_stable_income is False:
        income_ok = False
    elif e.stable_monthly_income is not None and e.local_minimum_wage is not None:
        income_ok = e.stable_monthly_income >= e.local_minimum_wage
    h = facts.household
    half: bool | None = None
    if h.annual_income_per_capita is not None and h.local_average_annual_income_per_capita:
        # "50%以下" includes 50 % itself (民法典 第一千二百五十九条: 以下 includes the number).
        half = h.annual_income_per_capita <= 0.5 * h.local_average_annual_income_per_capita
    return {
        "person.age": age,
        "person.within_working_age": within,
        "person.retirement_date": retires,
        "person.raising_minor_child": raising,
        "residence.resided_locally_months": resided,
        "residence.local_social_insurance_months_excluding_back_pay": insured,
        "unemployment.months_unemployed": None if since is None else completed_months(since, on),
        "graduate.years_since_leaving": (
            completed_years(g.left_school_on, on)
            if g.left_school_on is not None and g.left_school_on <= on
            else None
        ),
        "residence.hukou_in_jurisdiction": _hukou_in_jurisdiction(facts.residence, region_code),
        "economic.income_at_least_minimum_wage": income_ok,
        "household.income_at_most_half_local_average": half,
    }


def fact_values(
    facts: ApplicantFacts,
    on: date,
    region_code: str | None,
    supplied: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """All predicate facts (stated and derived) as a flat ``{path: value}`` mapping.
    ``supplied``: values the pack holds for facts the application leaves unknown (its dated
    amounts on ``on``: the local minimum wage); a stated or verified value stands."""
    if supplied:
        facts = with_supplied(facts, supplied)
    out: dict[str, Any] = {}
    for path, spec in fact_catalogue().items():
        if not spec.derived:
            out[path] = stated_value(facts, path)
    out.update(derive_facts(facts, on, region_code))
    for path in (*elapsed_facts(), *_own_elapsed()):
        start = out.get(path.rsplit(".", 1)[0])
        months = completed_months(start, on) if isinstance(start, date) else None
        out[path] = (
            None if months is None else months if path.endswith(".months_since") else months // 12
        )
    return out


# --- facts officers verify (核实) ---------------------------------------------------------
#
# An officer who checks a fact at a decision stage (the 户口簿 at the counter, the household on
# a home visit, the social-insurance record at the review) records it on the task's form. The
# table below is the one place that says which fact each stage may verify, and which primary
# facts the officer states for it: dates and counts the system computes from, never the
# quantity a pack compares (children's birth dates, not "raising a minor child").

# Which fact each stage may verify, by stating which primary facts (domain/facts.toml).
VERIFIABLE: tuple[Verifiable, ...] = _CATALOGUE.verifiable

InputKind = Literal["yes_no", "date", "dates", "number", "choice"]
_INPUT_OF_TYPE: dict[str, InputKind] = {
    "bool": "yes_no",
    "date": "date",
    "int": "number",
    "float": "number",
    "enum": "choice",
}
# Primary facts that are lists (not predicate facts, so not in the catalogue).
_LIST_INPUTS: dict[str, FactSpec] = {
    "person.children_birth_dates": FactSpec(
        "person.children_birth_dates",
        "date",
        "所抚养子女的出生日期",
        "birth dates of the children raised",
    ),
}
MAX_DATES = 20


@dataclass(frozen=True)
class FactInput:
    """One input of a task's form for a fact the officer verifies: its kind follows the
    fact's type (bool → 是/否, date → a day, int/float → a number with its unit, enum → a
    choice named by CHOICE_NAMES; a list of dates → several days)."""

    path: str
    kind: InputKind
    label_zh: str
    label_en: str
    # The fact this input lets the pack decide (the derived quantity where it is one).
    verifies: str
    unit_zh: str = ""
    unit_en: str = ""
    choices: tuple[str, ...] = ()
    integer: bool = False
    # The name of the fact it decides (``verifies``), where that is another fact: taken while
    # the pack is in scope, so a page needs no catalogue (nor the pack) to show it.
    verifies_zh: str = ""
    verifies_en: str = ""


def input_spec(path: str) -> FactSpec | None:
    """The spec of a primary fact an officer may enter: a stated fact (the pack's own
    included) or a list input."""
    return _LIST_INPUTS.get(path) or stated_facts().get(path)


def fact_input(path: str, verifies: str) -> FactInput:
    spec = input_spec(path)
    if spec is None:
        raise KeyError(path)
    kind: InputKind = "dates" if path in _LIST_INPUTS else _INPUT_OF_TYPE[spec.type]
    unit = unit_of(path)
    decided = fact_catalogue().get(verifies) if verifies != path else None
    return FactInput(
        path=path,
        kind=kind,
        label_zh=FACT_NAMES.get(path, (spec.label_zh, spec.label_en))[0],
        label_en=FACT_NAMES.get(path, (spec.label_zh, spec.label_en))[1],
        verifies=verifies,
        unit_zh=unit[0],
        unit_en=unit[1],
        choices=spec.choices,
        integer=spec.type == "int",
        verifies_zh=decided.label_zh if decided else "",
        verifies_en=decided.label_en if decided else "",
    )


def verifiable() -> tuple[Verifiable, ...]:
    """The shared table, then the pack's own facts at the stages it names; a derived
    ``.months_since``/``.years_since`` of an own date is verified by entering the date."""
    own = _own()
    if not own:
        return VERIFIABLE
    extra = [Verifiable(p, f.stages) for p, f in own.items() if f.stages]
    for path in _own_elapsed():
        start = own[path.rsplit(".", 1)[0]]
        if start.stages:
            extra.append(Verifiable(path, start.stages, (start.spec.path,)))
    return (*VERIFIABLE, *extra)


def stage_inputs(stage: str) -> dict[str, str]:
    """Every primary fact ``stage`` may verify → the fact it decides (the workflow's check)."""
    return {path: v.fact for v in verifiable() if stage in v.stages for path in v.entered}


def verified_paths() -> frozenset[str]:
    """Every primary fact any stage may verify."""
    return frozenset(path for v in verifiable() for path in v.entered)


def inputs_to_verify(stage: str, read: Iterable[str], values: Mapping[str, Any]) -> list[FactInput]:
    """The inputs a task of ``stage`` offers: one per primary fact of each fact the pack reads
    (``read``) that is still unknown in ``values`` (:func:`fact_values`: 待核实) and that
    ``stage`` may verify, in the table's order."""
    wanted = set(read)
    out: list[FactInput] = []
    seen: set[str] = set()
    for v in verifiable():
        if v.fact in wanted and stage in v.stages and values.get(v.fact) is None:
            for path in v.entered:
                if path not in seen:  # an own date and its .months_since ask the date once
                    seen.add(path)
                    out.append(fact_input(path, v.fact))
    return out


class FactValueError(ValueError):
    """A verified value that is not of its fact's type; ``code`` is stable for integrators."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


_YES = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _one(spec: FactSpec, raw: Any) -> Any:
    if spec.type == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _YES:
            return _YES[raw.strip().lower()]
        raise FactValueError("must be true or false", "bool_type")
    if spec.type == "date":
        if isinstance(raw, date):
            return raw
        try:
            return date.fromisoformat(str(raw).strip()) if isinstance(raw, str) else None
        except ValueError:
            pass
        raise FactValueError("must be a date (YYYY-MM-DD)", "date_type")
    if spec.type in ("int", "float"):
        number: float | int | None = None
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            number = raw
        elif isinstance(raw, str):
            try:
                number = float(raw.strip()) if spec.type == "float" else int(raw.strip())
            except ValueError:
                number = None
        if spec.type == "int" and isinstance(number, float):
            number = int(number) if number.is_integer() else None
        if number is None or number != number:  # NaN is not a number here
            word = "a whole number" if spec.type == "int" else "a number"
            raise FactValueError(f"must be {word}", f"{spec.type}_type")
        if number < 0:
            raise FactValueError("must not be negative", "greater_than_equal")
        return number if spec.type == "int" else float(number)
    if spec.type == "enum":
        if isinstance(raw, str) and raw in spec.choices:
            return raw
        raise FactValueError(f"must be one of {', '.join(spec.choices)}", "enum")
    raise FactValueError("cannot be verified", "not_verifiable")


def parse_fact_value(path: str, raw: Any) -> Any:
    """The value of a verified primary fact: booleans as true/false, dates as YYYY-MM-DD,
    numbers (never negative), a choice's code; a list of dates as a list (or one string of
    dates separated by commas or spaces, as a form sends it; 无/none for none). Raises
    FactValueError."""
    spec = input_spec(path)
    if spec is None:
        raise FactValueError("unknown fact", "unknown_fact")
    if path in _LIST_INPUTS:
        if isinstance(raw, str) and raw.strip().lower() in ("无", "none"):
            return []  # no children, as a form says it
        items = (
            raw.replace("，", ",").replace("、", ",").replace(",", " ").split()
            if isinstance(raw, str)
            else raw
        )
        if not isinstance(items, list):
            raise FactValueError("must be a list of dates (YYYY-MM-DD)", "list_type")
        if len(items) > MAX_DATES:
            raise FactValueError(f"at most {MAX_DATES} dates", "too_long")
        try:
            return sorted(_one(spec, i) for i in items)
        except FactValueError:
            raise FactValueError("must be a list of dates (YYYY-MM-DD)", "list_type") from None
    return _one(spec, raw)


def merge_verified(stored: Mapping[str, Any], verified: Mapping[str, Any]) -> dict[str, Any]:
    """The stored facts (JSON, any older shape) with the verified primary facts set in place,
    checked as :class:`ApplicantFacts` (raises ValidationError). Returns the JSON to store."""
    out: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in stored.items()}
    for path, value in verified.items():
        set_stored_fact(out, path, value)
    ApplicantFacts.model_validate(out)
    return out


def _json(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


# --- errors and schema --------------------------------------------------------------------


def format_validation_error(error: ValidationError) -> list[str]:
    """One ``loc: message`` line per error, e.g. ``person.id_number: check digit is 1 but
    should be 2`` (pydantic's "Value error, " prefix removed so the ID module's message reads
    as written)."""
    lines = []
    for err in error.errors():
        loc = ""
        for part in err["loc"]:
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        ctx = err.get("ctx") or {}
        msg = str(ctx["error"]) if "error" in ctx else err["msg"]
        lines.append(f"{loc}: {msg}" if loc else msg)
    return lines


def applicant_facts_json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`ApplicantFacts` plus an ``x-derived-facts`` map of the
    derived fact paths policy packs may also use."""
    schema = ApplicantFacts.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://yuanzhu.example/schemas/applicant_facts.schema.json"
    schema["x-derived-facts"] = {
        d.path: {"type": d.type, "title": d.label_zh, "description": d.label_en} for d in _DERIVED
    }
    return schema


def applicant_facts_json_schema_text() -> str:
    """The exact text of the checked-in ``domain/applicant_facts.schema.json``."""
    return json.dumps(applicant_facts_json_schema(), indent=2, ensure_ascii=False) + "\n"


# The elapsed facts' sources and units, beside the hand-written ones (the form asks the date).
for _path in elapsed_facts():
    _start, _suffix = _path.rsplit(".", 1)
    DERIVED_FROM[_path] = (_start,)
    FACT_UNITS[_path] = ELAPSED_UNITS[_suffix][2:]
