"""The outbound adapter: notifications leave the system by e-mail (SMTP) when an administrator
switches it on (``PUT /api/v1/admin/outbound`` or `yuanzhu outbound smtp ... --enable`; setting
``outbound.smtp`` in ``app_settings``). In-app notifications are always written; sending is
best effort and at most once per notification and recipient list (``sent_out_at``), so a
retried activity never mails twice.

This module is also the one home of the setting itself — what a valid configuration is
(:func:`smtp_config_errors`), how it is stored and audited (:func:`save_smtp_config`) and the
test message (:func:`send_test_message`) — shared by the API and the CLI.

The SMTP password, when the relay needs one, is write-only: an administrator sets it through
the API (or ``yuanzhu outbound smtp --password-stdin``); it is kept in the setting's row,
never shown, never written to the audit log; without one the adapter falls back to
``YUANZHU_SMTP_PASSWORD`` in the worker's environment.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import re
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.audit import record_audit
from store.models import AppSetting, Notification, User
from store.repos import path_range

log = logging.getLogger(__name__)

SMTP_SETTING = "outbound.smtp"
# none: plain SMTP (a relay on the local network); starttls: upgrade on the submission port
# (587); tls: implicit TLS from the first byte (SMTPS, 465).
TLS_MODES = ("none", "starttls", "tls")
SMTP_TIMEOUT_SECONDS = 10

MAX_HOST = 253
MAX_ADDRESS = 254
MAX_USERNAME = 200
MAX_PASSWORD = 200

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
# An addr-spec in ASCII (RFC 5321 without quoted local parts): what every relay accepts.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class SmtpConfig:
    """The outbound adapter's setting. ``password`` never leaves the server (see
    :meth:`public`)."""

    enabled: bool
    host: str
    port: int = 25
    sender: str = "yuanzhu@localhost"
    tls: str = "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def starttls(self) -> bool:
        return self.tls == "starttls"

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> SmtpConfig:
        tls = value.get("tls")
        if tls not in TLS_MODES:
            # Settings written before TLS modes had a STARTTLS switch only.
            tls = "starttls" if value.get("starttls") else "none"
        return cls(
            enabled=bool(value.get("enabled")),
            host=str(value.get("host", "")),
            port=int(value.get("port", 25)),
            sender=str(value.get("sender", "yuanzhu@localhost")),
            tls=str(tls),
            username=value.get("username") or None,
            password=value.get("password") or None,
        )

    def public(self) -> dict[str, Any]:
        """Everything but the password: what may be shown, printed and audited."""
        shown = self.stored()
        shown["password_set"] = bool(shown.pop("password"))
        return shown

    def stored(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "host": self.host,
            "port": self.port,
            "sender": self.sender,
            "tls": self.tls,
            "username": self.username,
            "password": self.password,
        }


@dataclass(frozen=True)
class FieldError:
    """One invalid field, in the shape of the API's validation errors."""

    field: str
    message: str
    code: str = "value_error"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "code": self.code}


class InvalidSmtpConfig(ValueError):
    """The configuration was refused; ``errors`` says which fields and why."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = list(errors)


def address_error(value: str) -> str | None:
    """Why ``value`` is not an e-mail address the relay will take (None when it is)."""
    if not value:
        return "an e-mail address is required"
    if len(value) > MAX_ADDRESS:
        return f"at most {MAX_ADDRESS} characters"
    if _ADDRESS.fullmatch(value) is None:
        return "not an e-mail address (name@example.cn, ASCII only)"
    return None


def host_error(value: str) -> str | None:
    """Why ``value`` is not a host name or IP address (None when it is)."""
    if len(value) > MAX_HOST:
        return f"at most {MAX_HOST} characters"
    try:
        ipaddress.ip_address(value)
        return None
    except ValueError:
        pass
    if _HOSTNAME.fullmatch(value) is None:
        return "not a host name or IP address"
    return None


def smtp_config_errors(config: SmtpConfig) -> list[FieldError]:
    """Everything wrong with a configuration (empty when it may be stored). A host is needed
    only when sending is switched on, so an administrator can switch off an unset adapter."""
    errors: list[FieldError] = []
    if not config.host:
        if config.enabled:
            errors.append(FieldError("host", "a host is required when sending is enabled"))
    elif (msg := host_error(config.host)) is not None:
        errors.append(FieldError("host", msg))
    if not 1 <= config.port <= 65535:
        errors.append(FieldError("port", "a port between 1 and 65535"))
    if (msg := address_error(config.sender)) is not None:
        errors.append(FieldError("sender", msg))
    if config.tls not in TLS_MODES:
        errors.append(FieldError("tls", f"one of: {', '.join(TLS_MODES)}"))
    if config.username is not None and (
        len(config.username) > MAX_USERNAME or _CONTROL.search(config.username)
    ):
        errors.append(
            FieldError("username", f"at most {MAX_USERNAME} characters, no control characters")
        )
    if config.password is not None and (
        len(config.password) > MAX_PASSWORD or _CONTROL.search(config.password)
    ):
        errors.append(
            FieldError("password", f"at most {MAX_PASSWORD} characters, no control characters")
        )
    if config.password and not config.username:
        errors.append(FieldError("username", "a password needs a username"))
    return errors


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
        smtp: smtplib.SMTP
        if self.config.tls == "tls":
            smtp = smtplib.SMTP_SSL(
                self.config.host,
                self.config.port,
                timeout=SMTP_TIMEOUT_SECONDS,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(self.config.host, self.config.port, timeout=SMTP_TIMEOUT_SECONDS)
        with smtp:
            if self.config.tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if self.config.username:
                password = self.config.password or os.environ.get("YUANZHU_SMTP_PASSWORD", "")
                smtp.login(self.config.username, password)
            smtp.send_message(message)

    async def send(self, to: Sequence[str], subject: str, body: str) -> None:
        await asyncio.to_thread(self._send, to, subject, body)


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


class OutboundFailed(Exception):
    """The relay refused or could not be reached; the message is the SMTP error."""


async def send_test_message(config: SmtpConfig, to: str, mailer_for: Any = SmtpMailer) -> None:
    """Send one test message through the adapter (whether or not sending is switched on, so
    an administrator can try a relay before enabling it). Raises :class:`OutboundFailed`."""
    mailer: Mailer = mailer_for(config)
    try:
        await mailer.send(
            [to],
            "【援助】测试邮件",
            "这是援助系统发出的测试邮件：外发通知（SMTP）配置可用。\n无需回复。",
        )
    except smtplib.SMTPResponseException as exc:
        text = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        raise OutboundFailed(f"the relay answered {exc.smtp_code} {text}") from exc
    except (OSError, smtplib.SMTPException, UnicodeError, ValueError) as exc:
        # OSError covers refused connections, timeouts and TLS failures (ssl.SSLError).
        raise OutboundFailed(f"{type(exc).__name__}: {exc}") from exc


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
