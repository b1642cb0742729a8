"""S3 upload/download throughput of the artifact store against a local SeaweedFS.

    .venv/bin/python benchmarks/bench_s3.py [--sizes-mib 8,128] [--repeats 3]

Starts its own SeaweedFS on 127.0.0.1 (credentials on), and for each file size measures:
the store's ``put_file``/``get_file`` (SHA-256 computed, server checksum compared, download
re-hashed) against plain boto3 ``upload_file``/``download_file`` with the same
TransferConfig and only boto3's default CRC32 (the baseline), plus a model-sized folder
published as a registry version. Medians of ``--repeats``; MiB/s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))  # the SeaweedFS helper the tests use

from common import median, write_result  # noqa: E402
from s3_server import SeaweedS3  # noqa: E402

MiB = 1 << 20


def _timed(fn, *args, **kwargs) -> float:
    t = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes-mib", default="8,128")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes_mib.split(",")]

    from urtraining.registry import ModelRegistry
    from urtraining.store import S3Store

    work = Path(tempfile.mkdtemp(prefix="bench-s3-"))
    rows = []
    with SeaweedS3(workdir=work / "seaweed") as server:
        os.environ.update(server.env())
        bucket = server.create_bucket("bench")
        store = S3Store(bucket, "bench")
        raw = store.client
        for size in sizes:
            src = work / f"f{size}.bin"
            with open(src, "wb") as fh:
                for _ in range(size):
                    fh.write(os.urandom(MiB))
            res: dict[str, list[float]] = {k: [] for k in ("up", "down", "raw_up", "raw_down")}
            for rep in range(args.repeats):
                key = f"s{size}/r{rep}"
                res["raw_up"].append(
                    _timed(raw.upload_file, str(src), bucket, f"raw/{key}", Config=store.transfer)
                )
                res["raw_down"].append(
                    _timed(
                        raw.download_file,
                        bucket,
                        f"raw/{key}",
                        str(work / "raw.out"),
                        Config=store.transfer,
                    )
                )
                res["up"].append(_timed(store.put_file, src, key))
                res["down"].append(_timed(store.get_file, key, work / "store.out"))
            rows.append((f"{size} MiB file", size, {k: median(v) for k, v in res.items()}))
            src.unlink()

        # A registry version shaped like the MiniLM model folder (~90 MB, a dozen files).
        run = _fake_run(work / "run")
        registry = ModelRegistry(store)
        total = sum(p.stat().st_size for p in run.rglob("*") if p.is_file()) / MiB
        pub = [_timed(registry.publish, run) for _ in range(args.repeats)]
        latest = registry.latest()
        fetch = [
            _timed(registry.fetch_model, latest, work / "fetched") for _ in range(args.repeats)
        ]
    shutil.rmtree(work, ignore_errors=True)

    lines = [
        f"SeaweedFS {_weed_version()} (`weed server -s3`, one process, data on local disk) "
        "on 127.0.0.1 with signature auth; boto3 TransferConfig: multipart threshold and "
        f"part size 16 MiB, 4 threads. Medians of {args.repeats}; MiB/s (higher is better).",
        "",
        "| object | store upload (verified) | boto3 upload | ratio | "
        "store download (verified) | boto3 download | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, size, r in rows:
        up, raw_up = size / r["up"], size / r["raw_up"]
        down, raw_down = size / r["down"], size / r["raw_down"]
        lines.append(
            f"| {label} | {up:.0f} | {raw_up:.0f} | {up / raw_up:.2f} | "
            f"{down:.0f} | {raw_down:.0f} | {down / raw_down:.2f} |"
        )
    lines += [
        "",
        f"Registry: `publish` of a {total:.0f} MiB model-shaped run (12 files + metadata): "
        f"{median(pub):.2f} s ({total / median(pub):.0f} MiB/s); `fetch_model` (every file "
        f"re-hashed): {median(fetch):.2f} s ({total / median(fetch):.0f} MiB/s).",
        "",
        "The store's extra cost is hashing: one local pass computing SHA-256 (whole file and "
        "per part) and MD5 before the upload, SHA-256 of each part by botocore for the "
        "server-side check, a HEAD to compare the server's composite checksum, and a SHA-256 "
        "pass over every download. The boto3 baseline keeps boto3's default CRC32 on upload "
        "and nothing else. Client and server share the same 2 cores (and other jobs).",
    ]
    path = write_result("s3", "S3 artifact store throughput (local SeaweedFS)", "\n".join(lines))
    print(path.read_text())


def _fake_run(run: Path) -> Path:
    import json

    model = run / "model"
    model.mkdir(parents=True)
    (model / "model.safetensors").write_bytes(os.urandom(87 * MiB))
    (model / "tokenizer.json").write_bytes(os.urandom(700 * 1024))
    for name in ("config.json", "modules.json", "tokenizer_config.json", "vocab.txt"):
        (model / name).write_text("{}")
    for name in ("1_Pooling", "2_Normalize"):
        (model / name).mkdir()
        (model / name / "config.json").write_text("{}")
    metrics = {"split": "test", "models": {"finetuned": {"ndcg@10": 0.5}}}
    (run / "metrics.json").write_text(json.dumps(metrics))
    (run / "config.yaml").write_text("name: bench\n")
    return run


def _weed_version() -> str:
    import subprocess

    from s3_server import weed_binary

    out = subprocess.run([weed_binary(), "version"], capture_output=True, text=True).stdout
    return out.split()[2] if len(out.split()) > 2 else "?"


if __name__ == "__main__":
    main()
