"""The tracker predictor over real HTTP: KServe's ModelServer on 127.0.0.1, the real OCR backend.

One server for the module (the OCR model loads once); limits are set small through the
environment so every 413 is cheap to provoke. Each good request reads a real image (~1-4 s on
a busy 2-core box), so the good-path requests are few.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import threading
from pathlib import Path

import httpx
import pytest

from serving.testing import ServerProcess

pytestmark = pytest.mark.slow

LIMITS = {
    "URTRAINING_SERVE_MAX_INSTANCES": "3",
    "URTRAINING_SERVE_MAX_IMAGE_BYTES": "300000",
    "URTRAINING_SERVE_MAX_PIXELS": "2000000",
    "URTRAINING_SERVE_MAX_BODY_BYTES": "1500000",
}


@pytest.fixture(scope="module")
def image_bytes(tmp_path_factory) -> bytes:
    from urtraining.tracker import render_sample_program

    path = render_sample_program(tmp_path_factory.mktemp("img") / "program.png")
    data = path.read_bytes()
    assert len(data) < 300_000
    return data


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("tracker-server") / "server.log"
    srv = ServerProcess(["tracker", "--backend", "ocr"], env=LIMITS, log_path=log)
    srv.start()
    yield srv
    srv.stop()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _v1(server, body, **kw) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/models/tracker:predict", json=body, timeout=60, **kw)


def _v2(server, body) -> httpx.Response:
    return httpx.post(f"{server.url}/v2/models/tracker/infer", json=body, timeout=60)


def _png(width: int, height: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (width, height), 255).save(buf, "PNG")
    return buf.getvalue()


def test_binds_loopback_only_and_is_ready(server):
    # /proc/net/tcp lists listening sockets: ours must be 127.0.0.1 (0100007F), not 0.0.0.0
    port_hex = f"{server.port:04X}"
    listening = [
        line.split()[1]
        for path in ("/proc/net/tcp", "/proc/net/tcp6")
        if Path(path).exists()
        for line in Path(path).read_text().splitlines()[1:]
        if line.split()[1].endswith(f":{port_hex}") and line.split()[3] == "0A"
    ]
    assert listening == [f"0100007F:{port_hex}"]
    assert httpx.get(f"{server.url}/v2/health/ready").json()["ready"] is True
    assert httpx.get(f"{server.url}/v2/models/tracker/ready").status_code == 200
    assert httpx.get(f"{server.url}/v1/models/tracker").json()["ready"] is True
    assert httpx.get(f"{server.url}/v2/models/nothing/ready").status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "names"),
    [
        ({}, 400, "instances"),
        ({"instances": "x"}, 400, "instances"),
        ({"instances": []}, 400, "instances"),
        ({"instances": [{}]}, 400, "instances.0.image_b64"),
        ({"instances": [{"image_b64": "aGk=", "url": "x"}]}, 400, "instances.0.url"),
        ({"instances": [{"image_b64": "not base64!"}]}, 400, "instances.0.image_b64"),
        ({"instances": [{"image_b64": _b64(b"plain text, not an image")}]}, 400, "instances.0"),
        ({"instances": [{"image_b64": "aGk="}] * 4}, 413, "instances"),
        ({"instances": [{"image_b64": "aGk="}], "parameters": {"pages": "maybe"}}, 400, "pages"),
        ({"instances": [{"image_b64": "aGk="}], "parameters": {"k": 3}}, 400, "parameters.k"),
        ({"instances": [{"image_b64": "A" * 500_000}]}, 413, "instances.0.image_b64"),
    ],
)
def test_v1_bad_input(server, body, status, names):
    r = _v1(server, body)
    assert r.status_code == status, r.text
    assert names in r.json()["error"]


def test_v1_invalid_json_and_oversized_body(server):
    r = httpx.post(
        f"{server.url}/v1/models/tracker:predict",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400
    r = httpx.post(f"{server.url}/v1/models/tracker:predict", content=b"x" * 2_000_000)
    assert r.status_code == 413 and "body" in r.json()["error"]

    # chunked upload without a Content-Length is limited too
    def chunks():
        for _ in range(40):
            yield b"y" * 50_000

    r = httpx.post(f"{server.url}/v1/models/tracker:predict", content=chunks())
    assert r.status_code == 413


def test_image_limits(server):
    big_pixels = _png(2000, 1500)  # 3 Mpx, a few KB: passes the byte limit, not the pixel one
    assert len(big_pixels) < 300_000
    r = _v1(server, {"instances": [{"image_b64": _b64(big_pixels)}]})
    assert r.status_code == 413 and "pixels" in r.json()["error"]
    tiny = _png(4, 4)
    r = _v1(server, {"instances": [{"image_b64": _b64(tiny)}]})
    assert r.status_code == 400 and "instances.0" in r.json()["error"]
    truncated = _png(200, 200)[:60]
    r = _v1(server, {"instances": [{"image_b64": _b64(truncated)}]})
    assert r.status_code == 400


@pytest.mark.parametrize(
    ("body", "status", "names"),
    [
        ({"inputs": "x"}, 400, "inputs"),
        (
            {"inputs": [{"name": "img", "shape": [1], "datatype": "BYTES", "data": ["aGk="]}]},
            400,
            "image",
        ),
        (
            {"inputs": [{"name": "image", "shape": [1], "datatype": "FP32", "data": [1.0]}]},
            400,
            "datatype",
        ),
        (
            {"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES", "data": ["@@"]}]},
            400,
            "inputs.image.0",
        ),
        (
            {
                "inputs": [
                    {"name": "image", "shape": [4], "datatype": "BYTES", "data": ["aGk="] * 4}
                ]
            },
            413,
            "inputs.image",
        ),
    ],
)
def test_v2_bad_input(server, body, status, names):
    r = _v2(server, body)
    assert r.status_code == status, r.text
    assert names in r.json()["error"]


def test_v1_entries_and_pages_raw_http(server, image_bytes):
    r = _v1(server, {"instances": [{"image_b64": _b64(image_bytes)}]})
    assert r.status_code == 200, r.text
    (entries,) = r.json()["predictions"]
    assert len(entries) >= 5
    assert all(e["content"] for e in entries)
    assert any(e.get("sets") for e in entries)

    body = {"instances": [{"image_b64": _b64(image_bytes)}], "parameters": {"pages": True}}
    r = _v1(server, body)
    assert r.status_code == 200, r.text
    (pages,) = r.json()["predictions"]
    assert isinstance(pages, list) and pages and isinstance(pages[0], dict)


def test_kserve_client_v1_and_v2(server, image_bytes):
    from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig

    async def call():
        v1 = InferenceRESTClient(RESTConfig(protocol="v1", retries=0, timeout=60))
        v2 = InferenceRESTClient(RESTConfig(protocol="v2", retries=0, timeout=60))
        try:
            out1 = await v1.infer(
                server.url, {"instances": [{"image_b64": _b64(image_bytes)}]}, model_name="tracker"
            )
            inp = InferInput(name="image", shape=[1], datatype="BYTES", data=[_b64(image_bytes)])
            req = InferRequest(model_name="tracker", infer_inputs=[inp])
            out2 = await v2.infer(server.url, req, model_name="tracker")
            bad = InferRequest(
                model_name="tracker",
                infer_inputs=[InferInput(name="image", shape=[1], datatype="BYTES", data=["@"])],
            )
            with pytest.raises(httpx.HTTPStatusError) as err:
                await v2.infer(server.url, bad, model_name="tracker")
            return out1, out2, err.value
        finally:
            await v1.close()
            await v2.close()

    out1, out2, err = asyncio.run(call())
    entries_v1 = out1["predictions"][0]
    output = out2.outputs[0]
    assert output.name == "entries" and output.datatype == "BYTES"
    entries_v2 = json.loads(output.data[0])
    assert entries_v2 == entries_v1
    assert err.response.status_code == 400 and "inputs.image.0" in str(err)


def test_metrics_count_errors_and_stages(server):
    text = httpx.get(f"{server.url}/metrics").text
    assert 'urtraining_errors_total{kind="invalid",model_name="tracker"}' in text
    assert 'urtraining_errors_total{kind="too_large",model_name="tracker"}' in text
    assert 'urtraining_stage_seconds_count{model_name="tracker",stage="backend"}' in text
    assert "request_predict_seconds" in text  # KServe's own histograms are there too


def test_sigterm_finishes_in_flight_request_then_exits(server, image_bytes):
    """Graceful shutdown: a request already running completes; the process exits 0."""
    result: dict = {}

    def slow_request():
        result["r"] = _v1(server, {"instances": [{"image_b64": _b64(image_bytes)}] * 2})

    t = threading.Thread(target=slow_request)
    t.start()
    # wait until the request is inside predict (the stage counter moves), then SIGTERM
    import time

    time.sleep(0.7)
    code = server.stop(timeout=60)
    t.join(60)
    assert result["r"].status_code == 200, result["r"].text
    assert len(result["r"].json()["predictions"]) == 2
    assert code == 0, server.log_tail()


def test_unreachable_vlm_is_503_not_the_callers_fault(tmp_path, image_bytes):
    import socket

    with socket.socket() as s:  # a loopback port with nobody listening
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    srv = ServerProcess(
        [
            "tracker",
            "--backend",
            "vlm",
            "--vlm-base-url",
            f"http://127.0.0.1:{dead}/v1",
            "--vlm-model",
            "none",
        ],
        env={"OPENAI_API_KEY": "test"},
        log_path=tmp_path / "server.log",
    )
    srv.start()
    try:
        r = _v1(srv, {"instances": [{"image_b64": _b64(image_bytes)}]})
        assert r.status_code == 503, r.text
        assert "error" in r.json()
        assert _v1(srv, {"instances": [{"nope": 1}]}).status_code == 400  # still serving
    finally:
        srv.stop()
