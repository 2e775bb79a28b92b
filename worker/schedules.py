"""The Temporal Schedules of the system, created or updated at worker start: one quarterly
verification Schedule (定期审验, 清新 三(三)2) per pack region whose pack has
``clocks.quarterly_verification``.

A pack region is a jurisdiction with ``policy_pack_id`` set. Its Schedule (id
``quarterly-verification-<region code>``) fires at 00:05 Shanghai time on the 1st of each of the
pack's verification months and starts ``QuarterlyVerificationWorkflow`` for the region, which
starts one batch per district. Overlaps are skipped (a batch still running is not doubled) and a
start missed while the server was down is caught up within a week. Creating is idempotent: an
existing Schedule is updated to the current months and task queue, keeping an operator's pause.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import select
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import TypedSearchAttributes

from infra.temporal_client import build_id_to_start_with
from store.db import session_scope
from store.models import Jurisdiction
from store.packs import packs_in_force
from store.settings import Settings
from workflows.contracts import VerificationRegionInput
from workflows.steps import started_here
from workflows.verification import QuarterlyVerificationWorkflow

log = logging.getLogger("yuanzhu")

SCHEDULE_PREFIX = "quarterly-verification-"
TIME_ZONE = "Asia/Shanghai"
# Lists go out "每季首月初": just after midnight on the 1st.
FIRE_HOUR, FIRE_MINUTE = 0, 5
CATCHUP = timedelta(days=7)


@dataclass(frozen=True)
class VerificationRegion:
    code: str
    pack_id: str
    months: list[int]


def schedule_id(region_code: str) -> str:
    return f"{SCHEDULE_PREFIX}{region_code}"


def verification_schedule(
    region: VerificationRegion, task_queue: str, build_id: str | None = None
) -> Schedule:
    """The region's quarterly run; ``build_id``: the workers', where the server keeps BuildIds
    (workflows.steps.started_here)."""
    started = started_here(build_id)
    return Schedule(
        action=ScheduleActionStartWorkflow(
            QuarterlyVerificationWorkflow.run,
            VerificationRegionInput(region_code=region.code, pack_id=region.pack_id),
            # Temporal appends the scheduled time, so each quarter's run has its own id.
            id=f"quarterly-verification-{region.code}",
            task_queue=task_queue,
            # the patch set it answers, and the build id of the workers that run it
            memo=started.memo,
            typed_search_attributes=started.search_attributes or TypedSearchAttributes.empty,
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    second=[ScheduleRange(0)],
                    minute=[ScheduleRange(FIRE_MINUTE)],
                    hour=[ScheduleRange(FIRE_HOUR)],
                    day_of_month=[ScheduleRange(1)],
                    month=[ScheduleRange(m) for m in sorted(region.months)],
                    comment="定期审验：每季首月初",
                )
            ],
            time_zone_name=TIME_ZONE,
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP),
    )


async def verification_regions(settings: Settings) -> list[VerificationRegion]:
    """The pack regions whose pack has quarterly verification."""
    async with session_scope(settings) as session:
        rows = (
            await session.execute(
                select(Jurisdiction.code, Jurisdiction.policy_pack_id)
                .where(Jurisdiction.policy_pack_id.is_not(None))
                .order_by(Jurisdiction.code)
            )
        ).all()
        packs = await packs_in_force(session)
    out: list[VerificationRegion] = []
    for code, pack_id in rows:
        pack = packs.find(str(pack_id))
        if pack is None:
            log.warning("region %s names unknown policy pack %s; no verification", code, pack_id)
            continue
        qv = pack.clocks.quarterly_verification
        if qv is not None:
            out.append(VerificationRegion(code, pack.id, list(qv.months)))
    return out


async def ensure_schedule(client: Client, region: VerificationRegion, task_queue: str) -> str:
    """Create the region's Schedule, or update it in place (keeping its paused state)."""
    sid = schedule_id(region.code)
    schedule = verification_schedule(region, task_queue, await build_id_to_start_with(client))
    try:
        await client.create_schedule(sid, schedule)
        return sid
    except ScheduleAlreadyRunningError:
        pass

    def updated(current: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=replace(schedule, state=current.description.schedule.state))

    await client.get_schedule_handle(sid).update(updated)
    return sid


async def ensure_schedules(client: Client, settings: Settings) -> list[str]:
    """Every quarterly verification Schedule, created or updated; returns their ids."""
    regions = await verification_regions(settings)
    return [await ensure_schedule(client, r, settings.temporal_task_queue) for r in regions]
