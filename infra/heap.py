"""The garbage collector of a long-running process, set once it has started (#22).

CPython's collector runs its youngest generation every 700 new container objects, and a full
collection whenever enough survivors have piled up. An API or worker process holds some
170,000 long-lived objects once started — modules, classes, FastAPI's routes and pydantic's
schemas, SQLAlchemy's mappers, the policy packs — and every full collection walks them all:
during a burst of 300 applications the API and the worker each ran one or two, of 100–190 ms
apiece (an application's answer waits behind it), and young collections cost the API a
further 0.4 ms of CPU per application. Almost everything a request allocates is freed by
reference counting as soon as it is done with; the collector is there for the few cycles
(SQLAlchemy's sessions, tracebacks, asyncio's tasks).

So, once started, every object alive then is moved out of the collector's sight
(``gc.freeze``): they live as long as the process, and no collection need look at them again.

The API also collects its young generation every :data:`API_YOUNG_GENERATION` allocations
rather than 700: a request's few cycles wait a little longer to be freed, and each request no
longer pays for walking the objects other requests still hold. The worker keeps CPython's
threshold. Its cycles are not few: every workflow run has a sandbox of its own (its module
imported afresh, thousands of objects pointing at each other), dropped when the run ends or
leaves the worker's cache. With the wide young generation those waited long enough to
fragment the heap: 3,000 assistance workflows opened through a cache of 1,000 left the worker
at 785 MB against 432 MB, and 50,000 at 1,988 MB against 466 MB before the change; its CPU
per completed task was no lower for it (``bench/before_after.md``, eleventh round).

The collector stays on in both: cycles made after start-up are still collected.
"""

from __future__ import annotations

import gc

API_YOUNG_GENERATION = 50_000


def settle_heap(young_generation: int | None) -> int:
    """Freeze what start-up made and, given ``young_generation``, collect the young generation
    every so many allocations (None: CPython's threshold stays); the number of objects frozen.
    Call once, from a process's entry point, after its application or worker is built and
    before it serves; never from a library or a test process, whose objects are not the
    process's to keep."""
    gc.collect()  # start-up's garbage goes now, not into the frozen generation for good
    gc.freeze()
    if young_generation is not None:
        _, middle, old = gc.get_threshold()
        gc.set_threshold(young_generation, middle, old)
    return gc.get_freeze_count()


def settled_message(frozen: int) -> str:
    """The start-up log line of a process that settled its heap."""
    return (
        f"collector: {frozen} start-up objects frozen, "
        f"young generation every {gc.get_threshold()[0]} allocations"
    )
