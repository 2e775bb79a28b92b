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
