"""Text rendering, splits by user, and training examples with hard negatives.

Everything the teacher looks at must be visible in the text the encoder sees, or the student
cannot learn it: level, sports, goals, equipment, injuries vs contraindications, time budget,
the sports of past courses.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel

from urtraining.config import DatasetConfig
from urtraining.domain import Activity, Course, InteractionMetadata, Ranking, UserProfile
from urtraining.io import write_json, write_jsonl

MAX_EXERCISES_IN_TEXT = 6


def _words(items) -> str:
    return ", ".join(str(getattr(i, "value", i)).replace("_", " ") for i in items) or "none"


def render_user(
    user: UserProfile,
    metadata: InteractionMetadata | None = None,
    sports_by_id: Mapping[str, Activity] | None = None,
) -> str:
    """``sports_by_id`` names the sport of past courses (ids alone mean nothing to a model)."""
    parts = [
        f"{user.experience_level.value} level",
        f"{user.sex or 'unspecified'}, {user.age} years, BMI {user.bmi:.0f}",
        f"goals: {_words(user.goals)}",
        f"likes: {_words(user.preferred_activities)}",
        f"equipment: {_words(user.equipment)}",
        f"injuries: {_words(user.injuries)}",
        f"{user.sessions_per_week} sessions a week, {user.session_minutes} minutes",
    ]
    if metadata is not None:
        sport = sports_by_id or {}
        done = [sport[c] for c in metadata.completed_course_ids if c in sport]
        dropped = [sport[c] for c in metadata.dropped_course_ids if c in sport]
        parts.append(
            f"history: completed {len(metadata.completed_course_ids)} ({_words(sorted(set(done)))})"
            f", dropped {len(metadata.dropped_course_ids)} ({_words(sorted(set(dropped)))})"
            f", retention {metadata.retention_rate:.1f}"
        )
    else:
        parts.append("new user")
    if user.notes:
        parts.append(f"notes: {user.notes}")
    return ". ".join(parts)


def render_course(course: Course) -> str:
    exercises = [e.name for day in course.program for e in day.exercises]
    unique = list(dict.fromkeys(exercises))[:MAX_EXERCISES_IN_TEXT]
    parts = [
        f"{course.sport.value.replace('_', ' ')} course, {course.level.value} level",
        f"goals: {_words(course.goals)}",
        f"equipment: {_words(course.equipment)}",
        f"not for injuries: {_words(course.contraindications)}",
        f"{course.duration_weeks} weeks, {course.sessions_per_week} sessions a week, "
        f"{course.session_minutes} minutes",
        course.title,
        f"exercises: {', '.join(unique)}",
        f"coach: {course.coach.specialization}, intensity {course.coach.intensity}/5",
    ]
    return ". ".join(parts)


class Splits(BaseModel):
    train_users: list[str]
    val_users: list[str]
    test_users: list[str]
    #: courses never seen in training: the cold-start evaluation ranks them
    cold_courses: list[str]


def make_splits(user_ids: Sequence[str], course_ids: Sequence[str], cfg: DatasetConfig) -> Splits:
    rng = random.Random(cfg.seed)
    users = sorted(user_ids)
    rng.shuffle(users)
    n_test = max(1, round(len(users) * cfg.test_fraction))
    n_val = round(len(users) * cfg.val_fraction)
    courses = sorted(course_ids)
    rng.shuffle(courses)
    n_cold = round(len(courses) * cfg.cold_course_fraction)
    return Splits(
        test_users=sorted(users[:n_test]),
        val_users=sorted(users[n_test : n_test + n_val]),
        train_users=sorted(users[n_test + n_val :]),
        cold_courses=sorted(courses[:n_cold]),
    )


class Example(BaseModel):
    """One training row: a user, a course the teacher liked, and one it rejected."""

    user_id: str
    course_id: str
    neg_course_id: str | None
    anchor: str
    positive: str
    negative: str | None
    pos_score: float
    neg_score: float | None
    relevance: int


def build_examples(
    users: Sequence[UserProfile],
    metadata: dict[str, InteractionMetadata],
    courses: Sequence[Course],
    rankings: dict[str, Ranking],
    allowed_courses: set[str],
    cfg: DatasetConfig,
) -> list[Example]:
    """Positives are the teacher's best courses; hard negatives the rejected ones that look
    closest: same sport first (they share words with the positive, so the model must learn
    the safety and level rules rather than the sport name)."""
    rng = random.Random(cfg.seed + 1)
    by_id = {c.course_id: c for c in courses}
    sports = {c.course_id: c.sport for c in courses}
    texts = {c.course_id: render_course(c) for c in courses}
    out: list[Example] = []
    for user in users:
        ranking = rankings.get(user.user_id)
        if ranking is None:
            continue
        ranked = [r for r in ranking.ranked if r.course_id in allowed_courses]
        positives = [r for r in ranked if r.relevance >= cfg.positive_min_relevance]
        positives = positives[: cfg.max_positives_per_user]
        rejected = [r for r in ranked if r.relevance == 0]
        if not positives:
            continue
        anchor = render_user(user, metadata.get(user.user_id), sports)
        for pos in positives:
            sport = by_id[pos.course_id].sport
            same = [r for r in rejected if by_id[r.course_id].sport == sport]
            pool = same if len(same) >= cfg.hard_negatives else rejected
            negs = rng.sample(pool, k=min(cfg.hard_negatives, len(pool))) if pool else []
            for neg in negs or [None]:
                out.append(
                    Example(
                        user_id=user.user_id,
                        course_id=pos.course_id,
                        neg_course_id=neg.course_id if neg else None,
                        anchor=anchor,
                        positive=texts[pos.course_id],
                        negative=texts[neg.course_id] if neg else None,
                        pos_score=pos.score,
                        neg_score=neg.score if neg else None,
                        relevance=pos.relevance,
                    )
                )
    rng.shuffle(out)
    return out


def assemble(
    users: Sequence[UserProfile],
    metadata: dict[str, InteractionMetadata],
    courses: Sequence[Course],
    rankings: Sequence[Ranking],
    cfg: DatasetConfig,
    out_dir: Path,
) -> dict:
    """Write ``splits.json``, ``train.jsonl`` and ``val.jsonl`` into ``out_dir``."""
    splits = make_splits([u.user_id for u in users], [c.course_id for c in courses], cfg)
    by_user = {r.user_id: r for r in rankings}
    warm = {c.course_id for c in courses} - set(splits.cold_courses)
    stats = {}
    for split in ("train", "val"):
        ids = set(getattr(splits, f"{split}_users"))
        rows = build_examples(
            [u for u in users if u.user_id in ids], metadata, courses, by_user, warm, cfg
        )
        stats[split] = write_jsonl(out_dir / f"{split}.jsonl", rows)
    write_json(out_dir / "splits.json", splits.model_dump())
    return {
        "examples": stats,
        "users": {k: len(getattr(splits, f"{k}_users")) for k in ("train", "val", "test")},
        "cold_courses": len(splits.cold_courses),
    }
