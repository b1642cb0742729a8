"""The rule-based teacher, and above all its safety rules."""

from __future__ import annotations

from urtraining.domain import Equipment, InteractionMetadata, UserProfile
from urtraining.synth.rules import RuleTeacher, effective_equipment, grade, is_safe


def test_unsafe_courses_are_never_relevant(smoke_data):
    users, metadata, courses, rankings = smoke_data
    by_id = {c.course_id: c for c in courses}
    users_by_id = {u.user_id: u for u in users}
    checked = 0
    for uid, ranking in rankings.items():
        user = users_by_id[uid]
        for r in ranking.ranked:
            course = by_id[r.course_id]
            if set(user.injuries) & set(course.contraindications):
                assert r.relevance == 0 and "contraindicated" in r.rationale
                checked += 1
            elif not is_safe(user, course):
                assert r.relevance == 0 and "lacks" in r.rationale
                checked += 1
    assert checked > 50  # the rule was really exercised


def test_rankings_are_sorted_best_first(smoke_data):
    for ranking in smoke_data[3].values():
        keys = [(r.relevance, r.score) for r in ranking.ranked]
        assert keys == sorted(keys, reverse=True)
        assert len(ranking.ranked) == len(smoke_data[2])


def test_full_gym_implies_free_weights_but_not_a_pool():
    eq = effective_equipment([Equipment.full_gym])
    assert {Equipment.dumbbells, Equipment.barbell, Equipment.mat} <= eq
    assert Equipment.pool not in eq and Equipment.bike not in eq


def _best_match(smoke_data):
    users, metadata, courses, rankings = smoke_data
    for user in users:
        top = rankings[user.user_id].ranked[0]
        if top.relevance == 3:
            return user, next(c for c in courses if c.course_id == top.course_id)
    raise AssertionError("no user has a relevance-3 course")


def test_history_and_level_rules(smoke_data):
    user, course = _best_match(smoke_data)
    by_id = {course.course_id: course}
    assert grade(user, None, course, by_id)[0] == 3
    done = InteractionMetadata(
        user_id=user.user_id,
        completed_course_ids=[course.course_id],
        retention_rate=0.9,
        active_days_per_week=3,
        preferred_time_of_day="morning",
        avg_session_minutes=30,
        days_since_last_activity=1,
    )
    assert grade(user, done, course, by_id)[:1] == (0,)
    injured = user.model_copy(update={"injuries": list(course.contraindications)})
    if course.contraindications:
        assert grade(injured, None, course, by_id)[0] == 0
    if user.experience_level.value == "beginner" and course.level.value == "beginner":
        harder = course.model_copy(update={"level": "advanced"})
        assert grade(user, None, harder, by_id)[0] == 0


def test_teacher_without_courses_is_empty():
    user = UserProfile(
        user_id="u",
        age=30,
        height_cm=170,
        weight_kg=70,
        goals=["strength"],
        experience_level="beginner",
        preferred_activities=["gym"],
        sessions_per_week=2,
        session_minutes=30,
    )
    assert RuleTeacher().rank(user, None, []).ranked == []
