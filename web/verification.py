"""Quarterly verification pages (定期审验): ``/verification`` lists the batches of the districts
inside the user's subtree (filtered by district and period) with their progress — persons
found, tasks created, completed, cancelled because the person exited, left — their status and
whether they are overdue; ``/verification/{id}`` shows one batch by township, each township's
open tasks one click away in the inbox (its ``jurisdiction`` and kind filters, narrowed to the
batch's due day).

Figures and scope are :mod:`application.services.verification`'s, the service behind
``/api/v1/verification/batches``: a batch outside the subtree, or an id that cannot name one,
is the 404 page. A township officer sees no batch (the batch is the district's view); their
tasks are in their inbox.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from application.errors import not_found
from application.http import Actor, SessionDep
from application.schemas.verification import PERIOD
from application.services import verification as service
from domain.vocabulary import TaskKind
from web.admin import place_options
from web.common import PageActor, render
from web.i18n import gettext as _

router = APIRouter(include_in_schema=False)

BATCHES_SHOWN = 50
# The inbox is for these roles (web.inbox.InboxPage); others get no link into it.
INBOX_ROLES = ("grassroots_officer", "county_reviewer", "supervisor")
DISTRICT_LEVELS = ("county",)
BATCH_ID = re.compile(r"[0-9A-Za-z]{1,12}-\d{4}-(0[1-9]|1[0-2])")
PERIOD_RE = re.compile(PERIOD)


@dataclass
class BatchFilters:
    district: str = ""
    period: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def inbox_link(actor: Actor, batch: service.BatchProgress, code: str) -> str | None:
    """The open verification tasks of ``code`` (a township or the district) due on the
    batch's due day, in the inbox; None for a user without an inbox."""
    if actor.role not in INBOX_ROLES:
        return None
    day = batch.batch.due_on.isoformat()
    query = {
        "tab": "scope",
        "kind": TaskKind.QUARTERLY_VERIFICATION.value,
        "jurisdiction": code,
        "due_from": day,
        "due_to": day,
    }
    return f"/inbox?{urlencode(query)}"


@router.get("/verification", response_class=HTMLResponse)
async def batches_page(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    district: Annotated[str, Query(max_length=40)] = "",
    period: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """The batches, newest period first; a district outside the subtree is the 404 page."""
    filters = BatchFilters(district.strip(), period.strip())
    if filters.district and not re.fullmatch(r"[0-9A-Za-z]{1,12}", filters.district):
        filters.errors["district"] = _("请选择管辖范围内的县区")
    if filters.period and not PERIOD_RE.fullmatch(filters.period):
        filters.errors["period"] = _("请按“年-月”填写审验月份，例如 2025-01")
    batches: list[service.BatchProgress] = []
    if not filters.errors:
        batches = await service.list_batches(
            session,
            actor,
            district=filters.district or None,
            period=filters.period or None,
            limit=BATCHES_SHOWN,
        )
    districts = [p for p in await place_options(session, actor) if p.level in DISTRICT_LEVELS]
    return render(
        request,
        "verification/batches.html",
        status=422 if filters.errors else 200,
        actor=actor,
        filters=filters,
        batches=batches,
        districts=districts,
        inbox_link=inbox_link,
        has_inbox=actor.role in INBOX_ROLES,
    )


@router.get("/verification/{batch_id}", response_class=HTMLResponse)
async def batch_page(
    request: Request, batch_id: str, session: SessionDep, actor: PageActor
) -> Response:
    """One batch by township, with links to each township's open tasks."""
    if not BATCH_ID.fullmatch(batch_id):
        raise not_found("verification batch", batch_id[:40])  # as the API: names no batch
    progress = await service.get_batch(session, actor, batch_id)
    return render(
        request,
        "verification/batch.html",
        actor=actor,
        p=progress,
        inbox_link=inbox_link,
        has_inbox=actor.role in INBOX_ROLES,
    )
