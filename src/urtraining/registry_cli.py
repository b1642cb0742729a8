"""``urtraining publish|promote|rollback``: the model registry from the command line.

DEST is a local folder or ``s3://bucket/prefix``; S3 endpoint, region and credentials come
from the standard AWS environment/config (``AWS_ENDPOINT_URL``, ``AWS_PROFILE``, ...).
Each command prints one JSON object on stdout.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import typer

DEST_HELP = "registry root: a folder or s3://bucket/prefix"


def publish(
    run: Path = typer.Option(..., "--run", help="run folder with model/ and metrics.json"),
    to: str = typer.Option(..., "--to", help=DEST_HELP),
    model_name: str = typer.Option("recommender", "--model-name"),
) -> None:
    """Upload a run's model (with metrics, config, data hashes, code version) as a new version."""
    from urtraining.registry import ModelRegistry
    from urtraining.store import open_store

    registry = ModelRegistry(open_store(to), model_name)
    version = registry.publish(run)
    _emit({"version": version, "uri": registry.store.describe(f"{registry.prefix}/{version}")})


def promote(
    to: str = typer.Option(..., "--to", help=DEST_HELP),
    version: str | None = typer.Option(None, "--version", help="default: the latest version"),
    force: bool = typer.Option(False, "--force", help="promote even if it scores lower (logged)"),
    courses: Path | None = typer.Option(None, "--courses", help="courses.jsonl to re-index"),
    milvus_uri: str | None = typer.Option(None, "--milvus-uri", help="Milvus Lite file or URI"),
    collection: str | None = typer.Option(None, "--collection", help="alias serving reads"),
    model_name: str = typer.Option("recommender", "--model-name"),
) -> None:
    """Make a version champion if its test NDCG@10 is at least the champion's.

    With --courses, the catalogue is re-embedded with the new model into a new Milvus
    collection and the alias switched before the pointer moves.
    """
    from urtraining.registry import ModelRegistry
    from urtraining.store import open_store

    _log_to_stderr()
    registry = ModelRegistry(open_store(to), model_name)
    reindex = _reindexer(registry, courses, milvus_uri, collection)
    result = registry.promote(version, force=force, before_switch=reindex)
    if not result.promoted:
        print(f"urtraining: not promoted: {result.reason}", file=sys.stderr)
    _emit(result.to_json())


def rollback(
    to: str = typer.Option(..., "--to", help=DEST_HELP),
    courses: Path | None = typer.Option(None, "--courses", help="courses.jsonl to re-index"),
    milvus_uri: str | None = typer.Option(None, "--milvus-uri"),
    collection: str | None = typer.Option(None, "--collection"),
    model_name: str = typer.Option("recommender", "--model-name"),
) -> None:
    """Move the champion pointer back to the version it replaced (logged)."""
    from urtraining.registry import ModelRegistry
    from urtraining.store import open_store

    _log_to_stderr()
    registry = ModelRegistry(open_store(to), model_name)
    result = registry.rollback(before_switch=_reindexer(registry, courses, milvus_uri, collection))
    _emit(result.to_json())


def _reindexer(registry, courses: Path | None, milvus_uri: str | None, collection: str | None):
    """The index rebuild run before the pointer moves, or None when no catalogue is given."""
    from urtraining.errors import UsageError

    if courses is None:
        if milvus_uri or collection:
            raise UsageError("--milvus-uri/--collection need --courses FILE")
        return None
    if not courses.is_file():
        raise UsageError(f"--courses {courses}: file not found")

    def reindex(version: str) -> dict:
        import tempfile

        from urtraining.config import IndexConfig
        from urtraining.domain import Course
        from urtraining.index import build_index
        from urtraining.io import read_jsonl

        cfg = IndexConfig()
        cfg = cfg.model_copy(
            update={k: v for k, v in {"uri": milvus_uri, "collection": collection}.items() if v}
        )
        catalogue = read_jsonl(courses, Course)
        with tempfile.TemporaryDirectory(prefix=f"model-{version}-") as tmp:
            model_dir = registry.fetch_model(version, Path(tmp) / "model")
            physical = build_index(model_dir, catalogue, cfg, Path.cwd())
        return {"collection": physical, "alias": cfg.collection, "courses": len(catalogue)}

    return reindex


def _emit(data: dict) -> None:
    print(json.dumps(data, indent=2))


def _log_to_stderr() -> None:
    # Forced promotions and rollbacks are logged as warnings: make sure a human sees them.
    logging.basicConfig(level=logging.INFO, format="urtraining: %(levelname)s %(message)s")
