"""Tables with Exercise/Sets/Reps/Load/Rest columns: each row below the header is one entry.

The header's cells fix the columns; a data cell belongs to the column its centre falls in.
A row is rewritten as one exercise line ("Squat 5 x 5 @ 100 kg, rest 120 s") so the same
line parser fills the fields.
"""

from __future__ import annotations

import re

from urtraining.tracker.layout import Cell, Row

_COLUMN_WORDS: dict[str, re.Pattern] = {
    "name": re.compile(r"^(?:exercises?|movements?|name|drill|activity|lift)$", re.I),
    "sets": re.compile(r"^(?:sets?|rounds?)$", re.I),
    "reps": re.compile(r"^(?:reps?|repetitions)$", re.I),
    "load": re.compile(r"^(?:load|weight|kg|lbs?|intensity|%\s*1rm)$", re.I),
    "rest": re.compile(r"^(?:rest|recovery|break)$", re.I),
    "duration": re.compile(r"^(?:time|duration)$", re.I),
    "distance": re.compile(r"^(?:distance|dist)$", re.I),
}
_NUMBER_KINDS = {"sets", "reps", "load", "rest", "duration", "distance"}
_UNIT_IN_HEADER = re.compile(r"\(([^)]*)\)")


def _header_kind(text: str) -> tuple[str | None, str | None]:
    unit_match = _UNIT_IN_HEADER.search(text)
    unit = unit_match.group(1).strip().lower() if unit_match else None
    word = _UNIT_IN_HEADER.sub("", text).strip(" :.").lower()
    for kind, pattern in _COLUMN_WORDS.items():
        if pattern.match(word):
            return kind, unit
    return None, unit


def _split_header_cell(cell: Cell) -> list[tuple[str, str | None, Cell]]:
    """OCR sometimes reads "Sets Reps" as one box: split it into equal-width columns."""
    kind, unit = _header_kind(cell.text)
    if kind:
        return [(kind, unit, cell)]
    words = re.findall(r"[A-Za-z%0-9]+(?:\s*\([^)]*\))?", cell.text)
    kinds = [_header_kind(w) for w in words]
    if len(words) < 2 or any(k is None for k, _ in kinds):
        return []
    width = (cell.x1 - cell.x0) / len(words)
    return [
        (k, u, cell.model_copy(update={"x0": cell.x0 + i * width, "x1": cell.x0 + (i + 1) * width}))
        for i, (k, u) in enumerate(kinds)
    ]


def header_columns(row: Row) -> list[tuple[str, str | None, Cell]]:
    columns = []
    for cell in row.cells:
        columns.extend(_split_header_cell(cell))
    known = {kind for kind, _, _ in columns}
    if "name" in known or len(known & _NUMBER_KINDS) < 2:
        return columns
    # a name header OCR misread ("ExERCIiSE") or a word we do not know ("Übung", "Ex."):
    # the text cell left of two or more number columns is the name column
    first = min(row.cells, key=lambda c: c.x0)
    if all(first.x1 <= c.x0 for _, _, c in columns) and not re.search(r"\d", first.text):
        columns.insert(0, ("name", None, first))
    return columns


def is_table_header(row: Row) -> bool:
    kinds = {kind for kind, _, _ in header_columns(row)}
    numeric = kinds & _NUMBER_KINDS
    return len(numeric) >= 2 or (len(numeric) >= 1 and "name" in kinds)


class TableReader:
    def __init__(self, header: Row):
        self.columns = header_columns(header)
        centres = [(c.x0 + c.x1) / 2 for _, _, c in self.columns]
        # boundaries halfway between neighbouring header cells: numbers are often centred
        # under a short header, names run right from a left-aligned one
        self.bounds = [
            (self.columns[i][2].x1 + self.columns[i + 1][2].x0) / 2
            for i in range(len(self.columns) - 1)
        ]
        self.centres = centres

    def _column_of(self, x: float) -> int:
        for i, bound in enumerate(self.bounds):
            if x < bound:
                return i
        return len(self.columns) - 1

    def read(self, row: Row) -> str | None:
        """The row as one exercise line, or None when the row is not part of this table."""
        values: dict[str, list[str]] = {}
        for cell in row.cells:
            first = self._column_of(cell.x0 + 1)
            last = self._column_of(cell.x1 - 1)
            tokens = cell.text.split()
            spanned = list(range(first, last + 1))
            if len(spanned) > 1 and len(tokens) == len(spanned):
                pieces = list(zip(spanned, tokens, strict=True))
            else:
                pieces = [(self._column_of((cell.x0 + cell.x1) / 2), cell.text)]
            for col, text in pieces:
                values.setdefault(self.columns[col][0], []).append(text.strip())
        numbers = [k for k in values if k != "name" and any(re.search(r"\d", v) for v in values[k])]
        if not numbers or "name" not in values:
            return None
        return self._as_line({k: " ".join(v) for k, v in values.items()})

    def _unit(self, kind: str, default: str) -> str:
        for k, unit, _ in self.columns:
            if k == kind and unit:
                return unit
        return default

    def _as_line(self, v: dict[str, str]) -> str:
        def with_unit(kind: str, default: str) -> str:
            text = v[kind].strip()
            return (
                f"{text} {self._unit(kind, default)}" if re.fullmatch(r"[\d.,:]+", text) else text
            )

        parts = [v["name"]]
        sets = v.get("sets")
        if sets and "reps" in v:
            parts.append(f"{sets} x {v['reps']}")
        elif sets and "duration" in v:
            parts.append(f"{sets} x {with_unit('duration', 's')}")
        elif sets and "distance" in v:
            parts.append(f"{sets} x {with_unit('distance', 'm')}")
        else:
            if sets:
                parts.append(f"{sets} sets")
            if "reps" in v:
                parts.append(f"{v['reps']} reps")
            if "duration" in v:
                parts.append(with_unit("duration", "s"))
            if "distance" in v:
                parts.append(with_unit("distance", "m"))
        if "load" in v and re.search(r"\d|bodyweight|bw", v["load"], re.I):
            load = with_unit("load", "kg")
            parts.append(load if re.match(r"body|bw", load, re.I) else f"@ {load}")
        line = " ".join(parts)
        if "rest" in v and re.search(r"\d", v["rest"]):
            line += f", rest {with_unit('rest', 's')}"
        return line
