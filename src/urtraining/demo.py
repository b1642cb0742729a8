"""``make demo``: the whole pipeline on the embedded defaults, then what it can do."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from urtraining.config import RunConfig

console = Console()

#: one profile per situation worth showing: cold start, an injury, a sport filter
EXAMPLES = (
    (
        "a new user with a knee injury who swims",
        {
            "user_id": "demo-1",
            "age": 52,
            "sex": "female",
            "height_cm": 166,
            "weight_kg": 74,
            "goals": ["rehabilitation", "general_fitness"],
            "experience_level": "beginner",
            "preferred_activities": ["swimming", "walking"],
            "equipment": ["pool"],
            "sessions_per_week": 3,
            "session_minutes": 45,
            "injuries": ["knee"],
            "notes": "Knee surgery last year, cleared for low impact.",
        },
        None,
    ),
    (
        "an advanced lifter (gym courses only)",
        {
            "user_id": "demo-2",
            "age": 29,
            "sex": "male",
            "height_cm": 182,
            "weight_kg": 86,
            "goals": ["strength", "build_muscle"],
            "experience_level": "advanced",
            "preferred_activities": ["gym"],
            "equipment": ["full_gym"],
            "sessions_per_week": 5,
            "session_minutes": 75,
            "injuries": [],
            "notes": "",
        },
        "gym",
    ),
)


def run_demo(out: Path, cfg: RunConfig) -> None:
    from urtraining.cli import _print_metrics
    from urtraining.domain import CourseType, UserProfile
    from urtraining.recommend import Recommender
    from urtraining.runner import run_pipeline

    run_pipeline(cfg, out)
    _print_metrics(out)

    rec = Recommender.from_run(out)
    try:
        for label, profile, course_type in EXAMPLES:
            rows = rec.recommend(
                [UserProfile.model_validate(profile)],
                k=5,
                course_type=CourseType(course_type) if course_type else None,
            )[0]
            console.rule(f"Recommendations for {label}")
            for r in rows:
                console.print(f"  {r.score:.3f}  [{r.type.value}/{r.level.value}] {r.title}")
    finally:
        rec.close()

    try:
        from urtraining.tracker.cli import demo as tracker_demo
    except ImportError:  # the tracker is optional in a minimal install
        return
    console.rule("Image-to-tracker on a rendered sample program")
    console.print(tracker_demo(out / "tracker-demo"))
