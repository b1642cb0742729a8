"""The rule-based teacher: the offline stand-in for the reasoning-model ranker.

Rules, in order (the first two are safety rules and always win):

1. A course whose contraindications include one of the user's injuries is never relevant (0).
2. A course needing equipment the user does not have is never relevant (0). A full gym
   counts as having barbells, dumbbells, kettlebells, bands, a pull-up bar and a mat.
3. A course two levels above the user is unsafe (0); one level above is at most a stretch (1).
4. A course the user already completed or dropped is not recommended again (0).
5. A sport the user did not list is at most 1: we don't push people into sports they avoid.
6. Otherwise points decide: sport liked (+2), goal overlap (up to +2.5, main goal +0.5),
   level fit (+1 exact, -1 far too easy), time budget (session length and sessions per week
   within what the user offers, up to +1), history (sport completed before +0.5, dropped
   -0.5; low retention prefers short courses). Grades: >=5 -> 3, >=3.5 -> 2, >=2 -> 1.

The graded relevance feeds NDCG; the continuous score feeds margin-MSE distillation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from urtraining.domain import (
    Course,
    Equipment,
    InteractionMetadata,
    RankedCourse,
    Ranking,
    UserProfile,
)
from urtraining.synth.base import Teacher

TEACHER_NAME = "rules-v1"

#: what a full gym provides besides machines
FULL_GYM_PROVIDES = frozenset(
    {
        Equipment.barbell,
        Equipment.dumbbells,
        Equipment.kettlebells,
        Equipment.resistance_bands,
        Equipment.pull_up_bar,
        Equipment.mat,
    }
)


def effective_equipment(owned: Iterable[Equipment]) -> set[Equipment]:
    """What a user can train with: what they own, what a full gym implies, and nothing."""
    eq = set(owned) | {Equipment.none}
    if Equipment.full_gym in eq:
        eq |= FULL_GYM_PROVIDES
    return eq


def missing_equipment(user: UserProfile, course: Course) -> list[Equipment]:
    have = effective_equipment(user.equipment)
    return [e for e in course.equipment if e not in have]


def is_safe(user: UserProfile, course: Course) -> bool:
    """Rules 1 and 2: the safety filters that the index applies too."""
    return not (set(user.injuries) & set(course.contraindications)) and not missing_equipment(
        user, course
    )


def grade(
    user: UserProfile, metadata: InteractionMetadata | None, course: Course, by_id: dict
) -> tuple[int, float, str]:
    """(relevance 0..3, score, rationale) of ``course`` for ``user``."""
    hurt = sorted(set(user.injuries) & set(course.contraindications))
    if hurt:
        return 0, -10.0, f"contraindicated for the user's {', '.join(a.value for a in hurt)}"
    lacking = missing_equipment(user, course)
    if lacking:
        return 0, -9.0, f"needs {', '.join(e.value for e in lacking)}, which the user lacks"
    gap = course.level.rank - user.experience_level.rank
    if gap >= 2:
        return 0, -8.0, "far above the user's level"
    if metadata and course.course_id in metadata.completed_course_ids:
        return 0, -7.0, "already completed"
    if metadata and course.course_id in metadata.dropped_course_ids:
        return 0, -7.0, "dropped before"

    score, why = 0.0, []
    liked = course.sport in user.preferred_activities
    if liked:
        score += 2.0
        why.append(f"likes {course.sport.value}")
    shared = [g for g in user.goals if g in course.goals]
    if shared:
        score += 2.0 * len(shared) / len(user.goals)
        why.append(f"serves {', '.join(g.value for g in shared)}")
    if user.goals[0] in course.goals:
        score += 0.5
    if gap == 0:
        score += 1.0
        why.append("right level")
    elif gap <= -2:
        score -= 1.0
        why.append("too easy")
    if course.session_minutes <= user.session_minutes * 1.15:
        score += 0.5
    elif course.session_minutes > user.session_minutes * 1.5:
        score -= 1.0
        why.append("sessions too long")
    if course.sessions_per_week <= user.sessions_per_week:
        score += 0.5
    else:
        score -= 0.5 * (course.sessions_per_week - user.sessions_per_week)
    if metadata:
        done_sports = {by_id[c].sport for c in metadata.completed_course_ids if c in by_id}
        dropped_sports = {by_id[c].sport for c in metadata.dropped_course_ids if c in by_id}
        if course.sport in done_sports:
            score += 0.5
            why.append("completed this sport before")
        if course.sport in dropped_sports:
            score -= 0.5
        if metadata.retention_rate < 0.4 and course.duration_weeks > 8:
            score -= 0.5
            why.append("long for a low-retention user")

    relevance = 3 if score >= 5.0 else 2 if score >= 3.5 else 1 if score >= 2.0 else 0
    if gap == 1:
        relevance = min(relevance, 1)
        why.append("one level above")
    if not liked:
        relevance = min(relevance, 1)
        why.append(f"{course.sport.value} not among the user's activities")
    return relevance, round(score, 3), "; ".join(why) or "weak match"


class RuleTeacher(Teacher):
    name = TEACHER_NAME

    def rank(
        self,
        user: UserProfile,
        metadata: InteractionMetadata | None,
        courses: Sequence[Course],
    ) -> Ranking:
        by_id = {c.course_id: c for c in courses}
        return self._rank(user, metadata, courses, by_id)

    def rank_many(self, users, metadata, courses) -> list[Ranking]:
        by_id = {c.course_id: c for c in courses}
        return [self._rank(u, metadata.get(u.user_id), courses, by_id) for u in users]

    def _rank(self, user, metadata, courses, by_id) -> Ranking:
        graded = []
        for c in courses:
            rel, score, why = grade(user, metadata, c, by_id)
            graded.append(
                RankedCourse(course_id=c.course_id, relevance=rel, score=score, rationale=why)
            )
        graded.sort(key=lambda r: (-r.relevance, -r.score, r.course_id))
        return Ranking(user_id=user.user_id, teacher=TEACHER_NAME, ranked=graded)
