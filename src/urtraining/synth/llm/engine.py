"""Runs work items through their backends: ask, parse, validate, retry with the errors fed
back, then drop and count. Round-based over a batch, so a batching engine (vLLM) gets every
pending request of a round in one call.

A work item is plain JSON (it travels to Ray workers)::

    {"key", "task", "index", "seed", "endpoint": LLMEndpoint, "spec": {...}, "opts": {...}}

and its result is plain JSON too: the record (or None), status, attempts and the token and
time figures the accounting adds up.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field

from urtraining.config import LLMEndpoint
from urtraining.synth.llm.backends import BackendError, LLMRequest, backend_for
from urtraining.synth.llm.prompts import feedback
from urtraining.synth.llm.tasks import TASKS, extract_json

#: answers kept in the conversation when retrying: the last one is enough and bounds context
KEEP_FAILED_ANSWERS = 1


def item_key(task: str, prompt_version: str, endpoint: LLMEndpoint, seed: int, spec: dict) -> str:
    """Content hash of (task, prompt version, model, seed, inputs): the resume cache key."""
    payload = {
        "task": task,
        "prompt_version": prompt_version,
        "backend": endpoint.backend,
        "model": endpoint.model,
        "seed": seed,
        "spec": spec,
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


@dataclass
class _State:
    item: dict
    endpoint: LLMEndpoint
    base_messages: list[dict]
    schema: dict
    messages: list[dict] = field(default_factory=list)
    attempts: int = 0
    done: bool = False
    record: dict | None = None
    errors: list[str] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    llm_s: float = 0.0
    transport_retries: int = 0
    backend_failures: int = 0
    truncated: int = 0
    last_answer: str = ""

    def result(self, overhead_s: float) -> dict:
        ep = self.endpoint
        return {
            "key": self.item["key"],
            "task": self.item["task"],
            "index": self.item["index"],
            "seed": self.item["seed"],
            "status": "ok" if self.record is not None else "dropped",
            "record": self.record,
            "model": ep.model,
            "backend": ep.backend,
            "prompt_version": TASKS[self.item["task"]].prompt_version,
            "attempts": self.attempts,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "llm_s": round(self.llm_s, 4),
            "overhead_s": round(overhead_s, 6),
            "transport_retries": self.transport_retries,
            "backend_failures": self.backend_failures,
            "truncated": self.truncated,
            "errors": self.errors[-6:],
            # kept for dropped records only: what the model said, to see why it failed
            "last_answer": None if self.record is not None else self.last_answer[:2000],
        }


def _provenance(st: _State) -> dict:
    ep, item = st.endpoint, st.item
    prompt_hash = hashlib.sha256(json.dumps(st.base_messages, sort_keys=True).encode()).hexdigest()[
        :16
    ]
    return {
        "backend": ep.backend,
        "model": ep.model,
        "seed": item["seed"],
        "prompt_hash": prompt_hash,
        "prompt_version": TASKS[item["task"]].prompt_version,
        "attempts": st.attempts,
    }


def run_batch(items: list[dict]) -> list[dict]:
    """Every item of ``items`` to a result (ok or dropped); never raises for a bad answer."""
    t_start = time.perf_counter()
    states = []
    for item in items:
        task = TASKS[item["task"]]
        ep = LLMEndpoint(**item["endpoint"])
        schema = task.schema(item["spec"], item["opts"])
        msgs = task.messages(item["spec"], item["opts"], reasoning=ep.reasoning)
        states.append(_State(item, ep, msgs, schema, messages=list(msgs)))
    max_attempts = max(int(i["opts"]["max_attempts"]) for i in items) if items else 0
    setup_s = 0.0  # loading a model is a one-off per process, neither LLM time nor overhead
    for attempt in range(max_attempts):
        pending = [s for s in states if not s.done]
        if not pending:
            break
        by_endpoint: dict[str, list[_State]] = {}
        for s in pending:
            by_endpoint.setdefault(s.endpoint.model_dump_json(), []).append(s)
        for group in by_endpoint.values():
            ep = group[0].endpoint
            t_setup = time.perf_counter()
            try:
                backend = backend_for(ep)
            except BackendError as exc:
                for s in group:
                    s.attempts += 1
                    s.backend_failures += 1
                    s.errors.append(f"backend: {exc}")
                    s.done = True  # a backend that cannot start will not start on retry
                continue
            finally:
                setup_s += time.perf_counter() - t_setup
            requests = [
                LLMRequest(
                    messages=s.messages,
                    schema=s.schema if ep.structured_output != "none" else None,
                    max_tokens=ep.max_tokens,
                    temperature=ep.temperature,
                    seed=s.item["seed"] * 1000 + attempt,
                    reasoning=ep.reasoning,
                )
                for s in group
            ]
            answers = backend.complete_many(requests)
            for s, ans in zip(group, answers, strict=True):
                _absorb(s, ans, attempt + 1 >= int(s.item["opts"]["max_attempts"]))
    total = time.perf_counter() - t_start
    llm = sum(s.llm_s for s in states)
    # our layer's own time (prompting, parsing, validation), shared evenly over the batch
    overhead = max(0.0, total - llm - setup_s) / max(1, len(states))
    return [s.result(overhead) for s in states]


def _absorb(s: _State, ans, last: bool) -> None:
    s.attempts += 1
    if isinstance(ans, BackendError):
        s.backend_failures += 1
        s.transport_retries += ans.transport_retries
        s.llm_s += ans.latency_s
        s.errors.append(f"backend: {ans}")
        s.done = last
        return
    s.last_answer = ans.text
    s.tokens_in += ans.tokens_in
    s.tokens_out += ans.tokens_out
    s.llm_s += ans.latency_s
    s.transport_retries += ans.transport_retries
    task = TASKS[s.item["task"]]
    if ans.finish_reason == "length":
        s.truncated += 1
        problems = ["the answer was cut off at the token limit: write a shorter JSON object"]
    else:
        data, problem = extract_json(ans.text)
        if problem:
            problems = [problem]
        else:
            record, problems = task.judge(data, s.item["spec"], _provenance(s))
            if not problems:
                s.record = record
                s.done = True
                return
    s.errors.append("; ".join(problems)[:500])
    if last:
        s.done = True
        return
    # retry: the original prompt, the rejected answer, and what was wrong with it
    s.messages = s.base_messages + [
        {"role": "assistant", "content": ans.text[:4000]},
        {"role": "user", "content": feedback(problems)},
    ]
