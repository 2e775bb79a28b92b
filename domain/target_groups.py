"""Shandong's four assistance target groups (山东省人社厅《关于健全就业援助体系的通知》(2021) 二)
and the conditions under which an officer enrols a member of the three groups that are not
identified by the difficulty-person procedure.

- ``difficulty_person`` (二(一)): identified by the pack's categories through the
  identification workflow; never enrolled here.
- ``rural_surplus_labour`` (二(二)): 在公共就业人才服务机构认定有就业意愿和就业能力且未转移就业的
  农村劳动力 — the PES assessment must say willing, able and not transferred.
- ``low_income_graduate`` (二(三)): 低收入家庭中的择业期内高校毕业生 — from a low-income family,
  and the school-leaving date within the group's ``period`` (the 择业期, an assumed pack value)
  on the day of enrolment.
- ``temporary_assistance`` (二(四)): 因重大疫情、重大自然灾害、重大政策调整等突发因素影响 —
  enrolled under a declared emergency whose period covers the day; the assistance ends when
  the emergency's period ends (exit reason ``emergency_ended``, assumed: the notice's 急难就业
  援助 三(四) is assistance for the emergency, and says nothing of what follows it).

Pure functions: no I/O, no clock (the caller passes ``today``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.policy.model import PolicyPack, TargetGroup

DIFFICULTY_PERSON = "difficulty_person"
RURAL_SURPLUS_LABOUR = "rural_surplus_labour"
LOW_INCOME_GRADUATE = "low_income_graduate"
TEMPORARY_ASSISTANCE = "temporary_assistance"
# Groups enrolled by an officer (no identification procedure).
ENROLLED_GROUPS = (RURAL_SURPLUS_LABOUR, LOW_INCOME_GRADUATE, TEMPORARY_ASSISTANCE)
EMERGENCY_KINDS = ("epidemic", "disaster", "policy")

# The exit of a temporary assistance when its emergency's period ends. Not a clause of any
# seed (assumed, documented in the README): the person may be enrolled again under a later
# emergency or identified as a difficulty person.
EMERGENCY_ENDED = "emergency_ended"
EMERGENCY_ENDED_NAME = "突发因素影响期结束"
EMERGENCY_ENDED_SOURCE = (
    "assumed: 山东省人社厅《关于健全就业援助体系的通知》(2021) 二(四)、三(四) ties temporary "
    "assistance to the emergency; it ends with the emergency's declared period"
)


@dataclass(frozen=True)
class EnrolmentProblem:
    """A condition of the group the enrolment does not meet (``field`` of the person)."""

    field: str
    message: str
    message_zh: str


def group_of(pack: PolicyPack, code: str) -> TargetGroup | None:
    return next((g for g in pack.target_groups if g.code == code), None)


def job_seeking_period_end(pack: PolicyPack, left_school_on: date) -> date | None:
    """The last day of the 择业期 that starts at ``left_school_on`` (None: the pack gives no
    period, so no graduate can be enrolled)."""
    group = group_of(pack, LOW_INCOME_GRADUATE)
    if group is None or group.period is None:
        return None
    return group.period.add_to(left_school_on)


def check_enrolment(
    pack: PolicyPack,
    group: str,
    person: Mapping[str, Any],
    today: date,
    emergency_period: tuple[date, date] | None = None,
) -> list[EnrolmentProblem]:
    """What stops ``person`` (the enrolment's fields) from being enrolled in ``group`` under
    ``pack`` today; empty when nothing does."""
    if group not in ENROLLED_GROUPS:
        return [
            EnrolmentProblem(
                "target_group",
                f"{group!r} is not enrolled by an officer ({', '.join(ENROLLED_GROUPS)})",
                "该援助对象类别不能直接纳入",
            )
        ]
    if group_of(pack, group) is None:
        return [
            EnrolmentProblem(
                "target_group",
                f"the policy pack {pack.id} has no target group {group!r}",
                "本地政策没有该援助对象类别",
            )
        ]
    problems: list[EnrolmentProblem] = []
    if group == RURAL_SURPLUS_LABOUR:
        for key, zh in (
            ("willing", "未认定有就业意愿"),
            ("able", "未认定有就业能力"),
        ):
            if person.get(key) is not True:
                problems.append(
                    EnrolmentProblem(key, f"the PES assessment must find the person {key}", zh)
                )
        if person.get("transferred") is not False:
            problems.append(
                EnrolmentProblem(
                    "transferred", "the person must not have been transferred to work", "已转移就业"
                )
            )
    elif group == LOW_INCOME_GRADUATE:
        if person.get("low_income_family") is not True:
            problems.append(
                EnrolmentProblem(
                    "low_income_family", "not from a low-income family", "非低收入家庭"
                )
            )
        left = person.get("left_school_on")
        if not isinstance(left, date):
            problems.append(
                EnrolmentProblem(
                    "left_school_on", "the school-leaving date is required", "缺少离校日期"
                )
            )
        else:
            end = job_seeking_period_end(pack, left)
            if end is None:
                problems.append(
                    EnrolmentProblem(
                        "left_school_on", "the policy pack has no job-seeking period", "未设择业期"
                    )
                )
            elif left > today or today > end:
                problems.append(
                    EnrolmentProblem(
                        "left_school_on",
                        f"not in the job-seeking period (from leaving school to {end.isoformat()})",
                        "不在择业期内",
                    )
                )
    elif emergency_period is None:
        problems.append(
            EnrolmentProblem(
                "emergency", "enrolled only under a declared emergency", "须在突发事件下纳入"
            )
        )
    elif not emergency_period[0] <= today <= emergency_period[1]:
        problems.append(
            EnrolmentProblem(
                "emergency", "the emergency's period does not cover today", "不在突发事件期间"
            )
        )
    return problems
