"""The one catalogue of the domain's Chinese names names every code of the domain's own lists
(a new task kind, status or clock without a name would show as its code), and a code it does
not know reads as itself."""

from __future__ import annotations

import typing

import pytest

from domain import labels
from domain.policy.model import CLOCK_NAMES, ServiceKind
from domain.target_groups import EMERGENCY_KINDS, ENROLLED_GROUPS
from domain.vocabulary import LEVELS, CaseStatus, Role, TaskKind
from infra.mail import TLS_MODES
from workflows.contracts import CONTACT_CHANNELS, EMPLOYMENT_WAYS, HOUSEHOLD_MEASURES


@pytest.mark.parametrize(
    ("kind", "codes"),
    [
        ("task_kind", [k.value for k in TaskKind]),
        ("case_status", [s.value for s in CaseStatus]),
        ("role", [r.value for r in Role]),
        ("level", list(LEVELS)),
        ("clock", list(CLOCK_NAMES)),
        ("service_kind", list(typing.get_args(ServiceKind))),
        ("contact_channel", list(CONTACT_CHANNELS)),
        ("employment_way", list(EMPLOYMENT_WAYS)),
        ("household_measure", list(HOUSEHOLD_MEASURES)),
        ("enrolment_group", list(ENROLLED_GROUPS)),
        ("emergency_kind", list(EMERGENCY_KINDS)),
        ("tls_mode", list(TLS_MODES)),
    ],
)
def test_every_code_of_the_domain_is_named(kind: str, codes: list[str]) -> None:
    assert set(labels.labels(kind)) == set(codes)


def test_the_same_code_reads_the_same_wherever_it_is_named() -> None:
    # The drift this catalogue ended: the ledger, the task page and the households spoke of
    # the same services in different words. The seeds' words: 政策扶持 (新余 第四条(四)),
    # 一次性求职创业补贴 (山东 三(三)3).
    assert labels.label("service_kind", "policy_subsidy") == "政策扶持"
    assert labels.label("service_kind", "job_seeking_subsidy") == "一次性求职创业补贴"
    for kind in ("household_measure", "employment_way"):
        for code, name in labels.labels(kind).items():
            if code in labels.SERVICE_KINDS:
                assert name == labels.SERVICE_KINDS[code], (kind, code)
    assert labels.STAGE_ROLES.items() >= labels.ROLES.items()


def test_unknown_and_missing_codes() -> None:
    assert labels.label("task_kind", TaskKind.REVIEW) == "复核认定"
    assert labels.label("task_kind", "from_a_newer_pack") == "from_a_newer_pack"
    assert labels.label("sex", "unknown", "") == ""
    assert labels.label("sla_state", None) == ""
    with pytest.raises(KeyError):
        labels.label("no_such_kind", "x")
