"""Near-duplicate removal with MinHash LSH over the free text an LLM wrote.

Only the free text is compared (a user's notes; a course's title and description): the
structured attributes are sampled by us and differ by construction, and comparing them
would hide two records whose prose is the same. Texts under ``MIN_WORDS`` words are not
judged (too short to call a copy). The first record of a near-duplicate group is kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

NUM_PERM = 64
MIN_WORDS = 6
_WORD = re.compile(r"[a-z0-9']+")


def _shingles(text: str, n: int = 3) -> set[str]:
    words = _WORD.findall(text.lower())
    if len(words) < n:
        return set(words)
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


def near_duplicates(texts: Sequence[str], threshold: float) -> set[int]:
    """Indices of texts that near-duplicate an earlier one (estimated Jaccard >= threshold)."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    dupes: set[int] = set()
    for i, text in enumerate(texts):
        if len(_WORD.findall(text.lower())) < MIN_WORDS:
            continue
        mh = MinHash(num_perm=NUM_PERM, seed=1)
        for s in _shingles(text):
            mh.update(s.encode("utf-8"))
        if lsh.query(mh):
            dupes.add(i)
            continue
        lsh.insert(str(i), mh)
    return dupes
