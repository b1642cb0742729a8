"""Ray Train on one machine (local Ray on 127.0.0.1, CPU workers, gloo).

Slow by nature: each run starts Ray (~5 s), workers load MiniLM, and the two cores are shared.
The data and step counts are the smallest that still have checkpoints to resume from.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from urtraining.config import TrainConfig

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

# The smoke dataset has ~80 training examples: batch 8 gives ~10 optimizer steps, with a
# checkpoint every 5 steps.
SMALL = {"batch_size": 8, "max_examples": 96, "max_seq_length": 48, "epochs": 1, "threads": 1}


def small_cfg(**extra) -> TrainConfig:
    return TrainConfig(**{**SMALL, **extra})


def test_two_workers_train_same_format_as_in_process(train_data, tmp_path):
    from sentence_transformers import SentenceTransformer

    from urtraining.train.ray_launcher import train_with_ray
    from urtraining.train.trainer import train_model

    ray_model = train_with_ray(small_cfg(workers=2), train_data, tmp_path / "ray")
    local_model = train_model(small_cfg(), train_data, tmp_path / "local")

    def files(root: Path) -> set[str]:
        return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}

    assert files(ray_model) == files(local_model)
    stats = json.loads((tmp_path / "ray" / "train_stats.json").read_text())
    assert stats["workers"] == 2 and stats["per_worker_batch_size"] == 4
    local_stats = json.loads((tmp_path / "local" / "train_stats.json").read_text())
    # Same global batch, so (up to the sampler's last partial batch) the same step count.
    assert abs(stats["steps"] - local_stats["steps"]) <= 1
    model = SentenceTransformer(str(ray_model), device="cpu", local_files_only=True)
    assert model.encode(["query: swim"]).shape == (1, 384)
    # Ray's own traffic stayed on loopback (the driver resolved the node to 127.0.0.1).
    assert Path(stats["storage_path"]).is_dir()


def test_killed_worker_resumes_from_last_checkpoint(train_data, tmp_path):
    """SIGKILL rank 0 at step 7: Ray restarts the group, which resumes at step 5, not 0."""
    from urtraining.train.ray_launcher import train_with_ray

    out = tmp_path / "run"
    train_with_ray(small_cfg(workers=2, max_failures=1), train_data, out, kill_worker_at_step=7)

    assert (out / ".killed-at-7").is_file(), "the worker was never killed"
    stats = json.loads((out / "train_stats.json").read_text())
    assert stats["resumed_from_step"] == 5
    assert stats["steps"] > 5  # it went on training after the restart
    assert (out / "model" / "model.safetensors").is_file()


DRIVER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from urtraining.config import TrainConfig
    from urtraining.train.ray_launcher import train_with_ray
    cfg = TrainConfig.model_validate(json.loads(sys.argv[1]))
    train_with_ray(cfg, Path(sys.argv[2]), Path(sys.argv[3]))
    """
)


def test_killed_driver_rerun_resumes(train_data, tmp_path):
    """Kill the whole driver (and its local Ray) after the first checkpoint; rerun resumes."""
    out, storage = tmp_path / "run", tmp_path / "storage"
    cfg = small_cfg(workers=1, storage_path=str(storage))
    argv = [sys.executable, "-c", DRIVER, cfg.model_dump_json(), str(train_data), str(out)]
    # A new session: the driver, its Ray processes and workers share one process group.
    first = subprocess.Popen(argv, start_new_session=True, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 400
        # A checkpoint counts once the controller has registered it in its snapshot; a
        # checkpoint folder alone may be one it was still copying when the kill came.
        while time.monotonic() < deadline and not _registered_checkpoint(storage):
            assert first.poll() is None, "the first driver ended before any checkpoint"
            time.sleep(0.5)
        assert _registered_checkpoint(storage), "no checkpoint was registered"
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert not (out / "model").exists()

    second = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert second.returncode == 0, second.stderr[-3000:]
    stats = json.loads((out / "train_stats.json").read_text())
    assert stats["resumed_from_step"] >= 5 and stats["steps"] > stats["resumed_from_step"]
    assert (out / "model" / "model.safetensors").is_file()


def _registered_checkpoint(storage: Path) -> bool:
    return any(
        "checkpoint_" in snap.read_text(errors="ignore")
        for snap in storage.glob("*/checkpoint_manager_snapshot.json")
    )
