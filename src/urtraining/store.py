"""Artifact store: one interface over a local folder or ``s3://bucket/prefix``.

Keys are POSIX paths relative to the store root. Every file is checked after it is written
(upload) and after it is read back (download). A *tree* (a model version, say) is published
atomically: readers only see trees whose ``MANIFEST.json`` exists, and that file is written
last, so a publish that dies halfway leaves nothing visible.

S3 uses boto3's standard configuration chain: endpoint (``AWS_ENDPOINT_URL[_S3]``), region,
credentials from the environment, ``~/.aws`` or an instance role. Nothing here stores or
prints a credential.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from urtraining.errors import UsageError
from urtraining.io import atomic_path, file_sha256

MANIFEST = "MANIFEST.json"
_CHUNK = 1 << 20


class StoreError(UsageError):
    """A store that cannot be used: bad URI, no access, missing bucket or key."""


class IntegrityError(StoreError):
    """Bytes that arrived differ from the bytes that were sent."""


class NotFound(StoreError):
    """A key or version that does not exist (or is not complete yet)."""


class AlreadyExists(StoreError):
    """A key claimed with ``if_absent`` that someone else wrote first."""


@dataclass(frozen=True)
class FileEntry:
    path: str  # relative to the tree root
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """The commit record of a published tree: its files and when it became visible."""

    files: tuple[FileEntry, ...]
    created_at: float
    info: dict

    def to_json(self) -> dict:
        return {
            "created_at": self.created_at,
            "info": self.info,
            "files": [e.__dict__ for e in self.files],
        }

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        files = tuple(FileEntry(**f) for f in data["files"])
        return cls(files=files, created_at=data["created_at"], info=data.get("info", {}))


def join(*parts: str) -> str:
    """Join key parts; no leading/trailing slashes, no ``..`` escapes."""
    out = str(PurePosixPath(*[p.strip("/") for p in parts if p and p.strip("/")]))
    if out == "." or ".." in PurePosixPath(out).parts:
        raise StoreError(f"invalid key {out!r}")
    return out


def tree_files(root: Path) -> dict[str, Path]:
    """Relative POSIX name -> path for every regular file under ``root`` (hidden ones too)."""
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


class ArtifactStore(ABC):
    """Files and atomically published trees under one root (a folder or an S3 prefix)."""

    uri: str

    # -- single objects --------------------------------------------------------------------
    @abstractmethod
    def put_file(self, local: Path, key: str) -> FileEntry:
        """Upload ``local`` to ``key`` and verify what the store received."""

    @abstractmethod
    def get_file(self, key: str, local: Path, sha256: str | None = None) -> Path:
        """Download ``key`` to ``local`` (atomically) and verify it against ``sha256``."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes, if_absent: bool = False) -> None:
        """Write a small object in one request; ``if_absent`` fails if it already exists."""

    @abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """Read a small object; :class:`NotFound` if missing."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def list_keys(self, prefix: str) -> list[str]:
        """All keys under ``prefix`` (recursive), sorted."""

    @abstractmethod
    def list_children(self, prefix: str) -> list[str]:
        """Names of the immediate sub-folders of ``prefix``, sorted."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Delete every key under ``prefix``; returns how many."""

    def put_json(self, key: str, data: object, if_absent: bool = False) -> None:
        blob = (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()
        self.put_bytes(key, blob, if_absent=if_absent)

    def get_json(self, key: str) -> dict:
        try:
            return json.loads(self.get_bytes(key))
        except json.JSONDecodeError as exc:
            raise StoreError(f"{self.describe(key)}: not valid JSON") from exc

    def describe(self, key: str = "") -> str:
        return f"{self.uri.rstrip('/')}/{key}" if key else self.uri

    # -- trees -----------------------------------------------------------------------------
    def publish_tree(self, prefix: str, files: Mapping[str, Path], info: dict | None = None):
        """Upload ``files`` (relative name -> local path) under ``prefix``, then commit.

        Nothing under ``prefix`` counts as published until its manifest exists; the manifest
        is written with ``if_absent`` so two publishers cannot both commit one prefix.
        """
        if MANIFEST in files:
            raise StoreError(f"{MANIFEST} is reserved for the store")
        entries = [self.put_file(Path(src), join(prefix, rel)) for rel, src in files.items()]
        manifest = Manifest(tuple(_relative(e, prefix) for e in entries), time.time(), info or {})
        self.put_json(join(prefix, MANIFEST), manifest.to_json(), if_absent=True)
        return manifest

    def is_published(self, prefix: str) -> bool:
        return self.exists(join(prefix, MANIFEST))

    def manifest(self, prefix: str) -> Manifest:
        try:
            return Manifest.from_json(self.get_json(join(prefix, MANIFEST)))
        except NotFound:
            raise NotFound(f"{self.describe(prefix)}: not published (no {MANIFEST})") from None

    def fetch_tree(self, prefix: str, dest: Path, only: str | None = None) -> Manifest:
        """Download a published tree (or its sub-folder ``only``) into ``dest``.

        ``dest`` is replaced only once every file has arrived and matched its manifest digest.
        """
        from urtraining.io import atomic_dir

        manifest = self.manifest(prefix)
        base = PurePosixPath(only) if only else None
        entries = [
            e for e in manifest.files if base is None or base in PurePosixPath(e.path).parents
        ]
        if not entries:
            raise NotFound(f"{self.describe(join(prefix, only or ''))}: no files")
        with atomic_dir(dest) as tmp:
            for entry in entries:
                rel = PurePosixPath(entry.path).relative_to(base) if base else entry.path
                self.get_file(join(prefix, entry.path), tmp / rel, sha256=entry.sha256)
        return manifest


def _relative(entry: FileEntry, prefix: str) -> FileEntry:
    rel = PurePosixPath(entry.path).relative_to(PurePosixPath(join(prefix))).as_posix()
    return FileEntry(rel, entry.size, entry.sha256)


def _verify_download(path: Path, expected: str | None, what: str) -> None:
    if expected is None:
        return
    got = file_sha256(path)
    if got != expected:
        raise IntegrityError(
            f"{what}: checksum mismatch after download ({got[:12]} != {expected[:12]})"
        )


# ------------------------------------------------------------------------------------------
class LocalStore(ArtifactStore):
    """A folder. Writes go through temp files + rename, so readers never see partial files."""

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()
        self.uri = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / join(key) if key else self.root

    def put_file(self, local: Path, key: str) -> FileEntry:
        source_sha = file_sha256(local)
        target = self._path(key)
        with atomic_path(target) as tmp:
            shutil.copyfile(local, tmp)
            _fsync(tmp)
            if file_sha256(tmp) != source_sha:
                raise IntegrityError(f"{self.describe(key)}: checksum mismatch after copy")
        return FileEntry(join(key), target.stat().st_size, source_sha)

    def get_file(self, key: str, local: Path, sha256: str | None = None) -> Path:
        source = self._path(key)
        if not source.is_file():
            raise NotFound(f"{self.describe(key)}: not found")
        with atomic_path(local) as tmp:
            shutil.copyfile(source, tmp)
            _verify_download(tmp, sha256, self.describe(key))
        return local

    def put_bytes(self, key: str, data: bytes, if_absent: bool = False) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        if if_absent:
            # Write a temp file, then hard-link it to the name: link(2) fails if the name
            # exists, so the object appears complete, once, or not at all.
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.link(tmp, target)
            except FileExistsError:
                raise AlreadyExists(f"{self.describe(key)}: already exists") from None
            finally:
                os.unlink(tmp)
            return
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
            _fsync(tmp)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise NotFound(f"{self.describe(key)}: not found") from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list_keys(self, prefix: str) -> list[str]:
        base = self._path(prefix)
        if not base.is_dir():
            return []
        return [
            p.relative_to(self.root).as_posix()
            for p in sorted(base.rglob("*"))
            if p.is_file() and not p.name.endswith(".tmp")
        ]

    def list_children(self, prefix: str) -> list[str]:
        base = self._path(prefix)
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))

    def delete_prefix(self, prefix: str) -> int:
        base = self._path(prefix)
        n = len(self.list_keys(prefix))
        shutil.rmtree(base, ignore_errors=True)
        return n

    def publish_tree(self, prefix: str, files: Mapping[str, Path], info: dict | None = None):
        """Stage the whole tree in a hidden sibling folder, then rename it into place."""
        target = self._path(prefix)
        if target.exists():
            raise AlreadyExists(f"{self.describe(prefix)}: already exists")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(
            tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        )
        try:
            staged = LocalStore(staging)
            entries = [staged.put_file(Path(src), rel) for rel, src in files.items()]
            manifest = Manifest(tuple(entries), time.time(), info or {})
            staged.put_json(MANIFEST, manifest.to_json())
            try:
                # rename(2) onto an existing non-empty folder fails: a lost race stays visible.
                os.rename(staging, target)
            except OSError as exc:
                raise AlreadyExists(f"{self.describe(prefix)}: already exists") from exc
            return manifest
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


# ------------------------------------------------------------------------------------------
_AUTH_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "InvalidToken",
    "ExpiredToken",
    "AuthorizationHeaderMalformed",
    "403",
}
_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}


class S3Store(ArtifactStore):
    """``s3://bucket/prefix`` through boto3, with the transfer manager doing multipart."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        multipart_threshold: int = 16 * _CHUNK,
        multipart_chunksize: int = 16 * _CHUNK,
        max_concurrency: int = 4,
        client=None,
    ):
        from boto3.s3.transfer import TransferConfig

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.uri = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self.transfer = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=multipart_chunksize,
            max_concurrency=max_concurrency,
        )
        self.client = client or make_s3_client(endpoint_url=endpoint_url, region=region)

    def _key(self, key: str) -> str:
        return join(self.prefix, key) if self.prefix else join(key)

    @contextlib.contextmanager
    def _errors(self, key: str = "") -> Iterator[None]:
        """Turn botocore's exceptions into one line that names the location, never a secret."""
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            EndpointConnectionError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        where = self.describe(key)
        try:
            yield
        except ClientError as exc:
            raise _client_error(exc, where) from None
        except S3UploadFailedError as exc:
            # The transfer manager wraps the ClientError; keep only the error code.
            cause = exc.__context__
            if isinstance(cause, ClientError):
                raise _client_error(cause, where) from None
            raise StoreError(f"{where}: upload failed") from None
        except (NoCredentialsError, PartialCredentialsError):
            raise StoreError(
                f"{where}: no AWS credentials found (set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance role)"
            ) from None
        except EndpointConnectionError:
            raise StoreError(
                f"{where}: cannot connect to {self.client.meta.endpoint_url}"
            ) from None
        except BotoCoreError as exc:
            raise StoreError(f"{where}: {exc.__class__.__name__}") from None

    def put_file(self, local: Path, key: str) -> FileEntry:
        local = Path(local)
        size = local.stat().st_size
        expected = _expected_checksums(local, self.transfer, size)
        full = self._key(key)
        with self._errors(key):
            # ChecksumAlgorithm makes the server check every part's SHA-256 as it arrives.
            self.client.upload_file(
                str(local),
                self.bucket,
                full,
                Config=self.transfer,
                ExtraArgs={"ChecksumAlgorithm": "SHA256", "Metadata": {"sha256": expected.sha256}},
            )
            head = self.client.head_object(Bucket=self.bucket, Key=full, ChecksumMode="ENABLED")
        self._verify_upload(head, expected, size, key)
        return FileEntry(join(key), size, expected.sha256)

    def _verify_upload(self, head: dict, expected: _Expected, size: int, key: str) -> None:
        """Compare what the server computed over the bytes it stored with the local file."""
        where = self.describe(key)
        if head.get("ContentLength") != size:
            raise IntegrityError(
                f"{where}: size {head.get('ContentLength')} != {size} after upload"
            )
        server_sha = head.get("ChecksumSHA256")
        if server_sha:
            if server_sha != expected.s3_sha256:
                raise IntegrityError(f"{where}: SHA-256 mismatch after upload")
            return
        # A server without flexible checksums: fall back to the (multipart) MD5 ETag.
        etag = head.get("ETag", "").strip('"')
        if etag and etag != expected.etag:
            raise IntegrityError(f"{where}: ETag mismatch after upload")

    def get_file(self, key: str, local: Path, sha256: str | None = None) -> Path:
        full = self._key(key)
        with self._errors(key):
            if sha256 is None:
                head = self.client.head_object(Bucket=self.bucket, Key=full)
                sha256 = head.get("Metadata", {}).get("sha256")
            with atomic_path(local) as tmp:
                self.client.download_file(self.bucket, full, str(tmp), Config=self.transfer)
                _verify_download(tmp, sha256, self.describe(key))
        return local

    def put_bytes(self, key: str, data: bytes, if_absent: bool = False) -> None:
        extra = {"IfNoneMatch": "*"} if if_absent else {}
        with self._errors(key):
            try:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=self._key(key),
                    Body=data,
                    ChecksumAlgorithm="SHA256",
                    Metadata={"sha256": hashlib.sha256(data).hexdigest()},
                    **extra,
                )
            except Exception as exc:
                if _code(exc) in {"PreconditionFailed", "412", "ConditionalRequestConflict"}:
                    raise AlreadyExists(f"{self.describe(key)}: already exists") from None
                raise

    def get_bytes(self, key: str) -> bytes:
        with self._errors(key):
            obj = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            data = obj["Body"].read()
        want = obj.get("Metadata", {}).get("sha256")
        if want and hashlib.sha256(data).hexdigest() != want:
            raise IntegrityError(f"{self.describe(key)}: checksum mismatch after download")
        return data

    def exists(self, key: str) -> bool:
        with self._errors(key):
            try:
                self.client.head_object(Bucket=self.bucket, Key=self._key(key))
                return True
            except Exception as exc:
                if _code(exc) in _MISSING_CODES:
                    return False
                raise

    def _list(self, prefix: str, delimiter: str | None) -> Iterator[dict]:
        base = self._key(prefix) + "/" if (prefix or self.prefix) else ""
        kwargs = {"Bucket": self.bucket, "Prefix": base}
        if delimiter:
            kwargs["Delimiter"] = delimiter
        with self._errors(prefix):
            yield from self.client.get_paginator("list_objects_v2").paginate(**kwargs)

    def list_keys(self, prefix: str) -> list[str]:
        strip = len(self.prefix) + 1 if self.prefix else 0
        keys = [
            o["Key"][strip:] for page in self._list(prefix, None) for o in page.get("Contents", [])
        ]
        return sorted(keys)

    def list_children(self, prefix: str) -> list[str]:
        names = [
            cp["Prefix"].rstrip("/").rsplit("/", 1)[-1]
            for page in self._list(prefix, "/")
            for cp in page.get("CommonPrefixes", [])
        ]
        return sorted(names)

    def delete_prefix(self, prefix: str) -> int:
        keys = [self._key(k) for k in self.list_keys(prefix)]
        with self._errors(prefix):
            for i in range(0, len(keys), 1000):
                batch = [{"Key": k} for k in keys[i : i + 1000]]
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})
        return len(keys)


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _client_error(exc: BaseException, where: str) -> StoreError:
    code = _code(exc)
    if code in _AUTH_CODES:
        return StoreError(
            f"{where}: access denied by the S3 server ({code}); check the AWS credentials "
            "(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the profile) and the bucket policy"
        )
    if code == "NoSuchBucket":
        return StoreError(f"{where}: bucket does not exist")
    if code in _MISSING_CODES:
        return NotFound(f"{where}: not found")
    return StoreError(f"{where}: S3 error {code or exc.__class__.__name__}")


@dataclass(frozen=True)
class _Expected:
    sha256: str  # hex digest of the whole file
    s3_sha256: str  # what S3 reports: base64 digest, or the composite "digest-of-digests-N"
    etag: str  # MD5 ETag (plain or multipart) for servers without flexible checksums


def _expected_checksums(path: Path, transfer, size: int) -> _Expected:
    """One pass over the file: whole SHA-256 plus the per-part digests S3 will report.

    The part size is the one the transfer manager will use (same adjuster), so the composite
    checksum can be predicted exactly.
    """
    from s3transfer.utils import ChunksizeAdjuster

    multipart = size >= transfer.multipart_threshold
    part_size = ChunksizeAdjuster().adjust_chunksize(transfer.multipart_chunksize, size)
    whole, md5 = hashlib.sha256(), hashlib.md5()
    part_sha: list[bytes] = []
    part_md5: list[bytes] = []
    with open(path, "rb") as fh:
        while block := fh.read(part_size if multipart else 8 * _CHUNK):
            whole.update(block)
            if multipart:
                part_sha.append(hashlib.sha256(block).digest())
                part_md5.append(hashlib.md5(block).digest())
            else:
                md5.update(block)
    if not multipart:
        return _Expected(
            whole.hexdigest(), base64.b64encode(whole.digest()).decode(), md5.hexdigest()
        )
    n = len(part_sha)
    composite = base64.b64encode(hashlib.sha256(b"".join(part_sha)).digest()).decode()
    etag = hashlib.md5(b"".join(part_md5)).hexdigest()
    return _Expected(whole.hexdigest(), f"{composite}-{n}", f"{etag}-{n}")


def make_s3_client(endpoint_url: str | None = None, region: str | None = None):
    """An S3 client from the standard AWS configuration chain.

    With a custom endpoint (SeaweedFS, MinIO, Ceph) path-style addressing is used: those
    servers rarely have wildcard DNS for virtual-hosted buckets.
    """
    import boto3
    from botocore.config import Config

    # botocore announces where it found credentials at INFO; commands log at INFO and a
    # one-line error must stay one line.
    logging.getLogger("botocore.credentials").setLevel(logging.WARNING)
    endpoint = (
        endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    )
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path"} if endpoint else {},
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=5,
        read_timeout=60,
    )
    session = boto3.session.Session()
    return session.client("s3", endpoint_url=endpoint, region_name=region, config=config)


def open_store(uri: str | Path, **s3_options) -> ArtifactStore:
    """``s3://bucket/prefix`` -> :class:`S3Store`; anything else is a local folder."""
    text = str(uri)
    if text.startswith("s3://"):
        bucket, _, prefix = text[len("s3://") :].partition("/")
        if not bucket:
            raise StoreError(f"{text}: expected s3://bucket/prefix")
        return S3Store(bucket, prefix, **s3_options)
    if "://" in text:
        raise StoreError(f"{text}: unsupported store (use a folder or s3://bucket/prefix)")
    return LocalStore(text)
