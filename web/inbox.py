"""The officer's inbox (待办): tabs for the task views (我的, 待领取, 临期, 已超时, 全部) with
their counts, filters in a plain GET form, saved views (personal or shared with the group),
due-soonest rows with SLA badges and the working days left, keyset pages, claim / release per
row, "下一件", bulk claim and (supervisors) bulk reassign and return to the queue.

Everything works as plain links and forms; htmx only polls ``/inbox/rows`` (the table and the
tab counts) so that the page follows the tasks without a reload. The list, the counts and
every action are the task service's (:mod:`application.services.tasks`) with the API's filter
model (:class:`TaskListIn`), so the page and ``/api/v1/tasks`` always agree.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from application.errors import PROBLEM_BASE, Problem
from application.http import Actor, SessionDep, optional_actor
from application.schemas.common import RowIdPath, mask_tail
from application.schemas.followup import NextStepOut, NextTaskOut
from application.schemas.tasks import BulkItemOut, TaskListIn, TaskQueryIn
from application.services import followup, saved_filters, tasks as service
from domain import labels
from domain.calendar import start_of_day
from domain.policy.model import PolicyPack
from domain.sla import state_at
from store import repos
from store.calendar_repo import effective_calendar
from store.models import Task
from store.packs import InForce, packs_in_force
from store.tasks_repo import OPEN_ONLY_VIEWS, in_group
from web import dates, inbox_view as web_inbox
from web.common import check_csrf, is_htmx, login_url, render, require_page_roles
from web.i18n import gettext as _, label, outcome_label
from web.problems import problem_message

router = APIRouter(include_in_schema=False)

InboxPage = Annotated[
    Actor, require_page_roles("grassroots_officer", "county_reviewer", "supervisor")
]

# Tabs are the API's views; the order is an officer's day: their own work, then the queue.
TABS = ("mine", "group", "at_risk", "breached", "scope")
TAB_ZH = {
    "mine": "我的",
    "group": "待领取",
    # the views of the tasks in these SLA states, by the states' names
    "at_risk": labels.SLA_STATES["at_risk"],
    "breached": labels.SLA_STATES["breached"],
    "scope": "全部",
}
# The query parameters of the page besides ``tab`` and ``cursor``: the filter form's fields,
# plus ``policy``/``sort``/``limit`` which a saved view or a link may carry.
FILTER_KEYS = (
    "kind",
    "state",
    "due_from",
    "due_to",
    "category",
    "policy",
    "q",
    "sort",
    "limit",
    "jurisdiction",
)
COUNT_CAP = 1000
MAX_BULK = 100  # as BulkClaimIn / BulkReassignIn
POLL = "every 20s"
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def default_tab(actor: Actor) -> str:
    # Officers and reviewers start on the queue they take work from; supervisors, whose work
    # is watching everyone's, on everything in their remit.
    return "scope" if service.is_supervisor(actor) else "group"


# --- the filters -----------------------------------------------------------------------------


@dataclass
class Filters:
    """The page's query as typed (``form``, for the form and the links), the errors to show
    next to its fields, and the API's model built from it (None when there are errors)."""

    tab: str
    form: dict[str, str]
    cursor: str | None = None
    errors: dict[str, str] = field(default_factory=dict)
    params: TaskListIn | None = None

    def query(self, **changes: str | None) -> str:
        """The query string of this list (first page unless ``cursor`` is given), with
        ``changes`` applied; empty values are left out."""
        values: dict[str, str | None] = {"tab": self.tab, **self.form, **changes}
        return urlencode({k: v for k, v in values.items() if v})

    def saved_query(self) -> TaskQueryIn | None:
        """What a saved view stores: the list parameters without the page position."""
        if self.params is None:
            return None
        data = self.params.model_dump(exclude_unset=True, exclude={"cursor", "limit"})
        return TaskQueryIn.model_validate(data)


def _day(value: str) -> date | None:
    if not DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def read_filters(query: Mapping[str, str], actor: Actor) -> Filters:
    """The page's query parameters as the API's :class:`TaskListIn`. Dates are days of the
    due date as the rows show it (the goal day, Shanghai): a task is due on day D when its
    ``due_at`` lies in (D 00:00, D+1 00:00], so "from D1 to D2" bounds ``due_at`` by
    D1 00:00 + 1 µs and D2+1 00:00."""
    tab = query.get("tab", "")
    if tab not in TABS:
        tab = default_tab(actor)
    form = {k: query.get(k, "").strip() for k in FILTER_KEYS}
    filters = Filters(tab=tab, form=form, cursor=query.get("cursor") or None)
    errors = filters.errors
    data: dict[str, Any] = {"view": tab}
    for key in ("kind", "category", "policy", "q", "jurisdiction"):
        if form[key]:
            data[key] = form[key]
    if form["state"]:
        if form["state"] in labels.TASK_STATES:
            data["state"] = form["state"]
        else:
            errors["state"] = _("请选择列表中的状态")
    if form["sort"] in ("due", "priority"):
        data["sort"] = form["sort"]
    if form["limit"].isdigit() and 1 <= int(form["limit"]) <= 200:
        data["limit"] = int(form["limit"])
    days: dict[str, date] = {}
    for key in ("due_from", "due_to"):
        if form[key]:
            day = _day(form[key])
            if day is None:
                errors[key] = _("请按 年-月-日 填写日期，例如 2025-03-01")
            else:
                days[key] = day
    if "due_from" in days:
        data["due_from"] = start_of_day(days["due_from"]) + timedelta(microseconds=1)
    if "due_to" in days:
        data["due_to"] = start_of_day(days["due_to"] + timedelta(days=1))
    if len(days) == 2 and days["due_from"] > days["due_to"]:
        errors["due_to"] = _("截止日期不能早于起始日期")
    if tab in OPEN_ONLY_VIEWS and data.get("state", "open") != "open":
        # 待领取, 临期 and 已超时 are open tasks only: a done or cancelled filter chosen on
        # one of them moves the list to 全部 rather than refuse it (#21).
        tab = filters.tab = "scope"
    data["view"] = tab
    if filters.cursor:
        data["cursor"] = filters.cursor
    if errors:
        return filters
    try:
        filters.params = TaskListIn.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            where = str(error["loc"][0]) if error["loc"] else "q"
            errors.setdefault(where if where in form else "q", _("填写的内容有误"))
    return filters


def _form_of_saved(query: Mapping[str, Any]) -> str:
    """The page's query string for a saved view (its dates back to days, see
    :func:`read_filters`)."""
    values: dict[str, str] = {"tab": str(query.get("view", "scope"))}
    for key in ("kind", "state", "category", "policy", "q", "sort"):
        if query.get(key):
            values[key] = str(query[key])
    for key in ("due_from", "due_to"):
        if query.get(key):
            try:
                values[key] = web_inbox.due_day(datetime.fromisoformat(query[key])).isoformat()
            except (TypeError, ValueError):
                continue
    return urlencode(values)


# --- what the rows show ----------------------------------------------------------------------


def _pack_labels(task: Task, packs: InForce) -> tuple[str, str]:
    pack = packs.find(task.policy_pack_id)  # None for a pack no longer in force: its id
    if pack is None:
        return task.policy_pack_id, task.category_code or ""
    category = next((c for c in pack.categories if c.code == task.category_code), None)
    return label(pack), label(category) if category else (task.category_code or "")


def packs_for(code: str, packs: InForce) -> list[PolicyPack]:
    """The packs of the places an officer works in: a pack in force whose region code and the
    user's place code are one inside the other (a province user sees the province's and its
    cities' packs; the root sees all)."""
    prefix = code.rstrip("0")
    found = [packs.get(i) for i in packs.ids()]
    return [
        p for p in found if p.region_code.startswith(prefix) or prefix.startswith(p.region_code)
    ]


def category_choices(code: str, packs: InForce) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for pack in packs_for(code, packs):
        for category in pack.categories:
            seen.setdefault(category.code, label(category))
    return list(seen.items())


@dataclass
class Row:
    task: Task
    sla: str | None
    time_left: str
    due_day: date
    assignee: str
    pack: str
    category: str
    masked_id: str
    can_claim: bool
    can_release: bool

    @property
    def dom_id(self) -> str:
        # Task ids hold dots, which a CSS id selector (htmx's hx-preserve) reads as classes.
        return "t-" + hashlib.sha256(self.task.id.encode()).hexdigest()[:12]


def time_left_text(sla: str, days_left: int) -> str:
    """ "剩余 N 个工作日" / "已超时 N 个工作日" from :func:`web_inbox.working_days_left`."""
    if sla in ("breached", "past_deadline"):
        if days_left < 0:
            return _("已超时 %(n)s 个工作日") % {"n": -days_left}
        # Past the goal day, but no working day lost yet (a weekend after a Friday goal).
        return _("已超时，不足 1 个工作日")
    if days_left == 0:
        return _("今日到期")
    return _("剩余 %(n)s 个工作日") % {"n": days_left}


async def build_rows(
    session: SessionDep, actor: Actor, tasks: Sequence[Task], now: datetime
) -> list[Row]:
    names = await service.assignee_names(session, tasks, actor)
    calendar = await effective_calendar(session)
    packs = await packs_in_force(session)
    rows = []
    for t in tasks:
        is_open = t.state == "open"
        sla = str(state_at(t.at_risk_at, t.due_at, t.deadline_at, now)) if is_open else None
        left = web_inbox.working_days_left(t, now, calendar) if sla else 0
        pack, category = _pack_labels(t, packs)
        rows.append(
            Row(
                task=t,
                sla=sla,
                time_left=time_left_text(sla, left) if sla else "",
                due_day=web_inbox.due_day(t.due_at),
                assignee=names.get(t.assignee_id or 0, ""),
                pack=pack,
                category=category,
                masked_id=mask_tail(t.id_last4),
                can_claim=is_open
                and t.assignee_id is None
                and in_group(actor.role, actor.jurisdiction_path, t),
                can_release=is_open and t.assignee_id == actor.id,
            )
        )
    return rows


def _count_text(n: int) -> str:
    return f"{COUNT_CAP}+" if n >= COUNT_CAP else str(n)


def fingerprint(rows: Sequence[Row], counts: Mapping[str, int], next_cursor: str | None) -> str:
    """What the polled fragment shows, hashed: an unchanged table is answered 204 so the page
    keeps its focus and selection."""
    parts = [repr(sorted(counts.items())), next_cursor or ""]
    parts += [f"{r.task.id}:{r.task.version}:{r.sla}:{r.time_left}:{r.assignee}" for r in rows]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


async def list_context(session: SessionDep, actor: Actor, filters: Filters) -> dict[str, Any]:
    """The table and the tabs: one page of the tab's tasks and the counts."""
    now = datetime.now(UTC)
    counts = await service.counts(session, actor, cap=COUNT_CAP)
    tasks: list[Task] = []
    next_cursor = None
    if filters.params is not None:
        tasks, next_cursor = await service.list_tasks(session, actor, filters.params, now)
    rows = await build_rows(session, actor, tasks, now)
    # Narrowed to a place (the dashboard's drill-down): its name, and the list without it.
    narrowed = filters.params.jurisdiction if filters.params is not None else None
    place = await repos.get_jurisdiction(session, narrowed) if narrowed else None
    return {
        "filters": filters,
        "place": place,
        "whole_scope_link": filters.query(jurisdiction=None),
        "rows": rows,
        "next_cursor": next_cursor,
        "counts": {k: _count_text(v) for k, v in counts.items()},
        "version": fingerprint(rows, counts, next_cursor),
        "TABS": TABS,
        "TAB_ZH": TAB_ZH,
        "POLL": POLL,
        "tab_links": {
            # An open-only tab drops a "completed" state rather than refuse it.
            tab: filters.query(
                tab=tab, state=None if tab in OPEN_ONLY_VIEWS else filters.form["state"]
            )
            for tab in TABS
        },
        "supervisor": service.is_supervisor(actor),
        "assignable": await web_inbox.assignable_users(session, actor),
        "field_errors": {},
    }


@dataclass
class Notice:
    """A message above the table: ``error`` ones are alerts."""

    text: str
    error: bool = False
    detail: str = ""
    task: Task | None = None


@dataclass
class BulkLine:
    task_id: str
    applicant: str
    ok: bool
    text: str


async def render_inbox(
    request: Request,
    session: SessionDep,
    actor: Actor,
    filters: Filters,
    *,
    status: int = 200,
    notice: Notice | None = None,
    bulk: list[BulkLine] | None = None,
    field_errors: Mapping[str, str] | None = None,
    view_name: str = "",
    feedback: Feedback | None = None,
) -> Response:
    context = await list_context(session, actor, filters)
    views = await saved_filters.saved_views(session, actor)
    return render(
        request,
        "inbox/inbox.html",
        status=status,
        actor=actor,
        notice=notice,
        feedback=feedback,
        FEEDBACK_POLL=FEEDBACK_POLL,
        FEEDBACK_TRIES=FEEDBACK_TRIES,
        bulk=bulk,
        view_name=view_name,
        views=[(v, owner, _form_of_saved(v.query)) for v, owner in views],
        kinds=list(labels.TASK_KINDS.items()),
        categories=category_choices(actor.jurisdiction_code, await packs_in_force(session)),
        **{**context, "field_errors": field_errors or {}},
    )


async def _done_notice(session: SessionDep, actor: Actor, done: str, task_id: str) -> Notice | None:
    texts = {
        "claimed": _("已领取"),
        "released": _("已放弃领取"),
        "saved": _("视图已保存"),
        "deleted": _("视图已删除"),
    }
    if done not in texts:
        return None
    task = None
    if task_id:
        try:
            task = await service.get_task(session, actor, task_id)
        except Problem:
            task = None
    return Notice(texts[done], task=task)


# --- after a completion: what was done, what comes next ---------------------------------------

# How often, and how many times, the banner asks again while the next step is being opened.
FEEDBACK_POLL = "load delay:1s"
FEEDBACK_TRIES = 30


@dataclass
class Feedback:
    """The banner after a completion (办理结果反馈): what the officer did, what follows (the
    next task, who has it and by when; the clock the case waits on; the end), a link to the
    case. Built from the records, so a reload or a second server says the same."""

    task: Task
    done: str
    lines: list[str]
    step: NextStepOut
    tries: int = 0

    @property
    def pending(self) -> bool:
        return self.step.state == "pending"


def holder_text(t: NextTaskOut) -> str:
    """Who has a task: its holder, else its group (the place and the role)."""
    if t.assignee_name:
        return t.assignee_name
    return _("%(place)s%(role)s") % {
        "place": t.jurisdiction_name,
        "role": label(t.candidate_role, "role"),
    }


def next_lines(step: NextStepOut) -> list[str]:
    if step.state == "task":
        lines = []
        for t in step.tasks:
            values = {
                "kind": label(t.kind, "task_kind"),
                "holder": holder_text(t),
                "day": dates.last_day(t.due_at),
            }
            if t.waiting_on == "applicant":
                text = _("下一步：等待申请人补正材料，由%(holder)s登记，期限%(day)s")
            else:
                text = _("下一步：%(kind)s，由%(holder)s办理，期限%(day)s")
            lines.append(text % values)
        return lines
    if step.state == "clock" and step.clock is not None:
        day = dates.last_day(step.clock.ends_at)
        return [_("下一步：进入公示，公示期至%(day)s，期满后由系统开启下一环节") % {"day": day}]
    status = label(step.case_status, "case_status")
    if step.state == "closed" and step.case_status in followup.CONCLUDED:
        return [_("案件已办结：%(status)s") % {"status": status}]
    if step.state == "closed":  # a household's procedure, whose case row keeps its status
        return [_("办理程序已结束")]
    if step.state == "none":
        return [_("案件暂无待办事项（%(status)s）") % {"status": status}]
    return [_("下一步正在生成，稍后将在此显示")]


async def completion_feedback(
    session: SessionDep, actor: Actor, task_id: str, tries: int = 0
) -> Feedback | None:
    """The banner for a task the caller completed; None for any other task (someone else's
    decision, an open task, a task outside the caller's area)."""
    try:
        task = await service.get_task(session, actor, task_id)
    except Problem:
        return None
    if task.state != "completed" or task.completed_by != actor.id or task.outcome is None:
        return None
    step = await followup.next_step(session, actor, task_id)
    done = _("已提交%(kind)s结果：%(outcome)s") % {
        "kind": label(task.kind, "task_kind"),
        "outcome": outcome_label(task.outcome.get("outcome"), task.kind),
    }
    return Feedback(task, done, next_lines(step), step, tries)


# --- pages -----------------------------------------------------------------------------------


@router.get("/inbox", response_class=HTMLResponse)
async def inbox(request: Request, session: SessionDep, actor: InboxPage) -> Response:
    filters = read_filters(request.query_params, actor)
    done = request.query_params.get("done", "")
    task_id = request.query_params.get("task", "")[:160]
    notice = await _done_notice(session, actor, done, task_id)
    feedback = None
    if done == "completed" and task_id:
        feedback = await completion_feedback(session, actor, task_id)
    status = 422 if filters.errors else 200
    return await render_inbox(
        request, session, actor, filters, status=status, notice=notice, feedback=feedback
    )


@router.get("/inbox/feedback", response_class=HTMLResponse)
async def inbox_feedback(request: Request, session: SessionDep, actor: InboxPage) -> Response:
    """The banner alone, asked again while the next step was still being opened."""
    task_id = request.query_params.get("task", "")[:160]
    tries = request.query_params.get("n", "0")
    n = min(int(tries), FEEDBACK_TRIES) if tries.isdigit() else FEEDBACK_TRIES
    feedback = await completion_feedback(session, actor, task_id, n + 1)
    if feedback is None:  # not a completion of the caller's: nothing to show (the swap clears)
        return HTMLResponse("")
    return render(
        request,
        "inbox/_feedback.html",
        actor=actor,
        feedback=feedback,
        FEEDBACK_POLL=FEEDBACK_POLL,
        FEEDBACK_TRIES=FEEDBACK_TRIES,
    )


@router.get("/inbox/rows", response_class=HTMLResponse)
async def inbox_rows(
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor | None, Depends(optional_actor)],
) -> Response:
    """The polled fragment: the table and (out of band) the tabs with their counts. 204 when
    nothing changed since the version ``v`` the page has. A session that ended sends the
    whole page to the login form (htmx follows ``HX-Redirect``) instead of putting the login
    form inside the table."""
    if actor is None:
        query = request.query_params
        back = "/inbox?" + urlencode({k: v for k, v in query.items() if k != "v"})
        target = login_url(back)
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    if actor.role not in ("grassroots_officer", "county_reviewer", "supervisor"):
        raise Problem(403, "actor-not-allowed", "Not allowed", "此页面仅对特定角色开放")
    filters = read_filters(request.query_params, actor)
    context = await list_context(session, actor, filters)
    if request.query_params.get("v") == context["version"]:
        return Response(status_code=204)
    return render(request, "inbox/_fragment.html", actor=actor, **context)


# What a handled case waits on (我经办的案件): the column's words by the next step.
WAITING_ZH = {
    "task": "待他人办理",
    "applicant": "等待申请人补正",
    "clock": "等待公示期满",
    "pending": "下一步正在生成",
}


def waiting_text(step: NextStepOut) -> str:
    if step.state == "task" and all(t.waiting_on == "applicant" for t in step.tasks):
        return _(WAITING_ZH["applicant"])
    return _(WAITING_ZH.get(step.state, "待他人办理"))


@router.get("/inbox/handled", response_class=HTMLResponse)
async def handled(request: Request, session: SessionDep, actor: InboxPage) -> Response:
    """The cases the officer handled that now wait on someone else, on the applicant or on a
    clock, most recently handled first, each with its stage, who has it and by when."""
    cases = await followup.handled_cases(session, actor)
    rows = [(c, waiting_text(c.next), next_lines(c.next)) for c in cases]
    return render(request, "inbox/handled.html", actor=actor, rows=rows)


def _ids(values: Sequence[Any]) -> list[str]:
    return [str(v) for v in values if str(v).strip()][: MAX_BULK + 1]


def _holder_text(problem: Problem) -> str:
    holder = problem.extra.get("holder") or {}
    if problem.type == "task-claimed" and holder.get("display_name"):
        return _("该事项已被 %(name)s 领取") % {"name": holder["display_name"]}
    return problem_message(problem)


def _line_text(item: BulkItemOut) -> tuple[bool, str]:
    if item.result == "claimed":
        return True, _("已领取")
    if item.result == "reassigned":
        return True, _("已转交")
    if item.result == "not_found":
        return False, _("未找到，或不在您的管辖范围内")
    if item.holder is not None:
        return False, _("该事项已被 %(name)s 领取") % {"name": item.holder.display_name}
    slug = (item.reason or "").removeprefix(PROBLEM_BASE)
    return False, problem_message(Problem(409, slug, slug))


async def _applicants(session: SessionDep, actor: Actor, ids: Sequence[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for task_id in ids:
        try:
            names[task_id] = (await service.get_task(session, actor, task_id)).applicant_name
        except Problem:
            names[task_id] = ""
    return names


@router.post("/inbox", response_class=HTMLResponse)
async def inbox_action(request: Request, session: SessionDep, actor: InboxPage) -> Response:
    """Every button of the page posts here with ``op``: ``claim:<id>``, ``release:<id>``,
    ``next``, ``bulk_claim``, ``bulk_reassign``, ``bulk_return``. The query string is the
    list the user was looking at: a claim returns to it (303), a refusal is shown on it with
    the service's status and words."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    filters = read_filters(request.query_params, actor)
    op = str(form.get("op", ""))
    here = "/inbox?" + filters.query(cursor=filters.cursor)

    async def refused(problem: Problem, text: str | None = None) -> Response:
        notice = Notice(text or problem_message(problem), error=True, detail=problem.detail)
        return await render_inbox(
            request, session, actor, filters, status=problem.status, notice=notice
        )

    if op == "next":
        task = await service.claim_next(session, actor)
        if task is None:
            notice = Notice(_("您所在的组暂无待领取的事项"))
            return await render_inbox(request, session, actor, filters, notice=notice)
        return RedirectResponse(f"/tasks/{task.id}", status_code=303)

    if op.startswith(("claim:", "release:")):
        action, _sep, task_id = op.partition(":")
        try:
            if action == "claim":
                await service.claim(session, actor, task_id)
            else:
                await service.unclaim(session, actor, task_id)
        except Problem as problem:
            return await refused(problem, _holder_text(problem))
        done = "claimed" if action == "claim" else "released"
        return RedirectResponse(f"{here}&{urlencode({'done': done, 'task': task_id})}", 303)

    if op not in ("bulk_claim", "bulk_reassign", "bulk_return"):
        raise Problem(400, "bad-request", "Unknown action", f"unknown action {op!r}")
    ids = _ids(form.getlist("task_ids"))
    errors: dict[str, str] = {}
    if not ids:
        errors["task_ids"] = _("请先勾选事项")
    elif len(ids) > MAX_BULK:
        errors["task_ids"] = _("一次最多处理 %(n)s 件") % {"n": MAX_BULK}
    assignee = str(form.get("assignee", ""))
    if op == "bulk_reassign" and not assignee.isdigit():
        errors["assignee"] = _("请选择转交给谁")
    if errors:
        return await render_inbox(request, session, actor, filters, status=422, field_errors=errors)
    lines: list[BulkLine] = []
    try:
        if op == "bulk_return":
            returned = await web_inbox.bulk_return(session, actor, ids)
            names = await _applicants(session, actor, ids)
            for r in returned:
                ok = r.problem is None
                text = _("已退回待领取") if r.problem is None else problem_message(r.problem)
                lines.append(BulkLine(r.task_id, names[r.task_id], ok, text))
        else:
            if op == "bulk_claim":
                items = await service.bulk_claim(session, actor, ids)
            else:
                items = await service.bulk_reassign(session, actor, ids, int(assignee))
            names = await _applicants(session, actor, ids)
            for item in items:
                ok, text = _line_text(item)
                lines.append(BulkLine(item.task_id, names[item.task_id], ok, text))
    except Problem as problem:
        return await refused(problem)
    return await render_inbox(request, session, actor, filters, bulk=lines)


# --- saved views -----------------------------------------------------------------------------


@router.get("/inbox/views", response_class=HTMLResponse)
async def views_get(request: Request) -> Response:
    # The page a failed save rendered has this address; its language link lands here.
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    return RedirectResponse("/inbox?" + urlencode(query), status_code=303)


@router.post("/inbox/views", response_class=HTMLResponse)
async def save_view(request: Request, session: SessionDep, actor: InboxPage) -> Response:
    """Save the list's current filters (the query string) under a name, optionally shared
    with the user's group."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    filters = read_filters(request.query_params, actor)
    name = str(form.get("name", "")).strip()
    shared = form.get("shared") == "1"
    error = ""
    if not name:
        error = _("请填写视图名称")
    elif len(name) > 100:
        error = _("视图名称最多 100 个字")
    query = filters.saved_query()
    if query is None:
        error = error or _("请先改正筛选条件")
    status = 422
    if not error and query is not None:
        try:
            await saved_filters.save_view(session, actor, name, query, shared)
        except Problem as problem:
            error, status = problem_message(problem), problem.status
        else:
            return RedirectResponse(f"/inbox?{filters.query()}&done=saved", status_code=303)
    return await render_inbox(
        request,
        session,
        actor,
        filters,
        status=status,
        field_errors={"view_name": error},
        view_name=name,
    )


@router.post("/inbox/views/{view_id}/delete", response_class=HTMLResponse)
async def delete_view(
    request: Request, view_id: RowIdPath, session: SessionDep, actor: InboxPage
) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    filters = read_filters(request.query_params, actor)
    await saved_filters.delete_view(session, actor, view_id)
    return RedirectResponse(f"/inbox?{filters.query()}&done=deleted", status_code=303)
