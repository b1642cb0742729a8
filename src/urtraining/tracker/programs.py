"""Random workout programs with known answers: the evaluation set's ground truth.

A program is days of exercises; :func:`exercise_line` writes one exercise the way a coach
might (``4x8``, ``4 × 8 @ 60 kg``, ``3 sets of 10 reps``, ``8 x 50 m freestyle, 20 s rest``)
and the TrackerEntry it should come back as.
"""

from __future__ import annotations

import random

from pydantic import BaseModel

from urtraining.domain import TrackerEntry

# (name, kind, typical load in kg or None)
_GYM = [
    ("Bench press", 60),
    ("Back squat", 100),
    ("Deadlift", 120),
    ("Overhead press", 40),
    ("Barbell row", 60),
    ("Romanian deadlift", 80),
    ("Incline dumbbell press", 24),
    ("Lat pulldown", 55),
    ("Leg press", 140),
    ("Seated cable row", 50),
    ("Hip thrust", 90),
    ("Front squat", 70),
    ("Dumbbell curl", 12),
    ("Triceps pushdown", 25),
    ("Leg curl", 35),
    ("Goblet squat", 20),
    ("Walking lunges", 16),
    ("Face pulls", 20),
    ("Calf raises", 60),
    ("Kettlebell swing", 24),
    ("Chest fly", 14),
    ("Lateral raise", 8),
    ("Shrugs", 40),
]
_BODYWEIGHT = [
    "Pull-ups",
    "Push-ups",
    "Dips",
    "Burpees",
    "Air squats",
    "Chin-ups",
    "Mountain climbers",
    "Jumping jacks",
    "Sit-ups",
    "Glute bridge",
    "Box jumps",
]
_TIMED = ["Plank", "Side plank", "Wall sit", "Hollow hold", "Dead hang", "Jump rope"]
_CARDIO = ["Easy jog", "Bike", "Rowing machine", "Brisk walk", "Elliptical", "Stairs"]
_STROKES = ["freestyle", "backstroke", "breaststroke", "kick drill", "pull buoy", "butterfly"]

DAY_FOCUS = [
    "Upper body",
    "Lower body",
    "Push",
    "Pull",
    "Legs",
    "Full body",
    "Swim",
    "Conditioning",
    "Strength",
    "Core and cardio",
]
TITLES = [
    "Strength Program",
    "Weekly Plan",
    "Training Plan",
    "My Workout",
    "Coach Notes",
    "Hypertrophy Block",
    "Summer Prep",
]


class Exercise(BaseModel):
    name: str
    sets: int | None = None
    reps: int | None = None
    load: str | None = None
    duration_s: int | None = None
    distance_m: int | None = None
    rest_s: int | None = None


class Day(BaseModel):
    title: str
    exercises: list[Exercise]


class Program(BaseModel):
    title: str
    days: list[Day]


def random_exercise(rng: random.Random, swim: bool = False, table: bool = False) -> Exercise:
    kinds = ["gym"] * 5 + ["bodyweight"] * 2 + (["timed", "cardio"] if not table else [])
    kind = "swim" if swim else rng.choice(kinds)
    rest = rng.choice([None, 30, 45, 60, 90, 120, 180])
    if kind == "gym":
        name, base = rng.choice(_GYM)
        load = max(2, round(base * rng.uniform(0.6, 1.3) / 2.5) * 2.5)
        load_text = f"{load:g} kg"
        return Exercise(
            name=name,
            sets=rng.randint(2, 6),
            reps=rng.choice([3, 5, 6, 8, 10, 12, 15]),
            load=load_text,
            rest_s=rest,
        )
    if kind == "bodyweight":
        return Exercise(
            name=rng.choice(_BODYWEIGHT),
            sets=rng.randint(2, 5),
            reps=rng.choice([8, 10, 12, 15, 20]),
            rest_s=rest,
        )
    if kind == "timed":
        return Exercise(
            name=rng.choice(_TIMED),
            sets=rng.randint(2, 4),
            duration_s=rng.choice([20, 30, 40, 45, 60]),
            rest_s=rest,
        )
    if kind == "cardio":
        return Exercise(name=rng.choice(_CARDIO), duration_s=60 * rng.choice([5, 10, 15, 20, 30]))
    return Exercise(
        name=rng.choice(_STROKES),
        sets=rng.choice([4, 6, 8, 10]),
        distance_m=rng.choice([25, 50, 100, 200]),
        rest_s=rng.choice([10, 15, 20, 30]),
    )


def random_program(rng: random.Random, days: int | None = None, table: bool = False) -> Program:
    n_days = days or rng.randint(1, 3)
    focus = rng.sample(DAY_FOCUS, n_days)
    out = []
    for i, f in enumerate(focus):
        swim = f == "Swim" and not table
        n = rng.randint(3, 5)
        exercises: list[Exercise] = []
        while len(exercises) < n:
            ex = random_exercise(rng, swim=swim, table=table)
            if ex.name not in {e.name for e in exercises}:
                exercises.append(ex)
        out.append(Day(title=_day_title(rng, i + 1, f), exercises=exercises))
    return Program(title=rng.choice(TITLES), days=out)


def _day_title(rng: random.Random, n: int, focus: str) -> str:
    return rng.choice(
        [
            f"Day {n}: {focus}",
            f"DAY {n} - {focus.upper()}",
            f"Workout {n}",
            f"WORKOUT {n}",
            f"Day {n} - {focus}",
        ]
    )


def _secs(s: int, rng: random.Random) -> str:
    if s >= 60 and s % 60 == 0:
        return f"{s // 60} min"
    return rng.choice([f"{s} s", f"{s} sec", f"{s}s"])


def exercise_line(ex: Exercise, rng: random.Random, times: str = "x") -> str:
    """One way a coach writes ``ex``; ``times`` is the sign the font can draw (x or ×)."""
    x = rng.choice([f" {times} ", times]) if times != "x" else rng.choice([" x ", "x"])
    rest = ""
    if ex.rest_s:
        rest = rng.choice([f", rest {_secs(ex.rest_s, rng)}", f", {_secs(ex.rest_s, rng)} rest"])
    if ex.distance_m:
        return f"{ex.sets}{x}{ex.distance_m} m {ex.name}{rest}"
    if ex.reps and ex.load:
        return rng.choice(
            [
                f"{ex.name} {ex.sets}{x}{ex.reps} @ {ex.load}{rest}",
                f"{ex.name}: {ex.sets} sets of {ex.reps} reps, {ex.load}{rest}",
                f"{ex.name} {ex.sets} sets x {ex.reps} reps @ {ex.load}{rest}",
                f"{ex.name} - {ex.sets}{x}{ex.reps}, {ex.load}{rest}",
            ]
        )
    if ex.reps:
        return rng.choice(
            [
                f"{ex.name} {ex.sets}{x}{ex.reps}{rest}",
                f"{ex.name}: {ex.sets} sets of {ex.reps} reps{rest}",
                f"{ex.name} {ex.sets} x {ex.reps} reps{rest}",
            ]
        )
    if ex.sets and ex.duration_s:
        return f"{ex.name} {ex.sets}{x}{_secs(ex.duration_s, rng)}{rest}"
    return f"{ex.name} {_secs(ex.duration_s or 0, rng)}"


def truth(ex: Exercise, content: str, section: str | None) -> TrackerEntry:
    return TrackerEntry(content=content, section=section, **ex.model_dump())
