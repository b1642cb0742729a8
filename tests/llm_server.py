"""An OpenAI-compatible chat server for tests: the real local SmolLM2 behind
``/v1/chat/completions``, with faults on request.

    python tests/llm_server.py --port 0 --port-file PATH

listens on 127.0.0.1 only. ``POST /control {"faults": ["500", "slow", "malformed"],
"slow_s": 3}`` queues faults that the next chat requests consume, one each:

- ``500``: an HTTP 500 error body, as an overloaded server sends;
- ``slow``: the answer arrives after ``slow_s`` seconds (a client timeout should fire);
- ``malformed``: HTTP 200 whose content is cut-off JSON.

``GET /stats`` counts requests and faults served. ``response_format`` json_schema is
honoured with llguidance-constrained decoding, like vLLM's structured outputs.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
import uuid
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from urtraining.synth.llm.backends.base import LLMRequest
from urtraining.synth.llm.backends.local import DEFAULT_MODEL, LocalBackend

app = FastAPI()
_backend: LocalBackend | None = None
_faults: list[str] = []
_slow_s = 3.0
_stats = {"requests": 0, "500": 0, "slow": 0, "malformed": 0, "completions": 0}
_lock = threading.Lock()


def backend() -> LocalBackend:
    global _backend
    if _backend is None:
        _backend = LocalBackend(DEFAULT_MODEL)
    return _backend


@app.get("/health")
def health() -> dict:
    return {"ok": True}


@app.get("/v1/models")
def models() -> dict:
    return {"object": "list", "data": [{"id": DEFAULT_MODEL, "object": "model"}]}


@app.post("/control")
async def control(req: Request) -> dict:
    global _slow_s
    body = await req.json()
    with _lock:
        _faults.extend(body.get("faults", []))
        _slow_s = float(body.get("slow_s", _slow_s))
    return {"queued": list(_faults)}


@app.get("/stats")
def stats() -> dict:
    return dict(_stats)


@app.post("/v1/chat/completions")
def chat(body: dict):  # sync: FastAPI runs it in a worker thread, the model is CPU-bound
    with _lock:
        _stats["requests"] += 1
        fault = _faults.pop(0) if _faults else None
        if fault:
            _stats[fault] += 1
    if fault == "500":
        return JSONResponse({"error": {"message": "overloaded", "type": "server_error"}}, 500)
    if fault == "slow":
        time.sleep(_slow_s)
    schema = None
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        schema = fmt["json_schema"]["schema"]
    if fault == "malformed":
        text, n_in, n_out, finish = '{"profile": {"age": 3', 10, 8, "stop"
    else:
        resp = backend().complete(
            LLMRequest(
                messages=body["messages"],
                schema=schema,
                max_tokens=int(body.get("max_tokens") or 256),
                temperature=float(body.get("temperature", 0.7)),
                seed=body.get("seed"),
            )
        )
        text, n_in, n_out, finish = resp.text, resp.tokens_in, resp.tokens_out, resp.finish_reason
        with _lock:
            _stats["completions"] += 1
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", DEFAULT_MODEL),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": n_in,
            "completion_tokens": n_out,
            "total_tokens": n_in + n_out,
        },  # fmt: skip
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", type=Path)
    args = ap.parse_args()
    backend()  # load before listening: ready means ready
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    port = sock.getsockname()[1]
    if args.port_file:
        args.port_file.write_text(str(port))
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
