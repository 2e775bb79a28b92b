"""Chinese names of the domain's codes as the pages show them (case statuses, task outcomes,
form fields). They are msgids: templates pass them through ``_()`` for English."""

from __future__ import annotations

OUTCOME_ZH = {
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
}
FIELD_ZH = {
    "reason": "原因",
    "category": "认定类别",
    "evidence": "补充的材料",
    "visit_record": "入户核实记录",
    "explanation": "核实与解释情况",
    "channel": "告知方式",
    "action": "督办措施",
}
STATUS_ZH = {
    "submitted": "已申请",
    "awaiting_materials": "待补充材料",
    "accepted": "已受理",
    "under_review": "审核中",
    "in_publicity": "公示中",
    "identified": "已认定",
    "refused": "不予认定",
    "not_accepted": "不予受理",
    "withdrawn": "已撤回",
    "exited": "已退出",
    "enrolled": "已纳入援助",
}
# Fields whose value is a list (several materials handed in at once).
LIST_FIELDS = {"evidence"}
