"""The file store (store/files.py) on both backends: the local directory and an S3-compatible
store (moto's server mode on a local port, standing in for MinIO; no network). Content
addressed, idempotent, never overwritten, a damaged or missing file reported, never served."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from store.files import (
    FileCorrupt,
    FileMissing,
    FileStore,
    LocalFileStore,
    S3FileStore,
    file_store,
    object_key,
)
from store.settings import SettingsError, load_settings
from tests.stack import free_port

S3_KEYS = {"access_key": "test-access", "secret_key": "test-secret-key"}


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def s3_store(endpoint: str, bucket: str) -> S3FileStore:
    store = S3FileStore(endpoint_url=endpoint, bucket=bucket, **S3_KEYS)
    store.client.create_bucket(Bucket=bucket)
    return store


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FileStore]:
    if request.param == "local":
        yield LocalFileStore(tmp_path / "files")
    else:
        endpoint = request.getfixturevalue("moto_endpoint")
        yield s3_store(endpoint, f"b-{tmp_path.name[-20:].lower().replace('_', '-')}")


async def test_put_is_content_addressed_and_idempotent(store: FileStore) -> None:
    data = b"%PDF-1.4 a scan of an ID card"
    digest = await store.put(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert await store.exists(digest)
    assert await store.put(data) == digest  # again: nothing changes
    assert await store.get(digest) == data


async def test_concurrent_puts_of_the_same_bytes_leave_one_copy(store: FileStore) -> None:
    data = b"\x89PNG same photo twice at once" * 1000
    digests = await asyncio.gather(*(store.put(data) for _ in range(8)))
    assert set(digests) == {hashlib.sha256(data).hexdigest()}
    assert await store.get(digests[0]) == data


async def test_an_unknown_file_is_missing(store: FileStore) -> None:
    digest = hashlib.sha256(b"never stored").hexdigest()
    assert not await store.exists(digest)
    with pytest.raises(FileMissing, match="restore the files from the backup"):
        await store.get(digest)


async def test_a_damaged_file_is_reported_not_served(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path / "files")
    digest = await store.put(b"original bytes")
    path = store.path_of(digest)
    path.chmod(0o644)
    path.write_bytes(b"changed on disk")
    with pytest.raises(FileCorrupt, match="damaged"):
        await store.get(digest)


async def test_local_files_are_read_only_and_leave_no_temporaries(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path / "files")
    digest = await store.put(b"x" * 100)
    path = store.path_of(digest)
    assert path.relative_to(tmp_path / "files").as_posix() == object_key(digest)
    assert path.stat().st_mode & 0o222 == 0
    assert [p.name for p in path.parent.iterdir()] == [digest]


async def test_an_s3_object_is_never_replaced(moto_endpoint: str) -> None:
    store = s3_store(moto_endpoint, "never-replaced")
    digest = await store.put(b"first")
    # Somebody else's bytes under that name (a bug, or a hand): a put does not replace them,
    # and a read reports them as damaged instead of serving them.
    store.client.put_object(Bucket="never-replaced", Key=object_key(digest), Body=b"other")
    assert await store.put(b"first") == digest
    with pytest.raises(FileCorrupt):
        await store.get(digest)


def test_object_keys_take_only_digests() -> None:
    with pytest.raises(ValueError):
        object_key("../../etc/passwd")


def test_the_setting_chooses_the_backend(tmp_path: Path) -> None:
    local = file_store(load_settings(data_dir=tmp_path))
    assert isinstance(local, LocalFileStore) and local.root == (tmp_path / "files").resolve()
    moved = file_store(load_settings(data_dir=tmp_path, files_dir=tmp_path / "elsewhere"))
    assert isinstance(moved, LocalFileStore) and moved.root.name == "elsewhere"
    s3 = file_store(
        load_settings(
            file_store="s3",
            s3_endpoint_url="http://127.0.0.1:9000",
            s3_bucket="yuanzhu-files",
            s3_access_key="k",
            s3_secret_key="s",
        )
    )
    assert isinstance(s3, S3FileStore) and s3.bucket == "yuanzhu-files"


def test_s3_has_no_default_keys() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(file_store="s3", s3_endpoint_url="http://minio:9000", s3_bucket="b")
    assert "YUANZHU_S3_ACCESS_KEY" in str(refused.value)
    assert "YUANZHU_S3_SECRET_KEY" in str(refused.value)
