"""The offline default generator: seeded, deterministic, consistent by construction.

Every distribution is explicit here (levels, ages, goals per sport, equipment per activity),
so the data a model trains on is under our control and a seed reproduces it exactly.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from urtraining.domain import (
    Activity,
    BodyArea,
    CoachForm,
    Course,
    Equipment,
    Exercise,
    Goal,
    InteractionMetadata,
    Level,
    ProgramDay,
    Provenance,
    TimeOfDay,
    UserProfile,
    course_type_for,
)
from urtraining.synth.base import Generator
from urtraining.synth.catalogue import (
    COACHING,
    DRILLS,
    SPORT_EQUIPMENT,
    SPORT_GOALS,
    Drill,
    GymExercise,
    gym_exercises,
)
from urtraining.synth.rules import effective_equipment, is_safe

BACKEND = "procedural"
MODEL = "procedural-v1"

SPORT_WEIGHTS = {
    Activity.gym: 30,
    Activity.swimming: 18,
    Activity.running: 8,
    Activity.cycling: 7,
    Activity.yoga: 8,
    Activity.pilates: 6,
    Activity.hiit: 7,
    Activity.martial_arts: 5,
    Activity.home_workout: 7,
    Activity.walking: 4,
}
LEVEL_WEIGHTS = {Level.beginner: 45, Level.intermediate: 35, Level.advanced: 20}

# Activities people who hold a goal tend to pick: the user side of SPORT_GOALS.
GOAL_ACTIVITIES: dict[Goal, tuple[Activity, ...]] = {
    g: tuple(s for s, goals in SPORT_GOALS.items() if g in goals) for g in Goal
}

FIRST_NAMES = (
    "Alex",
    "Maria",
    "Jonas",
    "Aiko",
    "Sven",
    "Lucia",
    "Omar",
    "Priya",
    "Tom",
    "Ines",
    "Kofi",
    "Mei",
    "Pavel",
    "Sara",
    "Diego",
    "Hanna",
    "Yusuf",
    "Elena",
    "Noah",
    "Zoe",
)
LAST_NAMES = (
    "Keller",
    "Rossi",
    "Novak",
    "Tanaka",
    "Berg",
    "Garcia",
    "Haddad",
    "Sharma",
    "Brown",
    "Costa",
    "Mensah",
    "Chen",
    "Ivanov",
    "Lund",
    "Moreno",
    "Weber",
    "Demir",
    "Popescu",
)

GOAL_PHRASES = {
    Goal.lose_weight: ("shed body fat", "lose weight steadily", "get leaner"),
    Goal.build_muscle: ("build muscle", "add lean mass", "grow stronger-looking muscles"),
    Goal.strength: ("get stronger", "lift heavier", "build real strength"),
    Goal.endurance: ("build stamina", "go longer without fatigue", "improve endurance"),
    Goal.flexibility: ("move more freely", "improve flexibility", "loosen tight hips and back"),
    Goal.general_fitness: ("feel fitter overall", "stay active and healthy", "build a habit"),
    Goal.rehabilitation: ("rebuild after injury", "return to activity safely", "recover gently"),
}
LEVEL_WORDS = {
    Level.beginner: ("Foundations", "First Steps", "Starter", "Basics", "Intro"),
    Level.intermediate: ("Progression", "Build", "Next Level", "Momentum", "Development"),
    Level.advanced: ("Performance", "Elite", "Peak", "Mastery", "Advanced Block"),
}
SPORT_WORDS = {
    Activity.gym: ("Barbell", "Gym", "Iron", "Weights", "Strength Floor"),
    Activity.swimming: ("Pool", "Swim", "Freestyle", "Lap", "Open Lane"),
    Activity.running: ("Run", "Road", "Trail", "5K-10K", "Pace"),
    Activity.cycling: ("Ride", "Cycle", "Saddle", "Spin", "Watts"),
    Activity.yoga: ("Yoga Flow", "Vinyasa", "Mindful Yoga", "Mat Flow", "Restorative Yoga"),
    Activity.pilates: ("Pilates Core", "Mat Pilates", "Pilates Control", "Core Balance"),
    Activity.hiit: ("HIIT", "Interval Burn", "Tabata", "Metcon", "Sweat Circuit"),
    Activity.martial_arts: ("Boxing", "Kickboxing", "Fight Fit", "Combat Conditioning"),
    Activity.home_workout: ("Home Workout", "Living Room", "No-Gym", "Bodyweight"),
    Activity.walking: ("Walking", "Step Up", "Nordic Walk", "Daily Miles"),
}
NOTES = {
    "injury": (
        "Old {area} injury, please keep it low impact.",
        "My {area} gets sore after hard sessions.",
        "Physio cleared me but my {area} is still sensitive.",
    ),
    "goal": ("I want to {goal}.", "Main aim: {goal}.", "Hoping to {goal} this year."),
    "life": (
        "Busy job, short sessions suit me.",
        "Training for my first event.",
        "Back to sport after a long break.",
        "I like clear, structured plans.",
        "Prefer training with a coach's feedback.",
        "",
    ),
}


def _pick(rng: random.Random, weights: dict):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys], k=1)[0]


def _level_ok(item_level: Level, course_level: Level) -> bool:
    return item_level.rank <= course_level.rank


class ProceduralGenerator(Generator):
    name = BACKEND

    # --- courses ---------------------------------------------------------------------------
    def courses(self, n: int, seed: int) -> list[Course]:
        rng = random.Random(f"courses:{seed}")
        # every sport at least once, then by weight
        sports = list(Activity)[: min(n, len(Activity))]
        sports += [_pick(rng, SPORT_WEIGHTS) for _ in range(n - len(sports))]
        rng.shuffle(sports)
        return [self._course(i, sport, rng, seed) for i, sport in enumerate(sports)]

    def _course(self, i: int, sport: Activity, rng: random.Random, seed: int) -> Course:
        level = _pick(rng, LEVEL_WEIGHTS)
        goal_pool = list(SPORT_GOALS[sport])
        main = goal_pool[0] if rng.random() < 0.5 else rng.choice(goal_pool)
        goals = [main] + rng.sample([g for g in goal_pool if g != main], k=rng.randint(0, 1))
        if Goal.rehabilitation in goals and level is not Level.beginner:
            level = Level.beginner  # rehabilitation programmes start easy, by definition
        sessions = rng.randint(
            *{Level.beginner: (2, 3), Level.intermediate: (3, 4), Level.advanced: (4, 6)}[level]
        )
        minutes = rng.choice(
            {
                Level.beginner: (20, 30, 40, 45),
                Level.intermediate: (40, 45, 50, 60),
                Level.advanced: (60, 75, 90),
            }[level]
        )
        weeks = rng.choice((4, 6, 8, 10, 12))
        if sport is Activity.gym:
            days, equipment, stresses = self._gym_program(level, goals, sessions, rng)
        else:
            days, equipment, stresses = self._drill_program(sport, level, goals, sessions, rng)
        course_id = f"c{seed:03d}-{i:05d}"
        title = (
            f"{rng.choice(SPORT_WORDS[sport])} {rng.choice(LEVEL_WORDS[level])}: "
            f"{weeks} Weeks to {GOAL_PHRASES[main][0].title()}"
        )
        coach = self._coach(course_id, sport, level, rng)
        kit = ", ".join(e.value.replace("_", " ") for e in equipment) or "no equipment"
        description = (
            f"A {weeks}-week {level.value} {sport.value.replace('_', ' ')} programme, "
            f"{sessions} sessions a week of about {minutes} minutes. "
            f"It helps you {' and '.join(rng.choice(GOAL_PHRASES[g]) for g in goals)}. "
            f"You need: {kit}. Coached by {coach.name}, {coach.years_experience} years in "
            f"{coach.specialization}."
        )
        return Course(
            course_id=course_id,
            type=course_type_for(sport),
            sport=sport,
            title=title,
            description=description,
            level=level,
            goals=goals,
            equipment=equipment,
            contraindications=sorted(stresses),
            duration_weeks=weeks,
            sessions_per_week=sessions,
            session_minutes=minutes,
            program=days,
            coach=coach,
            provenance=Provenance(backend=BACKEND, model=MODEL, seed=seed),
        )

    def _gym_program(self, level: Level, goals: list[Goal], sessions: int, rng: random.Random):
        main = goals[0]
        setup = rng.choice(
            [
                (Equipment.full_gym,),
                (Equipment.barbell, Equipment.dumbbells),
                (Equipment.dumbbells,),
                (Equipment.kettlebells,),
                (Equipment.resistance_bands,),
                (Equipment.none,),
            ]
        )
        allowed = effective_equipment(list(setup)) | {Equipment.none, Equipment.mat}
        pool = [
            e
            for e in gym_exercises()
            if e.equipment in allowed
            and _level_ok(e.level, level)
            and (e.category == "stretching") == (main is Goal.flexibility)
        ]
        if main is Goal.rehabilitation:
            pool = [e for e in pool if e.category == "stretching" or not e.stresses] or pool
        per_day = {Level.beginner: 4, Level.intermediate: 5, Level.advanced: 6}[level]
        days, used = [], []
        for d in range(1, sessions + 1):
            picked: list[GymExercise] = rng.sample(pool, k=min(per_day, len(pool)))
            used += picked
            focus = _day_focus(picked)
            days.append(
                ProgramDay(
                    day=d,
                    title=f"Day {d} - {focus}",
                    exercises=[_gym_dose(e, main, level, rng) for e in picked],
                )
            )
        needed = sorted({e.equipment for e in used} - {Equipment.none}) or [Equipment.none]
        # A stressed area becomes a contraindication when the programme loads it repeatedly.
        counts: dict[BodyArea, int] = {}
        for e in used:
            for area in e.stresses:
                counts[area] = counts.get(area, 0) + 1
        threshold = {Level.beginner: 5, Level.intermediate: 4, Level.advanced: 3}[level]
        stresses = {a for a, c in counts.items() if c >= threshold}
        return days, needed, stresses

    def _drill_program(self, sport, level, goals, sessions, rng):
        drills = [d for d in DRILLS[sport] if _level_ok(d.min_level, level)]
        if Goal.rehabilitation in goals:
            drills = [d for d in drills if not d.stresses] or drills
        per_day = {Level.beginner: 3, Level.intermediate: 4, Level.advanced: 5}[level]
        days, used = [], []
        for d in range(1, sessions + 1):
            picked: list[Drill] = rng.sample(drills, k=min(per_day, len(drills)))
            used += picked
            days.append(
                ProgramDay(
                    day=d,
                    title=f"Session {d}",
                    exercises=[_drill_dose(x, sport, level, rng) for x in picked],
                )
            )
        needed = set(SPORT_EQUIPMENT.get(sport, ())) | {x.equipment for x in used}
        needed = sorted(needed - {Equipment.none}) or [Equipment.none]
        stresses = {a for x in used for a in x.stresses}
        # lower volumes load a joint less: only what the programme keeps loading counts
        repeats = {Level.beginner: 4, Level.intermediate: 3, Level.advanced: 2}[level]
        stresses = {a for a in stresses if sum(a in x.stresses for x in used) >= repeats}
        return days, needed, stresses

    def _coach(self, course_id: str, sport: Activity, level: Level, rng: random.Random):
        prof = COACHING[sport]
        years = rng.randint(
            *{Level.beginner: (2, 12), Level.intermediate: (4, 18), Level.advanced: (8, 30)}[level]
        )
        audience = {
            Level.beginner: "newcomers and people returning after a break",
            Level.intermediate: "regular trainees ready to progress",
            Level.advanced: "experienced athletes chasing performance",
        }[level]
        return CoachForm(
            coach_id=f"coach-{course_id}",
            name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            specialization=prof.specialization,
            years_experience=years,
            certifications=rng.sample(list(prof.certifications), k=rng.randint(1, 2)),
            target_audience=audience,
            intensity=min(5, max(1, level.rank * 2 + 1 + rng.choice((-1, 0, 0, 1)))),
            provenance=Provenance(backend=BACKEND, model=MODEL),
        )

    # --- users -----------------------------------------------------------------------------
    def users(
        self, n: int, seed: int, courses: Sequence[Course]
    ) -> list[tuple[UserProfile, InteractionMetadata | None]]:
        rng = random.Random(f"users:{seed}")
        profiles = [self._user(i, rng, seed) for i in range(n)]
        history = simulate_interactions(profiles, courses, seed)
        return [(u, history[u.user_id]) for u in profiles]

    def _user(self, i, rng: random.Random, seed: int) -> UserProfile:
        age = int(min(90, max(14, rng.gauss(38, 14))))
        level = _pick(rng, LEVEL_WEIGHTS)
        if age > 70 and level is Level.advanced:
            level = Level.intermediate
        sex = rng.choices(["female", "male", "other", None], weights=[48, 47, 3, 2])[0]
        height = rng.gauss(178 if sex == "male" else 166, 7)
        height = round(min(205, max(145, height)), 1)
        goals = [rng.choice(list(Goal))]
        for _ in range(rng.choice((0, 1, 1, 2))):
            g = rng.choice(list(Goal))
            if g not in goals:
                goals.append(g)
        bmi = rng.uniform(27, 34) if Goal.lose_weight in goals else rng.gauss(23.5, 2.5)
        weight = round(min(180, max(42, bmi * (height / 100) ** 2)), 1)
        acts: list[Activity] = []
        for g in goals:
            if rng.random() < 0.8:
                a = rng.choice(GOAL_ACTIVITIES[g])
                if a not in acts:
                    acts.append(a)
        while not acts or rng.random() < 0.25 and len(acts) < 3:
            a = _pick(rng, SPORT_WEIGHTS)
            if a not in acts:
                acts.append(a)
        equipment = _user_equipment(acts, rng)
        injuries: list[BodyArea] = []
        p_injury = 0.25 + (0.2 if age > 55 else 0) + (0.4 if Goal.rehabilitation in goals else 0)
        while rng.random() < p_injury and len(injuries) < 2:
            area = rng.choice(list(BodyArea))
            if area not in injuries:
                injuries.append(area)
            p_injury *= 0.3
        sessions = rng.randint(
            *{Level.beginner: (2, 3), Level.intermediate: (3, 5), Level.advanced: (4, 6)}[level]
        )
        minutes = rng.choice(
            {
                Level.beginner: (20, 30, 45, 60),
                Level.intermediate: (30, 45, 60),
                Level.advanced: (45, 60, 75, 90),
            }[level]
        )
        notes = []
        if injuries and rng.random() < 0.7:
            notes.append(
                rng.choice(NOTES["injury"]).format(area=injuries[0].value.replace("_", " "))
            )
        if rng.random() < 0.6:
            notes.append(rng.choice(NOTES["goal"]).format(goal=rng.choice(GOAL_PHRASES[goals[0]])))
        notes.append(rng.choice(NOTES["life"]))
        return UserProfile(
            user_id=f"u{seed:03d}-{i:05d}",
            age=age,
            sex=sex,
            height_cm=height,
            weight_kg=weight,
            goals=goals,
            experience_level=level,
            preferred_activities=acts,
            equipment=equipment,
            sessions_per_week=sessions,
            session_minutes=minutes,
            injuries=injuries,
            notes=" ".join(x for x in notes if x),
            provenance=Provenance(backend=BACKEND, model=MODEL, seed=seed),
        )


def _day_focus(picked: Sequence[GymExercise]) -> str:
    muscles = [m for e in picked for m in e.muscles]
    lower = sum(m in ("quadriceps", "hamstrings", "glutes", "calves", "adductors") for m in muscles)
    if all(e.category == "stretching" for e in picked):
        return "Mobility"
    return "Lower body" if lower > len(muscles) / 2 else "Upper body" if lower == 0 else "Full body"


def _gym_dose(e: GymExercise, goal: Goal, level: Level, rng: random.Random) -> Exercise:
    r = level.rank
    if e.category == "stretching":
        return Exercise(name=e.name, sets=2, duration_s=(20, 30, 45)[r], rest_s=15)
    if goal is Goal.strength:
        sets, reps, rest = (3, 4, 5)[r], (8, 5, 3)[r], (90, 150, 180)[r]
        load = f"{(60, 75, 85)[r]}% 1RM"
    elif goal is Goal.build_muscle:
        sets, reps, rest, load = (3, 3, 4)[r], (12, 10, 8)[r], (60, 75, 90)[r], f"RPE {6 + r}"
    else:
        sets, reps, rest, load = (2, 3, 4)[r], (15, 12, 12)[r], (30, 45, 45)[r], "light"
    if e.equipment is Equipment.none:
        load = "bodyweight"
    if goal is Goal.rehabilitation:
        sets, reps, rest, load = 2, 12, 60, "very light"
    return Exercise(
        name=e.name, sets=sets, reps=reps + rng.choice((0, 0, 2)), load=load, rest_s=rest
    )


def _drill_dose(d: Drill, sport: Activity, level: Level, rng: random.Random) -> Exercise:
    r = level.rank
    if d.kind == "distance":
        if sport is Activity.swimming:
            return Exercise(
                name=d.name, sets=(4, 6, 8)[r], distance_m=(25, 50, 100)[r], rest_s=(30, 20, 15)[r]
            )
        return Exercise(
            name=d.name, sets=(4, 6, 8)[r], distance_m=(200, 400, 800)[r], rest_s=(120, 90, 90)[r]
        )
    if d.kind == "duration":
        long_form = sport in (Activity.running, Activity.cycling, Activity.walking)
        if long_form:
            minutes = (15, 30, 50)[r] + rng.choice((0, 5, 10))
            return Exercise(name=d.name, sets=1, duration_s=minutes * 60)
        return Exercise(
            name=d.name, sets=(2, 3, 4)[r], duration_s=(20, 40, 60)[r], rest_s=(40, 30, 20)[r]
        )
    return Exercise(name=d.name, sets=(2, 3, 4)[r], reps=(8, 12, 15)[r], rest_s=(45, 30, 30)[r])


def _user_equipment(acts: Sequence[Activity], rng: random.Random) -> list[Equipment]:
    eq: set[Equipment] = set()
    for a in acts:
        if a is Activity.swimming and rng.random() < 0.85:
            eq.add(Equipment.pool)
        elif a is Activity.cycling and rng.random() < 0.85:
            eq.add(Equipment.bike)
        elif a is Activity.gym:
            if rng.random() < 0.7:
                eq.add(Equipment.full_gym)
            else:
                eq |= set(
                    rng.sample(
                        [Equipment.barbell, Equipment.dumbbells, Equipment.kettlebells],
                        k=rng.randint(1, 2),
                    )
                )
        elif a in (Activity.yoga, Activity.pilates) and rng.random() < 0.8:
            eq.add(Equipment.mat)
        elif a is Activity.home_workout:
            eq |= set(
                rng.sample(
                    [
                        Equipment.dumbbells,
                        Equipment.resistance_bands,
                        Equipment.mat,
                        Equipment.pull_up_bar,
                        Equipment.kettlebells,
                    ],
                    k=rng.randint(0, 3),
                )
            )
    if rng.random() < 0.15:
        eq.add(rng.choice([e for e in Equipment if e is not Equipment.none]))
    return sorted(eq) or [Equipment.none]


def simulate_interactions(
    users: Sequence[UserProfile], courses: Sequence[Course], seed: int
) -> dict[str, InteractionMetadata | None]:
    """Interaction histories for ``users`` over ``courses``; None for brand-new users.

    Each user's history has its own random stream, so profiles and courses can be generated
    independently (in parallel, in a pipeline) and still give the same histories."""
    return {
        u.user_id: _metadata(u, courses, random.Random(f"history:{seed}:{u.user_id}"), seed)
        for u in users
    }


def _metadata(user: UserProfile, courses: Sequence[Course], rng: random.Random, seed: int):
    """Interaction history consistent with the profile; ~20% of users are brand new."""
    if not courses or rng.random() < 0.2:
        return None
    lvl = user.experience_level.rank
    doable = [c for c in courses if c.level.rank <= lvl and is_safe(user, c)]
    liked = [c for c in doable if c.sport in user.preferred_activities] or doable
    n_done = rng.randint(*((0, 2), (1, 4), (2, 8))[lvl])
    completed = rng.sample(liked, k=min(n_done, len(liked)))
    # people drop what was too hard or not their sport
    droppable = [
        c
        for c in courses
        if c not in completed and (c.level.rank > lvl or c.sport not in user.preferred_activities)
    ]
    dropped = rng.sample(droppable, k=min(rng.choice((0, 0, 1, 1, 2)), len(droppable)))
    retention = (len(completed) + 1) / (len(completed) + len(dropped) + 1.5)
    retention = round(min(1.0, max(0.05, retention + rng.gauss(0, 0.08))), 2)
    active = round(min(7.0, user.sessions_per_week * (0.5 + 0.5 * retention)), 1)
    return InteractionMetadata(
        user_id=user.user_id,
        completed_course_ids=[c.course_id for c in completed],
        dropped_course_ids=[c.course_id for c in dropped],
        retention_rate=retention,
        active_days_per_week=active,
        preferred_time_of_day=rng.choice(list(TimeOfDay)),
        avg_session_minutes=round(user.session_minutes * rng.uniform(0.75, 1.05), 1),
        days_since_last_activity=int(rng.expovariate(1 / (3 + 30 * (1 - retention)))),
        provenance=Provenance(backend=BACKEND, model=MODEL, seed=seed),
    )
