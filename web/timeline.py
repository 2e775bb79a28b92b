"""The case timeline's entries in the reader's language. Activities and workflows write each
entry's summary in Chinese (``case_events.summary``), and there it stays: stored histories and
their records never change. Pages render a summary through this catalogue of the shapes the
system writes — a fixed sentence, or a sentence with values (a stage's name, a category, the
publicity's end) — each shape a msgid with its English in ``web/locale/en/``; the values are
translated where the catalogue names them. A summary of no known shape (an officer's free
text, an entry of a newer release) is shown as written.

The publicity's end is stored as an instant (the end of its last day, i.e. the next day's
00:00, Asia/Shanghai); it is shown as that last day (web/dates.py's ``last_day``, as every page
shows the end of a period).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from web import dates
from web.i18n import gettext


def _(message: str) -> str:
    """Marks a msgid for the catalogue (tests/web/test_i18n.py extracts ``_``); translated
    when a page renders it (:func:`gettext`), never at import."""
    return message


# The sentences the system writes as they are (workflows/identification.py, assistance.py,
# household.py; activities/cases.py). Wrapped in _() so that the catalogue check finds them.
FIXED: frozenset[str] = frozenset(
    (
        _("受理申请"),
        _("公示期满，无未处理异议"),
        _("公示重新开始"),
        _("认定办结时限开始计算"),
        _("节假日安排更新，重新计算办结时限"),
        _("认定完成"),
        _("不予受理"),
        _("申请人撤回申请"),
        _("申请人未补充材料，申请终止"),
        _("程序未作出认定结论"),
        _("任务已取消"),
        _("初审不通过"),
        _("入户核实情况不符"),
        _("公示异议成立，不予认定"),
        _("开始就业援助（一人一策）"),
        _("援助计划已制定（一人一策）"),
        _("预审：符合条件"),
        _("预审：存在不符合项或待核实事项"),
        _("预审：不符合条件"),
        _("预审：待核实"),
        _("家庭成员实现就业，零就业家庭清零"),
        _("核实：不是零就业家庭"),
    )
)


def _last_day(value: str) -> str:
    """An end instant (ISO) as its inclusive last day; unreadable text stays as written."""
    try:
        return dates.last_day(value)
    except ValueError:
        return value


def _names(value: str) -> str:
    """A list of names joined by 、, each translated where the catalogue has it."""
    return gettext("、").join(gettext(part) for part in value.split("、"))


SEPARATORS = (_("、"), _("；"))

Shape = tuple[re.Pattern[str], str, Callable[[dict[str, str]], dict[str, str]]]

# Sentences with values: the pattern, its msgid (the same sentence with placeholders) and how
# each value is rendered.
SHAPES: list[Shape] = [
    (
        re.compile(r"公示开始（(?P<days>\d+)个工作日，至(?P<day>[^）]+)）"),
        _("公示开始（%(days)s个工作日，至%(day)s）"),
        lambda v: {"days": v["days"], "day": _last_day(v["day"])},
    ),
    (
        # A refusal's re-examination (复核申请, where the pack provides one): its window, the
        # applicant's request, a refusal upheld.
        re.compile(r"可申请(?P<name>[^（]+)（(?P<days>\d+)个工作日内，至(?P<day>[^）]+)）"),
        _("可申请%(name)s（%(days)s个工作日内，至%(day)s）"),
        lambda v: {"name": gettext(v["name"]), "days": v["days"], "day": _last_day(v["day"])},
    ),
    (
        re.compile(r"申请人申请(?P<name>[^：]+)：(?P<content>.*)", re.S),
        _("申请人申请%(name)s：%(content)s"),
        lambda v: {"name": gettext(v["name"]), "content": v["content"]},
    ),
    (
        re.compile(r"(?P<name>[^：；]+)申请期满，不予认定"),
        _("%(name)s申请期满，不予认定"),
        lambda v: {"name": gettext(v["name"])},
    ),
    (
        re.compile(r"(?P<name>[^：]+)：维持不予认定"),
        _("%(name)s：维持不予认定"),
        lambda v: {"name": gettext(v["name"])},
    ),
    (
        # A publicity of at least N working days (公示期不少于…, a pack's `minimum`).
        re.compile(r"公示开始（不少于(?P<days>\d+)个工作日，至(?P<day>[^）]+)）"),
        _("公示开始（不少于%(days)s个工作日，至%(day)s）"),
        lambda v: {"days": v["days"], "day": _last_day(v["day"])},
    ),
    (
        # An intermediate review level's refusal (街道复查不通过), named by its pack.
        re.compile(r"(?P<stage>[^：（]+)不通过"),
        _("%(stage)s不通过"),
        lambda v: {"stage": gettext(v["stage"])},
    ),
    (
        re.compile(r"进入(?P<stage>.+)"),
        _("进入%(stage)s"),
        lambda v: {"stage": gettext(v["stage"])},
    ),
    (
        re.compile(r"认定为就业困难人员（(?P<category>.+)）"),
        _("认定为就业困难人员（%(category)s）"),
        lambda v: {"category": gettext(v["category"])},
    ),
    (
        re.compile(r"(?P<stage>[^：]+)：不予认定"),
        _("%(stage)s：不予认定"),
        lambda v: {"stage": gettext(v["stage"])},
    ),
    (
        re.compile(r"公示期间收到异议：(?P<content>.*)", re.S),
        _("公示期间收到异议：%(content)s"),
        lambda v: v,
    ),
    (
        re.compile(r"一次性告知需补充材料：(?P<items>.*)", re.S),
        _("一次性告知需补充材料：%(items)s"),
        lambda v: {"items": _names(v["items"])},
    ),
    (
        re.compile(r"符合类别 (?P<items>.+)"),
        _("符合类别 %(items)s"),
        lambda v: {"items": _names(v["items"])},
    ),
    (
        re.compile(r"缺少材料 (?P<items>.+)"),
        _("缺少材料 %(items)s"),
        lambda v: {"items": _names(v["items"])},
    ),
    (
        re.compile(r"退出就业援助：(?P<reason>.+)"),
        _("退出就业援助：%(reason)s"),
        lambda v: {"reason": gettext(v["reason"])},
    ),
    (
        re.compile(r"退出核实：(?P<reason>.+)"),
        _("退出核实：%(reason)s"),
        lambda v: {"reason": gettext(v["reason"])},
    ),
    (
        re.compile(r"定期审验（(?P<period>[^）]+)）：已核实"),
        _("定期审验（%(period)s）：已核实"),
        lambda v: v,
    ),
    (
        # The officer's name and the facts' names and values are written as recorded (the
        # case page's 已核实事项 table shows them in the reader's language).
        re.compile(r"经办人 (?P<who>\S+) 核实：(?P<items>.+)", re.S),
        _("经办人 %(who)s 核实：%(items)s"),
        lambda v: v,
    ),
    (
        re.compile(r"临期提醒：(?P<what>.+)即将到期"),
        _("临期提醒：%(what)s即将到期"),
        lambda v: {"what": gettext(v["what"])},
    ),
]


def _part(text: str) -> str:
    if text in FIXED:
        return gettext(text)
    for pattern, msgid, values in SHAPES:
        match = pattern.fullmatch(text)
        if match:
            return gettext(msgid) % values(match.groupdict())
    return text


def timeline_text(summary: str) -> str:
    """A stored summary in the current language (the pre-check's is several sentences joined
    by ；, each rendered on its own)."""
    return gettext("；").join(_part(part) for part in summary.split("；"))
