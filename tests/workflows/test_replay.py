"""Replay saved histories with today's workflow code: a change that would break running cases
(non-determinism) fails here. Histories are recorded by tests/workflows/record_histories.py
and never rewritten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from infra.temporal_client import DATA_CONVERTER
from worker.factory import WORKFLOWS
from worker.sandbox import workflow_runner

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_there_are_histories_to_replay() -> None:
    assert len(HISTORIES) >= 4


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_replay(path: Path) -> None:
    # Through the sandbox the worker runs them in (worker.sandbox).
    replayer = Replayer(
        workflows=list(WORKFLOWS), data_converter=DATA_CONVERTER, workflow_runner=workflow_runner()
    )
    saved = json.loads(path.read_text())
    history = WorkflowHistory.from_json(saved["workflow_id"], saved["history"])
    await replayer.replay_workflow(history)


def test_patches_are_asked_through_one_home() -> None:
    # workflows.steps.patched answers a new run's patches with one marker; a patch asked of
    # workflow.patched directly would record one of its own in every new run, and one not in
    # steps.PATCHES_AT_START must be asked on its own (see the comment there).
    # Nor is a run started without the memo that names its patch set (steps.started_here):
    # children and continuations are started through steps.start_child and
    # steps.continue_as_new, the API's starts through application.gateway.start.
    workflows = Path(__file__).parents[2] / "workflows"
    direct = [
        (p.name, call)
        for p in workflows.glob("*.py")
        for call in (
            "workflow.patched(",
            "workflow.start_child_workflow(",
            "workflow.execute_child_workflow(",
            "workflow.continue_as_new(",
        )
        if p.name != "steps.py" and call in p.read_text()
    ]
    assert direct == []
