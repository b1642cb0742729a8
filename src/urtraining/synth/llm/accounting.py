"""What an LLM run cost and produced, per model: the lead writes it into the run manifest."""

from __future__ import annotations

import threading

from pydantic import BaseModel, Field, model_serializer


class ModelStats(BaseModel):
    backend: str = ""
    requests: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    #: attempts after the first (answers rejected and asked again)
    retries: int = 0
    #: HTTP-level retries inside the backend (5xx, timeouts)
    transport_retries: int = 0
    #: calls that returned no answer at all
    failures: int = 0
    truncated: int = 0
    records_ok: int = 0
    records_dropped: int = 0
    #: records found in the resume cache (no LLM call in this run)
    records_cached: int = 0
    llm_s: float = 0.0
    overhead_s: float = 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.tokens_out / self.llm_s if self.llm_s else 0.0


class TaskStats(BaseModel):
    models: dict[str, ModelStats] = Field(default_factory=dict)
    wall_s: float = 0.0
    duplicates_removed: int = 0
    stopped_by_budget: bool = False
    #: why records were dropped, most frequent first (first 200 characters of each reason)
    drop_reasons: dict[str, int] = Field(default_factory=dict)


class Accounting(BaseModel):
    tasks: dict[str, TaskStats] = Field(default_factory=dict)
    max_tokens_budget: int | None = None
    agreement: dict | None = None

    def model_post_init(self, _ctx) -> None:
        self._lock = threading.Lock()

    @model_serializer(mode="plain")
    def _serialize(self) -> dict:
        # model_dump() / JSON give the manifest form, with the derived rates
        return self.summary()

    @property
    def total_tokens(self) -> int:
        return sum(m.tokens_in + m.tokens_out for t in self.tasks.values()
                   for m in t.models.values())  # fmt: skip

    def budget_left(self) -> bool:
        return self.max_tokens_budget is None or self.total_tokens < self.max_tokens_budget

    def task(self, name: str) -> TaskStats:
        return self.tasks.setdefault(name, TaskStats())

    def add_result(self, res: dict, cached: bool = False) -> None:
        with self._lock:
            t = self.task(res["task"])
            m = t.models.setdefault(res["model"], ModelStats(backend=res["backend"]))
            if cached:
                m.records_cached += 1
                return
            m.requests += res["attempts"]
            m.tokens_in += res["tokens_in"]
            m.tokens_out += res["tokens_out"]
            m.retries += max(0, res["attempts"] - 1)
            m.transport_retries += res["transport_retries"]
            m.failures += res["backend_failures"]
            m.truncated += res["truncated"]
            m.llm_s += res["llm_s"]
            m.overhead_s += res["overhead_s"]
            if res["status"] == "ok":
                m.records_ok += 1
            else:
                m.records_dropped += 1
                reason = (res["errors"][-1] if res["errors"] else "unknown")[:200]
                t.drop_reasons[reason] = t.drop_reasons.get(reason, 0) + 1

    def summary(self) -> dict:
        """JSON for the run manifest, with derived rates (records/s, tokens/s) per model."""
        out: dict = {"total_tokens": self.total_tokens, "max_tokens_budget": self.max_tokens_budget,
                     "tasks": {}}  # fmt: skip
        for name, t in self.tasks.items():
            models = {}
            for model, m in t.models.items():
                d = m.model_dump()
                d["records_per_s"] = round(m.records_ok / t.wall_s, 4) if t.wall_s else 0.0
                d["tokens_out_per_s"] = round(m.tokens_per_s, 2)
                d["llm_s"] = round(m.llm_s, 3)
                d["overhead_s"] = round(m.overhead_s, 3)
                d["overhead_ratio"] = round(m.overhead_s / m.llm_s, 4) if m.llm_s else 0.0
                models[model] = d
            reasons = dict(sorted(t.drop_reasons.items(), key=lambda kv: -kv[1])[:10])
            out["tasks"][name] = {
                "wall_s": round(t.wall_s, 3),
                "duplicates_removed": t.duplicates_removed,
                "stopped_by_budget": t.stopped_by_budget,
                "drop_reasons": reasons,
                "models": models,
            }
        if self.agreement is not None:
            out["agreement_with_rules"] = self.agreement
        return out


def format_accounting(summary: dict) -> str:
    """A plain-text table of ``Accounting.summary()`` for the end of a CLI run."""
    head = (f"{'task':<9} {'model':<28} {'ok':>5} {'drop':>5} {'cache':>5} {'req':>5} "
            f"{'retry':>5} {'fail':>4} {'tok in':>8} {'tok out':>8} {'rec/s':>7} {'tok/s':>7} "
            f"{'ovh%':>5}")  # fmt: skip
    lines = [head, "-" * len(head)]
    for task, t in summary.get("tasks", {}).items():
        for model, m in t["models"].items():
            lines.append(
                f"{task:<9} {model[:28]:<28} {m['records_ok']:>5} {m['records_dropped']:>5} "
                f"{m['records_cached']:>5} {m['requests']:>5} {m['retries']:>5} "
                f"{m['failures']:>4} {m['tokens_in']:>8} {m['tokens_out']:>8} "
                f"{m['records_per_s']:>7.3f} {m['tokens_out_per_s']:>7.1f} "
                f"{100 * m['overhead_ratio']:>5.1f}"
            )
        extra = []
        if t["duplicates_removed"]:
            extra.append(f"{t['duplicates_removed']} near-duplicates removed")
        if t["stopped_by_budget"]:
            extra.append("stopped: token budget reached")
        if extra:
            lines.append(f"{task:<9} " + "; ".join(extra))
    lines.append(f"total tokens: {summary.get('total_tokens', 0)}"
                 + (f" / budget {summary['max_tokens_budget']}"
                    if summary.get("max_tokens_budget") else ""))  # fmt: skip
    if "agreement_with_rules" in summary:
        a = summary["agreement_with_rules"]
        lines.append(f"agreement with the rule teacher: kendall tau {a['kendall_tau']:.3f}, "
                     f"ndcg@10 {a['ndcg@10']:.3f} over {a['users']} users")  # fmt: skip
    return "\n".join(lines)
