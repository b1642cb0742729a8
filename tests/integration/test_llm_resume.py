"""Resume after a real kill: a generation process is SIGKILLed mid-way, restarted on the
same cache folder, and must call the LLM only for what was missing, with no duplicates."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SCRIPT = """
import json, sys
from pathlib import Path
from urtraining.config import LLMEndpoint, LLMRunOptions, SynthConfig
from urtraining.io import write_jsonl
from urtraining.synth import get_generator

work = Path(sys.argv[1])
cfg = SynthConfig(
    backend="local",
    roster=[LLMEndpoint(max_tokens=200, temperature=0.3)],
    llm=LLMRunOptions(executor="threads", batch_size=1, max_program_days=1,
                      max_exercises_per_day=1, max_text_chars=60, max_attempts=2),
)
gen = get_generator(cfg, work / "cache")
courses = gen.courses(3, seed=21)
write_jsonl(work / "courses.jsonl", courses)
(work / "accounting.json").write_text(json.dumps(gen.accounting.summary()))
"""


def _cache_lines(cache: Path) -> list[dict]:
    out = []
    for f in sorted(cache.glob("llm-*.jsonl")):
        for line in f.read_text().splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                out.append(json.loads(line))
    return out


def test_killed_generation_resumes_without_regenerating(tmp_path):
    script = tmp_path / "gen.py"
    script.write_text(SCRIPT)
    cache = tmp_path / "cache"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    first = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 600
        while len(_cache_lines(cache)) < 2:  # 6 items in all: 3 courses + 3 coach forms
            assert first.poll() is None, "generation finished before it could be killed"
            assert time.monotonic() < deadline, "no progress in 600 s"
            time.sleep(0.2)
        first.send_signal(signal.SIGKILL)
    finally:
        if first.poll() is None:
            first.kill()
        first.wait()
    done_before = {r["key"]: r for r in _cache_lines(cache)}
    assert 2 <= len(done_before) < 6
    assert not (tmp_path / "courses.jsonl").exists()

    second = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=800,
    )
    assert second.returncode == 0, second.stderr[-3000:]

    lines = _cache_lines(cache)
    keys = [r["key"] for r in lines]
    assert len(keys) == len(set(keys)) == 6  # every item once, nothing duplicated
    for key, res in done_before.items():  # finished work was kept, not regenerated
        assert next(r for r in lines if r["key"] == key) == res
    acc = json.loads((tmp_path / "accounting.json").read_text())["tasks"]
    cached = sum(m["records_cached"] for t in acc.values() for m in t["models"].values())
    fresh = sum(
        m["records_ok"] + m["records_dropped"] for t in acc.values() for m in t["models"].values()
    )
    assert cached == len(done_before) and fresh == 6 - len(done_before)
    ids = [
        json.loads(x)["course_id"] for x in (tmp_path / "courses.jsonl").read_text().splitlines()
    ]
    assert len(ids) == len(set(ids))
