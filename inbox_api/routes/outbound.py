"""The outbound adapter's settings (SMTP relay for e-mailed notifications), for administrators.

There is one relay for the whole installation, so: every administrator may read the setting;
only an administrator of the root jurisdiction (the top of the tree, 全国 ``000000``) may change
it or send a test message through it — other administrators get 403 ``actor-not-allowed``.
Other roles get 403 on every route.

The password is write-only: it is never returned (``password_set`` says whether one is stored)
and never written to the audit log. Validation, storage and the audit entry are
:func:`store.outbound_settings.save_smtp_config`, the code behind `yuanzhu outbound smtp` too.
The rules are application/services/outbound.py's; these routes are their HTTP face."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from application.http import AdminActor, SessionDep
from application.schemas.outbound import (
    OutboundSettingsIn,
    OutboundSettingsOut,
    OutboundTestIn,
    OutboundTestOut,
)
from application.services import outbound

router = APIRouter(prefix="/api/v1/admin/outbound", tags=["administration"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
ROOT_ONLY: dict[int | str, dict[str, Any]] = {
    403: {
        "description": "Not an administrator, or (to change) not one of the root jurisdiction",
        **PROBLEM,
    }
}


@router.get(
    "",
    response_model=OutboundSettingsOut,
    summary="The outbound adapter's settings",
    responses={403: {"description": "Administrators only", **PROBLEM}},
)
async def get_outbound(session: SessionDep, actor: AdminActor) -> OutboundSettingsOut:
    """The SMTP relay setting (any administrator). The password is never returned."""
    return await outbound.setting(session, actor)


@router.put(
    "",
    response_model=OutboundSettingsOut,
    summary="Change the outbound adapter's settings",
    responses={
        **ROOT_ONLY,
        422: {"description": "Invalid fields (validation-error with errors)", **PROBLEM},
    },
)
async def put_outbound(
    body: OutboundSettingsIn, session: SessionDep, actor: AdminActor
) -> OutboundSettingsOut:
    """Replace the setting (root administrators). Stored with ``updated_by``; the change is
    written to the audit log (before and after, without the password)."""
    return await outbound.change(session, actor, body)


@router.post(
    "/test",
    response_model=OutboundTestOut,
    summary="Send a test message",
    responses={
        **ROOT_ONLY,
        409: {"description": "outbound-not-configured: no relay host stored", **PROBLEM},
        422: {"description": "Not an e-mail address", **PROBLEM},
        502: {"description": "outbound-failed: the relay's error", **PROBLEM},
    },
)
async def test_outbound(
    body: OutboundTestIn, session: SessionDep, actor: AdminActor
) -> OutboundTestOut:
    """Send one test message to ``to`` through the stored relay (root administrators; also
    while sending is switched off, to try a relay before enabling it). A refusal or an
    unreachable relay is 502 ``outbound-failed`` with the SMTP error."""
    return await outbound.send_test(session, actor, body)
