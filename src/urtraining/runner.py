"""The local pipeline: stages over a run folder (DESIGN.md §4), cached by content.

Each stage's key hashes its config sections and its input files; a stage whose key is in the
manifest and whose outputs exist is skipped. Every output is written to a temp name and
renamed, and the manifest is rewritten after each stage, so a run killed at any point resumes
at the first unfinished stage (training itself resumes from its last checkpoint).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata as pkg_metadata
from pathlib import Path

from rich.console import Console

from urtraining.config import RunConfig, load_config
from urtraining.domain import Course, InteractionMetadata, Ranking, UserProfile
from urtraining.errors import UsageError
from urtraining.io import read_jsonl, tree_sha256, write_json, write_jsonl, write_text

log = logging.getLogger(__name__)
console = Console(stderr=True)

PACKAGES = (
    "urtraining",
    "torch",
    "sentence-transformers",
    "transformers",
    "pymilvus",
    "milvus-lite",
    "bm25s",
    "ray",
    "kfp",
    "kserve",
)


# --- reading a run --------------------------------------------------------------------------


def _need(run: Path, name: str, stage: str) -> Path:
    path = run / name
    if not path.exists():
        raise UsageError(f"{path} is missing: run `urtraining {stage} --run {run}` first")
    return path


def load_users(run: Path) -> list[UserProfile]:
    return read_jsonl(_need(run, "users.jsonl", "synth"), UserProfile)


def load_metadata(run: Path) -> dict[str, InteractionMetadata]:
    path = _need(run, "metadata.jsonl", "synth")
    return {m.user_id: m for m in read_jsonl(path, InteractionMetadata)}


def load_courses(run: Path) -> list[Course]:
    return read_jsonl(_need(run, "courses.jsonl", "synth"), Course)


def load_rankings(run: Path) -> dict[str, Ranking]:
    return {r.user_id: r for r in read_jsonl(_need(run, "rankings.jsonl", "rank"), Ranking)}


def load_run_config(run: Path) -> RunConfig:
    path = Path(run) / "config.yaml"
    if not path.is_file():
        raise UsageError(f"{path} is missing: {run} is not a run folder (run `urtraining run`)")
    return load_config(path)


# --- stages -----------------------------------------------------------------------------------


def stage_synth(run: Path, cfg: RunConfig) -> dict:
    """Courses, then users with their interaction histories over those courses."""
    stats = synth_courses(run, cfg)
    stats.update(synth_users(run, cfg, with_history=True))
    return stats


def synth_courses(run: Path, cfg: RunConfig) -> dict:
    from urtraining.synth import get_generator

    gen = get_generator(cfg.synth, run / "cache")
    courses = gen.courses(cfg.synth.n_courses, cfg.synth.seed)
    write_jsonl(run / "courses.jsonl", courses)
    return {"courses": len(courses), **accounting_stats(gen, "courses")}


def synth_users(run: Path, cfg: RunConfig, with_history: bool) -> dict:
    """User profiles; with ``with_history`` also their histories over ``courses.jsonl``
    (a pipeline generates profiles beside the courses and simulates histories after)."""
    from urtraining.synth import get_generator

    gen = get_generator(cfg.synth, run / "cache")
    courses = load_courses(run) if with_history else []
    pairs = gen.users(cfg.synth.n_users, cfg.synth.seed, courses)
    write_jsonl(run / "users.jsonl", [u for u, _ in pairs])
    stats = {"users": len(pairs), **accounting_stats(gen, "users")}
    if with_history:
        write_jsonl(run / "metadata.jsonl", [m for _, m in pairs if m is not None])
        write_diversity(run, [u for u, _ in pairs], courses)
        stats["with_metadata"] = sum(m is not None for _, m in pairs)
    return stats


def simulate_history(run: Path, cfg: RunConfig) -> dict:
    """Interaction histories for generated profiles over generated courses (procedural:
    behaviour is simulated, whichever backend wrote the profiles)."""
    from urtraining.synth.procedural import simulate_interactions

    users, courses = load_users(run), load_courses(run)
    history = simulate_interactions(users, courses, cfg.synth.seed)
    write_jsonl(run / "metadata.jsonl", [m for m in history.values() if m is not None])
    write_diversity(run, users, courses)
    return {"with_metadata": sum(m is not None for m in history.values())}


def write_diversity(run: Path, users, courses) -> None:
    from urtraining.synth.diversity import diversity_report

    write_json(run / "diversity.json", diversity_report(users, courses))


def accounting_stats(obj, task: str) -> dict:
    accounting = getattr(obj, "accounting", None)
    return {f"accounting_{task}": _plain(accounting)} if accounting else {}


def stage_rank(run: Path, cfg: RunConfig) -> dict:
    from urtraining.synth import get_teacher

    teacher = get_teacher(cfg.teacher, run / "cache")
    rankings = teacher.rank_many(load_users(run), load_metadata(run), load_courses(run))
    write_jsonl(run / "rankings.jsonl", rankings)
    return {
        "rankings": len(rankings),
        "teacher": teacher.name,
        **accounting_stats(teacher, "ranking"),
    }


def stage_assemble(run: Path, cfg: RunConfig) -> dict:
    from urtraining.dataset import assemble

    return assemble(
        load_users(run),
        load_metadata(run),
        load_courses(run),
        list(load_rankings(run).values()),
        cfg.dataset,
        run / "dataset",
    )


def stage_train(run: Path, cfg: RunConfig) -> dict:
    _need(run, "dataset/train.jsonl", "assemble")
    if cfg.train.workers > 0:
        from urtraining.train.ray_launcher import train_with_ray

        train_with_ray(cfg.train, run / "dataset", run)
    else:
        from urtraining.train.trainer import train_model

        train_model(cfg.train, run / "dataset", run)
    stats_file = run / "train_stats.json"
    return json.loads(stats_file.read_text()) if stats_file.exists() else {}


def stage_evaluate(run: Path, cfg: RunConfig) -> dict:
    from urtraining.dataset import Splits
    from urtraining.evaluate import evaluate_models, format_table
    from urtraining.train.trainer import load_encoder

    splits = Splits.model_validate_json(_need(run, "dataset/splits.json", "assemble").read_text())
    test = set(splits.test_users)
    users = [u for u in load_users(run) if u.user_id in test]
    encoders = {
        "base": load_encoder(cfg.train.base_model),
        "finetuned": load_encoder(_need(run, "model", "train")),
    }
    metrics = evaluate_models(
        users,
        load_metadata(run),
        load_courses(run),
        load_rankings(run),
        set(splits.cold_courses),
        encoders,
        cfg.evaluate.k,
        cfg.evaluate.batch_size,
    )
    write_json(run / "metrics.json", metrics)
    write_text(run / "metrics.md", format_table(metrics) + "\n")
    return {"ndcg@k": {m: v[f"ndcg@{cfg.evaluate.k}"] for m, v in metrics["models"].items()}}


def stage_index(run: Path, cfg: RunConfig) -> dict:
    from urtraining.index import build_index, resolve_uri

    name = build_index(_need(run, "model", "train"), load_courses(run), cfg.index, run)
    info = {
        "alias": cfg.index.collection,
        "collection": name,
        "uri": resolve_uri(cfg.index.uri, run) if "://" in cfg.index.uri else cfg.index.uri,
    }
    write_json(run / "index.json", info)
    return info


@dataclass(frozen=True)
class Stage:
    name: str
    sections: tuple[str, ...]  # config sections that change the result
    inputs: tuple[str, ...]  # run-relative files/folders whose content changes the result
    outputs: tuple[str, ...]
    fn: Callable[[Path, RunConfig], dict]


DATA = ("users.jsonl", "metadata.jsonl", "courses.jsonl")
STAGES: tuple[Stage, ...] = (
    Stage("synth", ("synth",), (), (*DATA, "diversity.json"), stage_synth),
    Stage("rank", ("teacher",), DATA, ("rankings.jsonl",), stage_rank),
    Stage(
        "assemble",
        ("dataset",),
        (*DATA, "rankings.jsonl"),
        ("dataset/train.jsonl", "dataset/val.jsonl", "dataset/splits.json"),
        stage_assemble,
    ),
    Stage("train", ("train",), ("dataset/train.jsonl",), ("model",), stage_train),
    Stage(
        "evaluate",
        ("evaluate", "train"),
        ("model", "dataset/splits.json", "rankings.jsonl", *DATA),
        ("metrics.json",),
        stage_evaluate,
    ),
    Stage("index", ("index",), ("model", "courses.jsonl"), ("index.json",), stage_index),
)
STAGE_NAMES = tuple(s.name for s in STAGES)


# --- manifest and driver ----------------------------------------------------------------------


def _plain(obj):
    return obj.model_dump(mode="json") if hasattr(obj, "model_dump") else obj


def versions() -> dict:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        with contextlib.suppress(pkg_metadata.PackageNotFoundError):
            out[name] = pkg_metadata.version(name)
    return out


def read_manifest(run: Path) -> dict:
    path = run / "manifest.json"
    if path.is_file():
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError:
            log.warning("%s is unreadable; stages will rerun", path)
    return {"stages": {}}


def stage_key(stage: Stage, run: Path, cfg: RunConfig) -> str:
    h = hashlib.sha256(stage.name.encode())
    h.update(cfg.section_hash(*stage.sections).encode())
    for name in stage.inputs:
        path = _need(run, name, next(s.name for s in STAGES if name in s.outputs))
        h.update(name.encode())
        h.update(tree_sha256(path).encode())
    return h.hexdigest()[:20]


def run_stage(stage: Stage, run: Path, cfg: RunConfig, force: bool = False) -> bool:
    """Run ``stage`` unless its key and outputs are already there; True if it ran."""
    manifest = read_manifest(run)
    key = stage_key(stage, run, cfg)
    done = manifest["stages"].get(stage.name, {})
    if not force and done.get("key") == key and all((run / o).exists() for o in stage.outputs):
        console.print(f"[green]✓[/] {stage.name}: unchanged, skipped")
        return False
    console.print(f"[cyan]→[/] {stage.name} ...")
    started = time.perf_counter()
    stats = stage.fn(run, cfg)
    seconds = round(time.perf_counter() - started, 2)
    manifest = read_manifest(run)  # a stage may take long; re-read before writing
    manifest["versions"] = versions()
    manifest["stages"][stage.name] = {
        "key": key,
        "status": "done",
        "seconds": seconds,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": cfg.section_hash(*stage.sections),
        "outputs": {o: tree_sha256(run / o) for o in stage.outputs if (run / o).exists()},
        "stats": stats,
    }
    write_json(run / "manifest.json", manifest)
    console.print(f"[green]✓[/] {stage.name}: {seconds:.1f} s")
    return True


def prepare_run(run: Path, cfg: RunConfig) -> None:
    run.mkdir(parents=True, exist_ok=True)
    write_text(run / "config.yaml", cfg.to_yaml())


def run_pipeline(
    cfg: RunConfig, run: Path, stages: Sequence[str] | None = None, force: bool = False
) -> dict:
    run = Path(run)
    prepare_run(run, cfg)
    for stage in STAGES:
        if stages is None or stage.name in stages:
            run_stage(stage, run, cfg, force=force)
    return read_manifest(run)


def get_stage(name: str) -> Stage:
    for s in STAGES:
        if s.name == name:
            return s
    raise UsageError(f"unknown stage {name!r}; stages: {', '.join(STAGE_NAMES)}")
