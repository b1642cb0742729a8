"""Shared by the generator and the teacher: build work items, skip what the resume cache
already holds, run the rest, account for everything."""

from __future__ import annotations

import time
from pathlib import Path

from urtraining.config import LLMEndpoint, LLMRunOptions
from urtraining.synth.llm.accounting import Accounting
from urtraining.synth.llm.cache import ResultCache
from urtraining.synth.llm.distribute import run_items
from urtraining.synth.llm.engine import item_key
from urtraining.synth.llm.roster import pick, record_seed
from urtraining.synth.llm.tasks import TASKS


def make_items(
    task: str, specs: list[dict], roster: list[LLMEndpoint], seed: int, opts: LLMRunOptions
) -> list[dict]:
    version = TASKS[task].prompt_version
    item_opts = {
        "max_attempts": opts.max_attempts,
        "max_program_days": opts.max_program_days,
        "max_exercises_per_day": opts.max_exercises_per_day,
        "max_text_chars": opts.max_text_chars,
    }
    items = []
    for index, spec in enumerate(specs):
        ep = pick(roster, task, seed, index)
        rseed = record_seed(task, seed, index)
        items.append(
            {
                "key": item_key(task, version, ep, rseed, {"spec": spec, "opts": item_opts}),
                "task": task,
                "index": index,
                "seed": rseed,
                "endpoint": ep.model_dump(mode="json"),
                "spec": spec,
                "opts": item_opts,
            }
        )
    return items


def run_tasks(
    items_by_task: dict[str, list[dict]],
    *,
    cache_dir: Path | None,
    accounting: Accounting,
    opts: LLMRunOptions,
    ray_address: str | None,
) -> dict[str, list[dict | None]]:
    """Results per task, in item order; ``None`` where the budget stopped the run first."""
    caches = {t: ResultCache(cache_dir, t) for t in items_by_task}
    results: dict[str, dict[str, dict]] = {t: {} for t in items_by_task}
    missing: list[dict] = []
    for task, items in items_by_task.items():
        for item in items:
            hit = caches[task].get(item["key"])
            if hit is not None:
                results[task][item["key"]] = hit
                accounting.add_result(hit, cached=True)
            else:
                missing.append(item)

    def on_result(res: dict) -> None:
        caches[res["task"]].put(res)
        results[res["task"]][res["key"]] = res
        accounting.add_result(res)

    t0 = time.perf_counter()
    finished = run_items(
        missing,
        executor=opts.executor,
        workers=opts.workers,
        batch_size=opts.batch_size,
        ray_address=ray_address,
        on_result=on_result,
        should_stop=lambda: not accounting.budget_left(),
    )
    wall = time.perf_counter() - t0
    for task in items_by_task:
        stats = accounting.task(task)
        stats.wall_s += wall
        stats.stopped_by_budget = stats.stopped_by_budget or not finished
    return {
        task: [results[task].get(i["key"]) for i in items] for task, items in items_by_task.items()
    }
