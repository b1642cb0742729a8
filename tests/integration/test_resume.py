"""A run killed mid-training resumes from its last checkpoint and redoes nothing finished."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from urtraining.runner import read_manifest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ARGS = [
    "--config",
    ROOT / "configs/smoke.yaml",
    "--set",
    "train.max_examples=160",
    "--set",
    "train.batch_size=8",
]


def _start(run: Path) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "URTRAINING_LOG": "WARNING"}
    cmd = [sys.executable, "-m", "urtraining.cli", "run", "--out", run, *ARGS]
    return subprocess.Popen(
        [str(c) for c in cmd],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def test_kill_during_training_then_resume(tmp_path):
    run = tmp_path / "run"
    proc = _start(run)
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline:
            done = list((run / "checkpoints").glob("checkpoint-*/trainer_state.json"))
            if done or proc.poll() is not None:
                break
            time.sleep(0.5)
        assert proc.poll() is None, "the run finished before a checkpoint could be killed"
        assert done, "no checkpoint within the time limit"
        os.killpg(proc.pid, signal.SIGKILL)  # a real kill: no cleanup code runs
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    killed = read_manifest(run)["stages"]
    assert {"synth", "rank", "assemble"} <= set(killed) and "train" not in killed
    assert not (run / "model").exists()

    restarted = _start(run)
    assert restarted.wait(timeout=900) == 0
    stages = read_manifest(run)["stages"]
    for name in ("synth", "rank", "assemble"):  # finished stages were not redone
        assert stages[name]["finished_at"] == killed[name]["finished_at"]
    stats = json.loads((run / "train_stats.json").read_text())
    assert stats["resumed_from"] and int(stats["resumed_from"].rsplit("-", 1)[1]) > 0
    assert (run / "model" / "config.json").is_file() and (run / "metrics.json").is_file()
    leftovers = [p for p in run.rglob("*.tmp")]
    assert leftovers == []
