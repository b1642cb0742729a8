"""Rows of text -> TrackerEntry list: headings set the section, exercise lines become entries.

Shared by every backend: OCR rows go through :func:`parse_rows`; a VLM's entries go through
:func:`normalise_entries` so their fields are filled and cleaned the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from urtraining.domain import TrackerEntry
from urtraining.tracker.layout import Row
from urtraining.tracker.quantities import Quantities, extract, normalise_text
from urtraining.tracker.tables import TableReader, is_table_header

#: heading words a coach numbers in order ("Day 1", "WORKOUT 2"); the OCR repair and the
#: lost-number pass below both key on them
NUMBERED_HEADING_WORDS = r"day|week|workout|session"
_DAY_WORDS = (
    rf"{NUMBERED_HEADING_WORDS}|phase|block|wod|training day|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|"
    r"fri|sat|sun"
)
#: "Day 1: Upper body", "WORKOUT 3", "Week 2 - Day 3", "Monday: legs": always headings
_STRONG_HEADING = re.compile(rf"^(?:{_DAY_WORDS})\b\.?\s*(?:\d+\b|[A-Z]\b|[:\-(]|$)", re.I)
_BLOCK_WORDS = re.compile(
    r"^(?:warm[\s-]?up|cool[\s-]?down|main(?:\s+set)?|circuit|finisher|superset|accessor(?:y|ies)|"
    r"conditioning|strength|core|mobility|stretch(?:ing)?|cardio|upper body|lower body|"
    r"full body|push|pull|legs)\b",
    re.I,
)
#: lines that talk about the program rather than list an exercise
_NOTE_START = re.compile(
    r"^(?:rest|note|notes|tip|tips|focus|keep|remember|rpe|tempo|coach|progress|"
    r"increase|decrease|repeat|perform|do|complete|total|aim)\b",
    re.I,
)
_LIST_MARKER = re.compile(
    # "1." but not "3.5 km"; "1.10 x 25 m" is item 1 with OCR's space lost before "10 x 25"
    r"^\s*(?:\(?\d{1,2}\s*[.)](?!\d)|\d{1,2}[.)](?=\d{1,3}\s*x\s*\d)|[-*+>~]"
    r"|[a-hA-H][.)](?=\s)|[oe](?=\s+[A-Z]))\s*"
)
_FILLER = re.compile(
    r"\b(?:sets?|reps?|repetitions|rounds?|rest|of|x|each|per|side|sides|leg|legs|arm|arms|"
    r"and|with|at|between|min|sec|s|m|kg|lb|lbs)\b",
    re.I,
)
_SEPARATORS = re.compile(r"[,;|/·•]|\s-\s")


class ParseResult:
    def __init__(self, entries: list[TrackerEntry], headings: list[str], notes: list[str]):
        self.entries = entries
        self.headings = headings
        self.notes = notes

    @property
    def reason(self) -> str | None:
        """Why nothing was found, in words a user can act on."""
        if self.entries:
            return None
        if not self.headings and not self.notes:
            return "no text found in the image"
        return "text found, but no exercise lines (name with sets, reps, time or distance)"


class _Line:
    """One cleaned row with its numbers and its name (if any)."""

    def __init__(self, raw: str):
        text = normalise_text(raw)
        marker = _LIST_MARKER.match(text)
        self.listed = bool(marker) and bool(re.search(r"[A-Za-z]", text[marker.end() :]))
        self.text = text[marker.end() :].strip(" .,:;") if marker else text.strip(" ,;")
        self.q: Quantities = extract(self.text)
        self.name = _name_of(self.text, self.q)

    @property
    def letters(self) -> int:
        return len(re.findall(r"[A-Za-z]", self.text))

    def is_strong_heading(self) -> bool:
        return bool(_STRONG_HEADING.match(self.text)) and not (self.q.sets or self.q.reps)

    def is_soft_heading(self) -> bool:
        if self.q.any or self.letters < 3 or _NOTE_START.match(self.text):
            return False
        words = self.text.split()
        return (
            self.text.endswith(":")
            or bool(_BLOCK_WORDS.match(self.text))
            or (self.text.isupper() and len(words) <= 6)
            or (len(words) <= 6 and not self.text.endswith("."))
        )


def _name_of(text: str, q: Quantities) -> str | None:
    """The words before the first number; else the first words left once numbers are gone."""
    if q.spans:
        prefix = text[: q.spans[0][0]]
        candidate = _clean_name(prefix)
        if candidate:
            return candidate
    rest, last = [], 0
    for start, end in q.spans:
        rest.append(text[last:start])
        last = end
    rest.append(text[last:])
    for chunk in _SEPARATORS.split(" ".join(rest)):
        candidate = _clean_name(_FILLER.sub(" ", chunk))
        if candidate:
            return candidate
    return None


def _clean_name(text: str) -> str | None:
    text = re.sub(r"\s+", " ", text).strip(" .,:;-@()[]|/")
    if len(re.findall(r"[A-Za-z]", text)) < 2:
        return None
    return text


def _entry(
    line: _Line, section: str | None, name: str | None = None, content: str = ""
) -> TrackerEntry:
    q = line.q
    return TrackerEntry(
        content=content or line.text,
        name=name or line.name,
        sets=q.sets,
        reps=q.reps,
        load=q.load,
        duration_s=q.duration_s,
        distance_m=q.distance_m,
        rest_s=q.rest_s,
        section=section,
    )


def parse_rows(
    rows: Iterable[Row | str],
    max_entries: int = 100,
    fix: Callable[[str], str] | None = None,
) -> ParseResult:
    """Rows in reading order -> entries. A table row is one entry; headings are never entries.

    ``fix`` rewrites each line's text first (the OCR backend's :mod:`ocr_repair`): on whole
    lines, since OCR often cuts one number into two boxes ("5 XI" | "5 REPS").
    """
    fix = fix or (lambda text: text)
    entries: list[TrackerEntry] = []
    headings: list[str] = []
    notes: list[str] = []
    section: str | None = None
    pending: _Line | None = None  # a name-only line that the next numbers-only line completes
    table: TableReader | None = None

    def flush_pending() -> None:
        nonlocal pending, section
        if pending is None:
            return
        if pending.listed and not pending.is_strong_heading():
            entries.append(_entry(pending, section))
        elif pending.is_strong_heading() or pending.is_soft_heading():
            section = pending.text.rstrip(":").strip()
            headings.append(section)
        else:
            notes.append(pending.text)
        pending = None

    for raw in rows:
        row = Row.of_text(raw) if isinstance(raw, str) else raw
        if not row.text.strip():
            continue
        if len(row.cells) >= 2 and is_table_header(row):
            flush_pending()
            table = TableReader(row)
            continue
        if table is not None:
            text = table.read(row)
            if text is not None:
                line = _Line(fix(text))
                if line.name and (line.q.any or line.q.rest_s is not None):
                    entries.append(_entry(line, section))
                continue
            table = None
        line = _Line(fix(row.text))
        if line.is_strong_heading():
            flush_pending()
            section = line.text.rstrip(":").strip()
            headings.append(section)
            continue
        if line.q.any and line.name and not _NOTE_START.match(line.text):
            flush_pending()
            entries.append(_entry(line, section))
            continue
        if line.q.any and not line.name and pending is not None:
            # phone cards: the name on one line, "4 sets x 8 reps" in smaller type below it
            content = f"{pending.text} {line.text}"
            entries.append(_entry(line, section, name=pending.text, content=content))
            pending = None
            continue
        if not line.q.any and line.letters >= 2:
            flush_pending()
            pending = line
            continue
        flush_pending()
        if line.letters:
            notes.append(line.text)
    flush_pending()
    renumber = _lost_heading_numbers(headings)
    if renumber:
        headings = [renumber.get(h, h) for h in headings]
        entries = [
            e.model_copy(update={"section": renumber[e.section]}) if e.section in renumber else e
            for e in entries
        ]
    return ParseResult(entries[:max_entries], headings, notes)


# the number, or where it was lost: a separator or the end right after the word ("Day off"
# is not a lost number)
_NUMBERED_HEADING = re.compile(rf"^({NUMBERED_HEADING_WORDS})\b\s*(?:(\d+)|(?=[-:;,.–—(]|$))", re.I)


def _lost_heading_numbers(headings: list[str]) -> dict[str, str]:
    """Headings whose number OCR lost ("WORKOUT", "DAY - PUSH") get their place back, but
    only where every other heading of that word carries exactly its own place (1, 2, 3...)."""
    out: dict[str, str] = {}
    by_word: dict[str, list[tuple[str, re.Match]]] = {}
    for h in headings:
        if m := _NUMBERED_HEADING.match(h):
            by_word.setdefault(m.group(1).lower(), []).append((h, m))
    for group in by_word.values():
        numbered = [(i, int(m.group(2))) for i, (_, m) in enumerate(group, 1) if m.group(2)]
        lost = [(i, h, m) for i, (h, m) in enumerate(group, 1) if not m.group(2)]
        if not numbered or not lost or any(n != i for i, n in numbered):
            continue
        for i, h, m in lost:
            if headings.count(h) == 1:  # the same text twice cannot be told apart
                out[h] = f"{h[: m.end(1)]} {i}{h[m.end(1) :]}"
    return out


def normalise_entries(
    entries: Sequence[TrackerEntry], max_entries: int = 100
) -> list[TrackerEntry]:
    """Clean a model's entries with the OCR parser: fill missing numbers, drop headings."""
    out: list[TrackerEntry] = []
    for entry in entries:
        line = _Line(entry.content)
        if not line.text or line.is_strong_heading() or line.letters < 2:
            continue
        fields = {
            "name": line.name,
            "sets": line.q.sets,
            "reps": line.q.reps,
            "load": line.q.load,
            "duration_s": line.q.duration_s,
            "distance_m": line.q.distance_m,
            "rest_s": line.q.rest_s,
        }
        given = entry.model_dump(exclude_none=True)
        merged = {k: v for k, v in fields.items() if v is not None} | given
        merged["content"] = line.text
        out.append(TrackerEntry.model_validate(merged))
    return out[:max_entries]
