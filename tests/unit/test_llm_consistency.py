"""Consistency checks shared by the procedural and LLM paths: pure functions, fast."""

from __future__ import annotations

import pytest

from urtraining.domain import Exercise, Level, ProgramDay
from urtraining.synth.consistency import (
    coach_problems,
    course_problems,
    metadata_problems,
    user_problems,
)
from urtraining.synth.procedural import ProceduralGenerator


@pytest.fixture(scope="module")
def world():
    gen = ProceduralGenerator()
    courses = gen.courses(120, seed=3)
    users = gen.users(200, seed=3, courses=courses)
    return courses, users


def test_procedural_output_passes_every_check(world):
    courses, users = world
    by_id = {c.course_id: c for c in courses}
    assert [p for c in courses for p in course_problems(c)] == []
    for user, meta in users:
        assert user_problems(user) == []
        if meta is not None:
            assert metadata_problems(user, meta, by_id) == []


def test_impossible_bmi_is_named(world):
    user = world[1][0][0].model_copy(update={"height_cm": 210.0, "weight_kg": 36.0})
    (problem,) = user_problems(user)
    assert "BMI of 8.2" in problem and "height_cm=210" in problem


def test_metadata_contradicting_the_profile(world):
    courses, users = world
    by_id = {c.course_id: c for c in courses}
    user, meta = next((u, m) for u, m in users if m is not None)
    advanced = next(c for c in courses if c.level is Level.advanced)
    beginner_user = user.model_copy(update={"experience_level": Level.beginner})
    bad = meta.model_copy(
        update={
            "user_id": "someone-else",
            "completed_course_ids": [advanced.course_id, "c-unknown"],
            "dropped_course_ids": [advanced.course_id],
            "active_days_per_week": float(user.sessions_per_week + 3),
            "avg_session_minutes": float(user.session_minutes * 3 + 30),
        }
    )
    text = " | ".join(metadata_problems(beginner_user, bad, by_id))
    for needle in (
        "is not",
        "both completed and dropped",
        "unknown course ids: c-unknown",
        "active_days_per_week",
        "avg_session_minutes",
        "an advanced course",
    ):
        assert needle in text


def test_course_program_not_fitting_its_level(world):
    course = next(c for c in world[0] if c.level is Level.beginner)
    heavy = [Exercise(name=f"lift {i}", sets=8, reps=10) for i in range(4)]
    days = [
        ProgramDay(day=1, title="A", exercises=heavy),
        ProgramDay(day=1, title="B", exercises=heavy),
    ]
    bad = course.model_copy(update={"program": days, "sessions_per_week": 1})
    text = " | ".join(course_problems(bad))
    assert "repeats a day number" in text
    assert "2 days but the course has only 1 sessions" in text
    assert "'lift 0' has 8 sets, too many for a beginner course" in text
    assert "32 sets in total" in text


def test_coach_intensity_against_level(world):
    coach = world[0][0].coach.model_copy(update={"intensity": 5})
    assert coach_problems(coach, Level.beginner)
    assert coach_problems(coach, Level.advanced) == []
