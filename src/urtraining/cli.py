"""The ``urtraining`` command (DESIGN.md §5).

Commands stay thin: each parses its options and calls one stage function. Bad input leaves
through :class:`UsageError` (or a known error type) as one line on stderr and exit code 2.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from enum import StrEnum
from pathlib import Path

import typer

from urtraining.errors import UsageError, known_errors

app = typer.Typer(
    name="urtraining",
    help="UrTraining ML: course recommender and image-to-tracker.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

ConfigOpt = typer.Option(None, "--config", "-c", help="run config YAML (default: the run's own)")
SetOpt = typer.Option([], "--set", help="override a config value: section.key=value")
RunOpt = typer.Option(Path("runs/demo"), "--run", "--out", help="the run folder")


class What(StrEnum):
    all = "all"
    users = "users"
    courses = "courses"
    coaches = "coaches"


class Backend(StrEnum):
    procedural = "procedural"
    local = "local"
    openai = "openai"
    vllm = "vllm"


class TeacherBackend(StrEnum):
    rules = "rules"
    local = "local"
    openai = "openai"
    vllm = "vllm"


class CourseTypeOpt(StrEnum):
    gym = "gym"
    swimming = "swimming"
    other = "other"


def _config(run: Path | None, config: Path | None, sets: list[str]):
    """The explicit file, else the run folder's resolved config, else the defaults."""
    from urtraining.config import load_config

    if config is None and run is not None and (run / "config.yaml").is_file():
        config = run / "config.yaml"
    return load_config(config, sets)


DEFAULT_CONFIG = Path("configs/local.yaml")


def _embedded_or(config: Path, sets: list[str]):
    """``config``; the embedded default file may be absent (run outside the repository),
    and then the built-in defaults it mirrors apply. Any other missing file is an error."""
    from urtraining.config import load_config

    return load_config(None if config == DEFAULT_CONFIG and not config.exists() else config, sets)


def _roster_overrides(prefix: str, backend, model, base_url) -> list[str]:
    sets = [f"{prefix}.backend={backend.value}"] if backend else []
    if model or base_url:
        kind = backend.value if backend else "openai"
        entry = {"backend": kind if kind not in ("procedural", "rules") else "local"}
        if model:
            entry["model"] = model
        if base_url:
            entry["base_url"] = base_url
        sets.append(f"{prefix}.roster={json.dumps([entry])}")
    return sets


@app.command()
def run(
    config: Path = typer.Option(DEFAULT_CONFIG, "--config", "-c"),
    out: Path = typer.Option(Path("runs/demo"), "--out", "--run"),
    sets: list[str] = SetOpt,
    force: bool = typer.Option(False, help="rerun every stage even if unchanged"),
):
    """Run the whole local pipeline: synth, rank, assemble, train, evaluate, index."""
    from urtraining.runner import run_pipeline

    cfg = _embedded_or(config, sets)
    run_pipeline(cfg, out, force=force)
    _print_metrics(out)


@app.command()
def synth(
    what: What = typer.Argument(What.all, help="all (a whole dataset), users, courses, coaches"),
    n: int | None = typer.Option(None, "-n", min=1, help="how many records"),
    backend: Backend | None = typer.Option(None, help="generator backend"),
    model: str | None = typer.Option(None, help="LLM model name (LLM backends)"),
    base_url: str | None = typer.Option(None, help="OpenAI-compatible endpoint URL"),
    out: Path = RunOpt,
    config: Path | None = ConfigOpt,
    sets: list[str] = SetOpt,
):
    """Generate synthetic users, courses (with coach forms) or coach forms."""
    from urtraining import runner
    from urtraining.io import write_jsonl
    from urtraining.synth import get_generator

    sets = [*sets, *_roster_overrides("synth", backend, model, base_url)]
    if what is What.all:
        if n:
            sets.append(f"synth.n_users={n}")
        cfg = _config(out, config, sets)
        runner.prepare_run(out, cfg)
        runner.run_stage(runner.get_stage("synth"), out, cfg, force=True)
        return
    if what is What.users:
        sets.extend([f"synth.n_users={n}"] if n else [])
        cfg = _config(out, config, sets)
        out.mkdir(parents=True, exist_ok=True)
        # histories need courses: simulated over courses.jsonl when the folder has one
        stats = runner.synth_users(out, cfg, with_history=(out / "courses.jsonl").is_file())
    elif what is What.courses:
        sets.extend([f"synth.n_courses={n}"] if n else [])
        cfg = _config(out, config, sets)
        out.mkdir(parents=True, exist_ok=True)
        stats = runner.synth_courses(out, cfg)
    else:
        cfg = _config(out, config, sets)
        out.mkdir(parents=True, exist_ok=True)
        gen = get_generator(cfg.synth, out / "cache")
        count = n or cfg.synth.n_courses
        coaches_fn = getattr(gen, "coaches", None)
        coaches = (
            coaches_fn(count, cfg.synth.seed)
            if coaches_fn
            else [c.coach for c in gen.courses(count, cfg.synth.seed)]
        )
        write_jsonl(out / "coaches.jsonl", coaches)
        stats = {"coaches": len(coaches), **runner.accounting_stats(gen, "coaches")}
    typer.echo(json.dumps(stats, indent=2), err=True)


def _one_stage(name: str, run_dir: Path, config: Path | None, sets: list[str]) -> None:
    from urtraining import runner

    if not run_dir.is_dir():
        raise UsageError(
            f"run folder not found: {run_dir} (run `urtraining synth --out {run_dir}`)"
        )
    cfg = _config(run_dir, config, sets)
    runner.prepare_run(run_dir, cfg)
    runner.run_stage(runner.get_stage(name), run_dir, cfg)


@app.command()
def rank(
    run_dir: Path = RunOpt,
    backend: TeacherBackend | None = typer.Option(None, help="teacher backend"),
    model: str | None = typer.Option(None, help="LLM model name (LLM teachers)"),
    base_url: str | None = typer.Option(None, help="OpenAI-compatible endpoint URL"),
    config: Path | None = ConfigOpt,
    sets: list[str] = SetOpt,
):
    """Rank every course for every user with the teacher (rules or a reasoning LLM)."""
    _one_stage(
        "rank", run_dir, config, [*sets, *_roster_overrides("teacher", backend, model, base_url)]
    )


@app.command()
def assemble(run_dir: Path = RunOpt, config: Path | None = ConfigOpt, sets: list[str] = SetOpt):
    """Split users, render texts and build training examples with hard negatives."""
    _one_stage("assemble", run_dir, config, sets)


@app.command()
def train(
    run_dir: Path = RunOpt,
    workers: int | None = typer.Option(None, min=0, help="Ray Train workers (0: in-process)"),
    gpu: bool = typer.Option(False, "--gpu", help="train on GPUs"),
    ray_address: str | None = typer.Option(None, help="an existing Ray cluster ('auto', URI)"),
    config: Path | None = ConfigOpt,
    sets: list[str] = SetOpt,
):
    """Fine-tune the bi-encoder on the assembled dataset."""
    sets = list(sets)
    if workers is not None:
        sets.append(f"train.workers={workers}")
    if gpu:
        sets.append("train.use_gpu=true")
    if ray_address:
        sets.append(f"train.ray_address={ray_address}")
    _one_stage("train", run_dir, config, sets)


@app.command()
def evaluate(run_dir: Path = RunOpt, config: Path | None = ConfigOpt, sets: list[str] = SetOpt):
    """NDCG/Recall/MRR@k of BM25, the base and the fine-tuned model -> metrics.json."""
    _one_stage("evaluate", run_dir, config, sets)
    _print_metrics(run_dir)


@app.command("index")
def index_cmd(
    run_dir: Path = RunOpt,
    milvus_uri: str | None = typer.Option(None, help="Milvus server URI or Lite file"),
    config: Path | None = ConfigOpt,
    sets: list[str] = SetOpt,
):
    """Embed the course catalogue into a new Milvus collection and switch the alias."""
    _one_stage(
        "index", run_dir, config, [*sets, *([f"index.uri={milvus_uri}"] if milvus_uri else [])]
    )


def _read_json(path: Path):
    if not path.is_file():
        raise UsageError(f"{path}: file not found")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not a UTF-8 text file") from exc


def _validated(model, data, source: Path):
    from pydantic import ValidationError

    from urtraining.config import first_error

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise UsageError(f"{source}: {first_error(exc)}") from exc


@app.command()
def recommend(
    run_dir: Path = typer.Option(..., "--run", help="a run folder with model and index"),
    user: Path = typer.Option(..., "--user", help="a UserProfile JSON file"),
    k: int = typer.Option(10, "-k", min=1, max=1000),
    course_type: CourseTypeOpt | None = typer.Option(None, "--type"),
    metadata: Path | None = typer.Option(None, help="the user's InteractionMetadata JSON"),
):
    """Recommend courses for one user -> JSON array on stdout."""
    from urtraining.domain import CourseType, InteractionMetadata, UserProfile
    from urtraining.recommend import Recommender

    profile = _validated(UserProfile, _read_json(user), user)
    meta = _validated(InteractionMetadata, _read_json(metadata), metadata) if metadata else None
    rec = Recommender.from_run(run_dir)
    try:
        rows = rec.recommend(
            [profile],
            k=k,
            course_type=CourseType(course_type.value) if course_type else None,
            metadata=[meta],
        )[0]
    finally:
        rec.close()
    print(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))


def _print_metrics(run_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    path = run_dir / "metrics.json"
    if not path.is_file():
        return
    m = json.loads(path.read_text())
    k = m.get("k", 10)
    table = Table(title=f"Test users ({m['users']}) — {run_dir}")
    for col in ("courses", "model", f"ndcg@{k}", f"recall@{k}", f"mrr@{k}"):
        table.add_column(col)
    for label, block in (("all", m["models"]), ("cold", m["cold_courses"]["models"])):
        for name, v in block.items():
            table.add_row(
                label, name, *(f"{v[c]:.3f}" for c in (f"ndcg@{k}", f"recall@{k}", f"mrr@{k}"))
            )
    Console(stderr=True).print(table)


@app.command()
def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out"),
    config: Path = typer.Option(DEFAULT_CONFIG, "--config", "-c"),
    sets: list[str] = SetOpt,
):
    """The main job on the embedded defaults, then example recommendations (and a tracker)."""
    from urtraining.demo import run_demo

    run_demo(out, _embedded_or(config, sets))


@app.command()
def schema(name: str = typer.Argument(..., help="UserProfile, Course, Ranking, TrackerEntry, ...")):
    """Print the JSON Schema of a data contract."""
    from urtraining.domain import SCHEMA_MODELS

    if name not in SCHEMA_MODELS:
        raise UsageError(f"unknown schema {name!r}; choose one of {', '.join(SCHEMA_MODELS)}")
    print(json.dumps(SCHEMA_MODELS[name].model_json_schema(), indent=2))


# --- commands contributed by subpackages: each module defines typed functions, registered here
# (keep each line's imports light: heavy libraries are imported inside the functions).
from urtraining import pipeline_cli, registry_cli, serve_cli  # noqa: E402
from urtraining.tracker import cli as tracker_cli  # noqa: E402

app.command("track")(tracker_cli.track)
app.command("serve")(serve_cli.serve)
app.command("publish")(registry_cli.publish)
app.command("promote")(registry_cli.promote)
app.command("rollback")(registry_cli.rollback)
app.add_typer(pipeline_cli.app, name="pipeline")


OUR_LOGGERS = ("urtraining", "serving", "components", "pipelines")


def _ours_or_warning(record: logging.LogRecord) -> bool:
    # Some libraries (bm25s) set their own loggers to DEBUG at import; only a warning or
    # worse from them reaches the user.
    return record.levelno >= logging.WARNING or record.name.split(".")[0] in OUR_LOGGERS


def _setup_logging() -> None:
    from rich.console import Console
    from rich.logging import RichHandler

    # stderr: stdout carries the commands' JSON (recommend, track, publish, promote)
    handler = RichHandler(console=Console(stderr=True), show_path=False, show_time=False)
    handler.addFilter(_ours_or_warning)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", handlers=[handler])
    for ours in OUR_LOGGERS:
        logging.getLogger(ours).setLevel(os.environ.get("URTRAINING_LOG", "INFO"))
    # Milvus Lite's in-process gRPC server logs a traceback for optional RPCs it lacks
    # (AllocTimestamp) although the client falls back and nothing fails.
    logging.getLogger("grpc._server").setLevel(logging.CRITICAL)


def main() -> None:
    from pydantic import ValidationError

    from urtraining.config import first_error

    _setup_logging()
    try:
        app(standalone_mode=False)
    except ValidationError as exc:
        print(f"urtraining: error: {first_error(exc)}", file=sys.stderr)
        sys.exit(2)
    except known_errors() as exc:
        msg = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        print(
            f"urtraining: error: {msg.splitlines()[0] if msg else type(exc).__name__}",
            file=sys.stderr,
        )
        sys.exit(2)
    except KeyboardInterrupt:
        print("urtraining: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
