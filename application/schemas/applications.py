"""An application (``POST /api/v1/applications``): the place and the applicant's facts in,
the stored case out."""

from __future__ import annotations

from pydantic import (
    BaseModel,
    Field,
    model_validator,
)

from domain.facts import ApplicantFacts


class ApplicationIn(BaseModel):
    jurisdiction_code: str = Field(description="The applicant's street/township or community code")
    policy_id: str | None = Field(
        default=None, description="Optional: must match the region's pack"
    )
    facts: ApplicantFacts

    @model_validator(mode="after")
    def _name_and_id_required(self) -> ApplicationIn:
        # The eligibility engine accepts partial facts; an application must name the person.
        missing = [f for f in ("name", "id_number") if not getattr(self.facts.person, f)]
        if missing:
            raise ValueError(
                "an application needs facts.person." + " and facts.person.".join(missing)
            )
        return self


class ApplicationOut(BaseModel):
    case_id: str
    workflow_id: str
    policy_pack_id: str
    policy_pack_ref: str
    status: str


class ChoiceOut(BaseModel):
    code: str = Field(description="The value to send in the facts, e.g. divorced")
    name_zh: str
    name_en: str


class QuestionOut(BaseModel):
    """One stated fact to ask (domain/questions.py)."""

    path: str = Field(description="Where the answer goes in `facts`, e.g. residence.hukou_local")
    type: str = Field(description="bool, int, float, date, enum or str")
    label_zh: str
    label_en: str
    group: str = Field(description="base_condition, exclusion or category: what it serves")
    rules: list[str] = Field(description="The pack rules that read it, e.g. category:disabled")
    choices: list[ChoiceOut] = Field(default_factory=list, description="For enum questions")
    unit_zh: str = ""
    unit_en: str = ""
    follows: str | None = Field(
        None, description="The yes/no question (path) whose yes this one follows, if asked"
    )
    pack_fact: bool = Field(
        False,
        description="A fact the place's pack declares for itself ([[facts]]): send the answer "
        "in `facts.pack_facts` under `path` (dates as YYYY-MM-DD)",
    )


class CategoryOut(BaseModel):
    code: str
    name: str
    name_en: str


class ApplicationQuestionsOut(BaseModel):
    """What an application at a place asks: the questions every applicant answers, and those
    of the category when one is named. Unanswered questions stay unknown (the officer checks
    them); the ID number gives the date of birth and sex, so they are not asked."""

    jurisdiction_code: str
    policy_pack_id: str
    policy_pack_ref: str
    category: str | None
    categories: list[CategoryOut]
    questions: list[QuestionOut]
