"""The procedural generator: deterministic, complete, consistent."""

from __future__ import annotations

from urtraining.domain import Activity, Level
from urtraining.synth.catalogue import gym_exercises
from urtraining.synth.diversity import diversity_report
from urtraining.synth.procedural import ProceduralGenerator
from urtraining.synth.rules import is_safe


def test_same_seed_same_data_other_seed_other_data():
    g = ProceduralGenerator()
    a, b, c = g.courses(30, 1), g.courses(30, 1), g.courses(30, 2)
    assert [x.model_dump() for x in a] == [x.model_dump() for x in b]
    assert [x.model_dump() for x in a] != [x.model_dump() for x in c]
    ua = g.users(20, 1, a)
    assert [u.model_dump() for u, _ in ua] == [u.model_dump() for u, _ in g.users(20, 1, a)]


def test_every_activity_and_course_type_is_covered(smoke_data):
    courses = smoke_data[2]
    assert {c.sport for c in courses} == set(Activity)
    assert {c.type.value for c in courses} == {"gym", "swimming", "other"}


def test_gym_programs_come_from_the_real_catalogue(smoke_data):
    names = {e.name for e in gym_exercises()}
    gym = [c for c in smoke_data[2] if c.sport is Activity.gym]
    assert gym
    for c in gym:
        assert all(e.name in names for d in c.program for e in d.exercises)
        assert len(c.program) == c.sessions_per_week


def test_programs_fit_their_level(smoke_data):
    for c in smoke_data[2]:
        per_day = max(len(d.exercises) for d in c.program)
        assert per_day <= {Level.beginner: 4, Level.intermediate: 5, Level.advanced: 6}[c.level]
        for d in c.program:
            for e in d.exercises:
                if c.sport is Activity.swimming and e.distance_m:
                    assert (
                        e.distance_m
                        == {"beginner": 25, "intermediate": 50, "advanced": 100}[c.level.value]
                    )
        assert (
            c.coach.intensity
            <= {Level.beginner: 2, Level.intermediate: 4, Level.advanced: 5}[c.level]
        )


def test_metadata_is_consistent_with_profile(smoke_data):
    users, metadata, courses, _ = smoke_data
    by_id = {c.course_id: c for c in courses}
    users_by_id = {u.user_id: u for u in users}
    assert 0 < len(metadata) < len(users)  # some users are brand new (cold start)
    for uid, m in metadata.items():
        user = users_by_id[uid]
        assert set(m.completed_course_ids).isdisjoint(m.dropped_course_ids)
        assert len(m.completed_course_ids) <= {0: 2, 1: 4, 2: 8}[user.experience_level.rank]
        for cid in m.completed_course_ids:
            done = by_id[cid]
            assert done.level.rank <= user.experience_level.rank
            assert is_safe(user, done)
        assert m.active_days_per_week <= 7


def test_plausible_bodies(smoke_data):
    for u in smoke_data[0]:
        assert 15 <= u.bmi <= 45, u


def test_diversity_report_covers_fields_and_duplicates(smoke_data):
    users, _, courses, _ = smoke_data
    report = diversity_report(users, courses)
    assert sum(report["users"]["experience_level"].values()) == len(users)
    assert set(report["courses"]["sport"]) == {a.value for a in Activity}
    for side in ("users", "courses"):
        text = report[side]["text"]
        assert 0 <= text["near_duplicate_share"] <= 1
    assert report["courses"]["text"]["exact_duplicate_share"] == 0
    doubled = diversity_report(users[:5] + users[:5], courses[:3])
    assert doubled["users"]["text"]["exact_duplicate_share"] == 0.5
