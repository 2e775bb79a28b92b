"""The authorization matrix of the web pages (the API's is tests/api/test_authz_matrix.py, whose
world, actors and object makers this reuses): every GET page route × every role × where the
object lies (inside the user's subtree, in a sibling's, at their parent), on both databases.

- A visitor is sent to the login page (303 to ``/login?next=…``) from every page but the public
  ones, and sees nothing of anyone.
- A role a page is not for gets the 403 page.
- A page of one object (task, case, document, user, household, emergency, verification batch)
  answers 404 for an object outside the user's subtree, exactly as for a missing one, and
  never shows its marker; inside, it shows the page.
- A list or overview page never shows a marker of an object placed outside; positive controls
  show the inside marker does appear where the page lists such objects.

``PAGES`` must name every GET page of the app (read from ``app.routes``): a new page fails
:func:`test_every_page_is_in_the_matrix` until it is placed here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import update

from store.models import Case
from tests.api.test_authz_matrix import (
    ACTORS,
    ADMIN,
    ALL,
    ENROL,
    SUPERVISION,
    Maker,
    World,
    case_params,
    emergency_params,
    household_params,
    marker,
    notice_params,
    place_markers,
    task_params,
    user_params,
    verification_params,
)
from tests.factories import pinned_ref
from tests.reliability.report import tally
from tests.system import System

INBOX = frozenset({"grassroots_officer", "county_reviewer", "supervisor"})
NOT_PAGES = ("/api/", "/static", "/docs", "/redoc", "/openapi.json", "/metrics", "/healthz")


@dataclass(frozen=True)
class Page:
    path: str
    roles: frozenset[str] = ALL
    obj: Maker | None = None
    # Path parameters of a page that is about no place (a calendar year, a policy pack).
    sample: dict[str, Any] | None = None
    # Open to visitors (the login page, the public application form).
    public: bool = False
    # Objects declared for a place cover everything below it (an emergency).
    covers_below: bool = False
    # List pages that show the markers of objects inside (so the leak check could fail).
    lists_inside: bool = False


def real_pack(maker: Maker) -> Maker:
    """The matrix's cases name a test pack; the printable documents need a real one."""

    async def make(w: World, a: Any, region: int, place: str, name: str) -> dict[str, Any]:
        values = await maker(w, a, region, place, name)
        async with w.system.sessions()() as session, session.begin():
            await session.execute(
                update(Case)
                .where(Case.id == values["case_id"])
                .values(policy_pack_id="weifang-2023", policy_pack_ref=await pinned_ref(session))
            )
        return values

    return make


PAGES: tuple[Page, ...] = (
    Page("/", public=True),
    Page("/login", public=True),
    Page("/apply", public=True),
    Page("/apply/receipt/{case_id}", public=True, obj=case_params),
    # The online supplement: its form, and the missing items behind a link signed for a
    # browser that gave the notice's code (none here: 404).
    Page("/supplement", public=True),
    Page("/supplement/{case_id}", public=True, obj=case_params),
    Page("/inbox", INBOX, lists_inside=True),
    Page("/inbox/rows", INBOX, lists_inside=True),
    # What follows a completion (the banner alone) and the cases one handled (#21).
    Page("/inbox/feedback", INBOX),
    Page("/inbox/handled", INBOX),
    # Only a redirect to /inbox (the address a failed save left in the location bar).
    Page("/inbox/views", public=True),
    Page("/tasks/{task_id}", obj=task_params),
    Page("/cases", lists_inside=True),
    Page("/cases/{case_id}", obj=case_params),
    Page("/documents/cases/{case_id}/application", obj=real_pack(case_params)),
    Page("/documents/cases/{case_id}/notices/{notice_id}", obj=real_pack(notice_params)),
    # The publicity list of the caller's place (cases in publicity only: the matrix's are not).
    Page("/documents/publicity"),
    Page("/dashboard", SUPERVISION),
    Page("/dashboard/breaches", SUPERVISION),
    Page("/dashboard/cases", SUPERVISION),
    Page("/admin", ADMIN),
    Page("/admin/users", ADMIN, lists_inside=True),
    Page("/admin/users/new", ADMIN),
    Page("/admin/users/{user_id}", ADMIN, obj=user_params),
    Page("/admin/places", ADMIN),
    Page("/admin/calendar", ADMIN),
    Page("/admin/calendar/{year}", ADMIN, sample={"year": 2026}),
    Page("/admin/department", ADMIN),
    Page("/admin/packs", ADMIN),
    Page("/admin/packs/diff", ADMIN),
    Page("/admin/packs/{pack_id}", ADMIN, sample={"pack_id": "jilin-2022"}),
    Page("/admin/outbound", ADMIN),
    Page("/account"),
    Page("/ledger"),
    Page("/ledger/imports"),
    # A township officer sees no batch (a batch is the district's view): scope decides.
    Page("/verification"),
    Page("/verification/{batch_id}", obj=verification_params),
    Page("/emergencies", lists_inside=True),
    Page("/emergencies/{emergency_id}", obj=emergency_params, covers_below=True),
    Page("/enrol", ENROL),
    Page("/households", lists_inside=True),
    Page("/households/new", ENROL),
    Page("/households/{household_id}", obj=household_params),
)

# Query strings that make a list show what it can (the case search lists by name).
LIST_QUERY: dict[str, dict[str, str]] = {
    "/inbox": {"view": "scope"},
    "/inbox/rows": {"view": "scope"},
    "/cases": {"q": "泄露标记"},
    "/admin/users": {"q": "泄露标记"},
    "/admin/packs/diff": {"from": "jilin-2022", "to": "jilin-2022"},
}


def app_of(system: System) -> FastAPI:
    app: FastAPI = system.http._transport.app  # type: ignore[attr-defined]
    return app


def page_routes(app: FastAPI) -> set[str]:
    paths: set[str] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        path = context.path_format or route.path_format
        if path.startswith(NOT_PAGES):
            continue
        if "GET" in (context.methods or route.methods or ()):
            paths.add(path)
    return paths


def browser(world: World, user: str | None) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=world.system.http._transport, base_url="http://test")
    if user is not None:
        token = world.regions[0].headers[user]["Authorization"].removeprefix("Bearer ")
        client.cookies.set("yz_session", token)
    return client


def fill(path: str, values: dict[str, Any]) -> str:
    return path.format(**{k: v for k, v in values.items() if "{" + k + "}" in path})


@pytest.fixture
async def world(system: System) -> World:
    return World(system, [await system.make_region(), await system.make_region()])


def test_every_page_is_in_the_matrix(system: System) -> None:
    assert page_routes(app_of(system)) == {page.path for page in PAGES}


async def test_visitors_go_to_the_login_page(world: World) -> None:
    async with browser(world, None) as web:
        for page in PAGES:
            values = dict(page.sample or {})
            name = marker()
            if page.obj:
                values = await page.obj(world, ACTORS[0], 0, "street_a1", name)
            r = await web.get(fill(page.path, values))
            who = f"a visitor at {page.path}: {r.status_code}"
            assert name not in r.text, who
            if page.public and page.obj:  # the receipt needs the signature its applicant got
                assert r.status_code in (403, 404), who
            elif page.public:
                assert r.status_code in (200, 303), who
            else:
                assert r.status_code in (302, 303), who
                assert r.headers["location"].startswith("/login"), who


@pytest.mark.parametrize("page", [p for p in PAGES if p.obj and not p.public], ids=lambda p: p.path)
async def test_pages_of_objects_outside_are_not_found(world: World, page: Page) -> None:
    assert page.obj is not None
    for actor in ACTORS:
        async with browser(world, actor.user) as web:
            for where in ("inside", "sibling", "parent"):
                region, place = world.place(actor, where)
                name = marker()
                values = await page.obj(world, actor, region, place, name)
                r = await web.get(fill(page.path, values))
                who = f"{actor.user} ({actor.role}) at {page.path}, object {where}: {r.status_code}"
                mine = where == "inside" or (where == "parent" and page.covers_below)
                allowed = mine and actor.role in page.roles
                tally("security", "object pages requested (role × place × page)")
                tally(
                    "security",
                    "object pages showing what is not the user's (leaks)",
                    int(not allowed and name in r.text),
                )
                if actor.role not in page.roles:
                    assert r.status_code in (403, 404), who
                    assert name not in r.text, who
                elif mine:
                    assert r.status_code == 200, f"{who} {r.text[:500]}"
                else:
                    assert r.status_code == 404, who
                    assert name not in r.text, who


async def test_pages_of_a_role_refuse_other_roles(world: World) -> None:
    for page in PAGES:
        if page.roles == ALL or page.public:
            continue
        values = dict(page.sample or {})
        if page.obj:
            values = await page.obj(world, ACTORS[0], 0, "street_a1", marker())
        for actor in ACTORS:
            async with browser(world, actor.user) as web:
                r = await web.get(fill(page.path, values))
            who = f"{actor.user} ({actor.role}) at {page.path}: {r.status_code}"
            if actor.role in page.roles:
                assert r.status_code in (200, 303, 404), who
            else:
                # An object's page may refuse the role before looking the object up.
                assert r.status_code in ((403, 404) if page.obj else (403,)), who


async def test_list_pages_never_show_what_lies_outside(world: World) -> None:
    lists = [p for p in PAGES if not p.obj and not p.public]
    for actor in ACTORS:
        inside, outside = await place_markers(world, actor)
        async with browser(world, actor.user) as web:
            for page in lists:
                values = page.sample or {}
                r = await web.get(fill(page.path, values), params=LIST_QUERY.get(page.path))
                who = f"{actor.user} ({actor.role}) at {page.path}"
                if actor.role not in page.roles:
                    assert r.status_code == 403, f"{who}: {r.status_code}"
                else:
                    assert r.status_code in (200, 303), f"{who}: {r.status_code} {r.text[:300]}"
                tally("security", "list pages requested (role × page)")
                tally(
                    "security",
                    "list pages showing another place's data (leaks)",
                    sum(name in r.text for name in outside),
                )
                for name in outside:
                    assert name not in r.text, f"{who} shows {name} from outside"
                if page.lists_inside and actor.role in page.roles:
                    assert inside in r.text, f"{who} does not show its own {inside}"
