"""How well entries match a ground truth: entry P/R/F1, field accuracy, order, sections.

An entry matches when the exercise name and all its numbers are right. Names compare on
letters and digits only (case, spaces and punctuation are presentation, not content).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel

from urtraining.domain import TrackerEntry

NUMBER_FIELDS = ("sets", "reps", "load", "duration_s", "distance_m", "rest_s")
REPORTED_FIELDS = ("sets", "reps", "load", "rest_s")


def _key(text: str | None) -> str:
    return re.sub(r"[^a-z0-9]", "", (text or "").lower())


def _load_key(load: str | None) -> str | None:
    if load is None:
        return None
    text = load.lower().replace(",", ".")
    if re.search(r"body|bw", text):
        return "bodyweight"
    m = re.search(r"(\d+(?:\.\d+)?)\s*(kg|lb|%)?", text)
    return f"{float(m.group(1)):g}{m.group(2) or 'kg'}" if m else _key(text)


def field_value(entry: TrackerEntry, field: str):
    value = getattr(entry, field)
    return _load_key(value) if field == "load" else value


def entry_matches(truth: TrackerEntry, pred: TrackerEntry) -> bool:
    if _key(truth.name) != _key(pred.name):
        return False
    return all(field_value(truth, f) == field_value(pred, f) for f in NUMBER_FIELDS)


class Score(BaseModel):
    truth: int
    predicted: int
    matched: int
    #: per field: right values among truth entries whose name was found
    field_right: dict[str, int]
    field_total: dict[str, int]
    in_order: int
    section_right: int

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else float(self.truth == 0)

    @property
    def recall(self) -> float:
        return self.matched / self.truth if self.truth else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _longest_increasing(xs: Sequence[int]) -> int:
    import bisect

    tails: list[int] = []
    for x in xs:
        i = bisect.bisect_left(tails, x)
        tails[i : i + 1] = [x]
    return len(tails)


def score(truth: Sequence[TrackerEntry], pred: Sequence[TrackerEntry]) -> Score:
    used: set[int] = set()
    matched_positions: list[int] = []
    for t in truth:
        for j, p in enumerate(pred):
            if j not in used and entry_matches(t, p):
                used.add(j)
                matched_positions.append(j)
                break
    # fields: pair each truth entry with the first unused prediction of the same name
    right = dict.fromkeys(REPORTED_FIELDS, 0)
    total = dict.fromkeys(REPORTED_FIELDS, 0)
    section_right = 0
    named: set[int] = set()
    for t in truth:
        partner = next(
            (p for j, p in enumerate(pred) if j not in named and _key(p.name) == _key(t.name)),
            None,
        )
        if partner is not None:
            named.add(pred.index(partner))
            section_right += _key(partner.section) == _key(t.section)
        for f in REPORTED_FIELDS:
            if field_value(t, f) is None:
                continue
            total[f] += 1
            right[f] += partner is not None and field_value(partner, f) == field_value(t, f)
    return Score(
        truth=len(truth),
        predicted=len(pred),
        matched=len(used),
        field_right=right,
        field_total=total,
        in_order=_longest_increasing(matched_positions),
        section_right=section_right,
    )
