"""The reasoning-model teacher: DeepSeek-R1-style graded relevance with rationales.

The rule teacher pre-selects ``cfg.candidates`` courses per user (bounding the prompt), the
LLM grades each candidate 0..3 with a reason (a reasoning model may think in
``<think>...</think>`` first), and the ranking orders candidates by the LLM's grade with the
rule score breaking ties. Courses outside the candidates follow with relevance 0 and a
rationale that says so. Agreement with the rule teacher (Kendall tau, NDCG@10 on the
candidates) is reported in ``accounting``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from urtraining.config import TeacherConfig
from urtraining.domain import (
    Course,
    InteractionMetadata,
    Provenance,
    RankedCourse,
    Ranking,
    UserProfile,
)
from urtraining.errors import UsageError
from urtraining.synth.base import Teacher
from urtraining.synth.llm.accounting import Accounting
from urtraining.synth.llm.agreement import agreement
from urtraining.synth.llm.roster import roster_for
from urtraining.synth.llm.runner import make_items, run_tasks
from urtraining.synth.llm.tasks import unsafe_reason
from urtraining.synth.rules import RuleTeacher


class RankingFailed(RuntimeError):
    """The LLM gave no valid ranking for a user after every retry."""


class ReasoningTeacher(Teacher):
    def __init__(self, cfg: TeacherConfig, work_dir: Path | None = None, seed: int = 0):
        self.cfg = cfg
        self.work_dir = Path(work_dir) if work_dir is not None else None
        self.seed = seed
        self.accounting = Accounting(max_tokens_budget=cfg.max_tokens_budget)
        try:
            self.roster = roster_for("ranking", cfg.roster, cfg.llm, cfg.backend)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        self.name = f"llm:{'+'.join(sorted({e.model for e in self.roster}))}"
        self.rules = RuleTeacher()
        self.agreement: dict | None = None

    def rank(
        self, user: UserProfile, metadata: InteractionMetadata | None, courses: Sequence[Course]
    ) -> Ranking:
        got = self.rank_many([user], {user.user_id: metadata} if metadata else {}, courses)
        if not got:
            reasons = self.accounting.task("ranking").drop_reasons
            raise RankingFailed(f"no valid ranking for {user.user_id}: {list(reasons)[:1]}")
        return got[0]

    def rank_many(
        self,
        users: Sequence[UserProfile],
        metadata: dict[str, InteractionMetadata],
        courses: Sequence[Course],
    ) -> list[Ranking]:
        by_id = {c.course_id: c for c in courses}
        rule_rankings = self.rules.rank_many(users, metadata, courses)
        specs = []
        for user, ref in zip(users, rule_rankings, strict=True):
            cands = [by_id[rc.course_id] for rc in ref.ranked[: self.cfg.candidates]]
            specs.append(
                {
                    "user_id": user.user_id,
                    "user_summary": _user_summary(user, metadata.get(user.user_id)),
                    "candidates": [
                        {"course_id": c.course_id, "summary": _course_summary(c)} for c in cands
                    ],
                    "unsafe": {
                        c.course_id: r for c in cands if (r := unsafe_reason(user, c)) is not None
                    },
                }
            )
        items = make_items("ranking", specs, self.roster, self.seed, self.cfg.llm)
        results = run_tasks(
            {"ranking": items},
            cache_dir=self.work_dir,
            accounting=self.accounting,
            opts=self.cfg.llm,
            ray_address=self.cfg.ray_address,
        )["ranking"]
        out, graded_only, refs = [], [], {}
        for user, ref, spec, res in zip(users, rule_rankings, specs, results, strict=True):
            if res is None or res["status"] != "ok":
                continue
            ranking, graded = _assemble(user.user_id, ref, spec, res)
            out.append(ranking)
            graded_only.append(graded)
            refs[user.user_id] = ref
        self.agreement = agreement(graded_only, refs, k=10)
        self.accounting.agreement = self.agreement
        return out


def _assemble(user_id: str, ref: Ranking, spec: dict, res: dict) -> tuple[Ranking, Ranking]:
    grades = res["record"]["grades"]
    rule_score = {rc.course_id: rc.score for rc in ref.ranked}
    cand_ids = [c["course_id"] for c in spec["candidates"]]
    order = sorted(cand_ids, key=lambda c: (-grades[c]["relevance"], -rule_score[c], c))
    ranked = [
        RankedCourse(
            course_id=c,
            relevance=grades[c]["relevance"],
            # the grade decides; the position (rule score breaking ties) keeps it strict
            score=round(grades[c]["relevance"] - i / (10 * len(order)), 4),
            rationale=grades[c]["rationale"],
        )
        for i, c in enumerate(order)
    ]
    graded = Ranking(user_id=user_id, teacher="llm", ranked=list(ranked))
    chosen = set(cand_ids)
    for rc in ref.ranked:
        if rc.course_id not in chosen:
            ranked.append(
                RankedCourse(
                    course_id=rc.course_id,
                    relevance=0,
                    score=round(-1.0 - len(ranked) * 1e-4, 4),
                    rationale=f"not pre-selected by the rules ({rc.rationale})",
                )
            )
    prov = Provenance(
        backend=res["backend"],
        model=res["model"],
        seed=res["seed"],
        prompt_version=res["prompt_version"],
        attempts=res["attempts"],
    )
    teacher = f"llm:{res['model']}"
    return Ranking(user_id=user_id, teacher=teacher, ranked=ranked, provenance=prov), graded


def _user_summary(u: UserProfile, m: InteractionMetadata | None) -> str:
    parts = [
        f"{u.age} y, {u.sex or 'unspecified sex'}, {u.experience_level.value}",
        f"goals {', '.join(g.value for g in u.goals)}",
        f"likes {', '.join(a.value for a in u.preferred_activities)}",
        f"equipment {', '.join(e.value for e in u.equipment) or 'none'}",
        f"{u.sessions_per_week}x{u.session_minutes} min/week",
    ]
    if u.injuries:
        parts.append(f"injuries {', '.join(a.value for a in u.injuries)}")
    if m is not None:
        parts.append(f"completed {len(m.completed_course_ids)}, retention {m.retention_rate:g}")
    return "; ".join(parts)


def _course_summary(c: Course) -> str:
    s = (
        f"{c.title} | {c.sport.value}, {c.level.value}, goals {', '.join(g.value for g in c.goals)}"
        f", {c.sessions_per_week}x{c.session_minutes} min, needs "
        f"{', '.join(e.value for e in c.equipment) or 'nothing'}"
    )
    if c.contraindications:
        s += f", not for {', '.join(a.value for a in c.contraindications)}"
    return s
