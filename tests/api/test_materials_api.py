"""A case's materials as files through the API, on SQLite and PostgreSQL: an officer hands in a
phone photo and a PDF for evidence items of the case's pinned pack, lists them, opens the file
and the preview, judges them 合格 / 不合格 (with the reason); each view and act is audited.
Bad input each gets a precise refusal and stores nothing: a Word file renamed .jpg, a 50 MB
scan, a PDF with JavaScript, an unknown evidence code, a case the caller may not see, a case
that is closed, a supervisor's upload, more files than an item may hold."""

from __future__ import annotations

import io
import itertools
from datetime import UTC, datetime
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from store.files import LocalFileStore, file_store
from store.models import AuditEntry, Case
from store.models_materials import CaseMaterial
from tests.factories import pinned_ref
from tests.materials_support import docx_renamed, jpeg, pdf, png, unrenderable_pdf
from tests.problems import problem
from tests.system import Region, System

_cases = itertools.count(1)


async def make_case(
    system: System, region: Region, place: str = "street_a1", status: str = "accepted"
) -> str:
    case_id = f"MT-{region.n}-{next(_cases)}"
    now = datetime.now(UTC)
    async with system.sessions()() as session, session.begin():
        session.add(
            Case(
                id=case_id,
                workflow_id=f"no-workflow-{case_id}",
                policy_pack_id="weifang-2023",
                policy_pack_ref=await pinned_ref(session),
                jurisdiction_code=region.codes[place],
                jurisdiction_path=region.paths[place],
                applicant_name="刘芳",
                id_number="370702198106150025",
                id_last4="0025",
                facts={},
                channel="counter",
                status=status,
                submitted_at=now,
                closed_at=now if status == "withdrawn" else None,
                updated_at=now,
            )
        )
    return case_id


async def upload(
    system: System,
    region: Region,
    case_id: str,
    data: bytes,
    name: str = "身份证.jpg",
    code: str = "id_card",
    user: str = "officer",
    **fields: str,
) -> Any:
    return await system.http.post(
        f"/api/v1/cases/{case_id}/materials",
        headers=region.headers[user],
        data={"evidence_code": code, **fields},
        files={"file": (name, data, "application/octet-stream")},
    )


async def rows_of(system: System, case_id: str) -> int:
    async with system.sessions()() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(CaseMaterial)
                .where(CaseMaterial.case_id == case_id)
            )
            or 0
        )


async def audit_actions(system: System, case_id: str) -> list[str]:
    async with system.sessions()() as session:
        rows = await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.object_type == "case", AuditEntry.object_id == case_id)
            .order_by(AuditEntry.seq)
        )
        return list(rows)


def stored_files(system: System) -> set[str]:
    store = file_store(system.settings)
    assert isinstance(store, LocalFileStore)
    return {p.name for p in store.root.rglob("*") if p.is_file()}


async def test_hand_in_list_open_and_judge(system: System) -> None:
    region = await system.make_region()
    case_id = await make_case(system, region)
    r = await upload(system, region, case_id, jpeg(800, 400, orientation=6), source="counter")
    assert r.status_code == 201, r.text
    photo = r.json()
    assert photo["created"] is True and photo["evidence_code"] == "id_card"
    assert photo["evidence_name"].startswith("居民身份证")
    assert (photo["media_type"], photo["source"], photo["judgement"]) == (
        "image/jpeg",
        "counter",
        None,
    )
    assert r.headers["location"] == f"/api/v1/cases/{case_id}/materials/{photo['id']}"

    # The same bytes again (a retry): the material already held, nothing added.
    again = await upload(system, region, case_id, jpeg(800, 400, orientation=6))
    assert again.status_code == 200 and again.json()["id"] == photo["id"]
    assert again.json()["created"] is False

    scan = pdf(streams=(b"BT (hukou) Tj ET",), compress=True)
    r = await upload(
        system, region, case_id, scan, "户口簿.PDF", "household_register_or_residence_permit"
    )
    assert r.status_code == 201, r.text
    paper = r.json()
    assert paper["size_bytes"] == len(scan)
    # A PDF's preview is its first page, rendered when it was handed in.
    assert paper["preview_url"] == f"/api/v1/cases/{case_id}/materials/{paper['id']}/preview"

    listed = await system.http.get(
        f"/api/v1/cases/{case_id}/materials", headers=region.headers["reviewer"]
    )
    assert listed.status_code == 200
    assert [m["id"] for m in listed.json()["items"]] == [photo["id"], paper["id"]]

    # The file as kept: upright (400 wide, 800 high, as the EXIF said), served as a JPEG.
    f = await system.http.get(photo["file_url"], headers=region.headers["reviewer"])
    assert f.status_code == 200 and f.headers["content-type"] == "image/jpeg"
    assert f.headers["x-content-type-options"] == "nosniff"
    assert f.headers["content-disposition"].startswith("inline;")
    assert Image.open(io.BytesIO(f.content)).size == (400, 800)
    p = await system.http.get(photo["preview_url"], headers=region.headers["reviewer"])
    assert p.status_code == 200 and max(Image.open(io.BytesIO(p.content)).size) <= 480
    d = await system.http.get(paper["file_url"], headers=region.headers["officer"])
    assert d.content == scan and d.headers["content-type"] == "application/pdf"
    assert "sandbox" not in d.headers["content-security-policy"]  # browsers would not show it
    assert "sandbox" in f.headers["content-security-policy"]
    page = await system.http.get(paper["preview_url"], headers=region.headers["officer"])
    assert page.status_code == 200 and page.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(page.content)).size == (371, 480)  # a letter page
    # A PDF that PDFium cannot render is kept all the same, without a preview.
    r = await upload(system, region, case_id, unrenderable_pdf(), "残疾证.pdf", "id_card")
    assert r.status_code == 201, r.text
    broken = r.json()
    assert broken["preview_url"] is None
    none = await system.http.get(
        f"/api/v1/cases/{case_id}/materials/{broken['id']}/preview",
        headers=region.headers["officer"],
    )
    problem(none, 404, "no-preview")

    judged = await system.http.post(
        f"/api/v1/cases/{case_id}/materials/{paper['id']}/judgement",
        headers=region.headers["reviewer"],
        json={"verdict": "rejected", "reason": "户口簿首页缺少户主页"},
    )
    assert judged.status_code == 200, judged.text
    assert judged.json()["judgement"] == "rejected"
    assert judged.json()["judgement_reason"] == "户口簿首页缺少户主页"
    assert judged.json()["judged_by"] == region.users["reviewer"]
    no_reason = await system.http.post(
        f"/api/v1/cases/{case_id}/materials/{photo['id']}/judgement",
        headers=region.headers["officer"],
        json={"verdict": "rejected", "reason": "  "},
    )
    problem(no_reason, 422, "validation-error")
    ok = await system.http.post(
        f"/api/v1/cases/{case_id}/materials/{photo['id']}/judgement",
        headers=region.headers["officer"],
        json={"verdict": "accepted"},
    )
    assert ok.json()["judgement"] == "accepted" and ok.json()["judgement_reason"] is None

    assert await audit_actions(system, case_id) == [
        "upload_material",
        "upload_material",
        "view_material_file",
        "view_material_preview",
        "view_material_file",
        "view_material_preview",
        "upload_material",
        "judge_material",
        "judge_material",
    ]


@pytest.mark.parametrize(
    ("name", "data", "status", "slug", "words"),
    [
        ("身份证.jpg", docx_renamed(), 415, "unsupported-file-type", "不是 JPEG、PNG 或 PDF"),
        (
            "证明.pdf",
            pdf("/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"),
            422,
            "pdf-active-content",
            "活动内容",
        ),
        ("坏.png", png()[:50], 422, "unreadable-file", "无法读取"),
        ("空.pdf", b"", 422, "empty-file", "空文件"),
    ],
)
async def test_a_refused_file_stores_nothing(
    system: System, name: str, data: bytes, status: int, slug: str, words: str | None
) -> None:
    region = await system.make_region()
    case_id = await make_case(system, region)
    before = stored_files(system)
    r = await upload(system, region, case_id, data, name)
    body = problem(r, status, slug)
    assert isinstance(body["errors"], list) and all(isinstance(e, dict) for e in body["errors"])
    if words:
        assert name in body["detail"] and words in body["detail_zh"]
        assert body["errors"][0]["field"] == "file"
    assert await rows_of(system, case_id) == 0
    assert stored_files(system) == before
    assert await audit_actions(system, case_id) == []


async def test_a_store_that_cannot_take_the_file_is_503_and_keeps_nothing(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store away (a read-only disk here) is passing, not the caller's fault: 503 with
    Retry-After and the words to send it again; no row names bytes that are not there."""
    region = await system.make_region()
    case_id = await make_case(system, region)

    def read_only(self: LocalFileStore, digest: str, data: bytes) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(LocalFileStore, "_put", read_only)
    r = await upload(system, region, case_id, jpeg())
    body = problem(r, 503, "file-store-unavailable")
    assert r.headers["Retry-After"] and "nothing was stored" in body["detail"]
    assert body["correlation_id"]
    assert await rows_of(system, case_id) == 0
    assert await audit_actions(system, case_id) == []


async def test_a_50_mb_scan_is_refused_before_it_is_read(system: System) -> None:
    region = await system.make_region()
    case_id = await make_case(system, region)
    before = stored_files(system)
    r = await upload(system, region, case_id, b"\xff\xd8\xff" + b"\x00" * (50 * 1024 * 1024))
    body = problem(r, 413, "file-too-large")
    assert "10 MB" in body["detail_zh"] and "above the limit of 10 MB" in body["detail"]
    assert await rows_of(system, case_id) == 0 and stored_files(system) == before


async def test_an_unknown_evidence_code_is_422(system: System) -> None:
    region = await system.make_region()
    case_id = await make_case(system, region)
    r = await upload(system, region, case_id, jpeg(), code="passport")
    body = problem(r, 422, "unknown-evidence-code")
    assert "'passport'" in body["detail"] and "id_card" in body["detail"]
    assert body["errors"][0]["field"] == "evidence_code"
    missing = await system.http.post(
        f"/api/v1/cases/{case_id}/materials",
        headers=region.headers["officer"],
        files={"file": ("a.jpg", jpeg(), "image/jpeg")},
    )
    problem(missing, 422, "validation-error")
    assert await rows_of(system, case_id) == 0


async def test_a_case_outside_is_not_found_and_a_closed_one_takes_nothing(
    system: System,
) -> None:
    region = await system.make_region()
    beside = await make_case(system, region, "street_a2")
    r = await upload(system, region, beside, jpeg())
    problem(r, 404, "not-found")
    closed = await make_case(system, region, status="withdrawn")
    r = await upload(system, region, closed, jpeg())
    body = problem(r, 409, "case-closed")
    assert "no material can be added" in body["detail"] and "不能再补充材料" in body["detail_zh"]
    assert await rows_of(system, beside) == 0 and await rows_of(system, closed) == 0


async def test_a_supervisor_sees_but_does_not_hand_in_or_judge(system: System) -> None:
    region = await system.make_region()
    case_id = await make_case(system, region)
    r = await upload(system, region, case_id, jpeg(), user="supervisor")
    problem(r, 403, "actor-not-allowed")
    material = (await upload(system, region, case_id, jpeg())).json()
    listed = await system.http.get(
        f"/api/v1/cases/{case_id}/materials", headers=region.headers["supervisor"]
    )
    assert [m["id"] for m in listed.json()["items"]] == [material["id"]]
    judged = await system.http.post(
        f"/api/v1/cases/{case_id}/materials/{material['id']}/judgement",
        headers=region.headers["supervisor"],
        json={"verdict": "accepted"},
    )
    problem(judged, 403, "actor-not-allowed")


async def test_a_file_of_another_case_is_not_found(system: System) -> None:
    region = await system.make_region()
    one, other = await make_case(system, region), await make_case(system, region)
    material = (await upload(system, region, one, jpeg())).json()
    r = await system.http.get(
        f"/api/v1/cases/{other}/materials/{material['id']}/file",
        headers=region.headers["officer"],
    )
    problem(r, 404, "not-found")


async def test_an_item_holds_at_most_its_limit(system: System) -> None:
    region = await system.make_region()
    case_id = await make_case(system, region)
    limit = system.settings.material_max_files_per_item
    for n in range(limit):
        r = await upload(system, region, case_id, jpeg(100 + n, 100))
        assert r.status_code == 201, r.text
    r = await upload(system, region, case_id, jpeg(300, 100))
    body = problem(r, 409, "too-many-files")
    assert f"{limit} 个的上限" in body["detail_zh"]
    assert await rows_of(system, case_id) == limit


async def test_materials_are_never_deleted(system: System) -> None:
    region = await system.make_region()
    case_id = await make_case(system, region)
    assert (await upload(system, region, case_id, jpeg())).status_code == 201
    async with system.sessions()() as session:
        with pytest.raises(Exception, match="kept with their case"):
            async with session.begin():
                row = await session.scalar(
                    select(CaseMaterial).where(CaseMaterial.case_id == case_id)
                )
                await session.delete(row)
    assert await rows_of(system, case_id) == 1


async def test_a_missing_file_is_never_served(system: System) -> None:
    region = await system.make_region()
    case_id = await make_case(system, region)
    data = pdf("/Lang (missing)")
    material = (await upload(system, region, case_id, data, "a.pdf")).json()
    store = file_store(system.settings)
    assert isinstance(store, LocalFileStore)
    path = store.path_of(material["sha256"])
    path.chmod(0o644)
    path.write_bytes(b"%PDF-1.7 something else")
    r = await system.http.get(material["file_url"], headers=region.headers["officer"])
    body = problem(r, 500, "material-file-unavailable")
    assert body["correlation_id"] and "restore it from the backup" in body["detail"]
    path.unlink()
    r = await system.http.get(material["file_url"], headers=region.headers["officer"])
    problem(r, 500, "material-file-unavailable")


async def test_a_visit_photo_is_an_officer_s_image_with_the_time_it_was_taken(
    system: System,
) -> None:
    """``visit_photo`` is in no pack's catalogue yet every case takes it (#24 item 4): from an
    officer's own hand, an image only, with its EXIF time kept; sent again, the same row."""
    region = await system.make_region()
    case_id = await make_case(system, region)
    photo = jpeg(taken="2026:12:05 14:30:00", colour=(20, 120, 200))
    r = await upload(system, region, case_id, photo, name="门口.jpg", code="visit_photo")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["source"], body["evidence_name"]) == ("officer", "走访现场照片")
    assert body["taken_at"] == "2026-12-05T06:30:00Z"
    again = await upload(system, region, case_id, photo, name="门口.jpg", code="visit_photo")
    assert (again.status_code, again.json()["id"]) == (200, body["id"])
    # Not handed in at the counter for the applicant, and never a PDF.
    r = await upload(system, region, case_id, photo, code="visit_photo", source="counter")
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "visit_photo_source"
    r = await upload(system, region, case_id, pdf(), name="记录.pdf", code="visit_photo")
    problem(r, 415, "unsupported-file-type")
    assert await rows_of(system, case_id) == 1
    # A scan has no time taken.
    r = await upload(system, region, case_id, png(), name="身份证.png")
    assert r.status_code == 201 and r.json()["taken_at"] is None
