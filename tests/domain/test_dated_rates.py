"""Rates that change within a document's life (#23 item 5): a coverage target may give its
rate by the day each value takes effect (``minimum_rates``); the supervisors' figures measure
the rate in effect on the day they are measured, the seeds' single rates read as before, and a
pack that says both, lists them out of order or dates the rate of a standard without one is
refused with the field."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from application.services.assistance_targets import Acc, Counts, TargetsRow, _targets
from domain.policy.loader import load_pack
from domain.policy.model import AssistanceStandard, PolicyPack

WEIFANG = "weifang-2023"


def standard(**changes: Any) -> AssistanceStandard:
    [rate] = [s for s in load_pack(WEIFANG).assistance_standards if s.kind == "coverage_rate"]
    data = rate.model_dump(mode="json")
    data.update(changes)
    return AssistanceStandard.model_validate(data)


def dated() -> AssistanceStandard:
    return standard(
        minimum_rate=None,
        minimum_rates=[
            {"since": "2023-01-01", "value": 0.95},
            {"since": "2027-01-01", "value": 0.96},
        ],
    )


def test_the_rate_in_effect_on_a_day() -> None:
    s = dated()
    assert s.rate_on(date(2022, 12, 31)) is None  # before the document's first value
    assert s.rate_on(date(2026, 12, 31)) == 0.95
    assert s.rate_on(date(2027, 1, 1)) == 0.96
    # A single rate stands on every day, as in the seeds.
    assert standard().rate_on(date(2020, 1, 1)) == 0.96


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        (
            {"minimum_rates": [{"since": "2027-01-01", "value": 0.96}]},
            "give either minimum_rate or its dated values",
        ),
        (
            {
                "minimum_rate": None,
                "minimum_rates": [
                    {"since": "2027-01-01", "value": 0.96},
                    {"since": "2023-01-01", "value": 0.95},
                ],
            },
            "minimum_rates[1].since: 2023-01-01 is not after 2027-01-01",
        ),
        (
            {"minimum_rate": None, "minimum_rates": [{"since": "2027-01-01", "value": 1.5}]},
            "less than or equal to 1",
        ),
        (
            {
                "kind": "clearance",
                "minimum_rate": None,
                "minimum_rates": [{"since": "2027-01-01", "value": 0.9}],
            },
            "only a coverage_rate standard has a rate",
        ),
    ],
)
def test_a_bad_dated_rate_is_refused_with_its_field(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError) as refused:
        standard(**changes)
    assert words in str(refused.value)


def with_standard(s: AssistanceStandard) -> PolicyPack:
    pack = load_pack(WEIFANG)
    others = [x for x in pack.assistance_standards if x.code != s.code]
    return pack.model_copy(update={"assistance_standards": [*others, s]})


def test_the_supervisors_target_is_the_rate_of_the_day_measured() -> None:
    """19 of 20 assisted: 95 % meets this year's target, not next year's 96 %."""
    pack = with_standard(dated())
    acc = Acc(TargetsRow(name="潍坊市"), WEIFANG)
    acc.groups[(WEIFANG, None)] = Counts(persons=20, assisted=19)

    def target(on: date) -> tuple[float | None, bool | None]:
        [t] = [t for t in _targets(acc, {WEIFANG: pack}, on) if t.kind == "coverage_rate"]
        return t.minimum_rate, t.met

    assert target(date(2026, 12, 31)) == (0.95, True)
    assert target(date(2027, 3, 31)) == (0.96, False)
    # Before the first dated value there is no target to measure.
    assert not [
        t for t in _targets(acc, {WEIFANG: pack}, date(2022, 6, 30)) if t.kind == "coverage_rate"
    ]


def test_a_pack_without_dated_rates_hashes_as_before() -> None:
    pack = load_pack(WEIFANG)
    assert '"minimum_rates"' not in pack.canonical_json()
    assert '"minimum_rates"' in with_standard(dated()).canonical_json()
