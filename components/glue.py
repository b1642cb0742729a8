"""The one piece of glue every KFP component uses: artifacts in, run folder, stage, artifacts out.

A KFP component receives its inputs as artifact paths (files or folders) and must hand back
output artifacts. The stage functions of :mod:`urtraining.runner` work on a run folder
(DESIGN.md §4). :func:`run_step` bridges the two: it lays the input artifacts out as a run
folder (symlinks, nothing copied), writes the step's ``config.yaml``, runs the step's stage
function, in-process or in a KubeRay RayJob, and copies the named outputs into the output
artifacts. The component definitions (``components.stages``) only name their artifacts.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("urtraining.components")

#: Output of a step: an artifact path and what of the run folder goes there (one file or
#: folder as the artifact itself, or several names inside an artifact folder).
Outputs = Mapping[str, str | list[str]]


# -- the steps ---------------------------------------------------------------------------------
def _users(run: Path, cfg) -> dict:
    from urtraining.runner import synth_users

    # profiles only: histories need the courses, which are generated beside them
    return synth_users(run, cfg, with_history=False)


def _courses(run: Path, cfg) -> dict:
    from urtraining.runner import synth_courses

    return synth_courses(run, cfg)


def _rank(run: Path, cfg) -> dict:
    from urtraining.runner import simulate_history, stage_rank

    # the teacher needs the interaction histories: simulating them is too small for a task
    return {**simulate_history(run, cfg), **stage_rank(run, cfg)}


def _stage(name: str) -> Callable[[Path, object], dict]:
    def call(run: Path, cfg) -> dict:
        from urtraining.runner import get_stage

        return get_stage(name).fn(run, cfg)

    return call


@dataclass(frozen=True)
class Step:
    fn: Callable[[Path, object], dict]
    inputs: tuple[str, ...]  # run-relative names the step reads
    outputs: tuple[str, ...]  # run-relative names it writes (those that exist are shipped back)
    ray: bool = False  # may run on a Ray cluster (ray_mode=rayjob)


DATA = ("users.jsonl", "metadata.jsonl", "courses.jsonl", "rankings.jsonl")
STEPS: dict[str, Step] = {
    "users": Step(_users, (), ("users.jsonl",), ray=True),
    "courses": Step(_courses, (), ("courses.jsonl",), ray=True),
    "rank": Step(
        _rank,
        ("users.jsonl", "courses.jsonl"),
        ("metadata.jsonl", "diversity.json", "rankings.jsonl"),
        ray=True,
    ),
    "assemble": Step(_stage("assemble"), DATA, ("dataset",)),
    "train": Step(_stage("train"), ("dataset",), ("model", "train_stats.json"), ray=True),
    "evaluate": Step(
        _stage("evaluate"), ("model", "dataset", *DATA), ("metrics.json", "metrics.md")
    ),
    "index": Step(_stage("index"), ("model", "courses.jsonl"), ("index.json", "milvus.db")),
}


# -- run folder <-> artifacts --------------------------------------------------------------------
def setup_logging() -> None:
    level = os.environ.get("URTRAINING_LOG", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")


def layout(run: Path, inputs: Mapping[str, str]) -> Path:
    """Link each input artifact into ``run`` under its run-folder name."""
    run.mkdir(parents=True, exist_ok=True)
    for name, src in inputs.items():
        src_path = Path(src)
        if not src_path.exists():
            raise FileNotFoundError(f"input artifact {name!r} is missing: {src}")
        target = run / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.exists():
            _remove(target)
        target.symlink_to(src_path.resolve(), target_is_directory=src_path.is_dir())
    return run


def collect(run: Path, outputs: Outputs) -> None:
    """Copy run-folder results into output artifacts (a file or folder, or a folder of names)."""
    for dest, names in outputs.items():
        dest_path = Path(dest)
        if isinstance(names, str):
            _copy(run / names, dest_path, required=True)
            continue
        dest_path.mkdir(parents=True, exist_ok=True)
        for name in names:
            _copy(run / name, dest_path / name, required=False)


def _copy(src: Path, dest: Path, required: bool) -> None:
    if not src.exists():
        if required:
            raise FileNotFoundError(f"the step did not produce {src.name}")
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_symlink() or dest.exists():
        _remove(dest)
    if src.is_dir():
        shutil.copytree(src, dest, symlinks=False)
    else:
        shutil.copy2(src, dest)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def working_run(prefix: str) -> tempfile.TemporaryDirectory:
    # KFP pods mount an emptyDir at /tmp for this (the root filesystem is read-only)
    return tempfile.TemporaryDirectory(prefix=f"urt-{prefix}-")


def load_step_config(config_path: str, extra: list[str] | None = None):
    from urtraining.config import load_config

    return load_config(Path(config_path), extra or [])


# -- one step, in-process or on Ray ---------------------------------------------------------------
def run_step(
    step: str,
    config: str,
    inputs: Mapping[str, str] | None = None,
    outputs: Outputs | None = None,
    ray: Mapping | None = None,
) -> dict:
    """Run pipeline step ``step`` over its input artifacts; returns the stage's stats."""
    setup_logging()
    spec = STEPS[step]
    ray = dict(ray or {})
    with working_run(step) as tmp:
        run = layout(Path(tmp) / "run", inputs or {})
        cfg = load_step_config(config)
        # the run's own config, as `urtraining` writes it (registry and resume read it)
        (run / "config.yaml").write_text(cfg.to_yaml())
        started = time.perf_counter()
        if spec.ray and ray.get("mode", "local") == "rayjob":
            stats = run_on_rayjob(step, run, ray)
        elif ray.get("mode", "local") in ("local", "rayjob"):
            stats = spec.fn(run, cfg)
        else:
            raise ValueError(f"ray mode must be local or rayjob, not {ray.get('mode')!r}")
        log.info("%s: %.1f s, %s", step, time.perf_counter() - started, json.dumps(stats)[:2000])
        collect(run, outputs or {})
    return stats


def run_remote_step(step: str, staging_uri: str) -> dict:
    """Inside a RayJob: fetch the staged run folder, run the step against this Ray cluster,
    stage its outputs back (``python -m components.remote STEP URI``)."""
    from urtraining.store import open_store

    setup_logging()
    spec = STEPS[step]
    store = open_store(staging_uri)
    with working_run(f"remote-{step}") as tmp:
        run = Path(tmp) / "run"
        _download(store, "in", run)
        # every Ray user in the stage joins the job's cluster instead of starting its own
        cfg = load_step_config(
            str(run / "config.yaml"),
            ["synth.ray_address=auto", "teacher.ray_address=auto", "train.ray_address=auto"],
        )
        stats = spec.fn(run, cfg)
        for name in spec.outputs:
            if (run / name).exists():
                _upload(store, run / name, f"out/{name}")
        store.put_json("out/stats.json", stats)
    return stats


def run_on_rayjob(step: str, run: Path, ray: Mapping) -> dict:
    """Stage the run folder in S3, run the step as a RayJob, fetch its outputs back."""
    from urtraining import rayjob
    from urtraining.store import join, open_store

    staging = str(ray.get("staging_uri") or "")
    if not staging:
        raise ValueError("ray_mode=rayjob needs ray_staging_uri (s3://bucket/prefix)")
    name = rayjob.job_name(step)
    job_uri = f"{staging.rstrip('/')}/{name}"
    store = open_store(job_uri)
    for name_in in [*STEPS[step].inputs, "config.yaml"]:
        if (run / name_in).exists():
            _upload(store, run / name_in, join("in", name_in))
    custom, core = rayjob.kube_clients()
    opts = rayjob.RayJobOptions(
        name=name,
        namespace=ray.get("namespace") or rayjob.current_namespace(),
        image=ray["image"],
        entrypoint=f"python -m components.remote {step} {job_uri}",
        workers=int(ray.get("workers") or 1),
        gpus_per_worker=int(ray.get("gpus_per_worker") or 0),
        cluster=ray.get("cluster") or "",
        env={k: v for k, v in os.environ.items() if k in _FORWARDED_ENV},
        env_from_secrets=[s for s in ray.get("secrets", []) if s],
        labels={"urtraining.io/step": step},
    )
    manifest = rayjob.build_manifest(rayjob.load_template(ray.get("template") or None), opts)
    runner = rayjob.RayJobRunner(
        custom,
        core,
        poll_s=float(ray.get("poll_s", 10)),
        timeout_s=float(ray.get("timeout_s", 24 * 3600)),
        cleanup=ray.get("cleanup", "always"),
    )
    try:
        runner.run(manifest)
        for out in STEPS[step].outputs:
            key = join("out", out)
            if store.exists(key) or store.list_keys(key):
                _download(store, key, run / out)
        return store.get_json("out/stats.json")
    finally:
        if ray.get("cleanup", "always") != "never":
            store.delete_prefix("")


#: non-secret settings the RayJob's pods need to reach the same S3 as this step
_FORWARDED_ENV = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_DEFAULT_REGION", "AWS_REGION")


def _upload(store, path: Path, key: str) -> None:
    from urtraining.store import join, tree_files

    if path.is_dir():
        for rel, file in tree_files(path.resolve()).items():
            store.put_file(file, join(key, rel))
    else:
        store.put_file(path.resolve(), key)


def _download(store, key: str, dest: Path) -> None:
    from urtraining.store import join

    if store.exists(key):  # one object
        store.get_file(key, dest)
        return
    keys = store.list_keys(key)  # a folder: every object under key/
    if not keys:
        raise FileNotFoundError(f"{store.describe(key)}: nothing staged")
    for full in keys:
        rel = full[len(join(key)) + 1 :]
        store.get_file(full, dest / rel)


# -- configuration ---------------------------------------------------------------------------------
def pipeline_overrides(params: Mapping[str, object]) -> list[str]:
    """Pipeline parameters -> ``--set`` overrides; an empty/zero/negative value keeps the
    config's own (``-1`` for counts where 0 is meaningful)."""
    sets: list[str] = []

    def put(key: str, value: object, keep: Callable[[object], bool]) -> None:
        if not keep(value):
            sets.append(f"{key}={json.dumps(value) if not isinstance(value, str) else value}")

    empty = lambda v: v in ("", None)  # noqa: E731
    nonpositive = lambda v: v is None or v <= 0  # noqa: E731
    negative = lambda v: v is None or v < 0  # noqa: E731
    put("synth.n_users", params.get("n_users"), nonpositive)
    put("synth.n_courses", params.get("n_courses"), nonpositive)
    put("synth.seed", params.get("seed"), negative)
    put("synth.backend", params.get("synth_backend"), empty)
    put("synth.roster", params.get("synth_roster"), empty)
    put("teacher.backend", params.get("teacher_backend"), empty)
    put("teacher.roster", params.get("teacher_roster"), empty)
    put("train.base_model", params.get("base_model"), empty)
    put("train.loss", params.get("loss"), empty)
    put("train.epochs", params.get("epochs"), nonpositive)
    put("train.batch_size", params.get("batch_size"), nonpositive)
    put("train.workers", params.get("ray_workers"), negative)
    put("index.uri", params.get("milvus_uri"), empty)
    put("index.collection", params.get("milvus_collection"), empty)
    gpus = params.get("train_gpus") or 0
    if params.get("ray_mode") == "rayjob":
        gpus = params.get("ray_gpus_per_worker") or 0
    if gpus > 0:
        sets.append("train.use_gpu=true")
    sets += [s for s in params.get("overrides") or [] if s]
    return sets


def configure(config_yaml: str, params: Mapping[str, object], out_path: str) -> str:
    """Resolve base YAML + pipeline parameters into one ``config.yaml``; returns its text."""
    from urtraining.config import load_config

    setup_logging()
    with tempfile.TemporaryDirectory(prefix="urt-config-") as tmp:
        base = None
        if config_yaml.strip():
            base = Path(tmp) / "base.yaml"
            base.write_text(config_yaml)
        cfg = load_config(base, pipeline_overrides(params))
    text = cfg.to_yaml()
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_text(text)
    log.info("resolved config:\n%s", text)
    return text


def metric_scalars(metrics_path: str) -> dict[str, float]:
    """Flat ``model/metric`` scalars of a metrics.json, for KFP's Metrics artifact."""
    data = json.loads(Path(metrics_path).read_text())
    out: dict[str, float] = {}
    for prefix, block in (
        ("", data.get("models", {})),
        ("cold/", data.get("cold_courses", {}).get("models", {})),
    ):
        for model, values in block.items():
            for metric, value in values.items():
                if isinstance(value, int | float):
                    out[f"{prefix}{model}/{metric}"] = float(value)
    return out


# -- gate, registry, deploy ------------------------------------------------------------------------
def gate(metrics_path: str, registry_uri: str, min_improvement: float = 0.0) -> tuple[str, str]:
    """("promote" | "keep", reason): promote when the candidate's test NDCG@10 beats the
    registry's champion by more than ``min_improvement`` (always, when there is none yet)."""
    from urtraining.registry import METRIC, ModelRegistry, test_score
    from urtraining.store import open_store

    setup_logging()
    candidate = test_score(json.loads(Path(metrics_path).read_text()))
    if not registry_uri:
        return "keep", "no registry_uri: nothing to publish to"
    registry = ModelRegistry(open_store(registry_uri), "recommender")
    champion = registry.champion()
    if champion is None:
        decision, reason = "promote", f"no champion yet; candidate {METRIC}={candidate:.4f}"
    else:
        best = registry.score(champion["version"])
        beats = candidate - best > min_improvement
        decision = "promote" if beats else "keep"
        reason = (
            f"candidate {METRIC}={candidate:.4f} vs champion {champion['version']} "
            f"{METRIC}={best:.4f} (min improvement {min_improvement})"
        )
    log.info("gate: %s: %s", decision, reason)
    return decision, reason


def publish(registry_uri: str, config: str, inputs: Mapping[str, str]) -> str:
    """Publish the run's model, metrics, config and data hashes as a new registry version."""
    from urtraining.registry import ModelRegistry
    from urtraining.store import open_store

    setup_logging()
    with working_run("publish") as tmp:
        run = layout(Path(tmp) / "kfp-run", inputs)
        (run / "config.yaml").write_text(load_step_config(config).to_yaml())
        version = ModelRegistry(open_store(registry_uri), "recommender").publish(run)
    log.info("published %s", version)
    return version


def promote(registry_uri: str, version: str) -> str:
    """Make ``version`` champion (the registry re-checks >= champion); fails if it declines."""
    from urtraining.registry import ModelRegistry
    from urtraining.store import open_store

    setup_logging()
    result = ModelRegistry(open_store(registry_uri), "recommender").promote(version)
    if not result.promoted:
        # the gate said yes; a "no" here means another run's champion got there first
        raise RuntimeError(f"promotion of {version} declined: {result.reason}")
    log.info("champion: %s (%s)", version, result.reason)
    return version


def model_uri(registry_uri: str, version: str) -> str:
    """Where a version's model folder lives: what the InferenceService's storageUri names."""
    from urtraining.registry import ModelRegistry
    from urtraining.store import join, open_store

    registry = ModelRegistry(open_store(registry_uri), "recommender")
    return registry.store.describe(join(registry.prefix, registry.require(version), "model"))


def deploy(
    registry_uri: str, version: str, target: str, isvc_name: str, namespace: str, custom=None
) -> str:
    """Point the recommender InferenceService at ``version``; returns what happened.

    ``target``: ``none`` skips; ``kserve`` patches (no cluster configuration is an error);
    ``auto`` patches when a cluster configuration exists and skips with the reason otherwise.
    """
    from urtraining import rayjob

    setup_logging()
    if target not in ("none", "auto", "kserve"):
        raise ValueError(f"deploy_target must be none|auto|kserve, not {target!r}")
    if target == "none":
        reason = "skipped: deploy_target=none"
        log.info("deploy %s", reason)
        return reason
    if custom is None:
        try:
            custom, _ = rayjob.kube_clients()
        except rayjob.KubeUnavailable as exc:
            if target == "kserve":
                raise
            reason = f"skipped: deploy_target=auto and {exc}"
            log.info("deploy %s", reason)
            return reason
    uri = model_uri(registry_uri, version)
    return patch_inference_service(custom, isvc_name, namespace or rayjob.current_namespace(), uri)


def patch_inference_service(custom, name: str, namespace: str, storage_uri: str) -> str:
    body = {"spec": {"predictor": {"model": {"storageUri": storage_uri}}}}
    custom.patch_namespaced_custom_object(
        "serving.kserve.io", "v1beta1", namespace, "inferenceservices", name, body
    )
    log.info("InferenceService %s/%s -> %s", namespace, name, storage_uri)
    return f"deployed: {namespace}/{name} storageUri={storage_uri}"
