"""The garbage collector of a long-running process, set once it has started (#22).

CPython's collector runs its youngest generation every 700 new container objects, and a full
collection whenever enough survivors have piled up. An API or worker process holds some
170,000 long-lived objects once started — modules, classes, FastAPI's routes and pydantic's
schemas, SQLAlchemy's mappers, the policy packs — and every full collection walks them all:
during a burst of 300 applications the API and the worker each ran one or two, of 100–190 ms
apiece (an application's answer waits behind it), and young collections cost the API a
further 0.4 ms of CPU per application. Almost everything a request or an activation allocates
is freed by reference counting as soon as it is done with; the collector is there for the few
cycles (SQLAlchemy's sessions, tracebacks, asyncio's tasks).

So, once started:

- every object alive then is moved out of the collector's sight (``gc.freeze``): they live as
  long as the process, and no collection need look at them again;
- the youngest generation is collected every :data:`YOUNG_GENERATION_THRESHOLD` allocations
  rather than 700: a cycle waits a little longer to be freed (a few megabytes at most), and
  each request no longer pays for walking the objects other requests still hold.

The collector stays on: cycles made after start-up are still collected.
"""

from __future__ import annotations

import gc

YOUNG_GENERATION_THRESHOLD = 50_000


def settle_heap() -> int:
    """Freeze what start-up made and widen the young generation; the number of objects frozen.
    Call once, from a process's entry point, after its application or worker is built and
    before it serves; never from a library or a test process, whose objects are not the
    process's to keep."""
    gc.collect()  # start-up's garbage goes now, not into the frozen generation for good
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)
    return gc.get_freeze_count()


def settled_message(frozen: int) -> str:
    """The start-up log line of a process that settled its heap."""
    return (
        f"collector: {frozen} start-up objects frozen, "
        f"young generation every {YOUNG_GENERATION_THRESHOLD} allocations"
    )
