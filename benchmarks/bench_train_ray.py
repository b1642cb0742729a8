"""Training throughput in-process vs Ray Train (1 and 2 CPU workers), and the quality check.

    .venv/bin/python benchmarks/bench_train_ray.py [--users 300] [--max-examples 384] [--repeats 1]

One dataset (procedural users and courses, rule teacher) is trained three ways with the same
config, epochs and global batch; each trained model is evaluated on the held-out test users.
Reports the examples/s the trainer measured (training loop only), the wall time of the whole
train stage (Ray start, worker start, model load, copies), and test NDCG@10. Targets (issue 4):
Ray 1-worker >= 0.9x in-process examples/s; Ray 2-worker NDCG@10 within 0.02 of in-process.
Every worker (and the in-process trainer) uses ``--threads`` torch threads (default 1), so
in-process and one Ray worker do the same work with the same resources.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from common import median, write_result  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODES = (("in-process", 0), ("Ray, 1 worker", 1), ("Ray, 2 workers", 2))
DATA = ("users.jsonl", "metadata.jsonl", "courses.jsonl", "rankings.jsonl", "dataset")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--courses", type=int, default=80)
    ap.add_argument("--max-examples", type=int, default=160)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: temp)")
    args = ap.parse_args()

    from urtraining.config import load_config
    from urtraining.runner import run_pipeline, stage_evaluate, stage_train

    cores = os.cpu_count() or 1
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-train-ray-"))
    overrides = [
        f"synth.n_users={args.users}",
        f"synth.n_courses={args.courses}",
        f"train.max_examples={args.max_examples}",
        f"train.batch_size={args.batch_size}",
        f"train.epochs={args.epochs}",
        "train.max_seq_length=64",
    ]
    cfg = load_config(ROOT / "configs/smoke.yaml", overrides)
    base = work / "base"
    run_pipeline(cfg, base, stages=["synth", "rank", "assemble"])

    rows: dict[str, list[dict]] = {}
    # Repeats outermost: the modes interleave, so drifting load on a shared box hits all.
    for rep in range(args.repeats):
        for label, workers in MODES:
            run = work / f"w{workers}-r{rep}"
            shutil.rmtree(run, ignore_errors=True)
            run.mkdir(parents=True)
            for name in DATA:
                src = base / name
                (shutil.copytree if src.is_dir() else shutil.copy2)(src, run / name)
            threads = args.threads
            train_cfg = cfg.train.model_copy(update={"workers": workers, "threads": threads})
            run_cfg = cfg.model_copy(update={"train": train_cfg})
            t = time.perf_counter()
            stats = stage_train(run, run_cfg)
            wall = time.perf_counter() - t
            metrics = stage_evaluate(run, run_cfg)
            eps = stats["examples"] * args.epochs / stats["train_runtime_s"]
            ndcg = metrics["ndcg@k"]["finetuned"]
            rows.setdefault(label, []).append({"eps": eps, "wall": wall, "ndcg": ndcg, **stats})
            print(f"{label} #{rep}: {eps:.2f} examples/s, wall {wall:.1f} s, NDCG@10 {ndcg:.4f}")

    body = _report(rows, args, cores)
    path = write_result("train_ray", "Training: in-process vs Ray Train (CPU)", body)
    print(path.read_text())
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


def _report(rows: dict[str, list[dict]], args, cores: int) -> str:
    base_label = MODES[0][0]
    base_eps = median([r["eps"] for r in rows[base_label]])
    base_ndcg = median([r["ndcg"] for r in rows[base_label]])
    first = rows[base_label][0]
    lines = [
        f"Data: {first['examples']} training examples (procedural users/courses, rule teacher), "
        f"{args.epochs:g} epoch, global batch {args.batch_size}, MNRL with a hard negative, "
        f"max_seq_length 64; {args.repeats} run(s) per mode, medians shown; {args.threads} "
        f"torch thread(s) per worker (and in-process); {cores} cores shared with other jobs.",
        "",
        "| mode | examples/s (training loop) | × in-process | train stage wall s | "
        "steps | test NDCG@10 | Δ NDCG@10 |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, _ in MODES:
        rs = rows[label]
        eps, wall, ndcg = (median([r[k] for r in rs]) for k in ("eps", "wall", "ndcg"))
        lines.append(
            f"| {label} | {eps:.2f} | {eps / base_eps:.2f} | {wall:.1f} | {rs[0]['steps']} | "
            f"{ndcg:.4f} | {ndcg - base_ndcg:+.4f} |"
        )
    ray1 = median([r["eps"] for r in rows[MODES[1][0]]]) / base_eps
    delta2 = median([r["ndcg"] for r in rows[MODES[2][0]]]) - base_ndcg
    lines += [
        "",
        f"- Ray 1-worker / in-process examples/s: {ray1:.2f} (target ≥ 0.9): "
        f"{'met' if ray1 >= 0.9 else 'NOT met'}.",
        f"- Ray 2-worker NDCG@10 − in-process: {delta2:+.4f} (target |Δ| ≤ 0.02): "
        f"{'met' if abs(delta2) <= 0.02 else 'NOT met'}.",
        "- The wall column includes starting a local Ray (~5 s), the worker processes, loading "
        "MiniLM in each worker and copying the final model out of the Ray checkpoint.",
        "- Two workers split each global batch (8 examples each) and use twice the cores; each "
        "step adds an all-reduce of MiniLM's 22M gradients and the all-gather of MNRL "
        "embeddings (gloo over loopback). On 2 shared cores the speed-up is bounded by the "
        "other jobs on the machine; the column is what this box gave, not a scaling law.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
