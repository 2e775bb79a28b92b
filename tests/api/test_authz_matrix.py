"""The authorization matrix: every API operation × role × where the object lies relative to
the caller (inside their subtree, in a sibling subtree, at their parent), on both databases.

- An operation on one object (a task, case, notice, notification, saved filter, user or place
  in the path) answers 404 for an object in a sibling subtree or above the caller — exactly as
  for an object that does not exist — and never 404 for one inside.
- A list, search or aggregate never shows an object from outside the caller's subtree: every
  object placed outside carries a marker (a unique applicant name, display name or message)
  that must not appear anywhere in the response; positive controls show the inside marker does
  appear where the operation lists such objects.
- Role-only operations (administration, supervision) answer 403 for other roles.
- Without a token every operation but the public ones answers 401.

``OPERATIONS`` must name every operation in the OpenAPI document: a new endpoint fails
:func:`test_every_operation_is_in_the_matrix` until it is placed here."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from application.security import hash_password
from store import repos
from store.files import file_store
from store.models import Case, Notice, Notification
from store.models_enrolment import Emergency
from store.models_inbox import SavedFilter
from store.models_materials import CaseMaterial
from tests.api.test_households_api import make_household
from tests.factories import pinned_ref
from tests.materials_support import jpeg
from tests.system import Region, System

ALL = frozenset({"grassroots_officer", "county_reviewer", "supervisor", "admin"})
SUPERVISION = frozenset({"supervisor", "admin"})
ADMIN = frozenset({"admin"})
ENROL = frozenset({"grassroots_officer", "county_reviewer", "admin"})
# Who hands in and judges materials (application/services/materials.py HANDLING_ROLES).
HANDLING = ENROL
PUBLIC = frozenset(
    {"/healthz", "/api/v1/auth/token", "/api/v1/applications", "/api/v1/applications/questions"}
)

_markers = itertools.count(1)


# --- the world each test builds ---------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """A region user and the places that are inside, beside and above their jurisdiction.
    ``sibling`` may lie in the second region (a city has no sibling inside one region)."""

    user: str
    role: str
    inside: str
    sibling: tuple[int, str]  # (region index, place)
    parent: str


ACTORS = (
    Actor("officer", "grassroots_officer", "street_a1", (0, "street_a2"), "county_a"),
    Actor("reviewer", "county_reviewer", "street_a1", (0, "street_b1"), "city"),
    Actor("supervisor_b", "supervisor", "street_b1", (0, "street_a1"), "city"),
    Actor("supervisor", "supervisor", "street_a1", (1, "street_a1"), "province"),
    Actor("admin_b", "admin", "street_b1", (0, "street_a1"), "city"),
    Actor("admin", "admin", "street_a1", (1, "street_a1"), "province"),
)


@dataclass
class World:
    system: System
    regions: list[Region]
    objects: dict[tuple[str, int, str, str], str] = field(default_factory=dict)

    def headers(self, actor: Actor) -> dict[str, str]:
        return self.regions[0].headers[actor.user]

    def assignee(self, actor: Actor) -> int:
        """A grassroots officer inside the actor's subtree (a valid target of a reassignment,
        so that only the task's place decides the answer)."""
        return self.regions[0].users["officer_b" if actor.inside == "street_b1" else "officer"]

    def place(self, actor: Actor, where: str) -> tuple[int, str]:
        if where == "inside":
            return 0, actor.inside
        if where == "sibling":
            return actor.sibling
        return 0, actor.parent


def marker() -> str:
    return f"泄露标记{next(_markers):05d}"


async def make_case(world: World, region: int, place: str, name: str) -> str:
    r = world.regions[region]
    case_id = f"AZ-{r.n}-{next(_markers)}"
    now = datetime.now(UTC)
    async with world.system.sessions()() as session, session.begin():
        session.add(
            Case(
                id=case_id,
                workflow_id=f"no-workflow-{case_id}",
                policy_pack_id="test-pack",
                policy_pack_ref=await pinned_ref(session),
                jurisdiction_code=r.codes[place],
                jurisdiction_path=r.paths[place],
                applicant_name=name,
                id_number="110101199003070000",
                id_last4="0000",
                facts={},
                channel="test",
                status="accepted",
                submitted_at=now,
                updated_at=now,
            )
        )
    return case_id


async def make_task(world: World, region: int, place: str, role: str, name: str) -> str:
    [task_id] = await world.system.insert_tasks(
        world.regions[region], [{"place": place, "role": role, "name": name}]
    )
    return task_id


async def make_notice(world: World, region: int, place: str, name: str) -> tuple[str, int]:
    case_id = await make_case(world, region, place, name)
    async with world.system.sessions()() as session, session.begin():
        notice = Notice(
            notice_key=f"authz:{case_id}",
            case_id=case_id,
            kind="missing_materials",
            title=f"一次性告知书 {name}",
            body={"missing": [], "applicant": name},
            issued_at=datetime.now(UTC),
        )
        session.add(notice)
        await session.flush()
        return case_id, notice.id


async def make_notification(world: World, region: int, place: str, role: str, text: str) -> int:
    r = world.regions[region]
    async with world.system.sessions()() as session, session.begin():
        n = Notification(
            notification_key=f"authz:{text}",
            recipient_role=role,
            recipient_path=r.paths[place],
            kind="reminder",
            message=text,
            created_at=datetime.now(UTC),
        )
        session.add(n)
        await session.flush()
        return n.id


@functools.cache
def password_hash() -> str:
    # Argon2 costs about 0.3 s a hash on a 2-core machine, by design; the matrix makes hundreds
    # of users who never log in, so they share one hash.
    return hash_password("authz-password-1")


async def make_user(world: World, region: int, place: str, role: str, name: str) -> int:
    r = world.regions[region]
    async with world.system.sessions()() as session, session.begin():
        j = await repos.get_jurisdiction(session, r.codes[place])
        assert j is not None
        user = await repos.add_user(
            session,
            username=f"authz{next(_markers)}",
            display_name=name,
            password_hash=password_hash(),
            role=role,
            jurisdiction=j,
            now=datetime.now(UTC),
        )
        return user.id


async def make_filter(world: World, region: int, place: str, role: str, name: str) -> int:
    """A saved filter of someone at ``place``, shared with their group there."""
    owner = await make_user(world, region, place, role, f"{name}的主人")
    async with world.system.sessions()() as session, session.begin():
        f = SavedFilter(
            owner_id=owner,
            name=name,
            query={"view": "scope"},
            shared_role=role,
            shared_path=world.regions[region].paths[place],
            created_at=datetime.now(UTC),
        )
        session.add(f)
        await session.flush()
        return f.id


# --- operations -------------------------------------------------------------------------------

Maker = Callable[[World, Actor, int, str, str], Awaitable[dict[str, Any]]]


async def task_params(w: World, a: Actor, region: int, place: str, name: str) -> dict[str, Any]:
    return {"task_id": await make_task(w, region, place, a.role, name)}


async def case_params(w: World, a: Actor, region: int, place: str, name: str) -> dict[str, Any]:
    return {"case_id": await make_case(w, region, place, name)}


async def material_params(w: World, a: Actor, region: int, place: str, name: str) -> dict[str, Any]:
    """A case at ``place`` holding one photo (its file and preview in the file store)."""
    case_id = await make_case(w, region, place, name)
    files = file_store(w.system.settings)
    photo = jpeg(120, 80)
    content, preview = await files.put(photo), await files.put(jpeg(60, 40))
    async with w.system.sessions()() as session, session.begin():
        row = CaseMaterial(
            case_id=case_id,
            evidence_code="id_card",
            content_hash=content,
            preview_hash=preview,
            file_name=f"{name}.jpg",
            media_type="image/jpeg",
            size_bytes=len(photo),
            source="counter",
            uploaded_by=None,
            uploaded_at=datetime.now(UTC),
        )
        session.add(row)
        await session.flush()
        return {"case_id": case_id, "material_id": row.id}


async def notice_params(w: World, a: Actor, region: int, place: str, name: str) -> dict[str, Any]:
    case_id, notice_id = await make_notice(w, region, place, name)
    return {"case_id": case_id, "notice_id": notice_id}


async def notification_params(
    w: World, a: Actor, region: int, place: str, name: str
) -> dict[str, Any]:
    return {"notification_id": await make_notification(w, region, place, a.role, name)}


async def filter_params(w: World, a: Actor, region: int, place: str, name: str) -> dict[str, Any]:
    return {"filter_id": await make_filter(w, region, place, a.role, name)}


async def user_params(w: World, a: Actor, region: int, place: str, name: str) -> dict[str, Any]:
    return {"user_id": await make_user(w, region, place, "grassroots_officer", name)}


async def place_params(w: World, a: Actor, region: int, place: str, name: str) -> dict[str, Any]:
    return {"code": w.regions[region].codes[place]}


async def verification_params(
    w: World, a: Actor, region: int, place: str, name: str
) -> dict[str, Any]:
    """A quarterly verification batch (定期审验) whose district is ``place``."""
    from tests.api.test_verification_api import make_batch

    batch_id, _ = await make_batch(w.system, w.regions[region], place, tasks={})
    return {"batch_id": batch_id}


async def household_params(
    w: World, a: Actor, region: int, place: str, name: str
) -> dict[str, Any]:
    """A zero-employment household (零就业家庭) at ``place`` headed by ``name`` (no workflow:
    recording employment inside answers 409, never 404)."""
    household_id, member_id = await make_household(w.system, w.regions[region], place, name)
    return {"household_id": household_id, "member_id": member_id}


async def emergency_params(
    w: World, a: Actor, region: int, place: str, name: str
) -> dict[str, Any]:
    """An emergency (突发事件) declared for ``place``."""
    r = w.regions[region]
    async with w.system.sessions()() as session, session.begin():
        e = Emergency(
            kind="disaster",
            name=name,
            description="",
            jurisdiction_code=r.codes[place],
            jurisdiction_path=r.paths[place],
            starts_on=date.today(),
            ends_on=date.today(),
            declared_by="authz",
            declared_at=datetime.now(UTC),
        )
        session.add(e)
        await session.flush()
        return {"emergency_id": e.id}


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    roles: frozenset[str] = ALL
    # For an operation on one object: how to make one at a place (its path parameters).
    obj: Maker | None = None
    body: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    # Operations that change installation-wide settings: only the role check is exercised.
    role_only: bool = False
    # Objects declared for a place cover everything below it (an emergency): one at the
    # caller's parent is theirs too, and only a sibling's is not found.
    covers_below: bool = False
    # A multipart body (form fields and files) instead of JSON (an upload).
    form: dict[str, Any] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None


OPERATIONS: tuple[Op, ...] = (
    # tasks
    Op("GET", "/api/v1/tasks", params={"view": "scope", "limit": 200}),
    Op("GET", "/api/v1/tasks/counts"),
    Op("GET", "/api/v1/tasks/handled"),
    Op("POST", "/api/v1/tasks/next"),
    Op("POST", "/api/v1/tasks/bulk/claim", body={"task_ids": ["{task_id}"]}, obj=task_params),
    Op(
        "POST",
        "/api/v1/tasks/bulk/reassign",
        SUPERVISION,
        obj=task_params,
        body={"task_ids": ["{task_id}"], "user_id": "{assignee}"},
    ),
    Op("GET", "/api/v1/tasks/{task_id}", obj=task_params),
    Op("POST", "/api/v1/tasks/{task_id}/claim", obj=task_params),
    Op("POST", "/api/v1/tasks/{task_id}/unclaim", obj=task_params),
    Op(
        "POST",
        "/api/v1/tasks/{task_id}/reassign",
        obj=task_params,
        body={"user_id": "{assignee}"},
    ),
    Op("POST", "/api/v1/tasks/{task_id}/return", obj=task_params),
    Op("GET", "/api/v1/tasks/{task_id}/comments", obj=task_params),
    Op("GET", "/api/v1/tasks/{task_id}/next", obj=task_params),
    Op("GET", "/api/v1/tasks/{task_id}/verifiable-facts", obj=task_params),
    Op("POST", "/api/v1/tasks/{task_id}/comments", obj=task_params, body={"body": "看一下"}),
    Op(
        "POST",
        "/api/v1/tasks/{task_id}/complete",
        obj=task_params,
        body={"outcome": "approve", "fields": {}},
    ),
    # saved filters
    Op("GET", "/api/v1/filters"),
    Op("POST", "/api/v1/filters", role_only=True),
    Op("DELETE", "/api/v1/filters/{filter_id}", obj=filter_params),
    # cases
    Op("POST", "/api/v1/applications", role_only=True),
    Op("GET", "/api/v1/cases", params={"limit": 100}),
    Op("GET", "/api/v1/cases/{case_id}", obj=case_params),
    Op("GET", "/api/v1/cases/{case_id}/notices/{notice_id}", obj=notice_params),
    Op(
        "POST",
        "/api/v1/cases/{case_id}/objections",
        obj=case_params,
        body={"content": "异议", "raised_by": "邻居"},
    ),
    Op(
        "POST",
        "/api/v1/cases/{case_id}/reexamination",
        obj=case_params,
        body={"content": "已补充材料，请求复核"},
    ),
    Op("POST", "/api/v1/cases/{case_id}/withdraw", obj=case_params, body={"reason": "已就业"}),
    # materials as files (证明材料)
    Op(
        "POST",
        "/api/v1/cases/{case_id}/materials",
        HANDLING,
        obj=case_params,
        form={"evidence_code": "id_card"},
        files={"file": ("身份证.jpg", jpeg(), "image/jpeg")},
    ),
    Op("GET", "/api/v1/cases/{case_id}/materials", obj=material_params),
    Op("GET", "/api/v1/cases/{case_id}/materials/{material_id}/file", obj=material_params),
    Op("GET", "/api/v1/cases/{case_id}/materials/{material_id}/preview", obj=material_params),
    Op(
        "POST",
        "/api/v1/cases/{case_id}/materials/{material_id}/judgement",
        HANDLING,
        obj=material_params,
        body={"verdict": "rejected", "reason": "照片模糊"},
    ),
    # assistance
    Op("GET", "/api/v1/cases/{case_id}/assistance", obj=case_params),
    Op(
        "POST",
        "/api/v1/cases/{case_id}/assistance/contacts",
        obj=case_params,
        body={"channel": "phone", "own": True},
    ),
    Op(
        "POST",
        "/api/v1/cases/{case_id}/assistance/services",
        obj=case_params,
        body={"kind": "career_guidance"},
    ),
    Op(
        "POST",
        "/api/v1/cases/{case_id}/assistance/refusals",
        obj=case_params,
        body={"service_kind": "training"},
    ),
    Op(
        "POST",
        "/api/v1/cases/{case_id}/assistance/subsidies",
        obj=case_params,
        body={
            "kind": "social_insurance",
            "start_month": "2026-01",
            "months": 3,
            "monthly_amount": "500.00",
        },
    ),
    Op(
        "POST",
        "/api/v1/cases/{case_id}/assistance/events",
        obj=case_params,
        body={"reason": "hired"},
    ),
    # quarterly verification (定期审验)
    Op("GET", "/api/v1/verification/batches"),
    Op("GET", "/api/v1/verification/batches/{batch_id}", obj=verification_params),
    # zero-employment households (零就业家庭)
    Op(
        "POST",
        "/api/v1/households",
        frozenset({"grassroots_officer", "county_reviewer", "admin"}),
        obj=place_params,
        body={
            "jurisdiction": "{code}",
            "members": [{"name": "某", "id_number": "11010519491231002X"}],
        },
    ),
    Op("GET", "/api/v1/households", params={"limit": 500}),
    Op("GET", "/api/v1/households/{household_id}", obj=household_params),
    Op(
        "POST",
        "/api/v1/households/{household_id}/employment",
        frozenset({"grassroots_officer", "county_reviewer", "admin"}),
        obj=household_params,
        body={"member_id": "{member_id}", "how": "other"},
    ),
    Op(
        "POST",
        "/api/v1/households/discovery",
        frozenset({"county_reviewer", "admin"}),
        obj=place_params,
        body={"jurisdiction": "{code}"},
    ),
    # supervision
    Op("GET", "/api/v1/supervision/cases", SUPERVISION, params={"which": "past_deadline"}),
    *(
        Op("GET", f"/api/v1/supervision/{name}", SUPERVISION)
        for name in (
            "headline",
            "overview",
            "aging",
            "workload",
            "escalations",
            "identification-deadlines",
            "breaches",
            "assistance",
            "households",
        )
    ),
    # notifications
    Op("GET", "/api/v1/notifications", params={"limit": 200}),
    Op("GET", "/api/v1/notifications/counts"),
    Op("POST", "/api/v1/notifications/read-all", body={}),
    Op("GET", "/api/v1/notifications/{notification_id}", obj=notification_params),
    Op("POST", "/api/v1/notifications/{notification_id}/read", obj=notification_params),
    Op("POST", "/api/v1/notifications/{notification_id}/unread", obj=notification_params),
    # own account
    Op("GET", "/api/v1/me"),
    Op("POST", "/api/v1/me/password", role_only=True),
    # ends the caller's own sessions: every role may, nobody without a token
    # (tests/security/test_sessions.py tests what it ends)
    Op("POST", "/api/v1/auth/logout", role_only=True),
    # administration of people and places
    Op("GET", "/api/v1/admin/users", ADMIN, params={"limit": 200}),
    Op("POST", "/api/v1/admin/users", ADMIN, role_only=True),
    Op("GET", "/api/v1/admin/users/{user_id}", ADMIN, obj=user_params),
    Op(
        "PATCH",
        "/api/v1/admin/users/{user_id}",
        ADMIN,
        obj=user_params,
        body={"display_name": "改名"},
    ),
    Op(
        "POST",
        "/api/v1/admin/users/{user_id}/password",
        ADMIN,
        obj=user_params,
        body={"password": "a-new-password-2026"},
    ),
    Op("GET", "/api/v1/admin/jurisdictions", ADMIN),
    Op("GET", "/api/v1/admin/jurisdictions/{code}", ADMIN, obj=place_params),
    Op("POST", "/api/v1/admin/jurisdictions/import", ADMIN, role_only=True),
    Op("POST", "/api/v1/admin/policy-packs", ADMIN, role_only=True),
    Op("GET", "/api/v1/admin/outbound", ADMIN, role_only=True),
    Op("PUT", "/api/v1/admin/outbound", ADMIN, role_only=True),
    Op("POST", "/api/v1/admin/outbound/test", ADMIN, role_only=True),
    # reference data
    Op("GET", "/api/v1/calendar/years"),
    Op("GET", "/api/v1/calendar/years/{year}", role_only=True),
    Op("PUT", "/api/v1/calendar/years/{year}", ADMIN, role_only=True),
    Op("GET", "/api/v1/calendar/working-days", role_only=True),
    Op("GET", "/api/v1/calendar/days/{day}", role_only=True),
    Op("GET", "/api/v1/department/imports"),
    # the assistance ledger (帮扶台账)
    Op("GET", "/api/v1/ledger", params={"format": "json"}),
    Op("GET", "/api/v1/ledger/imports"),
    Op(
        "POST",
        "/api/v1/ledger/imports",
        frozenset({"county_reviewer", "admin"}),
        role_only=True,
    ),
    Op("POST", "/api/v1/department/imports/{kind}", ADMIN, role_only=True),
    # Shandong's target groups: emergencies and enrolment (山东 二(二)–(四))
    Op("GET", "/api/v1/emergencies"),
    Op("POST", "/api/v1/emergencies", SUPERVISION, role_only=True),
    Op("GET", "/api/v1/emergencies/{emergency_id}", obj=emergency_params, covers_below=True),
    Op(
        "POST",
        "/api/v1/emergencies/{emergency_id}/enrolments",
        ENROL,
        obj=emergency_params,
        covers_below=True,
    ),
    Op("POST", "/api/v1/enrolments", ENROL, role_only=True),
    Op("GET", "/api/v1/policy-packs"),
    Op("GET", "/api/v1/policy-packs/diff", role_only=True),
    Op("GET", "/api/v1/policy-packs/{pack_id}", role_only=True),
    Op("GET", "/api/v1/policy-packs/{pack_id}/versions", role_only=True),
)

ROLE_ONLY_SAMPLES: dict[str, dict[str, Any]] = {
    "/api/v1/calendar/years/{year}": {"year": 2026},
    "/api/v1/calendar/days/{day}": {"day": "2026-10-01"},
    "/api/v1/department/imports/{kind}": {"kind": "employment"},
    "/api/v1/policy-packs/{pack_id}": {"pack_id": "jilin-2022"},
    "/api/v1/policy-packs/{pack_id}/versions": {"pack_id": "jilin-2022"},
}


def fill(template: Any, values: dict[str, Any]) -> Any:
    if isinstance(template, str):
        for key, value in values.items():
            if template == "{" + key + "}":
                return value
            template = template.replace("{" + key + "}", str(value))
        return template
    if isinstance(template, list):
        return [fill(t, values) for t in template]
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    return template


async def call(
    world: World, op: Op, headers: dict[str, str] | None, values: dict[str, Any]
) -> httpx.Response:
    if op.files is not None:
        return await world.system.http.request(
            op.method,
            fill(op.path, values),
            headers=headers or {},
            params=op.params,
            data=fill(op.form, values),
            files=op.files,
        )
    return await world.system.http.request(
        op.method,
        fill(op.path, values),
        headers=headers or {},
        params=op.params,
        json=fill(op.body, values) if op.body is not None else None,
    )


# --- tests --------------------------------------------------------------------------------------


def test_every_operation_is_in_the_matrix(system: System) -> None:
    app = system.http._transport.app  # type: ignore[attr-defined]
    documented = {
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if path not in PUBLIC or path == "/api/v1/applications"
    }
    assert documented == {(op.method, op.path) for op in OPERATIONS}


@pytest.fixture
async def world(system: System) -> World:
    return World(system, [await system.make_region(), await system.make_region()])


@pytest.mark.parametrize("op", [op for op in OPERATIONS if op.obj], ids=lambda op: op.path)
async def test_objects_outside_are_not_found(world: World, op: Op) -> None:
    assert op.obj is not None
    for actor in ACTORS:
        headers = world.headers(actor)
        for where in ("inside", "sibling", "parent"):
            region, place = world.place(actor, where)
            name = marker()
            values = await op.obj(world, actor, region, place, name)
            values["assignee"] = world.assignee(actor)
            r = await call(world, op, headers, values)
            who = f"{actor.user} ({actor.role}) on an object {where} ({place}): {r.text}"
            if actor.role not in op.roles:
                assert r.status_code in (403, 404), who
            elif where == "inside" or (where == "parent" and op.covers_below):
                assert r.status_code != 404, who
                # bulk operations answer per item
                assert "not_found" not in r.text, who
            elif op.path.startswith("/api/v1/tasks/bulk/"):
                assert r.status_code == 200, who
                assert [i["result"] for i in r.json()["results"]] == ["not_found"], who
            else:
                assert r.status_code == 404, who
                assert r.json()["type"] == "/problems/not-found", who
            assert name not in r.text or where == "inside" or op.covers_below, who


async def place_markers(world: World, actor: Actor) -> tuple[str, list[str]]:
    """One of each kind of object inside the actor's subtree, beside it and above it, named by
    markers: the inside marker and the outside ones (the web pages' matrix uses it too)."""
    outside: list[str] = []
    inside = marker()
    for where in ("inside", "sibling", "parent"):
        region, place = world.place(actor, where)
        name = inside if where == "inside" else marker()
        if where != "inside":
            outside.append(name)
        await make_case(world, region, place, name)
        await make_task(world, region, place, actor.role, name)
        await make_notification(world, region, place, actor.role, name)
        await make_user(world, region, place, actor.role, name)
        await make_filter(world, region, place, actor.role, name)
        if where != "parent":  # an emergency declared above covers the caller: theirs
            await emergency_params(world, actor, region, place, name)
        await make_household(world.system, world.regions[region], place, name)
    return inside, outside


@pytest.mark.parametrize(
    "op", [op for op in OPERATIONS if not op.obj and not op.role_only], ids=lambda op: op.path
)
async def test_lists_never_show_what_lies_outside(world: World, op: Op) -> None:
    for actor in ACTORS:
        inside, outside = await place_markers(world, actor)
        r = await call(world, op, world.headers(actor), {})
        who = f"{actor.user} ({actor.role}) {op.method} {op.path}"
        if actor.role not in op.roles:
            assert r.status_code == 403, f"{who}: {r.text}"
            continue
        assert r.status_code < 300, f"{who}: {r.text}"
        for name in outside:
            assert name not in r.text, f"{who} shows {name} from outside: {r.text[:2000]}"
        if op.path in POSITIVE_CONTROLS:
            assert inside in r.text, f"{who} does not show its own {inside}: {r.text[:2000]}"


# Lists that show the markers of objects inside (so the check above could fail).
POSITIVE_CONTROLS = frozenset(
    {
        "/api/v1/tasks",
        "/api/v1/cases",
        "/api/v1/notifications",
        "/api/v1/admin/users",
        "/api/v1/filters",
        "/api/v1/households",
    }
)


@pytest.mark.parametrize("op", [op for op in OPERATIONS if op.roles != ALL], ids=lambda op: op.path)
async def test_other_roles_are_refused(world: World, op: Op) -> None:
    values = {key: value for key, value in ROLE_ONLY_SAMPLES.get(op.path, {}).items()}
    if op.obj:
        values = await op.obj(world, ACTORS[0], 0, "street_a1", marker())
    values["assignee"] = world.assignee(ACTORS[0])
    for actor in ACTORS:
        if actor.role in op.roles:
            continue
        r = await call(world, op, world.headers(actor), values)
        assert r.status_code in (403, 404), f"{actor.user} {op.method} {op.path}: {r.text}"
        if not op.obj:
            assert r.status_code == 403, f"{actor.user} {op.method} {op.path}: {r.text}"


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: f"{op.method} {op.path}")
async def test_no_token_no_entry(world: World, op: Op) -> None:
    if op.path in PUBLIC:
        return
    values = dict(ROLE_ONLY_SAMPLES.get(op.path, {}))
    if op.obj:
        values = await op.obj(world, ACTORS[0], 0, "street_a1", marker())
    values["assignee"] = world.assignee(ACTORS[0])
    for headers in ({}, {"Authorization": "Bearer 1.9999999999.forged"}):
        r = await call(world, op, headers, values)
        assert r.status_code == 401, f"{op.method} {op.path}: {r.text}"
        assert r.json()["type"] == "/problems/unauthorized"
