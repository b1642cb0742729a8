"""KServe's ModelServer, bound to one interface, with our limits and error mapping.

KServe's REST server always binds 0.0.0.0 and its gRPC server [::] (MEASURED.md); a laptop
demo must not expose a model to the network, so the REST server here binds ``host``
(127.0.0.1 unless told otherwise) and gRPC, which is no part of our contract, is off.
Everything else is KServe's own: v1 and v2 routes, health, readiness, ``/metrics``, and
uvicorn's graceful shutdown on SIGTERM (in-flight requests finish, then the process exits).
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Sequence
from contextlib import contextmanager

from serving.limits import Limits


@contextmanager
def _kserve_argv():
    # kserve.model_server parses sys.argv when imported (argparse with abbreviations), so our
    # own command line (or pytest's) must not reach it: `--timeout` would set its keep-alive.
    saved = sys.argv
    sys.argv = saved[:1]
    try:
        import kserve.model_server  # noqa: F401
    finally:
        sys.argv = saved
    yield


with _kserve_argv():
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from kserve import ModelServer
    from kserve.constants.constants import FASTAPI_APP_IMPORT_STRING
    from kserve.model_server import app as kserve_app
    from kserve.protocol.rest.server import RESTServer

from pydantic import ValidationError  # noqa: E402

from serving import metrics  # noqa: E402
from urtraining.errors import PayloadTooLarge, UpstreamUnavailable, UsageError  # noqa: E402

_MODEL_IN_PATH = re.compile(r"^/v[12]/models/([^/:]+)")


def _model_of(path: str) -> str:
    m = _MODEL_IN_PATH.match(path)
    return m.group(1) if m else ""


class BodyLimit:
    """ASGI middleware: 413 for a request body above ``max_bytes``, read or declared.

    It buffers the body (bounded) and replays it, so a chunked upload without a
    Content-Length is limited too. An oversized body is drained, up to a cap, before the 413
    goes out: a client still writing would otherwise see a reset instead of our answer.
    """

    def __init__(self, app, max_bytes: int, drain_cap: int | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.drain_cap = drain_cap if drain_cap is not None else 4 * max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        declared = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
        if declared is not None and declared > self.max_bytes:
            if declared <= self.drain_cap:
                await self._drain(receive)
            await self._reject(scope, send, declared)
            return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            total += len(body)
            if total > self.max_bytes:
                if message.get("more_body", False):
                    await self._drain(receive, total)
                await self._reject(scope, send, total)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _drain(self, receive, seen: int = 0) -> None:
        while seen <= self.drain_cap:
            message = await receive()
            if message["type"] != "http.request":
                return
            seen += len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    async def _reject(self, scope, send, size: int) -> None:
        model = _model_of(scope.get("path", ""))
        metrics.ERRORS_TOTAL.labels(model, "too_large").inc()
        body = json.dumps({"error": f"body: {size} bytes, the limit is {self.max_bytes}"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def _too_large(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=413, content={"error": str(exc)})


async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=503, content={"error": str(exc)})


async def _usage(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=400, content={"error": str(exc)})


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    from urtraining.config import first_error

    assert isinstance(exc, ValidationError)
    return JSONResponse(status_code=400, content={"error": first_error(exc)})


async def _request_validation(_: Request, exc: Exception) -> JSONResponse:
    # FastAPI answers a v2 body that is not an InferenceRequest with 422 and a list; our
    # contract is 400 and one line naming the field, like every other bad input.
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    err = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
    return JSONResponse(status_code=400, content={"error": f"{loc}: {err.get('msg')}"})


def install(app: FastAPI, limits: Limits) -> None:
    """Our middleware and error mapping on KServe's FastAPI app (before it starts)."""
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    app.add_exception_handler(PayloadTooLarge, _too_large)
    app.add_exception_handler(UpstreamUnavailable, _unavailable)
    app.add_exception_handler(UsageError, _usage)
    app.add_exception_handler(ValidationError, _validation)
    # urtraining.tracker.TrackerError (an unreadable image) is a UsageError: 400 as well.
    app.add_exception_handler(RequestValidationError, _request_validation)


class LocalModelServer(ModelServer):
    """ModelServer whose REST server binds ``host``; gRPC off (it would bind [::])."""

    def __init__(self, host: str = "127.0.0.1", http_port: int = 8080, grace_period: int = 30):
        super().__init__(
            http_port=http_port,
            enable_grpc=False,
            workers=1,
            grace_period=grace_period,
            enable_latency_logging=False,
        )
        self.host = host

    def start(self, models: Sequence) -> None:
        # Upstream start() creates the RESTServer and runs it in one call, leaving no place to
        # change the bind address; this is that method for one worker, plus the host.
        self._register_and_check_atleast_one_model_is_ready(list(models))
        self._rest_server = RESTServer(
            FASTAPI_APP_IMPORT_STRING,
            self.dataplane,
            self.model_repository_extension,
            self.http_port,
            access_log_format=self.access_log_format,
            workers=1,
            grace_period=self.grace_period,
            event_loop=self.event_loop,
            timeout_keep_alive=self.timeout_keep_alive,
        )
        self._rest_server.config.host = self.host
        self.servers.append(self._rest_server.start())
        self.setup_event_loop()
        self.register_signal_handler()
        asyncio.run(self._serve())


def serve(models: Sequence, host: str, port: int, limits: Limits) -> None:
    """Load nothing, bind ``host:port``, serve ``models`` (already loaded) until SIGTERM."""
    install(kserve_app, limits)
    LocalModelServer(host=host, http_port=port).start(models)
