"""The publicity list (公示名单) an office posts at the community: every case of a place whose
publicity (公示) overlaps a period, with what the pack's publicity stage says its notice shows
(``shows``; by default the name, the masked ID number, the category applied for, the place and
the publicity's first and last days — Beijing dates, the last day inclusive), grouped by
the office that publicises (the place at the publicity stage's level), each group with where and
how to object in the words and clause of its pack.

Confined to the caller's subtree (a place outside it is 404 like an unknown one). A list never
shows a full ID number; every view is audited like the other lists of named persons (who,
which place, which period, which cases).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from application.actor import Actor
from application.services import supervision
from application.services.supervision import Period
from domain.calendar import local_date
from domain.case_clock import as_utc, last_day
from domain.ids import mask_id_number
from domain.labels import label
from domain.policy.model import PolicyPack, Stage
from domain.vocabulary import PlaceRef
from store import cases_repo, repos
from store.audit import record_audit
from store.models import Case, CaseEvent, Jurisdiction
from store.packs import pinned_pack
from workflows.rules import resolve_level

# A publicity lasts a few working days, longer only while an objection holds it open (and a
# restart is a new start): starts older than this before the period cannot reach into it.
LOOKBACK = timedelta(days=90)
# More rows than any place posts at once; a city-wide list over years is cut here.
MAX_ROWS = 2000
# Cases closed without identification left the list (withdrawn, refused on an objection).
_LEFT = ("withdrawn", "refused", "not_accepted")


@dataclass(frozen=True)
class PublicityRow:
    case_id: str
    name: str
    id_number_masked: str
    category: str
    place: str
    first_day: date
    last_day: date
    sex: str = ""


@dataclass
class PublicityGroup:
    """The cases one office publicises under one pack, and how to object to them."""

    office: str
    stage_name: str
    working_days: int | None
    source: str
    quote: str
    # The columns the pack's notice shows (PublicityField codes, in the notice's order) and
    # whether ``working_days`` is a minimum (公示期不少于…).
    shows: tuple[str, ...] = ("name", "masked_id", "category", "place", "period")
    minimum: bool = False
    objection_to: str = ""  # the office an objection the applicant still disputes goes to
    objection_source: str = ""
    objection_quote: str = ""
    rows: list[PublicityRow] = field(default_factory=list)


@dataclass(frozen=True)
class PublicityList:
    place: Jurisdiction
    period: Period
    groups: list[PublicityGroup]
    truncated: bool

    @property
    def count(self) -> int:
        return sum(len(g.rows) for g in self.groups)


def publicity_period(first: date | None, last: date | None, now: datetime) -> Period:
    """The period asked for; without dates, today (what is posted now); with one, as the
    supervisor's periods are checked (application/services/supervision.py)."""
    if first is None and last is None:
        today = local_date(now)
        return Period(today, today)
    return supervision.period(first, last, now)


def _last_day(ends_at: str | None) -> date | None:
    """The publicity's last day from its stored exclusive end (the next day's 00:00)."""
    try:
        return last_day(datetime.fromisoformat(ends_at or ""))
    except ValueError:
        return None


def _publicity_stage(pack: PolicyPack) -> Stage | None:
    stages = pack.procedure.stages if pack.procedure else []
    return next((s for s in stages if s.kind == "publicity"), None)


def _category_name(case: Case, pack: PolicyPack) -> str:
    facts = case.facts if isinstance(case.facts, dict) else {}
    code = case.category_code or facts.get("requested_category")
    category = next((c for c in pack.categories if c.code == code), None)
    return category.name if category is not None else str(code or "")


def _sex(case: Case) -> str:
    facts = case.facts if isinstance(case.facts, dict) else {}
    person = facts.get("person") if isinstance(facts.get("person"), dict) else {}
    return label("sex", (person or {}).get("sex"), "")


async def publicity_list(
    session: AsyncSession, actor: Actor, place_code: str | None, period: Period, now: datetime
) -> PublicityList:
    """The publicity list of ``place_code`` (default the caller's place) for ``period``."""
    place = await supervision.place_for(session, actor, place_code)
    found = await cases_repo.publicity_starts(
        session, place.path, period.start - LOOKBACK, period.end, MAX_ROWS + 1
    )
    truncated = len(found) > MAX_ROWS
    # The latest start of each case before the period's end is the publicity it is in.
    latest: dict[str, tuple[Case, CaseEvent]] = {}
    for case, event in found[:MAX_ROWS]:
        latest[case.id] = (case, event)
    groups: dict[tuple[str, str], PublicityGroup] = {}
    places: dict[str, tuple[Jurisdiction, list[PlaceRef]] | None] = {}
    for case, event in latest.values():
        if case.status in _LEFT:
            continue
        after = event.after if isinstance(event.after, dict) else {}
        first_day = local_date(as_utc(event.at))
        last = _last_day(after.get("ends_at"))
        if last is None or last < period.first:
            continue
        pack = await pinned_pack(session, case)
        stage = _publicity_stage(pack)
        if stage is None:
            continue
        if case.jurisdiction_code not in places:  # a list's cases share a few places
            found_place = await repos.get_jurisdiction(session, case.jurisdiction_code)
            places[case.jurisdiction_code] = (
                (found_place, await repos.place_chain(session, found_place))
                if found_place is not None
                else None
            )
        known = places[case.jurisdiction_code]
        if known is None:
            continue
        case_place, chain = known
        office = resolve_level(chain, stage.level)
        key = (office.code, pack.id)
        group = groups.get(key)
        if group is None:
            group = PublicityGroup(
                office=office.name,
                stage_name=stage.name,
                working_days=stage.working_days,
                source=stage.source or "",
                quote=stage.quote or "",
                shows=stage.publicity_fields,
                minimum=stage.minimum,
            )
            if stage.objection is not None:
                group.objection_to = resolve_level(chain, stage.objection.escalates_to).name
                group.objection_source = stage.objection.source or ""
                group.objection_quote = stage.objection.quote or ""
            groups[key] = group
        group.rows.append(
            PublicityRow(
                case_id=case.id,
                name=case.applicant_name,
                id_number_masked=mask_id_number(case.id_number),
                category=_category_name(case, pack),
                place=case_place.name,
                first_day=first_day,
                last_day=last,
                # Only where the notice shows it: the page renders the group's columns.
                sex=_sex(case) if "sex" in group.shows else "",
            )
        )
    ordered = sorted(groups.values(), key=lambda g: g.office)
    for g in ordered:
        g.rows.sort(key=lambda r: (r.first_day, r.case_id))
    record_audit(
        session,
        actor_id=actor.id,
        action="view_publicity_list",
        object_type="jurisdiction",
        object_id=place.code,
        detail={
            "from": period.first.isoformat(),
            "to": period.last.isoformat(),
            "case_ids": [r.case_id for g in ordered for r in g.rows],
        },
        now=now,
    )
    return PublicityList(place=place, period=period, groups=ordered, truncated=truncated)
