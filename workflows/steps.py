"""How a workflow runs its steps: activities, and local activities for the short database
steps on an officer's path (#22). Every workflow module takes its steps from here, so that the
timeouts, the retry policy and the workflow code's patches (``workflow.patched``) have one
home."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.common import (
    RetryPolicy,
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
)

ACTIVITY_TIMEOUT = timedelta(seconds=30)
# Inbox writes are idempotent upserts: retry them for as long as the database is away.
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
# The workflow code's patches. Each keeps the runs recorded before it on their old path; ask
# it through patched() below, never workflow.patched directly.
# A run makes its short database steps local activities (run_local, #22).
LOCAL_WRITES = "local-writes"
# The identification deadline's clock starts before the first stage opens its task.
DEADLINE_STARTED_BEFORE_STAGES = "deadline-started-before-stages"
# An upheld objection is refused by the stage's refusal handling (its notice, where it returns).
UPHELD_OBJECTION_REFUSAL_HANDLING = "upheld-objection-refusal-handling"
# The identification deadline's watcher ends when the case concludes, told by a flag.
DEADLINE_WATCHER_ENDS_WITH_THE_CASE = "deadline-watcher-ends-with-the-case"
# An identified case starts its assistance workflow.
START_ASSISTANCE = "start-assistance"
# Timeline entries held and written with the next task's opening (#22).
ENTRIES_HELD_FOR_THE_OPENING = "entries-held-for-the-opening"
# A verification batch reads its next page while it opens the tasks of the last (#22).
VERIFICATION_READ_AHEAD = "verification-read-ahead"
# An assistance run follows its plan task's clocks once, not twice.
PLAN_TASK_FOLLOWED_ONCE = "plan-task-followed-once"
# A decision that starts a clock (an acceptance the case's deadline, an approval the
# publicity) has it computed by its closing, not by a local step of its own after it (#22).
DECISION_STARTS_ITS_CLOCK = "decision-starts-its-clock"

# Every patch above, answered for a run started on this code by its memo (started_here below,
# no marker at all), or by one marker (#22). Each workflow.patched records a marker and, from
# the SDK's core, an upsert of the TemporalChangeVersion search attribute: about 1.3 ms of the
# Temporal server's CPU each, and a Jilin case's first completion met three. A run started
# with the sets' first marker change (started-with-patches-1), and before the memo, records
# the newest set's marker at its first question, and is then answered yes for every patch in
# that set without a marker of its own. A run started before, or by an older worker in a
# mixed deployment, has no such marker: its replay answers no to it at its first question (the
# answer is kept for the run), and asks the older sets' markers in turn, then each patch not
# in the set it was started with on its own, as it was recorded. A later patch is asked on its
# own (it is in no set); to fold it in, add a new set with it and every patch before it, its
# marker asked first, keeping the older sets for the runs started with them (and their memos).
_FIRST_SET = frozenset(
    {
        LOCAL_WRITES,
        DEADLINE_STARTED_BEFORE_STAGES,
        UPHELD_OBJECTION_REFUSAL_HANDLING,
        DEADLINE_WATCHER_ENDS_WITH_THE_CASE,
        START_ASSISTANCE,
        ENTRIES_HELD_FOR_THE_OPENING,
        VERIFICATION_READ_AHEAD,
        PLAN_TASK_FOLLOWED_ONCE,
    }
)
# Newest first: (its marker, the patches it answers).
PATCH_SETS: tuple[tuple[str, frozenset[str]], ...] = (
    ("started-with-patches-2", _FIRST_SET | {DECISION_STARTS_ITS_CLOCK}),
    ("started-with-patches-1", _FIRST_SET),
)
# The set a run started on this code is started with, and the patches it answers.
STARTED_WITH_THESE_PATCHES, PATCHES_AT_START = PATCH_SETS[0]

# The run's memo names the set it was started with (#22). Every start on this code says it
# (started_here: the API's starts through application.gateway, a workflow's children and its
# continuations through start_child and continue_as_new below, the verification Schedule), and
# its patches are then answered yes from the memo, with no marker at all: the marker cost a
# history event and, with the upsert of TemporalChangeVersion the SDK's core adds to it, a
# second write of the run's visibility record (see build_ids). The memo is written with the
# run's start and is part of its history.
PATCHES_MEMO = "yuanzhu.patches"
# In the memo of a run started with its BuildIds (build_ids), for its children and
# continuations to be started so too.
BUILD_IDS_MEMO = "yuanzhu.build-ids"

# The search attribute in which the server keeps the build ids of the workers that completed
# a run's workflow tasks.
BUILD_IDS = SearchAttributeKey.for_keyword_list("BuildIds")


def build_ids(build_id: str) -> TypedSearchAttributes:
    """The BuildIds of a run whose workflow tasks an unversioned worker of ``build_id``
    completes, given as the run starts. The server adds them at the run's first completed
    workflow task and writes the run's visibility record again for it, unless they are there
    already: the run's start writes them with its first record. Those second writes (with the
    patch marker's upsert, merged with them) took 15 % of the dev server's CPU samples in a
    burst of applications (#22, measured with perf). The server spells a build id
    ``unversioned:<build id>``; a worker of another build adds its own, and the record is
    written again then, as before."""
    return TypedSearchAttributes(
        [SearchAttributePair(BUILD_IDS, ["unversioned", f"unversioned:{build_id}"])]
    )


@dataclass(frozen=True)
class Started:
    """What a start on this code gives the run it starts."""

    memo: dict[str, Any]
    search_attributes: TypedSearchAttributes | None


def started_here(build_id: str | None) -> Started:
    """A run started on this code: its memo names the patch set it answers; ``build_id``, the
    build id of the workers that will run it when the server keeps BuildIds
    (``infra.temporal_client.server_keeps_build_ids``; the time-skipping test server does
    not), is given in its BuildIds (:func:`build_ids`)."""
    memo: dict[str, Any] = {PATCHES_MEMO: STARTED_WITH_THESE_PATCHES}
    if build_id is None:
        return Started(memo, None)
    return Started({**memo, BUILD_IDS_MEMO: True}, build_ids(build_id))


def _started_from_this_run() -> Started:
    """A child or continuation of this run: started as this run was, with this worker's build
    id where this run was started with one."""
    kept = workflow.memo_value(BUILD_IDS_MEMO, False, type_hint=bool)
    return started_here(workflow.info().get_current_build_id() if kept else None)


def _started_with() -> tuple[str, frozenset[str]] | None:
    """The patch set the run's memo names, if this code knows it (None: the run was started
    without one, before this change or by a client of its own)."""
    name = workflow.memo_value(PATCHES_MEMO, None, type_hint=str)
    return next((s for s in PATCH_SETS if s[0] == name), None)


def patched(patch_id: str) -> bool:
    """``workflow.patched(patch_id)``, answered for a run started on this code by its memo
    (:func:`started_here`), else by one marker (see :data:`PATCH_SETS`).

    A run whose memo names a set holding the patch is answered yes. While replaying it also
    asks the set's marker, which then matches the marker a worker without the memo's reading
    (a mixed deployment's older one) recorded at the run's first question; not replaying,
    nothing is recorded. Otherwise the sets' markers that hold the patch are asked, newest
    first, at the run's first question about it, before the patch itself. A run answers a
    set's marker no when it asks while replaying a history without it (started before, or by
    an older worker), and keeps that answer; a run that answers a set yes asks no patch of
    that set on its own, and its own answer to each would have been yes (asked for the first
    time, not replaying). A patch outside the memo's set (added after the run started) is
    asked on its own, as before."""
    started = _started_with()
    if started is not None and patch_id in started[1]:
        if workflow.unsafe.is_replaying():
            workflow.patched(started[0])
        return True
    for marker, patches in PATCH_SETS:
        if patch_id in patches and workflow.patched(marker):
            return True
    return workflow.patched(patch_id)


async def start_child(
    run: Callable[..., Awaitable[Any]], arg: object, *, id: str, **options: Any
) -> workflow.ChildWorkflowHandle[Any, Any]:
    """Start a child workflow, started here as this run was (:func:`started_here`)."""
    started = _started_from_this_run()
    return await workflow.start_child_workflow(
        run,
        arg,
        id=id,
        memo=started.memo,
        search_attributes=started.search_attributes,
        **options,
    )


def continue_as_new(arg: object) -> NoReturn:
    """Continue the run as a new one with ``arg``, started here as this run was
    (:func:`started_here`)."""
    started = _started_from_this_run()
    workflow.continue_as_new(arg, memo=started.memo, search_attributes=started.search_attributes)


async def run_activity(method: Callable[..., Awaitable[Any]], arg: object) -> Any:
    return await workflow.execute_activity_method(
        method, arg, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY
    )


def local_steps() -> bool:
    """Whether this run takes its short database steps locally (see :func:`run_local`); the
    answer is the same for the whole run."""
    return patched(LOCAL_WRITES)


async def run_local(method: Callable[..., Awaitable[Any]], arg: object) -> Any:
    """Run one of the short database steps on an officer's path — an inbox row opened or
    closed, a timeline entry, a notice, a clock computed from the holiday table — as a local
    activity (#22).

    An activity costs two round trips to the server and a workflow task of its own; a
    completion used to wait for three or more of them (close the row, record the decision,
    compute the next clock, open the next task): most of its latency. A local activity runs in
    the worker inside the workflow task, its result recorded with that task. The guarantee is
    the same: if the worker dies before the workflow task completes, the task runs again and
    so does the step — each is an idempotent upsert keyed by a deterministic id, or a read.
    The steps keep the retry policy of activities (for as long as the database is away).

    Runs recorded before this change scheduled activities for these steps and replay them so
    (``workflow.patched`` answers the same for the whole run)."""
    if not local_steps():
        return await run_activity(method, arg)
    return await workflow.execute_local_activity_method(
        method, arg, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY
    )
