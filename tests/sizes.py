"""How big the long runs are. `make test` runs a smaller run of each kind (every fault, every
operation and check, the same invariants) so that it fits its 30 minutes on a 2-core machine;
`make reliability` sets ``YUANZHU_TEST_SIZE=full`` for the runs docs/reliability.md reports.
A run's own variable (``YUANZHU_FAULT_CASES``, ``YUANZHU_FUZZ_EXAMPLES``, …) wins over both."""

from __future__ import annotations

import os

FULL = os.environ.get("YUANZHU_TEST_SIZE", "small") == "full"


def size(variable: str, *, small: int, full: int) -> int:
    """The size set by ``variable``, else the full or the small one."""
    value = os.environ.get(variable)
    return int(value) if value else (full if FULL else small)
