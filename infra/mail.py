"""Mail out through an SMTP relay: the relay's configuration and what a valid one is, the
mailer, and the test message an administrator sends before switching sending on. Used by the
outbound activity (activities/outbound.py), the API and the CLI; the setting itself is kept by
store/outbound_settings.py."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Protocol

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
