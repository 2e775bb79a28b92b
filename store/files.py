"""Where materials' files live (证明材料的文件): outside the database, addressed by their content.

A file's name is the SHA-256 of its bytes (``sha256/ab/cd/abcd…``), so the same scan handed in
twice is stored once, a name never points at other bytes, and a put is idempotent: putting
bytes that are already there changes nothing. Nothing is ever overwritten or removed through
this module (a case's files are kept as long as the case, docs/operations.md "Files"); a read
checks the bytes against their name, so a damaged copy is reported, never served.

Two backends behind one :class:`FileStore` protocol, chosen by ``YUANZHU_FILE_STORE``:

- ``local`` (the default): a directory, ``<data_dir>/files`` unless ``YUANZHU_FILES_DIR`` says
  otherwise, so that ``make run`` needs nothing more. A file is written to a temporary name in
  its final directory and hard-linked into place, which fails rather than replaces when the
  name exists: two processes putting the same bytes at once both succeed, one copy remains.
- ``s3``: an S3-compatible object store (MinIO in ``docker-compose.yml``) through boto3, with a
  conditional put (``If-None-Match: *``) so that an object, once written, is never replaced.

The database rows that say which case holds which file are ``store/materials_repo.py``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol

from store.settings import Settings

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class FileMissing(LookupError):
    """No file with this content hash is stored (a backup restored without its files)."""

    def __init__(self, digest: str, where: str) -> None:
        super().__init__(
            f"file sha256:{digest} is not in {where}: restore the files from the backup taken "
            "with the database (docs/operations.md, Files)"
        )
        self.digest = digest


class FileStoreUnavailable(RuntimeError):
    """The store could not take a file (a full or read-only disk, the object store away or
    refusing): nothing that would name the file was written; the same upload succeeds once
    the store is back."""

    def __init__(self, where: str, cause: BaseException) -> None:
        super().__init__(f"the file store ({where}) cannot take a file: {cause}")


class FileCorrupt(RuntimeError):
    """The stored bytes no longer hash to their name."""

    def __init__(self, digest: str, where: str) -> None:
        super().__init__(
            f"file sha256:{digest} in {where} is damaged (its bytes hash to another value): "
            "restore it from the backup"
        )
        self.digest = digest


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def object_key(digest: str) -> str:
    """``sha256/ab/cd/<digest>``: two levels of fan-out keep directories small."""
    if not _DIGEST.match(digest):
        raise ValueError(f"not a SHA-256 hex digest: {digest!r}")
    return f"sha256/{digest[:2]}/{digest[2:4]}/{digest}"


def _checked(data: bytes, digest: str, where: str) -> bytes:
    if digest_of(data) != digest:
        raise FileCorrupt(digest, where)
    return data


class FileStore(Protocol):
    """Content-addressed, write-once storage of files."""

    async def put(self, data: bytes) -> str:
        """Store ``data`` (once) and return its SHA-256 hex digest."""
        ...

    async def get(self, digest: str) -> bytes:
        """The bytes named ``digest``; :class:`FileMissing` or :class:`FileCorrupt`."""
        ...

    async def exists(self, digest: str) -> bool: ...


class LocalFileStore:
    """Files in a directory tree (``<root>/sha256/ab/cd/<digest>``), read-only once written."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __repr__(self) -> str:
        return f"LocalFileStore({str(self.root)!r})"

    def path_of(self, digest: str) -> Path:
        return self.root / object_key(digest)

    async def put(self, data: bytes) -> str:
        digest = digest_of(data)
        try:
            await asyncio.to_thread(self._put, digest, data)
        except OSError as exc:
            raise FileStoreUnavailable(str(self.root), exc) from exc
        return digest

    def _put(self, digest: str, data: bytes) -> None:
        final = self.path_of(digest)
        if final.exists():
            return
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o444)
            # A link never replaces an existing name (os.replace would): the first writer of
            # these bytes wins, a concurrent second finds them there.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, final)
        finally:
            os.unlink(tmp)
        # The new directory entries survive a crash once the directory itself is synced.
        dir_fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    async def get(self, digest: str) -> bytes:
        path = self.path_of(digest)
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise FileMissing(digest, str(self.root)) from None
        return _checked(data, digest, str(self.root))

    async def exists(self, digest: str) -> bool:
        return await asyncio.to_thread(self.path_of(digest).exists)


class S3FileStore:
    """Objects in one bucket of an S3-compatible store, through boto3."""

    def __init__(
        self,
        *,
        endpoint_url: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
            config=Config(
                # MinIO and most S3-compatible stores address buckets by path, not host name.
                s3={"addressing_style": "path"},
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 4, "mode": "standard"},
            ),
        )

    def __repr__(self) -> str:
        return f"S3FileStore({self.endpoint_url!r}, bucket={self.bucket!r})"

    def _where(self) -> str:
        return f"bucket {self.bucket} at {self.endpoint_url}"

    async def put(self, data: bytes) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        digest = digest_of(data)
        try:
            await asyncio.to_thread(self._put, digest, data)
        except (BotoCoreError, ClientError) as exc:
            raise FileStoreUnavailable(self._where(), exc) from exc
        return digest

    def _put(self, digest: str, data: bytes) -> None:
        from botocore.exceptions import ClientError

        key = object_key(digest)
        if self._exists(key):
            return
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                # Written once: a concurrent writer of the same bytes gets 412, which is fine.
                IfNoneMatch="*",
                ContentType="application/octet-stream",
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code not in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise

    def _exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code", "")) in ("404", "NoSuchKey"):
                return False
            raise
        return True

    async def get(self, digest: str) -> bytes:
        return await asyncio.to_thread(self._get, digest)

    def _get(self, digest: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=object_key(digest))
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code", "")) in ("404", "NoSuchKey"):
                raise FileMissing(digest, self._where()) from None
            raise
        data: bytes = answer["Body"].read()
        return _checked(data, digest, self._where())

    async def exists(self, digest: str) -> bool:
        return await asyncio.to_thread(self._exists, object_key(digest))


_STORES: dict[tuple[object, ...], FileStore] = {}


def file_store(settings: Settings) -> FileStore:
    """The file store ``settings`` name, one per configuration per process (a boto3 client
    is thread-safe and keeps its connection pool)."""
    if settings.file_store == "s3":
        config: tuple[object, ...] = (
            "s3",
            settings.s3_endpoint_url,
            settings.s3_bucket,
            settings.s3_access_key,
            settings.s3_secret_key,
            settings.s3_region,
        )
    else:
        config = ("local", str(settings.effective_files_dir.resolve()))
    store = _STORES.get(config)
    if store is None:
        if settings.file_store == "s3":
            store = S3FileStore(
                endpoint_url=settings.s3_endpoint_url,
                bucket=settings.s3_bucket,
                access_key=settings.s3_access_key,
                secret_key=settings.s3_secret_key,
                region=settings.s3_region,
            )
        else:
            store = LocalFileStore(settings.effective_files_dir.resolve())
        _STORES[config] = store
    return store
