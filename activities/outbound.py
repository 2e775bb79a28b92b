"""The outbound adapter: notifications leave the system by e-mail (SMTP) when an administrator
switches it on (``PUT /api/v1/admin/outbound`` or `yuanzhu outbound smtp ... --enable`; setting
``outbound.smtp`` in ``app_settings``). In-app notifications are always written; sending is
best effort and at most once per notification and recipient list (``sent_out_at``), so a
retried activity never mails twice.

The relay's configuration, its validation and the mailer are in infra/mail.py; the setting is
stored and audited by store/outbound_settings.py.

The SMTP password, when the relay needs one, is write-only: an administrator sets it through
the API (or ``yuanzhu outbound smtp --password-stdin``); it is kept in the setting's row,
never shown, never written to the audit log; without one the adapter falls back to
``YUANZHU_SMTP_PASSWORD`` in the worker's environment.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from infra.mail import Mailer, SmtpMailer
from store.models import Notification, User
from store.outbound_settings import smtp_config
from store.repos import path_range

log = logging.getLogger(__name__)


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
                select(Notification)
                .where(
                    Notification.notification_key.in_(list(keys)),
                    Notification.sent_out_at.is_(None),
                )
                # Two workers delivering the same keys at once (a retried activity whose first
                # attempt still runs elsewhere): the second skips rows the first holds, so a
                # mail goes out once. SQLite serialises writers and ignores the clause.
                .with_for_update(skip_locked=True)
            )
            for n in rows:
                to = await recipients_of(session, n)
                if not to:
                    continue
                try:
                    await mailer.send(to, f"【援助】{n.message}", _body(n))
                except (OSError, smtplib.SMTPException) as exc:
                    log.warning(
                        "outbound mail for %s failed: %s",
                        n.notification_key,
                        exc,
                        extra={"case_id": n.case_id, "task_id": n.task_id},
                    )
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
