"""The outbound adapter's setting (SMTP relay for e-mailed notifications), for administrators.

There is one relay for the whole installation, so: every administrator may read the setting;
only an administrator of the root jurisdiction (the top of the tree, 全国 ``000000``) may change
it or send a test message through it — other administrators get 403 ``actor-not-allowed``.

The password is write-only: it is never returned (``password_set`` says whether one is stored)
and never written to the audit log. Validation, storage and the audit entry are
:func:`store.outbound_settings.save_smtp_config`, the code behind `yuanzhu outbound smtp` too."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from application.actor import Actor
from application.errors import Problem
from application.schemas.outbound import (
    OutboundSettingsIn,
    OutboundSettingsOut,
    OutboundTestIn,
    OutboundTestOut,
)
from application.services.reference import is_root
from infra import mail
from store import outbound_settings
from store.audit import record_audit
from store.models import AppSetting

log = logging.getLogger(__name__)


def may_change(actor: Actor) -> bool:
    return actor.role == "admin" and is_root(actor)


def _require_root(actor: Actor) -> None:
    if not may_change(actor):
        raise Problem(
            403,
            "actor-not-allowed",
            "Not allowed",
            "the outbound relay serves the whole installation: only an administrator of the "
            "root jurisdiction may change or test it",
        )


async def setting(session: AsyncSession, actor: Actor) -> OutboundSettingsOut:
    """The stored setting as an administrator may see it (never the password)."""
    row = await session.get(AppSetting, outbound_settings.SMTP_SETTING)
    config = mail.SmtpConfig.from_json(row.value) if row else mail.SmtpConfig(False, "")
    return OutboundSettingsOut(
        configured=row is not None,
        **config.public(),
        updated_at=row.updated_at if row else None,
        updated_by=row.updated_by if row else None,
        can_change=may_change(actor),
    )


async def change(
    session: AsyncSession, actor: Actor, body: OutboundSettingsIn
) -> OutboundSettingsOut:
    """Replace the setting (root administrators); the change is audited (before and after,
    without the password)."""
    _require_root(actor)
    config = mail.SmtpConfig(
        enabled=body.enabled,
        host=body.host.strip(),
        port=body.port,
        sender=body.sender.strip(),
        tls=body.tls,
        username=body.username or None,
        password=body.password or None,
    )
    try:
        await outbound_settings.save_smtp_config(
            session,
            config,
            by=actor.username,
            now=datetime.now(UTC),
            actor_id=actor.id,
            keep_password=body.password is None,
        )
    except mail.InvalidSmtpConfig as exc:
        raise Problem(
            422,
            "validation-error",
            "Invalid request",
            str(exc),
            errors=[e.as_dict() for e in exc.errors],
        ) from None
    await session.flush()
    return await setting(session, actor)


async def send_test(session: AsyncSession, actor: Actor, body: OutboundTestIn) -> OutboundTestOut:
    """One test message to ``body.to`` through the stored relay (root administrators; also
    while sending is switched off, to try a relay before enabling it). A refusal or an
    unreachable relay is 502 ``outbound-failed`` with the SMTP error."""
    _require_root(actor)
    to = body.to.strip()
    if (message := mail.address_error(to)) is not None:
        error = mail.FieldError("to", message)
        raise Problem(
            422, "validation-error", "Invalid request", f"to: {message}", errors=[error.as_dict()]
        )
    config = await outbound_settings.smtp_config(session)
    if config is None or not config.host:
        raise Problem(
            409,
            "outbound-not-configured",
            "Outbound not configured",
            "no SMTP relay is configured; PUT /api/v1/admin/outbound first",
        )
    try:
        await mail.send_test_message(config, to)
    except mail.OutboundFailed as exc:
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
        object_id=outbound_settings.SMTP_SETTING,
        detail={"by": actor.username, "to": to, "host": config.host, "port": config.port},
    )
    return OutboundTestOut(sent=True, to=to, host=config.host, port=config.port)
