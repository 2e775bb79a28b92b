"""The outbound adapter: notifications leave the system by e-mail (SMTP) when an administrator
switches it on (`yuanzhu outbound smtp ... --enable`; setting ``outbound.smtp`` in
``app_settings``). In-app notifications are always written; sending is best effort and
at most once per notification and recipient list (``sent_out_at``), so a retried activity never
mails twice. The SMTP password, if the relay needs one, comes from ``YUANZHU_SMTP_PASSWORD``
and is never stored in the database.
"""

from __future__ import annotations

import asyncio
import logging
import os
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.models import AppSetting, Notification, User
from store.repos import path_range

log = logging.getLogger(__name__)

SMTP_SETTING = "outbound.smtp"


@dataclass(frozen=True)
class SmtpConfig:
    enabled: bool
    host: str
    port: int = 25
    sender: str = "yuanzhu@localhost"
    starttls: bool = False
    username: str | None = None

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> SmtpConfig:
        return cls(
            enabled=bool(value.get("enabled")),
            host=str(value.get("host", "")),
            port=int(value.get("port", 25)),
            sender=str(value.get("sender", "yuanzhu@localhost")),
            starttls=bool(value.get("starttls", False)),
            username=value.get("username") or None,
        )


class Mailer(Protocol):
    async def send(self, to: Sequence[str], subject: str, body: str) -> None: ...


class SmtpMailer:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def _send(self, to: Sequence[str], subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.config.sender
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message.set_content(body)
        with smtplib.SMTP(self.config.host, self.config.port, timeout=10) as smtp:
            if self.config.starttls:
                smtp.starttls()
            if self.config.username:
                smtp.login(self.config.username, os.environ.get("YUANZHU_SMTP_PASSWORD", ""))
            smtp.send_message(message)

    async def send(self, to: Sequence[str], subject: str, body: str) -> None:
        await asyncio.to_thread(self._send, to, subject, body)


async def smtp_config(session: AsyncSession) -> SmtpConfig | None:
    row = await session.get(AppSetting, SMTP_SETTING)
    return SmtpConfig.from_json(row.value) if row is not None else None


async def save_smtp_config(
    session: AsyncSession, config: SmtpConfig, *, by: str, now: datetime
) -> None:
    value = {
        "enabled": config.enabled,
        "host": config.host,
        "port": config.port,
        "sender": config.sender,
        "starttls": config.starttls,
        "username": config.username,
    }
    row = await session.get(AppSetting, SMTP_SETTING)
    if row is None:
        session.add(AppSetting(key=SMTP_SETTING, value=value, updated_at=now, updated_by=by))
    else:
        row.value, row.updated_at, row.updated_by = value, now, by


async def recipients_of(session: AsyncSession, n: Notification) -> list[str]:
    """E-mail addresses of a notification's recipients: one user, or every active user of the
    group (role) whose jurisdiction contains the group's place."""
    if n.user_id is not None:
        user = await session.get(User, n.user_id)
        return [user.email] if user is not None and user.active and user.email else []
    if n.recipient_role is None or n.recipient_path is None:
        return []
    users = await session.scalars(
        select(User).where(User.role == n.recipient_role, User.active.is_(True))
    )
    return sorted(
        u.email
        for u in users
        if u.email
        and path_range(u.jurisdiction_path)[0] <= n.recipient_path
        and n.recipient_path < path_range(u.jurisdiction_path)[1]
    )


class OutboundDelivery:
    """Sends the notifications written by an activity through the configured adapter."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        mailer_for: Any = SmtpMailer,
    ) -> None:
        self.sessions = sessions
        self.mailer_for = mailer_for

    async def deliver(self, keys: Sequence[str]) -> int:
        """Send the not-yet-sent notifications with these keys; returns how many were sent.
        Failures are logged, not raised: the in-app notification stands either way."""
        if not keys:
            return 0
        sent = 0
        async with self.sessions() as session, session.begin():
            config = await smtp_config(session)
            if config is None or not config.enabled or not config.host:
                return 0
            mailer: Mailer = self.mailer_for(config)
            rows = await session.scalars(
                select(Notification).where(
                    Notification.notification_key.in_(list(keys)),
                    Notification.sent_out_at.is_(None),
                )
            )
            for n in rows:
                to = await recipients_of(session, n)
                if not to:
                    continue
                try:
                    await mailer.send(to, f"【援助】{n.message}", _body(n))
                except (OSError, smtplib.SMTPException) as exc:
                    log.warning("outbound mail for %s failed: %s", n.notification_key, exc)
                    continue
                n.sent_out_at = datetime.now(UTC)
                sent += 1
        return sent


def _body(n: Notification) -> str:
    lines = [n.message, ""]
    if n.case_id:
        lines.append(f"案件编号：{n.case_id}")
    if n.task_id:
        lines.append(f"待办：{n.task_id}")
    lines.append("请登录援助系统处理。")
    return "\n".join(lines)
