"""The resume cache: one append-only JSONL file per task, keyed by content hash.

Each finished item (ok or dropped) is appended and fsynced by the driver as soon as its
batch returns, so a run killed at any point keeps everything that finished. On restart the
file is read back (a half-written last line from the kill is ignored), and only the keys
that are missing go to the LLM. A dropped item is cached too: it cost tokens and would most
likely fail again; change the prompt version or the seed to try again.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path


class ResultCache:
    def __init__(self, folder: Path | None, task: str):
        self.path = folder / f"llm-{task}.jsonl" if folder is not None else None
        self._results: dict[str, dict] = {}
        self._lock = threading.Lock()
        if self.path is not None and self.path.is_file():
            self._load()

    def _load(self) -> None:
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    res = json.loads(line)
                except json.JSONDecodeError:
                    continue  # the line a kill cut short
                if isinstance(res, dict) and "key" in res:
                    self._results.setdefault(res["key"], res)

    def get(self, key: str) -> dict | None:
        return self._results.get(key)

    def __contains__(self, key: str) -> bool:
        return key in self._results

    def __len__(self) -> int:
        return len(self._results)

    def put(self, result: dict) -> None:
        with self._lock:
            if result["key"] in self._results:
                return
            self._results[result["key"]] = result
            if self.path is None:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            line = json.dumps(result, ensure_ascii=False) + "\n"
            with open(self.path, "a+b") as fh:
                # a kill may have left a partial last line: start ours on a fresh one
                fh.seek(0, os.SEEK_END)
                if fh.tell() > 0:
                    fh.seek(-1, os.SEEK_END)
                    if fh.read(1) != b"\n":
                        line = "\n" + line
                fh.write(line.encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())
