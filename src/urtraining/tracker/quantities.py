"""Numbers of an exercise line: sets, reps, load, duration, distance, rest.

Works on text that :func:`normalise_text` cleaned (ASCII digits, ``x`` for the times sign,
spaces between words and numbers), so every pattern tolerates the ways coaches write them:
``4x8``, ``4 × 8 @ 60 kg``, ``3 sets of 10 reps``, ``3 x 45 sec``, ``8 x 50 m``, ``20 s rest``.
"""

from __future__ import annotations

import re
import unicodedata

from pydantic import BaseModel

NUM = r"\d+(?:[.,]\d+)?"
SEC = r"(?:s|sec|secs|second|seconds|\")"
MIN = r"(?:min|mins|minute|minutes|')"
HOUR = r"(?:h|hr|hrs|hour|hours)"
TIME_UNIT = rf"(?:{SEC}|{MIN}|{HOUR})"
DIST_UNIT = r"(?:m|meter|meters|metre|metres|km|kilometers|kilometres|mi|miles|yd|yards)"
LOAD_UNIT = r"(?:kg|kgs|kilo|kilos|lb|lbs|pounds|%)"
REST_WORD = r"(?:rest|recovery|recover|break|pause|r)"
END = r"(?![a-z])"


class Quantities(BaseModel):
    sets: int | None = None
    reps: int | None = None
    load: str | None = None
    duration_s: int | None = None
    distance_m: int | None = None
    rest_s: int | None = None
    #: character spans of the text that held the numbers (what is left is the name)
    spans: list[tuple[int, int]] = []

    @property
    def any(self) -> bool:
        return any(
            v is not None
            for v in (self.sets, self.reps, self.load, self.duration_s, self.distance_m)
        )


_CONFUSABLE_TIMES = "×xX*✕✖⨯±+"
_DASHES = "‐‑‒–—―−"
_BULLETS = "•●▪◦∙·‣⁃◆◇■□►▶➤✓✔☐"


def normalise_text(text: str) -> str:
    """OCR/typing variants -> one form: ASCII digits, `` x `` between numbers, spaced units."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(rf"^\s*[{re.escape(_BULLETS)}]\s*", "- ", text)
    for ch in _DASHES:
        text = text.replace(ch, "-")
    # O/o and l/I inside numbers are OCR's favourite digit confusions
    text = re.sub(r"(?<=\d)[Oo](?=\d)", "0", text)
    text = re.sub(r"(?<=\d)[lI|](?=\d)", "1", text)
    times = re.escape(_CONFUSABLE_TIMES)
    text = re.sub(rf"(?<=\d)\s*[{times}]\s*(?=\d)", " x ", text)
    # glued words and numbers ("Plank3x45sec"): split them, but keep ordinals and 1RM
    text = re.sub(r"(?<=[A-Za-z])(?=\d)", " ", text)
    text = re.sub(r"(?<=\d)(?=[A-Za-z])(?!(?:st|nd|rd|th|RM)\b)", " ", text)
    # "50 mbreaststroke": OCR glues a metre sign to the next word (but "min" is a unit)
    text = re.sub(r"(?<=\d) ?m(?=(?!in|ile|et[er])[a-z]{3,})", " m ", text)
    text = re.sub(r"\s*@\s*", " @ ", text)
    text = re.sub(r"\s*,\s*", ", ", text)
    text = re.sub(r"(?<=\w)\s*-\s+(?=\w)", " - ", text)
    text = re.sub(r"(?<=[A-Za-z]) -(?=\d)", " - ", text)
    text = re.sub(r"\s+", " ", text)
    return text.strip(" ,;")


def _num(text: str) -> float:
    return float(text.replace(",", "."))


def _seconds(value: str, unit: str) -> int:
    unit = unit.lower()
    factor = 1
    if re.fullmatch(MIN, unit):
        factor = 60
    elif re.fullmatch(HOUR, unit):
        factor = 3600
    return round(_num(value) * factor)


def _metres(value: str, unit: str) -> int:
    factor = {"km": 1000, "kilometers": 1000, "kilometres": 1000, "mi": 1609, "miles": 1609}
    factor |= {"yd": 0.9144, "yards": 0.9144}
    return round(_num(value) * factor.get(unit.lower(), 1))


def _load(value: str, unit: str | None) -> str:
    unit = (unit or "kg").lower()
    unit = {"kgs": "kg", "kilo": "kg", "kilos": "kg", "lbs": "lb", "pounds": "lb"}.get(unit, unit)
    number = value.replace(",", ".")
    return f"{number}%" if unit == "%" else f"{number} {unit}"


# Order matters: rest first (its time is not the exercise's duration), then sets x something.
_REST_BEFORE = re.compile(rf"\b{REST_WORD}\s*[:=]?\s*({NUM})\s*({TIME_UNIT}){END}", re.I)
_REST_AFTER = re.compile(rf"\b({NUM})\s*({TIME_UNIT})\s*(?:of\s+)?{REST_WORD}\b", re.I)
_REST_CLOCK = re.compile(rf"\b{REST_WORD}\s*[:=]?\s*(\d{{1,2}}):(\d{{2}})\b", re.I)
_REST_CLOCK_AFTER = re.compile(rf"\b(\d{{1,2}}):(\d{{2}})\s*(?:min\s*)?{REST_WORD}\b", re.I)
_SETS_X = re.compile(
    rf"\b(\d{{1,2}})\s*(?:sets?\s*)?x\s*({NUM})\s*(?:({TIME_UNIT}|{DIST_UNIT}){END}|reps?\b)?",
    re.I,
)
_SETS_OF = re.compile(
    rf"\b(\d{{1,2}})\s*(?:sets?|rounds?)\s*(?:of|,|:)?\s*({NUM})\s*"
    rf"(?:({TIME_UNIT}|{DIST_UNIT}){END}|reps?\b|repetitions\b)",
    re.I,
)
_SETS = re.compile(r"\b(\d{1,2})\s*(?:sets?|rounds?)\b", re.I)
_REPS = re.compile(r"\b(\d{1,3})\s*(?:reps?|repetitions)\b", re.I)
_LOAD_AT = re.compile(rf"@\s*({NUM})\s*({LOAD_UNIT})?(?![a-z])", re.I)
_LOAD = re.compile(rf"\b({NUM})\s*({LOAD_UNIT})(?![a-z])", re.I)
_BODYWEIGHT = re.compile(r"\b(bodyweight|body weight|bw)\b", re.I)
_DISTANCE = re.compile(rf"\b({NUM})\s*({DIST_UNIT}){END}", re.I)
_DURATION = re.compile(rf"\b({NUM})\s*({TIME_UNIT}){END}", re.I)
_CLOCK = re.compile(r"\b(\d{1,2}):(\d{2})\s*(?:min)?\b", re.I)


def extract(text: str) -> Quantities:
    """Find the numbers of one normalised line; their spans are reported, not removed."""
    q = Quantities()
    taken: list[tuple[int, int]] = []

    def free(m: re.Match) -> bool:
        return all(m.end() <= a or m.start() >= b for a, b in taken)

    def first(pattern: re.Pattern) -> re.Match | None:
        for m in pattern.finditer(text):
            if free(m):
                taken.append(m.span())
                return m
        return None

    if m := first(_REST_BEFORE) or first(_REST_AFTER):
        q.rest_s = _seconds(m.group(1), m.group(2))
    elif m := first(_REST_CLOCK) or first(_REST_CLOCK_AFTER):
        q.rest_s = int(m.group(1)) * 60 + int(m.group(2))

    if m := first(_SETS_X) or first(_SETS_OF):
        q.sets = int(m.group(1))
        unit = m.group(3)
        if unit and re.fullmatch(TIME_UNIT, unit, re.I):
            q.duration_s = _seconds(m.group(2), unit)
        elif unit:
            q.distance_m = _metres(m.group(2), unit)
        else:
            q.reps = round(_num(m.group(2)))
    else:
        if m := first(_SETS):
            q.sets = int(m.group(1))
        if m := first(_REPS):
            q.reps = int(m.group(1))

    if m := first(_LOAD_AT) or first(_LOAD):
        q.load = _load(m.group(1), m.group(2))
    elif m := first(_BODYWEIGHT):
        q.load = "bodyweight"

    if q.distance_m is None and (m := first(_DISTANCE)):
        q.distance_m = _metres(m.group(1), m.group(2))
    if q.duration_s is None:
        if m := first(_DURATION):
            q.duration_s = _seconds(m.group(1), m.group(2))
        elif m := first(_CLOCK):
            q.duration_s = int(m.group(1)) * 60 + int(m.group(2))

    # counts of zero are OCR noise, not exercises
    if q.sets == 0:
        q.sets = None
    if q.reps == 0:
        q.reps = None
    q.spans = sorted(taken)
    return q
