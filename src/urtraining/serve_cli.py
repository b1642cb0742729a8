"""``urtraining serve recommender|tracker``: the KServe predictors as a local process.

Binds 127.0.0.1 unless ``--host`` says otherwise (the Helm chart passes 0.0.0.0 inside the
pod). Heavy imports (kserve, torch) happen inside the function, so ``urtraining --help``
stays fast.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path

import typer

from urtraining.errors import UsageError


class ServedModel(StrEnum):
    recommender = "recommender"
    tracker = "tracker"


def serve(
    model: ServedModel = typer.Argument(..., help="recommender or tracker"),
    host: str = typer.Option("127.0.0.1", help="interface to bind; 0.0.0.0 only in a pod"),
    port: int = typer.Option(8080, min=0, max=65535),
    model_dir: str | None = typer.Option(
        None, "--model-dir", help="recommender: model folder or s3:// URI"
    ),
    milvus_uri: str | None = typer.Option(
        None, "--milvus-uri", help="recommender: Milvus Lite file or server URI"
    ),
    collection: str = typer.Option("courses", help="recommender: collection or alias"),
    run: Path | None = typer.Option(None, "--run", help="recommender: a run folder instead"),
    encoder: str = typer.Option(
        "onnx-int8", help="recommender: torch | onnx | onnx-int8 (exported at start)"
    ),
    cache_size: int = typer.Option(4096, min=0, help="recommender: cached embeddings (0: off)"),
    search: str = typer.Option(
        "memory", help="recommender: memory (course matrix copy) | milvus (a query per user)"
    ),
    batching: bool = typer.Option(True, help="recommender: batch concurrent requests"),
    threads: int = typer.Option(
        2, min=0, help="recommender: encoder threads per call (0: the library's default)"
    ),
    workers: int = typer.Option(
        1, min=1, help="recommender: encoder calls in parallel (each on --threads threads)"
    ),
    max_seq_length: int | None = typer.Option(
        None,
        "--max-seq-length",
        min=8,
        help="recommender: tokens kept per profile text (default: the model's limit)",
    ),  # fmt: skip
    backend: str = typer.Option("ocr", help="tracker: ocr | vlm | transformers"),
    vlm_base_url: str | None = typer.Option(None, "--vlm-base-url"),
    vlm_model: str | None = typer.Option(None, "--vlm-model"),
) -> None:
    """Serve a model over KServe's v1 and v2 protocols until SIGTERM."""
    from serving.limits import Limits

    limits = Limits()
    if model is ServedModel.recommender:
        if run is None and (model_dir is None or milvus_uri is None):
            raise UsageError("serve recommender: give --run DIR, or --model-dir and --milvus-uri")
        if run is not None and (model_dir or milvus_uri):
            raise UsageError("serve recommender: --run excludes --model-dir/--milvus-uri")
        if run is not None and not run.is_dir():
            raise UsageError(f"--run: no such folder: {run}")
        if search not in ("memory", "milvus"):
            raise UsageError(f"--search: {search!r} is not memory or milvus")
        from serving.recommender import RecommenderModel

        predictor = RecommenderModel(
            run_dir=run,
            model_dir=model_dir,
            milvus_uri=milvus_uri,
            collection=collection,
            token=os.environ.get("MILVUS_TOKEN") or None,
            encoder=encoder,
            cache_size=cache_size,
            in_memory=search == "memory",
            batching=batching,
            threads=threads,
            workers=workers,
            max_seq_length=max_seq_length,
            limits=limits,
        )
    else:
        from serving.tracker import TrackerModel

        predictor = TrackerModel(
            backend=backend, vlm_base_url=vlm_base_url, vlm_model=vlm_model, limits=limits
        )
    # KServe's way: load before serving, so the port answers only once the model (and, for
    # the recommender, the Milvus collection) is there; readiness follows model.ready.
    predictor.load()
    from serving.server import serve as run_server

    run_server([predictor], host=host, port=port, limits=limits)
