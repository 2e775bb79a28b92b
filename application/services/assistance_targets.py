"""Assistance targets (援助目标) for supervisors: the assistance rate (帮扶率), the yearly
clearing of difficulty persons (年度清零) and of zero-employment households (零就业家庭动态清零),
and exits by reason (退出/注销), per place of the caller's subtree and period, each figure with
the target of the pack it is measured against and whether it is met.

Scope and periods are the supervision endpoints' (:mod:`application.services.supervision`): the
caller's subtree, ``jurisdiction`` drills down (404 outside), ``from``/``to`` Shanghai dates
(default: the 30 days ending today). Rows are the place's direct children (every one, also
without people) and, first, the place itself when people sit there directly.

What is counted (:mod:`store.assistance_targets_repo`): the assistances active at some time in
the period (*persons*); of them, those with a service delivered within the period
(*assisted*), those still in assistance at the period's end (*remaining*) and those who exited
within it (*cleared*); and the period's exits by the pack's reason codes.

Targets come from the packs' ``assistance_standards`` — the current packaged version of the
pack applying at the place (its own or an ancestor's) and of every pack under which the
row's people were identified. Each target is measured only on the people of its pack:

- ``coverage_rate`` (weifang 五(三): 就业困难人员帮扶率96%以上): assisted ÷ persons, met when
  at least ``minimum_rate``;
- ``clearance`` (年度清零, 动态清零): met when no one remains at the period's end (ask for the
  calendar year to read the yearly target). Measured on everyone for a standard that applies
  to difficulty persons (or to no one in particular), on the people identified under a
  zero-employment-household category (零就业家庭) for one that applies to those households;
  a clearance standard for another population (xinyu's 新出现的零就业家庭 plan, a one-month
  clock per household, not a period's figure) is not shown.

``met`` is null where no one is measured. ``state`` says what a supervisor may conclude:
``met``, ``not_met``, or ``not_due`` — a target measured over the period cannot be missed
before the period ends (the people not yet assisted or not yet out may still be, within its
window), so a shortfall while it runs is not a failure; the zero-employment clearance
(动态清零) runs a clock per person instead (the pack's ``zero_employment_household_deadline``
from the start of the assistance): missed once someone remains past theirs, not due while
everyone remaining is inside it (``remaining_in_window``). No personal data appears in the
response.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from application.actor import Actor
from application.services.supervision import (
    TOTAL_ZH,
    Period,
    PeriodOut,
    PlaceOut,
    child_code,
    place_for,
)
from domain.calendar import add_months_clamped, local_date, start_of_day
from domain.policy.model import AssistanceStandard, Duration, PolicyPack
from store import assistance_targets_repo as repo, repos, supervision_repo
from store.models import Jurisdiction
from store.packs import InForce, packs_in_force

COVERAGE = "coverage_rate"
TargetState = Literal["met", "not_met", "not_due"]
CLEARANCE = "clearance"
# Who a clearance standard's ``applies_to`` names: everyone in assistance, or the members of
# zero-employment households (the packs' categories whose name says 零就业).
EVERYONE_ZH = ("就业困难人员",)
ZERO_EMPLOYMENT_ZH = ("零就业家庭", "零就业家庭成员")
ZERO_EMPLOYMENT_MARK = "零就业"


# --- response models -------------------------------------------------------------------------


class TargetOut(BaseModel):
    """One target (a pack's assistance standard) measured on the row's people identified under
    that pack (``persons``; for a zero-employment clearance, those of its categories only).
    ``coverage_rate``: ``assisted``, ``rate`` against ``minimum_rate``; ``clearance``:
    ``cleared`` and ``remaining`` (met when none remains). ``met`` is null when ``persons``
    is 0."""

    pack_id: str
    code: str
    name: str
    name_en: str
    kind: Literal["coverage_rate", "clearance"]
    applies_to: str | None
    minimum_rate: float | None = Field(description="coverage_rate: the rate to reach")
    persons: int
    assisted: int | None = None
    rate: float | None = None
    cleared: int | None = None
    remaining: int | None = None
    met: bool | None
    remaining_in_window: int | None = Field(
        default=None,
        description="clearance of zero-employment households (动态清零, a clock per person): "
        "of remaining, those still inside their own window (the pack's "
        "zero_employment_household_deadline from the start of their assistance)",
    )
    state: TargetState | None = Field(
        default=None,
        description="met; not_met (the period is over and the target missed); not_due (the "
        "period still runs: those short of it are still inside its window); null when no "
        "one is measured",
    )
    source: str


class ExitReasonOut(BaseModel):
    """A column of the exits: a pack's exit reason (退出/注销 原因). ``in_pack`` is false for a
    code recorded under an earlier version of the pack and no longer in it (its stored name
    is shown)."""

    pack_id: str
    code: str
    name: str
    name_en: str | None
    ordinal: str | None
    mode: str | None
    fraud: bool
    in_pack: bool


class TargetsRow(BaseModel):
    """One place (``code``; the totals row has none): assistances active in the period
    (``persons``), assisted within it, the assistance rate (assisted ÷ persons, null without
    persons), remaining at its end, cleared (exited) within it, its exits aligned with
    ``exit_reasons`` and their sum, and its targets."""

    code: str | None = None
    name: str
    level: str | None = None
    persons: int = 0
    assisted: int = 0
    rate: float | None = None
    remaining: int = 0
    cleared: int = 0
    exits: list[int] = Field(default_factory=list)
    exits_total: int = 0
    targets: list[TargetOut] = Field(default_factory=list)


class AssistanceTargetsOut(BaseModel):
    place: PlaceOut
    period: PeriodOut
    as_of: datetime
    exit_reasons: list[ExitReasonOut]
    rows: list[TargetsRow]
    total: TargetsRow


# --- packs -----------------------------------------------------------------------------------


def pack_or_none(packs: InForce, pack_id: str | None) -> PolicyPack | None:
    """The pack in force ``pack_id``, or None for none or an id no longer in force."""
    return packs.find(pack_id)


def zero_employment_categories(pack: PolicyPack) -> frozenset[str]:
    return frozenset(c.code for c in pack.categories if ZERO_EMPLOYMENT_MARK in c.name)


def clearance_population(pack: PolicyPack, s: AssistanceStandard) -> frozenset[str] | None:
    """Whom a clearance standard is measured on: ``frozenset()`` for everyone, the category
    codes of zero-employment households, or None when it names another population."""
    applies = (s.applies_to or "").strip()
    if not applies or applies in EVERYONE_ZH:
        return frozenset()
    if applies in ZERO_EMPLOYMENT_ZH:
        return zero_employment_categories(pack)
    return None


# --- accumulating ----------------------------------------------------------------------------


@dataclass
class Counts:
    persons: int = 0
    assisted: int = 0
    remaining: int = 0
    cleared: int = 0
    remaining_recent: int = 0

    def add(self, c: repo.CohortCounts | Counts) -> None:
        self.persons += c.persons
        self.assisted += c.assisted
        self.remaining += c.remaining
        self.cleared += c.cleared
        self.remaining_recent += c.remaining_recent


@dataclass
class Acc:
    """What a row collects before its targets are measured: counts per (pack, category) and
    exits per (pack, reason)."""

    row: TargetsRow
    pack_here: str | None
    groups: dict[tuple[str, str | None], Counts] = field(default_factory=dict)
    exits: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, c: repo.CohortCounts) -> None:
        self.groups.setdefault((c.pack_id, c.category_code), Counts()).add(c)

    def add_exits(self, e: repo.ExitCounts) -> None:
        key = (e.pack_id, e.reason_code)
        self.exits[key] = self.exits.get(key, 0) + e.exits

    def merge(self, other: Acc) -> None:
        for key, counts in other.groups.items():
            self.groups.setdefault(key, Counts()).add(counts)
        for key, n in other.exits.items():
            self.exits[key] = self.exits.get(key, 0) + n

    @property
    def empty(self) -> bool:
        return not self.groups and not self.exits


def _rate(assisted: int, persons: int) -> float | None:
    return round(assisted / persons, 4) if persons else None


def _targets(acc: Acc, packs: dict[str, PolicyPack | None], on: date) -> list[TargetOut]:
    """The targets of the place's pack and of every pack of the row's people, each measured on
    its own pack's people; a rate as it stands ``on`` the day measured (dated rates)."""
    ids = [acc.pack_here] if acc.pack_here else []
    ids += sorted({p for p, _c in acc.groups} - set(ids))
    out: list[TargetOut] = []
    for pack_id in ids:
        pack = packs.get(pack_id)
        if pack is None:
            continue
        for s in pack.assistance_standards:
            minimum_rate = s.rate_on(on)
            if s.kind == COVERAGE and minimum_rate is not None:
                c = _sum(acc, pack_id, frozenset())
                rate_met = (
                    Fraction(c.assisted, c.persons) >= Fraction(str(minimum_rate))
                    if c.persons
                    else None
                )
                out.append(
                    _target(
                        pack_id,
                        s,
                        c,
                        met=rate_met,
                        assisted=c.assisted,
                        rate=_rate(c.assisted, c.persons),
                        minimum_rate=minimum_rate,
                    )
                )
            elif s.kind == CLEARANCE:
                population = clearance_population(pack, s)
                if population is None:
                    continue
                c = _sum(acc, pack_id, population)
                t = _target(
                    pack_id,
                    s,
                    c,
                    met=c.remaining == 0 if c.persons else None,
                    cleared=c.cleared,
                    remaining=c.remaining,
                )
                if population and person_window(pack) is not None:
                    # 动态清零 runs one clock per person: those inside it are not a miss.
                    t.remaining_in_window = c.remaining_recent
                out.append(t)
    return out


def _sum(acc: Acc, pack_id: str, categories: frozenset[str]) -> Counts:
    total = Counts()
    for (p, category), counts in acc.groups.items():
        if p == pack_id and (not categories or category in categories):
            total.add(counts)
    return total


def _target(
    pack_id: str,
    s: AssistanceStandard,
    c: Counts,
    *,
    met: bool | None,
    assisted: int | None = None,
    rate: float | None = None,
    cleared: int | None = None,
    remaining: int | None = None,
    minimum_rate: float | None = None,
) -> TargetOut:
    return TargetOut(
        pack_id=pack_id,
        code=s.code,
        name=s.name,
        name_en=s.name_en,
        kind=COVERAGE if s.kind == COVERAGE else CLEARANCE,
        applies_to=s.applies_to,
        minimum_rate=minimum_rate,
        persons=c.persons,
        assisted=assisted,
        rate=rate,
        cleared=cleared,
        remaining=remaining,
        met=met,
        source=s.citation,
    )


def _exit_columns(
    pack_ids: Iterable[str],
    packs: dict[str, PolicyPack | None],
    recorded: dict[tuple[str, str], str],
) -> list[ExitReasonOut]:
    """Every exit reason of the packs concerned, in pack order and the pack's own order, then
    any code recorded that the current pack no longer has."""
    columns: list[ExitReasonOut] = []
    seen: set[tuple[str, str]] = set()
    for pack_id in pack_ids:
        pack = packs.get(pack_id)
        for r in pack.exit_reasons if pack else []:
            seen.add((pack_id, r.code))
            columns.append(
                ExitReasonOut(
                    pack_id=pack_id,
                    code=r.code,
                    name=r.name,
                    name_en=r.name_en,
                    ordinal=r.ordinal,
                    mode=r.mode,
                    fraud=r.fraud,
                    in_pack=True,
                )
            )
    for (pack_id, code), name in sorted(recorded.items()):
        if (pack_id, code) not in seen:
            columns.append(
                ExitReasonOut(
                    pack_id=pack_id,
                    code=code,
                    name=name,
                    name_en=None,
                    ordinal=None,
                    mode=None,
                    fraud=False,
                    in_pack=False,
                )
            )
    return columns


def _finish(
    acc: Acc, packs: dict[str, PolicyPack | None], columns: list[ExitReasonOut], on: date
) -> None:
    row = acc.row
    c = Counts()
    for counts in acc.groups.values():
        c.add(counts)
    row.persons, row.assisted = c.persons, c.assisted
    row.remaining, row.cleared = c.remaining, c.cleared
    row.rate = _rate(c.assisted, c.persons)
    row.exits = [acc.exits.get((col.pack_id, col.code), 0) for col in columns]
    row.exits_total = sum(row.exits)
    row.targets = _targets(acc, packs, on)


def target_state(t: TargetOut, *, window_open: bool) -> TargetState | None:
    """已达标 / 未达标 / 期限未到. A target with a clock per person (动态清零) is missed as
    soon as someone remains past their own window, and not due while everyone remaining is
    still inside it; any other target is missed only once the period has ended."""
    if t.met is None:
        return None
    if t.met:
        return "met"
    if t.remaining_in_window is not None and t.remaining is not None:
        return "not_due" if t.remaining_in_window >= t.remaining else "not_met"
    # Zero-employment clearance's window per person; other targets: the period.
    return "not_due" if window_open else "not_met"


def person_window(pack: PolicyPack) -> Duration | None:
    """The clock each zero-employment household member's clearance runs on (the pack's
    zero_employment_household_deadline), when it is in months or calendar days."""
    clock = pack.clocks.zero_employment_household_deadline
    if clock is None or clock.unit not in ("months", "calendar_days"):
        return None
    return clock


def window_starts(today: date, packs: InForce) -> dict[str, datetime]:
    """Per pack in force with a per-person clearance clock: the earliest start of an
    assistance still inside its window on the Shanghai date ``today``."""
    since: dict[str, datetime] = {}
    for pack_id in packs.ids():
        pack = pack_or_none(packs, pack_id)
        window = person_window(pack) if pack else None
        if window is None:
            continue
        # The first start day whose window ends on or after today: today minus the window.
        first = (
            add_months_clamped(today, -window.value)
            if window.unit == "months"
            else date.fromordinal(today.toordinal() - window.value)
        )
        since[pack_id] = start_of_day(first)
    return since


# --- the figures -----------------------------------------------------------------------------


async def pack_applying(session: AsyncSession, place: Jurisdiction) -> str | None:
    """The pack applying at the place, None where none does (its figures have no targets)."""
    try:
        return await repos.pack_id_at(session, place)
    except repos.NoPolicyPack:
        return None


async def targets(
    session: AsyncSession, actor: Actor, *, code: str | None, span: Period, now: datetime
) -> AssistanceTargetsOut:
    """The assistance rate, clearance and exits by reason of the period, per direct child of
    the place (and the place itself when people sit there), with totals and targets."""
    place = await place_for(session, actor, code)
    here = await pack_applying(session, place)
    in_force = await packs_in_force(session)
    # Measured on the period's last day, or today while it runs.
    measured_on = min(span.last, local_date(now))
    cohort = await repo.cohort_counts(
        session,
        place.path,
        first=span.first,
        last=span.last,
        start=span.start,
        end=span.end,
        recent_since=window_starts(measured_on, in_force),
    )
    exits = await repo.exit_counts(session, place.path, first=span.first, last=span.last)

    own = Acc(TargetsRow(code=place.code, name=place.name, level=place.level), here)
    kids = {
        j.code: Acc(TargetsRow(code=j.code, name=j.name, level=j.level), j.policy_pack_id or here)
        for j in await supervision_repo.children(session, place.code)
    }

    def acc_for(path: str) -> Acc:
        child = child_code(place, path)
        if child is None:
            return own
        return kids.setdefault(child, Acc(TargetsRow(code=child, name=child), here))

    for c in cohort:
        acc_for(c.path).add(c)
    for e in exits:
        acc_for(e.path).add_exits(e)

    total = Acc(TargetsRow(name=TOTAL_ZH), here)
    for acc in (own, *kids.values()):
        total.merge(acc)

    pack_ids = [here] if here else []
    present = {c.pack_id for c in cohort} | {e.pack_id for e in exits}
    present |= {a.pack_here for a in kids.values() if a.pack_here}
    pack_ids += sorted(present - set(pack_ids))
    packs = {p: pack_or_none(in_force, p) for p in pack_ids}
    recorded = {(e.pack_id, e.reason_code): e.reason_name for e in exits}
    columns = _exit_columns(pack_ids, packs, recorded)

    ordered = [kids[k] for k in sorted(kids)]
    if not own.empty:
        ordered.insert(0, own)
    for acc in (*ordered, total):
        _finish(acc, packs, columns, measured_on)
        for t in acc.row.targets:
            t.state = target_state(t, window_open=span.end > now)
    return AssistanceTargetsOut(
        place=PlaceOut(code=place.code, name=place.name, level=place.level),
        period=span.out(),
        as_of=now,
        exit_reasons=columns,
        rows=[a.row for a in ordered],
        total=total.row,
    )
