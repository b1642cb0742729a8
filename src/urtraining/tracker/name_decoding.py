"""Exercise names re-read against the vocabulary, with the recognizer's own probabilities.

Text rules (:mod:`urtraining.tracker.ocr_repair`) can only fix what the recognizer wrote: when
it dropped letters ("Cafaises" for "Calf raises", "Tices pushdown" for "Triceps pushdown"),
edit distance is too far to be trusted. The recognizer is a CTC model: for every horizontal
step of the box it scores every character, and greedy decoding keeps only the best one per
step, so a letter that came second everywhere is lost. Here a misread name is scored again:
candidate names built from the exercise vocabulary get the probability the model gives them
over the same steps (the CTC forward algorithm, summed over all alignments), and the best one
replaces the read name when the model finds it nearly as likely as what it wrote. A name the
model reads clearly (print fonts) is never replaced: any other spelling costs it far more than
the margin. Letters the model gave no probability at all stay lost ("Dedhmg", "Ltplou").
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import cache

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.process import extract

from urtraining.tracker.ocr_repair import Lexicon, catalogue_names, same_case

#: how much less likely (natural log) a vocabulary name may be than the read text and still
#: replace it. Tuning seeds, handwriting-like fonts, degraded F1: 0.739 without decoding,
#: 0.767 / 0.771 / 0.767 at margins 4 / 6 / 8; print fonts unchanged at 6
MARGIN = 6.0

_UNITS = {
    "min", "mins", "minute", "minutes", "sec", "secs", "second", "seconds", "hour", "hours",
    "kg", "kgs", "lb", "lbs", "km", "meters", "metres", "yards", "sets", "set", "reps", "rep",
    "rest",
}  # fmt: skip
_NAME = re.compile(r"[A-Za-z][A-Za-z' /-]*[A-Za-z]")
_WORD = re.compile(r"[A-Za-z']+")


@dataclass(frozen=True)
class Posteriors:
    """Per-step log probabilities of one text box, folded to what decoding needs.

    ``columns`` maps a character (lower-case letters stand for both cases) to its column in
    ``logp``; column 0 is CTC's blank. ``steps`` is the step where each character of
    ``text`` (the greedy reading) was emitted.
    """

    text: str
    logp: np.ndarray  # (steps, columns)
    columns: dict[str, int]
    steps: tuple[int, ...]


class Folding:
    """How the recognizer's classes fold to the ASCII ones decoding needs (lower-case letters
    stand for both cases; column 0 is CTC's blank). Built once per alphabet."""

    def __init__(self, alphabet: list[str]):
        wanted: dict[str, list[int]] = {}
        for i, ch in enumerate(alphabet[1:], start=1):
            if len(ch) == 1 and ch.isascii() and ch.isprintable():
                wanted.setdefault(ch.lower() if ch.isalpha() else ch, []).append(i)
        chars = sorted(wanted)
        self.columns = {ch: k + 1 for k, ch in enumerate(chars)}
        self._first = np.array([0] + [wanted[ch][0] for ch in chars])
        pairs = [(self.columns[ch], wanted[ch][1]) for ch in chars if len(wanted[ch]) > 1]
        self._to = np.array([to for to, _ in pairs], dtype=np.int64)
        self._second = np.array([second for _, second in pairs], dtype=np.int64)

    def __call__(self, probs: np.ndarray) -> np.ndarray:
        """(steps, classes) probabilities -> (steps, columns) log probabilities."""
        folded = probs[:, self._first].astype(np.float64)
        folded[:, self._to] += probs[:, self._second]
        return np.log(np.maximum(folded, 1e-30))


def greedy_steps(probs: np.ndarray) -> tuple[int, ...]:
    """The step of every character greedy CTC decoding emits (RapidOCR's own decoding)."""
    best = probs.argmax(axis=1)
    keep = best != 0
    keep[1:] &= best[1:] != best[:-1]
    return tuple(int(i) for i in np.flatnonzero(keep))


def ctc_log_likelihood(logp: np.ndarray, labels: list[list[int]]) -> np.ndarray:
    """log P(label sequence | steps) for several sequences at once (CTC forward algorithm)."""
    count = len(labels)
    size = 2 * max(len(seq) for seq in labels) + 1
    ext = np.zeros((count, size), dtype=np.int64)  # blanks between and around the labels
    ends = np.array([2 * len(seq) for seq in labels])
    for k, seq in enumerate(labels):
        ext[k, 1 : 2 * len(seq) : 2] = seq
    skip = np.zeros((count, size), dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != 0) & (ext[:, 2:] != ext[:, :-2])
    beyond = np.arange(size)[None, :] > ends[:, None]
    emit = logp[:, ext]  # (steps, count, size)
    alpha = np.full((count, size), -np.inf)
    alpha[:, 0] = emit[0, :, 0]
    alpha[:, 1] = np.where(ends > 0, emit[0, :, 1], -np.inf)
    for t in range(1, logp.shape[0]):
        one = np.concatenate([np.full((count, 1), -np.inf), alpha[:, :-1]], axis=1)
        two = np.concatenate([np.full((count, 2), -np.inf), alpha[:, :-2]], axis=1)
        alpha = np.logaddexp(np.logaddexp(alpha, one), np.where(skip, two, -np.inf)) + emit[t]
        alpha[beyond] = -np.inf
    rows = np.arange(count)
    last = alpha[rows, ends]
    before = np.where(ends > 0, alpha[rows, np.maximum(ends - 1, 0)], -np.inf)
    return np.logaddexp(last, before)


class NameDecoder:
    """Candidate names from the vocabulary, scored by the recognizer (see the module doc)."""

    def __init__(self, lexicon: Lexicon, phrases: list[str], margin: float = MARGIN):
        self.lexicon = lexicon
        self.phrases = phrases
        # a name is built from exercise words, never from units ("ming jacks" is not "min jacks")
        self.words = sorted(w for w in lexicon.words if len(w) >= 3 and w not in _UNITS)
        self.margin = margin

    @classmethod
    @cache
    def default(cls) -> NameDecoder:
        lexicon = Lexicon.default()
        return cls(lexicon, sorted(exercise_phrases()))

    def decode(self, read: Posteriors) -> str:
        """``read.text`` with its exercise name replaced when the model prefers a known one."""
        span = self.name_span(read.text)
        if span is None or len(read.steps) != len(read.text):
            return read.text
        start, end = span
        name = read.text[start:end]
        first = read.steps[start - 1] + 1 if start > 0 else 0
        last = read.steps[end] if end < len(read.text) else read.logp.shape[0]
        window = read.logp[first:last]
        if window.shape[0] == 0:
            return read.text
        candidates = self.candidates(name)
        encoded = [_encode(c, read.columns) for c in [name.lower(), *candidates]]
        if not encoded[0]:
            return read.text
        usable = [(c, e) for c, e in zip([name, *candidates], encoded, strict=True) if e]
        # a name that swallows letters is a number OCR misread ("VOMIN" is "10 MIN", not MIN)
        letters = len(re.sub(r"[^A-Za-z]", "", name))
        usable = usable[:1] + [(c, e) for c, e in usable[1:] if len(e) >= letters - 1]
        if len(usable) < 2:
            return read.text
        scores = ctc_log_likelihood(window, [e for _, e in usable])
        best = int(np.argmax(scores[1:])) + 1
        if scores[best] < scores[0] - self.margin:
            return read.text
        return read.text[:start] + same_case(name, usable[best][0]) + read.text[end:]

    def name_span(self, text: str) -> tuple[int, int] | None:
        """Where the exercise name of a read line is, if it is worth re-reading."""
        for match in _NAME.finditer(text):
            start, end = match.span()
            if re.search(r"\d ?$", text[:start]):
                # after a number come units and "sets x reps" ("2setsx10", "45srest"): not a
                # name, except the stroke after a distance ("4 x 50 m kick drill")
                unit = re.match(r"(?:m|km|yd|yds) (?=[A-Za-z])", match.group(), flags=re.I)
                if unit is None:
                    continue
                start += unit.end()
            name = text[start:end]
            known = [self._known(w) for w in _WORD.findall(name)]
            if len(re.sub(r"[^A-Za-z]", "", name)) < 3 or all(known):
                return None
            return start, end
        return None

    def _known(self, word: str) -> bool:
        # "WORKOUTI", "DAYZ": a known word with a digit after it read as a letter
        low = word.lower()
        return low in self.lexicon.words or (low[-1] in "ilzos" and low[:-1] in self.lexicon.words)

    def candidates(self, name: str) -> list[str]:
        """Vocabulary names near ``name``: whole catalogue phrases, and word-by-word guesses
        that keep the read separators (so "Pill-ups" is tried as "pull-ups")."""
        low = name.lower()
        found = [p for p, _, _ in extract(low, self.phrases, scorer=fuzz.ratio, limit=12)]
        parts = re.split(r"([ /-]+)", low)
        words, seps = parts[0::2], parts[1::2]
        options = []
        for word in words:
            near = [w for w, _, _ in extract(word, self.words, scorer=fuzz.ratio, limit=4)]
            known = [word] if word in self.lexicon.words else []
            options.append(list(dict.fromkeys([*known, *near]))[:4])
        for combo in itertools.islice(itertools.product(*options), 64):
            text = "".join(w + s for w, s in itertools.zip_longest(combo, seps, fillvalue=""))
            found.append(text)
        # a run OCR glued together ("dedhmg"): two vocabulary words with no space read
        if len(words) == 1 and len(low) >= 5:
            for cut in range(2, len(low) - 1):
                left = extract(low[:cut], self.words, scorer=fuzz.ratio, limit=2, score_cutoff=50)
                right = extract(low[cut:], self.words, scorer=fuzz.ratio, limit=2, score_cutoff=50)
                found += [f"{a} {b}" for (a, _, _), (b, _, _) in itertools.product(left, right)]
        return [c for c in dict.fromkeys(found) if c != low]


def exercise_phrases() -> set[str]:
    """Every run of one to four words inside a catalogue exercise or drill name."""
    phrases = set()
    for name in catalogue_names():
        words = re.findall(r"[a-z]+", name.lower())
        for size in range(1, 5):
            phrases.update(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))
    return {p for p in phrases if len(p) >= 3}


def _encode(text: str, columns: dict[str, int]) -> list[int]:
    codes = [columns.get(ch) for ch in text.lower()]
    return [] if None in codes else codes  # type: ignore[return-value]
