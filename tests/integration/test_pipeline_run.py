"""The whole local pipeline on the smoke config: run folder, caching, recommend, bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from urtraining.domain import Course, UserProfile
from urtraining.runner import STAGE_NAMES, read_manifest, run_pipeline
from urtraining.synth.rules import is_safe

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "urtraining.cli"]
PROFILE = {
    "user_id": "u1",
    "age": 30,
    "height_cm": 170,
    "weight_kg": 65,
    "goals": ["endurance"],
    "experience_level": "beginner",
    "preferred_activities": ["running"],
    "sessions_per_week": 3,
    "session_minutes": 30,
}


def cli(*args, cwd=None, timeout=300) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "URTRAINING_LOG": "WARNING"}
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout
    )


def test_run_folder_has_every_artifact(smoke_run):
    for name in (
        "config.yaml",
        "users.jsonl",
        "metadata.jsonl",
        "courses.jsonl",
        "rankings.jsonl",
        "dataset/train.jsonl",
        "dataset/splits.json",
        "model/config.json",
        "metrics.json",
        "milvus.db",
        "manifest.json",
        "diversity.json",
    ):
        assert (smoke_run / name).exists(), name
    metrics = json.loads((smoke_run / "metrics.json").read_text())
    assert metrics["split"] == "test"
    for block in (metrics["models"], metrics["cold_courses"]["models"]):
        assert set(block) == {"bm25", "base", "finetuned"}
        for m in block.values():
            assert {"ndcg@10", "recall@10", "mrr@10"} <= set(m)
            assert 0 <= m["ndcg@10"] <= 1
    manifest = read_manifest(smoke_run)
    assert set(manifest["stages"]) == set(STAGE_NAMES)
    assert manifest["versions"]["sentence-transformers"]


def test_unchanged_stages_are_skipped_and_changed_ones_rerun(smoke_run, smoke_config, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(smoke_run, run)
    before = read_manifest(run)["stages"]
    run_pipeline(smoke_config, run)
    assert read_manifest(run)["stages"] == before  # nothing recomputed
    changed = smoke_config.model_copy(deep=True)
    changed.evaluate.k = 5
    run_pipeline(changed, run, stages=["evaluate"])
    after = read_manifest(run)["stages"]
    assert after["evaluate"]["finished_at"] >= before["evaluate"]["finished_at"]
    assert after["evaluate"]["key"] != before["evaluate"]["key"]
    assert after["train"] == before["train"]
    assert "ndcg@5" in json.loads((run / "metrics.json").read_text())["models"]["bm25"]


def test_recommend_cli_returns_safe_courses_in_the_contract_shape(smoke_run, tmp_path):
    courses = {
        c["course_id"]: Course.model_validate(c)
        for c in map(json.loads, (smoke_run / "courses.jsonl").read_text().splitlines())
    }
    users = [
        UserProfile.model_validate(json.loads(line))
        for line in (smoke_run / "users.jsonl").read_text().splitlines()
    ]
    user = next(u for u in users if u.injuries)
    f = tmp_path / "user.json"
    f.write_text(user.model_dump_json(exclude={"provenance"}))
    out = cli("recommend", "--run", smoke_run, "--user", f, "-k", 5)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert 0 < len(rows) <= 5
    for r in rows:
        assert set(r) == {"course_id", "score", "title", "type", "level"}
        assert is_safe(user, courses[r["course_id"]])
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    swim = cli("recommend", "--run", smoke_run, "--user", f, "--type", "swimming")
    assert swim.returncode == 0, swim.stderr
    assert all(r["type"] == "swimming" for r in json.loads(swim.stdout))


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "file not found"),
        ("{not json", "not valid JSON"),
        ('{"user_id": "x"}', "age: Field required"),
        (
            '{"user_id":"x","age":5,"height_cm":170,"weight_kg":60,"goals":["strength"],'
            '"experience_level":"beginner","preferred_activities":["gym"],"sessions_per_week":2,'
            '"session_minutes":30}',
            "age: Input should be greater than or equal to 14",
        ),
    ],
)
def test_bad_profile_is_one_line_and_exit_2(smoke_run, tmp_path, content, needle):
    f = tmp_path / "u.json"
    if content is not None:
        f.write_text(content)
    out = cli("recommend", "--run", smoke_run, "--user", f)
    assert out.returncode == 2
    assert needle in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_missing_run_and_missing_stage_say_what_to_run(tmp_path):
    user = tmp_path / "u.json"
    user.write_text(json.dumps(PROFILE))
    out = cli("recommend", "--run", tmp_path / "nope", "--user", user)
    assert out.returncode == 2 and "run folder not found" in out.stderr
    half = tmp_path / "half"
    half.mkdir()
    out = cli("rank", "--run", half)
    assert out.returncode == 2
    assert "urtraining synth" in out.stderr and "Traceback" not in out.stderr


def test_bad_config_value_exits_2_naming_the_field(tmp_path):
    out = cli(
        "run",
        "--config",
        Path(__file__).parents[2] / "configs/smoke.yaml",
        "--out",
        tmp_path / "r",
        "--set",
        "train.loss=nope",
    )
    assert out.returncode == 2
    assert "train.loss" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "r").exists()  # nothing half-written


def test_synth_courses_then_users_with_histories_over_them(tmp_path):
    out = tmp_path / "gen"
    assert cli("synth", "courses", "-n", 12, "--out", out).returncode == 0
    made = cli("synth", "users", "-n", 10, "--out", out)
    assert made.returncode == 0, made.stderr
    courses = {json.loads(line)["course_id"] for line in (out / "courses.jsonl").open()}
    users = [json.loads(line) for line in (out / "users.jsonl").open()]
    histories = [json.loads(line) for line in (out / "metadata.jsonl").open()]
    assert len(courses) == 12 and len(users) == 10 and 0 < len(histories) <= 10
    for h in histories:
        assert set(h["completed_course_ids"]) | set(h["dropped_course_ids"]) <= courses
