"""Splits, text rendering, training examples, and the ranking metrics."""

from __future__ import annotations

import numpy as np
import pytest

from urtraining.config import DatasetConfig
from urtraining.dataset import build_examples, make_splits, render_course, render_user
from urtraining.evaluate import ranking_metrics


def test_splits_are_disjoint_by_user_and_cover_everyone(smoke_data):
    users, _, courses, _ = smoke_data
    s = make_splits([u.user_id for u in users], [c.course_id for c in courses], DatasetConfig())
    train, val, test = set(s.train_users), set(s.val_users), set(s.test_users)
    assert not (train & val or train & test or val & test)
    assert train | val | test == {u.user_id for u in users}
    assert len(s.cold_courses) == round(0.2 * len(courses))


def test_texts_show_everything_the_teacher_uses(smoke_data):
    users, metadata, courses, _ = smoke_data
    user = next(u for u in users if u.injuries and u.user_id in metadata)
    text = render_user(user, metadata[user.user_id], {c.course_id: c.sport for c in courses})
    for word in [
        user.experience_level.value,
        *(a.value.replace("_", " ") for a in user.injuries),
        *(g.value.replace("_", " ") for g in user.goals),
        "history",
        "retention",
        f"{user.session_minutes} minutes",
    ]:
        assert word in text
    course = next(c for c in courses if c.contraindications)
    ctext = render_course(course)
    for word in [
        course.level.value,
        "not for injuries",
        *(a.value.replace("_", " ") for a in course.contraindications),
        f"{course.session_minutes} minutes",
    ]:
        assert word in ctext
    assert "new user" in render_user(user, None)


def test_examples_exclude_cold_courses_and_use_rejected_negatives(smoke_data):
    users, metadata, courses, rankings = smoke_data
    cfg = DatasetConfig(hard_negatives=1)
    s = make_splits([u.user_id for u in users], [c.course_id for c in courses], cfg)
    warm = {c.course_id for c in courses} - set(s.cold_courses)
    rows = build_examples(users, metadata, courses, rankings, warm, cfg)
    assert rows
    grades = {(uid, r.course_id): r.relevance for uid, rk in rankings.items() for r in rk.ranked}
    sport = {c.course_id: c.sport for c in courses}
    same_sport = 0
    for r in rows:
        assert r.course_id in warm and (r.neg_course_id is None or r.neg_course_id in warm)
        assert grades[(r.user_id, r.course_id)] >= cfg.positive_min_relevance
        if r.neg_course_id:
            assert grades[(r.user_id, r.neg_course_id)] == 0
            same_sport += sport[r.neg_course_id] == sport[r.course_id]
    assert same_sport > len(rows) / 2


def test_metrics_perfect_reversed_and_excluded():
    gains = np.array([[3, 2, 0, 0, 1]])
    none = np.zeros_like(gains, dtype=bool)
    perfect = ranking_metrics(np.array([[5.0, 4, 1, 0, 3]]), gains, none, k=3)
    assert perfect["ndcg@3"] == pytest.approx(1.0)
    assert perfect["recall@3"] == 1.0 and perfect["mrr@3"] == 1.0
    worst = ranking_metrics(np.array([[0.0, 1, 5, 4, 2]]), gains, none, k=3)
    assert worst["ndcg@3"] < 0.3 and worst["mrr@3"] == pytest.approx(0.0)
    # an excluded course (already completed) is no longer a candidate, nor a gain
    excluded = np.array([[True, False, False, False, False]])
    m = ranking_metrics(np.array([[5.0, 4, 1, 0, 3]]), gains, excluded, k=3)
    assert m["ndcg@3"] == pytest.approx(1.0) and m["recall@3"] == 1.0


def test_users_without_relevant_courses_are_skipped():
    m = ranking_metrics(
        np.zeros((2, 3)), np.array([[0, 0, 0], [1, 0, 0]]), np.zeros((2, 3), dtype=bool), k=2
    )
    assert m["users"] == 1
