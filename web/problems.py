"""What a page says for each of the API's problem types (the stable ``type`` slug of RFC 9457):
one Chinese sentence an officer can act on, shown above the API's own detail, so a page and
the API never disagree about what went wrong. English comes from the catalog like every
other Chinese msgid."""

from __future__ import annotations

from application.errors import Problem
from web.i18n import gettext

PROBLEM_ZH = {
    "bad-request": "请求无法处理",
    "malformed-request": "请求格式有误",
    "bad-credentials": "用户名或密码错误",
    "unauthorized": "请先登录",
    "actor-not-allowed": "您的角色无权进行此操作",
    "not-owner": "该事项由他人办理，您不能办结",
    "privilege-exceeded": "不能授予高于自己的权限",
    "not-found": "未找到，或不在您的管辖范围内",
    "method-not-allowed": "不支持此操作",
    "case-closed": "案件已办结，不能再办理",
    "case-not-identified": "案件尚未认定，不能出具认定结果告知书",
    "completion-in-progress": "该事项正在提交中，请稍候刷新",
    "conflict": "与已有记录冲突",
    "duplicate-application": "该身份证号已有在办的申请",
    "application-not-accepted": "暂不能受理此项申请",
    "filter-name-taken": "已有同名的视图",
    "outbound-not-configured": "尚未配置外发通知",
    "self-lockout": "不能停用或降级自己的账号",
    "self-reset": "请在“我的账号”中修改自己的密码",
    "task-busy": "该事项正在被处理，请稍后再试",
    "task-claimed": "该事项已被他人领取",
    "task-closed": "该事项已办结",
    "file-too-large": "文件过大",
    "payload-too-large": "提交的内容过大",
    "unsupported-media-type": "不支持的文件类型",
    "bad-assignee": "不能转交给该人员",
    "bad-cursor": "分页参数无效，请回到第一页",
    "department-file-invalid": "部门数据文件有误，未导入任何记录",
    "ledger-file-invalid": "台账文件有误，未导入任何记录",
    "ledger-too-large": "台账人数过多，请按县区或镇街分别导出",
    "idempotency-key-reused": "重复提交的内容不一致",
    "import-invalid": "导入文件有误，未导入任何记录",
    "invalid-id-number": "身份证号码无效",
    "invalid-input": "输入的内容无法保存",
    "no-policy-for-jurisdiction": "该地区尚无适用的政策",
    "policy-mismatch": "申报类别不属于该地区的政策",
    "role-place-mismatch": "该角色不能设在这一级地区",
    "unknown-jurisdiction": "未知的行政区划",
    "unknown-policy": "未知的政策",
    "validation-error": "填写的内容有误",
    "wrong-jurisdiction-level": "行政区划级别不符",
    "login-throttled": "登录失败次数过多，请稍后再试",
    "application-throttled": "提交的申请过多，请稍后再试",
    "supplement-throttled": "尝试次数过多，请稍后再试",
    "internal-error": "系统内部错误，已记录，请稍后重试",
    "outbound-failed": "外发通知发送失败",
    "temporal-unavailable": "工作流引擎暂不可用，请稍后重试",
    "database-unavailable": "数据库暂不可用，未作任何更改，请稍后重试",
    "file-store-unavailable": "材料文件暂时无法保存，未保存任何内容，请稍后重试",
    "csrf": "表单已过期，请刷新页面后重试",
    # the workflow's refusals of a decision
    "bad-outcome": "请选择本事项提供的办理结果",
    "missing-fields": "请填写必填项",
    "bad-field": "所选的值不在可选范围内",
    "not-in-publicity": "只能在公示期间登记异议",
    "not-reexaminable": "该案件现在不能申请复核",
    # assistance and re-identification
    "not-in-assistance": "该人员不在援助期内",
    "subsidy-cap-exceeded": "超过累计补贴期限",
    "reidentification-cooldown": "退出后未满规定期限，暂不能重新申请认定",
    "reapplication-forbidden": "因退出原因，不能重新申请认定",
    # Shandong's other target groups: emergencies and enrolment
    "emergency-exists": "该突发事件已经发布",
    "target-group-not-in-pack": "该地区的政策没有这一援助对象类别",
    "enrolment-conditions-not-met": "不符合纳入条件",
    "already-enrolled": "该人员已纳入或已在援助中",
    "enrolment-file-invalid": "名单文件有误，未纳入任何人员",
    "emergency-not-active": "不在突发事件期间内，不能纳入人员",
}
FALLBACK_ZH = "无法完成操作"


def problem_message(problem: Problem) -> str:
    """The page's sentence for ``problem`` in the current language."""
    return gettext(PROBLEM_ZH.get(problem.type, FALLBACK_ZH))
