"""The LLM layer's pure parts: schemas from the contracts, answer parsing and judging,
roster mixing, the resume cache, near-duplicates, agreement metrics, accounting."""

from __future__ import annotations

import collections
import json

import pytest

from urtraining.config import LLMEndpoint, LLMRunOptions
from urtraining.domain import Course, RankedCourse, Ranking, UserProfile
from urtraining.synth.llm.accounting import Accounting, format_accounting
from urtraining.synth.llm.agreement import agreement, kendall_tau, ndcg_at_k
from urtraining.synth.llm.cache import ResultCache
from urtraining.synth.llm.dedup import near_duplicates
from urtraining.synth.llm.roster import pick, roster_for
from urtraining.synth.llm.runner import make_items
from urtraining.synth.llm.schemas import describe, schema_for
from urtraining.synth.llm.tasks import TASKS, extract_json

OPTS = {"max_attempts": 3, "max_program_days": 2, "max_exercises_per_day": 3, "max_text_chars": 120}


def test_schema_derives_from_the_contract_and_pins_attributes():
    s = schema_for(UserProfile, drop=("user_id", "provenance"), pin={"age": 41})
    assert "user_id" not in s["properties"] and "provenance" not in s["properties"]
    assert s["properties"]["age"] == {"const": 41}
    assert s["properties"]["goals"]["maxItems"] == 3  # the contract's own bound is kept
    assert s["properties"]["injuries"]["maxItems"] == 4  # open lists get one
    assert s["properties"]["notes"]["maxLength"] == 240
    assert s["additionalProperties"] is False and set(s["required"]) == set(s["properties"])
    text = describe(s)
    assert "- age: exactly 41" in text and "height_cm: number 120..230" in text


def test_course_schema_carries_level_limits(procedural_world):
    courses, _ = procedural_world
    c = courses[0]
    spec = {"course_id": c.course_id, "skeleton": c.model_dump(mode="json"), "theme": "t"}
    s = TASKS["courses"].schema(spec, OPTS)
    ex = s["properties"]["program"]["items"]["properties"]["exercises"]
    assert ex["maxItems"] == 3
    assert s["properties"]["program"]["items"]["properties"]["title"]["type"] == "string"
    assert s["properties"]["sport"] == {"const": c.sport.value}


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ('{"a": 1}', True),
        ('<think>hmm, {"no": 1}</think>\n{"a": 1}', True),
        ('```json\n{"a": 1}\n```', True),
        ('<think>still thinking about {"a"', False),
        ('{"a": 1', False),
        ("no json here", False),
    ],
)
def test_extract_json(text, ok):
    value, problem = extract_json(text)
    assert (value == {"a": 1}) if ok else (value is None and problem)


@pytest.fixture(scope="module")
def procedural_world():
    from urtraining.synth.procedural import ProceduralGenerator

    gen = ProceduralGenerator()
    courses = gen.courses(12, seed=5)
    return courses, gen.users(6, seed=5, courses=courses)


def _ranking_spec(courses: list[Course]) -> dict:
    return {
        "user_id": "u1",
        "user_summary": "x",
        "candidates": [{"course_id": c.course_id, "summary": c.title} for c in courses],
        "unsafe": {courses[0].course_id: "contraindicated for knee"},
    }


def test_ranking_judge_names_every_problem(procedural_world):
    courses = procedural_world[0][:3]
    spec = _ranking_spec(courses)
    a, b, c = (x.course_id for x in courses)
    task = TASKS["ranking"]
    good = {
        "grades": {
            a: {"relevance": 0, "rationale": "knee"},
            b: {"relevance": 3, "rationale": "fits"},
            c: {"relevance": 1, "rationale": "meh"},
        }
    }
    rec, problems = task.judge(good, spec, {})
    assert problems == [] and rec["grades"][b]["relevance"] == 3
    bad = {"grades": {a: {"relevance": 3, "rationale": ""}, "zzz": {"relevance": 1}}}
    rec, problems = task.judge(bad, spec, {})
    text = " | ".join(problems)
    assert rec is None
    assert f"grades missing for: {b}, {c}" in text
    assert "unknown courses: zzz" in text
    assert f"{a} is unsafe for this user" in text


def test_user_judge_rejects_unpinned_values_and_bad_bmi(procedural_world):
    user, _ = procedural_world[1][0]
    sk = user.model_dump(mode="json")
    spec = {"user_id": "u-x", "skeleton": sk, "cold_start": True, "courses": []}
    answer = {"profile": {k: v for k, v in sk.items() if k not in ("user_id", "provenance")}}
    rec, problems = TASKS["users"].judge(answer, spec, {"backend": "local", "model": "m"})
    assert problems == [] and rec["user"]["user_id"] == "u-x"
    answer["profile"].update(age=sk["age"] + 1, height_cm=229.0, weight_kg=36.0)
    rec, problems = TASKS["users"].judge(answer, spec, {"backend": "local", "model": "m"})
    assert rec is None
    assert any("BMI" in p for p in problems) and any("profile.age must be" in p for p in problems)


def test_roster_mix_is_weighted_and_stable():
    roster = [
        LLMEndpoint(backend="openai", model=m, weight=w)
        for m, w in (("deepseek", 4), ("gemma", 3), ("llama", 3))
    ]
    counts = collections.Counter(pick(roster, "users", 7, i).model for i in range(3000))
    assert abs(counts["deepseek"] / 3000 - 0.4) < 0.04
    assert abs(counts["gemma"] / 3000 - 0.3) < 0.04
    assert [pick(roster, "users", 7, i).model for i in range(50)] == [
        pick(roster, "users", 7, i).model for i in range(50)
    ]
    opts = LLMRunOptions(task_rosters={"ranking": roster[:1]})
    assert roster_for("ranking", roster, opts, "openai") == roster[:1]
    assert roster_for("users", [], opts, "local")[0].model == "SmolLM2-135M-Instruct"
    with pytest.raises(ValueError, match="needs a model"):
        roster_for("users", [], opts, "openai")


def test_item_keys_depend_on_model_seed_and_prompt(procedural_world):
    specs = [{"x": 1}, {"x": 2}]
    a = make_items("coaches", specs, [LLMEndpoint()], 1, LLMRunOptions())
    b = make_items("coaches", specs, [LLMEndpoint()], 1, LLMRunOptions())
    c = make_items("coaches", specs, [LLMEndpoint(model="other")], 1, LLMRunOptions())
    d = make_items("coaches", specs, [LLMEndpoint()], 2, LLMRunOptions())
    assert [i["key"] for i in a] == [i["key"] for i in b]
    assert len({i["key"] for i in a + c + d}) == 6


def test_cache_survives_a_torn_last_line(tmp_path):
    cache = ResultCache(tmp_path, "users")
    cache.put({"key": "k1", "task": "users", "status": "ok"})
    with open(tmp_path / "llm-users.jsonl", "a") as fh:
        fh.write('{"key": "k2", "task": "us')  # the kill happened mid-write
    again = ResultCache(tmp_path, "users")
    assert "k1" in again and "k2" not in again
    again.put({"key": "k2", "task": "users", "status": "ok"})
    again.put({"key": "k1", "task": "users", "status": "ok"})  # no duplicate
    third = ResultCache(tmp_path, "users")
    assert len(third) == 2
    lines = (tmp_path / "llm-users.jsonl").read_text().splitlines()
    assert sorted(json.loads(x)["key"] for x in lines if x.endswith("}")) == ["k1", "k2"]


def test_near_duplicates():
    texts = [
        "I work night shifts as a nurse and want short sessions to build stamina",
        "I work night shifts as a nurse and want short sessions to build stamina!",
        "Retired engineer, bad knee, I like swimming slowly in the mornings",
        "too short",
        "too short",
    ]
    assert near_duplicates(texts, 0.8) == {1}


def test_agreement_metrics():
    assert kendall_tau([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert kendall_tau([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert ndcg_at_k(["a", "b"], {"a": 3, "b": 0}, 10) == pytest.approx(1.0)
    assert ndcg_at_k(["b", "a"], {"a": 3, "b": 0}, 10) < 1.0

    def r(scores):
        return Ranking(
            user_id="u",
            teacher="t",
            ranked=[
                RankedCourse(course_id=c, relevance=int(s), score=s) for c, s in scores.items()
            ],
        )

    same = agreement([r({"a": 3, "b": 1})], {"u": r({"a": 3, "b": 1})})
    assert same == {"users": 1, "kendall_tau": 1.0, "ndcg@10": 1.0}


def test_accounting_summary_and_budget():
    acc = Accounting(max_tokens_budget=100)
    res = {
        "task": "users",
        "model": "m",
        "backend": "local",
        "attempts": 2,
        "tokens_in": 50,
        "tokens_out": 60,
        "transport_retries": 1,
        "backend_failures": 0,
        "truncated": 0,
        "llm_s": 2.0,
        "overhead_s": 0.01,
        "status": "dropped",
        "errors": ["BMI 9"],
    }
    acc.add_result(res)
    acc.add_result({**res, "status": "ok"}, cached=True)
    acc.task("users").wall_s = 4.0
    s = acc.summary()["tasks"]["users"]["models"]["m"]
    assert (s["requests"], s["retries"], s["records_dropped"], s["records_cached"]) == (2, 1, 1, 1)
    assert s["overhead_ratio"] == pytest.approx(0.005)
    assert not acc.budget_left()
    table = format_accounting(acc.summary())
    assert "users" in table and "budget 100" in table
    json.dumps(acc.summary())
