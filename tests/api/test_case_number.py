"""The case number carries the Beijing date of the submission (#21 "Dates disagree": it
carried the UTC date while the receipt said the Beijing date, so every application made
before 08:00 got the day before in its number)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from application.services.applications import new_case_id


def test_the_case_number_carries_the_beijing_date() -> None:
    # 23:30 UTC on 5 December is 07:30 on 6 December in Beijing.
    number = new_case_id(datetime(2026, 12, 5, 23, 30, tzinfo=UTC))
    assert re.fullmatch(r"YZ20261206-[A-HJ-NP-Z2-9]{8}", number), number
    # 15:59 UTC is 23:59 in Beijing, still the same day.
    assert new_case_id(datetime(2026, 12, 6, 15, 59, tzinfo=UTC)).startswith("YZ20261206-")
    assert new_case_id(datetime(2026, 12, 6, 16, 0, tzinfo=UTC)).startswith("YZ20261207-")
