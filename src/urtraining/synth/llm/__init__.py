"""LLM-backed synthetic data: backends (local SmolLM2, OpenAI-compatible, vLLM), rosters,
prompts, validation with retries, near-duplicate removal, Ray Data distribution, a
content-hash resume cache and per-model accounting.

Heavy imports (torch, ray, openai, vllm) happen inside the modules that need them.
"""

from __future__ import annotations

from typing import Any


def accounting_of(obj: Any) -> dict | None:
    """The manifest-ready accounting of an LLM generator or teacher (None for others)."""
    acc = getattr(obj, "accounting", None)
    return acc.summary() if acc is not None else None


def print_accounting(obj_or_summary: Any, file=None) -> None:
    """Print the accounting table at the end of a run (CLI); accepts a generator, a teacher,
    an ``Accounting`` or its ``summary()`` dict."""
    import sys

    from urtraining.synth.llm.accounting import Accounting, format_accounting

    if isinstance(obj_or_summary, dict):
        summary = obj_or_summary
    elif isinstance(obj_or_summary, Accounting):
        summary = obj_or_summary.summary()
    else:
        summary = accounting_of(obj_or_summary)
    if summary:
        print(format_accounting(summary), file=file or sys.stderr)
