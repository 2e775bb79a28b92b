"""Supervision (督导): breaches of clocks in the caller's jurisdiction subtree."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from inbox_api.deps import CurrentActor, SessionDep
from store import repos

router = APIRouter(prefix="/api/v1/supervision", tags=["supervision"])


class BreachOut(BaseModel):
    case_id: str
    task_id: str | None
    clock: str
    event: str
    level: int
    jurisdiction_code: str
    escalation_task_id: str | None
    at: datetime


@router.get("/breaches", response_model=list[BreachOut])
async def breaches(
    session: SessionDep, actor: CurrentActor, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> list[BreachOut]:
    """Breach records (超时/逾期) in the caller's area, newest first."""
    rows = await repos.breaches_in_scope(session, actor.jurisdiction_path, limit)
    return [
        BreachOut(
            case_id=b.case_id,
            task_id=b.task_id,
            clock=b.clock,
            event=b.event,
            level=b.level,
            jurisdiction_code=b.jurisdiction_code,
            escalation_task_id=b.escalation_task_id,
            at=b.at,
        )
        for b in rows
    ]
