"""Applications (申请): POST /api/v1/applications starts a case; GET
/api/v1/applications/questions says what an application at a place asks (anonymous, like the
submission, so an integrator's form asks what the public form asks)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from application.http import OptionalActor, SessionDep, SettingsDep, TemporalDep, client_address
from application.rate_limits import anonymous_application
from application.schemas.applications import (
    ApplicationIn,
    ApplicationOut,
    ApplicationQuestionsOut,
    CategoryOut,
    ChoiceOut,
    QuestionOut,
)
from application.services.applications import questions_at, submit_application
from domain.facts import CHOICE_NAMES

router = APIRouter(prefix="/api/v1/applications", tags=["applications"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=100,
        pattern=r"^[\x21-\x7e]+$",
        description="Makes a retry safe: the same key with the same application is answered "
        "with the first answer (201, the same case); with another application 422 "
        "idempotency-key-reused.",
    ),
]


@router.post(
    "",
    status_code=201,
    response_model=ApplicationOut,
    responses={
        409: {
            "description": "application-not-accepted: the person may not apply now (an open "
            "case, a cooldown after an exit, an exit after which they may not apply again), "
            "one answer for all three that says where to go. Staff whose area holds the case "
            "are told which: duplicate-application (naming the case), "
            "reidentification-cooldown; 422 reapplication-forbidden"
        },
        422: {"description": "idempotency-key-reused, or the application is invalid"},
        429: {
            "description": "application-throttled: too many anonymous applications from "
            "this address or for this ID number (see Retry-After)"
        },
    },
)
async def create_application(
    body: ApplicationIn,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    actor: OptionalActor,
    response: Response,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> ApplicationOut:
    """Submit an application. Anonymous submissions are the online channel (网上申请); an
    officer's token makes it a window submission in the officer's area. Send an
    ``Idempotency-Key`` header to retry safely after a lost answer or a 503: a repeat of the
    key with the same application answers 201 with the case of the first. Anonymous
    submissions are rate-limited per client address and per ID number (429)."""
    async with anonymous_application(
        session,
        settings,
        client_address(request),
        body.facts.person.id_number,
        staff=actor is not None,
    ) as places:
        case = await submit_application(
            session,
            temporal,
            settings,
            body,
            actor=actor,
            idempotency_key=idempotency_key,
            window_places=places,
        )
    response.headers["Location"] = f"/api/v1/cases/{case.case_id}"
    return ApplicationOut(
        case_id=case.case_id,
        workflow_id=case.workflow_id,
        policy_pack_id=case.policy_pack_id,
        policy_pack_ref=case.policy_pack_ref,
        status=case.status,
    )


@router.get(
    "/questions",
    response_model=ApplicationQuestionsOut,
    responses={
        422: {
            "description": "validation-error: no application can be filed at the place "
            "(`jurisdiction_code`), or the category is not the place's pack's (`category`, "
            "with `categories`)"
        }
    },
)
async def application_questions(
    session: SessionDep,
    jurisdiction_code: Annotated[
        str, Query(max_length=12, description="Street/township, community or county code")
    ],
    category: Annotated[
        str | None, Query(max_length=60, description="The category applied for (申报类别)")
    ] = None,
) -> ApplicationQuestionsOut:
    """The stated facts the place's policy pack reads for the category: its base conditions
    (户籍, 劳动能力, 就业意愿, 失业登记), exclusions and the category's own facts, each once,
    with its type, choices and unit. Send the answers under ``facts`` at their ``path`` (a
    ``pack_fact`` in ``facts.pack_facts`` under its path)."""
    found = await questions_at(session, jurisdiction_code, category)
    return ApplicationQuestionsOut(
        jurisdiction_code=found.jurisdiction_code,
        policy_pack_id=found.pack.id,
        policy_pack_ref=found.pack.ref,
        category=found.category,
        categories=[
            CategoryOut(code=c.code, name=c.name, name_en=c.name_en) for c in found.pack.categories
        ],
        questions=[
            QuestionOut(
                path=q.path,
                type=q.type,
                label_zh=q.label_zh,
                label_en=q.label_en,
                group=q.group,
                rules=list(q.rules),
                choices=[
                    ChoiceOut(code=c, name_zh=CHOICE_NAMES[c][0], name_en=CHOICE_NAMES[c][1])
                    if c in CHOICE_NAMES
                    else ChoiceOut(code=c, name_zh=c, name_en=c)
                    for c in q.choices
                ],
                unit_zh=q.unit_zh,
                unit_en=q.unit_en,
                follows=q.follows,
                pack_fact=q.pack_fact,
            )
            for q in found.questions
        ],
    )
