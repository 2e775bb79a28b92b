"""Assistance targets for supervisors (援助目标: 帮扶率, 年度清零, 退出原因): role ``supervisor``
(``admin`` may read too; anyone else gets 403 ``actor-not-allowed``), confined to the caller's
subtree with ``jurisdiction`` to drill down (404 ``not-found`` outside it) and the period as
``from``/``to`` Shanghai dates, both inclusive — the parameters and rules of
:mod:`inbox_api.routes.supervision`. The figures and their definitions are in
:mod:`application.services.assistance_targets`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from application.http import SessionDep, SupervisorActor
from application.services import assistance_targets as service, supervision
from application.services.assistance_targets import AssistanceTargetsOut
from inbox_api.routes.supervision import RESPONSES, From, JurisdictionCode, To

router = APIRouter(prefix="/api/v1/supervision", tags=["supervision"])


@router.get(
    "/assistance",
    summary="Assistance rate (帮扶率), clearance (年度清零) and exits by reason, with targets",
    response_model=AssistanceTargetsOut,
    responses=RESPONSES,
)
async def assistance_targets(
    session: SessionDep,
    actor: SupervisorActor,
    jurisdiction: JurisdictionCode = None,
    from_: From = None,
    to: To = None,
) -> AssistanceTargetsOut:
    """Per direct child of the place (and the place itself when people sit there) and in
    total: assistances active in the period, those with a service delivered within it and the
    assistance rate, those remaining at its end and those cleared (exited) within it, the
    period's exits by the packs' reason codes, and each pack's targets (``coverage_rate``,
    ``clearance``) measured on its own people with whether they are met."""
    now = datetime.now(UTC)
    return await service.targets(
        session, actor, code=jurisdiction, span=supervision.period(from_, to, now), now=now
    )
