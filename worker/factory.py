"""Worker factory: ``build_worker(client, settings)`` returns a Temporal ``Worker`` with every
workflow and activity of the system registered. Tests and outside acceptance suites use it to
run the whole system in one process against any Temporal server, including the time-skipping
test server."""

from __future__ import annotations

import compileall
import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

import workflows
from activities.assistance import AssistanceActivities
from activities.cases import CaseActivities
from activities.department import (
    DepartmentActivities,
    DepartmentDataAdapter,
    ImportedListsAdapter,
)
from activities.household import HouseholdActivities
from activities.inbox import InboxActivities
from activities.ledger import LedgerActivities
from activities.verification import VerificationActivities
from infra.temporal_client import WORKER_BUILD_ID
from store.db import make_engine, make_sessionmaker
from store.settings import Settings, SettingsError
from worker import payload_passes
from worker.sandbox import workflow_runner
from workflows.assistance import AssistanceWorkflow
from workflows.household import HouseholdDiscoveryWorkflow, HouseholdWorkflow
from workflows.identification import IdentificationWorkflow
from workflows.ledger_import import LedgerImportWorkflow
from workflows.transition import RevisionTransitionWorkflow
from workflows.verification import QuarterlyVerificationWorkflow, VerificationBatchWorkflow

WORKFLOWS: Sequence[type] = (
    IdentificationWorkflow,
    AssistanceWorkflow,
    LedgerImportWorkflow,
    QuarterlyVerificationWorkflow,
    VerificationBatchWorkflow,
    HouseholdWorkflow,
    HouseholdDiscoveryWorkflow,
    RevisionTransitionWorkflow,
)


def activities_for(
    sessions: async_sessionmaker[AsyncSession],
    department_adapter: DepartmentDataAdapter | None = None,
    assistance_history_limit: int | None = None,
) -> list[Callable[..., Any]]:
    """The activity callables, bound to their dependencies. Department data comes from the
    lists an administrator imports unless another adapter (a province's data exchange) is
    given."""
    adapter = department_adapter or ImportedListsAdapter(sessions)
    inbox = InboxActivities(sessions)
    cases = CaseActivities(sessions, adapter)
    assistance = AssistanceActivities(sessions, assistance_history_limit)
    verification = VerificationActivities(sessions)
    ledger = LedgerActivities(sessions, assistance_history_limit)
    household = HouseholdActivities(sessions)
    return [
        inbox.open_task,
        inbox.close_task,
        inbox.compute_clock,
        inbox.recompute_task_clock,
        inbox.sla_event,
        cases.update_case,
        cases.assess,
        cases.record_supplement,
        cases.record_verified_facts,
        cases.issue_notice,
        DepartmentActivities(adapter).department_check,
        assistance.assistance_input,
        assistance.record,
        assistance.revised_rules,
        assistance.transition_page,
        assistance.transition_done,
        ledger.page,
        ledger.progress,
        verification.plan,
        verification.begin_batch,
        verification.people,
        verification.open_tasks,
        verification.sla_page,
        verification.batch_event,
        household.household_input,
        household.record_household,
        household.discover_households,
    ]


@functools.cache
def compile_workflow_modules() -> bool:
    """Bytecode for the workflow modules, once per process. Each worker's sandbox imports them
    afresh (worker.sandbox); with ``PYTHONDONTWRITEBYTECODE`` set (as on the machines that run
    our CI, and in many container images) Python keeps no bytecode, and each import compiled
    their 4,800 lines again: 24 ms for the package, for every worker a test suite builds.
    Compiled here as pip compiles what it installs; a read-only tree is left as it is
    (False), and the imports compile as before."""
    return compileall.compile_dir(Path(workflows.__file__).parent, quiet=2, maxlevels=0)


def build_worker(
    client: Client,
    settings: Settings,
    *,
    sessions: async_sessionmaker[AsyncSession] | None = None,
    department_adapter: DepartmentDataAdapter | None = None,
    **worker_options: Any,
) -> Worker:
    """A worker on ``settings.temporal_task_queue``. Pass ``sessions`` to share a session factory
    (tests); otherwise one is made from ``settings``."""
    if department_adapter is not None and settings.department_data != "adapter":
        # The API would pre-check applications with the imported lists while this worker
        # asks another source: two answers for one case.
        raise SettingsError(
            "YUANZHU_DEPARTMENT_DATA: must be 'adapter' when the worker is given a department "
            "data adapter (it is 'imported': the API pre-checks applications with the imported "
            "lists)"
        )
    if sessions is None:
        sessions = make_sessionmaker(make_engine(settings.effective_database_url))
    compile_workflow_modules()
    # The SDK's payload walks left out where they could change nothing (worker.payload_passes).
    payload_passes.install()
    # The SDK's sandbox, each workflow module imported into it once (worker.sandbox, #22).
    worker_options.setdefault("workflow_runner", workflow_runner())
    # A build id the API knows too (infra.temporal_client.WORKER_BUILD_ID).
    worker_options.setdefault("build_id", WORKER_BUILD_ID)
    return Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=list(WORKFLOWS),
        activities=activities_for(sessions, department_adapter, settings.assistance_history_limit),
        **worker_options,
    )
