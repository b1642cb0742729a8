"""Fix what OCR misreads in workout lines: letters inside numbers, misspelt exercise words.

Handwriting-like fonts are where RapidOCR slips (benchmarks/results/tracker.md): a ``0``
read as ``O``, a ``5`` as ``S``, ``2x10`` as ``Zxlo``, ``Shrugs`` as ``Shrgs``, and whole
lines read without a space (``MOUNTAINCLIMBERS5XI5REPS``). Three passes, each applied only
where the context says a number or a known word was meant:

* :meth:`Lexicon.respace`: the spaces OCR dropped, put back between known words and before a
  number that follows a word, so the number rules below see where numbers start;
* :func:`repair_numbers`: a lookalike letter becomes a digit when it sits inside a number,
  right before a unit (``IO MIN``), or around the ``x`` of sets x reps; a separator OCR
  misread or dropped comes back (``6 x 10.40 kg``, ``6200 m``, ``215 @ 5 kg``, ``6 . 200 m``),
  and so do handwritten units (``30 kyrest``, ``1 wind``, ``rest 455`` for 45 s); free text
  is left alone, since no rule fires without a digit, a unit or an ``x`` beside it.
* :class:`Lexicon`: a word that is not in the exercise vocabulary (the 873 names of
  ``urtraining/data/exercises.json``, the sports drills of ``urtraining.synth.catalogue``
  and the words coaches write around them) becomes the one vocabulary word within one edit
  (two for long words). Ties and far words stay as read: a wrong "fix" is worse than a typo.

Last, :func:`bare_load`: a number between the reps and the rest is a load without its unit
(it needs the corrected words, so it runs after the lexicon).
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources

from rapidfuzz.distance import Indel, Levenshtein
from rapidfuzz.process import extract

from urtraining.tracker.parser import NUMBERED_HEADING_WORDS

# letter -> the digit OCR took it for
_DIGIT_OF = str.maketrans({
    "O": "0", "o": "0", "D": "0", "Q": "0",
    "I": "1", "l": "1", "|": "1", "i": "1", "!": "1",
    "Z": "2", "z": "2",
    "S": "5", "s": "5",
    "G": "6", "b": "6",
    "B": "8",
    "g": "9", "q": "9",
})  # fmt: skip
_LOOK = r"OoDQIl|i!ZzSsGbBgq"
_UNIT = r"(?:s|sec|secs|min|mins|m|kg|kgs|lb|lbs|reps?|sets?|x)"


def _digits(text: str) -> str:
    return text.translate(_DIGIT_OF)


def repair_numbers(text: str) -> str:
    """Lookalike letters back to digits where a number is meant (see the module doc)."""
    # "47.S kg", "22.SKG": the decimal of a load (not "1.SQUATS": a unit or an end follows)
    text = re.sub(
        r"(?<=\d[.,])[SsOoIlZz](?=\s?(?:kg|kgs|lb|lbs|%|km|m|min|s)\b|\s|$|[,;)])",
        lambda m: _digits(m.group()),
        text,
        flags=re.I,
    )
    # "WORKOUT I", "DAY I: PULL": a heading's number read as a letter ("Day I did" stays)
    text = re.sub(
        rf"\b({NUMBERED_HEADING_WORDS}) ?([Il|Zz])(?=\s*(?:[-:;,.–—]|$))",
        lambda m: f"{m.group(1)} {_digits(m.group(2))}",
        text,
        flags=re.I,
    )
    # "3 OMIN", "1 OREPS", "9 OS", "2 os": a 0 split off its number and read as a letter
    text = re.sub(rf"(?<=\b\d)\s?[Oo](?=\s?{_UNIT}\b)", "0", text, flags=re.I)
    # "Easy jog S min": a lone S between a word and a time unit is a 5 ("5 min")
    text = re.sub(r"(?<=[A-Za-z] )[Ss](?= ?(?:min|mins|sec|secs)\b)", "5", text, flags=re.I)
    # handwritten units: the g of "kg" read as y or lost ("30 kyrest", "80 k,"), the m of
    # "min" as w ("1 wind rest", "1 winrest") -- only right after a number, and only where
    # the word cannot be meant ("5k run" is 5 km, "3 wind sprints" are sprints)
    text = re.sub(r"(?<=\d)(\s?)(?:k[yq]|k(?=\s?(?:rest|est)\b|[,.;]|\s*$))", r"\1kg", text)
    text = re.sub(
        r"(?<=\d)(\s?)(?:wind?|wn|mn)(?=\s?(?:rest|ret)\b|rest|ret|[,.;]|\s*$)", r"\1min", text
    )
    text = re.sub(r"(?<=\d)(\s?)(kg|min) ?(?:est|ret)\b", r"\1\2 rest", text)
    # "45 srest", "3 MINREST": a unit glued to the word after it
    text = re.sub(
        r"(?<=[\dOoIl])(\s?)(s|sec|secs|min|mins|m|kg)(?=(?:rest|recovery|reps|sets)\b)",
        r"\1\2 ",
        text,
        flags=re.I,
    )
    # "IO MIN", "l min", "REST GOS": a number of lookalikes right before its unit
    text = re.sub(
        rf"(?<![\w.])([{_LOOK}\d]*[{_LOOK}][{_LOOK}\d]*?)(\s?)(?=(?:[Ss]|sec|secs|min|mins|"
        rf"MIN|MINS|SEC|kg|KG|reps|REPS)\b)",
        _lookalike_before_unit,
        text,
    )
    # "Zxlo" -> "2x10", "4 XI 0" -> "4 x 10", "6 xzo 0 m" -> "6 x 200 m" (0, 1, 2 only: an
    # S or G after the x is more often a unit or a word than a 5 or a 6)
    text = re.sub(
        r"(?<!\w)([\dOoIlZz|]{1,2})(\s*[xX×]\s*)"
        r"((?:[Ss](?=[\dOoIlZz|]))?(?:[\dOoIlZz|]\s?){0,3}[\dOoIlZz|])"
        r"(?=[^A-Za-z]|$|(?:s|sec|secs|min|mins|m|kg|reps?)\b|m[a-z]{3,})",
        _around_times,
        text,
        flags=re.I,
    )
    # "6 x 10.40 kg", "2 x 5.57.5 kg", "2 x 8.2 min rest": reps are whole numbers, so the
    # point after them is a comma OCR misread, and what follows is the load or the rest
    text = re.sub(
        r"(\b\d{1,2}\s*(?:[xX×]|sets?\s*(?:of|x)?)\s*\d{1,2})\.(?=\s?\d+(?:[.,]\d+)?\s?"
        r"(?:(?:kg|kgs|lb|lbs)\b|(?:min|mins|sec|secs|s)\s?(?:rest|recovery)\b))",
        r"\1, ",
        text,
        flags=re.I,
    )
    if not re.search(r"\d\s*[xX×]\s*[\dOoIlZz]|\bsets?\b", text, flags=re.I):
        text = _lost_times(text)
    # "Wall sit 2.45 s": the x of "2 x 45 s" read as a point; nobody prescribes a hold in
    # hundredths, but a recorded time ("9.58 s") is not a round number of seconds
    text = re.sub(
        r"(?:(?<=[A-Za-z] )|^)(\d{1,2})\.([1-9][05]) ?(?=(?:s|sec|secs|set)\b)", r"\1 x \2 ", text
    )
    # the s of seconds read as a 5: "rest 455" (no rest is 455 s, but 45 s is common) and
    # "rest 45 5", "3 x 45 5" (a lone 5 after a time, where the unit goes)
    text = re.sub(
        r"(?<=\brest )(\d{2,3})5\b(?!\s?(?:s|sec|secs|min|mins|m|kg)\b)",
        lambda m: f"{m.group(1)} s" if int(m.group(0)) > 300 else m.group(0),
        text,
        flags=re.I,
    )
    text = re.sub(
        r"((?:\brest|[xX×])\s?\d{1,3}) 5(?=\s*(?:$|[,;.·]|rest\b))", r"\1 s", text, flags=re.I
    )
    # "2 sets .6 reps", "6 . 200 m": the x read as a point (a decimal has no space before
    # its point, and a numbered list's "3. 200 m" has none either)
    text = re.sub(r"(?<=\bsets) ?[.·] ?(?=\d{1,2} ?reps?\b)", " x ", text, flags=re.I)
    text = re.sub(
        r"(?<![\d.])(\d{1,2}) [.·] ?(\d{1,3}) ?(?=(?:m|s|sec|secs|reps?)\b)",
        r"\1 x \2 ",
        text,
        flags=re.I,
    )
    # "50 MBREASTSTROKE": a metre sign glued to the stroke (but "min", "mile", "metres")
    text = re.sub(r"(?<=\d)\s?([mM])(?!in|IN|ile|ILE|et|ET)(?=[A-Za-z]{3,})", r" \1 ", text)
    return text


def bare_load(text: str) -> str:
    """A bare number between the reps and the rest ("5 sets 12 reps · 15 · rest 45 s") is the
    load whose unit OCR lost (kg, the parser's default unit). It reads the words "reps" and
    "rest", so it runs after the lexicon has corrected them ("12eps·15est" is one of these)."""

    def with_unit(m: re.Match) -> str:
        return f"{m.group(1)}{m.group(2)} kg{'' if m.group(3) else ' '}"

    return re.sub(
        r"(?<=reps)(\W{1,3})(\d{1,3}(?:[.,]\d)?)(?=(\W{1,3})?rest\b)", with_unit, text, flags=re.I
    )


def _lost_times(text: str) -> str:
    """A line with no sets x reps whose ``x`` OCR dropped: "6200 m" of "6 x 200 m", "215 @"."""

    # pool intervals: 2-20 lengths of 25/50 m, or of 100/200 m when the whole would be an odd
    # distance to swim in one go (not 1500 or 2000 m)
    def interval(m: re.Match) -> str:
        count, length = int(m.group(1)), int(m.group(2))
        whole = int(m.group(1) + m.group(2))
        if length >= 100 and (whole % 500 == 0 or whole < 2100):
            return m.group(0)
        return f"{count} x {length} m"

    text = re.sub(r"(?<![\d.,])\b([2-9]|1\d|20)(25|50|100|200)\s?m\b", interval, text)
    # "Lateral raise 215 @ 5 kg": a load after "@" means the number before it is sets x reps
    # ("Squat 315 @ RPE 8" is a load at an effort, not sets x reps)
    return re.sub(r"(?:(?<=[A-Za-z] )|^)([1-9])([1-9]\d?)(?= ?@ ?\d)", r"\1 x \2", text)


def _lookalike_before_unit(m: re.Match) -> str:
    run, space = m.group(1), m.group(2)
    letters = [c for c in run if not c.isdigit()]
    bare_s = bool(re.match(r"\s?[Ss]\b", m.string[m.end(1) :]))
    # one lone letter is a word ("a", "Is") unless it is an I/l read for a 1 before a unit
    if len(run) == 1 and (run not in "Il|" or bare_s):
        return m.group(0)
    # an English word before a unit ("Is 5 min"): only digit-like shapes are repaired
    if any(c in "bgqisSB" for c in letters) and not any(c.isdigit() for c in run):
        return m.group(0)
    return _digits(run) + (space or " ")


def _around_times(m: re.Match) -> str:
    left, right = m.group(1), m.group(3)
    for side in (left, right.replace(" ", "")):
        if not any(c.isdigit() for c in side) and not re.fullmatch(r"[Ss]?[IlZzOo|]+", side):
            return m.group(0)  # a word with an x in it ("Box 10 min"), not sets x reps
    if " " in right and not re.search(rf"[{_LOOK}]", right):
        return m.group(0)  # "8 1 min": two numbers, not one split by OCR
    return f"{_digits(left)} x {_digits(right.replace(' ', ''))}"


# Words coaches write around exercises (units, fillers, headings): never "corrected".
_COMMON = """
sets set reps rep repetitions rounds round rest recovery break min mins minute minutes sec
secs second seconds hour hours kg kgs lb lbs km meters metres yards of each per side sides
and with at between then or to a the for on off max easy hard slow fast tempo week day
days workout session upper lower body full push pull legs core cardio warm up cool down
main circuit finisher superset accessory conditioning strength mobility stretching
monday tuesday wednesday thursday friday saturday sunday notes note coach program plan
weekly training block phase hypertrophy summer prep my total one two three four five six
seven eight nine ten twice times run jog walk swim cycle bike row hike
rpe rir amrap emom tabata wod hiit
"""


@cache
def catalogue_names() -> tuple[str, ...]:
    """The exercise and drill names the vocabulary is built from (the 873 of
    ``urtraining/data/exercises.json`` and the sports drills of ``urtraining.synth.catalogue``)."""
    from urtraining.synth.catalogue import DRILLS

    raw = resources.files("urtraining.data").joinpath("exercises.json").read_text()
    names = [e["name"] for e in json.loads(raw)]
    return (*names, *(d.name for drills in DRILLS.values() for d in drills))


class Lexicon:
    """The exercise vocabulary, and the nearest in-vocabulary word for a misread one."""

    def __init__(self, words: set[str]):
        self.words = {w.lower() for w in words if len(w) >= 2}
        # two-letter words ("jm" of "JM Press") are too close to every misread short word
        self._choices = sorted(w for w in self.words if len(w) >= 3)

    @classmethod
    @cache
    def default(cls) -> Lexicon:
        words = {w for n in catalogue_names() for w in re.findall(r"[a-z]+", n.lower())}
        words |= {w + "s" for w in words if len(w) >= 4 and not w.endswith("s")}  # shrugs
        return cls(words | set(_COMMON.split()))

    def nearest(self, word: str) -> str | None:
        """The one vocabulary word within reach of ``word`` (lower case), or None."""
        low = word.lower()
        if low in self.words or len(low) < 3:
            return None
        reach = 1 if len(low) <= 6 else 2
        found = extract(low, self._choices, scorer=Levenshtein.distance,
                        score_cutoff=reach, limit=8)  # fmt: skip
        if not found:
            return None
        best = min(d for _, d, _ in found)
        tied = [w for w, d, _ in found if d == best]
        if len(tied) > 1:  # "puls": pull or pulls? the one that keeps more letters in place
            tied.sort(key=lambda w: Indel.distance(low, w))
            if Indel.distance(low, tied[0]) == Indel.distance(low, tied[1]):
                return None
        return tied[0]

    def split(self, word: str) -> tuple[int, str, str] | None:
        """A glued pair ("Mountainclimbers", "GOBLETSQUAT"), each half known or near one.

        Returns (edits, first, second): 0 edits when both halves are vocabulary words.
        """
        low = word.lower()
        if len(low) < 6 or low in self.words:
            return None
        best: tuple[int, str, str] | None = None
        for i in range(2, len(low) - 1):
            a, b = low[:i], low[i:]
            fa = a if a in self.words else self.nearest(a) if len(a) >= 4 else None
            fb = b if b in self.words else self.nearest(b) if len(b) >= 4 else None
            if fa is None or fb is None:
                continue
            cost = Levenshtein.distance(a, fa) + Levenshtein.distance(b, fb)
            if cost <= 1 + (len(low) >= 12) and (best is None or cost < best[0]):
                best = (cost, fa, fb)
        return best

    def segment(self, run: str) -> str | None:
        """Glued known words ("SEATEDCABLEROW", "SETSOFI") split apart, case kept; else None.

        At most one letter may be left over (a lookalike digit: the I of "SETSOFI0" is a 1),
        and it stays glued to the right so it remains part of the number after it.
        """
        low = run.lower()
        if low in self.words:
            return None
        n = len(low)
        # best[i]: (letters not in a word, pieces, start of the last piece) for low[:i]
        best: list[tuple[int, int, int] | None] = [(0, 0, 0)] + [None] * n
        for i in range(1, n + 1):
            prev = best[i - 1]
            options = [(prev[0] + 1, prev[1] + 1, i - 1)] if prev else []
            for j in range(max(0, i - 20), i - 1):
                piece = low[j:i]
                if best[j] is not None and (
                    piece in _GLUE_SHORT if len(piece) == 2 else piece in self.words
                ):
                    options.append((best[j][0], best[j][1] + 1, j))
            best[i] = min(options)
        unknown, pieces, _ = best[n]
        if unknown > 1 or pieces - unknown < 2:
            return None
        cuts, i = [], n
        while i > 0:
            cuts.append(best[i][2])
            i = best[i][2]
        bounds = sorted(set(cuts)) + [n]
        words = [run[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
        # "Montoin" is a misread "Mountain", not "M on to in": short pieces must be rare
        if sum(len(w) == 2 for w in words) > 1:
            return None
        return " ".join(words)

    def respace(self, text: str) -> str:
        """Spaces OCR dropped: between glued known words, and between a word and a number."""
        text = re.sub(r"[A-Za-z]{6,}", lambda m: self.segment(m.group()) or m.group(), text)
        # "REST9OS", "UPS3X8": three letters or more are a word, so a number starts after them
        # (one or two letters stay: "XI5" and "OS" are lookalikes inside numbers)
        text = re.sub(r"(?<=[A-Za-z]{3})(?=\d)", " ", text)
        # "SETS OF2OREPS": "of" is the one short word a count follows
        return re.sub(r"(?<=\b[Oo][Ff])(?=\d)", " ", text)

    def correct(self, text: str) -> str:
        """Every misread word of ``text`` replaced by its vocabulary word, case kept."""
        return re.sub(r"[A-Za-z]{3,}", self._word, text)

    def _word(self, m: re.Match) -> str:
        word = m.group()
        fixed = self.nearest(word)
        pair = self.split(word)
        edits = Levenshtein.distance(word.lower(), fixed) if fixed is not None else 99
        if pair is not None and pair[0] < edits:  # "Wallsit": "Wall sit" (0), not "Walls" (2)
            _, first, second = pair
            return same_case(word, first) + " " + same_case(word[len(first) :], second)
        if fixed is not None:
            return same_case(word, fixed)
        return word


#: the two-letter words a glued run may hold ("SETSOF", "WARMUP"); other pairs of letters
#: are more often a misread than a word
_GLUE_SHORT = {"of", "up"}


def same_case(like: str, word: str) -> str:
    if like.isupper():
        return word.upper()
    if like[0].isupper():
        return word.capitalize()
    return word


def repair(text: str, lexicon: Lexicon | None = None) -> str:
    """All passes over one OCR line: spaces, then numbers (their letters are not words), then
    words, then the loads that needed the corrected words."""
    lexicon = lexicon or Lexicon.default()
    text = repair_numbers(lexicon.respace(text))
    return bare_load(lexicon.correct(text))
