"""The `openai` backend against a real OpenAI-compatible server on 127.0.0.1 (tests/
llm_server.py: the local SmolLM2 behind /v1/chat/completions), including a 500, a slow
answer that times out, and malformed JSON."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from urtraining.config import LLMEndpoint, LLMRunOptions, SynthConfig
from urtraining.synth import get_generator

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory):
    port_file = tmp_path_factory.mktemp("llm-server") / "port"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "llm_server.py"),
            "--port",
            "0",
            "--port-file",
            str(port_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ},
    )
    try:
        deadline = time.monotonic() + 240
        while not port_file.exists() or not port_file.read_text():
            if proc.poll() is not None:
                pytest.fail(f"llm server exited: {proc.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("llm server did not start in 240 s")
            time.sleep(0.5)
        url = f"http://127.0.0.1:{port_file.read_text()}"
        while True:
            try:
                httpx.get(f"{url}/health", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    pytest.fail("llm server not healthy")
                time.sleep(0.3)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_openai_backend_survives_a_500_and_malformed_json(llm_server, tmp_path):
    httpx.post(f"{llm_server}/control", json={"faults": ["500", "malformed"]}).raise_for_status()
    ep = LLMEndpoint(
        backend="openai",
        model="smollm2-test",
        base_url=f"{llm_server}/v1",
        timeout_s=300,
        max_retries=3,
        max_tokens=320,
        temperature=0.3,
    )
    cfg = SynthConfig(
        backend="openai",
        roster=[ep],
        llm=LLMRunOptions(
            executor="threads",
            batch_size=1,
            max_program_days=1,
            max_exercises_per_day=2,
            max_text_chars=80,
        ),
    )
    gen = get_generator(cfg, tmp_path)
    courses = gen.courses(1, seed=4)

    stats = httpx.get(f"{llm_server}/stats").json()
    assert (stats["500"], stats["malformed"]) == (1, 1)
    summary = gen.accounting.summary()["tasks"]
    m = {t: summary[t]["models"]["smollm2-test"] for t in ("courses", "coaches")}
    # the course item met both faults: the 500 was retried by the transport, the malformed
    # answer by the engine with the JSON error fed back; every request is counted
    assert m["courses"]["transport_retries"] == 1
    assert m["courses"]["retries"] >= 1
    assert sum(x["requests"] for x in m.values()) == stats["requests"] - 1
    assert sum(x["tokens_out"] for x in m.values()) > 0
    assert m["courses"]["records_ok"] + m["courses"]["records_dropped"] == 1
    assert len(courses) <= 1
    for c in courses:
        assert c.provenance.model == "smollm2-test" and c.provenance.backend == "openai"


def test_openai_backend_times_out_a_slow_answer_and_retries(llm_server):
    from urtraining.synth.llm.backends import LLMRequest
    from urtraining.synth.llm.backends.openai_compat import OpenAIBackend

    httpx.post(f"{llm_server}/control", json={"faults": ["slow"], "slow_s": 10}).raise_for_status()
    backend = OpenAIBackend("smollm2-test", base_url=f"{llm_server}/v1", timeout_s=6, max_retries=2)
    t0 = time.monotonic()
    resp = backend.complete(
        LLMRequest(messages=[{"role": "user", "content": "Say hi"}], max_tokens=4)
    )
    assert resp.transport_retries == 1 and resp.tokens_out > 0
    assert 6 <= time.monotonic() - t0 < 60
    assert httpx.get(f"{llm_server}/stats").json()["slow"] >= 1
    backend.close()


def test_openai_backend_gives_up_cleanly_when_the_server_keeps_failing(llm_server, tmp_path):
    httpx.post(f"{llm_server}/control", json={"faults": ["500"] * 8}).raise_for_status()
    ep = LLMEndpoint(
        backend="openai",
        model="smollm2-test",
        base_url=f"{llm_server}/v1",
        timeout_s=5,
        max_retries=1,
        max_tokens=64,
    )
    cfg = SynthConfig(
        backend="openai",
        roster=[ep],
        llm=LLMRunOptions(executor="threads", batch_size=2, max_attempts=2),
    )
    gen = get_generator(cfg, tmp_path)
    courses = gen.courses(1, seed=9)  # one course + one coach item, 2 attempts x 2 tries each
    assert courses == []
    summary = gen.accounting.summary()["tasks"]
    for task in ("courses", "coaches"):
        m = summary[task]["models"]["smollm2-test"]
        assert m["records_dropped"] == 1 and m["failures"] == 2 and m["records_ok"] == 0
        assert any("InternalServerError" in r for r in summary[task]["drop_reasons"])
    # the dropped items are in the resume cache: a rerun makes no requests
    before = httpx.get(f"{llm_server}/stats").json()["requests"]
    again = get_generator(cfg, tmp_path)
    assert again.courses(1, seed=9) == []
    assert httpx.get(f"{llm_server}/stats").json()["requests"] == before


def test_token_budget_stops_cleanly_and_keeps_what_finished(llm_server, tmp_path):
    ep = LLMEndpoint(
        backend="openai",
        model="smollm2-test",
        base_url=f"{llm_server}/v1",
        timeout_s=300,
        max_tokens=200,
    )
    cfg = SynthConfig(
        backend="openai",
        roster=[ep],
        max_tokens_budget=1,
        llm=LLMRunOptions(executor="threads", batch_size=1, max_attempts=1, max_text_chars=60),
    )
    before = httpx.get(f"{llm_server}/stats").json()["requests"]
    gen = get_generator(cfg, tmp_path)
    assert gen.courses(3, seed=5) == []  # 6 items; the budget ran out after the first
    assert httpx.get(f"{llm_server}/stats").json()["requests"] - before == 1
    summary = gen.accounting.summary()
    assert summary["tasks"]["courses"]["stopped_by_budget"] is True
    assert summary["total_tokens"] >= 1
    assert len((tmp_path / "llm-courses.jsonl").read_text().splitlines()) == 1
