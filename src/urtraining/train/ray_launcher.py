"""Data-parallel training on Ray Train: the in-process trainer, run by N Ray workers.

Each worker builds the very same ``SentenceTransformerTrainer`` as ``train_model`` (through
``build_trainer``), prepared with Ray's Hugging Face integration; torch DDP (gloo on CPU, NCCL
on GPU) averages the gradients. The per-worker batch is ``batch_size / workers`` and MNRL
gathers in-batch negatives across workers, so the optimisation matches the in-process run:
same global batch, same steps, same learning-rate schedule.

Checkpoints (Hugging Face trainer state) go to ``storage_path`` (a folder or ``s3://``) via
``RayTrainReportCallback``. After a worker dies, Ray restarts the group and the loop resumes
from the latest checkpoint; after the driver dies, running the same training again (same
config, data and storage) finds the run by name and resumes too. The final model is reported
as the last checkpoint and copied to ``output_dir/model``: the same folder format as in-process.

Locally Ray stays on 127.0.0.1 with no dashboard (tests run inside ``unshare -n``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from urtraining.config import TrainConfig
from urtraining.errors import UsageError
from urtraining.io import atomic_dir, tree_sha256, write_json

log = logging.getLogger(__name__)

FINAL = "model"  # the final model inside the last Ray checkpoint
HF_CHECKPOINT = "checkpoint"  # RayTrainReportCallback.CHECKPOINT_NAME
STATS = "train_stats.json"
#: datasets up to this size travel with the job, so workers need no shared filesystem
MAX_SHIPPED_DATASET_BYTES = 256 << 20


# -- Ray session ----------------------------------------------------------------------------
def local_ray_env() -> None:
    """Environment that keeps a local Ray on loopback and quiet (set before ray.init)."""
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_TRAIN_V2_ENABLED", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("RAY_TRAIN_METRICS_ENABLED", "0")  # no Prometheus export locally


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[None]:
    """Connect to ``address`` (a cluster) or start a private local Ray on 127.0.0.1.

    An already initialised Ray (a caller's, or a test's) is used as it is and left running.
    """
    import ray

    if ray.is_initialized():
        yield
        return
    local_ray_env()
    if not address:
        # Ray reads RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER once, at import; if something imported
        # ray before the variable was set, the driver would still resolve 127.0.0.1 to the
        # host's routable address (and torch's rendezvous with it). Workers read the env.
        import ray._private.ray_constants as ray_constants

        ray_constants.ENABLE_RAY_CLUSTER = False
    if address:
        ray.init(address=address, log_to_driver=True)
    else:
        ray.init(
            address="local",  # never join a cluster found through RAY_ADDRESS by accident
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            num_cpus=num_cpus,
            num_gpus=None,
            log_to_driver=True,
        )
    try:
        yield
    finally:
        ray.shutdown()


# -- what runs on every worker --------------------------------------------------------------
def _worker_cfg(cfg: TrainConfig, world_size: int) -> TrainConfig:
    """Split the global batch across workers (at least 2 per worker for in-batch negatives)."""
    per_worker = max(2, cfg.batch_size // world_size)
    return cfg.model_copy(update={"batch_size": per_worker, "workers": 0})


def _materialise_dataset(config: dict, work: Path) -> Path:
    if config.get("dataset_files") is None:
        return Path(config["dataset_dir"])  # too big to ship: a path every worker can read
    dataset_dir = work / "dataset"
    dataset_dir.mkdir(parents=True, exist_ok=True)
    for name, data in config["dataset_files"].items():
        (dataset_dir / name).write_bytes(data)
    return dataset_dir


def _kill_once(step: int, rank: int, marker: str):
    """Fault injection for tests: SIGKILL this worker at ``step``, once per marker file."""
    import ray.train
    from transformers import TrainerCallback

    class KillOnce(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if (
                state.global_step == step
                and ray.train.get_context().get_world_rank() == rank
                and not os.path.exists(marker)
            ):
                Path(marker).write_text(str(step))
                # Ray's controller collects reported checkpoints when it polls the workers
                # (every RAY_TRAIN_HEALTH_CHECK_INTERVAL_S, 2 s): a crash right after a report
                # can lose it. Let two polls pass, so the test kills after a registered one.
                interval = float(os.environ.get("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "2"))
                time.sleep(2 * interval + 1)
                os.kill(os.getpid(), signal.SIGKILL)

    return KillOnce()


def _match_in_process_schedule(trainer, cfg: TrainConfig) -> None:
    """``build_trainer`` derives warmup and save steps from the batch it is given; with the
    batch split across workers, recompute them from the global batch (the real step count)."""
    steps = math.ceil(len(trainer.train_dataset) / cfg.batch_size * cfg.epochs)
    trainer.args.warmup_steps = int(steps * cfg.warmup_ratio)
    trainer.args.save_steps = max(5, steps // 8)


def train_loop_per_worker(config: dict) -> None:
    import ray.train
    import torch
    from ray.train.huggingface.transformers import RayTrainReportCallback, prepare_trainer

    from urtraining.train.trainer import build_trainer, train_stats

    cfg = TrainConfig.model_validate(config["cfg"])
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    torch.set_num_threads(config["threads"])

    with tempfile.TemporaryDirectory(prefix="urtraining-worker-") as tmp:
        work = Path(tmp)
        resume_from, resumed_step = None, 0
        checkpoint = ray.train.get_checkpoint()
        if checkpoint is not None:
            restored = Path(checkpoint.to_directory(str(work / "restored")))
            if (restored / FINAL).is_dir():
                # The run already finished (a rerun after the driver died late): report it again.
                stats = json.loads((restored / STATS).read_text())
                ray.train.report(stats, checkpoint=checkpoint if rank == 0 else None)
                return
            resume_from = str(restored / HF_CHECKPOINT)
            state = json.loads((restored / HF_CHECKPOINT / "trainer_state.json").read_text())
            resumed_step = int(state.get("global_step", 0))

        callbacks = [RayTrainReportCallback()]
        if config.get("kill") is not None:
            callbacks.append(_kill_once(**config["kill"]))
        trainer = build_trainer(
            _worker_cfg(cfg, world), _materialise_dataset(config, work), work / "out", callbacks
        )
        _match_in_process_schedule(trainer, cfg)
        if world > 1 and hasattr(trainer.loss, "gather_across_devices"):
            # Negatives from every worker's batch: the same contrastive task as in-process.
            trainer.loss.gather_across_devices = True
        trainer = prepare_trainer(trainer)
        result = trainer.train(resume_from_checkpoint=resume_from)

        stats = {
            **train_stats(trainer, result),
            "resumed_from_step": resumed_step,
            "workers": world,
            "per_worker_batch_size": trainer.args.per_device_train_batch_size,
            "final": True,
        }
        final = work / "final"
        final.mkdir()
        if rank == 0:
            trainer.model.save(str(final / FINAL))
            write_json(final / STATS, stats)
        # Every worker reports (Ray requires it); only rank 0 carries the model.
        ray.train.report(
            stats, checkpoint=ray.train.Checkpoint.from_directory(str(final)) if rank == 0 else None
        )


# -- driver ---------------------------------------------------------------------------------
def run_name(cfg: TrainConfig, dataset_dir: Path, output_dir: Path) -> str:
    """Stable per (config, data, output): a restarted driver finds its run and resumes it."""
    key = cfg.model_dump(mode="json", exclude={"ray_address", "storage_path", "max_failures"})
    blob = json.dumps(
        [key, tree_sha256(dataset_dir), str(Path(output_dir).resolve())], sort_keys=True
    )
    return "train-" + hashlib.sha256(blob.encode()).hexdigest()[:12]


def _dataset_payload(dataset_dir: Path) -> dict[str, bytes] | None:
    files = [p for p in sorted(dataset_dir.iterdir()) if p.is_file()]
    if sum(p.stat().st_size for p in files) > MAX_SHIPPED_DATASET_BYTES:
        return None
    return {p.name: p.read_bytes() for p in files}


def _storage_path(cfg: TrainConfig, output_dir: Path) -> str:
    if cfg.storage_path:
        text = cfg.storage_path
        return text if "://" in text else str(Path(text).expanduser().resolve())
    return str((output_dir / "ray").resolve())


def train_with_ray(
    cfg: TrainConfig,
    dataset_dir: Path,
    output_dir: Path,
    *,
    kill_worker_at_step: int | None = None,
) -> Path:
    """Train on ``cfg.workers`` Ray workers; the model lands in ``output_dir/model``.

    ``kill_worker_at_step`` is fault injection for tests: rank 0 is SIGKILLed once at that
    step, and the run must resume from its latest checkpoint.
    """
    if not cfg.ray_address:
        local_ray_env()  # before ray is imported: it reads these at import time
    import ray.train
    from ray.train.torch import TorchTrainer

    if cfg.workers < 1:
        raise UsageError("train.workers must be >= 1 for Ray training")
    dataset_dir, output_dir = Path(dataset_dir), Path(output_dir)
    if not (dataset_dir / "train.jsonl").is_file():
        raise UsageError(f"{dataset_dir}/train.jsonl not found: run `urtraining assemble` first")
    output_dir.mkdir(parents=True, exist_ok=True)

    resources = dict(cfg.resources_per_worker or {"CPU": 1})
    if cfg.use_gpu:
        resources.setdefault("GPU", 1)
    cpus_per_worker = max(1, int(resources.get("CPU", 1)))
    name = run_name(cfg, dataset_dir, output_dir)
    storage = _storage_path(cfg, output_dir)
    payload = _dataset_payload(dataset_dir)
    loop_config = {
        "cfg": cfg.model_dump(mode="json"),
        "threads": cfg.threads or cpus_per_worker,
        "dataset_dir": str(dataset_dir.resolve()),
        "dataset_files": payload,
    }
    if kill_worker_at_step is not None:
        marker = str(output_dir / f".killed-at-{kill_worker_at_step}")
        loop_config["kill"] = {"step": kill_worker_at_step, "rank": 0, "marker": marker}

    local_cpus = (
        None if cfg.ray_address else max(os.cpu_count() or 1, cfg.workers * cpus_per_worker)
    )
    with ray_session(cfg.ray_address, num_cpus=local_cpus):
        trainer = TorchTrainer(
            train_loop_per_worker,
            train_loop_config=loop_config,
            scaling_config=ray.train.ScalingConfig(
                num_workers=cfg.workers, use_gpu=cfg.use_gpu, resources_per_worker=resources
            ),
            run_config=ray.train.RunConfig(
                name=name,
                storage_path=storage,
                failure_config=ray.train.FailureConfig(max_failures=cfg.max_failures),
                checkpoint_config=ray.train.CheckpointConfig(num_to_keep=2),
                worker_runtime_env={"env_vars": _worker_env()},
            ),
        )
        log.info("Ray Train run %s: %d workers, storage %s", name, cfg.workers, storage)
        result = trainer.fit()
        if result.error is not None:
            raise result.error
        if result.checkpoint is None:
            raise RuntimeError(f"Ray Train run {name} finished without a checkpoint")
        model_dir = output_dir / "model"
        with result.checkpoint.as_directory() as ckpt:
            ckpt = Path(ckpt)
            with atomic_dir(model_dir) as tmp:
                shutil.copytree(ckpt / FINAL, tmp, dirs_exist_ok=True)
            stats = json.loads((ckpt / STATS).read_text())
    stats.update({"ray_run": name, "storage_path": storage})
    write_json(output_dir / STATS, stats)
    return model_dir


def _worker_env() -> dict[str, str]:
    """Offline model loading and quiet tokenizers on workers, like the driver."""
    keep = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "TOKENIZERS_PARALLELISM", "HF_HOME")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env
