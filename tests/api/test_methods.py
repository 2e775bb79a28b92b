"""The contract, not the order of the routes, decides what a path accepts: a method the OpenAPI
document does not list for the most literal matching path gets 405 with Allow, even where a
templated sibling (``/admin/jurisdictions/{code}``) would otherwise swallow the path."""

from __future__ import annotations

import pytest

from tests.system import System


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/api/v1/admin/jurisdictions/import", "POST"),
        ("GET", "/api/v1/notifications/read-all", "POST"),
        ("DELETE", "/api/v1/tasks/next", "POST"),
        ("PATCH", "/api/v1/tasks", "GET"),
    ],
)
async def test_undocumented_method_is_405_with_allow(
    system: System, method: str, path: str, allow: str
) -> None:
    region = await system.make_region()
    r = await system.http.request(method, path, headers=region.headers["admin"])
    assert r.status_code == 405, r.text
    assert r.headers["allow"] == allow
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/method-not-allowed"


async def test_templated_path_still_serves_its_own_methods(system: System) -> None:
    region = await system.make_region()
    code = region.codes["county_a"]
    r = await system.http.get(
        f"/api/v1/admin/jurisdictions/{code}", headers=region.headers["admin"]
    )
    assert r.status_code == 200, r.text
