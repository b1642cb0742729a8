"""The data contracts of DESIGN.md §3: one source of truth.

JSON Schemas (``urtraining schema``), LLM prompts and validation all derive from these
models. Contracts only grow by optional fields.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Goal(StrEnum):
    lose_weight = "lose_weight"
    build_muscle = "build_muscle"
    strength = "strength"
    endurance = "endurance"
    flexibility = "flexibility"
    general_fitness = "general_fitness"
    rehabilitation = "rehabilitation"


class Level(StrEnum):
    beginner = "beginner"
    intermediate = "intermediate"
    advanced = "advanced"

    @property
    def rank(self) -> int:
        return _LEVEL_RANK[self]


_LEVEL_RANK = {Level.beginner: 0, Level.intermediate: 1, Level.advanced: 2}


class Activity(StrEnum):
    gym = "gym"
    swimming = "swimming"
    running = "running"
    cycling = "cycling"
    yoga = "yoga"
    pilates = "pilates"
    hiit = "hiit"
    martial_arts = "martial_arts"
    home_workout = "home_workout"
    walking = "walking"


class Equipment(StrEnum):
    full_gym = "full_gym"
    barbell = "barbell"
    dumbbells = "dumbbells"
    kettlebells = "kettlebells"
    resistance_bands = "resistance_bands"
    pull_up_bar = "pull_up_bar"
    mat = "mat"
    pool = "pool"
    bike = "bike"
    none = "none"


class CourseType(StrEnum):
    gym = "gym"
    swimming = "swimming"
    other = "other"


class BodyArea(StrEnum):
    knee = "knee"
    lower_back = "lower_back"
    shoulder = "shoulder"
    wrist = "wrist"
    ankle = "ankle"
    hip = "hip"
    neck = "neck"


class TimeOfDay(StrEnum):
    morning = "morning"
    afternoon = "afternoon"
    evening = "evening"


class Provenance(BaseModel):
    """Who made a record: every generated record carries one."""

    model_config = ConfigDict(extra="allow")

    backend: str
    model: str
    seed: int | None = None
    prompt_hash: str | None = None
    prompt_version: str | None = None


class _Record(BaseModel):
    # extra="forbid" turns a typo in a client's JSON into a 400/exit 2 naming the field.
    model_config = ConfigDict(extra="forbid", use_enum_values=False)


class UserProfile(_Record):
    """The registration form."""

    user_id: str = Field(min_length=1, max_length=128)
    age: int = Field(ge=14, le=90)
    sex: Literal["female", "male", "other"] | None = None
    height_cm: float = Field(ge=120, le=230)
    weight_kg: float = Field(ge=35, le=250)
    goals: list[Goal] = Field(min_length=1, max_length=3)
    experience_level: Level
    preferred_activities: list[Activity] = Field(min_length=1)
    equipment: list[Equipment] = Field(default_factory=list)
    sessions_per_week: int = Field(ge=1, le=7)
    session_minutes: int = Field(ge=10, le=180)
    injuries: list[BodyArea] = Field(default_factory=list)
    notes: str = Field(default="", max_length=2000)
    provenance: Provenance | None = None

    @field_validator("goals", "preferred_activities", "equipment", "injuries")
    @classmethod
    def _no_duplicates(cls, v: list) -> list:
        if len(set(v)) != len(v):
            raise ValueError("contains duplicates")
        return v

    @property
    def bmi(self) -> float:
        return self.weight_kg / (self.height_cm / 100) ** 2


class InteractionMetadata(_Record):
    user_id: str = Field(min_length=1)
    completed_course_ids: list[str] = Field(default_factory=list)
    dropped_course_ids: list[str] = Field(default_factory=list)
    retention_rate: float = Field(ge=0, le=1)
    active_days_per_week: float = Field(ge=0, le=7)
    preferred_time_of_day: TimeOfDay
    avg_session_minutes: float = Field(ge=0, le=300)
    days_since_last_activity: int = Field(ge=0)
    provenance: Provenance | None = None


class Exercise(_Record):
    name: str = Field(min_length=1)
    sets: int | None = Field(default=None, ge=1, le=20)
    reps: int | None = Field(default=None, ge=1, le=200)
    load: str | None = None
    duration_s: int | None = Field(default=None, ge=1)
    distance_m: int | None = Field(default=None, ge=1)
    rest_s: int | None = Field(default=None, ge=0)
    notes: str | None = None


class ProgramDay(_Record):
    day: int = Field(ge=1)
    title: str
    exercises: list[Exercise] = Field(min_length=1)


class CoachForm(_Record):
    coach_id: str
    name: str
    specialization: str
    years_experience: int = Field(ge=0, le=60)
    certifications: list[str] = Field(default_factory=list)
    target_audience: str
    intensity: int = Field(ge=1, le=5)
    provenance: Provenance | None = None


class Course(_Record):
    course_id: str = Field(min_length=1)
    type: CourseType
    sport: Activity
    title: str = Field(min_length=1)
    description: str
    level: Level
    goals: list[Goal] = Field(min_length=1)
    equipment: list[Equipment] = Field(default_factory=list)
    contraindications: list[BodyArea] = Field(default_factory=list)
    duration_weeks: int = Field(ge=1, le=52)
    sessions_per_week: int = Field(ge=1, le=7)
    session_minutes: int = Field(ge=10, le=180)
    program: list[ProgramDay] = Field(min_length=1)
    coach: CoachForm
    provenance: Provenance | None = None

    @model_validator(mode="after")
    def _type_matches_sport(self) -> Course:
        expected = course_type_for(self.sport)
        if self.type != expected:
            raise ValueError(f"type {self.type.value!r} does not match sport {self.sport.value!r}")
        return self


def course_type_for(sport: Activity) -> CourseType:
    if sport is Activity.gym:
        return CourseType.gym
    if sport is Activity.swimming:
        return CourseType.swimming
    return CourseType.other


class RankedCourse(_Record):
    course_id: str
    relevance: int = Field(ge=0, le=3)
    score: float
    rationale: str = ""


class Ranking(_Record):
    user_id: str
    teacher: str
    ranked: list[RankedCourse]
    provenance: Provenance | None = None


class TrackerEntry(_Record):
    content: str = Field(min_length=1)
    name: str | None = None
    sets: int | None = Field(default=None, ge=1)
    reps: int | None = Field(default=None, ge=1)
    load: str | None = None
    duration_s: int | None = Field(default=None, ge=0)
    distance_m: int | None = Field(default=None, ge=0)
    rest_s: int | None = Field(default=None, ge=0)
    section: str | None = None


class Recommendation(_Record):
    """One row of `urtraining recommend` and of the recommender endpoint."""

    course_id: str
    score: float
    title: str
    type: CourseType
    level: Level


#: Every public model, by the name its JSON Schema is published under.
SCHEMA_MODELS: dict[str, type[BaseModel]] = {
    "UserProfile": UserProfile,
    "InteractionMetadata": InteractionMetadata,
    "Course": Course,
    "CoachForm": CoachForm,
    "Exercise": Exercise,
    "Ranking": Ranking,
    "TrackerEntry": TrackerEntry,
    "Recommendation": Recommendation,
}
