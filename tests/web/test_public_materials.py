"""Materials' files with the public application (#24 item 1): each evidence item of the place's
pack has a file input; a file handed in ticks its item and is kept with the case (source
``applicant``, no user) through the one materials service, checked as every upload is; a file
of the wrong type, too large or a PDF with active content is refused by name beside its input,
in Chinese (English on the English page), everything typed is kept, and nothing at all — no
case, no file, no row — is stored."""

from __future__ import annotations

import errno

import pytest
from sqlalchemy import func, select

from store.files import LocalFileStore, file_store
from store.models import AuditEntry, Case
from store.models_materials import CaseMaterial
from tests.factories import make_id
from tests.materials_support import docx_renamed, jpeg, pdf
from tests.system import System
from tests.web.test_public_form import JILIN_STREET, field_error, filled, open_form, visitor


def stored_files(system: System) -> set[str]:
    store = file_store(system.settings)
    assert isinstance(store, LocalFileStore)
    return {p.name for p in store.root.rglob("*") if p.is_file()}


async def test_files_with_the_application_tick_their_items_and_join_the_case(
    system: System,
) -> None:
    client = visitor(system)
    csrf = await open_form(client, JILIN_STREET)
    page = (await client.get("/apply", params={"place": JILIN_STREET})).text
    assert 'enctype="multipart/form-data"' in page
    assert 'name="file.id_card"' in page and 'accept="image/jpeg,image/png,application/pdf"' in page
    # Only the ID card is ticked; the household register comes as a file alone.
    data = filled(JILIN_STREET, csrf, id_number=make_id(region="220102"), evidence=["id_card"])
    files = [
        ("file.id_card", ("身份证正面.jpg", jpeg(), "image/jpeg")),
        ("file.id_card", ("身份证反面.jpg", jpeg(300, 200), "image/jpeg")),
        (
            "file.household_register_or_urban_residence_proof",
            ("户口簿.pdf", pdf(), "application/pdf"),
        ),
        ("file.id_card", ("", b"", "application/octet-stream")),  # an input left empty
    ]
    r = await client.post("/apply", data=data, files=files)
    assert r.status_code == 303, r.text
    case_id = r.headers["location"].split("/")[3].split("?")[0]
    async with system.sessions()() as session:
        case = await session.get(Case, case_id)
        rows = (
            await session.scalars(select(CaseMaterial).where(CaseMaterial.case_id == case_id))
        ).all()
        audits = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.object_id == case_id, AuditEntry.action == "upload_material")
        )
    assert case is not None
    assert "household_register_or_urban_residence_proof" in case.facts["evidence"]
    assert sorted((m.evidence_code, m.file_name) for m in rows) == [
        ("household_register_or_urban_residence_proof", "户口簿.pdf"),
        ("id_card", "身份证反面.jpg"),
        ("id_card", "身份证正面.jpg"),
    ]
    assert {(m.source, m.uploaded_by) for m in rows} == {("applicant", None)}
    assert audits == 3
    await client.aclose()


async def test_refused_files_are_named_beside_their_inputs_and_nothing_is_stored(
    system: System,
) -> None:
    client = visitor(system)
    csrf = await open_form(client, JILIN_STREET)
    id_number = make_id(region="220102")
    before = stored_files(system)
    async with system.sessions()() as session:
        cases_before = await session.scalar(select(func.count()).select_from(Case))
    data = filled(JILIN_STREET, csrf, id_number=id_number, name="韩梅梅")
    files = [
        ("file.id_card", ("身份证.jpg", docx_renamed(), "image/jpeg")),
        ("file.id_card", ("好的.jpg", jpeg(), "image/jpeg")),
        (
            "file.household_register_or_urban_residence_proof",
            (
                "户口簿.pdf",
                pdf("/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"),
                "application/pdf",
            ),
        ),
        (
            "file.termination_proof",
            ("大扫描.jpg", b"\xff\xd8\xff" + b"\x00" * (11 * 1024 * 1024), "image/jpeg"),
        ),
    ]
    r = await client.post("/apply", data=data, files=files)
    assert r.status_code == 422, r.text[:2000]
    assert "身份证.jpg" in field_error(r.text, "file.id_card")
    assert "不是 JPEG、PNG 或 PDF" in field_error(r.text, "file.id_card")
    assert "活动内容" in field_error(r.text, "file.household_register_or_urban_residence_proof")
    assert "超过单个文件 10 MB" in field_error(r.text, "file.termination_proof")
    assert "重新选择" in r.text  # the files are to be chosen again
    # Everything typed is kept.
    assert 'value="韩梅梅"' in r.text and f'value="{id_number}"' in r.text
    # Nothing is stored: no case, no file, no row.
    async with system.sessions()() as session:
        assert await session.scalar(select(func.count()).select_from(Case)) == cases_before
    assert stored_files(system) == before

    # The English page says it in English.
    await client.get("/apply", params={"place": JILIN_STREET, "lang": "en"})
    r = await client.post(
        "/apply",
        data=data,
        files=[("file.id_card", ("id.jpg", docx_renamed(), "image/jpeg"))],
    )
    assert r.status_code == 422
    assert "is not a JPEG, PNG or PDF file" in field_error(r.text, "file.id_card")
    await client.aclose()


async def test_a_store_that_cannot_take_the_files_refuses_the_application_whole(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The case and its files are stored together or not at all: a store that fails part-way
    (the disk full at the second file) leaves no case, the page says so with everything typed
    kept, and the same form sent again once the store is back gives one case with every file."""
    client = visitor(system)
    csrf = await open_form(client, JILIN_STREET)
    id_number = make_id(region="220102")
    async with system.sessions()() as session:
        cases_before = await session.scalar(select(func.count()).select_from(Case))
    data = filled(JILIN_STREET, csrf, id_number=id_number, name="李雷", evidence=["id_card"])
    files = [
        ("file.id_card", ("身份证.jpg", jpeg(), "image/jpeg")),
        (
            "file.household_register_or_urban_residence_proof",
            ("户口簿.pdf", pdf(), "application/pdf"),
        ),
    ]
    real_put = LocalFileStore._put
    calls = 0

    def disk_fills(self: LocalFileStore, digest: str, data: bytes) -> None:
        nonlocal calls
        calls += 1
        if calls > 2:  # the photo and its preview go in; the PDF finds the disk full
            raise OSError(errno.ENOSPC, "No space left on device")
        real_put(self, digest, data)

    monkeypatch.setattr(LocalFileStore, "_put", disk_fills)
    r = await client.post("/apply", data=data, files=files)
    assert r.status_code == 503, r.text[:2000]
    assert "Retry-After" in r.headers
    assert "材料文件暂时无法保存，未保存任何内容，请稍后重试" in r.text
    assert 'value="李雷"' in r.text and f'value="{id_number}"' in r.text
    async with system.sessions()() as session:
        assert await session.scalar(select(func.count()).select_from(Case)) == cases_before
        assert (
            await session.scalar(
                select(func.count()).select_from(Case).where(Case.id_number == id_number)
            )
            == 0
        )

    monkeypatch.setattr(LocalFileStore, "_put", real_put)  # the store is back
    r = await client.post("/apply", data=data, files=files)
    assert r.status_code == 303, r.text[:2000]
    case_id = r.headers["location"].split("/")[3].split("?")[0]
    async with system.sessions()() as session:
        rows = (
            await session.scalars(select(CaseMaterial).where(CaseMaterial.case_id == case_id))
        ).all()
        audits = (
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.object_id == case_id, AuditEntry.action == "upload_material"
                )
            )
        ).all()
    assert sorted(m.file_name for m in rows) == ["户口簿.pdf", "身份证.jpg"]
    # Each upload audited with its row's id (taken in the case's own transaction).
    assert sorted(a.detail["material_id"] for a in audits) == sorted(m.id for m in rows)
    store = file_store(system.settings)
    for m in rows:
        assert await store.exists(m.content_hash)
    await client.aclose()
