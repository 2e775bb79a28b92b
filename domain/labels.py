"""The one catalogue of the Chinese names of the domain's codes (代码名称): task kinds, case
statuses, roles, levels, outcomes and fields of the task forms, service and subsidy kinds,
household words, target groups, SLA states, stages, clocks and their units ...

Every front end reads its words here: the API's ``*_name`` fields, the pages (the ``label``
filter: ``{{ task.kind|label("task_kind") }}``), the printed documents and the ledger's
spreadsheets. The Chinese names are also the pages' msgids, so the English catalogue
(``web/locale/en``) translates each of them once. Where two tables of the past disagreed the
seeds' words won (the service kinds: 政策扶持 of 新余 第四条(四) and 吉林 四(二), 一次性求职创业补贴
of 山东 三(三)3); where no seed has the word, the one the official documents print (a calendar
day is 日, as the one-time notice says it).

Activities write task kind and SLA state names into notifications and timeline entries, where
they stay: a changed wording shows on new ones only (the workflows themselves carry codes, so
their recorded histories do not depend on these words).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from domain.facts import CHOICE_NAMES, EMPLOYMENT_INTENTIONS
from domain.vocabulary import CaseStatus, Role, TaskKind

# --- the identification procedure -------------------------------------------------------------

TASK_KINDS: Final[Mapping[str, str]] = {
    TaskKind.ACCEPTANCE: "受理查验",
    TaskKind.SUPPLEMENT: "补充材料",
    TaskKind.INITIAL_REVIEW: "初审",
    TaskKind.HOME_VISIT: "入户核实",
    TaskKind.PUBLICITY_REPORT: "公示结果上报",
    TaskKind.OBJECTION: "公示异议处理",
    TaskKind.REVIEW: "复核认定",
    TaskKind.IMMEDIATE_CONCLUSION: "审核认定（即时办结）",
    TaskKind.INFORM_REFUSAL: "告知不予认定",
    TaskKind.REEXAMINATION: "复核申请审查",
    TaskKind.ESCALATION: "督办",
    TaskKind.ASSISTANCE_PLAN: "制定援助计划（一人一策）",
    TaskKind.ASSISTANCE_VISIT: "定期走访",
    TaskKind.CONTACT_REMINDER: "联系提醒",
    TaskKind.CANCELLATION_REVIEW: "注销核实（未主动联系）",
    TaskKind.EXIT_REVIEW: "退出核实",
    TaskKind.SERVICE_GAP: "援助服务未达标",
    TaskKind.QUARTERLY_VERIFICATION: "定期审验",
    TaskKind.HOUSEHOLD_VERIFICATION: "零就业家庭核实",
    TaskKind.HOUSEHOLD_PLAN: "零就业家庭就业援助预案",
    TaskKind.HOUSEHOLD_CLEARANCE: "零就业家庭动态清零",
}
CASE_STATUSES: Final[Mapping[str, str]] = {
    CaseStatus.SUBMITTED: "已申请",
    CaseStatus.AWAITING_MATERIALS: "待补充材料",
    CaseStatus.ACCEPTED: "已受理",
    CaseStatus.UNDER_REVIEW: "审核中",
    CaseStatus.IN_PUBLICITY: "公示中",
    CaseStatus.IDENTIFIED: "已认定",
    CaseStatus.REFUSED: "不予认定",
    CaseStatus.NOT_ACCEPTED: "不予受理",
    CaseStatus.WITHDRAWN: "已撤回",
    CaseStatus.EXITED: "已退出",
    CaseStatus.ENROLLED: "已纳入援助",
}
# Stages of a case (``cases.stage``, set by the workflow).
STAGES: Final[Mapping[str, str]] = {
    "intake": "受理前核查",
    "supplement": "补充材料",
    "acceptance": "受理查验",
    "data_check": "部门数据核查",
    "initial_review": "初审",
    "home_visit": "入户核实",
    "publicity": "公示",
    "publicity_report": "公示结果上报",
    "review": "复核认定",
    "immediate_conclusion": "审核认定（即时办结）",
    "reexamination_window": "可申请复核",
    "reexamination": "复核申请审查",
    "identified": "已认定",
    "assistance": "就业援助",
    "closed": "已办结",
    "exited": "已退出",
}
# How an application came in (``cases.channel``).
APPLICATION_CHANNELS: Final[Mapping[str, str]] = {
    "online": "网上申请",
    "window": "窗口申请",
    "ledger_import": "台账导入",
    "enrolment": "纳入援助",
}
# Who a timeline entry names when no officer did it.
ACTORS: Final[Mapping[str, str]] = {"system": "系统", "public": "公众", "applicant": "申请人"}
# The eligibility pre-check's lines (met, not met, to verify, not applicable).
CHECK_STATES: Final[Mapping[str, str]] = {
    "met": "符合",
    "not_met": "不符合",
    "verify": "待核实",
    "na": "不适用",
}
# The pre-check's three-valued verdicts (domain/precheck.py): an unknown fact is 待核实.
PRE_CHECK_VERDICTS: Final[Mapping[str, str]] = {
    "met": "符合",
    "not_met": "不符合",
    "to_verify": "待核实",
}
# Open, done or cancelled: the inbox's filter and the task page say the same word (未办结, as
# the dashboard and the verification pages count open tasks).
TASK_STATES: Final[Mapping[str, str]] = {
    "open": "未办结",
    "completed": "已办结",
    "cancelled": "已取消",
}
# A task's or a deadline's place on its SLA ladder (domain/sla.py).
SLA_STATES: Final[Mapping[str, str]] = {
    "on_track": "正常",
    "at_risk": "临期",
    "breached": "已超时",
    "past_deadline": "已逾期",
}

# --- the task forms: outcomes and fields of every task kind -----------------------------------

# One table for all the workflows' outcomes (a code means one thing wherever it is offered).
OUTCOMES: Final[Mapping[str, str]] = {
    # identification (workflows/identification.py)
    "approve": "通过/认定",
    "refuse": "不通过/不予认定",
    "accept": "受理",
    "not_accepted": "不予受理",
    "supplied": "已补充材料",
    "commitment": "签署书面承诺",
    "abandoned": "申请人放弃",
    "confirmed": "核实属实",
    "not_confirmed": "核实不符",
    "report": "签署意见并上报",
    "dismissed": "异议不成立",
    "upheld": "异议成立",
    "restart": "重新公示",
    "applicant_disagrees": "申请人仍不服，报区级处理",
    "informed": "已告知申请人",
    "handled": "已督办",
    # assistance and verification (workflows/assistance.py, verification.py)
    "agreement_signed": "已签订援助协议",
    "drawn_up": "已制定援助计划",
    "visited": "已走访",
    "not_reached": "未联系上",
    "contacted": "已联系",
    "cancel": "注销资格",
    "keep": "保留资格",
    "confirm": "确认退出",
    "reject": "不予退出",
    "planned": "已安排补足服务",
    "verified": "审验无误，继续援助",
    "exit_review": "提请退出核实",
    # zero-employment households (workflows/household.py)
    "identified": "核实属实，认定为零就业家庭",
    "not_zero_employment": "经核实不是零就业家庭",
    "member_employed": "家庭成员已实现就业",
}
# Where one outcome code is a different decision by task kind: an initial review (初审) passes
# or fails, it identifies nobody (吉林 二(二): 初审 → 公示 → 复核认定); the identifying stage
# identifies or refuses. Other tasks show OUTCOMES' name.
TASK_OUTCOMES: Final[Mapping[str, Mapping[str, str]]] = {
    TaskKind.INITIAL_REVIEW: {"approve": "通过", "refuse": "不通过"},
    TaskKind.REVIEW: {"approve": "认定", "refuse": "不予认定"},
    TaskKind.IMMEDIATE_CONCLUSION: {"approve": "认定", "refuse": "不予认定"},
    TaskKind.REEXAMINATION: {"approve": "认定", "refuse": "维持不予认定"},
}
# The identification tasks' fields.
FIELDS: Final[Mapping[str, str]] = {
    "reason": "原因",
    "category": "认定类别",
    "evidence": "补充的材料",
    "visit_record": "入户核实记录",
    "explanation": "核实与解释情况",
    "channel": "告知方式",
    "action": "督办措施",
}
# The assistance tasks' fields: "channel" is how the person was reached there, not how a
# decision was served, and a visit is a 走访, not the identification's 入户核实.
ASSISTANCE_FIELDS: Final[Mapping[str, str]] = {
    "intentions": "本人意愿（就业、培训、创业意向等）",
    "services": "选定的援助服务",
    "standards": "适用的服务标准",
    "visit_record": "走访记录",
    "channel": "联系方式",
    "note": "情况说明",
    "reason": "原因",
    "should_have_ended_on": "应注销资格之日",
    "method": "审验方式",
}
HOUSEHOLD_FIELDS: Final[Mapping[str, str]] = {
    "reason": "原因",
    "measures": "援助措施",
    "member": "实现就业的家庭成员",
    "how": "就业方式",
}

# --- assistance (就业援助) ----------------------------------------------------------------------

# The service kinds officers record and plans choose (domain.policy.model.ServiceKind), in
# the order officers list them (the ledger's columns follow it).
SERVICE_KINDS: Final[Mapping[str, str]] = {
    "career_guidance": "职业指导",
    "job_recommendation": "岗位推荐",
    "training": "职业培训",
    "startup_service": "创业服务",
    "public_welfare_post": "公益性岗位安置",
    "policy_subsidy": "政策扶持",  # 新余 第四条(四), 吉林 四(二)
    "policy_consultation": "政策咨询",
    "internship": "就业见习",
    "job_seeking_subsidy": "一次性求职创业补贴",  # 山东 三(三)3
}
# Subsidy kinds the seeds name (新余 第四条(四); the API takes any code, the page offers these).
SUBSIDY_KINDS: Final[Mapping[str, str]] = {
    "social_insurance": "社会保险补贴",
    "post_subsidy": "岗位补贴",
    "public_welfare_post": "公益性岗位补贴",
    "training": "职业培训补贴",
    "training_living": "培训期间生活费补贴",
    "startup": "一次性创业补贴",
    "job_seeking": "一次性求职创业补贴",
}
# Ways a contact happens (contracts.CONTACT_CHANNELS).
CONTACT_CHANNELS: Final[Mapping[str, str]] = {
    "phone": "电话",
    "visit": "走访",
    "came_in": "本人来访",
    "online": "网上联系",
}
# 定期审验 (清新 三(三)2): how the officer verified the person's situation.
VERIFICATION_METHODS: Final[Mapping[str, str]] = {
    "phone": "电话核实",
    "visit": "入户核实",
    "data": "数据比对",
}
# A district's quarterly verification batch (workflows/verification.py).
VERIFICATION_BATCH_STATUSES: Final[Mapping[str, str]] = {
    "creating": "正在生成任务",
    "open": "进行中",
    "at_risk": "临近截止",
    "escalated": "已逾期督办",
    "finished": "已结束",
}
# A person's line in the ledger.
LEDGER_STATUSES: Final[Mapping[str, str]] = {"active": "援助中", "exited": "已退出"}
# The ledger's export layouts (domain/ledger.py EXPORT_LAYOUTS).
LEDGER_LAYOUTS: Final[Mapping[str, str]] = {
    "service_tracking": "服务跟踪情况（清新模板）",
    "one_person_one_file": "一人一册（吉林）",
}
# A ledger import, or an enrolment batch (山东 二) listed beside them, and how far it got.
IMPORT_KINDS: Final[Mapping[str, str]] = {"ledger": "台账导入", "enrolment": "纳入"}
IMPORT_STATUSES: Final[Mapping[str, str]] = {
    "pending": "待启动",
    "running": "启动中",
    "done": "已完成",
}

# --- target groups (山东 二) -------------------------------------------------------------------

ENROLMENT_GROUPS: Final[Mapping[str, str]] = {
    "rural_surplus_labour": "农村剩余劳动力",
    "low_income_graduate": "低收入家庭择业期高校毕业生",
    "temporary_assistance": "临时援助对象",
}
# 山东 三(四): 重大疫情、重大自然灾害、重大政策调整.
EMERGENCY_KINDS: Final[Mapping[str, str]] = {
    "epidemic": "重大疫情",
    "disaster": "重大自然灾害",
    "policy": "重大政策调整",
}

# --- zero-employment households (零就业家庭) ----------------------------------------------------

HOUSEHOLD_STATUSES: Final[Mapping[str, str]] = {
    "discovered": "待核实（主动发现）",
    "identified": "已认定，援助中",
    "cleared": "已清零",
    "not_zero_employment": "经核实不是零就业家庭",
}
# How the member found work (山东 三(三)2: 鼓励企业吸纳、支持灵活就业、公益性岗位安置).
EMPLOYMENT_WAYS: Final[Mapping[str, str]] = {
    "enterprise_absorption": "企业吸纳就业",
    "flexible_employment": "灵活就业",
    "public_welfare_post": SERVICE_KINDS["public_welfare_post"],
    "self_employment": "自主创业",
    "other": "其他方式就业",
}
# The measures a household plan chooses: the seed's three, and services by their own names.
HOUSEHOLD_MEASURES: Final[Mapping[str, str]] = {
    "enterprise_absorption": "鼓励企业吸纳",
    "flexible_employment": "支持灵活就业",
    **{
        kind: SERVICE_KINDS[kind]
        for kind in ("public_welfare_post", "job_recommendation", "training", "startup_service")
    },
}
# Members who do not count toward the household's working-age members.
MEMBER_STATUSES: Final[Mapping[str, str]] = {
    "student": "在校学生",
    "military": "现役军人",
    "retired": "退休人员",
}
MEMBER_FLAGS: Final[Mapping[str, str]] = {
    "head": "户主",
    "able_to_work": "有劳动能力",
    "willing_to_work": "有就业意愿",
    "employed": "已就业",
    "employed_non_farm": "在二、三产业就业",
    "transfer_registered": "已进行转移就业登记",
}

# --- people, places, the administration ---------------------------------------------------------

ROLES: Final[Mapping[str, str]] = {
    Role.GRASSROOTS_OFFICER: "基层经办人员",
    Role.COUNTY_REVIEWER: "县区审核人员",
    Role.SUPERVISOR: "督导",
    Role.ADMIN: "系统管理员",
}
# Who performs a stage of a pack: a role, or the system itself.
STAGE_ROLES: Final[Mapping[str, str]] = {**ROLES, "system": "系统自动"}
# The levels of the jurisdiction tree (vocabulary.LEVELS).
LEVELS: Final[Mapping[str, str]] = {
    "country": "全国",
    "province": "省级",
    "city": "市级",
    "county": "县区级",
    "street": "街道乡镇级",
    "community": "社区村级",
}
# The pack's clocks (domain.policy.model.ClockName).
CLOCKS: Final[Mapping[str, str]] = {
    "identification_deadline": "认定办结时限",
    "supplement_deadline": "补充材料时限",
    "contact_check": "未主动联系期限",
    "refusal_limit": "拒绝就业服务次数",
    "zero_employment_household_deadline": "零就业家庭援助时限",
    "quarterly_verification": "定期审验",
    "reidentification_cooldown": "再次认定间隔",
    "subsidy_period_cap": "补贴期限上限",
    # the assistance's administrator settings (no seed gives their numbers)
    "assistance_plan_deadline": "援助计划制定时限",
    "assistance_task_period": "援助事项办理时限",
    "assistance_visit_interval": "定期走访间隔",
    "contact_reminder_lead": "联系提醒提前期",
    "service_standard_deadline": "服务达标时限",
    "service_gap_lead": "服务未达标提醒提前期",
}
# A clock's unit after its number: "10个工作日" as 吉林 三(二) writes it, "…之日起N日内" as the
# one-time notice (application/templates/documents) prints it.
CLOCK_UNITS: Final[Mapping[str, str]] = {
    "working_days": "个工作日",
    "calendar_days": "日",
    "months": "个月",
}
NOTIFICATION_KINDS: Final[Mapping[str, str]] = {
    "reminder": "提醒",
    "escalation": "督办",
    "assignment": "分派",
}
# Where a year's holiday table came from (store/calendar_admin.py Origin).
CALENDAR_ORIGINS: Final[Mapping[str, str]] = {
    "seed": "内置",
    "imported": "导入",
    "none": "无（仅按周末计算）",
}
# The holiday package names the holidays in English; officers read Chinese. Names are display
# data only (the dates decide), so an unknown one shows as the package gives it.
HOLIDAYS: Final[Mapping[str, str]] = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}
# Why a day is (not) a working day (store/calendar_admin.py Reason).
DAY_REASONS: Final[Mapping[str, str]] = {
    "weekday": "工作日",
    "weekend": "周末休息",
    "holiday": "法定节假日休息",
    "makeup_workday": "调休上班",
}
# A line of a pack's diff.
PACK_CHANGES: Final[Mapping[str, str]] = {"added": "新增", "removed": "移除", "changed": "修改"}
# The mail relay's encryption (infra.mail.TLS_MODES).
TLS_MODES: Final[Mapping[str, str]] = {
    "none": "不加密",
    "starttls": "STARTTLS",
    "tls": "SSL/TLS",
}

# --- the application form's choices (domain/facts.py names them with their English) ---------


def _choices(codes: tuple[str, ...]) -> Mapping[str, str]:
    return {code: CHOICE_NAMES[code][0] for code in codes}


SEXES: Final = _choices(("male", "female"))
MARITAL_STATUSES: Final = _choices(("married", "unmarried", "divorced", "widowed"))
# 就业创业意愿 in the seed form's order (its last, 其他, has a text of its own).
EMPLOYMENT_INTENTIONS_ZH: Final = _choices(EMPLOYMENT_INTENTIONS)

# --- the catalogue ------------------------------------------------------------------------------

CATALOGUE: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {
        "task_kind": TASK_KINDS,
        "case_status": CASE_STATUSES,
        "stage": STAGES,
        "application_channel": APPLICATION_CHANNELS,
        "actor": ACTORS,
        "check_state": CHECK_STATES,
        "pre_check_verdict": PRE_CHECK_VERDICTS,
        "task_state": TASK_STATES,
        "sla_state": SLA_STATES,
        "outcome": OUTCOMES,
        "field": FIELDS,
        "assistance_field": ASSISTANCE_FIELDS,
        "household_field": HOUSEHOLD_FIELDS,
        "service_kind": SERVICE_KINDS,
        "subsidy_kind": SUBSIDY_KINDS,
        "contact_channel": CONTACT_CHANNELS,
        "verification_method": VERIFICATION_METHODS,
        "verification_batch_status": VERIFICATION_BATCH_STATUSES,
        "ledger_status": LEDGER_STATUSES,
        "ledger_layout": LEDGER_LAYOUTS,
        "import_kind": IMPORT_KINDS,
        "import_status": IMPORT_STATUSES,
        "enrolment_group": ENROLMENT_GROUPS,
        "emergency_kind": EMERGENCY_KINDS,
        "household_status": HOUSEHOLD_STATUSES,
        "employment_way": EMPLOYMENT_WAYS,
        "household_measure": HOUSEHOLD_MEASURES,
        "member_status": MEMBER_STATUSES,
        "member_flag": MEMBER_FLAGS,
        "role": ROLES,
        "stage_role": STAGE_ROLES,
        "level": LEVELS,
        "clock": CLOCKS,
        "clock_unit": CLOCK_UNITS,
        "notification_kind": NOTIFICATION_KINDS,
        "calendar_origin": CALENDAR_ORIGINS,
        "holiday": HOLIDAYS,
        "day_reason": DAY_REASONS,
        "pack_change": PACK_CHANGES,
        "tls_mode": TLS_MODES,
        "sex": SEXES,
        "marital_status": MARITAL_STATUSES,
        "employment_intention": EMPLOYMENT_INTENTIONS_ZH,
    }
)


def labels(kind: str) -> Mapping[str, str]:
    """The names of one kind of code, in the domain's order; an unknown kind is a
    programming error (KeyError), never an empty table that would show raw codes."""
    return CATALOGUE[kind]


def outcome_label(task_kind: object, code: object) -> str:
    """The name of an outcome as the task of ``task_kind`` offers it (初审: 通过/不通过)."""
    named = TASK_OUTCOMES.get(str(task_kind), {}).get(str(code))
    return named if named is not None else label("outcome", code)


def label(kind: str, code: object, default: str | None = None) -> str:
    """The Chinese name of ``code``; an unnamed code is shown as ``default`` if one is given,
    else as itself (a code from a newer pack is still readable), and no code as ""."""
    if code is None:
        return default if default is not None else ""
    named = CATALOGUE[kind].get(str(code))
    if named is not None:
        return named
    return default if default is not None else str(code)
