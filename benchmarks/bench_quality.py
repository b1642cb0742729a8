"""Ranking quality: fine-tuned bi-encoder vs BM25 and the zero-shot base model.

    .venv/bin/python benchmarks/bench_quality.py [--run runs/demo] [--losses mnrl,triplet,...]

Reads (or makes) a run of configs/local.yaml and reports its metrics against the bars of
issue 2: on held-out users the fine-tuned model beats the base model by >= 0.30 NDCG@10 and
BM25 by >= 0.15; on cold-start courses it beats both by >= 0.05. ``--losses`` also trains
each listed loss on the same data (``--max-examples`` each) and compares them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import write_result  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _row(label: str, block: dict, k: int = 10) -> str:
    return (
        f"| {label} | "
        + " | ".join(f"{block[f'{m}@{k}']:.3f}" for m in ("ndcg", "recall", "mrr"))
        + " |"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", type=Path, default=ROOT / "runs/demo")
    ap.add_argument("--losses", default="", help="comma-separated losses to compare")
    ap.add_argument("--max-examples", type=int, default=1200)
    args = ap.parse_args()

    from urtraining.config import load_config
    from urtraining.runner import run_pipeline

    if not (args.run / "metrics.json").is_file():
        run_pipeline(load_config(ROOT / "configs/local.yaml"), args.run)
    m = json.loads((args.run / "metrics.json").read_text())
    all_, cold = m["models"], m["cold_courses"]["models"]
    nd = lambda b, x: b[x]["ndcg@10"]  # noqa: E731
    checks = [
        ("all courses: finetuned - base >= 0.30", nd(all_, "finetuned") - nd(all_, "base"), 0.30),
        ("all courses: finetuned - bm25 >= 0.15", nd(all_, "finetuned") - nd(all_, "bm25"), 0.15),
        ("cold courses: finetuned - base >= 0.05", nd(cold, "finetuned") - nd(cold, "base"), 0.05),
        ("cold courses: finetuned - bm25 >= 0.05", nd(cold, "finetuned") - nd(cold, "bm25"), 0.05),
    ]
    body = [
        f"Run: `{args.run.name}` — {m['users']} test users, {m['courses']} courses "
        f"({m['cold_courses']['courses']} cold).",
        "",
        "| model | ndcg@10 | recall@10 | mrr@10 |",
        "|---|---|---|---|",
    ]
    body += [_row(f"{name} (all courses)", v) for name, v in all_.items()]
    body += [_row(f"{name} (cold courses)", v) for name, v in cold.items()]
    body += ["", "| bar | measured | met |", "|---|---|---|"]
    body += [
        f"| {label} | {got:+.3f} | {'yes' if got >= bar else 'NO'} |" for label, got, bar in checks
    ]

    if args.losses:
        body += [
            "",
            f"Loss comparison ({args.max_examples} training examples each, same data):",
            "",
            "| loss | ndcg@10 all | ndcg@10 cold |",
            "|---|---|---|",
        ]
        for loss in args.losses.split(","):
            work = args.run.parent / f".bench-loss-{loss}"
            shutil.rmtree(work, ignore_errors=True)
            shutil.copytree(
                args.run,
                work,
                ignore=shutil.ignore_patterns(
                    "model", "checkpoints", "metrics.*", "milvus.db", "index.json"
                ),
            )
            cfg = load_config(
                args.run / "config.yaml",
                [f"train.loss={loss}", f"train.max_examples={args.max_examples}"],
            )
            run_pipeline(cfg, work, stages=["train", "evaluate"])
            lm = json.loads((work / "metrics.json").read_text())
            body.append(
                f"| {loss} | {lm['models']['finetuned']['ndcg@10']:.3f} | "
                f"{lm['cold_courses']['models']['finetuned']['ndcg@10']:.3f} |"
            )
            shutil.rmtree(work, ignore_errors=True)

    path = write_result("quality", "Recommender ranking quality", "\n".join(body))
    print(path.read_text())


if __name__ == "__main__":
    main()
