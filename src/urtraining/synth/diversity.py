"""Diversity report of generated data: how every field is distributed, how much text repeats.

Near-duplicates are found with MinHash LSH (datasketch) on word 3-shingles of the rendered
text: a pair above ``threshold`` estimated Jaccard similarity counts as near-duplicate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from urtraining.domain import Course, UserProfile


def _dist(values: Iterable) -> dict[str, int]:
    c = Counter(str(getattr(v, "value", v)) for v in values)
    return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))


def _bucket(x: float, width: float) -> str:
    lo = int(x // width * width)
    return f"{lo}-{lo + width - 1:g}"


def _shingles(text: str, n: int = 3) -> set[str]:
    words = text.lower().split()
    return {" ".join(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def near_duplicate_share(texts: Sequence[str], threshold: float = 0.9) -> dict:
    """Share of texts that are exact duplicates, and of those with a near-duplicate partner."""
    from datasketch import MinHash, MinHashLSH

    exact = sum(n - 1 for n in Counter(texts).values() if n > 1)
    lsh = MinHashLSH(threshold=threshold, num_perm=64)
    hashes = []
    for i, t in enumerate(texts):
        m = MinHash(num_perm=64, seed=1)
        for s in _shingles(t):
            m.update(s.encode())
        hashes.append(m)
        lsh.insert(str(i), m)
    near = sum(1 for i, m in enumerate(hashes) if len(lsh.query(m)) > 1)
    n = max(1, len(texts))
    return {
        "exact_duplicate_share": round(exact / n, 4),
        "near_duplicate_share": round(near / n, 4),
        "threshold": threshold,
    }


def diversity_report(users: Sequence[UserProfile], courses: Sequence[Course]) -> dict:
    from urtraining.dataset import render_course, render_user

    return {
        "users": {
            "count": len(users),
            "age": _dist(_bucket(u.age, 10) for u in users),
            "sex": _dist(u.sex or "unspecified" for u in users),
            "bmi": _dist(_bucket(u.bmi, 5) for u in users),
            "goals": _dist(g for u in users for g in u.goals),
            "experience_level": _dist(u.experience_level for u in users),
            "preferred_activities": _dist(a for u in users for a in u.preferred_activities),
            "equipment": _dist(e for u in users for e in u.equipment),
            "sessions_per_week": _dist(u.sessions_per_week for u in users),
            "session_minutes": _dist(u.session_minutes for u in users),
            "injuries": _dist(a for u in users for a in u.injuries),
            "notes_empty_share": round(sum(not u.notes for u in users) / max(1, len(users)), 4),
            "text": near_duplicate_share([render_user(u) for u in users]),
        },
        "courses": {
            "count": len(courses),
            "type": _dist(c.type for c in courses),
            "sport": _dist(c.sport for c in courses),
            "level": _dist(c.level for c in courses),
            "goals": _dist(g for c in courses for g in c.goals),
            "equipment": _dist(e for c in courses for e in c.equipment),
            "contraindications": _dist(a for c in courses for a in c.contraindications),
            "duration_weeks": _dist(c.duration_weeks for c in courses),
            "sessions_per_week": _dist(c.sessions_per_week for c in courses),
            "session_minutes": _dist(c.session_minutes for c in courses),
            "coach_intensity": _dist(c.coach.intensity for c in courses),
            "exercises_per_day": _dist(len(d.exercises) for c in courses for d in c.program),
            "text": near_duplicate_share([render_course(c) for c in courses]),
            "description": near_duplicate_share([c.description for c in courses]),
        },
    }
