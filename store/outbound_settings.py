"""The outbound mail setting (``outbound.smtp`` in ``app_settings``): read it, and validate,
store and audit a change of it (the password only as set, changed or cleared). The one home of
the setting for the API, the pages and `yuanzhu outbound smtp`."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from infra.mail import InvalidSmtpConfig, SmtpConfig, smtp_config_errors
from store.audit import record_audit
from store.models import AppSetting

SMTP_SETTING = "outbound.smtp"


async def smtp_config(session: AsyncSession) -> SmtpConfig | None:
    row = await session.get(AppSetting, SMTP_SETTING)
    return SmtpConfig.from_json(row.value) if row is not None else None


async def save_smtp_config(
    session: AsyncSession,
    config: SmtpConfig,
    *,
    by: str,
    now: datetime,
    actor_id: int | None = None,
    keep_password: bool = False,
) -> SmtpConfig:
    """Validate and store the setting, and write the change to the audit log (before and
    after, without the password: only whether it was set, changed or cleared). With
    ``keep_password`` the stored password stays whatever ``config.password`` says. Raises
    :class:`InvalidSmtpConfig`; returns what was stored."""
    row = await session.get(AppSetting, SMTP_SETTING)
    before = SmtpConfig.from_json(row.value) if row is not None else None
    if keep_password:
        config = replace(config, password=before.password if before else None)
    errors = smtp_config_errors(config)
    if errors:
        raise InvalidSmtpConfig(errors)
    if row is None:
        session.add(
            AppSetting(key=SMTP_SETTING, value=config.stored(), updated_at=now, updated_by=by)
        )
    else:
        row.value, row.updated_at, row.updated_by = config.stored(), now, by
    old_password = before.password if before else None
    if keep_password or old_password == config.password:
        password = "unchanged"
    else:
        password = "set" if config.password else "cleared"
    record_audit(
        session,
        now=now,
        actor_id=actor_id,
        action="outbound.update",
        object_type="setting",
        object_id=SMTP_SETTING,
        detail={
            "by": by,
            "before": before.public() if before else None,
            "after": config.public(),
            "password": password,
        },
    )
    return config
