"""The vlm backend against a local OpenAI-compatible stand-in on 127.0.0.1 that replays
recorded answers: good, fenced, prose-wrapped, malformed, cut off, and server errors."""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from urtraining.tracker import TrackerError, TrackerSettings, track_bytes
from urtraining.tracker.backends.vlm import BackendUnavailable, VlmBackend

GOOD = {
    "entries": [
        {"content": "Day 1: Upper body"},  # a heading the model should not have returned
        {"content": "Bench press 4 x 8 @ 60 kg, rest 90 s", "section": "Day 1: Upper body"},
        {"content": "Pull-ups 3 sets of 10 reps", "name": "Pull-ups", "sets": 3, "reps": 10},
        {"content": "8 x 50 m freestyle, 20 s rest"},
    ]
}


def completion(content: str | None, finish: str = "stop") -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "stub-vl",
        "choices": [
            {
                "index": 0,
                "finish_reason": finish,
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class Stub:
    """Answers POST /v1/chat/completions from a queue of (status, body) and records requests."""

    def __init__(self):
        self.answers: list[tuple[int, dict]] = []
        self.requests: list[dict] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stub.requests.append(json.loads(body))
                status, answer = stub.answers.pop(0) if stub.answers else (500, {"error": "empty"})
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub():
    s = Stub()
    yield s
    s.close()


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (120, 80), "white").save(buf, "PNG")
    return buf.getvalue()


def _settings(stub: Stub, retries: int = 1) -> TrackerSettings:
    return TrackerSettings(
        backend="vlm", vlm_base_url=stub.url, vlm_model="stub-vl", timeout_s=5, max_retries=retries
    )


def test_good_answer_is_cleaned_by_the_shared_parser(stub):
    stub.answers.append((200, completion(json.dumps(GOOD))))
    entries = track_bytes(_png(), _settings(stub), backend=VlmBackend(_settings(stub)))
    assert [e.name for e in entries] == ["Bench press", "Pull-ups", "freestyle"]
    bench, _, swim = entries
    assert (bench.sets, bench.reps, bench.load, bench.rest_s) == (4, 8, "60 kg", 90)
    assert bench.section == "Day 1: Upper body"
    assert (swim.sets, swim.distance_m, swim.rest_s) == (8, 50, 20)
    sent = stub.requests[0]
    assert sent["model"] == "stub-vl" and sent["temperature"] == 0
    schema = sent["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["entries"]["items"]["required"] == ["content"]
    image_part = sent["messages"][1]["content"][0]
    assert image_part["image_url"]["url"].startswith("data:image/png;base64,")


@pytest.mark.parametrize(
    "content",
    [
        "```json\n" + json.dumps(GOOD) + "\n```",
        "Here is the program:\n" + json.dumps(GOOD["entries"]) + "\nHope it helps.",
    ],
)
def test_fenced_or_wrapped_json_is_accepted(stub, content):
    stub.answers.append((200, completion(content)))
    entries = VlmBackend(_settings(stub)).read(Image.new("RGB", (50, 50), "white"))
    assert len(entries) == 3


def test_malformed_answer_is_retried_then_succeeds(stub):
    stub.answers += [
        (200, completion('{"entries": [{"content": "Squat 5x5')),
        (200, completion(json.dumps(GOOD))),
    ]
    entries = VlmBackend(_settings(stub, retries=1)).read(Image.new("RGB", (50, 50)))
    assert len(entries) == 3 and len(stub.requests) == 2


@pytest.mark.parametrize(
    "answer",
    [
        completion("I cannot help with that."),
        completion(None),
        completion(json.dumps({"entries": [{"sets": 3}]})),
        completion('{"entries": [', finish="length"),
    ],
)
def test_unusable_answers_end_in_could_not_read(stub, answer):
    stub.answers += [(200, answer), (200, answer)]
    with pytest.raises(TrackerError, match="could not read"):
        VlmBackend(_settings(stub, retries=1)).read(Image.new("RGB", (50, 50)))


def test_empty_page_is_an_empty_list(stub):
    stub.answers.append((200, completion('{"entries": []}')))
    assert VlmBackend(_settings(stub)).read(Image.new("RGB", (50, 50))) == []


def test_server_errors_are_one_clean_error_after_retries(stub):
    stub.answers += [(500, {"error": {"message": "boom"}})] * 3
    with pytest.raises(BackendUnavailable, match="HTTP 500"):
        VlmBackend(_settings(stub, retries=1)).read(Image.new("RGB", (50, 50)))
    assert len(stub.requests) == 2  # the client retried once


def test_unreachable_server_is_a_clean_error():
    settings = TrackerSettings(
        backend="vlm",
        vlm_base_url="http://127.0.0.1:9/v1",
        vlm_model="m",
        timeout_s=2,
        max_retries=0,
    )
    with pytest.raises(BackendUnavailable, match="unreachable"):
        VlmBackend(settings).read(Image.new("RGB", (50, 50)))


def test_vlm_needs_url_and_model():
    with pytest.raises(TrackerError, match="vlm_base_url"):
        VlmBackend(TrackerSettings(backend="vlm"))
