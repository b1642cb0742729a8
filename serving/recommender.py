"""The ``recommender`` predictor: user profiles -> top-k safe courses, by ``urtraining.recommend``.

Speed comes from the library (ONNX int8 encoder, embedding cache, in-process course matrix
with the index's safety filters) and from one thing only a server can do: batching the
profiles of concurrent requests into one encoder call. The batcher is "natural": nothing
waits for a batch to fill; while one batch is being encoded, the requests that arrive queue
up and become the next batch, so a lone request pays no extra latency.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kserve
from kserve import InferRequest

from serving import metrics, protocol
from serving.limits import Limits
from serving.requests import RecommendParams, parameters, validate
from urtraining.domain import UserProfile
from urtraining.encoders import CachedEncoder

NAME = "recommender"
log = logging.getLogger(__name__)


@dataclass
class Job:
    profiles: list[UserProfile]
    k: int
    course_type: Any
    submitted: float = field(default_factory=time.perf_counter)


class Batcher:
    """Runs ``fn(jobs) -> results`` on ``workers`` threads, batching jobs that queue meanwhile.

    Lives on the event loop: ``submit`` appends and awaits; up to ``workers`` drain tasks take
    what has queued (up to ``max_items`` instances, shared fairly between idle workers), run
    it off the loop, hand out results. A job's exception goes to that job only.
    """

    def __init__(
        self,
        fn: Callable[[list[Job]], list[Any]],
        max_items: int,
        pool: ThreadPoolExecutor,
        workers: int = 1,
    ):
        self.fn = fn
        self.max_items = max_items
        self.pool = pool
        self.workers = max(1, workers)
        self._queue: list[tuple[Job, asyncio.Future]] = []
        self._draining = 0  # drain tasks alive
        self._busy = 0  # of them, running fn now

    async def submit(self, job: Job) -> Any:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._queue.append((job, fut))
        if self._draining < self.workers:
            self._draining += 1
            loop.create_task(self._drain())
        return await fut

    def _take(self) -> list[tuple[Job, asyncio.Future]]:
        # an idle worker will start on the rest: split the queue instead of taking it all
        queued = sum(len(job.profiles) for job, _ in self._queue)
        idle = self.workers - self._busy  # this one included
        cap = min(self.max_items, -(-queued // idle))
        batch: list[tuple[Job, asyncio.Future]] = []
        n = 0
        while self._queue and (not batch or n + len(self._queue[0][0].profiles) <= cap):
            item = self._queue.pop(0)
            batch.append(item)
            n += len(item[0].profiles)
        return batch

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                batch = self._take()
                if self._queue and self._draining < self.workers:
                    self._draining += 1  # what _take left is for an idle worker
                    loop.create_task(self._drain())
                self._busy += 1
                try:
                    results = await loop.run_in_executor(self.pool, self.fn, [j for j, _ in batch])
                except Exception as exc:  # the whole batch failed: every job hears why
                    results = [exc] * len(batch)
                finally:
                    self._busy -= 1
                for (_, fut), res in zip(batch, results, strict=True):
                    if fut.done():  # the client went away
                        continue
                    if isinstance(res, BaseException):
                        fut.set_exception(res)
                    else:
                        fut.set_result(res)
        finally:
            self._draining -= 1


def fetch_model(uri: str, cache_root: Path | None = None) -> Path:
    """A local folder for ``uri``: itself, or an s3:// model tree downloaded (verified) once.

    The URI names a published tree, or a folder inside one: the registry's
    ``.../<version>/model``, which is what the pipeline writes into the storageUri.
    """
    if "://" not in uri:
        return Path(uri)
    from urtraining.encoders import default_cache_dir
    from urtraining.store import NotFound, open_store

    root = cache_root or default_cache_dir().parent / "models"
    dest = root / hashlib.sha256(uri.encode()).hexdigest()[:20]
    if not (dest / "modules.json").is_file() and not (dest / "config.json").is_file():
        try:
            open_store(uri).fetch_tree("", dest)
        except NotFound:
            parent, _, leaf = uri.rstrip("/").rpartition("/")
            if not leaf or parent.endswith(":/"):
                raise
            open_store(parent).fetch_tree("", dest, only=leaf)
    return dest


_WARMUP = UserProfile(
    user_id="warmup",
    age=30,
    height_cm=170,
    weight_kg=70,
    goals=["general_fitness"],
    experience_level="beginner",
    preferred_activities=["gym"],
    sessions_per_week=3,
    session_minutes=45,
)


class RecommenderModel(kserve.Model):
    def __init__(
        self,
        name: str = NAME,
        run_dir: Path | None = None,
        model_dir: str | None = None,
        milvus_uri: str | None = None,
        collection: str = "courses",
        token: str | None = None,
        encoder: str = "onnx-int8",
        cache_size: int = 4096,
        in_memory: bool = True,
        batching: bool = True,
        max_batch: int = 32,
        refresh_s: float = 30.0,
        threads: int = 2,
        workers: int = 1,
        max_seq_length: int | None = None,
        limits: Limits | None = None,
    ):
        super().__init__(name)
        self.run_dir = run_dir
        self.model_dir = model_dir
        self.milvus_uri = milvus_uri
        self.collection = collection
        self.token = token
        self.encoder = encoder
        self.cache_size = cache_size
        self.in_memory = in_memory
        self.batching = batching
        self.max_batch = max_batch
        self.refresh_s = refresh_s
        self.threads = threads
        self.max_seq_length = max_seq_length
        self.limits = limits or Limits()
        # Encoder calls run off the event loop on `workers` threads, each call on `threads`
        # onnxruntime threads; benchmarks/results/serving.md compares the mixes on 2 cores.
        self.workers = max(1, workers)
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=name)
        self._batcher = Batcher(
            self._run_batch, max_batch if batching else 1, self._pool, self.workers
        )
        self._refresher: asyncio.Task | None = None
        self._cache_seen = (0, 0)
        self._cache_lock = threading.Lock()
        self.rec: Any = None

    def load(self) -> bool:
        from urtraining.recommend import FastRecommender

        with metrics.stage(self.name, "load"):
            if self.run_dir is not None:
                rec = FastRecommender.from_run(self.run_dir)
                model_dir: str | Path = Path(self.run_dir) / "model"
            else:
                model_dir = fetch_model(str(self.model_dir))
                rec = FastRecommender.load(
                    model_dir, str(self.milvus_uri), self.collection, self.token
                )
            # ready means: weights loaded, collection loaded and, in memory, its vectors read
            rec.configure(model_dir, self.encoder, self.cache_size, self.in_memory,
                          threads=self.threads or None,
                          max_seq_length=self.max_seq_length)  # fmt: skip
            rec.recommend([_WARMUP], k=1)  # first-call allocations happen now, not on a user
        self.rec = rec
        self.ready = True
        return self.ready

    def stop(self) -> None:
        self.ready = False
        if self._refresher is not None:
            self._refresher.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def preprocess(self, payload: dict | InferRequest, headers: dict | None = None):
        try:
            with metrics.stage(self.name, "validate"):
                decoded = protocol.decode(payload, "profile", protocol.json_element, self.limits)
                where = "inputs.profile" if decoded.v2 else "instances"
                params = parameters(RecommendParams, decoded.parameters)
                if params.k > self.limits.max_k:
                    raise kserve.errors.InvalidInput(
                        f"parameters.k: {params.k} is above the limit {self.limits.max_k}"
                    )
                profiles = [
                    validate(UserProfile, obj, f"{where}.{i}")
                    for i, obj in enumerate(decoded.instances)
                ]
        except Exception as exc:
            metrics.count_error(self.name, exc)
            raise
        return decoded, params, profiles

    async def predict(self, payload, headers: dict | None = None):
        decoded, params, profiles = payload
        if self._refresher is None and self.in_memory and self.refresh_s > 0:
            self._refresher = asyncio.get_running_loop().create_task(self._refresh_loop())
        try:
            rows = await self._batcher.submit(Job(profiles, params.k, params.type))
        except Exception as exc:
            metrics.count_error(self.name, exc)
            raise
        metrics.INSTANCES_TOTAL.labels(self.name).inc(len(profiles))
        with metrics.stage(self.name, "serialize"):
            results = [[r.model_dump(mode="json") for r in row] for row in rows]
            return protocol.encode(decoded, self.name, "recommendations", results)

    def _run_batch(self, jobs: Sequence[Job]) -> list[Any]:
        """On the worker thread: one encoder call for every profile, then a search per job."""
        started = time.perf_counter()
        for job in jobs:
            metrics.STAGE_SECONDS.labels(self.name, "queue").observe(started - job.submitted)
        profiles = [p for job in jobs for p in job.profiles]
        metrics.BATCH_SIZE.labels(self.name).observe(len(profiles))
        vectors = self.rec.encode(profiles)
        embed_s = time.perf_counter() - started
        metrics.STAGE_SECONDS.labels(self.name, "embed").observe(embed_s)
        inner = getattr(self.rec.model, "inner", self.rec.model)
        timings = getattr(inner, "last_timings", None)
        if timings and self._cache_delta()[1]:
            metrics.observe_stages(self.name, timings)  # tokenize / encode of the misses
        out: list[Any] = []
        start = 0
        for job in jobs:
            n = len(job.profiles)
            t0 = time.perf_counter()
            try:
                out.append(self.rec.search(job.profiles, vectors[start : start + n], job.k,
                                           job.course_type))  # fmt: skip
            except Exception as exc:
                out.append(exc)
            metrics.STAGE_SECONDS.labels(self.name, "search").observe(time.perf_counter() - t0)
            start += n
        return out

    def _cache_delta(self) -> tuple[int, int]:
        if not isinstance(self.rec.model, CachedEncoder):  # the cache is off
            return 0, 0
        with self._cache_lock:  # workers finish batches concurrently
            hits, misses = self.rec.model.hits, self.rec.model.misses
            dh, dm = hits - self._cache_seen[0], misses - self._cache_seen[1]
            self._cache_seen = (hits, misses)
        if dh:
            metrics.CACHE_TOTAL.labels(self.name, "hit").inc(dh)
        if dm:
            metrics.CACHE_TOTAL.labels(self.name, "miss").inc(dm)
        return dh, dm

    async def _refresh_loop(self) -> None:
        # Milvus is the source of truth: follow the alias when a new index is published.
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.refresh_s)
            try:
                if await loop.run_in_executor(self._pool, self.rec.refresh):
                    log.info("course matrix re-read: alias %s moved", self.collection)
            except Exception:  # a Milvus hiccup must not stop serving the copy we have
                log.exception("course matrix refresh failed")
