"""Which model makes which record: a weighted mix per task, decided per record by a hash of
(task, run seed, index), so a resumed run assigns every record to the same model again."""

from __future__ import annotations

import hashlib

from urtraining.config import LLMEndpoint, LLMRunOptions

DEFAULT_ENDPOINT = LLMEndpoint()  # one local SmolLM2


def roster_for(task: str, roster: list[LLMEndpoint], opts: LLMRunOptions,
               backend: str | None = None) -> list[LLMEndpoint]:  # fmt: skip
    """The task's roster: ``llm.task_rosters[task]``, else ``roster``, else one model of the
    configured backend (SmolLM2 for ``local``)."""
    chosen = opts.task_rosters.get(task) or roster
    if chosen:
        return list(chosen)
    if backend in (None, "local"):
        return [DEFAULT_ENDPOINT]
    raise ValueError(
        f"backend {backend!r} needs a model: set --model/--base-url or the config's roster"
    )


def pick(roster: list[LLMEndpoint], task: str, seed: int, index: int) -> LLMEndpoint:
    if len(roster) == 1:
        return roster[0]
    h = hashlib.sha256(f"{task}:{seed}:{index}".encode()).digest()
    u = int.from_bytes(h[:8], "big") / 2**64
    total = sum(e.weight for e in roster)
    acc = 0.0
    for ep in roster:
        acc += ep.weight / total
        if u < acc:
            return ep
    return roster[-1]


def record_seed(task: str, seed: int, index: int) -> int:
    """A per-record seed (recorded in provenance) derived from the run seed."""
    h = hashlib.sha256(f"seed:{task}:{seed}:{index}".encode()).digest()
    return int.from_bytes(h[:4], "big") % 1_000_000_007
