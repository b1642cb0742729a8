"""Synthetic users, courses and teacher rankings behind one interface (see ``base``)."""

from __future__ import annotations

from pathlib import Path

from urtraining.config import SynthConfig, TeacherConfig
from urtraining.synth.base import Generator, Teacher

__all__ = ["Generator", "Teacher", "get_generator", "get_teacher"]


def get_generator(cfg: SynthConfig, work_dir: Path | None = None) -> Generator:
    """``work_dir`` holds an LLM backend's incremental cache (resume after a kill)."""
    if cfg.backend == "procedural":
        from urtraining.synth.procedural import ProceduralGenerator

        return ProceduralGenerator()
    from urtraining.synth.llm.generator import LLMGenerator

    return LLMGenerator(cfg, work_dir=work_dir)


def get_teacher(cfg: TeacherConfig, work_dir: Path | None = None) -> Teacher:
    if cfg.backend == "rules":
        from urtraining.synth.rules import RuleTeacher

        return RuleTeacher()
    from urtraining.synth.llm.teacher import ReasoningTeacher

    return ReasoningTeacher(cfg, work_dir=work_dir)
