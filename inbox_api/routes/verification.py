"""Quarterly verification (定期审验, 清新 三(三)2): the district's view of its batches — one per
district and period, opened by the quarterly Schedule — with counts of tasks created, completed,
cancelled (the person exited) and left, by township, and whether the due date (the end of the
quarter's first month) has passed with tasks left. The tasks themselves are worked in the inbox
(``/api/v1/tasks``, kind ``quarterly_verification``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from application.http import CurrentActor, SessionDep
from application.schemas.verification import (
    PERIOD,
    BatchDetailOut,
    BatchList,
    BatchOut,
    TownshipOut,
)
from application.services import verification as service

router = APIRouter(prefix="/api/v1/verification", tags=["verification"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such batch (or place) in your jurisdiction", **PROBLEM},
    422: {"description": "Invalid parameters", **PROBLEM},
}

BatchId = Annotated[
    str,
    Path(
        max_length=40,
        pattern=r"^[0-9A-Za-z]{1,12}-\d{4}-(0[1-9]|1[0-2])$",
        description="<district code>-<YYYY-MM>",
    ),
]


def _out(p: service.BatchProgress) -> dict[str, Any]:
    b = p.batch
    return {
        "id": b.id,
        "district_code": b.district_code,
        "district_name": b.district_name,
        "policy_pack_id": b.policy_pack_id,
        "period": b.period,
        "starts_on": b.starts_on,
        "due_on": b.due_on,
        "due_at": b.due_at,
        "status": b.status,
        "created": p.created,
        "completed": p.completed,
        "cancelled": p.cancelled,
        "left": p.left,
        "overdue": p.overdue,
    }


@router.get(
    "/batches", response_model=BatchList, summary="Verification batches", responses=NOT_FOUND
)
async def list_batches(
    session: SessionDep,
    actor: CurrentActor,
    district: Annotated[
        str | None,
        Query(
            max_length=12,
            pattern=r"^[0-9A-Za-z]{1,12}$",
            description="Only batches of districts inside this place (a code inside yours)",
        ),
    ] = None,
    period: Annotated[
        str | None, Query(pattern=PERIOD, description="The verification month, YYYY-MM")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> BatchList:
    """The batches of the districts inside your jurisdiction, newest period first, with their
    totals."""
    batches = await service.list_batches(
        session, actor, district=district, period=period, limit=limit
    )
    return BatchList(items=[BatchOut.model_validate(_out(p)) for p in batches])


@router.get(
    "/batches/{batch_id}",
    response_model=BatchDetailOut,
    summary="A verification batch by township",
    responses=NOT_FOUND,
)
async def get_batch(batch_id: BatchId, session: SessionDep, actor: CurrentActor) -> BatchDetailOut:
    """One batch with its progress by township (the district office last, when persons are
    followed there)."""
    p = await service.get_batch(session, actor, batch_id)
    return BatchDetailOut.model_validate(
        {
            **_out(p),
            "townships": [
                TownshipOut(
                    code=t.code,
                    name=t.name,
                    created=t.created,
                    completed=t.completed,
                    cancelled=t.cancelled,
                    left=t.left,
                )
                for t in p.townships
            ],
        }
    )
