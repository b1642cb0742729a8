"""Shared fixtures: offline settings, and one small real run built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Nothing in the suite may reach for a model hub, and Ray stays on loopback.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "configs" / "smoke.yaml"


@pytest.fixture(scope="session")
def smoke_config():
    from urtraining.config import load_config

    return load_config(SMOKE)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, smoke_config) -> Path:
    """A finished run of ``configs/smoke.yaml`` (about a minute); treat it as read-only.
    ``URTRAINING_TEST_RUN`` points at a finished run to reuse while iterating."""
    reuse = os.environ.get("URTRAINING_TEST_RUN")
    if reuse and (Path(reuse) / "index.json").is_file():
        return Path(reuse)
    from urtraining.runner import run_pipeline

    run = tmp_path_factory.mktemp("smoke") / "run"
    run_pipeline(smoke_config, run)
    return run


@pytest.fixture(scope="session")
def smoke_data(smoke_config):
    """Procedural users, metadata, courses and rankings of the smoke config, in memory."""
    from urtraining.synth.procedural import ProceduralGenerator
    from urtraining.synth.rules import RuleTeacher

    gen = ProceduralGenerator()
    courses = gen.courses(smoke_config.synth.n_courses, smoke_config.synth.seed)
    pairs = gen.users(smoke_config.synth.n_users, smoke_config.synth.seed, courses)
    users = [u for u, _ in pairs]
    metadata = {m.user_id: m for _, m in pairs if m is not None}
    rankings = {r.user_id: r for r in RuleTeacher().rank_many(users, metadata, courses)}
    return users, metadata, courses, rankings
