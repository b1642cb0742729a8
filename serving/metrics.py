"""Our Prometheus metrics, exported on KServe's ``/metrics`` beside its own histograms.

KServe already measures preprocess/predict/postprocess per model; these add what those
cannot see: time per stage inside predict (tokenise, encode, search, ...), embedding-cache
hits and errors by kind, so a dashboard can tell a slow Milvus from a slow encoder.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Histogram

# Buckets from 0.1 ms: the hot path's stages are sub-millisecond to tens of milliseconds.
_BUCKETS = (0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)

STAGE_SECONDS = Histogram(
    "urtraining_stage_seconds",
    "Time per stage of a request (validate, tokenize, encode, search, decode, backend, ...)",
    ["model_name", "stage"],
    buckets=_BUCKETS,
)
CACHE_TOTAL = Counter(
    "urtraining_cache_total",
    "Embedding cache lookups by result",
    ["model_name", "result"],
)
ERRORS_TOTAL = Counter(
    "urtraining_errors_total",
    "Failed requests by kind (invalid, too_large, tracker, internal)",
    ["model_name", "kind"],
)
INSTANCES_TOTAL = Counter(
    "urtraining_instances_total",
    "Instances (profiles or images) served",
    ["model_name"],
)
BATCH_SIZE = Histogram(
    "urtraining_batch_size",
    "Profiles encoded together by the recommender's batcher",
    ["model_name"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)


@contextmanager
def stage(model_name: str, name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        STAGE_SECONDS.labels(model_name, name).observe(time.perf_counter() - start)


def observe_stages(model_name: str, timings: dict[str, float]) -> None:
    """Record stage timings measured inside the library (seconds by stage name)."""
    for name, seconds in timings.items():
        STAGE_SECONDS.labels(model_name, name).observe(seconds)


def error_kind(exc: BaseException) -> str:
    from kserve.errors import InvalidInput

    from urtraining.errors import PayloadTooLarge, UsageError

    if isinstance(exc, PayloadTooLarge):
        return "too_large"
    # by name: the tracker library is not installed beside every predictor
    if type(exc).__name__ == "TrackerError":
        return "tracker"
    if isinstance(exc, InvalidInput | UsageError):
        return "invalid"
    return "internal"


def count_error(model_name: str, exc: BaseException) -> None:
    ERRORS_TOTAL.labels(model_name, error_kind(exc)).inc()
