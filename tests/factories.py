"""Test data: valid resident ID numbers and application bodies per region."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from domain.ids import check_digit

_serial = itertools.count(100)


def make_id(birth: date = date(1975, 3, 15), *, female: bool = True, region: str = "370702") -> str:
    """A valid 18-digit ID number; each call gets a fresh sequence number."""
    seq = next(_serial) % 500 * 2 + (0 if female else 1)
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + check_digit(body)


# The demo tree's application points (streets) per region.
STREET = {
    "weifang-2023": "370702001",
    "jilin-2022": "220102001",
    "xinyu-2023": "360502001",
    "qingxin-2024": "441803100",
}


def application(
    pack: str = "weifang-2023", *, name: str = "刘芳", id_number: str | None = None, **facts: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "jurisdiction_code": STREET[pack],
        "facts": {
            "person": {
                "name": name,
                "id_number": id_number or make_id(),
                "able_to_work": True,
                "willing_to_work": True,
            },
            "unemployment": {"registered": True},
            **facts,
        },
    }
    return body
