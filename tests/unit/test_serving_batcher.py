"""The recommender's batcher: jobs that queue meanwhile share a call, on one or more workers."""

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from serving.recommender import Batcher, Job


def _job(i: int) -> Job:
    return Job(profiles=[i], k=1, course_type=None)  # the batcher never looks inside


@pytest.mark.parametrize("workers", [1, 2])
def test_every_job_gets_its_own_answer_and_its_own_error(workers):
    calls: list[tuple[str, list[int]]] = []
    running = []
    lock = threading.Lock()

    def fn(jobs):
        with lock:
            running.append(1)
            calls.append((threading.current_thread().name, [j.profiles[0] for j in jobs]))
            overlap = len(running)
        time.sleep(0.02)  # long enough for the other jobs to queue up
        with lock:
            running.pop()
        return [ValueError(f"bad {j.profiles[0]}") if j.profiles[0] == 7 else
                (j.profiles[0] * 10, overlap) for j in jobs]  # fmt: skip

    async def main():
        pool = ThreadPoolExecutor(max_workers=workers)
        batcher = Batcher(fn, max_items=32, pool=pool, workers=workers)
        try:
            return await asyncio.gather(*(batcher.submit(_job(i)) for i in range(20)),
                                        return_exceptions=True)  # fmt: skip
        finally:
            pool.shutdown()

    results = asyncio.run(main())
    for i, res in enumerate(results):
        if i == 7:
            assert isinstance(res, ValueError) and "bad 7" in str(res)
        else:
            assert res[0] == i * 10
    assert sorted(i for _, batch in calls for i in batch) == list(range(20))
    assert len(calls) < 20  # queued jobs were batched, not run one by one
    most_at_once = max(res[1] for i, res in enumerate(results) if i != 7)
    assert most_at_once == workers  # with two workers, two batches ran side by side
    if workers == 2:
        assert len({name for name, _ in calls}) == 2
