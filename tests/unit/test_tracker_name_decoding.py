"""Names re-read with CTC probabilities: the forward algorithm against torch's, and the
decisions on posteriors built by hand (greedy reading known, the truth's letters given some
probability where the recognizer hesitated)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from urtraining.tracker.name_decoding import (
    Folding,
    NameDecoder,
    Posteriors,
    ctc_log_likelihood,
    greedy_steps,
)

ALPHABET = sorted(set("abcdefghijklmnopqrstuvwxyz0123456789 -.:,@'/"))
COLUMNS = {ch: i + 1 for i, ch in enumerate(ALPHABET)}


def _brute_force(logp: np.ndarray, labels: list[int]) -> float:
    """Sum over every path that collapses to ``labels`` (tiny inputs only)."""
    total = -np.inf
    for path in itertools.product(range(logp.shape[1]), repeat=logp.shape[0]):
        collapsed = [c for i, c in enumerate(path) if c != 0 and (i == 0 or path[i - 1] != c)]
        if collapsed == labels:
            total = np.logaddexp(total, sum(logp[t, c] for t, c in enumerate(path)))
    return float(total)


def test_forward_algorithm_matches_every_alignment_summed():
    rng = np.random.default_rng(0)
    logp = np.log(rng.dirichlet(np.ones(3), size=5))  # 5 steps, blank + 2 characters
    labels = [[1], [1, 2], [1, 1], [2, 1, 2], []]
    got = ctc_log_likelihood(logp, labels)
    want = [_brute_force(logp, seq) for seq in labels]
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_forward_algorithm_matches_torch_on_real_sizes():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    logp = np.log(rng.dirichlet(np.ones(12) * 0.3, size=40))
    labels = [list(rng.integers(1, 12, size=n)) for n in (3, 9, 17)]
    got = ctc_log_likelihood(logp, labels)
    lp = torch.tensor(logp).unsqueeze(1).repeat(1, len(labels), 1)
    targets = torch.zeros(len(labels), max(map(len, labels)), dtype=torch.long)
    for k, seq in enumerate(labels):
        targets[k, : len(seq)] = torch.tensor(seq)
    loss = torch.nn.functional.ctc_loss(
        lp, targets, torch.full((len(labels),), 40), torch.tensor([len(s) for s in labels]),
        reduction="none", zero_infinity=False,
    )  # fmt: skip
    np.testing.assert_allclose(got, -loss.numpy(), rtol=1e-6)


def test_folding_sums_both_cases_and_drops_other_scripts():
    fold = Folding(["blank", "a", "B", "b", "1", "中", " ", "A"])
    assert fold.columns == {" ": 1, "1": 2, "a": 3, "b": 4}
    probs = np.array([[0.1, 0.2, 0.05, 0.15, 0.1, 0.3, 0.05, 0.05]])
    np.testing.assert_allclose(np.exp(fold(probs)), [[0.1, 0.05, 0.1, 0.25, 0.2]])
    assert Folding(["blank", "1", "2"]).columns == {"1": 1, "2": 2}  # no letters at all


def _read(read: str, hesitations: dict[int, tuple[str, float]] | None = None) -> Posteriors:
    """Posteriors whose greedy reading is ``read``; ``hesitations[i] = (ch, p)`` adds a step
    before character i where the model gave ``ch`` probability p (and blank the rest)."""
    rows = []
    for i, ch in enumerate(read):
        if hesitations and i in hesitations:
            other, p = hesitations[i]
            rows.append({other.lower(): p, "": 1 - p})
        rows.append({ch.lower(): 0.97, "": 0.03})
        rows.append({"": 0.97, ch.lower(): 0.03})
    probs = np.full((len(rows), len(ALPHABET) + 1), 1e-6)
    for t, row in enumerate(rows):
        for ch, p in row.items():
            probs[t, COLUMNS[ch] if ch else 0] = p
    probs /= probs.sum(axis=1, keepdims=True)
    steps = greedy_steps(probs)
    assert len(steps) == len(read)
    return Posteriors(read, np.log(probs), COLUMNS, steps)


@pytest.fixture(scope="module")
def decoder():
    return NameDecoder.default()


def test_letters_the_recognizer_hesitated_on_come_back(decoder):
    # "Triceps pushdown" read as "Tices pushdown": r and p had 30-40 %, blank won
    read = _read("Tices pushdown 4 x 10", {1: ("r", 0.4), 4: ("p", 0.3)})
    assert decoder.decode(read) == "Triceps pushdown 4 x 10"


def test_words_read_without_a_space_are_split(decoder):
    # the gap between the words got some probability for a space, blank won
    read = _read("CALFRAISES 5 x 10", {4: (" ", 0.25)})
    assert decoder.decode(read) == "CALF RAISES 5 x 10"


def test_a_clear_unknown_name_is_kept(decoder):
    # nothing in the posteriors supports another spelling: the coach's own word stays
    assert decoder.decode(_read("Flonk hold 3 x 30 s")) == "Flonk hold 3 x 30 s"


@pytest.mark.parametrize(
    "text",
    [
        "Bench press 3 x 8",  # already vocabulary
        "2setsx10reps",  # units after a number are not a name
        "WORKOUTI",  # WORKOUT 1, the digit read as I
        "VOMIN",  # 10 MIN: a shorter name would swallow the number
        "4 x 50 m freestyle",
    ],
)
def test_lines_that_are_not_misread_names_are_left_alone(decoder, text):
    assert decoder.decode(_read(text)) == text


def test_the_stroke_after_a_distance_is_a_name(decoder):
    assert decoder.name_span("4 x 50 m brestroke") == (9, 18)
    assert decoder.name_span("4 x 50 mbrestroke") is None  # glued: the m may be the unit
