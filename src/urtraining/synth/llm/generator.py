"""LLM-backed users and courses behind the ``Generator`` interface.

The procedural generator samples every structured attribute (so distributions stay under
our control and a seed reproduces them); the LLM writes the free text and fills the
details, inside a schema that pins the sampled attributes. Records that fail validation or
consistency checks are retried with the errors fed back, then dropped and counted; so a run
may return fewer than ``n`` records, and ``accounting`` says how many and why.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from urtraining.config import SynthConfig
from urtraining.domain import Course, InteractionMetadata, UserProfile
from urtraining.errors import UsageError
from urtraining.synth import consistency
from urtraining.synth.base import Generator
from urtraining.synth.llm import prompts
from urtraining.synth.llm.accounting import Accounting
from urtraining.synth.llm.dedup import near_duplicates
from urtraining.synth.llm.roster import roster_for
from urtraining.synth.llm.runner import make_items, run_tasks
from urtraining.synth.procedural import ProceduralGenerator

_USER_SKELETON = ("age", "sex", "goals", "experience_level", "preferred_activities",
                  "sessions_per_week", "session_minutes", "height_cm", "weight_kg")  # fmt: skip
#: past courses offered to the model when it writes a user's history
HISTORY_CHOICES = 6


class LLMGenerator(Generator):
    def __init__(self, cfg: SynthConfig, work_dir: Path | None = None):
        self.cfg = cfg
        self.work_dir = Path(work_dir) if work_dir is not None else None
        self.opts = cfg.llm
        self.accounting = Accounting(max_tokens_budget=cfg.max_tokens_budget)
        try:
            self.rosters = {
                t: roster_for(t, cfg.roster, cfg.llm, cfg.backend)
                for t in ("users", "courses", "coaches")
            }
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        models = sorted({e.model for r in self.rosters.values() for e in r})
        self.name = f"llm:{'+'.join(models)}"
        self._skeletons = ProceduralGenerator()

    # --- courses ---------------------------------------------------------------------------
    def courses(self, n: int, seed: int) -> list[Course]:
        skeletons = self._skeletons.courses(n, seed)
        rng = random.Random(f"llm-courses:{seed}")
        course_specs, coach_specs = [], []
        for sk in skeletons:
            d = sk.model_dump(mode="json")
            course_specs.append(
                {
                    "course_id": sk.course_id,
                    "skeleton": {k: d[k] for k in _course_pins()},
                    "theme": prompts.course_theme(rng),
                    "exercise_hints": sorted({e.name for day in sk.program for e in day.exercises}),
                    "placeholder_coach": d["coach"],
                }
            )
            coach_specs.append(
                {
                    "coach_id": sk.coach.coach_id,
                    "sport": d["sport"],
                    "level": d["level"],
                    "goals": d["goals"],
                    "style": prompts.coach_style(rng),
                }
            )
        results = self._run({"courses": course_specs, "coaches": coach_specs}, seed)
        out: list[Course] = []
        for course_res, coach_res in zip(results["courses"], results["coaches"], strict=True):
            if not _ok(course_res) or not _ok(coach_res):
                continue
            course = Course(**{**course_res["record"], "coach": coach_res["record"]})
            if consistency.course_problems(course):
                # each half passed alone; the pair can still clash (coach intensity vs level)
                self.accounting.task("courses").drop_reasons["course and coach clash"] = (
                    self.accounting.task("courses").drop_reasons.get("course and coach clash", 0)
                    + 1
                )
                continue
            out.append(course)
        texts = [f"{c.title}. {c.description}" for c in out]
        return self._dedup("courses", out, texts)

    # --- users -----------------------------------------------------------------------------
    def users(
        self, n: int, seed: int, courses: Sequence[Course]
    ) -> list[tuple[UserProfile, InteractionMetadata]]:
        skeletons = self._skeletons.users(n, seed, courses)
        rng = random.Random(f"llm-users:{seed}")
        specs = []
        for user, meta in skeletons:
            d = user.model_dump(mode="json")
            spec = {
                "user_id": user.user_id,
                "skeleton": {k: d.get(k) for k in _USER_SKELETON},
                "persona": prompts.persona(rng),
                "cold_start": meta is None,
                "courses": [] if meta is None else _history_choices(user, meta, courses, rng),
            }
            specs.append(spec)
        results = self._run({"users": specs}, seed)["users"]
        pairs = []
        for res in results:
            if not _ok(res):
                continue
            user = UserProfile(**res["record"]["user"])
            meta = res["record"].get("metadata")
            pairs.append((user, InteractionMetadata(**meta) if meta else None))
        return self._dedup("users", pairs, [u.notes for u, _ in pairs])

    # --- plumbing --------------------------------------------------------------------------
    def _run(self, specs_by_task: dict[str, list[dict]], seed: int) -> dict[str, list]:
        items = {
            t: make_items(t, specs, self.rosters[t], seed, self.opts)
            for t, specs in specs_by_task.items()
        }
        return run_tasks(
            items,
            cache_dir=self.work_dir,
            accounting=self.accounting,
            opts=self.opts,
            ray_address=self.cfg.ray_address,
        )

    def _dedup(self, task: str, records: list, texts: list[str]) -> list:
        if self.opts.dedup_threshold is None or len(records) < 2:
            return records
        dupes = near_duplicates(texts, self.opts.dedup_threshold)
        self.accounting.task(task).duplicates_removed += len(dupes)
        return [r for i, r in enumerate(records) if i not in dupes]


def _course_pins() -> tuple[str, ...]:
    from urtraining.synth.llm.tasks import CoursesTask

    return CoursesTask.PINNED


def _ok(res: dict | None) -> bool:
    return res is not None and res["status"] == "ok"


def _history_choices(user, meta, courses, rng) -> list[dict]:
    """The courses of the sampled history plus a few of the user's sports to choose from."""
    by_id = {c.course_id: c for c in courses}
    ids = list(dict.fromkeys(meta.completed_course_ids + meta.dropped_course_ids))
    liked = [c.course_id for c in courses if c.sport in user.preferred_activities
             and c.course_id not in ids]  # fmt: skip
    rng.shuffle(liked)
    ids = (ids + liked)[:HISTORY_CHOICES]
    return [
        {"course_id": i, "sport": by_id[i].sport.value, "level": by_id[i].level.value} for i in ids
    ]
