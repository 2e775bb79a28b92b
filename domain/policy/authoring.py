"""What an administrator writing a pack needs checked beyond validation (``yuanzhu policy
check FILE --source DOCUMENT.txt``, docs/policy-authoring.md):

- :func:`quotes_not_in` — every ``quote`` must be the document's words (punctuation width and
  whitespace normalised, ``……`` marking an elision);
- :func:`defaults_applying` — every value the system will supply because the pack is silent,
  said out loud rather than applied quietly. The defaults themselves live here (one home):
  the workflow's supplement clock (:data:`SUPPLEMENT_DEFAULT`) and the ledger's layout are
  read from here by the code that applies them;
- :func:`skeleton` — the start of a new pack and of its test cases (``yuanzhu policy new``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from domain.policy.model import Duration, PolicyPack, Sourced

__all__ = [
    "LEDGER_LAYOUT_DEFAULT",
    "SUPPLEMENT_DEFAULT",
    "TRANSITION_DEFAULT",
    "Default",
    "defaults_applying",
    "normalise",
    "quotes_not_in",
    "skeleton",
    "sourced_rules",
]

# Where a pack sets no 补正 (supplement) clock, the applicant has this long to hand in what the
# one-time notice lists: an administrator's setting no seed states.
SUPPLEMENT_DEFAULT = Duration(
    value=10,
    unit="working_days",
    assumed=True,
    note="default of the system where the pack sets no supplement_deadline clock",
)
# Where a pack has no [ledger] section.
LEDGER_LAYOUT_DEFAULT = "service_tracking"
# Where a revision has no [transition] section: the persons already identified keep the
# assistance rules they were identified under.
TRANSITION_DEFAULT = "stay"

_WIDTH = str.maketrans(
    {
        "，": ",",
        "；": ";",
        "（": "(",
        "）": ")",
        "：": ":",
        "“": '"',
        "”": '"',
        "、": ",",
        "。": ".",
        "《": "<",
        "》": ">",
        "\u3000": "",
    }
)


def normalise(text: str) -> str:
    """Text as quotes are compared: no whitespace, full-width punctuation as half-width."""
    return re.sub(r"\s+", "", text).translate(_WIDTH)


def sourced_rules(obj: Any, path: str = "") -> list[tuple[str, Sourced]]:
    """Every cited rule in ``obj`` (a pack or part of it), with its field path."""
    out: list[tuple[str, Sourced]] = []
    if isinstance(obj, Sourced):
        out.append((path, obj))
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            out += sourced_rules(getattr(obj, name), f"{path}.{name}" if path else name)
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            out += sourced_rules(item, f"{path}[{i}]")
    return out


def quotes_not_in(pack: PolicyPack, documents: list[str]) -> list[tuple[str, str]]:
    """(field path, quote) of every quote found in none of ``documents`` (a pack that extends
    another may quote its parent's document too)."""
    texts = [normalise(d) for d in documents]
    bad = []
    for path, rule in sourced_rules(pack):
        if rule.quote:
            parts = [p for p in normalise(rule.quote).split("……") if p]
            if not any(all(p in t for p in parts) for t in texts):
                bad.append((path, rule.quote))
    return bad


@dataclass(frozen=True)
class Default:
    """A value the system supplies because the pack does not say: ``path`` the pack's field,
    ``value`` what applies, ``why`` in words."""

    path: str
    value: str
    why: str


def defaults_applying(pack: PolicyPack) -> list[Default]:
    """Every default that applies to ``pack`` (empty when the pack says everything)."""
    found = []
    if pack.procedure is not None and pack.clocks.supplement_deadline is None:
        d = SUPPLEMENT_DEFAULT
        found.append(
            Default(
                "clocks.supplement_deadline",
                f"{d.value} {d.unit}",
                "补正期限: the applicant's time to hand in what the one-time notice lists",
            )
        )
    if pack.ledger is None:
        found.append(
            Default(
                "ledger.layout",
                LEDGER_LAYOUT_DEFAULT,
                "台账: one row per person with the services counted (not 一人一册)",
            )
        )
    if pack.effective_from is not None and pack.transition is None:
        found.append(
            Default(
                "transition.assistance",
                TRANSITION_DEFAULT,
                "已认定人员: persons identified under an earlier revision keep its assistance "
                'rules ([transition] assistance = "move" moves them to this one\'s)',
            )
        )
    if pack.hukou_region_prefix is None:
        found.append(
            Default(
                "hukou_region_prefix",
                pack.region_code,
                "本地户籍: a hukou under the pack's region_code counts as local",
            )
        )
    if pack.procedure is not None and pack.clocks.identification_deadline is None:
        found.append(
            Default(
                "clocks.identification_deadline",
                "none",
                "认定时限: no deadline for the whole identification, only each stage's SLA",
            )
        )
    return found


_NEW_PACK = """\
# {pack_id}: replace every （…） from the document. Every rule cites its clause (`source` and
# the document's words in `quote`) or is an administrator's setting (`assumed = true` and a
# `note`). Check it with `yuanzhu policy check {pack_id}.toml --source DOCUMENT.txt`, run its
# cases with `yuanzhu policy test {pack_id}.toml` (docs/policy-authoring.md).
id = "{pack_id}"
version = "1"
name = "（政策名称）"
name_en = "(policy name)"
region = "（地区）"
{region_code}{extends}
[source]
title = "（文件标题）"
number = "（文号）"
issuer = "（发文机关）"
issued_on = 2026-01-01
level = "city"
{body}"""

_OWN_RULES = """
[identification]
mode = "by_categories"
source = "（文号） 一"
quote = "（原文）"

[[base_conditions]]
code = "working_age"
name = "法定劳动年龄内"
name_en = "within statutory working age"
when = { fact = "person.within_working_age", is = true }
source = "（文号） 一"
quote = "（原文）"

[[categories]]
code = "older_unemployed"
ordinal = "1"
name = "大龄失业人员"
name_en = "older unemployed: women 40+ / men 50+"
when.any = [
  { all = [ { fact = "person.sex", eq = "female" }, { fact = "person.age", gte = 40 } ] },
  { all = [ { fact = "person.sex", eq = "male" }, { fact = "person.age", gte = 50 } ] },
]
source = "（文号） 一(一)"
quote = "（原文）"

[procedure]
apply_at = ["（受理机构）"]
source = "（文号） 二"
quote = "（原文）"

[[procedure.stages]]
kind = "acceptance"
name = "受理"
name_en = "acceptance"
role = "grassroots_officer"
level = "street"
sla = { goal = 1, deadline = 1, unit = "working_days", assumed = true, note = "（为何，谁可改）" }
source = "（文号） 二"
quote = "（原文）"

[[procedure.stages]]
kind = "review"
name = "审核认定"
name_en = "review and identification"
role = "county_reviewer"
level = "county"
sla = { goal = 5, deadline = 10, unit = "working_days", assumed = true, note = "（为何，谁可改）" }
source = "（文号） 二"
quote = "（原文）"
"""

_NEW_CASES = """\
# {pack_id} 测试用例 — `yuanzhu policy test {pack_id}.toml` (docs/policy-authoring.md).
# Every base condition, category and exclusion met in one case and not met in another, each
# citing its rule's clause.
pack = "{pack_id}"
on = 2026-01-01

[base]
person = {{ sex = "male", birth_date = 1996-01-01, able_to_work = true, willing_to_work = true }}
residence = {{ hukou_region_code = "{region_code}0000" }}
unemployment = {{ registered = true, registered_on = 2025-10-01 }}

[[cases]]
name = "基础申请人：不属于任何类别"
verdict = "not_met"

[[cases]]
name = "符合法定劳动年龄内（30周岁）"
rule = "base_conditions.working_age"
expect = "met"
clause = "（文号） 一"

[[cases]]
name = "不符合法定劳动年龄内（65周岁）"
rule = "base_conditions.working_age"
expect = "not_met"
clause = "（文号） 一"
facts = {{ "person.birth_date" = 1960-01-01 }}

[[cases]]
name = "符合大龄失业人员（女，40周岁）"
rule = "categories.older_unemployed"
expect = "met"
clause = "（文号） 一(一)"
facts = {{ "person.sex" = "female", "person.birth_date" = 1986-01-01 }}

[[cases]]
name = "不符合大龄失业人员（女，39周岁）"
rule = "categories.older_unemployed"
expect = "not_met"
clause = "（文号） 一(一)"
facts = {{ "person.sex" = "female", "person.birth_date" = 1986-01-02 }}
"""


def skeleton(
    pack_id: str, extends: str | None = None, region_code: str | None = None
) -> tuple[str, str]:
    """A new pack's TOML and its test cases' TOML (``yuanzhu policy new``): a pack that loads,
    with one base condition, one category and a two-stage procedure, and cases that pass and
    cover it — to be rewritten from the document, clause by clause. With ``extends``, only
    what the child changes (nothing yet; its region the parent's unless given), and the
    caller starts its cases from the parent's."""
    code = region_code or ("" if extends else "00")
    pack = _NEW_PACK.format(
        pack_id=pack_id,
        region_code=f'region_code = "{code}"\n' if code else "",
        extends=f'extends = "{extends}"\n' if extends else "",
        body="" if extends else _OWN_RULES,
    )
    return pack, _NEW_CASES.format(pack_id=pack_id, region_code=code or "00")
