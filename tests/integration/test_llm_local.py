"""The `local` backend for real: SmolLM2-135M on the CPU writes a few courses, users and a
ranking through the whole LLM path (schema-constrained decoding, validation, retries,
Ray Data for the courses, accounting). Tiny on purpose: each record costs seconds."""

from __future__ import annotations

import pytest

from urtraining.config import LLMEndpoint, LLMRunOptions, SynthConfig, TeacherConfig
from urtraining.domain import Course, InteractionMetadata, Ranking, UserProfile
from urtraining.synth import get_generator, get_teacher
from urtraining.synth.consistency import course_problems, user_problems

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

TINY = dict(max_program_days=1, max_exercises_per_day=2, max_text_chars=80, batch_size=2)
EP = LLMEndpoint(max_tokens=320, temperature=0.3)


def test_local_backend_generates_valid_courses_users_and_a_ranking(tmp_path):
    gen = get_generator(
        SynthConfig(backend="local", llm=LLMRunOptions(executor="ray", **TINY)), tmp_path
    )
    courses = gen.courses(2, seed=11)
    assert courses, gen.accounting.summary()
    for c in courses:
        Course.model_validate(c.model_dump())
        assert course_problems(c) == []
        assert c.provenance.model == "SmolLM2-135M-Instruct"
        assert c.provenance.prompt_version == "courses-v1" and c.provenance.seed is not None

    gen.opts = LLMRunOptions(executor="threads", **TINY)
    gen.rosters = {k: [EP] for k in gen.rosters}
    users = gen.users(2, seed=11, courses=courses)
    assert users, gen.accounting.summary()
    for u, m in users:
        UserProfile.model_validate(u.model_dump())
        assert user_problems(u) == [] and u.provenance.backend == "local"
        if m is not None:
            InteractionMetadata.model_validate(m.model_dump())

    summary = gen.accounting.summary()
    stats = summary["tasks"]["courses"]["models"]["SmolLM2-135M-Instruct"]
    assert stats["records_ok"] + stats["records_dropped"] == 2
    assert stats["tokens_out"] > 0 and stats["tokens_out_per_s"] > 0

    teacher = get_teacher(
        TeacherConfig(
            backend="local",
            roster=[EP],
            candidates=2,
            llm=LLMRunOptions(executor="threads", **TINY),
        ),
        tmp_path,
    )
    user, meta = users[0]
    rankings = teacher.rank_many([user], {user.user_id: meta} if meta else {}, courses)
    acc = teacher.accounting.summary()["tasks"]["ranking"]["models"]["SmolLM2-135M-Instruct"]
    assert len(rankings) + acc["records_dropped"] == 1
    if rankings:  # a 135M model may fail all retries; then it must be counted, as above
        r = Ranking.model_validate(rankings[0].model_dump())
        assert {rc.course_id for rc in r.ranked} == {c.course_id for c in courses}
        assert r.teacher == "llm:SmolLM2-135M-Instruct"
        assert teacher.agreement["users"] == 1
