"""Consistency checks that pydantic's field bounds cannot express, shared by every generator.

Each check is a pure function returning a list of problems (plain sentences an LLM can act
on when they are fed back to it); an empty list means consistent. A record with problems is
retried or dropped, never patched. The limits are deliberately loose: they catch the
impossible (a BMI of 9, a beginner programme of 12 sets of an exercise), not the unusual,
and the procedural generator's output passes them all (tests/unit/test_llm_consistency.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from urtraining.domain import (
    Activity,
    CoachForm,
    Course,
    Goal,
    InteractionMetadata,
    Level,
    UserProfile,
)

#: outside this range no adult body exists (records of BMI ~10 and ~80 are medical extremes)
BMI_RANGE = (12.0, 70.0)

#: most sets of one exercise, and of a whole day, that a programme of this level may prescribe
MAX_SETS = {Level.beginner: 5, Level.intermediate: 8, Level.advanced: 12}
MAX_DAY_SETS = {Level.beginner: 24, Level.intermediate: 40, Level.advanced: 64}
#: coach intensity (1..5) a course of this level can sensibly carry
INTENSITY_RANGE = {Level.beginner: (1, 3), Level.intermediate: (2, 5), Level.advanced: (3, 5)}
#: seconds per metre, to estimate how long a distance drill takes
PACE_S_PER_M = {Activity.swimming: 1.5, Activity.cycling: 0.15}
DEFAULT_PACE_S_PER_M = 0.4
SECONDS_PER_REP = 4


def user_problems(user: UserProfile) -> list[str]:
    problems = []
    lo, hi = BMI_RANGE
    if not lo <= user.bmi <= hi:
        problems.append(
            f"impossible body: height_cm={user.height_cm:g} and weight_kg={user.weight_kg:g} "
            f"give a BMI of {user.bmi:.1f}, outside {lo:g}..{hi:g}"
        )
    return problems


def metadata_problems(
    user: UserProfile,
    metadata: InteractionMetadata,
    courses_by_id: Mapping[str, Course] | None = None,
) -> list[str]:
    """Interaction history that contradicts the profile it belongs to."""
    problems = []
    if metadata.user_id != user.user_id:
        problems.append(f"metadata user_id {metadata.user_id!r} is not {user.user_id!r}")
    both = sorted(set(metadata.completed_course_ids) & set(metadata.dropped_course_ids))
    if both:
        problems.append(f"courses both completed and dropped: {', '.join(both)}")
    for field in ("completed_course_ids", "dropped_course_ids"):
        ids = getattr(metadata, field)
        if len(set(ids)) != len(ids):
            problems.append(f"{field} lists a course twice")
        if courses_by_id is not None:
            unknown = [c for c in ids if c not in courses_by_id]
            if unknown:
                problems.append(f"{field} has unknown course ids: {', '.join(unknown)}")
    if metadata.active_days_per_week > user.sessions_per_week + 1:
        problems.append(
            f"active_days_per_week={metadata.active_days_per_week:g} exceeds the "
            f"{user.sessions_per_week} sessions per week the user signed up for"
        )
    if metadata.avg_session_minutes > 2 * user.session_minutes + 15:
        problems.append(
            f"avg_session_minutes={metadata.avg_session_minutes:g} is far above the user's "
            f"session_minutes={user.session_minutes}"
        )
    if (
        metadata.dropped_course_ids
        and not metadata.completed_course_ids
        and metadata.retention_rate > 0.9
    ):
        problems.append("retention_rate above 0.9 for a user who only ever dropped courses")
    if courses_by_id is not None:
        for cid in metadata.completed_course_ids:
            course = courses_by_id.get(cid)
            if course and course.level.rank - user.experience_level.rank >= 2:
                problems.append(
                    f"a {user.experience_level.value} user completed {cid}, "
                    f"an {course.level.value} course"
                )
    return problems


def coach_problems(coach: CoachForm, level: Level) -> list[str]:
    lo, hi = INTENSITY_RANGE[level]
    if not lo <= coach.intensity <= hi:
        return [f"coach intensity {coach.intensity} does not fit a {level.value} course "
                f"(expected {lo}..{hi})"]  # fmt: skip
    return []


def course_problems(course: Course) -> list[str]:
    """A programme that does not fit its level, its schedule or its own numbering."""
    problems = []
    days = [d.day for d in course.program]
    if len(set(days)) != len(days):
        problems.append("program repeats a day number")
    if len(course.program) > course.sessions_per_week:
        problems.append(
            f"program has {len(course.program)} days but the course has only "
            f"{course.sessions_per_week} sessions per week"
        )
    if Goal.rehabilitation in course.goals and course.level is not Level.beginner:
        problems.append("a rehabilitation course must be beginner level")
    max_sets, max_day = MAX_SETS[course.level], MAX_DAY_SETS[course.level]
    # loose on purpose: endurance drills are often listed as options, not done back to back
    budget_s = (4 * course.session_minutes + 120) * 60
    for day in course.program:
        day_sets = 0
        for ex in day.exercises:
            sets = ex.sets or 1
            day_sets += sets
            if sets > max_sets:
                problems.append(
                    f"day {day.day}: {ex.name!r} has {sets} sets, too many for a "
                    f"{course.level.value} course (at most {max_sets})"
                )
        if day_sets > max_day:
            problems.append(
                f"day {day.day}: {day_sets} sets in total, too much for a "
                f"{course.level.value} course (at most {max_day})"
            )
        est = _day_seconds(course.sport, day)
        if est > budget_s:
            problems.append(
                f"day {day.day} takes about {est / 60:.0f} minutes, far beyond the "
                f"{course.session_minutes}-minute sessions"
            )
    problems += coach_problems(course.coach, course.level)
    return problems


def _day_seconds(sport: Activity, day) -> float:
    total = 0.0
    for ex in day.exercises:
        sets = ex.sets or 1
        if ex.duration_s:
            work = ex.duration_s
        elif ex.distance_m:
            work = ex.distance_m * PACE_S_PER_M.get(sport, DEFAULT_PACE_S_PER_M)
        else:
            work = (ex.reps or 10) * SECONDS_PER_REP
        total += sets * work + max(0, sets - 1) * (ex.rest_s or 0)
    return total
