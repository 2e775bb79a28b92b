"""Administration pages: users and roles, calendar years, department data imports, policy
packs."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
