"""Materials (证明材料) received as files: one row per file a case holds for one item of its
pinned pack's evidence catalogue, with who handed it in, how, and the officer's judgement
(合格 / 不合格 and why). The bytes live in the file store (store/files.py) under
``content_hash``; the row is what ties them to the case.

A row is never deleted while its case is kept (a trigger refuses DELETE on both databases,
migration 0006): a file judged 不合格 stays, with its judgement, beside the one that replaced
it. The same bytes handed in twice for the same item are one row (the unique key), so a retried
upload adds nothing."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, UTCDateTime
from store.models import BigIntPK


class MaterialSource(StrEnum):
    """How a file came: the applicant online, at the counter (窗口受理), by an officer's own
    hand (a visit, a data print-out), or as a supplement after the one-time notice (补正)."""

    APPLICANT = "applicant"
    COUNTER = "counter"
    OFFICER = "officer"
    SUPPLEMENT = "supplement"


class Judgement(StrEnum):
    """An officer's judgement of one file: 合格 (accepted) or 不合格 (rejected, with a reason)."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"


class CaseMaterial(Base):
    __tablename__ = "case_materials"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    # A code of the case's pinned pack's evidence catalogue (PolicyPack.evidence).
    evidence_code: Mapped[str] = mapped_column(String(50))
    # SHA-256 hex of the bytes kept (an image as normalised), the name in the file store.
    content_hash: Mapped[str] = mapped_column(String(64))
    # An image's small JPEG preview in the file store; None for a PDF.
    preview_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    file_name: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(50))
    size_bytes: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))
    # None for the applicant's own uploads (no account).
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When a photo was taken, from its EXIF before the metadata was dropped (migration 0008);
    # None for a PDF, a scan, or a photo that does not say.
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    judgement: Mapped[str | None] = mapped_column(String(20), nullable=True)
    judgement_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    judged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    judged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        UniqueConstraint("case_id", "evidence_code", "content_hash"),
        # A case's materials in the order they came (the list, the counts).
        Index("ix_case_materials_case", "case_id", "uploaded_at", "id"),
        # Which cases hold a file (retention: a file goes only when no kept case holds it).
        Index("ix_case_materials_content_hash", "content_hash"),
    )
