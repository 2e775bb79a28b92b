"""The supervisor's dashboard (督导看板): first a headline of the area — overdue and at-risk
tasks, the period's breaches, the on-time identification rate, the cases in identification by
stage (those waiting on a clock or the applicant too), each figure leading to its list
(``/dashboard/cases``, the breach records, the inbox) — then open tasks by SLA state and the
period's breach records by place and task kind, how long tasks have waited, each officer's
load, escalations (督办) open and handled, and the identification deadline (认定时限) hit
rate, for supervisors and administrators, drilling down place by place (``?jurisdiction=``)
and into the lists (the breach records here, the inbox's breached tab, the case pages).

Every figure comes from :mod:`application.services.supervision`, the services behind
``/api/v1/supervision/*``, so the page and the API never disagree; they also confine every
figure to the caller's subtree (a place outside it is the 404 page).

A section with nothing to show collapses to one line, and a chart is drawn only where it has
data. The period is stated in words (its preset's name when it is one: 本月, 近30天 …) and
stands in the fields.

Charts are inline SVG drawn on the server (no JavaScript, nothing fetched from elsewhere);
each chart's numbers are also in a table right under it, for screen readers and for copying.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Generic, Literal, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from application.errors import Problem
from application.http import Actor, SessionDep
from application.services import (
    assistance_targets as targets_service,
    households as households_service,
    supervision as service,
)
from application.services.supervision import Period
from domain import labels
from domain.calendar import local_date
from domain.labels import label
from store import repos
from store.models import Jurisdiction
from store.packs import packs_in_force
from web import dates, i18n
from web.common import SupervisorPage, render
from web.i18n import gettext as _

router = APIRouter(include_in_schema=False)
R = TypeVar("R")

# Query parameters as the API spells them; the code pattern is the API's too.
CODE = r"^[0-9A-Za-z]{0,12}$"
CLOCK = r"^[a-z_:]{0,60}$"
Code = Annotated[str | None, Query(max_length=12, pattern=CODE)]
DateText = Annotated[str | None, Query(max_length=40)]
BREACH_PAGE = 50
OLDEST = 10
ESCALATION_ROWS = 10
# At a city the hit rate is shown per district (区/县, its children); above it per child
# (a province's cities: its districts would be a hundred bars, and a click on a city shows
# them), and from the district down per child (street).
PER_DISTRICT_LEVELS = ("city",)
# The workload charts show the officers with the most tasks (the table lists everyone).
CHART_OFFICERS = 20


# --- charts ----------------------------------------------------------------------------------

# Geometry of a horizontal bar chart, in SVG user units (the SVG scales to the page width).
# Drawn at their natural size (13px text), two side by side on a wide screen; narrower
# screens shrink them.
CHART_W = 520
LABEL_W = 150
BAR_MAX = 300
ROW_H = 30
BAR_H = 18


@dataclass
class Segment:
    key: str  # CSS class suffix and legend entry
    value: float
    text: str = ""  # the value as shown in the tooltip, when not the plain number
    x: float = 0
    w: float = 0


@dataclass
class Bar:
    name: str
    href: str | None
    segments: list[Segment]
    text: str  # the figure printed after the bar
    y: float = 0
    end: float = LABEL_W

    @property
    def label(self) -> str:
        return fit(self.name, LABEL_W - 12)


def text_width(text: str) -> float:
    """Roughly how wide ``text`` is at 13px: ideographs and full-width forms a full em,
    everything else about half."""
    return sum(13 if ord(c) >= 0x2E80 else 7.2 for c in text)


def fit(text: str, width: float) -> str:
    """``text`` cut to fit ``width`` with an ellipsis (the full name is in the bar's
    tooltip and in the table): SVG text does not wrap, and a label must not run off the
    chart's left edge."""
    if text_width(text) <= width:
        return text
    while text and text_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


@dataclass
class Chart:
    """A horizontal (stacked) bar chart: one bar per row, its label a link when the row can
    be drilled into. ``legend`` maps segment keys to their Chinese names (msgids)."""

    key: str
    caption: str
    bars: list[Bar]
    legend: dict[str, str]
    height: float = 0
    # False when every bar is zero: the chart is not drawn (its table says the same).
    has_data: bool = True
    width: int = CHART_W
    label_w: int = LABEL_W
    bar_max: int = BAR_MAX
    bar_h: int = BAR_H


def chart(
    key: str,
    caption: str,
    bars: list[Bar],
    legend: dict[str, str],
    scale: float | None = None,
    has_data: bool | None = None,
) -> Chart:
    """Lay the bars out: every bar on the same scale (the largest total, or ``scale``), so
    that lengths compare across rows. A chart whose bars are all zero has no data (unless
    ``has_data`` says otherwise: a rate of 0% is a figure)."""
    top = max((sum(s.value for s in b.segments) for b in bars), default=0)
    if has_data is None:
        has_data = top > 0
    scale = scale or top or 1
    for i, bar in enumerate(bars):
        bar.y = i * ROW_H
        x = float(LABEL_W)
        for seg in bar.segments:
            seg.x = x
            seg.w = round(seg.value / scale * BAR_MAX, 2)
            x += seg.w
        bar.end = x
    return Chart(key, caption, bars, legend, height=max(1, len(bars)) * ROW_H, has_data=has_data)


# The SLA states by the catalogue's names (the same words as the inbox and the task page).
SLA_LEGEND = dict(labels.SLA_STATES)
DONE_LEGEND = {"completed": labels.TASK_STATES["completed"]}
BREACH_LEGEND = {"breaches": "超时记录"}
RATE_LEGEND = {"on_time": "按时办结率"}
ESCALATION_LEGEND = {"open": "待处理", "handled": "已处理", "cancelled": "已撤销"}


def sla_segments(open_: int, at_risk: int, breached: int, past_deadline: int) -> list[Segment]:
    """Open tasks split into exclusive SLA states: ``breached`` counts the tasks past their
    deadline too (the API's definition), so they are taken out of it here."""
    return [
        Segment("on_track", open_ - at_risk - breached),
        Segment("at_risk", at_risk),
        Segment("breached", breached - past_deadline),
        Segment("past_deadline", past_deadline),
    ]


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


# --- links -----------------------------------------------------------------------------------


def url(path: str, **params: Any) -> str:
    """``path`` with the non-empty ``params`` (``from_`` is spelled ``from``)."""
    query = {k.rstrip("_"): v for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(query)}" if query else path


# --- the period form -------------------------------------------------------------------------


@dataclass
class PeriodForm:
    """What the user typed (echoed back in the form) and the messages next to the fields."""

    from_text: str = ""
    to_text: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def _parse_date(text: str, name: str, form: PeriodForm) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        form.errors[name] = _("请按“年-月-日”填写日期，例如 2024-03-01")
        return None


def read_period(
    from_text: str | None, to_text: str | None, now: datetime, *, optional: bool
) -> tuple[Period | None, PeriodForm]:
    """The period asked for, checked by the service (its rules, its defaults); a refusal
    becomes a message next to the field it concerns. ``optional``: no dates, no period."""
    form = PeriodForm((from_text or "").strip(), (to_text or "").strip())
    first = _parse_date(form.from_text, "from", form)
    last = _parse_date(form.to_text, "to", form)
    if form.errors:
        return None, form
    try:
        if optional:
            return service.optional_period(first, last, now), form
        return service.period(first, last, now), form
    except Problem as problem:
        if problem.status != 422:
            raise
        bounds = {"min": service.MIN_DATE.isoformat(), "max": service.MAX_DATE.isoformat()}
        for name, value in (("from", first), ("to", last)):
            if value is not None and not service.MIN_DATE <= value <= service.MAX_DATE:
                form.errors[name] = _("日期须在 %(min)s 至 %(max)s 之间") % bounds
        if not form.errors:
            fields = [str(e.get("field", "")) for e in problem.extra.get("errors", [])]
            if "query.from" in fields:
                form.errors["from"] = _("开始日期不能晚于结束日期")
            else:
                form.errors["to"] = _("期间不能超过 %(days)s 天") % {
                    "days": service.MAX_PERIOD_DAYS
                }
        return None, form


def span_text(first: date, last: date) -> str:
    """A period in words, in the reader's language, by the pages' one date formatter
    (:mod:`web.dates`): 2026年12月1日至12月6日 (the year once when both days share it),
    1 December 2026 – 6 December 2026."""
    if first == last:
        return dates.day_words(first, year=True)
    if i18n.current_locale() == "en":
        return f"{dates.day_words(first, year=True)} – {dates.day_words(last, year=True)}"
    return f"{dates.day_words(first, year=True)}至{dates.day_words(last, first.year != last.year)}"


@dataclass(frozen=True)
class Preset:
    """A period one click away: its name (msgid) and dates (None: the default period)."""

    name: str
    first: date | None
    last: date | None


def presets(today: date) -> list[Preset]:
    """This month so far, last month, the default period (the last 30 days), this year so far."""
    month = today.replace(day=1)
    last_month_end = month - timedelta(days=1)
    return [
        Preset("本月", month, today),
        Preset("上月", last_month_end.replace(day=1), last_month_end),
        Preset("近30天", None, None),
        Preset("本年", today.replace(month=1, day=1), today),
    ]


def period_name(span: Period, today: date) -> str | None:
    """The preset a period is (a msgid), or None for a period of the user's own."""
    for p in presets(today):
        first = p.first or today - timedelta(days=service.DEFAULT_PERIOD_DAYS - 1)
        if (span.first, span.last) == (first, p.last or today):
            return p.name
    return None


# --- places ----------------------------------------------------------------------------------


async def trail(session: AsyncSession, actor: Actor, place: Jurisdiction) -> list[Jurisdiction]:
    """The breadcrumb: from the user's own place down to ``place`` (never above their own)."""
    chain = await repos.ancestors(session, place)
    return [j for j in reversed(chain) if j.path.startswith(actor.jurisdiction_path)]


async def place_names(session: AsyncSession, codes: Iterable[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for code in set(codes):
        j = await repos.get_jurisdiction(session, code)
        names[code] = j.name if j else code
    return names


def clock_name(clock: str) -> str:
    """A breach record's clock in words: the task kind's name, or the case's deadline."""
    if clock == service.DEADLINE_CLOCK:
        return label("clock", clock)
    return label("task_kind", clock.removeprefix(service.TASK_CLOCK_PREFIX))


def kind_clock(kind: str) -> str:
    """The breach records' clock of an overview row's kind."""
    if kind == service.DEADLINE_CLOCK:
        return kind
    return f"{service.TASK_CLOCK_PREFIX}{kind}"


# --- the sections ----------------------------------------------------------------------------


@dataclass
class View:
    """What every section is built from: who looks, at which place, over which period."""

    session: AsyncSession
    actor: Actor
    place: Jurisdiction
    span: Period
    now: datetime
    # The period as the user typed it, kept in drill-down links (so "the last 30 days" stays
    # relative); the lists behind a count get ``span``'s dates instead, so they match it.
    keep: dict[str, str]

    @property
    def own_place(self) -> bool:
        return self.place.code == self.actor.jurisdiction_code

    def drill(self, code: str | None) -> str | None:
        """The dashboard of a place inside this one (None for this place itself)."""
        if code is None or code == self.place.code:
            return None
        return url("/dashboard", jurisdiction=code, **self.keep)

    def breaches(self, code: str | None = None, clock: str | None = None) -> str:
        """The breach records behind a count of the period."""
        return url(
            "/dashboard/breaches",
            jurisdiction=code or self.place.code,
            from_=self.span.first.isoformat(),
            to=self.span.last.isoformat(),
            clock=clock,
        )

    def cases(self, which: str, stage: str | None = None) -> str:
        """The cases behind a headline figure (of the period for ``decided``)."""
        dated = which == "decided"
        return url(
            "/dashboard/cases",
            which=which,
            stage=stage,
            jurisdiction=None if self.own_place else self.place.code,
            from_=self.span.first.isoformat() if dated else None,
            to=self.span.last.isoformat() if dated else None,
        )

    def inbox(self, tab: str, kind: str | None) -> str | None:
        """The inbox tab listing the tasks behind a count, narrowed to this place (the
        inbox's ``jurisdiction`` filter); only for supervisors (administrators have no
        inbox)."""
        if self.actor.role != "supervisor":
            return None
        place = None if self.own_place else self.place.code
        return url("/inbox", tab=tab, kind=kind, jurisdiction=place)


@dataclass
class Line(Generic[R]):
    """A row of a service's figures as the page shows it: its name, where its bar and label
    lead, and the lists behind its counts (None where there is no such list)."""

    row: R
    name: str
    href: str | None = None
    breaches_href: str | None = None
    at_risk_href: str | None = None
    breached_href: str | None = None


Builder = Callable[[View], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Section:
    """A section of the page. ``empty`` (a msgid) is the one line the section collapses to
    when ``is_empty`` says its figures are all zero: a screen of zeros and empty charts says
    less than one sentence."""

    key: str  # the anchor (#key) and the template dashboard/_<key>.html
    title: str  # msgid
    build: Builder
    empty: str = ""
    is_empty: Callable[[dict[str, Any]], bool] = lambda _d: False

    @property
    def template(self) -> str:
        return f"dashboard/_{self.key}.html"


# --- the headline --------------------------------------------------------------------------------

STAGE_LEGEND = {"with_task": "有待办事项", "waiting": "等待中"}
# What a stage's cases wait on when no task stands for them (service.WAITS_ON).
WAITS_ON_ZH = {
    "clock": "等待期满",
    "applicant": "等待申请人",
    "department": "等待部门数据",
}


@dataclass
class Tile:
    """A headline figure: its number as shown, its name and note (msgids filled in), the
    list behind it, and whether it calls for attention."""

    key: str
    value: str
    name: str
    href: str | None
    note: str = ""
    alert: bool = False


async def _headline(v: View) -> dict[str, Any]:
    """The figures a supervisor looks at first, each linking to the list behind it."""
    h = await service.headline(v.session, v.actor, code=v.place.code, span=v.span, now=v.now)
    ident = h.identification
    judged = ident.on_time + ident.late
    tiles = [
        Tile(
            "overdue",
            str(h.overdue),
            _("已超时事项"),
            v.inbox("breached", None) or v.breaches(),
            _("其中 %(n)s 件已逾期") % {"n": h.past_deadline} if h.past_deadline else "",
            alert=h.overdue > 0,
        ),
        Tile("at_risk", str(h.at_risk), _("临期事项"), v.inbox("at_risk", None)),
        Tile("breaches", str(h.breaches), _("本期超时记录"), v.breaches(), alert=h.breaches > 0),
        Tile(
            "on_time",
            percent(ident.rate),
            _("认定按时办结率"),
            v.cases("decided") if ident.decided else None,
            _("本期 %(judged)s 件认定决定中 %(n)s 件按时") % {"judged": judged, "n": ident.on_time}
            if judged
            else _("本期没有认定决定"),
            alert=ident.late > 0,
        ),
        Tile(
            "open_cases",
            str(h.open_cases),
            _("认定中的案件"),
            "#stages" if h.open_cases else None,
            _("其中 %(n)s 件等待中（无待办事项）") % {"n": h.cases_waiting}
            if h.cases_waiting
            else "",
        ),
        Tile(
            "cases_past_deadline",
            str(h.cases_past_deadline),
            _("超过认定时限未办结"),
            v.cases("past_deadline") if h.cases_past_deadline else None,
            alert=h.cases_past_deadline > 0,
        ),
    ]
    stages = [Line(s, _(s.name), href=v.cases("stage", s.stage)) for s in h.stages]
    bars = [
        Bar(
            x.name,
            x.href,
            [Segment("with_task", x.row.with_task), Segment("waiting", x.row.waiting)],
            str(x.row.cases),
        )
        for x in stages
    ]
    return {
        "headline": h,
        "tiles": tiles,
        "stages": stages,
        "stage_chart": chart("stages", _("各环节案件数"), bars, STAGE_LEGEND),
    }


async def _sla(v: View) -> dict[str, Any]:
    """Open tasks by SLA state and the period's breach records, by place and by kind."""
    by_place = await service.overview(
        v.session, v.actor, group_by="jurisdiction", code=v.place.code, span=v.span, now=v.now
    )
    by_kind = await service.overview(
        v.session, v.actor, group_by="kind", code=v.place.code, span=v.span, now=v.now
    )
    # The places chart is worth drawing only where there is something below this place.
    has_children = any(r.code != v.place.code for r in by_place.rows)
    place_rows = [
        Line(
            r,
            own_name(v, r.code, r.name),
            href=v.drill(r.code),
            breaches_href=v.breaches(r.code),
        )
        for r in by_place.rows
    ]
    kind_rows = [
        Line(
            r,
            _(r.name),
            # A kind's bar leads to its breached tasks, when there are any.
            href=v.inbox("breached", r.kind) if r.breached else None,
            at_risk_href=v.inbox("at_risk", r.kind),
            breached_href=v.inbox("breached", r.kind),
            breaches_href=v.breaches(clock=kind_clock(r.kind or "")),
        )
        for r in by_kind.rows
    ]

    def sla_bars(lines: list[Line[service.OverviewRow]]) -> list[Bar]:
        return [
            Bar(
                x.name,
                x.href,
                sla_segments(x.row.open, x.row.at_risk, x.row.breached, x.row.past_deadline),
                str(x.row.open),
            )
            for x in lines
        ]

    def breach_bars(lines: list[Line[service.OverviewRow]]) -> list[Bar]:
        return [
            Bar(x.name, x.breaches_href, [Segment("breaches", x.row.breaches)], str(x.row.breaches))
            for x in lines
        ]

    return {
        "place_rows": place_rows if has_children else [],
        "place_total": by_place.total,
        "kind_rows": kind_rows,
        "kind_total": by_kind.total,
        "place_chart": chart(
            "sla-place", _("未办结事项（按地区）"), sla_bars(place_rows), SLA_LEGEND
        ),
        "place_breach_chart": chart(
            "breach-place", _("期间内超时记录（按地区）"), breach_bars(place_rows), BREACH_LEGEND
        ),
        "kind_chart": chart(
            "sla-kind",
            _("未办结事项（按事项类型）"),
            sla_bars(kind_rows),
            SLA_LEGEND,
        ),
        "kind_breach_chart": chart(
            "breach-kind", _("期间内超时记录（按事项类型）"), breach_bars(kind_rows), BREACH_LEGEND
        ),
        "all_breaches_href": v.breaches(),
        "inbox_breached_href": v.inbox("breached", None),
        "inbox_at_risk_href": v.inbox("at_risk", None),
    }


def own_name(v: View, code: str | None, name: str) -> str:
    # The place's own row (tasks sitting at the district office itself) beside its children.
    return _("%(name)s（本级）") % {"name": name} if code == v.place.code else name


AGING_LEGEND = {key: label for key, label in service.AGE_BUCKETS}


def _aging_bars(
    rows: Sequence[service.AgingRow], hrefs: Sequence[str | None], names: Sequence[str]
) -> list[Bar]:
    keys = [key for key, _label in service.AGE_BUCKETS]
    return [
        Bar(name, href, [Segment(k, n) for k, n in zip(keys, r.counts, strict=True)], str(r.total))
        for r, href, name in zip(rows, hrefs, names, strict=True)
    ]


async def _aging(v: View) -> dict[str, Any]:
    """How long open tasks have waited, by place (when there are places below) and by kind,
    and the longest waiting."""
    by_place = await service.aging(
        v.session, v.actor, by="jurisdiction", code=v.place.code, oldest=OLDEST, now=v.now
    )
    by_kind = await service.aging(
        v.session, v.actor, by="kind", code=v.place.code, oldest=0, now=v.now
    )
    has_children = any(r.code != v.place.code for r in by_place.rows)
    place_names_ = [own_name(v, r.code, r.name) for r in by_place.rows]
    place_hrefs = [v.drill(r.code) for r in by_place.rows]
    kind_names = [_(r.name) for r in by_kind.rows]
    names = await place_names(v.session, (t.jurisdiction_code for t in by_place.oldest))
    return {
        "buckets": by_place.buckets,
        "place_rows": list(zip(by_place.rows, place_names_, place_hrefs, strict=True))
        if has_children
        else [],
        "place_total": by_place.total,
        "kind_rows": [(r, name, None) for r, name in zip(by_kind.rows, kind_names, strict=True)],
        "kind_total": by_kind.total,
        "place_chart": chart(
            "aging-place",
            _("等待时长（按地区）"),
            _aging_bars(by_place.rows, place_hrefs, place_names_),
            AGING_LEGEND,
        ),
        "kind_chart": chart(
            "aging-kind",
            _("等待时长（按事项类型）"),
            _aging_bars(by_kind.rows, [None] * len(by_kind.rows), kind_names),
            AGING_LEGEND,
        ),
        "oldest": by_place.oldest,
        "oldest_places": names,
    }


async def _workload(v: View) -> dict[str, Any]:
    """Each officer's open tasks now (by SLA state) and completions in the period."""
    body = await service.workload(v.session, v.actor, code=v.place.code, span=v.span, now=v.now)
    names = await place_names(v.session, (o.jurisdiction_code for o in body.officers))
    busiest = sorted(body.officers, key=lambda o: -o.open_assigned)[:CHART_OFFICERS]
    most_done = sorted(body.officers, key=lambda o: -o.completed)[:CHART_OFFICERS]
    bars = [
        Bar(
            o.display_name,
            None,
            sla_segments(o.open_assigned, o.at_risk, o.breached, o.past_deadline),
            str(o.open_assigned),
        )
        for o in busiest
    ]
    done = [
        Bar(o.display_name, None, [Segment("completed", o.completed)], str(o.completed))
        for o in most_done
    ]
    return {
        "officers": body.officers,
        "places": names,
        "charted": CHART_OFFICERS if len(body.officers) > CHART_OFFICERS else None,
        "load_chart": chart("workload", _("经办人员手头未办结事项"), bars, SLA_LEGEND),
        "done_chart": chart("completed", _("期间内办结事项"), done, DONE_LEGEND),
    }


async def _escalations(v: View) -> dict[str, Any]:
    """Escalations (督办) opened in the period by their state now, the ones still open
    (whenever opened) and the latest handled in the period."""
    open_now = await service.escalations(
        v.session,
        v.actor,
        state="open",
        code=v.place.code,
        span=None,
        cursor=None,
        limit=ESCALATION_ROWS,
    )
    handled = await service.escalations(
        v.session,
        v.actor,
        state="handled",
        code=v.place.code,
        span=v.span,
        cursor=None,
        limit=ESCALATION_ROWS,
    )
    counts = handled.counts  # of those opened in the period
    bars = [
        Bar(
            _(ESCALATION_LEGEND[k]), None, [Segment(k, getattr(counts, k))], str(getattr(counts, k))
        )
        for k in ESCALATION_LEGEND
    ]
    names = await place_names(
        v.session, (e.jurisdiction_code for e in [*open_now.items, *handled.items])
    )
    return {
        "counts": counts,
        "open_items": open_now.items,
        "open_more": open_now.next_cursor is not None,
        "handled_items": handled.items,
        "handled_more": handled.next_cursor is not None,
        "places": names,
        "chart": chart("escalations", _("期间内开启的督办"), bars, ESCALATION_LEGEND),
    }


async def _deadlines(v: View) -> dict[str, Any]:
    """The identification deadline hit rate of the period: per district above the district
    level, per direct child (street) from the district down."""
    body = await service.identification_deadlines(
        v.session, v.actor, code=v.place.code, span=v.span, now=v.now
    )
    per_district = v.place.level in PER_DISTRICT_LEVELS
    rows = body.districts if per_district else body.children
    items = [Line(r, own_name(v, r.code, r.name), href=v.drill(r.code)) for r in rows]
    bars = [
        Bar(
            x.name,
            x.href,
            [Segment("on_time", x.row.on_time_rate or 0, text=percent(x.row.on_time_rate))],
            percent(x.row.on_time_rate) if x.row.concluded else _("无办结案件"),
        )
        for x in items
    ]
    return {
        "per_district": per_district,
        "rows": items,
        "total": body.total,
        "chart": chart(
            "deadlines",
            _("认定时限按时办结率（按区县）")
            if per_district
            else _("认定时限按时办结率（按下级地区）"),
            bars,
            RATE_LEGEND,
            scale=1.0,
            has_data=body.total.concluded > 0,
        ),
    }


# --- assistance targets (援助目标) -------------------------------------------------------------

RATE_TARGET_LEGEND = {
    "on_track": "达到目标",
    "at_risk": "期限未到",
    "breached": "未达目标",
    "on_time": "帮扶率",
}
CLEARANCE_LEGEND = {"on_track": "期内退出", "breached": "期末仍在援助"}
EXIT_LEGEND = {"on_time": "退出人数"}


@dataclass
class TargetBar:
    """An assistance-rate bar and the x of its target's line across the track (None: the
    place's packs set no rate)."""

    bar: Bar
    target_x: float | None = None
    target_text: str = ""


def rate_target(row: targets_service.TargetsRow) -> targets_service.TargetOut | None:
    """The rate target a row's bar is drawn against: the first (the place's own pack's)."""
    return next((t for t in row.targets if t.kind == targets_service.COVERAGE), None)


def _rate_bar(x: Line[targets_service.TargetsRow]) -> TargetBar:
    """The bar of a place's rate: where a target applies, the rate it is measured on (the
    people of its pack; a row mixing packs has another overall rate, in the table), coloured
    by whether it is met, so that the bar, its line and its colour never disagree."""
    target = rate_target(x.row)
    rate, persons = (target.rate, target.persons) if target else (x.row.rate, x.row.persons)
    # Amber, not red, while the period runs: those short of the target are inside its window.
    state = target.state if target is not None else None
    key = {"met": "on_track", "not_due": "at_risk", "not_met": "breached"}.get(
        state or "", "on_time"
    )
    shown = percent(rate) if persons else _("无援助对象")
    bar = Bar(x.name, x.href, [Segment(key, rate or 0, text=percent(rate))], shown)
    if target is None or target.minimum_rate is None:
        return TargetBar(bar)
    return TargetBar(bar, LABEL_W + target.minimum_rate * BAR_MAX, percent(target.minimum_rate))


async def _assistance(v: View) -> dict[str, Any]:
    """The assistance rate (帮扶率) against its target, clearance (年度清零) and exits by
    reason of the period, by place, from the service behind /api/v1/supervision/assistance."""
    body = await targets_service.targets(
        v.session, v.actor, code=v.place.code, span=v.span, now=v.now
    )
    lines = [Line(r, own_name(v, r.code, r.name), href=v.drill(r.code)) for r in body.rows]
    total = Line(body.total, _(body.total.name))
    rate_bars = [_rate_bar(x) for x in lines]
    clearance = [
        Bar(
            x.name,
            x.href,
            [Segment("on_track", x.row.cleared), Segment("breached", x.row.remaining)],
            str(x.row.remaining),
        )
        for x in lines
    ]
    reasons = body.exit_reasons
    exit_bars = [
        Bar(i18n.label(r), None, [Segment("on_time", n)], str(n))
        for r, n in zip(reasons, body.total.exits, strict=True)
    ]
    in_force = await packs_in_force(v.session)
    packs = {r.pack_id: targets_service.pack_or_none(in_force, r.pack_id) for r in reasons}
    return {
        "lines": lines,
        "total": total,
        "rate_bars": rate_bars,
        "rate_chart": chart(
            "assistance-rate",
            _("帮扶率（按地区）"),
            [t.bar for t in rate_bars],
            RATE_TARGET_LEGEND,
            scale=1.0,
            has_data=body.total.persons > 0,
        ),
        "clearance_chart": chart(
            "assistance-clearance", _("清零情况（按地区）"), clearance, CLEARANCE_LEGEND
        ),
        "exit_chart": chart("assistance-exits", _("期内退出（按原因）"), exit_bars, EXIT_LEGEND),
        "targets": [(x, t) for x in [*lines, total] for t in x.row.targets],
        "reasons": [
            (r, [x.row.exits[i] for x in lines], body.total.exits[i]) for i, r in enumerate(reasons)
        ],
        "packs": packs if len(packs) > 1 else {},
    }


# --- zero-employment households (零就业家庭) ----------------------------------------------------

# The household figures a section shows; all zero, it collapses.
HOUSEHOLD_FIELDS = (
    "discovered",
    "identified",
    "cleared_within",
    "cleared_late",
    "not_zero_employment",
)
HOUSEHOLD_LEGEND = {"on_track": "时限内", "at_risk": "7天内到期", "breached": "已超时"}
CLEARED_LEGEND = {"on_track": "按时清零", "breached": "超时清零"}


@dataclass(frozen=True)
class Verdicts:
    """The one-month clearance (动态清零) of a place's households in three states: met
    (cleared within their month in the period), missed (cleared late in the period, or open
    past the month now) and not yet due (open, still within their month — not a failure)."""

    met: int
    missed: int
    not_due: int


def household_verdicts(row: households_service.HouseholdFiguresRow) -> Verdicts:
    return Verdicts(
        met=row.cleared_within,
        missed=row.cleared_late + row.overdue,
        not_due=row.identified - row.overdue,
    )


async def _households(v: View) -> dict[str, Any]:
    """Households open now by how much of their month is left, and those cleared within the
    period on time or late, by place, from the service behind /api/v1/supervision/households."""
    body = await households_service.figures(
        v.session, v.actor, code=v.place.code, span=v.span, now=v.now
    )
    lines = [Line(r, own_name(v, r.code, r.name), href=v.drill(r.code)) for r in body.rows]
    open_bars = [
        Bar(
            x.name,
            x.href,
            [
                Segment("on_track", x.row.identified - x.row.due_soon - x.row.overdue),
                Segment("at_risk", x.row.due_soon),
                Segment("breached", x.row.overdue),
            ],
            str(x.row.identified),
        )
        for x in lines
    ]
    cleared_bars = [
        Bar(
            x.name,
            x.href,
            [Segment("on_track", x.row.cleared_within), Segment("breached", x.row.cleared_late)],
            percent(x.row.clearance_rate) if x.row.clearance_rate is not None else "—",
        )
        for x in lines
    ]
    return {
        "lines": lines,
        "total": Line(body.total, _(body.total.name)),
        "verdicts": [
            (x, household_verdicts(x.row)) for x in [*lines, Line(body.total, _(body.total.name))]
        ],
        "open_chart": chart(
            "households-open", _("未清零的零就业家庭（按地区）"), open_bars, HOUSEHOLD_LEGEND
        ),
        "cleared_chart": chart(
            "households-cleared", _("期内清零（按地区）"), cleared_bars, CLEARED_LEGEND
        ),
        "list_href": "/households",
    }


# The dashboard's sections, in page order. Later issues add theirs here — the assistance rate
# (援助率) and the zero-employment households not yet cleared (零就业家庭) — each a Section
# with a builder calling its service and a template dashboard/_<key>.html; a section shows
# only figures its service computes, never placeholders.
SECTIONS: tuple[Section, ...] = (
    Section(
        "sla",
        "超时与临期",
        _sla,
        "没有未办结事项，本期无超时记录",
        lambda d: not d["kind_total"].open and not d["kind_total"].breaches,
    ),
    Section("aging", "待办时长", _aging, "没有未办结事项", lambda d: not d["kind_total"].total),
    Section(
        "workload",
        "经办人员工作量",
        _workload,
        "经办人员手头没有事项，本期无办结",
        lambda d: not any(o.open_assigned or o.completed for o in d["officers"]),
    ),
    Section(
        "escalations",
        "督办",
        _escalations,
        "本期无督办，没有待处理的督办",
        lambda d: not d["counts"].opened and not d["open_items"],
    ),
    Section(
        "deadlines",
        "认定时限达标率",
        _deadlines,
        "本期没有认定时限到期的案件",
        lambda d: not d["total"].cases,
    ),
    Section(
        "assistance",
        "援助目标",
        _assistance,
        "本期没有援助对象，也没有退出",
        lambda d: not d["total"].row.persons and not d["total"].row.exits_total,
    ),
    Section(
        "households",
        "零就业家庭",
        _households,
        "本期没有零就业家庭",
        lambda d: not any(getattr(d["total"].row, f) for f in HOUSEHOLD_FIELDS),
    ),
)


# --- pages -----------------------------------------------------------------------------------


def _code(value: str | None) -> str | None:
    return value or None  # the form sends an empty field for "my own place"


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(
    request: Request,
    session: SessionDep,
    actor: SupervisorPage,
    jurisdiction: Code = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: DateText = None,
) -> Response:
    now = datetime.now(UTC)
    place = await service.place_for(session, actor, _code(jurisdiction))
    span, form = read_period(from_, to, now, optional=False)
    context: dict[str, Any] = {
        "place": place,
        "trail": await trail(session, actor, place),
        "form": form,
        "sections": SECTIONS,
        "built": {},
        "span": span,
        "as_of": now,
        "url": url,
        "own_code": actor.jurisdiction_code,
        "presets": presets(local_date(now)),
        "period_name": period_name(span, local_date(now)) if span else None,
        "span_text": span_text(span.first, span.last) if span else "",
    }
    if span is None:
        # Figures for a period the user did not ask for would be misread: the form only.
        return render(request, "dashboard/dashboard.html", status=422, actor=actor, **context)
    keep = {"from_": form.from_text, "to": form.to_text}
    view = View(session, actor, place, span, now, keep)
    context["top"] = await _headline(view)
    context["waits_on_zh"] = WAITS_ON_ZH
    context["top_past_href"] = view.cases("past_deadline")
    context["built"] = {s.key: await s.build(view) for s in SECTIONS}
    context["view"] = view
    return render(request, "dashboard/dashboard.html", actor=actor, **context)


@router.get("/dashboard/breaches", response_class=HTMLResponse)
async def breach_list(
    request: Request,
    session: SessionDep,
    actor: SupervisorPage,
    jurisdiction: Code = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: DateText = None,
    clock: Annotated[str | None, Query(max_length=60, pattern=CLOCK)] = None,
    event: Annotated[str | None, Query(pattern=r"^(breached|past_deadline)?$")] = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> Response:
    """The breach records (超时/逾期) behind a dashboard count, newest first, a page at a
    time (keyset: records added meanwhile never make a page skip or repeat one)."""
    now = datetime.now(UTC)
    place = await service.place_for(session, actor, _code(jurisdiction))
    span, form = read_period(from_, to, now, optional=True)
    filters = {
        "jurisdiction": place.code,
        "from_": form.from_text,
        "to": form.to_text,
        "clock": clock or None,
        "event": event or None,
    }
    context: dict[str, Any] = {
        "place": place,
        "trail": await trail(session, actor, place),
        "form": form,
        "span": span,
        "span_text": span_text(span.first, span.last) if span else "",
        "clock": clock or None,
        "clock_name": clock_name(clock) if clock else None,
        "event": event or None,
        "items": [],
        "next_href": None,
        "first_href": url("/dashboard/breaches", **filters) if cursor else None,
        "url": url,
        "own_code": actor.jurisdiction_code,
        "back_href": url(
            "/dashboard",
            jurisdiction=place.code if place.code != actor.jurisdiction_code else None,
            from_=form.from_text,
            to=form.to_text,
        ),
    }
    if form.errors:
        return render(request, "dashboard/breaches.html", status=422, actor=actor, **context)
    page = await service.breaches(
        session,
        actor,
        code=place.code,
        span=span,
        clock=clock or None,
        event=event or None,
        cursor=cursor or None,
        limit=BREACH_PAGE,
    )
    context["items"] = page.items
    context["places"] = await place_names(session, (b.jurisdiction_code for b in page.items))
    context["clock_names"] = {b.clock: clock_name(b.clock) for b in page.items}
    if page.next_cursor:
        context["next_href"] = url("/dashboard/breaches", **filters, cursor=page.next_cursor)
    return render(request, "dashboard/breaches.html", actor=actor, **context)


CASE_LIST_TITLES = {
    "stage": "认定中的案件：%(stage)s",
    "past_deadline": "超过认定时限未办结的案件",
    "decided": "本期作出认定决定的案件",
}


@router.get("/dashboard/cases", response_class=HTMLResponse)
async def case_list(
    request: Request,
    session: SessionDep,
    actor: SupervisorPage,
    which: Annotated[Literal["stage", "past_deadline", "decided"], Query()] = "past_deadline",
    stage: Annotated[str | None, Query(max_length=30, pattern=r"^[a-z_]*$")] = None,
    jurisdiction: Code = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: DateText = None,
) -> Response:
    """The cases behind a headline figure: at a stage, past the identification deadline, or
    decided in the period (from the service behind /api/v1/supervision/cases)."""
    now = datetime.now(UTC)
    place = await service.place_for(session, actor, _code(jurisdiction))
    span, form = read_period(from_, to, now, optional=False)
    context: dict[str, Any] = {
        "place": place,
        "trail": await trail(session, actor, place),
        "form": form,
        "span": span,
        "span_text": span_text(span.first, span.last) if span else "",
        "which": which,
        "title": _(CASE_LIST_TITLES[which])
        % {"stage": _(service.stage_name(stage)) if stage else ""},
        "body": None,
        "url": url,
        "own_code": actor.jurisdiction_code,
        "back_href": url(
            "/dashboard",
            jurisdiction=place.code if place.code != actor.jurisdiction_code else None,
            from_=form.from_text,
            to=form.to_text,
        ),
    }
    if span is None:
        return render(request, "dashboard/cases.html", status=422, actor=actor, **context)
    try:
        body = await service.case_list(
            session,
            actor,
            which=which,
            code=place.code,
            stage=stage or None,
            span=span,
            now=now,
        )
    except Problem as problem:
        if problem.status != 422:
            raise
        context["error"] = _("请选择一个环节")
        return render(request, "dashboard/cases.html", status=422, actor=actor, **context)
    context["body"] = body
    context["places"] = await place_names(session, (c.jurisdiction_code for c in body.items))
    return render(request, "dashboard/cases.html", actor=actor, **context)


# Chinese names the pages show from the service (translated through the catalog).
SERVICE_LABELS = (
    service.TOTAL_ZH,
    service.UNASSIGNED_ZH,
    *(name for _key, name in service.AGE_BUCKETS),
)
