"""The artifact store against a real S3 server (SeaweedFS on 127.0.0.1, credentials enforced)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from urtraining.io import file_sha256
from urtraining.store import (
    AlreadyExists,
    IntegrityError,
    NotFound,
    S3Store,
    StoreError,
    open_store,
)

MiB = 1 << 20


def small_parts_store(bucket: str, prefix: str = "p") -> S3Store:
    # 5 MiB is S3's smallest part size: a 12 MiB file becomes a 3-part multipart upload.
    return open_store(
        f"s3://{bucket}/{prefix}", multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB
    )


def test_multipart_roundtrip_is_verified(s3_env, s3_bucket, tmp_path):
    store = small_parts_store(s3_bucket)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(12 * MiB + 123))
    small = tmp_path / "small.txt"
    small.write_text("hello")

    entry = store.put_file(big, "a/big.bin")
    store.put_file(small, "a/small.txt")
    assert entry.sha256 == file_sha256(big) and entry.size == big.stat().st_size

    head = store.client.head_object(Bucket=s3_bucket, Key="p/a/big.bin", ChecksumMode="ENABLED")
    assert head["ETag"].strip('"').endswith("-3"), "expected a 3-part multipart upload"
    assert head["ChecksumSHA256"].endswith("-3")

    out = store.get_file("a/big.bin", tmp_path / "down" / "big.bin", sha256=entry.sha256)
    assert file_sha256(out) == entry.sha256
    assert store.get_bytes("a/small.txt") == b"hello"
    assert store.list_keys("a") == ["a/big.bin", "a/small.txt"]
    assert store.list_children("") == ["a"]


def test_download_detects_changed_bytes(s3_env, s3_bucket, tmp_path):
    store = small_parts_store(s3_bucket)
    src = tmp_path / "f.bin"
    src.write_bytes(b"x" * 1000)
    entry = store.put_file(src, "f.bin")
    # Someone rewrites the object behind the store's back (keeping the old metadata).
    store.client.put_object(
        Bucket=s3_bucket, Key="p/f.bin", Body=b"y" * 1000, Metadata={"sha256": entry.sha256}
    )
    with pytest.raises(IntegrityError, match="checksum mismatch"):
        store.get_file("f.bin", tmp_path / "out.bin")
    assert not (tmp_path / "out.bin").exists(), "a file that failed its check must not be left"


def test_tree_publish_is_atomic_and_exclusive(s3_env, s3_bucket, tmp_path):
    store = small_parts_store(s3_bucket)
    files = {}
    for name in ("model/w.bin", "model/config.json", "metrics.json"):
        path = tmp_path / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(2000))
        files[name] = path
    store.publish_tree("t/v1", files, info={"k": 1})
    assert store.is_published("t/v1")
    with pytest.raises(AlreadyExists):
        store.publish_tree("t/v1", files)

    manifest = store.fetch_tree("t/v1", tmp_path / "got")
    assert manifest.info == {"k": 1}
    for name, path in files.items():
        assert (tmp_path / "got" / name).read_bytes() == path.read_bytes()
    store.fetch_tree("t/v1", tmp_path / "model_only", only="model")
    assert sorted(p.name for p in (tmp_path / "model_only").iterdir()) == ["config.json", "w.bin"]


def test_wrong_secret_gives_one_clear_line(s3_server, s3_env, s3_bucket, monkeypatch, tmp_path):
    wrong = "not-the-secret-" + "z" * 20
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong)
    store = open_store(f"s3://{s3_bucket}/p")
    src = tmp_path / "f.txt"
    src.write_text("x")
    with pytest.raises(StoreError) as info:
        store.put_file(src, "f.txt")
    message = str(info.value)
    assert "access denied" in message and "SignatureDoesNotMatch" in message
    assert f"s3://{s3_bucket}/p/f.txt" in message
    assert wrong not in message and s3_server.secret_key not in message
    assert "\n" not in message


def test_missing_key_and_bucket(s3_env, s3_bucket, tmp_path):
    store = open_store(f"s3://{s3_bucket}/p")
    with pytest.raises(NotFound):
        store.get_bytes("nope.json")
    assert not store.exists("nope.json")
    with pytest.raises(StoreError, match="bucket does not exist"):
        open_store("s3://no-such-bucket-here/p").get_bytes("x")


def test_killed_upload_leaves_nothing_visible(s3_server, s3_env, s3_bucket, tmp_path):
    """SIGKILL a publishing process mid-upload: the tree never becomes visible."""
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(40 * MiB))
    small = tmp_path / "first.txt"
    small.write_text("first file, uploaded before the big one")
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from urtraining.store import open_store
        store = open_store("s3://{s3_bucket}/p", multipart_threshold=5 << 20,
                           multipart_chunksize=5 << 20, max_concurrency=1)
        store.publish_tree("t/v1", {{"a.txt": Path("{small}"), "b.bin": Path("{big}")}})
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], env=os.environ.copy())
    store = open_store(f"s3://{s3_bucket}/p")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not store.exists("t/v1/a.txt"):
            assert proc.poll() is None, "publisher finished before it could be interrupted"
            time.sleep(0.05)
        assert store.exists("t/v1/a.txt"), "the first file never arrived"
    finally:
        proc.kill()
        proc.wait()
    assert not store.is_published("t/v1")
    with pytest.raises(NotFound, match="not published"):
        store.fetch_tree("t/v1", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_predicted_checksum_matches_server(s3_env, s3_bucket, tmp_path):
    """The composite SHA-256 the server reports is the one computed locally (uploads verify)."""
    store = small_parts_store(s3_bucket)
    for size in (0, 1, 5 * MiB, 10 * MiB + 1):
        path = tmp_path / f"f{size}"
        path.write_bytes(os.urandom(size))
        entry = store.put_file(path, f"k/{size}")
        assert entry.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        back = store.get_file(f"k/{size}", tmp_path / f"back{size}")
        assert Path(back).read_bytes() == path.read_bytes()
