"""The outbound adapter: an escalation is mailed to the supervisors of its jurisdiction when
an administrator switched SMTP on, exactly once however often the activity runs, and not at
all when switched off. A small SMTP sink on loopback receives the mail."""

from __future__ import annotations

import asyncio
import email
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from sqlalchemy import update
from temporalio.testing import ActivityEnvironment

from activities.inbox import InboxActivities
from domain.vocabulary import PlaceRef
from infra.mail import SmtpConfig
from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade
from store.models import Case, User
from store.outbound_settings import save_smtp_config
from tests.conftest import make_settings
from tests.factories import pinned_ref
from worker.demo import seed_demo
from workflows.contracts import SlaEventInput


class SmtpSink:
    """Just enough SMTP to receive messages (RFC 5321 happy path)."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 sink ESMTP\r\n")
        while line := await reader.readline():
            verb = line.decode(errors="replace").strip().upper()
            if verb.startswith(("EHLO", "HELO")):
                writer.write(b"250 sink\r\n")
            elif verb.startswith(("MAIL", "RCPT", "RSET", "NOOP")):
                writer.write(b"250 ok\r\n")
            elif verb == "DATA":
                writer.write(b"354 go ahead\r\n")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    data += await reader.readline()
                self.messages.append(email.message_from_bytes(data[: -len(b".\r\n")]))
                writer.write(b"250 queued\r\n")
            elif verb == "QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"502 not implemented\r\n")
            await writer.drain()
        writer.close()

    async def __aenter__(self) -> SmtpSink:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[object]:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'y.db'}", tmp_path)
    await asyncio.to_thread(upgrade, settings)
    engine = make_engine(settings.effective_database_url)
    factory = make_sessionmaker(engine)
    now = datetime.now(UTC)
    async with factory() as session, session.begin():
        await seed_demo(session)
        await session.execute(
            update(User).where(User.username == "jl_supervisor").values(email="sun@example.cn")
        )
        session.add(
            Case(
                id="YZ-OUT-1",
                workflow_id="identification-YZ-OUT-1",
                policy_pack_id="jilin-2022",
                policy_pack_ref=await pinned_ref(session, "jilin-2022"),
                jurisdiction_code="220102001",
                jurisdiction_path="/000000/220000/220100/220102/220102001/",
                applicant_name="刘芳",
                id_number="220102198006150000",
                id_last4="0000",
                facts={},
                channel="online",
                status="accepted",
                submitted_at=now,
                updated_at=now,
            )
        )
    yield factory
    await engine.dispose()


def breach(level: int = 1) -> SlaEventInput:
    return SlaEventInput(
        case_id="YZ-OUT-1",
        key=f"YZ-OUT-1/deadline/{level}",
        clock="identification_deadline",
        event="breached",
        at=datetime.now(UTC),
        level=level,
        place=PlaceRef("220100", "/000000/220000/220100/", "city", "长春市"),
    )


async def test_escalation_is_mailed_once_when_switched_on(sessions) -> None:  # type: ignore[no-untyped-def]
    async with SmtpSink() as sink:
        async with sessions() as session, session.begin():
            await save_smtp_config(
                session,
                SmtpConfig(True, "127.0.0.1", sink.port, "yuanzhu@rsj.example.cn"),
                by="test",
                now=datetime.now(UTC),
            )
        activities = InboxActivities(sessions)
        env = ActivityEnvironment()
        await env.run(activities.sla_event, breach())
        await env.run(activities.sla_event, breach())  # a retry: no second mail
        assert len(sink.messages) == 1
        message = sink.messages[0]
        assert message["To"] == "sun@example.cn"
        assert "督办" in str(make_header(decode_header(message["Subject"])))


async def test_nothing_is_mailed_when_switched_off(sessions) -> None:  # type: ignore[no-untyped-def]
    async with SmtpSink() as sink:
        async with sessions() as session, session.begin():
            await save_smtp_config(
                session,
                SmtpConfig(False, "127.0.0.1", sink.port, "yuanzhu@rsj.example.cn"),
                by="test",
                now=datetime.now(UTC),
            )
        await ActivityEnvironment().run(InboxActivities(sessions).sla_event, breach(2))
        assert sink.messages == []
