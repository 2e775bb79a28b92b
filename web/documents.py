"""Printable documents with print CSS: the application form (认定表) as filled, the notice of
non-identification (不予认定就业困难人员告知书), the one-time notice of missing materials."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
