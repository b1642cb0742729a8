"""Load benchmark of the recommender predictor: the fast path against a naive baseline.

Each configuration is a real ``urtraining serve recommender`` process on 127.0.0.1, started
alone (so configurations never share the CPU), warmed up, then loaded at concurrency 1, 8 and
32 by an asyncio HTTP client on the same machine. Bounded: a fixed number of requests per
level and a time cap per level. Every request carries a different profile (the cache misses),
except in the row that measures cache hits on purpose.

    .venv/bin/python benchmarks/bench_serving.py --run runs/smoke      # or it builds one
    -> benchmarks/results/serving.md

Configurations:
  baseline      plain torch encode (default threads) + one Milvus search per request, no
                batching, no cache
  onnx-int8     the quantised ONNX encoder alone, one thread (still Milvus per request)
  fast-1thread  ONNX int8 + in-process course matrix + batching of concurrent requests +
                cache, one encoder thread
  fast          the server's defaults: the same with two encoder threads
  fast+cache    the same server, every request the same profile (embedding cache hits)
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

import aiohttp
import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from serving.testing import ServerProcess  # noqa: E402

TRUNCATED = 64
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
        "--threads",
        "1",
    ],  # fmt: skip
    # the fast path on one encoder thread: what `fast` adds is the second thread
    "fast-1thread": [
        "--encoder",
        "onnx-int8",
        "--search",
        "memory",
        "--cache-size",
        "4096",
        "--batching",
        "--threads",
        "1",
    ],  # fmt: skip
    # the server's defaults; the cache is on, as in production: distinct profiles miss it,
    # `fast+cache` hits it
    "fast": [],
    # and with profile texts cut to TRUNCATED tokens (what it costs: the quality table)
    "fast-truncated": ["--max-seq-length", str(TRUNCATED)],
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
    """n request bodies, each a different text for the encoder (cache misses).

    Past the run's own users, a profile comes back a year older per round: the text changes
    in one number, as between two real users, and keeps its usual length.
    """
    from urtraining.dataset import render_user
    from urtraining.domain import UserProfile

    out: list[bytes] = []
    seen: set[str] = set()
    i = 0
    while len(out) < n:
        p = dict(profiles[i % len(profiles)])
        p["age"] = 14 + (p["age"] - 14 + i // len(profiles)) % 77
        i += 1
        text = render_user(UserProfile.model_validate(p))
        if text not in seen:
            seen.add(text)
            out.append(json.dumps({"instances": [p], "parameters": {"k": k}}).encode())
    return out


async def load_level(url: str, bodies: list[bytes], concurrency: int, time_cap: float) -> dict:
    """``concurrency`` closed-loop workers on kept-alive connections, until bodies or time run out.

    aiohttp, not httpx: the client shares the server's two cores, and aiohttp spends about
    0.13 ms of CPU per request here against httpx's 0.8 ms (measured on a cache-hit server),
    so the numbers below describe the server rather than the load generator.
    """
    latencies: list[float] = []
    errors = 0
    next_i = 0
    headers = {"content-type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        start = time.perf_counter()
        deadline = start + time_cap

        async def worker():
            nonlocal next_i, errors
            while next_i < len(bodies) and time.perf_counter() < deadline:
                body = bodies[next_i]
                next_i += 1
                t0 = time.perf_counter()
                async with client.post(url, data=body, headers=headers) as r:
                    await r.read()
                    latencies.append(time.perf_counter() - t0)
                    if r.status != 200:
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


def median_of(runs: list[dict]) -> dict:
    """One row for repeated runs of a level: medians, plus the spread of p99."""
    out = {k: runs[0][k] for k in ("concurrency",)}
    out["requests"] = sum(r["requests"] for r in runs)
    out["errors"] = sum(r["errors"] for r in runs)
    for key in ("rps", "p50", "p95", "p99"):
        out[key] = float(np.median([r[key] for r in runs]))
    out["p99_range"] = (min(r["p99"] for r in runs), max(r["p99"] for r in runs))
    out["repeats"] = len(runs)
    return out


def bench_config(name, args, run, profiles, n_seq, n_conc, time_cap, cache_dir, log_dir,
                 repeats=3):  # fmt: skip
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
        per_round = n_seq + n_conc * (len(LEVELS) - 1)
        bodies = unique_bodies(profiles, 20 + repeats * per_round)
        asyncio.run(load_level(url, bodies[:20], 4, 30))  # warm-up, not measured
        offset = 20
        for c in LEVELS:
            n = n_seq if c == 1 else n_conc
            runs = []
            for _ in range(repeats):  # fresh profiles each time: every request misses the cache
                level = bodies[offset : offset + n]
                offset += n
                runs.append(asyncio.run(load_level(url, level, c, time_cap)))
            rows.append({"config": name, **median_of(runs)})
        if name == "fast":
            same = unique_bodies(profiles, 1) * n_conc
            for c in (1, 8):
                n = n_seq if c == 1 else n_conc
                runs = [asyncio.run(load_level(url, same[:n], c, time_cap)) for _ in range(repeats)]
                rows.append({"config": "fast+cache", **median_of(runs)})
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
        for enc, max_len in (("torch", None), ("onnx", None), ("onnx-int8", None),
                             ("onnx-int8", TRUNCATED)):  # fmt: skip
            rec.configure(tmp / "model", encoder=enc, cache_size=0, in_memory=True,
                          max_seq_length=max_len)  # fmt: skip
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
            if max_len:
                enc = f"{enc}, {max_len} tokens"
            out.append({"encoder": enc, "ndcg@10": float(np.mean(ndcgs)), "overlap": overlap})
        from urtraining.dataset import render_user

        tok = rec.model.tokenizer
        tok.no_truncation()
        prompt = rec.model.prompts.get("query", "")
        lengths = [len(tok.encode(prompt + render_user(u)).ids) for u in users]
    finally:
        rec.close()
        shutil.rmtree(tmp.parent, ignore_errors=True)
    return out, lengths


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


def targets(rows: list[dict]) -> list[str]:
    """The issue's bars, checked on the server's defaults (`fast`) against `baseline`."""
    by = {(r["config"], r["concurrency"]): r for r in rows}
    fast1, fast8, base8 = by.get(("fast", 1)), by.get(("fast", 8)), by.get(("baseline", 8))
    if not (fast1 and fast8 and base8):
        return []

    def mark(ok: bool) -> str:
        return "met" if ok else "NOT met"

    ratio = fast8["rps"] / base8["rps"]
    return [
        f"- sequential p50 <= 12 ms: {fast1['p50']:.1f} ms, {mark(fast1['p50'] <= 12)}",
        f"- sequential p99 <= 20 ms: {fast1['p99']:.1f} ms, {mark(fast1['p99'] <= 20)}",
        f"- concurrency 8 p99 <= 50 ms: {fast8['p99']:.1f} ms (runs: "
        f"{fast8['p99_range'][0]:.1f}-{fast8['p99_range'][1]:.1f}), {mark(fast8['p99'] <= 50)}",
        f"- concurrency 8 throughput >= 3x baseline: {ratio:.2f}x, {mark(ratio >= 3)}",
    ]


def render(rows, stages, qual, lengths, info, n_courses) -> str:
    base = {r["concurrency"]: r for r in rows if r["config"] == "baseline"}
    repeats = rows[0]["repeats"] if rows else 0
    lines = [
        "# Recommender serving benchmark",
        "",
        f"Machine: {info}. Client: aiohttp (asyncio, kept-alive connections) on the same "
        f"machine, 127.0.0.1, v1 :predict, one profile per request, k=10, {n_courses} "
        "courses in the index; every request a distinct profile (a cache miss) except "
        f"`fast+cache`. Each level ran {repeats} times on fresh profiles: the table gives the "
        "medians of the runs, and the p99 range over them.",
        "",
        "## Targets (issue 6), on the server's defaults",
        "",
        *targets(rows),
        "",
        "| config | concurrency | requests | errors | req/s | p50 ms | p95 ms | p99 ms "
        "| p99 range ms | req/s vs baseline | p50 vs baseline |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        b = base.get(r["concurrency"])
        ratio = f"{r['rps'] / b['rps']:.2f}x" if b else ""
        p50r = f"{r['p50'] / b['p50']:.2f}x" if b else ""
        lo, hi = r["p99_range"]
        lines.append(
            f"| {r['config']} | {r['concurrency']} | {r['requests']} | {r['errors']} "
            f"| {r['rps']:.1f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} "
            f"| {lo:.1f}-{hi:.1f} | {ratio} | {p50r} |"
        )
    lines += ["", "## Where the time goes (server side, mean ms per call, from /metrics)", ""]
    names = sorted({s for st in stages.values() for s in st})
    lines.append("| stage | " + " | ".join(stages) + " |")
    lines.append("| --- |" + " ---: |" * len(stages))
    for s in names:
        cells = [f"{stages[c][s]:.2f}" if s in stages[c] else "" for c in stages]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    tokens = np.array(lengths)
    lines += [
        "",
        "`embed` = render the profile text + cache lookup + encode of one batch (tokenize/"
        "encode are its parts, measured inside the ONNX encoder); `search` = in-process "
        "matrix or Milvus call; `queue` = wait for the batcher; `serialize` = result objects "
        "to JSON-able dicts (KServe's ORJSON response writing is outside these stages).",
        "",
        "## Do the faster encoders rank as well? (in-process, all users of the run)",
        "",
        f"Profile texts (with the query prompt): median {np.median(tokens):.0f} tokens, p95 "
        f"{np.percentile(tokens, 95):.0f}, max {tokens.max()}; {TRUNCATED} tokens cut "
        f"{np.mean(tokens > TRUNCATED):.0%} of them, always at the end (the free-text notes). "
        "The rules teacher behind this NDCG does not read notes, so it cannot show what "
        "cutting them costs: the server keeps the whole text unless `--max-seq-length` is "
        "given.",
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
    ap.add_argument("--repeats", type=int, default=3, help="runs per level (medians reported)")
    ap.add_argument("--configs", default=",".join(CONFIGS))
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
                                 args.requests, args.time_cap, cache_dir, work,
                                 args.repeats)  # fmt: skip
            for row in r:
                print(row, flush=True)
            rows += r
            stages[name] = st
        qual, lengths = quality(run, cache_dir)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(render(rows, stages, qual, lengths, info, n_courses))
        print(f"wrote {args.out}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
