"""The outbound adapter's settings API on SQLite and PostgreSQL: administrators read, only an
administrator of the root jurisdiction changes or tests; the password is write-only (never
echoed, never in the audit log); every change is audited; invalid input gives field errors;
the test message goes through a local SMTP sink (the one of tests/activities) and a relay's
failure is 502 ``outbound-failed``, never a 500.

The setting is one row for the whole database: the fixture sets it aside for each test and
puts it back afterwards, so the worker of the shared system never mails through a test's
sink."""

from __future__ import annotations

import itertools
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.header import decode_header, make_header
from typing import Any

import pytest
from sqlalchemy import delete, select

from store import repos
from store.models import AppSetting, AuditEntry
from store.outbound_settings import SMTP_SETTING
from tests.activities.test_outbound import SmtpSink
from tests.problems import problem
from tests.system import System

URL = "/api/v1/admin/outbound"
SECRET = "s3cret-relay-pw"
_admins = itertools.count(1)


@pytest.fixture
async def no_setting(system: System) -> AsyncIterator[None]:
    """Start without the setting; restore whatever was there afterwards."""
    async with system.sessions()() as session, session.begin():
        row = await session.get(AppSetting, SMTP_SETTING)
        saved = (row.value, row.updated_at, row.updated_by) if row else None
        await session.execute(delete(AppSetting).where(AppSetting.key == SMTP_SETTING))
    yield
    async with system.sessions()() as session, session.begin():
        await session.execute(delete(AppSetting).where(AppSetting.key == SMTP_SETTING))
        if saved is not None:
            value, at, by = saved
            session.add(AppSetting(key=SMTP_SETTING, value=value, updated_at=at, updated_by=by))


async def root_admin(system: System) -> tuple[int, dict[str, str]]:
    """A fresh administrator at the root of the tree (全国 000000)."""
    async with system.sessions()() as session, session.begin():
        root = await repos.get_jurisdiction(session, "000000")
        assert root is not None
        user = await repos.add_user(
            session,
            username=f"root_admin_{next(_admins)}",
            display_name="全国管理员",
            password_hash="!",
            role="admin",
            jurisdiction=root,
            now=datetime.now(UTC),
        )
    return user.id, system.headers_for(user.id)


def settings(**overrides: Any) -> dict[str, Any]:
    return {
        "enabled": True,
        "host": "smtp.rsj.example.cn",
        "port": 587,
        "sender": "yuanzhu@rsj.example.cn",
        "tls": "starttls",
        "username": "yuanzhu",
        **overrides,
    }


async def audit_entries(system: System, actor_id: int, action: str) -> list[AuditEntry]:
    async with system.sessions()() as session:
        rows = await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.actor_id == actor_id, AuditEntry.action == action)
            .order_by(AuditEntry.id)
        )
        return list(rows.all())


@pytest.mark.usefixtures("no_setting")
async def test_administrators_only_and_root_to_change(system: System) -> None:
    region = await system.make_region()
    _, root = await root_admin(system)
    for who in ("officer", "reviewer", "supervisor"):
        r = await system.http.get(URL, headers=region.headers[who])
        problem(r, 403, "actor-not-allowed")
        r = await system.http.put(URL, headers=region.headers[who], json=settings())
        problem(r, 403, "actor-not-allowed")
    problem(await system.http.get(URL), 401, "unauthorized")

    # A city's administrator reads the installation's relay but may not change or test it.
    r = await system.http.get(URL, headers=region.headers["admin"])
    assert r.status_code == 200, r.text
    assert r.json()["configured"] is False and r.json()["can_change"] is False
    r = await system.http.put(URL, headers=region.headers["admin"], json=settings())
    problem(r, 403, "actor-not-allowed")
    r = await system.http.post(
        f"{URL}/test", headers=region.headers["admin_b"], json={"to": "a@example.cn"}
    )
    problem(r, 403, "actor-not-allowed")

    r = await system.http.get(URL, headers=root)
    assert r.status_code == 200 and r.json()["can_change"] is True
    r = await system.http.put(URL, headers=root, json=settings())
    assert r.status_code == 200, r.text
    r = await system.http.get(URL, headers=region.headers["admin"])
    assert r.json()["configured"] is True and r.json()["host"] == "smtp.rsj.example.cn"


@pytest.mark.usefixtures("no_setting")
async def test_password_is_write_only_and_changes_are_audited(system: System) -> None:
    admin_id, root = await root_admin(system)
    r = await system.http.put(URL, headers=root, json=settings(password=SECRET))
    assert r.status_code == 200, r.text
    body = r.json()
    assert SECRET not in r.text and "password" not in body
    assert body["password_set"] is True and body["tls"] == "starttls" and body["port"] == 587
    assert body["updated_by"].startswith("root_admin_") and body["updated_at"] is not None

    r = await system.http.get(URL, headers=root)
    assert SECRET not in r.text and r.json()["password_set"] is True

    # Omitted: kept. Empty: removed.
    r = await system.http.put(URL, headers=root, json=settings(enabled=False))
    assert r.json()["password_set"] is True and r.json()["enabled"] is False
    r = await system.http.put(URL, headers=root, json=settings(password=""))
    assert r.json()["password_set"] is False

    entries = await audit_entries(system, admin_id, "outbound.update")
    assert [e.detail["password"] for e in entries if e.detail] == ["set", "unchanged", "cleared"]
    for e in entries:
        assert e.object_type == "setting" and e.object_id == SMTP_SETTING
        assert SECRET not in json.dumps(e.detail, ensure_ascii=False)
    first = entries[0].detail
    assert first is not None and first["before"] is None
    assert first["after"]["host"] == "smtp.rsj.example.cn" and first["after"]["password_set"]
    second = entries[1].detail
    assert second is not None and second["before"]["enabled"] is True
    assert second["after"]["enabled"] is False


@pytest.mark.usefixtures("no_setting")
async def test_invalid_input_gives_field_errors(system: System) -> None:
    _, root = await root_admin(system)
    r = await system.http.put(
        URL,
        headers=root,
        json=settings(host="bad host!", port=0, sender="nobody", tls="ssl3"),
    )
    body = problem(r, 422, "validation-error")
    assert {e["field"] for e in body["errors"]} == {"host", "port", "sender", "tls"}
    r = await system.http.put(URL, headers=root, json=settings(host="", port=70000))
    body = problem(r, 422, "validation-error")
    assert {e["field"] for e in body["errors"]} == {"host", "port"}
    r = await system.http.put(URL, headers=root, json=settings(username=None, password="pw"))
    body = problem(r, 422, "validation-error")
    assert [e["field"] for e in body["errors"]] == ["username"]
    # Shapes pydantic refuses.
    for bad in (
        {"host": "smtp.example.cn", "sender": "a@example.cn"},  # enabled missing
        settings(port="many"),
        settings(host="h" * 300),
        settings(password="p" * 300),
        settings(sender="a@example.cn\r\nBcc: x@example.cn"),
    ):
        body = problem(await system.http.put(URL, headers=root, json=bad), 422, "validation-error")
        assert body["errors"] and all(e["field"] for e in body["errors"])
    r = await system.http.put(
        URL, headers=root | {"Content-Type": "application/json"}, content=b"{not json"
    )
    assert r.status_code in (400, 422) and r.headers["content-type"].startswith(
        "application/problem+json"
    ), r.text
    # Nothing was stored; switching off without a host is allowed.
    assert (await system.http.get(URL, headers=root)).json()["configured"] is False
    r = await system.http.put(URL, headers=root, json={"enabled": False, "sender": "a@example.cn"})
    assert r.status_code == 200, r.text
    assert r.json()["host"] == "" and r.json()["tls"] == "none"


@pytest.mark.usefixtures("no_setting")
async def test_test_message_goes_through_the_relay(system: System) -> None:
    admin_id, root = await root_admin(system)
    r = await system.http.post(f"{URL}/test", headers=root, json={"to": "wang@example.cn"})
    problem(r, 409, "outbound-not-configured")
    async with SmtpSink() as sink:
        # Switched off: a test message still goes, so a relay can be tried before enabling.
        config = settings(enabled=False, host="127.0.0.1", port=sink.port, tls="none")
        config["username"] = None
        assert (await system.http.put(URL, headers=root, json=config)).status_code == 200
        r = await system.http.post(f"{URL}/test", headers=root, json={"to": "wang@example.cn"})
        assert r.status_code == 200, r.text
        assert r.json() == {
            "sent": True,
            "to": "wang@example.cn",
            "host": "127.0.0.1",
            "port": sink.port,
        }
        [message] = sink.messages
        assert message["To"] == "wang@example.cn"
        assert message["From"] == "yuanzhu@rsj.example.cn"
        assert "测试" in str(make_header(decode_header(message["Subject"])))
        r = await system.http.post(f"{URL}/test", headers=root, json={"to": "not an address"})
        body = problem(r, 422, "validation-error")
        assert [e["field"] for e in body["errors"]] == ["to"]
        assert len(sink.messages) == 1
    [entry] = await audit_entries(system, admin_id, "outbound.test")
    assert entry.detail is not None and entry.detail["to"] == "wang@example.cn"


@pytest.mark.usefixtures("no_setting")
async def test_relay_failures_are_502(system: System) -> None:
    _, root = await root_admin(system)
    # A port nobody listens on: the connection is refused.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    config = settings(host="127.0.0.1", port=closed_port, tls="none", username=None)
    assert (await system.http.put(URL, headers=root, json=config)).status_code == 200
    r = await system.http.post(f"{URL}/test", headers=root, json={"to": "wang@example.cn"})
    body = problem(r, 502, "outbound-failed")
    assert f"127.0.0.1:{closed_port}" in body["detail"]

    # A relay that speaks SMTP but refuses the login (the sink offers no AUTH).
    async with SmtpSink() as sink:
        config = settings(host="127.0.0.1", port=sink.port, tls="none", password=SECRET)
        assert (await system.http.put(URL, headers=root, json=config)).status_code == 200
        r = await system.http.post(f"{URL}/test", headers=root, json={"to": "wang@example.cn"})
        body = problem(r, 502, "outbound-failed")
        assert "AUTH" in body["detail"] and SECRET not in r.text
        assert sink.messages == []
