"""The whole recommender-training pipeline on KFP's real local runner (SubprocessRunner), on
the smoke config, through `urtraining pipeline run-local`: the artifacts it leaves behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "configs" / "smoke.yaml"
CLI = [sys.executable, "-m", "urtraining.cli", "pipeline"]


def cli(*args, timeout=600) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout
    )


def last_json(stdout: str) -> dict:
    """The summary run-local prints last (the local runner logs to stdout before it)."""
    lines = stdout.splitlines()
    start = max(i for i, line in enumerate(lines) if line == "{")
    return json.loads("\n".join(lines[start:]))


@pytest.mark.slow
def test_run_local_smoke_pipeline(tmp_path):
    registry = tmp_path / "registry"
    # smoke.yaml, with a smaller training budget: this test is about the pipeline, not quality
    proc = cli(
        "run-local", "--config", SMOKE, "--set", "train.max_examples=32",
        "--root", tmp_path / "kfp", "--registry", registry,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
    out = last_json(proc.stdout)
    run_root = Path(out["pipeline_root"])

    # every stage ran, users and courses before ranking, the gated branch too
    for task in ("configure", "generate-users", "generate-courses", "rank", "assemble", "train",
                 "evaluate", "gate", "publish", "promote", "index", "deploy"):  # fmt: skip
        assert (run_root / task / "executor_output.json").is_file(), task

    # the resolved config is the smoke config plus the override
    config = Path(out["config"]).read_text()
    assert "name: smoke" in config and "max_examples: 32" in config

    # model: a sentence-transformers folder
    model = Path(out["model"])
    assert (model / "modules.json").is_file() and (model / "config.json").is_file()
    assert any(model.rglob("*.safetensors"))

    # metrics: metrics.json (DESIGN.md §4), the KFP Metrics scalars and the markdown table
    metrics = json.loads(Path(out["metrics"]).read_text())
    for name in ("bm25", "base", "finetuned"):
        assert {"ndcg@10", "recall@10", "mrr@10"} <= set(metrics["models"][name])
    ev = json.loads((run_root / "evaluate" / "executor_output.json").read_text())
    scalars = ev["artifacts"]["metrics"]["artifacts"][0]["metadata"]
    assert scalars["finetuned/ndcg@10"] == pytest.approx(metrics["models"]["finetuned"]["ndcg@10"])
    assert "finetuned" in Path(out["report"]).read_text() and "|" in Path(out["report"]).read_text()

    # gate: the first candidate becomes champion; publish -> promote -> index -> deploy(skip)
    gate = json.loads((run_root / "gate" / "executor_output.json").read_text())
    assert gate["parameterValues"]["Output"] == "promote"
    champion = json.loads((registry / "models" / "recommender" / "champion.json").read_text())
    assert champion["version"] == "v0001"
    assert champion["ndcg@10"] == pytest.approx(metrics["models"]["finetuned"]["ndcg@10"])
    deploy = json.loads((run_root / "deploy" / "executor_output.json").read_text())
    assert deploy["parameterValues"]["Output"] == "skipped: deploy_target=none"

    # index: index.json and the Milvus Lite file, holding every course behind the alias
    index = Path(out["index"])
    info = json.loads((index / "index.json").read_text())
    assert info["alias"] == "courses" and info["collection"].startswith("courses_v")
    from pymilvus import MilvusClient

    db = tmp_path / "copy" / "milvus.db"  # a copy: opening a Lite file may write to it
    db.parent.mkdir()
    if (index / "milvus.db").is_dir():
        shutil.copytree(index / "milvus.db", db)
    else:
        shutil.copy2(index / "milvus.db", db)
    client = MilvusClient(uri=str(db))
    try:
        assert client.describe_alias("courses")["collection_name"] == info["collection"]
        client.load_collection(info["collection"])
        rows = client.query(
            info["collection"], filter='course_id != ""', output_fields=["count(*)"]
        )
        assert rows[0]["count(*)"] == 40  # smoke: 40 courses
    finally:
        client.close()


def test_run_local_rejects_bad_input(tmp_path):
    proc = cli("run-local", "--param", "bogus=1", "--root", tmp_path)
    assert proc.returncode == 2 and "unknown pipeline parameter(s) bogus" in proc.stderr
    proc = cli("run-local", "--config", tmp_path / "missing.yaml", "--root", tmp_path)
    assert proc.returncode == 2 and "config file not found" in proc.stderr
    proc = cli("run-local", "--config", SMOKE, "--set", "train.loss=hinge", "--root", tmp_path)
    assert proc.returncode == 2 and "train.loss" in proc.stderr
    assert not list(tmp_path.glob("recommender-training-*"))  # failed before any task ran
