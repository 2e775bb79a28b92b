"""The shared vocabulary of the case system (案件、待办、角色、行政区划): task kinds, roles, case
statuses, the levels of the jurisdiction tree, a place as plain data, and how workflow, case and
task ids are made from business keys. Every layer speaks it: the workflows, the activities, the
store's rows and the pages; it lives here, at the bottom, so that none of them imports another
for it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TaskKind(StrEnum):
    """Human task kinds (待办类型)."""

    ACCEPTANCE = "acceptance"  # 受理查验
    SUPPLEMENT = "supplement"  # 补充材料 (after the one-time notice 一次性告知)
    INITIAL_REVIEW = "initial_review"  # 初审
    HOME_VISIT = "home_visit"  # 入户核实
    PUBLICITY_REPORT = "publicity_report"  # 公示结束后签署初步意见并上报
    OBJECTION = "objection"  # 公示异议处理
    REVIEW = "review"  # 复核认定
    IMMEDIATE_CONCLUSION = "immediate_conclusion"  # 审核认定、即时办结
    INFORM_REFUSAL = "inform_refusal"  # 告知申请人不予认定
    REEXAMINATION = "reexamination"  # 复核申请的审查 (a refusal examined again on request)
    ESCALATION = "escalation"  # 督办
    # Assistance (就业援助 / 动态管理), workflows/assistance.py
    ASSISTANCE_PLAN = "assistance_plan"  # 制定援助计划（一人一策 / 援助协议）
    ASSISTANCE_VISIT = "assistance_visit"  # 定期走访
    CONTACT_REMINDER = "contact_reminder"  # 联系提醒
    CANCELLATION_REVIEW = "cancellation_review"  # 注销核实（连续6个月未主动联系）
    EXIT_REVIEW = "exit_review"  # 退出核实
    SERVICE_GAP = "service_gap"  # 服务未达标
    # Quarterly verification (清新 三(三)2 定期审验), workflows/verification.py
    QUARTERLY_VERIFICATION = "quarterly_verification"  # 定期审验
    # Zero-employment households (零就业家庭), workflows/household.py
    HOUSEHOLD_VERIFICATION = "household_verification"  # 零就业家庭核实（主动发现）
    HOUSEHOLD_PLAN = "household_plan"  # 零就业家庭就业援助预案
    HOUSEHOLD_CLEARANCE = "household_clearance"  # 零就业家庭一个月内解决就业（动态清零）


# The evidence code of a photo an officer takes at a visit or contact (入户核实 / 走访现场照片).
# Not an item of any pack's catalogue: those list what the applicant must hand in and feed
# the one-time notice (一次性告知), which must never ask the applicant for the officer's own
# photo. Every case therefore accepts it, from an officer's hand and as an image only
# (application/services/materials.py).
# The timeline event of the applicant's request for re-examination (复核申请): a case that
# has one and is identified was identified on re-examination (its notice cites that clause).
REEXAMINATION_REQUESTED = "reexamination_requested"
# The stage (and the timeline event) of a refusal that may still be re-examined on request:
# the case stays 不予认定 and open until the pack's window ends or a request comes.
REEXAMINATION_WINDOW = "reexamination_window"

VISIT_PHOTO = "visit_photo"
VISIT_PHOTO_NAME = ("走访现场照片", "photo taken on a visit")
# The tasks done at the person's door or on the phone: their page takes photos from the
# phone's camera (web/templates/tasks/_visit_photos.html).
VISIT_TASK_KINDS = frozenset(
    {TaskKind.HOME_VISIT, TaskKind.ASSISTANCE_VISIT, TaskKind.CONTACT_REMINDER}
)


class Role(StrEnum):
    GRASSROOTS_OFFICER = "grassroots_officer"  # 街道/乡镇/社区经办人员
    COUNTY_REVIEWER = "county_reviewer"  # 县(区)公共就业服务机构审核人员
    SUPERVISOR = "supervisor"  # 区/市督导
    ADMIN = "admin"  # 系统管理员


class CaseStatus(StrEnum):
    SUBMITTED = "submitted"  # 已申请
    AWAITING_MATERIALS = "awaiting_materials"  # 待补充材料
    ACCEPTED = "accepted"  # 已受理
    UNDER_REVIEW = "under_review"  # 审核中
    IN_PUBLICITY = "in_publicity"  # 公示中
    IDENTIFIED = "identified"  # 已认定
    REFUSED = "refused"  # 不予认定
    NOT_ACCEPTED = "not_accepted"  # 不予受理
    WITHDRAWN = "withdrawn"  # 已撤回
    EXITED = "exited"  # 已退出（资格注销）
    ENROLLED = "enrolled"  # 已纳入援助 (山东 二(二)–(四), application/services/enrolment.py)

    @property
    def closed(self) -> bool:
        return self in (
            CaseStatus.REFUSED,
            CaseStatus.NOT_ACCEPTED,
            CaseStatus.WITHDRAWN,
            CaseStatus.EXITED,
        )


def identification_workflow_id(case_id: str) -> str:
    """The workflow id is derived from the case number (the business key), never from personal
    data: workflow ids are stored and shown unencrypted."""
    return f"identification-{case_id}"


def assistance_workflow_id(case_id: str) -> str:
    """One assistance workflow per identified case (its case number; no personal data)."""
    return f"assistance-{case_id}"


def task_id(workflow_id: str, kind: str, seq: int) -> str:
    """Deterministic, URL-safe task id: the same task opened twice (an activity retry, a replay)
    gets the same id, so the inbox upsert never makes a second row."""
    return f"{workflow_id}.{kind}.{seq}"


# Jurisdiction levels from the bottom of the tree up (行政区划层级).
LEVELS = ("community", "street", "county", "city", "province", "country")


@dataclass
class PlaceRef:
    """A node of the jurisdiction tree as the workflow sees it (plain data, no database)."""

    code: str
    path: str
    level: str
    name: str


def verification_task_id(case_id: str, period: str) -> str:
    """One verification task per person per period (``period`` is the verification month,
    ``YYYY-MM``): deterministic, so a second run of the same quarter upserts nothing new. It
    is a task of the person's assistance workflow (``task_id`` format), which completes it."""
    return f"{assistance_workflow_id(case_id)}.{TaskKind.QUARTERLY_VERIFICATION}.{period}"


def verification_batch_id(district_code: str, period: str) -> str:
    return f"{district_code}-{period}"


def ledger_import_workflow_id(import_id: int, token: str) -> str:
    return f"ledger-import-{import_id}-{token}"


def household_workflow_id(household_id: int) -> str:
    """One workflow per household (its row id; no personal data)."""
    return f"household-{household_id}"


def household_case_id(household_id: int) -> str:
    """The household's own case row (channel ``household``), which owns its tasks."""
    return f"HH{household_id:08d}"


def household_discovery_workflow_id(region_code: str, label: str) -> str:
    return f"household-discovery-{region_code}-{label}"
