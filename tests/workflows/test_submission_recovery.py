"""An application submitted while Temporal cannot be reached is kept, never lost or deleted:
the answer is 503 naming the stored case; submitting again under the same Idempotency-Key once
Temporal is back answers 201 naming the same case and starts its workflow (without the key the
generic 409, which names no case, and the workflow starts too); and a case nobody submits
again is started by the worker's sweep (``resume_submitted``). (The fault-injection suite found
the old behaviour: the case was deleted after a failed start while a retry had already been
told it existed.)"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.api.workflowservice.v1 import GetSystemInfoResponse
from temporalio.service import RPCError, RPCStatusCode

from application.errors import Problem
from application.schemas.applications import ApplicationIn
from application.services.applications import (
    resume_submitted,
    start_identification,
    submit_application,
)
from store.models import Case, CaseEvent
from tests.factories import application
from tests.workflows.scenario import Scenario, scenario_at, shanghai, timeline_kinds
from workflows.contracts import IdentificationInput

WEIFANG = "weifang-2023"


class _Away:
    async def get_system_info(self, *_args: Any) -> None:
        raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")


class _Server:
    async def get_system_info(self, *_args: Any) -> GetSystemInfoResponse:
        return GetSystemInfoResponse()  # keeps no BuildIds, as the time-skipping server


class TemporalAway:
    """A Temporal client whose server cannot be reached."""

    workflow_service = _Away()

    async def start_workflow(self, *_args: Any, **_kwargs: Any) -> None:
        raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")


async def _submit_while_away(sc: Scenario, body: dict[str, Any], key: str | None = None) -> str:
    async with sc.system.sessions()() as session:
        with pytest.raises(Problem) as refused:
            await submit_application(
                session,
                TemporalAway(),  # type: ignore[arg-type]
                sc.system.settings,
                ApplicationIn.model_validate({**body, "policy_id": None}),
                actor=None,
                idempotency_key=key,
            )
    problem = refused.value
    assert (problem.status, problem.type) == (503, "temporal-unavailable")
    case_id = str(problem.extra["case_id"])
    assert f"stored as case {case_id}" in problem.detail
    async with sc.system.sessions()() as session:
        case = await session.get(Case, case_id)
        assert case is not None and case.status == "submitted"
    return case_id


async def test_submitting_again_names_the_kept_case_and_starts_it(tmp_path: Path) -> None:
    async with scenario_at(shanghai(2026, 3, 2, 9, 0), tmp_path) as sc:
        body = application(WEIFANG)
        case_id = await _submit_while_away(sc, body, key="apply-once")
        r = await sc.http.post(
            "/api/v1/applications", json=body, headers={"Idempotency-Key": "apply-once"}
        )
        assert r.status_code == 201, r.text
        assert r.json()["case_id"] == case_id
        task = await sc.task("wf_reviewer", case_id, "immediate_conclusion")
        assert task["case_id"] == case_id


async def test_submitting_again_without_the_key_starts_the_kept_case(tmp_path: Path) -> None:
    async with scenario_at(shanghai(2026, 3, 2, 9, 0), tmp_path) as sc:
        body = application(WEIFANG)
        case_id = await _submit_while_away(sc, body)
        r = await sc.http.post("/api/v1/applications", json=body)
        assert r.status_code == 409, r.text
        assert r.json()["type"].endswith("/application-not-accepted")
        assert case_id not in r.text
        task = await sc.task("wf_reviewer", case_id, "immediate_conclusion")
        assert task["case_id"] == case_id


async def test_the_sweep_starts_a_case_nobody_submitted_again(tmp_path: Path) -> None:
    async with scenario_at(shanghai(2026, 3, 2, 9, 0), tmp_path) as sc:
        case_id = await _submit_while_away(sc, application(WEIFANG))
        later = datetime.now(UTC) + timedelta(minutes=5)
        async with sc.system.sessions()() as session:
            # Too young to sweep: it may still be starting.
            assert (
                await resume_submitted(
                    session,
                    sc.env.client,
                    sc.system.settings,
                    older_than=datetime.now(UTC) - timedelta(hours=1),
                )
                == 0
            )
            assert (
                await resume_submitted(session, sc.env.client, sc.system.settings, older_than=later)
                == 1
            )
        await sc.task("wf_reviewer", case_id, "immediate_conclusion")
        # The submission's pre-check is not the workflow's: the sweep started the case, and
        # its workflow's assessment found that entry and added none.
        case = await sc.wait_case(
            case_id, lambda c: len(c["timeline"]) > 1, "the workflow's first event"
        )
        assert timeline_kinds(case).count("pre_check") == 1
        # Once its workflow has recorded something, the sweep leaves the case alone.
        async with sc.system.sessions()() as session:
            assert (
                await resume_submitted(session, sc.env.client, sc.system.settings, older_than=later)
                == 0
            )


class TemporalRecording:
    """A Temporal client that records the workflows it is asked to start."""

    workflow_service = _Server()

    def __init__(self) -> None:
        self.started: list[tuple[str, object]] = []

    async def start_workflow(self, _run: Any, arg: object, *, id: str, **_kwargs: Any) -> object:
        self.started.append((id, arg))
        return object()


async def test_a_submission_starts_its_workflow_as_the_sweep_would(tmp_path: Path) -> None:
    """The submission starts the workflow with the place and rules it checked (nothing read
    again while Temporal works): the very input a later start of the stored case builds, but
    for the first pre-check, which the submission made and recorded (#22) and a later start
    leaves to the workflow's assessment (it finds the entry and adds none)."""
    async with scenario_at(shanghai(2026, 3, 2, 9, 0), tmp_path) as sc:
        submitting, resuming = TemporalRecording(), TemporalRecording()
        async with sc.system.sessions()() as session:
            submitted = await submit_application(
                session,
                submitting,  # type: ignore[arg-type]
                sc.system.settings,
                ApplicationIn.model_validate({**application(WEIFANG), "policy_id": None}),
                actor=None,
            )
        async with sc.system.sessions()() as session:
            case = await session.get(Case, submitted.case_id)
            assert case is not None
            await start_identification(session, resuming, sc.system.settings, case)  # type: ignore[arg-type]
        [(wid, first)], [(again_id, again)] = submitting.started, resuming.started
        assert isinstance(first, IdentificationInput) and isinstance(again, IdentificationInput)
        assert wid == again_id == submitted.workflow_id
        assert first.pre_check is not None and again.pre_check is None
        assert dataclasses.replace(first, pre_check=None) == again
        # What the submission told the workflow is what it recorded on the timeline.
        async with sc.system.sessions()() as session:
            entries = (
                await session.scalars(
                    select(CaseEvent).where(
                        CaseEvent.case_id == case.id, CaseEvent.kind == "pre_check"
                    )
                )
            ).all()
        assert [e.summary for e in entries] == [first.pre_check.summary_zh]
