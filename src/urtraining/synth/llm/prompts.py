"""Prompt texts and the seed phrases that make records diverse by design.

The structured attributes (age, goals, sport, level, ...) are sampled by the procedural
generator and pinned in the schema; the seed phrases below give each record a different
persona or theme so the free text does not collapse to one voice. Bump a task's
``PROMPT_VERSIONS`` entry whenever its prompt or schema changes: the resume cache is keyed
by it, so old answers are never mixed with new ones.
"""

from __future__ import annotations

import random

PROMPT_VERSIONS = {
    "users": "users-v1",
    "courses": "courses-v1",
    "coaches": "coaches-v1",
    "ranking": "ranking-v1",
}

SYSTEM = (
    "You write realistic data for a fitness app. Answer with one JSON object that follows "
    "the field list exactly, and nothing else."
)
SYSTEM_REASONING = (
    "You are a careful fitness coach. Think briefly inside <think></think>, then answer with "
    "one JSON object that follows the field list exactly."
)

OCCUPATIONS = ("nurse on night shifts", "software developer", "teacher", "retired engineer",
               "student", "delivery rider", "accountant", "chef", "new parent", "truck driver",
               "architect", "shop owner", "call-centre agent", "farmer", "graphic designer",
               "firefighter", "lawyer", "barista", "physiotherapy patient", "musician")  # fmt: skip
SITUATIONS = ("with a busy travel schedule", "training for a first race", "back after an injury",
              "who gets bored easily", "who loves data and tracking", "on a tight budget",
              "who trains with a friend", "who sleeps badly", "recovering from burnout",
              "who prefers early mornings", "with a standing desk job", "who hates crowded gyms",
              "preparing for a hiking holiday", "after a doctor's advice",
              "who likes routine")  # fmt: skip
TONES = ("matter-of-fact", "enthusiastic", "a bit anxious", "humorous", "terse", "motivated")
THEMES = ("posture and desk-worker health", "race preparation", "summer fitness",
          "return after pregnancy", "office lunch-break sessions", "technique first",
          "fat loss without fads", "strong knees and hips", "mobility for climbers",
          "confidence in the water", "consistency over intensity", "competition prep")  # fmt: skip
COACH_STYLES = ("calm and precise", "high-energy", "science-based", "friendly and patient",
                "old-school and strict", "playful", "data-driven")  # fmt: skip


def persona(rng: random.Random) -> str:
    return f"a {rng.choice(TONES)} {rng.choice(OCCUPATIONS)} {rng.choice(SITUATIONS)}"


def course_theme(rng: random.Random) -> str:
    return rng.choice(THEMES)


def coach_style(rng: random.Random) -> str:
    return rng.choice(COACH_STYLES)


def feedback(problems: list[str]) -> str:
    """What the model is told after a rejected answer: the errors, verbatim, and the ask."""
    listed = "\n".join(f"- {p}" for p in problems[:8])
    return (
        f"Your answer was rejected:\n{listed}\n"
        "Write the whole JSON object again with these problems fixed."
    )
