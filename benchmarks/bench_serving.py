"""Load benchmark of the recommender predictor: the fast path against a naive baseline.

Each configuration is a real ``urtraining serve recommender`` process on 127.0.0.1, started
alone (so configurations never share the CPU), warmed up, then loaded at concurrency 1, 8 and
32 by an asyncio HTTP client on the same machine. Bounded: a fixed number of requests per
level and a time cap per level. Every request carries a different profile (the cache misses),
except in the row that measures cache hits on purpose.

    .venv/bin/python benchmarks/bench_serving.py --run runs/smoke      # or it builds one
    -> benchmarks/results/serving.md

Configurations:
  baseline   plain torch encode (default threads) + one Milvus search per request, no
             batching, no cache
  onnx-int8  the quantised ONNX encoder alone (still Milvus per request, no batching)
  fast       ONNX int8 + in-process course matrix + batching of concurrent requests + cache
  fast+cache the same server, every request the same profile (embedding cache hits)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from serving.testing import ServerProcess  # noqa: E402

CONFIGS = {
    # torch with its default threads (all cores): the naive server nobody tuned
    "baseline": [
        "--encoder",
        "torch",
        "--search",
        "milvus",
        "--cache-size",
        "0",
        "--no-batching",
        "--threads",
        "0",
    ],  # fmt: skip
    "onnx-int8": [
        "--encoder",
        "onnx-int8",
        "--search",
        "milvus",
        "--cache-size",
        "0",
        "--no-batching",
    ],  # fmt: skip
    # the cache is on, as in production: distinct profiles miss it, `fast+cache` hits it
    "fast": [
        "--encoder",
        "onnx-int8",
        "--search",
        "memory",
        "--cache-size",
        "4096",
        "--batching",
    ],  # fmt: skip
}
LEVELS = (1, 8, 32)


def build_run(dest: Path) -> Path:
    from urtraining.config import load_config
    from urtraining.runner import run_pipeline

    run_pipeline(load_config(ROOT / "configs" / "smoke.yaml"), dest)
    return dest


def load_profiles(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "users.jsonl").read_text().splitlines()]
    for r in rows:
        r.pop("provenance", None)
    return rows


def unique_bodies(profiles: list[dict], n: int, k: int = 10) -> list[bytes]:
    """n request bodies, each a different text for the encoder (cache misses)."""
    out = []
    for i in range(n):
        p = dict(profiles[i % len(profiles)])
        p["notes"] = (p.get("notes", "") + f" Request {i}.").strip()
        out.append(json.dumps({"instances": [p], "parameters": {"k": k}}).encode())
    return out


async def load_level(url: str, bodies: list[bytes], concurrency: int, time_cap: float) -> dict:
    latencies: list[float] = []
    errors = 0
    next_i = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        start = time.perf_counter()
        deadline = start + time_cap

        async def worker():
            nonlocal next_i, errors
            while next_i < len(bodies) and time.perf_counter() < deadline:
                body = bodies[next_i]
                next_i += 1
                t0 = time.perf_counter()
                r = await client.post(url, content=body,
                                      headers={"content-type": "application/json"})  # fmt: skip
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50": float(np.percentile(ms, 50)),
        "p95": float(np.percentile(ms, 95)),
        "p99": float(np.percentile(ms, 99)),
    }


def stage_means(url: str) -> dict[str, float]:
    """Mean ms per stage from our Prometheus histograms (sum / count)."""
    text = httpx.get(f"{url}/metrics").text
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("urtraining_stage_seconds_sum") or line.startswith(
            "urtraining_stage_seconds_count"
        ):
            stage = line.split('stage="')[1].split('"')[0]
            value = float(line.split()[-1])
            (sums if "_sum" in line else counts)[stage] = value
    return {s: 1000 * sums[s] / counts[s] for s in sums if counts.get(s)}


def bench_config(name, args, run, profiles, n_seq, n_conc, time_cap, cache_dir, log_dir):
    served = log_dir / f"run-{name}"
    shutil.copytree(run, served, ignore=shutil.ignore_patterns("checkpoints"))
    srv = ServerProcess(
        ["recommender", "--run", str(served), *args],
        env={"URTRAINING_CACHE_DIR": str(cache_dir), "OMP_NUM_THREADS": "1"},
        log_path=log_dir / f"{name}.log",
        start_timeout=600,
    )
    rows = []
    with srv:
        url = f"{srv.url}/v1/models/recommender:predict"
        offset = 0
        warm = unique_bodies(profiles, 20)
        asyncio.run(load_level(url, [b.replace(b"Request", b"Warm") for b in warm], 4, 30))
        for c in LEVELS:
            n = n_seq if c == 1 else n_conc
            bodies = unique_bodies(profiles, offset + n)[offset:]
            offset += n
            rows.append({"config": name, **asyncio.run(load_level(url, bodies, c, time_cap))})
        if name == "fast":
            same = unique_bodies(profiles, 1) * n_conc
            for c in (1, 8):
                n = n_seq if c == 1 else n_conc
                res = asyncio.run(load_level(url, same[:n], c, time_cap))
                rows.append({"config": "fast+cache", **res})
        stages = stage_means(srv.url)
    return rows, stages


def quality(run: Path, cache_dir: Path) -> list[dict]:
    """NDCG@10 against the teacher and top-10 overlap with torch, per encoder."""
    from urtraining.domain import UserProfile
    from urtraining.recommend import FastRecommender

    os.environ["URTRAINING_CACHE_DIR"] = str(cache_dir)
    users = [UserProfile(**p) for p in load_profiles(run)]
    rel: dict[str, dict[str, int]] = {}
    for line in (run / "rankings.jsonl").read_text().splitlines():
        r = json.loads(line)
        rel[r["user_id"]] = {x["course_id"]: x["relevance"] for x in r["ranked"]}
    tmp = Path(tempfile.mkdtemp()) / "run"
    shutil.copytree(run, tmp, ignore=shutil.ignore_patterns("checkpoints"))
    rec = FastRecommender.from_run(tmp)
    out, top_torch = [], None
    try:
        for enc in ("torch", "onnx", "onnx-int8"):
            rec.configure(tmp / "model", encoder=enc, cache_size=0, in_memory=True)
            got = rec.recommend(users, k=10)
            ndcgs = []
            for u, row in zip(users, got, strict=True):
                gains = [rel.get(u.user_id, {}).get(r.course_id, 0) for r in row]
                dcg = sum((2**g - 1) / np.log2(i + 2) for i, g in enumerate(gains))
                ideal = sorted(rel.get(u.user_id, {}).values(), reverse=True)[:10]
                idcg = sum((2**g - 1) / np.log2(i + 2) for i, g in enumerate(ideal))
                ndcgs.append(dcg / idcg if idcg else 0.0)
            tops = [[r.course_id for r in row] for row in got]
            top_torch = top_torch or tops
            pairs = zip(tops, top_torch, strict=True)
            overlap = float(np.mean([len(set(a) & set(b)) / 10 for a, b in pairs]))
            out.append({"encoder": enc, "ndcg@10": float(np.mean(ndcgs)), "overlap": overlap})
    finally:
        rec.close()
        shutil.rmtree(tmp.parent, ignore_errors=True)
    return out


def machine() -> str:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    import onnxruntime
    import torch

    return (
        f"{os.cpu_count()} CPU cores ({cpu}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"onnxruntime {onnxruntime.__version__}; load average at start "
        f"{os.getloadavg()[0]:.1f} (other agents share the cores: numbers are noisy)"
    )


def render(rows, stages, qual, info, n_courses) -> str:
    base = {r["concurrency"]: r for r in rows if r["config"] == "baseline"}
    lines = [
        "# Recommender serving benchmark",
        "",
        f"Machine: {info}. Client (httpx, asyncio) on the same machine, 127.0.0.1, v1 "
        f":predict, one profile per request, k=10, {n_courses} courses in the index; every "
        "request a distinct profile except `fast+cache`.",
        "",
        "| config | concurrency | requests | errors | req/s | p50 ms | p95 ms | p99 ms "
        "| req/s vs baseline | p50 vs baseline |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        b = base.get(r["concurrency"])
        ratio = f"{r['rps'] / b['rps']:.2f}x" if b else ""
        p50r = f"{r['p50'] / b['p50']:.2f}x" if b else ""
        lines.append(
            f"| {r['config']} | {r['concurrency']} | {r['requests']} | {r['errors']} "
            f"| {r['rps']:.1f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} "
            f"| {ratio} | {p50r} |"
        )
    lines += ["", "## Where the time goes (server side, mean ms per call, from /metrics)", ""]
    names = sorted({s for st in stages.values() for s in st})
    lines.append("| stage | " + " | ".join(stages) + " |")
    lines.append("| --- |" + " ---: |" * len(stages))
    for s in names:
        cells = [f"{stages[c][s]:.2f}" if s in stages[c] else "" for c in stages]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "`embed` = render the profile text + cache lookup + encode (tokenize/encode are its "
        "parts, measured inside the ONNX encoder); `search` = in-process matrix or Milvus "
        "call; `queue` = wait for the batcher; `serialize` = result objects to JSON-able "
        "dicts (KServe's ORJSON response writing is outside these stages).",
        "",
        "## Does the quantised encoder rank as well? (in-process, all users of the run)",
        "",
        "| encoder | NDCG@10 vs teacher | top-10 overlap with torch |",
        "| --- | ---: | ---: |",
    ]
    for q in qual:
        lines.append(f"| {q['encoder']} | {q['ndcg@10']:.4f} | {q['overlap']:.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, default=os.environ.get("URTRAINING_BENCH_RUN"))
    ap.add_argument("--requests-seq", type=int, default=150)
    ap.add_argument("--requests", type=int, default=400, help="per concurrent level")
    ap.add_argument("--time-cap", type=float, default=40.0, help="seconds per level")
    ap.add_argument("--configs", default="baseline,onnx-int8,fast")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "serving.md")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    try:
        run = args.run or build_run(work / "run")
        profiles = load_profiles(run)
        n_courses = len((run / "courses.jsonl").read_text().splitlines())
        info = machine()
        cache_dir = work / "onnx-cache"
        rows, stages = [], {}
        for name in args.configs.split(","):
            print(f"== {name}", flush=True)
            r, st = bench_config(name, CONFIGS[name], run, profiles, args.requests_seq,
                                 args.requests, args.time_cap, cache_dir, work)  # fmt: skip
            for row in r:
                print(row, flush=True)
            rows += r
            stages[name] = st
        qual = quality(run, cache_dir)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(render(rows, stages, qual, info, n_courses))
        print(f"wrote {args.out}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
