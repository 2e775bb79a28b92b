"""The supervisor's dashboard (督导): breaches, aging, workload, escalations and the
identification deadline hit rate, drilling down to the lists."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
