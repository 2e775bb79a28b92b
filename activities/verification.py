"""Quarterly verification activities (定期审验, 清新 三(三)2): the period and districts of a
pack region, the batch row, keyset pages of a district's active persons, the bulk creation of
their verification tasks, and the clock events of what is left (reminder before the due date,
breach records and escalation to the district's supervisors at it).

Every write is idempotent: task and item ids are deterministic (one per person per period) and
existing rows are skipped; breach rows and notifications are keyed. A retried activity, a
replayed workflow or a second run of the same quarter therefore adds nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.outbound import OutboundDelivery
from domain.calendar import deadline_end, local_date
from domain.labels import label
from domain.policy.model import PolicyPack
from domain.vocabulary import (
    LEVELS,
    Role,
    TaskKind,
    assistance_workflow_id,
    verification_task_id,
)
from infra import metrics
from store import verification_repo as repo
from store.models import Jurisdiction, Notification, SlaBreach
from store.models_verification import VerificationBatch
from store.packs import pack_in_force, pinned_pack
from store.repos import in_subtree, place_ref
from workflows.contracts import (
    BatchEventInput,
    BatchInfo,
    BeginBatchInput,
    OpenVerificationInput,
    PeopleInput,
    PeoplePage,
    PlanInput,
    SlaPageInput,
    SlaPageResult,
    VerificationPeriod,
    VerificationPlan,
    verification_form,
    verification_reasons,
)

# Officers are reminded this long before the due date (the seed gives only the due date:
# 每季首月底前; an administrator setting).
AT_RISK_LEAD = timedelta(days=7)
KIND = TaskKind.QUARTERLY_VERIFICATION


def period_of(pack: PolicyPack, on: date, label: str | None = None) -> VerificationPeriod:
    """The pack's verification period containing ``on`` (or the next one when ``on`` is past
    this quarter's first month), or the one starting in month ``label`` (``YYYY-MM``)."""
    pack_id = pack.id
    qv = pack.clocks.quarterly_verification
    if qv is None:
        raise ValueError(f"policy pack {pack_id} has no quarterly verification")
    if label is not None:
        year, month = (int(x) for x in label.split("-"))
        if month not in qv.months:
            raise ValueError(f"{label} is not a verification month of {pack_id} ({qv.months})")
        start, end = qv.period(date(year, month, 1))
    else:
        start, end = qv.period(on)
    return VerificationPeriod(label=f"{start:%Y-%m}", starts_on=start, due_on=end)


class VerificationActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbound: OutboundDelivery | None = None,
    ) -> None:
        self.sessions = sessions
        self.outbound = outbound or OutboundDelivery(sessions)

    @activity.defn(name="verification_plan")
    async def plan(self, inp: PlanInput) -> VerificationPlan:
        """The period to verify and the districts (county level) of the pack's region."""
        async with self.sessions() as session:
            period = period_of(
                await pack_in_force(session, inp.pack_id), local_date(inp.at), inp.period
            )
            region = await session.get(Jurisdiction, inp.region_code)
            if region is None:
                raise ValueError(f"jurisdiction {inp.region_code} is not in the database")
            if region.level == "county":
                districts = [region]
            else:
                districts = list(
                    (
                        await session.scalars(
                            select(Jurisdiction)
                            .where(
                                in_subtree(Jurisdiction.path, region.path),
                                Jurisdiction.level == "county",
                            )
                            .order_by(Jurisdiction.code)
                        )
                    ).all()
                )
        return VerificationPlan(period=period, districts=[place_ref(d) for d in districts])

    @activity.defn(name="verification_begin")
    async def begin_batch(self, inp: BeginBatchInput) -> BatchInfo:
        """Create the batch row, or take over the existing one of the same district and period
        (a second run keeps the first run's clocks)."""
        async with self.sessions() as session, session.begin():
            batch = await session.get(VerificationBatch, inp.batch_id)
            if batch is None:
                district = await session.get(Jurisdiction, inp.district.code)
                if district is None:
                    raise ValueError(f"jurisdiction {inp.district.code} is not in the database")
                due_at = deadline_end(inp.period.due_on)
                batch = VerificationBatch(
                    id=inp.batch_id,
                    district_code=district.code,
                    district_path=district.path,
                    district_name=district.name,
                    policy_pack_id=inp.pack_id,
                    period=inp.period.label,
                    starts_on=inp.period.starts_on,
                    due_on=inp.period.due_on,
                    opened_at=inp.at,
                    at_risk_at=max(inp.at, due_at - AT_RISK_LEAD),
                    due_at=due_at,
                    status="creating",
                    townships=await repo.district_townships(session, district),
                    found=0,
                    created=0,
                    runs=0,
                    workflow_id=inp.workflow_id,
                    updated_at=inp.at,
                )
                session.add(batch)
            batch.runs += 1
            batch.workflow_id = inp.workflow_id
            batch.status = "creating"
            batch.updated_at = inp.at
            return BatchInfo(
                batch_id=batch.id,
                opened_at=batch.opened_at,
                at_risk_at=batch.at_risk_at,
                due_at=batch.due_at,
            )

    @activity.defn(name="verification_people")
    async def people(self, inp: PeopleInput) -> PeoplePage:
        async with self.sessions() as session:
            ids = await repo.active_people(session, inp.district_path, inp.after, inp.limit)
        return PeoplePage(case_ids=ids, next_after=ids[-1] if len(ids) == inp.limit else None)

    @activity.defn(name="verification_open")
    async def open_tasks(self, inp: OpenVerificationInput) -> int:
        """Open the verification tasks of these persons in one transaction; returns how many
        were new. A person who already has this period's task (an earlier run, a retry) or who
        left assistance meanwhile gets none."""
        async with self.sessions() as session, session.begin():
            batch = await self._batch(session, inp.batch_id)
            people = await repo.cases_to_verify(session, inp.case_ids)
            return await self._open(session, batch, people, inp.at)

    @staticmethod
    async def _batch(session: AsyncSession, batch_id: str) -> VerificationBatch:
        batch = await session.get(VerificationBatch, batch_id)
        if batch is None:
            raise ValueError(f"verification batch {batch_id} is not in the database")
        return batch

    async def _open(
        self,
        session: AsyncSession,
        batch: VerificationBatch,
        people: Sequence[repo.ToVerify],
        now: datetime,
    ) -> int:
        """Insert the tasks and items of ``people`` (rows of :func:`repo.cases_to_verify`)
        that do not exist yet, and add how many were new to the batch's count."""
        if not people:
            return 0
        # What every task of the batch shares (the clock: one instant, one due date) is built
        # once per page and form, not once per task.
        shared = self._shared(batch, now)
        payloads: dict[tuple[str, str | None], dict[str, Any]] = {}
        tasks: list[dict[str, Any]] = []
        items: list[dict[str, Any]] = []
        for p in people:
            key = (p.policy_pack_ref, p.category_code)
            if key not in payloads:
                pack = await pinned_pack(session, p)
                payloads[key] = self._payload(
                    batch,
                    verification_reasons(
                        [
                            r
                            for r in pack.exit_reasons
                            if not r.basis_specific or p.category_code in r.basis_specific
                        ]
                    ),
                )
            task_id = verification_task_id(p.id, batch.period)
            # The same officer as the person's other assistance tasks (workflows.rules): the
            # township (or community) where the case lies, or the county office for a case
            # filed there.
            at_county = LEVELS.index(p.level) >= LEVELS.index("county")
            tasks.append(
                {
                    **shared,
                    "id": task_id,
                    "case_id": p.id,
                    "workflow_id": assistance_workflow_id(p.id),
                    "candidate_role": Role.COUNTY_REVIEWER
                    if at_county
                    else Role.GRASSROOTS_OFFICER,
                    "jurisdiction_code": p.jurisdiction_code,
                    "jurisdiction_path": p.jurisdiction_path,
                    "policy_pack_id": p.policy_pack_id,
                    "category_code": p.category_code,
                    "applicant_name": p.applicant_name,
                    "id_last4": p.id_last4,
                    "payload": payloads[key],
                }
            )
            items.append(
                {
                    "task_id": task_id,
                    "batch_id": batch.id,
                    "case_id": p.id,
                    "township_code": repo.township_of(batch.townships, p.jurisdiction_path),
                }
            )
        created = len(await repo.insert_new_tasks(session, tasks, items))
        if created:
            # An atomic increment: batches recorded before open_page insert a page's chunks
            # concurrently.
            await session.execute(
                update(VerificationBatch)
                .where(VerificationBatch.id == batch.id)
                .values(created=VerificationBatch.created + created, updated_at=now)
            )
            metrics.task_opened(KIND, created, batch_id=batch.id)
        return created

    @staticmethod
    def _shared(batch: VerificationBatch, now: datetime) -> dict[str, Any]:
        """The columns every task of the batch opened at ``now`` has alike."""
        days = (batch.due_on - batch.starts_on).days + 1
        return {
            "kind": KIND,
            "state": "open",
            "assignee_id": None,
            "priority": 0,
            "created_at": now,
            "at_risk_at": batch.at_risk_at,
            "due_at": batch.due_at,
            "deadline_at": batch.due_at,
            "sla_provisional": False,
            "sla_state": "on_track",
            "sla_goal": days,
            "sla_deadline": days,
            "sla_unit": "calendar_days",
            "outcome": None,
            "completed_by": None,
            "completed_at": None,
            "version": 1,
        }

    @staticmethod
    def _payload(batch: VerificationBatch, reasons: list[str]) -> dict[str, Any]:
        outcomes, choices = verification_form(reasons)
        return {
            "period": batch.period,
            "batch_id": batch.id,
            "due_on": batch.due_on.isoformat(),
            "source": "清新区人社局实施方案(2024) 三(三)2",
            "form": {"outcomes": outcomes, "choices": choices},
        }

    @activity.defn(name="verification_sla_page")
    async def sla_page(self, inp: SlaPageInput) -> SlaPageResult:
        """One keyset page of the batch's tasks at a clock event: tasks of persons who left
        assistance are cancelled; the open rest are marked ``at_risk`` (urgency rises) or
        ``breached`` (a breach row each, once per key, counted by the supervisors)."""
        async with self.sessions() as session, session.begin():
            batch = await session.get(VerificationBatch, inp.batch_id)
            if batch is None:
                raise ValueError(f"verification batch {inp.batch_id} is not in the database")
            ids = await repo.item_page(session, inp.batch_id, inp.after, inp.limit)
            if not ids:
                return SlaPageResult(marked=0, next_after=None)
            await repo.cancel_exited(session, inp.batch_id, ids, inp.at)
            tasks = await repo.open_tasks(session, ids)
            keys = {t.id: f"{t.id}/{inp.event}/1" for t in tasks}
            seen = await repo.breach_keys(session, list(keys.values()))
            breached = []
            for t in tasks:
                t.sla_state = inp.event
                t.priority = max(t.priority, 5 if inp.event == "at_risk" else 8)
                t.version += 1
                if inp.event == "breached" and keys[t.id] not in seen:
                    breached.append(t)
                    session.add(
                        SlaBreach(
                            breach_key=keys[t.id],
                            case_id=t.case_id,
                            task_id=t.id,
                            clock=f"task:{KIND}",
                            event="breached",
                            level=1,
                            jurisdiction_code=batch.district_code,
                            jurisdiction_path=batch.district_path,
                            escalation_task_id=None,
                            at=inp.at,
                        )
                    )
        for t in breached:
            metrics.sla_breached(KIND, "breached", case_id=t.case_id, task_id=t.id)
        return SlaPageResult(
            marked=len(tasks), next_after=ids[-1] if len(ids) == inp.limit else None
        )

    @activity.defn(name="verification_event")
    async def batch_event(self, inp: BatchEventInput) -> None:
        """The batch's status, and at a clock event one notification per township with tasks
        left: a reminder to its officers before the due date; at it, the escalation (督办) to
        the district's supervisors and the township's officers."""
        keys: list[str] = []
        async with self.sessions() as session, session.begin():
            batch = await session.get(VerificationBatch, inp.batch_id)
            if batch is None:
                raise ValueError(f"verification batch {inp.batch_id} is not in the database")
            batch.updated_at = inp.at
            if inp.event == "created":
                batch.found = inp.found
                batch.status = "open"
                return
            if inp.event == "finished":
                batch.status = "finished"
                return
            escalating = inp.event != "at_risk" and batch.status != "escalated"
            batch.status = "at_risk" if inp.event == "at_risk" else "escalated"
            for t in await repo.progress(session, batch):
                if t.left:
                    keys += await self._notify(session, batch, inp, t)
        if escalating and keys:  # first escalation of the batch, with persons left
            metrics.escalated(KIND, 1, batch_id=inp.batch_id)
        await self.outbound.deliver(keys)

    async def _notify(
        self,
        session: AsyncSession,
        batch: VerificationBatch,
        inp: BatchEventInput,
        t: repo.TownshipProgress,
    ) -> list[str]:
        township = next(x for x in batch.townships if x["code"] == t.code)
        what = label("task_kind", KIND)
        due = batch.due_on.isoformat()
        # The township's officers (the district office's own persons: its reviewers).
        office = Role.COUNTY_REVIEWER if t.code == batch.district_code else Role.GRASSROOTS_OFFICER
        recipients: list[tuple[str, str]] = [(office, township["path"])]
        if inp.event == "at_risk":
            kind = "reminder"
            message = f"临期提醒：{t.name}{batch.period}{what}尚余{t.left}人未完成（{due}前）"
        else:
            kind = "escalation"
            message = f"督办：{t.name}{batch.period}{what}逾期未完成{t.left}人（应于{due}前上报）"
            recipients.append((Role.SUPERVISOR, batch.district_path))
        keys: list[str] = []
        for role, path in recipients:
            key = f"verification/{batch.id}/{inp.event}/{t.code}/group:{role}:{path}"
            keys.append(key)
            seen = await session.scalar(
                select(Notification.id).where(Notification.notification_key == key)
            )
            if seen is None:
                session.add(
                    Notification(
                        notification_key=key,
                        user_id=None,
                        recipient_role=role,
                        recipient_path=path,
                        kind=kind,
                        case_id=None,
                        task_id=None,
                        message=message,
                        created_at=inp.at,
                    )
                )
        return keys
