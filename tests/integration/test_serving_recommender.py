"""The recommender predictor over real HTTP, and its fast path against the plain one.

The smoke run (``configs/smoke.yaml``) comes from the session fixture in tests/conftest.py.
The server gets its own copy of the run: a Milvus Lite file is held by one process at a time.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest

from serving.testing import ServerProcess

pytestmark = pytest.mark.slow

LIMITS = {"URTRAINING_SERVE_MAX_INSTANCES": "8", "URTRAINING_SERVE_MAX_BODY_BYTES": "16000"}
KEYS = {"course_id", "score", "title", "type", "level"}


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory) -> Path:
    """One ONNX export per session, shared by the server and the in-process comparisons."""
    return tmp_path_factory.mktemp("onnx-cache")


def _copy_run(run: Path, dest: Path) -> Path:
    shutil.copytree(run, dest, ignore=shutil.ignore_patterns("checkpoints"))
    return dest


@pytest.fixture(scope="module")
def users(smoke_run) -> list[dict]:
    rows = [json.loads(line) for line in (smoke_run / "users.jsonl").read_text().splitlines()]
    for r in rows:
        r.pop("provenance", None)
    return rows


@pytest.fixture(scope="module")
def courses(smoke_run) -> dict[str, dict]:
    rows = [json.loads(line) for line in (smoke_run / "courses.jsonl").read_text().splitlines()]
    return {r["course_id"]: r for r in rows}


@pytest.fixture(scope="module")
def server(smoke_run, onnx_cache, tmp_path_factory):
    """Started the way the Helm chart starts it: --model-dir and --milvus-uri."""
    run = _copy_run(smoke_run, tmp_path_factory.mktemp("served") / "run")
    log = run.parent / "server.log"
    args = ["recommender", "--model-dir", str(run / "model"), "--milvus-uri",
            str(run / "milvus.db"), "--collection", "courses"]  # fmt: skip
    srv = ServerProcess(args, env={**LIMITS, "URTRAINING_CACHE_DIR": str(onnx_cache)},
                        log_path=log)  # fmt: skip
    srv.start()
    yield srv
    srv.stop()


def _v1(server, body) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/models/recommender:predict", json=body, timeout=60)


def _v2(server, body) -> httpx.Response:
    return httpx.post(f"{server.url}/v2/models/recommender/infer", json=body, timeout=60)


def test_ready_and_v1_raw_http(server, users, courses):
    assert httpx.get(f"{server.url}/v2/models/recommender/ready").status_code == 200
    assert httpx.get(f"{server.url}/v1/models/recommender").json()["ready"] is True
    r = _v1(server, {"instances": users[:2], "parameters": {"k": 5}})
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    assert len(preds) == 2
    for row in preds:
        assert 1 <= len(row) <= 5
        assert all(set(rec) == KEYS for rec in row)
        assert all(rec["course_id"] in courses for rec in row)
        scores = [rec["score"] for rec in row]
        assert scores == sorted(scores, reverse=True)


def test_filters_type_injuries_equipment(server, users, courses):
    from urtraining.domain import UserProfile
    from urtraining.synth.rules import effective_equipment

    injured = dict(users[0], injuries=["knee", "lower_back", "shoulder"], equipment=[])
    r = _v1(server, {"instances": [injured], "parameters": {"k": 40}})
    assert r.status_code == 200, r.text
    have = {e.value for e in effective_equipment(UserProfile(**injured).equipment)}
    for rec in r.json()["predictions"][0]:
        c = courses[rec["course_id"]]
        assert not set(c["contraindications"]) & set(injured["injuries"]), c["course_id"]
        assert set(c["equipment"]) <= have, c["course_id"]
    r = _v1(server, {"instances": [users[1]], "parameters": {"k": 40, "type": "swimming"}})
    assert r.status_code == 200
    assert {rec["type"] for rec in r.json()["predictions"][0]} <= {"swimming"}


def test_kserve_client_v1_and_v2_agree(server, users):
    from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig

    async def call():
        v1 = InferenceRESTClient(RESTConfig(protocol="v1", retries=0, timeout=60))
        v2 = InferenceRESTClient(RESTConfig(protocol="v2", retries=0, timeout=60))
        try:
            body = {"instances": users[2:4], "parameters": {"k": 3, "type": "gym"}}
            out1 = await v1.infer(server.url, body, model_name="recommender")
            inp = InferInput(name="profile", shape=[2], datatype="BYTES",
                             data=[json.dumps(u) for u in users[2:4]])  # fmt: skip
            req = InferRequest(model_name="recommender", infer_inputs=[inp],
                               parameters={"k": 3, "type": "gym"})  # fmt: skip
            out2 = await v2.infer(server.url, req, model_name="recommender")
            bad = InferRequest(
                model_name="recommender",
                infer_inputs=[InferInput(name="profile", shape=[1], datatype="BYTES",
                                         data=[json.dumps(dict(users[0], age=5))])],
            )  # fmt: skip
            with pytest.raises(httpx.HTTPStatusError) as err:
                await v2.infer(server.url, bad, model_name="recommender")
            return out1, out2, err.value
        finally:
            await v1.close()
            await v2.close()

    out1, out2, err = asyncio.run(call())
    output = out2.outputs[0]
    assert output.name == "recommendations" and output.datatype == "BYTES"
    assert [json.loads(x) for x in output.data] == out1["predictions"]
    assert err.response.status_code == 400 and "inputs.profile.0.age" in str(err)


def _bad(users):
    u = users[0]
    without_age = {k: v for k, v in u.items() if k != "age"}
    return [
        ({}, 400, "instances"),
        ({"instances": []}, 400, "instances"),
        ({"instances": [without_age]}, 400, "instances.0.age"),
        ({"instances": [u, dict(u, age=5)]}, 400, "instances.1.age"),
        ({"instances": [dict(u, shoe_size=44)]}, 400, "instances.0.shoe_size"),
        ({"instances": [dict(u, goals=["strength", "strength"])]}, 400, "instances.0.goals"),
        ({"instances": [dict(u, injuries=["elbow"])]}, 400, "instances.0.injuries"),
        ({"instances": ["a string"]}, 400, "instances.0"),
        ({"instances": [u], "parameters": {"k": 0}}, 400, "parameters.k"),
        ({"instances": [u], "parameters": {"k": 1000}}, 400, "parameters.k"),
        ({"instances": [u], "parameters": {"type": "tennis"}}, 400, "parameters.type"),
        ({"instances": [u], "parameters": {"kk": 3}}, 400, "parameters.kk"),
        ({"instances": [u] * 9}, 413, "instances"),
        ({"instances": [dict(u, notes="x" * 1900)] * 8}, 413, "body"),
    ]


def test_v1_bad_input(server, users):
    for body, status, names in _bad(users):
        r = _v1(server, body)
        assert r.status_code == status, (names, r.text)
        assert names in r.json()["error"], (names, r.text)


def test_v2_bad_input(server, users):
    def inp(name="profile", datatype="BYTES", data=None):
        data = data if data is not None else [json.dumps(users[0])]
        return {"name": name, "shape": [len(data)], "datatype": datatype, "data": data}

    cases = [
        ({"inputs": "x"}, 400, "inputs"),
        ({"inputs": [inp(name="user")]}, 400, "profile"),
        ({"inputs": [inp(datatype="INT32", data=[1])]}, 400, "datatype"),
        ({"inputs": [inp(data=["{not json"])]}, 400, "inputs.profile.0"),
        ({"inputs": [inp(data=[json.dumps(dict(users[0], age="old"))])]}, 400,
         "inputs.profile.0.age"),
        ({"inputs": [inp()], "parameters": {"k": -1}}, 400, "parameters.k"),
        ({"inputs": [inp(data=[json.dumps(users[0])] * 9)]}, 413, "inputs.profile"),
    ]  # fmt: skip
    for body, status, names in cases:
        r = _v2(server, body)
        assert r.status_code == status, (names, r.text)
        assert names in r.json()["error"], (names, r.text)
    # and the server still answers good requests
    r = _v2(server, {"inputs": [inp()], "parameters": {"k": 2}})
    assert r.status_code == 200, r.text
    assert len(json.loads(r.json()["outputs"][0]["data"][0])) == 2


def test_concurrent_requests_are_batched_correctly(server, users):
    """Batched answers equal one-at-a-time answers, whatever the batch they fell in."""
    bodies = [{"instances": [users[i]], "parameters": {"k": 4}} for i in range(10, 26)]
    alone = [_v1(server, b).json()["predictions"] for b in bodies]
    results: list = [None] * len(bodies)

    def call(i):
        results[i] = _v1(server, bodies[i])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for i, r in enumerate(results):
        assert r.status_code == 200
        got = r.json()["predictions"]
        assert [x["course_id"] for x in got[0]] == [x["course_id"] for x in alone[i][0]]
        assert np.allclose([x["score"] for x in got[0]], [x["score"] for x in alone[i][0]],
                           atol=1e-5)  # fmt: skip


def test_metrics_cache_stages_errors(server, users):
    same = dict(users[5], user_id="someone-else")  # the id is not encoded: same text
    assert _v1(server, {"instances": [users[5]]}).status_code == 200
    assert _v1(server, {"instances": [same]}).status_code == 200
    text = httpx.get(f"{server.url}/metrics").text
    prefix = 'urtraining_cache_total{model_name="recommender",result="hit"}'
    hits = [line for line in text.splitlines() if line.startswith(prefix)]
    assert hits and float(hits[0].split()[-1]) >= 1
    for stage in ("validate", "embed", "search", "serialize", "queue"):
        assert f'stage="{stage}"' in text, stage
    assert 'urtraining_errors_total{kind="invalid",model_name="recommender"}' in text
    assert 'urtraining_errors_total{kind="too_large",model_name="recommender"}' in text


def test_fast_path_matches_plain_recommender(smoke_run, users, onnx_cache, tmp_path, monkeypatch):
    """In-process search == Milvus search; ONNX fp32 == torch; int8 ranks close to fp32."""
    monkeypatch.setenv("URTRAINING_CACHE_DIR", str(onnx_cache))
    from urtraining.domain import UserProfile
    from urtraining.recommend import FastRecommender, Recommender

    run = _copy_run(smoke_run, tmp_path / "run")
    profiles = [UserProfile(**u) for u in users[:30]]
    plain = Recommender.from_run(run)
    try:
        torch_vecs = plain.encode(profiles)
        base = {t: plain.recommend(profiles, k=8, course_type=t)
                for t in (None, "gym", "swimming", "other")}  # fmt: skip
    finally:
        plain.close()

    fast = FastRecommender.from_run(run)
    try:
        fast.configure(run / "model", encoder="torch", cache_size=0, in_memory=True)
        for t, expected in base.items():
            got = fast.recommend(profiles, k=8, course_type=t)
            for g, e in zip(got, expected, strict=True):
                assert [r.course_id for r in g] == [r.course_id for r in e], t
                assert np.allclose([r.score for r in g], [r.score for r in e], atol=1e-4)

        fast.configure(run / "model", encoder="onnx", cache_size=0, in_memory=True)
        onnx_vecs = fast.encode(profiles)
        assert float(np.min(np.sum(onnx_vecs * torch_vecs, axis=1))) > 0.9999

        fast.configure(run / "model", encoder="onnx-int8", cache_size=0, in_memory=True)
        int8_vecs = fast.encode(profiles)
        assert float(np.min(np.sum(int8_vecs * torch_vecs, axis=1))) > 0.97
        int8 = fast.recommend(profiles, k=8)
        overlap = np.mean([len({r.course_id for r in a} & {r.course_id for r in b}) / 8
                           for a, b in zip(int8, base[None], strict=True)])  # fmt: skip
        assert overlap >= 0.75, overlap

        # --max-seq-length: texts cut to 16 tokens; what differs after them is not seen
        fast.configure(run / "model", encoder="onnx-int8", cache_size=0, in_memory=True,
                       max_seq_length=16)  # fmt: skip
        assert fast.model.max_seq_length == 16
        twin = profiles[0].model_copy(update={"notes": "something else entirely"})
        a, b = fast.encode([profiles[0], twin])
        assert float(a @ b) > 0.9999
        assert float(np.min(np.sum(fast.encode(profiles) * int8_vecs, axis=1))) < 0.999
    finally:
        fast.close()


def test_serve_cli_usage_errors(tmp_path):
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "urtraining.cli", "serve", "recommender"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--run" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([*cmd, "--run", str(tmp_path / "nope")], capture_output=True, text=True,
                       timeout=120)  # fmt: skip
    assert r.returncode == 2 and "nope" in r.stderr


def test_model_from_s3_storage_uri(smoke_run, users, onnx_cache, s3_env, s3_bucket, tmp_path):
    """The model the way the pipeline deploys it: the registry version's s3:// model folder."""
    from components.glue import model_uri
    from urtraining.registry import ModelRegistry
    from urtraining.store import open_store

    run = _copy_run(smoke_run, tmp_path / "run")
    registry_uri = f"s3://{s3_bucket}/registry"
    version = ModelRegistry(open_store(registry_uri), "recommender").publish(run)
    uri = model_uri(registry_uri, version)
    assert uri.startswith("s3://") and uri.endswith("/model")
    env = {"URTRAINING_CACHE_DIR": str(onnx_cache / "from-s3")}
    args = ["recommender", "--model-dir", uri, "--milvus-uri", str(run / "milvus.db")]
    with ServerProcess(args, env=env, log_path=tmp_path / "server.log") as srv:
        r = _v1(srv, {"instances": users[:1], "parameters": {"k": 3}})
        assert r.status_code == 200, r.text
        assert len(r.json()["predictions"][0]) == 3
    (fetched,) = (onnx_cache / "from-s3" / "models").iterdir()
    assert (fetched / "modules.json").is_file()
