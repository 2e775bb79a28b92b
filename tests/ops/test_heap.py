"""The collector of the API and worker processes, set once they have started (infra/heap.py,
#22): what start-up made is frozen, the API's young generation is wide and the worker's stays
CPython's, and cycles made afterwards are still freed without anyone asking. That both entry
points settle, and which widens, is seen in their logs (tests/test_smoke.py)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from infra.heap import API_YOUNG_GENERATION, settle_heap, settled_message


class Node:
    """A container object that can point at itself."""

    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def collector_restored() -> Iterator[None]:
    """The test process's collector as it was: its objects are not the test's to keep."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_settling_freezes_what_start_up_made(collector_restored: None) -> None:
    made_at_start_up = Node()
    frozen = settle_heap(API_YOUNG_GENERATION)
    # Frozen objects may still be freed by reference counting (the count only falls after).
    assert frozen > 0 and gc.get_freeze_count() <= frozen
    # A frozen object is in no generation a collection walks.
    assert not any(o is made_at_start_up for o in gc.get_objects())
    assert gc.get_threshold()[0] == API_YOUNG_GENERATION
    assert f"young generation every {API_YOUNG_GENERATION} allocations" in settled_message(frozen)
    made_later = Node()
    assert any(o is made_later for o in gc.get_objects())


def test_the_worker_keeps_the_young_generation_as_it_was(collector_restored: None) -> None:
    """The worker's workflow sandboxes are cycles: with a wide young generation they were
    freed late enough to double its memory at scale (infra/heap.py)."""
    before = gc.get_threshold()
    frozen = settle_heap(young_generation=None)
    assert frozen > 0 and gc.get_threshold() == before
    assert f"young generation every {before[0]} allocations" in settled_message(frozen)


def test_cycles_made_after_settling_are_still_freed(collector_restored: None) -> None:
    settle_heap(API_YOUNG_GENERATION)
    assert gc.isenabled()
    cycle = Node()
    cycle.other = cycle
    gone = weakref.ref(cycle)
    del cycle
    assert gone() is not None  # reference counting alone cannot free a cycle
    # Allocations past the young generation's threshold set off a collection by themselves.
    kept = [Node() for _ in range(API_YOUNG_GENERATION + 1_000)]
    assert gone() is None
    del kept
