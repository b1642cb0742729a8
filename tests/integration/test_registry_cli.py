"""`urtraining publish|promote|rollback` as a user runs them, against real S3."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(180)


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "urtraining.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env or os.environ.copy())


def test_publish_promote_rollback_cli(s3_env, s3_bucket, make_run):
    dest = f"s3://{s3_bucket}/registry"
    good, worse = make_run(0.42), make_run(0.30)

    out = cli("publish", "--run", str(good), "--to", dest)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["version"] == "v0001"
    assert json.loads(out.stdout)["uri"] == f"{dest}/models/recommender/v0001"
    assert cli("publish", "--run", str(worse), "--to", dest).returncode == 0

    first = cli("promote", "--to", dest, "--version", "v0001")
    assert first.returncode == 0 and json.loads(first.stdout)["promoted"] is True

    refused = cli("promote", "--to", dest)  # latest = v0002, lower NDCG@10
    assert refused.returncode == 0
    assert json.loads(refused.stdout)["promoted"] is False
    assert "not promoted" in refused.stderr

    forced = cli("promote", "--to", dest, "--force")
    assert json.loads(forced.stdout)["forced"] is True
    assert "FORCED promotion" in forced.stderr  # a human forced it: it shows in the log

    back = cli("rollback", "--to", dest)
    assert back.returncode == 0 and json.loads(back.stdout)["candidate"] == "v0001"


def test_cli_errors_are_one_line(s3_server, s3_env, s3_bucket, make_run, tmp_path):
    run = make_run(0.4)
    env = {**os.environ, "AWS_SECRET_ACCESS_KEY": "wrong-secret-value-123"}
    bad = cli("publish", "--run", str(run), "--to", f"s3://{s3_bucket}/r", env=env)
    assert bad.returncode == 2
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and "access denied" in lines[0], bad.stderr
    assert "wrong-secret-value-123" not in bad.stderr + bad.stdout
    assert s3_server.secret_key not in bad.stderr + bad.stdout

    missing = cli("promote", "--to", str(tmp_path / "empty"), "--version", "v0009")
    assert missing.returncode == 2 and "no version 'v0009'" in missing.stderr
    nothing = cli("publish", "--run", str(tmp_path / "nope"), "--to", str(tmp_path / "r"))
    assert nothing.returncode == 2 and "no trained model" in nothing.stderr
