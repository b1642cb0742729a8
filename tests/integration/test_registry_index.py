"""Promotion re-embeds the catalogue with the new champion and switches the Milvus alias."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]


def with_real_model(run: Path) -> Path:
    """Replace the fake weights with the packaged MiniLM (a real sentence-transformers folder)."""
    from urtraining.config import PACKAGED_MINILM
    from urtraining.train.trainer import resolve_model_path

    shutil.rmtree(run / "model")
    shutil.copytree(resolve_model_path(PACKAGED_MINILM), run / "model")
    return run


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "urtraining.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=os.environ.copy())


def test_promotion_switches_the_alias(make_run, train_data, tmp_path):
    from urtraining.index import connect, count, current_version

    courses = train_data.parent / "courses.jsonl"
    dest, milvus = tmp_path / "registry", tmp_path / "milvus.db"
    index_args = ["--courses", str(courses), "--milvus-uri", str(milvus), "--collection", "cat"]
    for score in (0.4, 0.5):
        run = with_real_model(make_run(score))
        assert cli("publish", "--run", str(run), "--to", str(dest), cwd=tmp_path).returncode == 0

    first = cli("promote", "--to", str(dest), "--version", "v0001", *index_args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    first_collection = json.loads(first.stdout)["extra"]["collection"]

    refused = cli("promote", "--to", str(dest), "--version", "v0001", *index_args, cwd=tmp_path)
    assert json.loads(refused.stdout)["extra"] == {}  # nothing promoted, nothing re-indexed

    second = cli("promote", "--to", str(dest), *index_args, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    result = json.loads(second.stdout)
    assert result["promoted"] and result["candidate"] == "v0002"
    assert result["extra"]["collection"] != first_collection

    client = connect(str(milvus))
    try:
        assert current_version(client, "cat") == result["extra"]["collection"]
        client.load_collection("cat")  # a new process finds Milvus Lite collections released
        n_courses = sum(1 for line in courses.read_text().splitlines() if line.strip())
        assert count(client, "cat") == n_courses
    finally:
        client.close()
