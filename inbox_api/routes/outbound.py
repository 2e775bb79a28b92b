"""The outbound adapter's settings (SMTP relay for e-mailed notifications), for administrators.

There is one relay for the whole installation, so: every administrator may read the setting;
only an administrator of the root jurisdiction (the top of the tree, 全国 ``000000``) may change
it or send a test message through it — other administrators get 403 ``actor-not-allowed``.
Other roles get 403 on every route.

The password is write-only: it is never returned (``password_set`` says whether one is stored)
and never written to the audit log. Validation, storage and the audit entry are
:func:`activities.outbound.save_smtp_config`, the code behind `yuanzhu outbound smtp` too."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from activities import outbound as adapter
from inbox_api.deps import Actor, AdminActor, SessionDep
from inbox_api.errors import Problem
from inbox_api.services.reference import is_root
from store.audit import record_audit
from store.models import AppSetting

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/admin/outbound", tags=["administration"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
ROOT_ONLY: dict[int | str, dict[str, Any]] = {
    403: {
        "description": "Not an administrator, or (to change) not one of the root jurisdiction",
        **PROBLEM,
    }
}
TLS_SCHEMA: JsonDict = {"enum": list(adapter.TLS_MODES)}


class OutboundSettingsOut(BaseModel):
    configured: bool = Field(description="Whether a setting has ever been stored")
    enabled: bool = Field(description="Whether notifications are e-mailed")
    host: str
    port: int
    sender: str = Field(description="The From address")
    tls: str = Field(json_schema_extra=TLS_SCHEMA, description="none | starttls | tls")
    username: str | None
    password_set: bool = Field(description="Whether a password is stored (it is never shown)")
    updated_at: datetime | None
    updated_by: str | None
    can_change: bool = Field(description="Whether you may change it (root administrators)")


class OutboundSettingsIn(BaseModel):
    """The whole setting (PUT replaces it). Checked by the same rules as the CLI: a host name
    or IP address (required when enabled), port 1..65535, an ASCII sender address, a TLS mode.
    """

    enabled: bool
    host: str = Field(default="", max_length=adapter.MAX_HOST, description="Relay host or IP")
    port: int = Field(
        default=25,
        # Documented here, checked by the shared rules (smtp_config_errors) like the CLI's.
        json_schema_extra={"minimum": 1, "maximum": 65535},
        description="1..65535 (25, 587 with starttls, 465 with tls)",
    )
    sender: str = Field(max_length=adapter.MAX_ADDRESS, description="From address")
    tls: str = Field(default="none", json_schema_extra=TLS_SCHEMA, description="TLS mode")
    username: str | None = Field(
        default=None, max_length=adapter.MAX_USERNAME, description="Login, if the relay needs one"
    )
    password: str | None = Field(
        default=None,
        max_length=adapter.MAX_PASSWORD,
        json_schema_extra={"writeOnly": True, "format": "password"},
        description='Write-only. Omitted or null: keep the stored one; "": remove it; '
        "otherwise: the new password",
    )


class OutboundTestIn(BaseModel):
    to: str = Field(max_length=adapter.MAX_ADDRESS, description="Where to send the test message")


class OutboundTestOut(BaseModel):
    sent: bool
    to: str
    host: str
    port: int


def _is_root_admin(actor: Actor) -> bool:
    return actor.role == "admin" and is_root(actor)


def _require_root(actor: Actor) -> None:
    if not _is_root_admin(actor):
        raise Problem(
            403,
            "actor-not-allowed",
            "Not allowed",
            "the outbound relay serves the whole installation: only an administrator of the "
            "root jurisdiction may change or test it",
        )


async def _settings_out(session: SessionDep, actor: Actor) -> OutboundSettingsOut:
    row = await session.get(AppSetting, adapter.SMTP_SETTING)
    config = adapter.SmtpConfig.from_json(row.value) if row else adapter.SmtpConfig(False, "")
    public = config.public()
    return OutboundSettingsOut(
        configured=row is not None,
        **public,
        updated_at=row.updated_at if row else None,
        updated_by=row.updated_by if row else None,
        can_change=_is_root_admin(actor),
    )


@router.get(
    "",
    response_model=OutboundSettingsOut,
    summary="The outbound adapter's settings",
    responses={403: {"description": "Administrators only", **PROBLEM}},
)
async def get_outbound(session: SessionDep, actor: AdminActor) -> OutboundSettingsOut:
    """The SMTP relay setting (any administrator). The password is never returned."""
    return await _settings_out(session, actor)


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
    _require_root(actor)
    config = adapter.SmtpConfig(
        enabled=body.enabled,
        host=body.host.strip(),
        port=body.port,
        sender=body.sender.strip(),
        tls=body.tls,
        username=body.username or None,
        password=body.password or None,
    )
    try:
        await adapter.save_smtp_config(
            session,
            config,
            by=actor.username,
            now=datetime.now(UTC),
            actor_id=actor.id,
            keep_password=body.password is None,
        )
    except adapter.InvalidSmtpConfig as exc:
        raise Problem(
            422,
            "validation-error",
            "Invalid request",
            str(exc),
            errors=[e.as_dict() for e in exc.errors],
        ) from None
    await session.flush()
    return await _settings_out(session, actor)


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
    _require_root(actor)
    to = body.to.strip()
    if (message := adapter.address_error(to)) is not None:
        error = adapter.FieldError("to", message)
        raise Problem(
            422, "validation-error", "Invalid request", f"to: {message}", errors=[error.as_dict()]
        )
    config = await adapter.smtp_config(session)
    if config is None or not config.host:
        raise Problem(
            409,
            "outbound-not-configured",
            "Outbound not configured",
            "no SMTP relay is configured; PUT /api/v1/admin/outbound first",
        )
    try:
        await adapter.send_test_message(config, to)
    except adapter.OutboundFailed as exc:
        log.warning("outbound test message to %s failed: %s", to, exc)
        raise Problem(
            502,
            "outbound-failed",
            "Outbound delivery failed",
            f"the test message could not be sent through {config.host}:{config.port}: {exc}",
        ) from None
    # Who used the relay to write to whom is worth keeping, like every administrative act.
    record_audit(
        session,
        now=datetime.now(UTC),
        actor_id=actor.id,
        action="outbound.test",
        object_type="setting",
        object_id=adapter.SMTP_SETTING,
        detail={"by": actor.username, "to": to, "host": config.host, "port": config.port},
    )
    return OutboundTestOut(sent=True, to=to, host=config.host, port=config.port)
