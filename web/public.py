"""The public application form (申请): anyone may apply online; the same service as the
officer's intake (``inbox_api.services.applications``)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
