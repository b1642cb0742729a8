"""The LLM tasks: what to ask (messages + schema) and how to judge the answer.

A task sees one work item's ``spec`` (plain JSON, so it can travel to a Ray worker) and
turns the model's parsed JSON into contract records plus a list of problems. Problems come
from pydantic validation and from ``urtraining.synth.consistency``; a record with problems
is retried with them fed back, then dropped. Nothing here repairs an answer.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from typing import Any

from pydantic import ValidationError

from urtraining.domain import (
    CoachForm,
    Course,
    InteractionMetadata,
    Level,
    Provenance,
    UserProfile,
)
from urtraining.synth import consistency
from urtraining.synth.llm.prompts import PROMPT_VERSIONS, SYSTEM, SYSTEM_REASONING
from urtraining.synth.llm.schemas import describe, object_schema, schema_for
from urtraining.synth.rules import is_safe

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


def extract_json(text: str) -> tuple[Any | None, str | None]:
    """(value, None) or (None, problem). Accepts a ``<think>`` block and code fences around
    the JSON; an unterminated think block or JSON is a truncated answer."""
    body = _THINK.sub("", text).strip()
    if "<think>" in body:
        return None, "the answer stopped inside <think>; think briefly, then write the JSON"
    body = _FENCE.sub("", body).strip()
    start = body.find("{")
    if start < 0:
        return None, "no JSON object in the answer"
    try:
        value, _ = json.JSONDecoder().raw_decode(body[start:])
    except json.JSONDecodeError as exc:
        return None, f"malformed JSON: {exc.msg} at character {exc.pos}"
    return value, None


def validation_problems(exc: ValidationError, prefix: str = "") -> list[str]:
    out = []
    for err in exc.errors()[:8]:
        loc = ".".join(str(p) for p in err["loc"]) or "(object)"
        out.append(f"{prefix}{loc}: {err['msg']}")
    return out


class Task(ABC):
    name: str

    @property
    def prompt_version(self) -> str:
        return PROMPT_VERSIONS[self.name]

    @abstractmethod
    def schema(self, spec: dict, opts: dict) -> dict: ...

    @abstractmethod
    def instructions(self, spec: dict) -> str: ...

    @abstractmethod
    def judge(self, data: Any, spec: dict, provenance: dict) -> tuple[dict | None, list[str]]:
        """(record as JSON, []) when valid, else (None, problems)."""

    def messages(self, spec: dict, opts: dict, reasoning: bool = False) -> list[dict]:
        fields = describe(self.schema(spec, opts))
        return [
            {"role": "system", "content": SYSTEM_REASONING if reasoning else SYSTEM},
            {"role": "user", "content": f"{self.instructions(spec)}\n\nFields:\n{fields}"},
        ]


class UsersTask(Task):
    """A registration form (+ interaction history unless the user is new) for one persona."""

    name = "users"
    PINNED = ("age", "sex", "goals", "experience_level", "preferred_activities",
              "sessions_per_week", "session_minutes")  # fmt: skip

    def schema(self, spec: dict, opts: dict) -> dict:
        sk = spec["skeleton"]
        h, w = sk["height_cm"], sk["weight_kg"]
        profile = schema_for(
            UserProfile,
            drop=("user_id", "provenance"),
            pin={k: sk[k] for k in self.PINNED},
            overrides={
                # sampled body size +-5%: the model fills the detail, we keep the distribution
                "height_cm": {"minimum": round(h * 0.95, 1), "maximum": round(h * 1.05, 1)},
                "weight_kg": {"minimum": round(w * 0.95, 1), "maximum": round(w * 1.05, 1)},
                # the free text is the point of asking an LLM: small models skip it otherwise
                "notes": {"minLength": 20},
            },
            max_chars=opts["max_text_chars"],
        )
        if spec.get("cold_start"):
            return object_schema({"profile": profile})
        ids = [c["course_id"] for c in spec["courses"]]
        id_list = {"type": "array", "items": {"enum": ids}, "maxItems": min(3, len(ids))}
        if not ids:
            id_list = {"type": "array", "maxItems": 0}
        metadata = schema_for(
            InteractionMetadata,
            drop=("user_id", "provenance"),
            overrides={
                "completed_course_ids": id_list,
                "dropped_course_ids": id_list,
                # the consistency limits, so constrained backends cannot cross them
                "active_days_per_week": {"maximum": sk["sessions_per_week"] + 1},
                "avg_session_minutes": {"maximum": 2 * sk["session_minutes"] + 15},
                "days_since_last_activity": {"maximum": 365},
            },
            max_chars=opts["max_text_chars"],
        )
        return object_schema({"profile": profile, "metadata": metadata})

    def instructions(self, spec: dict) -> str:
        sk = spec["skeleton"]
        text = (
            f"Write the sign-up form of a fitness-app user: {spec['persona']}. "
            f"Age {sk['age']}, about {sk['height_cm']:g} cm and {sk['weight_kg']:g} kg, "
            f"level {sk['experience_level']}, goals {', '.join(sk['goals'])}, likes "
            f"{', '.join(sk['preferred_activities'])}. In notes, write one or two sentences "
            "in the user's own words about their situation."
        )
        if spec.get("cold_start"):
            return text
        courses = "; ".join(
            f"{c['course_id']} ({c['sport']}, {c['level']})" for c in spec["courses"]
        )
        return (
            f"{text} Also write their app history in metadata: courses they completed or "
            f"dropped, chosen from: {courses}. Keep it consistent with the profile "
            "(active days and minutes close to what they signed up for)."
        )

    def judge(self, data, spec, provenance):
        if not isinstance(data, dict) or "profile" not in data:
            return None, ["the answer must be an object with a 'profile' field"]
        prov = Provenance(**provenance)
        try:
            user = UserProfile(
                **{**data["profile"], "user_id": spec["user_id"], "provenance": prov}
            )
        except (ValidationError, TypeError) as exc:
            return None, _problems(exc, "profile.")
        problems = consistency.user_problems(user)
        for k in self.PINNED:  # servers without schema support may ignore the pins
            want = spec["skeleton"][k]
            got = getattr(user, k)
            got = [str(x) for x in got] if isinstance(got, list) else got
            got = got.value if hasattr(got, "value") else got
            if got != want:
                problems.append(f"profile.{k} must be {json.dumps(want)}")
        record: dict = {"user": user.model_dump(mode="json", exclude_none=True)}
        if not spec.get("cold_start"):
            raw = data.get("metadata")
            if not isinstance(raw, dict):
                return None, problems + ["metadata: missing"]
            try:
                meta = InteractionMetadata(
                    **{**raw, "user_id": spec["user_id"], "provenance": prov}
                )
            except (ValidationError, TypeError) as exc:
                return None, problems + _problems(exc, "metadata.")
            known = {c["course_id"]: c for c in spec["courses"]}
            problems += consistency.metadata_problems(user, meta, _CourseLevels(known))
            record["metadata"] = meta.model_dump(mode="json", exclude_none=True)
        return (None, problems) if problems else (record, [])


class _CourseLevels(dict):
    """The course summaries of a spec, looked up as the (id -> course) mapping that
    ``metadata_problems`` expects: it only reads ``.level``."""

    def __init__(self, summaries: dict[str, dict]):
        from types import SimpleNamespace

        from urtraining.domain import Level

        super().__init__(
            {k: SimpleNamespace(level=Level(v["level"])) for k, v in summaries.items()}
        )


class CoursesTask(Task):
    """Title, description and weekly programme of one course skeleton."""

    name = "courses"
    PINNED = ("type", "sport", "level", "goals", "equipment", "contraindications",
              "duration_weeks", "sessions_per_week", "session_minutes")  # fmt: skip

    def schema(self, spec: dict, opts: dict) -> dict:
        sk = spec["skeleton"]
        level = Level(sk["level"])
        days = min(opts["max_program_days"], sk["sessions_per_week"])
        return schema_for(
            Course,
            drop=("course_id", "coach", "provenance"),
            pin={k: sk[k] for k in self.PINNED},
            overrides={
                "title": {"minLength": 8},
                "description": {"minLength": 30},
                "program": {"maxItems": days},
                "program[].day": {"maximum": sk["sessions_per_week"]},
                "program[].exercises": {"maxItems": opts["max_exercises_per_day"]},
                # the level's limit, from the same table the consistency check uses
                "program[].exercises[].sets": {"maximum": consistency.MAX_SETS[level]},
            },
            max_chars=opts["max_text_chars"],
        )

    def instructions(self, spec: dict) -> str:
        sk = spec["skeleton"]
        hints = ", ".join(spec.get("exercise_hints", [])[:8])
        return (
            f"Write a {sk['level']} {sk['sport'].replace('_', ' ')} course for a fitness app, "
            f"theme: {spec['theme']}. Goals: {', '.join(sk['goals'])}; "
            f"{sk['sessions_per_week']} sessions a week of {sk['session_minutes']} minutes for "
            f"{sk['duration_weeks']} weeks. Give it a catchy title, a two-sentence description "
            f"and a weekly program (days numbered from 1). Exercises to draw on: {hints}."
        )

    def judge(self, data, spec, provenance):
        if not isinstance(data, dict):
            return None, ["the answer must be a JSON object"]
        coach = CoachForm(**spec["placeholder_coach"])
        try:
            course = Course(
                **{**data, "course_id": spec["course_id"], "coach": coach,
                   "provenance": Provenance(**provenance)}
            )  # fmt: skip
        except (ValidationError, TypeError) as exc:
            return None, _problems(exc, "")
        problems = [p for p in consistency.course_problems(course) if "coach" not in p]
        for k in self.PINNED:
            got = course.model_dump(mode="json")[k]
            if got != spec["skeleton"][k]:
                problems.append(f"{k} must be {json.dumps(spec['skeleton'][k])}")
        if problems:
            return None, problems
        return course.model_dump(mode="json", exclude_none=True, exclude={"coach"}), []


class CoachesTask(Task):
    """The coach's metadata form of one course."""

    name = "coaches"

    def schema(self, spec: dict, opts: dict) -> dict:
        lo, hi = consistency.INTENSITY_RANGE[Level(spec["level"])]
        return schema_for(
            CoachForm,
            drop=("coach_id", "provenance"),
            overrides={
                "intensity": {"minimum": lo, "maximum": hi},
                "name": {"minLength": 5},
                "specialization": {"minLength": 5},
                "target_audience": {"minLength": 10},
            },
            max_chars=min(opts["max_text_chars"], 160),
            max_items=3,
        )

    def instructions(self, spec: dict) -> str:
        return (
            f"Write the profile form of a {spec['style']} coach who teaches a {spec['level']} "
            f"{spec['sport'].replace('_', ' ')} course (goals: {', '.join(spec['goals'])}). "
            "Give a realistic full name, specialization, years of experience, certifications "
            "and target audience."
        )

    def judge(self, data, spec, provenance):
        if not isinstance(data, dict):
            return None, ["the answer must be a JSON object"]
        try:
            coach = CoachForm(
                **{**data, "coach_id": spec["coach_id"], "provenance": Provenance(**provenance)}
            )
        except (ValidationError, TypeError) as exc:
            return None, _problems(exc, "")
        problems = consistency.coach_problems(coach, Level(spec["level"]))
        if problems:
            return None, problems
        return coach.model_dump(mode="json", exclude_none=True), []


class RankingTask(Task):
    """Graded relevance + rationale for a user's pre-selected candidate courses."""

    name = "ranking"

    def schema(self, spec: dict, opts: dict) -> dict:
        def grade(course_id: str) -> dict:
            relevance = {"type": "integer", "minimum": 0, "maximum": 3}
            if course_id in spec["unsafe"]:
                # the safety rules are not the model's call: an unsafe course is 0
                relevance = {"const": 0}
            chars = min(160, opts["max_text_chars"])
            return object_schema(
                {"relevance": relevance, "rationale": {"type": "string", "maxLength": chars}}
            )

        # an object keyed by course id: the grammar makes the model grade every candidate
        # exactly once, which a free list of ids cannot guarantee
        grades = object_schema({c["course_id"]: grade(c["course_id"]) for c in spec["candidates"]})
        return object_schema({"grades": grades})

    def instructions(self, spec: dict) -> str:
        lines = "\n".join(f"- {c['course_id']}: {c['summary']}" for c in spec["candidates"])
        return (
            f"Grade how well each course suits this user.\nUser: {spec['user_summary']}\n"
            f"Courses:\n{lines}\n"
            "relevance: 3 = ideal, 2 = good, 1 = weak, 0 = unsuitable or unsafe (an injured "
            "body area among the course's contraindications, missing equipment, or a level "
            "far above the user). rationale: one short reason."
        )

    def judge(self, data, spec, provenance):
        grades = data.get("grades") if isinstance(data, dict) else None
        if not isinstance(grades, dict):
            return None, ["the answer must be an object with a 'grades' object"]
        ids = [c["course_id"] for c in spec["candidates"]]
        problems = []
        missing = [i for i in ids if i not in grades]
        unknown = [k for k in grades if k not in ids]
        if missing:
            problems.append(f"grades missing for: {', '.join(missing)}")
        if unknown:
            problems.append(f"grades for unknown courses: {', '.join(unknown)}")
        out = {}
        for cid in ids:
            g = grades.get(cid)
            if g is None:
                continue
            rel = g.get("relevance") if isinstance(g, dict) else None
            if not isinstance(rel, int) or not 0 <= rel <= 3:
                problems.append(f"grades.{cid}.relevance must be an integer 0..3")
                continue
            unsafe = spec["unsafe"].get(cid)
            if unsafe and rel >= 2:
                problems.append(f"{cid} is unsafe for this user ({unsafe}): relevance must be 0")
            out[cid] = {"relevance": rel, "rationale": str(g.get("rationale", ""))[:300]}
        if problems:
            return None, problems
        return {"grades": out}, []


def _problems(exc: Exception, prefix: str) -> list[str]:
    if isinstance(exc, ValidationError):
        return validation_problems(exc, prefix)
    return [f"{prefix}{exc}"]


TASKS: dict[str, Task] = {t.name: t for t in (UsersTask(), CoursesTask(), CoachesTask(),
                                               RankingTask())}  # fmt: skip


def unsafe_reason(user: UserProfile, course: Course) -> str | None:
    if is_safe(user, course):
        return None
    hurt = set(user.injuries) & set(course.contraindications)
    if hurt:
        return "contraindicated for " + ", ".join(sorted(a.value for a in hurt))
    return "needs equipment the user lacks"
