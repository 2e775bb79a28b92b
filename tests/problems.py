"""The one check of an RFC 9457 answer the API tests share: status, content type and the
stable ``type`` slug; returns the body for further checks."""

from __future__ import annotations

from typing import Any

import httpx


def problem(r: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["type"] == f"/problems/{slug}", body
    return body
