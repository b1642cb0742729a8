"""Exercise catalogues the procedural generator builds programs from.

Gym exercises come from ``urtraining/data/exercises.json``: 873 real exercises from the
public-domain (Unlicense) free-exercise-db project (``dist/exercises.json``), factual fields
only. Swimming and the other sports have no public catalogue here, so they are written below.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from urtraining.domain import Activity, BodyArea, Equipment, Goal, Level

# free-exercise-db equipment -> what a user must own to do the exercise
GYM_EQUIPMENT = {
    "barbell": Equipment.barbell,
    "e-z curl bar": Equipment.barbell,
    "dumbbell": Equipment.dumbbells,
    "kettlebells": Equipment.kettlebells,
    "bands": Equipment.resistance_bands,
    "body only": Equipment.none,
    None: Equipment.none,
    "foam roll": Equipment.mat,
    "exercise ball": Equipment.full_gym,
    "medicine ball": Equipment.full_gym,
    "cable": Equipment.full_gym,
    "machine": Equipment.full_gym,
    "other": Equipment.full_gym,
}
CATALOGUE_LEVEL = {
    "beginner": Level.beginner,
    "intermediate": Level.intermediate,
    "expert": Level.advanced,
}

# Body areas an exercise loads heavily: the course inherits them as contraindications.
_STRESS_BY_MUSCLE = {
    "lower back": BodyArea.lower_back,
    "neck": BodyArea.neck,
    "forearms": BodyArea.wrist,
    "shoulders": BodyArea.shoulder,
}
_STRESS_BY_NAME = {
    "squat": BodyArea.knee,
    "lunge": BodyArea.knee,
    "leg press": BodyArea.knee,
    "jump": BodyArea.knee,
    "step-up": BodyArea.knee,
    "deadlift": BodyArea.lower_back,
    "good morning": BodyArea.lower_back,
    "bent over": BodyArea.lower_back,
    "clean": BodyArea.wrist,
    "snatch": BodyArea.shoulder,
    "overhead": BodyArea.shoulder,
    "military press": BodyArea.shoulder,
    "dip": BodyArea.shoulder,
    "handstand": BodyArea.wrist,
    "hip thrust": BodyArea.hip,
    "calf raise": BodyArea.ankle,
}


@dataclass(frozen=True)
class GymExercise:
    name: str
    category: str
    level: Level
    equipment: Equipment
    muscles: tuple[str, ...]
    stresses: frozenset[BodyArea]


def _stresses(name: str, category: str, muscles: list[str]) -> frozenset[BodyArea]:
    out = {_STRESS_BY_MUSCLE[m] for m in muscles if m in _STRESS_BY_MUSCLE}
    low = name.lower()
    out |= {area for key, area in _STRESS_BY_NAME.items() if key in low}
    if category in ("plyometrics", "olympic weightlifting", "strongman"):
        out |= {BodyArea.knee, BodyArea.ankle}
    if category == "stretching":
        out = set()  # a stretch does not load a joint the way a lift does
    return frozenset(out)


@cache
def gym_exercises() -> tuple[GymExercise, ...]:
    raw = json.loads(resources.files("urtraining.data").joinpath("exercises.json").read_text())
    return tuple(
        GymExercise(
            name=e["name"],
            category=e["category"],
            level=CATALOGUE_LEVEL[e["level"]],
            equipment=GYM_EQUIPMENT.get(e["equipment"], Equipment.full_gym),
            muscles=tuple(e["primaryMuscles"]),
            stresses=_stresses(e["name"], e["category"], e["primaryMuscles"]),
        )
        for e in raw
    )


@dataclass(frozen=True)
class Drill:
    """An exercise of a non-gym sport; ``kind`` says which numbers describe it."""

    name: str
    kind: str  # "distance" (metres per repeat), "duration" (seconds), "reps"
    min_level: Level = Level.beginner
    stresses: frozenset[BodyArea] = frozenset()
    equipment: Equipment = Equipment.none


def _d(name, kind, level=Level.beginner, stresses=(), equipment=Equipment.none) -> Drill:
    return Drill(name, kind, level, frozenset(stresses), equipment)


B, I, A = Level.beginner, Level.intermediate, Level.advanced  # noqa: E741
K, LB, SH, WR, AN, HP, NK = (
    BodyArea.knee,
    BodyArea.lower_back,
    BodyArea.shoulder,
    BodyArea.wrist,
    BodyArea.ankle,
    BodyArea.hip,
    BodyArea.neck,
)

DRILLS: dict[Activity, tuple[Drill, ...]] = {
    Activity.swimming: (
        _d("Freestyle easy", "distance", B, equipment=Equipment.pool),
        _d("Kick with board", "distance", B, equipment=Equipment.pool),
        _d("Backstroke", "distance", B, equipment=Equipment.pool),
        _d("Water walking", "duration", B, equipment=Equipment.pool),
        _d("Aqua jogging", "duration", B, equipment=Equipment.pool),
        _d("Breaststroke", "distance", B, (K,), Equipment.pool),
        _d("Catch-up drill", "distance", I, equipment=Equipment.pool),
        _d("Pull buoy freestyle", "distance", I, (SH,), Equipment.pool),
        _d("Sculling", "distance", I, equipment=Equipment.pool),
        _d("Freestyle threshold", "distance", I, (SH,), Equipment.pool),
        _d("Individual medley", "distance", A, (SH, K), Equipment.pool),
        _d("Butterfly", "distance", A, (SH, LB), Equipment.pool),
        _d("Flip turn practice", "reps", A, (NK,), Equipment.pool),
        _d("Freestyle sprint", "distance", A, (SH,), Equipment.pool),
    ),
    Activity.running: (
        _d("Brisk walk warm-up", "duration", B),
        _d("Walk-run intervals", "duration", B, (K, AN)),
        _d("Easy run", "duration", B, (K, AN)),
        _d("Strides", "distance", I, (K, AN)),
        _d("Tempo run", "duration", I, (K, AN, HP)),
        _d("800 m repeats", "distance", I, (K, AN)),
        _d("Hill repeats", "distance", A, (K, AN, HP)),
        _d("400 m intervals", "distance", A, (K, AN)),
        _d("Long run", "duration", A, (K, AN, HP)),
    ),
    Activity.cycling: (
        _d("Easy spin", "duration", B, equipment=Equipment.bike),
        _d("Cadence drill", "duration", B, equipment=Equipment.bike),
        _d("Endurance ride", "duration", I, (K,), Equipment.bike),
        _d("Sweet-spot intervals", "duration", I, (K,), Equipment.bike),
        _d("Hill climb repeats", "duration", A, (K, LB), Equipment.bike),
        _d("VO2max intervals", "duration", A, (K,), Equipment.bike),
        _d("Standing sprints", "duration", A, (K, LB), Equipment.bike),
    ),
    Activity.yoga: (
        _d("Cat-cow", "reps", B, equipment=Equipment.mat),
        _d("Child's pose", "duration", B, equipment=Equipment.mat),
        _d("Warrior II", "duration", B, equipment=Equipment.mat),
        _d("Supine twist", "duration", B, equipment=Equipment.mat),
        _d("Sun salutation A", "reps", I, (WR,), Equipment.mat),
        _d("Downward dog", "duration", I, (WR, SH), Equipment.mat),
        _d("Pigeon pose", "duration", I, (HP, K), Equipment.mat),
        _d("Crow pose", "duration", A, (WR,), Equipment.mat),
        _d("Headstand", "duration", A, (NK, SH), Equipment.mat),
        _d("Wheel pose", "duration", A, (WR, LB, SH), Equipment.mat),
    ),
    Activity.pilates: (
        _d("Pelvic tilts", "reps", B, equipment=Equipment.mat),
        _d("Dead bug", "reps", B, equipment=Equipment.mat),
        _d("Clamshells", "reps", B, equipment=Equipment.mat),
        _d("Single leg stretch", "reps", B, equipment=Equipment.mat),
        _d("The hundred", "reps", I, (NK,), Equipment.mat),
        _d("Roll-up", "reps", I, (LB, NK), Equipment.mat),
        _d("Side plank", "duration", I, (SH, WR), Equipment.mat),
        _d("Banded side steps", "reps", I, (HP,), Equipment.resistance_bands),
        _d("Teaser", "reps", A, (LB,), Equipment.mat),
        _d("Swan dive", "reps", A, (LB, NK), Equipment.mat),
    ),
    Activity.hiit: (
        _d("Jumping jacks", "duration", B, (AN,)),
        _d("Marching high knees", "duration", B),
        _d("Squat to chair", "reps", B, (K,)),
        _d("Mountain climbers", "duration", I, (WR, SH)),
        _d("Burpees", "reps", I, (K, WR, LB)),
        _d("Jump squats", "reps", I, (K, AN)),
        _d("Kettlebell swings", "reps", I, (LB,), Equipment.kettlebells),
        _d("Tuck jumps", "reps", A, (K, AN)),
        _d("Dumbbell thrusters", "reps", A, (SH, K), Equipment.dumbbells),
        _d("Sprint in place", "duration", A, (K, AN)),
    ),
    Activity.martial_arts: (
        _d("Stance and footwork drill", "duration", B),
        _d("Shadow boxing", "duration", B, (SH,)),
        _d("Jab-cross combinations", "reps", B, (SH, WR)),
        _d("Front kicks", "reps", I, (K, HP)),
        _d("Roundhouse kicks", "reps", I, (K, HP)),
        _d("Sprawls", "reps", I, (K, LB, WR)),
        _d("Heavy bag rounds", "duration", A, (WR, SH)),
        _d("Partner sparring rounds", "duration", A, (NK, K, WR)),
        _d("Breakfalls", "reps", A, (NK, SH, WR), Equipment.mat),
    ),
    Activity.home_workout: (
        _d("Glute bridge", "reps", B, equipment=Equipment.mat),
        _d("Wall push-up", "reps", B),
        _d("Bodyweight squat", "reps", B, (K,)),
        _d("Plank", "duration", B, (WR,), Equipment.mat),
        _d("Band row", "reps", B, equipment=Equipment.resistance_bands),
        _d("Push-up", "reps", I, (WR, SH)),
        _d("Reverse lunge", "reps", I, (K,)),
        _d("Dumbbell goblet squat", "reps", I, (K,), Equipment.dumbbells),
        _d("Dumbbell floor press", "reps", I, (SH,), Equipment.dumbbells),
        _d("Pull-up", "reps", A, (SH,), Equipment.pull_up_bar),
        _d("Pistol squat", "reps", A, (K,)),
        _d("Handstand push-up", "reps", A, (WR, SH, NK)),
    ),
    Activity.walking: (
        _d("Easy walk", "duration", B),
        _d("Brisk walk", "duration", B),
        _d("Walking lunges", "reps", I, (K,)),
        _d("Incline walk", "duration", I, (AN,)),
        _d("Nordic walking", "duration", I),
        _d("Hill hike", "duration", A, (K, AN)),
        _d("Power walk intervals", "duration", A, (HP,)),
    ),
}

#: goals each sport serves (the first is its main one)
SPORT_GOALS: dict[Activity, tuple[Goal, ...]] = {
    Activity.gym: (
        Goal.build_muscle,
        Goal.strength,
        Goal.lose_weight,
        Goal.general_fitness,
        Goal.flexibility,
        Goal.rehabilitation,
    ),
    Activity.swimming: (
        Goal.endurance,
        Goal.general_fitness,
        Goal.lose_weight,
        Goal.rehabilitation,
    ),
    Activity.running: (Goal.endurance, Goal.lose_weight, Goal.general_fitness),
    Activity.cycling: (Goal.endurance, Goal.lose_weight, Goal.general_fitness, Goal.rehabilitation),
    Activity.yoga: (Goal.flexibility, Goal.general_fitness, Goal.rehabilitation),
    Activity.pilates: (Goal.flexibility, Goal.rehabilitation, Goal.strength, Goal.general_fitness),
    Activity.hiit: (Goal.lose_weight, Goal.endurance, Goal.general_fitness),
    Activity.martial_arts: (Goal.general_fitness, Goal.endurance, Goal.strength),
    Activity.home_workout: (
        Goal.general_fitness,
        Goal.build_muscle,
        Goal.lose_weight,
        Goal.strength,
    ),
    Activity.walking: (Goal.general_fitness, Goal.lose_weight, Goal.rehabilitation, Goal.endurance),
}

#: what a user must own for the sport at all
SPORT_EQUIPMENT: dict[Activity, tuple[Equipment, ...]] = {
    Activity.swimming: (Equipment.pool,),
    Activity.cycling: (Equipment.bike,),
}


@dataclass(frozen=True)
class CoachProfile:
    specialization: str
    certifications: tuple[str, ...]
    audiences: tuple[str, ...] = field(default=())


COACHING: dict[Activity, CoachProfile] = {
    Activity.gym: CoachProfile(
        "strength and conditioning",
        ("NSCA-CSCS", "ACE Personal Trainer", "NASM-CPT", "ISSA Strength Coach"),
    ),
    Activity.swimming: CoachProfile(
        "swimming technique",
        ("ASCA Level 2", "Swim England Coach", "Red Cross Lifeguard", "USMS Coach"),
    ),
    Activity.running: CoachProfile(
        "distance running", ("RRCA Run Coach", "UESCA Running Coach", "USATF Level 1")
    ),
    Activity.cycling: CoachProfile(
        "road and indoor cycling",
        ("USA Cycling Level 3", "Spinning Instructor", "British Cycling Coach"),
    ),
    Activity.yoga: CoachProfile(
        "vinyasa and restorative yoga", ("RYT-200", "RYT-500", "Yin Yoga Teacher")
    ),
    Activity.pilates: CoachProfile(
        "mat and reformer pilates", ("STOTT Pilates", "BASI Pilates", "Polestar Rehab Pilates")
    ),
    Activity.hiit: CoachProfile(
        "metabolic conditioning", ("ACE Group Fitness", "NASM-CPT", "Les Mills Instructor")
    ),
    Activity.martial_arts: CoachProfile(
        "boxing and kickboxing", ("Black belt, 2nd dan", "England Boxing Coach", "Muay Thai Kru")
    ),
    Activity.home_workout: CoachProfile(
        "bodyweight training", ("ACE Personal Trainer", "Calisthenics Coach", "NASM-CPT")
    ),
    Activity.walking: CoachProfile(
        "walking and active ageing",
        ("Nordic Walking Instructor", "Exercise for Older Adults", "ACE Health Coach"),
    ),
}
