"""Ranking metrics of BM25, the base encoder (zero-shot) and the fine-tuned encoder.

Metrics are computed here rather than with sentence-transformers' InformationRetrievalEvaluator
because the teacher's relevance is graded (0..3): NDCG uses the grades as gains, and BM25 has
to be scored on exactly the same footing as the encoders.

- ndcg@k: gains 2^rel - 1, users whose candidates all have relevance 0 are skipped;
- recall@k and mrr@k: a course is relevant when the teacher graded it >= 2.
Courses a user already completed or dropped are not candidates (the recommender excludes
them too).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from urtraining.dataset import render_course, render_user
from urtraining.domain import Course, InteractionMetadata, Ranking, UserProfile

RELEVANT = 2


def ranking_metrics(scores: np.ndarray, gains: np.ndarray, excluded: np.ndarray, k: int) -> dict:
    """Mean ndcg@k, recall@k, mrr@k over users (rows)."""
    scores = np.where(excluded, -np.inf, scores)
    gains = np.where(excluded, 0, gains)
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ndcg, recall, mrr = [], [], []
    for u in range(scores.shape[0]):
        g = gains[u]
        ideal = np.sort(g)[::-1][:k]
        idcg = float(((2.0**ideal - 1) * discount[: len(ideal)]).sum())
        if idcg > 0:
            got = g[top[u]]
            ndcg.append(float(((2.0**got - 1) * discount[: len(got)]).sum()) / idcg)
        relevant = g >= RELEVANT
        n_rel = int(relevant.sum())
        if n_rel:
            hits = relevant[top[u]]
            recall.append(float(hits.sum()) / n_rel)
            first = np.flatnonzero(hits)
            mrr.append(1.0 / (first[0] + 1) if len(first) else 0.0)
    mean = lambda xs: round(float(np.mean(xs)), 4) if xs else 0.0  # noqa: E731
    return {
        f"ndcg@{k}": mean(ndcg),
        f"recall@{k}": mean(recall),
        f"mrr@{k}": mean(mrr),
        "users": len(ndcg),
    }


def relevance_matrix(
    users: Sequence[UserProfile],
    courses: Sequence[Course],
    rankings: dict[str, Ranking],
    metadata: dict[str, InteractionMetadata],
) -> tuple[np.ndarray, np.ndarray]:
    col = {c.course_id: j for j, c in enumerate(courses)}
    gains = np.zeros((len(users), len(courses)), dtype=np.int8)
    excluded = np.zeros_like(gains, dtype=bool)
    for i, u in enumerate(users):
        for r in rankings[u.user_id].ranked:
            if r.course_id in col:
                gains[i, col[r.course_id]] = r.relevance
        meta = metadata.get(u.user_id)
        if meta:
            for cid in (*meta.completed_course_ids, *meta.dropped_course_ids):
                if cid in col:
                    excluded[i, col[cid]] = True
    return gains, excluded


def bm25_scores(user_texts: Sequence[str], course_texts: Sequence[str]) -> np.ndarray:
    import bm25s

    retriever = bm25s.BM25()
    retriever.index(
        bm25s.tokenize(list(course_texts), stopwords="en", show_progress=False), show_progress=False
    )
    queries = bm25s.tokenize(
        list(user_texts), stopwords="en", return_ids=False, show_progress=False
    )
    out = np.zeros((len(user_texts), len(course_texts)), dtype=np.float32)
    for i, q in enumerate(queries):
        if q:
            out[i] = retriever.get_scores(q)
    return out


def encoder_scores(model, user_texts, course_texts, batch_size: int = 64) -> np.ndarray:
    """Cosine scores; ``encode_query``/``encode_document`` apply the model's own prompts."""
    u = model.encode_query(
        list(user_texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
    )
    c = model.encode_document(
        list(course_texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
    )
    return u @ c.T


def evaluate_models(
    users: Sequence[UserProfile],
    metadata: dict[str, InteractionMetadata],
    courses: Sequence[Course],
    rankings: dict[str, Ranking],
    cold_course_ids: set[str],
    encoders: dict,
    k: int = 10,
    batch_size: int = 64,
) -> dict:
    """Metrics of BM25 and every encoder in ``encoders`` (name -> SentenceTransformer) on
    (a) the whole catalogue and (b) the cold-start courses only."""
    sports = {c.course_id: c.sport for c in courses}
    user_texts = [render_user(u, metadata.get(u.user_id), sports) for u in users]
    course_texts = [render_course(c) for c in courses]
    gains, excluded = relevance_matrix(users, courses, rankings, metadata)
    cold = np.array([c.course_id in cold_course_ids for c in courses])

    all_scores = {"bm25": bm25_scores(user_texts, course_texts)}
    for name, model in encoders.items():
        all_scores[name] = encoder_scores(model, user_texts, course_texts, batch_size)

    result: dict = {
        "split": "test",
        "k": k,
        "users": len(users),
        "courses": len(courses),
        "models": {},
        "cold_courses": {"courses": int(cold.sum()), "models": {}},
    }
    for name, scores in all_scores.items():
        result["models"][name] = ranking_metrics(scores, gains, excluded, k)
        if cold.any():
            result["cold_courses"]["models"][name] = ranking_metrics(
                scores[:, cold], gains[:, cold], excluded[:, cold], k
            )
    return result


def format_table(metrics: dict) -> str:
    k = metrics.get("k", 10)
    cols = [f"ndcg@{k}", f"recall@{k}", f"mrr@{k}"]
    lines = [f"| ranking | model | {' | '.join(cols)} |", "|---|---|" + "---|" * len(cols)]
    for label, block in (
        ("all courses", metrics["models"]),
        ("cold courses", metrics.get("cold_courses", {}).get("models", {})),
    ):
        for name, m in block.items():
            lines.append(f"| {label} | {name} | " + " | ".join(f"{m[c]:.3f}" for c in cols) + " |")
    return "\n".join(lines)
