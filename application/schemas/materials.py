"""Request and response schemas of a case's materials as files (``/api/v1/cases/{id}/
materials``): the upload's form fields, a file as listed, and a judgement (合格 / 不合格 with
its reason). The task page's judgement form is checked with the same model."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from application.schemas.cases import CODE_PATTERN
from application.schemas.common import Note500

# Who hands a file in through the staff API: at the counter for the applicant (窗口), or the
# officer's own (a visit's photo, a print-out). The applicant's own and supplements come
# through the public pages.
StaffSource = Literal["counter", "officer"]
EvidenceCode = Field(min_length=1, max_length=50, pattern=CODE_PATTERN)


class MaterialOut(BaseModel):
    """One file a case holds for one evidence item, and its judgement if any."""

    id: int
    case_id: str
    evidence_code: str
    evidence_name: str = Field(description="证明材料名称 from the case's pinned pack")
    file_name: str = Field(description="The name it was handed in under")
    media_type: Literal["image/jpeg", "image/png", "application/pdf"]
    size_bytes: int
    sha256: str = Field(description="SHA-256 of the bytes kept (an image as normalised)")
    source: Literal["applicant", "counter", "officer", "supplement"]
    uploaded_by: int | None
    uploaded_at: datetime
    taken_at: datetime | None = Field(
        default=None, description="When a photo was taken (its EXIF); null when unknown"
    )
    judgement: Literal["accepted", "rejected"] | None = Field(
        description="合格 (accepted) / 不合格 (rejected); null until judged"
    )
    judgement_reason: str | None
    judged_by: int | None
    judged_at: datetime | None
    file_url: str
    preview_url: str | None = Field(
        description="A small JPEG: of an image, or of a PDF's first page; null for a PDF that "
        "could not be rendered (or was handed in before PDFs had previews)"
    )


class MaterialUploadOut(MaterialOut):
    created: bool = Field(description="false: these bytes were already held for the item")


class MaterialListOut(BaseModel):
    items: list[MaterialOut]


class JudgementIn(BaseModel):
    """合格 (``accepted``) or 不合格 (``rejected``, with the reason the applicant will read)."""

    model_config = ConfigDict(extra="forbid")

    verdict: Literal["accepted", "rejected"]
    reason: Note500 | None = Field(default=None, description="不合格的原因 (required)")

    @model_validator(mode="after")
    def _rejection_says_why(self) -> JudgementIn:
        if self.verdict == "rejected" and not (self.reason or "").strip():
            raise ValueError("a rejection (不合格) needs its reason")
        return self
