"""Department data sharing (部门信息共享): the lists other departments hand the PES, and what a
record on each list proves about an applicant.

An administrator imports each list (民政低保名单, 残联残疾人证, 社保缴费记录, 市场监管企业登记,
乡村振兴脱贫人口/监测对象, 民政低保边缘家庭). A record names a person by ID number and holds a
validity period; :func:`findings_for` turns the records valid on a date into
:class:`~domain.facts.DataFinding` lines that the eligibility engine reads (evidence marked
``data_sharing_replaces_paper`` is then satisfied without paper, weifang 二(一)).
Pure: the records come in as data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain.facts import DataFinding


class DepartmentList(StrEnum):
    MINIMUM_LIVING_ALLOWANCE = "minimum_living_allowance"  # 低保
    LOW_INCOME_EDGE = "low_income_edge"  # 低保边缘家庭
    DISABILITY = "disability"  # 残疾人证
    SOCIAL_INSURANCE = "social_insurance"  # 用人单位社会保险缴费
    BUSINESS_REGISTRATION = "business_registration"  # 企业/个体工商登记, 法定代表人等
    POVERTY_ALLEVIATION = "poverty_alleviation"  # 脱贫享受政策户
    MONITORING_TARGET = "monitoring_target"  # 防返贫监测对象
    UNEMPLOYMENT_REGISTRATION = "unemployment_registration"  # 失业登记


@dataclass(frozen=True)
class ListSpec:
    name_zh: str
    department_zh: str
    # The fact paths (domain.facts) a valid record on this list proves true.
    facts: tuple[str, ...]


LISTS: dict[DepartmentList, ListSpec] = {
    DepartmentList.MINIMUM_LIVING_ALLOWANCE: ListSpec(
        "最低生活保障对象", "民政部门", ("household.minimum_living_allowance",)
    ),
    DepartmentList.LOW_INCOME_EDGE: ListSpec(
        "低保边缘家庭", "民政部门", ("household.low_income_edge",)
    ),
    DepartmentList.DISABILITY: ListSpec(
        "残疾人证持证人员", "残联", ("person.disability_certificate",)
    ),
    DepartmentList.SOCIAL_INSURANCE: ListSpec(
        "用人单位社会保险缴费", "社会保险经办机构", ("economic.employer_social_insurance_now",)
    ),
    DepartmentList.BUSINESS_REGISTRATION: ListSpec(
        "市场主体登记（营业执照、法定代表人、股东等）",
        "市场监管部门",
        ("economic.business_licence", "economic.legal_representative_or_officer_elsewhere"),
    ),
    DepartmentList.POVERTY_ALLEVIATION: ListSpec(
        "脱贫享受政策户", "乡村振兴部门", ("household.poverty_alleviated",)
    ),
    DepartmentList.MONITORING_TARGET: ListSpec(
        "防返贫监测对象", "乡村振兴部门", ("household.monitoring_target",)
    ),
    DepartmentList.UNEMPLOYMENT_REGISTRATION: ListSpec(
        "失业登记人员", "公共就业服务机构", ("unemployment.registered",)
    ),
}


@dataclass(frozen=True)
class DepartmentRecord:
    """One line of an imported list: the person, the list, and when the record holds."""

    list: DepartmentList
    id_number: str
    valid_from: date | None = None
    valid_to: date | None = None

    def valid_on(self, on: date) -> bool:
        return (self.valid_from is None or self.valid_from <= on) and (
            self.valid_to is None or on <= self.valid_to
        )


def findings_for(
    records: list[DepartmentRecord], on: date, imported: set[DepartmentList]
) -> list[DataFinding]:
    """Findings for one person on a date. A fact is found true when a record proving it is valid
    on that date. For a list that has been imported but does not hold the person, the fact is
    found false (a department's list is complete for its scope, so absence is information);
    lists never imported say nothing, so that a missing import never counts against anyone."""
    valid = {r.list for r in records if r.valid_on(on)}
    findings: list[DataFinding] = []
    for kind, spec in LISTS.items():
        if kind not in imported:
            continue
        for fact in spec.facts:
            findings.append(
                DataFinding(
                    source=f"{spec.department_zh}·{spec.name_zh}",
                    fact=fact,
                    value=kind in valid,
                    checked_on=on,
                )
            )
    return findings
