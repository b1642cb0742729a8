"""Where the work runs: a Ray Data pipeline (local Ray on one machine, the cluster at
``ray_address``) or, for tests and tiny jobs, a thread pool in this process.

Either way results come back to the driver batch by batch and go straight into the resume
cache, so the driver is the only writer and a kill loses at most the batches in flight.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from urtraining.synth.llm.engine import run_batch

OnResult = Callable[[dict], None]
ShouldStop = Callable[[], bool]


def run_items(
    items: list[dict],
    *,
    executor: str,
    workers: int,
    batch_size: int,
    ray_address: str | None,
    on_result: OnResult,
    should_stop: ShouldStop,
) -> bool:
    """Run ``items``; returns False when ``should_stop`` cut the run short."""
    if not items:
        return True
    if executor == "ray":
        stream = _ray_stream(items, workers, batch_size, ray_address)
    else:
        stream = _thread_stream(items, workers, batch_size)
    for result in stream:
        on_result(result)
        if should_stop():
            close = getattr(stream, "close", None)
            if close:
                close()
            return False
    return True


def _chunks(items: list[dict], size: int) -> Iterable[list[dict]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _thread_stream(items: list[dict], workers: int, batch_size: int) -> Iterator[dict]:
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm")
    chunks = iter(_chunks(items, batch_size))
    running = set()
    try:
        for chunk in chunks:
            running.add(pool.submit(run_batch, chunk))
            if len(running) >= workers:
                break
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                yield from fut.result()
                nxt = next(chunks, None)
                if nxt is not None:
                    running.add(pool.submit(run_batch, nxt))
    finally:
        for fut in running:
            fut.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def ensure_ray(address: str | None) -> None:
    """Join the cluster at ``address``, or start a local Ray that listens on loopback only."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if not address:
        # With this off, Ray takes 127.0.0.1 as the node address and its listeners stay on
        # loopback (MEASURED.md). Child processes read it from the environment; this process
        # read it when ray was first imported, so the constant is set as well.
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray

    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, log_to_driver=False)
        return
    from ray._private import ray_constants

    ray_constants.ENABLE_RAY_CLUSTER = False
    ray.init(
        # "local": always a fresh instance, never whatever cluster another process started
        address="local",
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
        configure_logging=False,
    )


class _RayWorker:
    """A Ray Data actor: keeps its backends (a loaded model, a vLLM engine) across batches."""

    def __call__(self, batch: dict) -> dict:
        import numpy as np

        items = [json.loads(s) for s in batch["item"]]
        results = run_batch(items)
        return {"result": np.array([json.dumps(r) for r in results], dtype=object)}


def _ray_stream(
    items: list[dict], workers: int, batch_size: int, address: str | None
) -> Iterator[dict]:
    import ray.data

    ensure_ray(address)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    uses_gpu = any(i["endpoint"]["backend"] == "vllm" for i in items)
    ds = ray.data.from_items(
        [{"item": json.dumps(i)} for i in items],
        override_num_blocks=max(1, -(-len(items) // batch_size)),
    )
    ds = ds.map_batches(
        _RayWorker,
        batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_gpus=1 if uses_gpu else 0,
        num_cpus=0 if uses_gpu else 1,
    )
    for row in ds.iter_rows():
        yield json.loads(row["result"])
