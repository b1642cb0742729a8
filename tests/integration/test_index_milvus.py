"""Milvus Lite for real: versioned collections behind an alias, and the safety filter."""

from __future__ import annotations

import numpy as np
import pytest

from urtraining import index
from urtraining.domain import Equipment, UserProfile
from urtraining.synth.rules import is_safe


@pytest.fixture
def client(tmp_path):
    c = index.connect(str(tmp_path / "milvus.db"))
    yield c
    c.close()


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, 16)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_new_version_switches_alias_and_old_ones_are_dropped(client, smoke_data):
    courses = smoke_data[2]
    first = index.publish_vectors(client, "courses", courses, _vectors(len(courses)))
    assert index.current_version(client, "courses") == first
    second = index.publish_vectors(client, "courses", courses[:10], _vectors(10, 1))
    assert index.current_version(client, "courses") == second
    assert index.count(client, "courses") == 10
    third = index.publish_vectors(client, "courses", courses[:5], _vectors(5, 2), keep_versions=2)
    assert index.versions(client, "courses") == [second, third]


def test_a_failed_build_leaves_the_serving_version_untouched(client, smoke_data):
    courses = smoke_data[2]
    good = index.publish_vectors(client, "courses", courses, _vectors(len(courses)))
    with pytest.raises(ValueError):  # one vector short: the build fails halfway
        index.publish_vectors(client, "courses", courses, _vectors(len(courses) - 1))
    assert index.current_version(client, "courses") == good
    assert index.versions(client, "courses") == [good]
    assert index.count(client, "courses") == len(courses)


def test_filtered_search_returns_only_safe_courses(client, smoke_data):
    users, _, courses, _ = smoke_data
    index.publish_vectors(client, "courses", courses, _vectors(len(courses)))
    q = _vectors(len(users), 3)
    filters = [index.safety_filter(u) for u in users]
    hits = index.search(client, "courses", q, filters, k=len(courses))
    returned = 0
    for user, row in zip(users, hits, strict=True):
        expected = {c.course_id for c in courses if is_safe(user, c)}
        got = {h["course_id"] for h in row}
        assert got == expected  # everything safe comes back, nothing unsafe does
        returned += len(got)
    assert 0 < returned < len(users) * len(courses)


def test_type_filter_and_exclusions(client, smoke_data):
    courses = smoke_data[2]
    index.publish_vectors(client, "courses", courses, _vectors(len(courses)))
    user = UserProfile(
        user_id="u",
        age=40,
        height_cm=170,
        weight_kg=70,
        goals=["endurance"],
        experience_level="beginner",
        preferred_activities=["swimming"],
        equipment=[Equipment.pool],
        sessions_per_week=2,
        session_minutes=30,
    )
    swim = [c.course_id for c in courses if c.type.value == "swimming"]
    expr = index.safety_filter(user, "swimming", exclude_ids=swim[:1])
    rows = index.search(client, "courses", _vectors(1, 4), [expr], k=100)[0]
    assert rows and all(r["type"] == "swimming" for r in rows)
    assert swim[0] not in {r["course_id"] for r in rows}
