"""How far a teacher agrees with another: Kendall tau and NDCG@k, averaged over users.

Both are computed on the courses the two rankings share (for the reasoning teacher: its
pre-selected candidates), with the reference teacher's grades as the relevance truth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from urtraining.domain import Ranking


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's tau-b (ties in either list handled); 0 when either list is constant."""
    n = len(x)
    concordant = discordant = ties_x = ties_y = 0
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif (dx > 0) == (dy > 0):
                concordant += 1
            else:
                discordant += 1
    denom = math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))
    return (concordant - discordant) / denom if denom else 0.0


def ndcg_at_k(order: Sequence[str], gains: dict[str, float], k: int) -> float:
    def dcg(ids):
        return sum((2 ** gains.get(c, 0) - 1) / math.log2(i + 2) for i, c in enumerate(ids[:k]))

    ideal = dcg(sorted(gains, key=lambda c: -gains[c]))
    return dcg(list(order)) / ideal if ideal > 0 else 1.0


def agreement(rankings: Sequence[Ranking], reference: dict[str, Ranking], k: int = 10) -> dict:
    """Mean Kendall tau and NDCG@k of ``rankings`` against the ``reference`` of each user."""
    taus, ndcgs = [], []
    for r in rankings:
        ref = reference.get(r.user_id)
        if ref is None:
            continue
        ref_rank = {rc.course_id: rc for rc in ref.ranked}
        shared = [rc for rc in r.ranked if rc.course_id in ref_rank]
        if len(shared) < 2:
            continue
        ours = [rc.score for rc in shared]
        theirs = [ref_rank[rc.course_id].score for rc in shared]
        taus.append(kendall_tau(ours, theirs))
        gains = {rc.course_id: float(ref_rank[rc.course_id].relevance) for rc in shared}
        ndcgs.append(ndcg_at_k([rc.course_id for rc in shared], gains, k))
    n = len(taus)
    return {
        "users": n,
        "kendall_tau": sum(taus) / n if n else 0.0,
        f"ndcg@{k}": sum(ndcgs) / n if n else 0.0,
    }
