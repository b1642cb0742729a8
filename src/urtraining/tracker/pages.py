"""Tracker pages: what the app renders for one entry (a row to log per set, with targets)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from urtraining.domain import TrackerEntry


class SetRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    set_number: int = Field(ge=1)
    target_reps: int | None = None
    target_load: str | None = None
    target_duration_s: int | None = None
    target_distance_m: int | None = None


class TrackerPage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page: int = Field(ge=1, description="position in the program, from 1")
    title: str
    subtitle: str = Field(description="the entry's content: the line as the coach wrote it")
    section: str | None = None
    #: what the user logs: reps/load per set, a time, a distance, or just a check mark
    kind: Literal["sets", "timed", "distance", "check"]
    rows: list[SetRow]
    rest_s: int | None = None
    entry: TrackerEntry


def _kind(e: TrackerEntry) -> str:
    if e.distance_m is not None:
        return "distance"
    if e.duration_s is not None and e.reps is None:
        return "timed"
    if e.sets is not None or e.reps is not None or e.load is not None:
        return "sets"
    return "check"


def to_tracker_page(entry: TrackerEntry, number: int) -> TrackerPage:
    kind = _kind(entry)
    n_rows = entry.sets or 1
    rows = [
        SetRow(
            set_number=i,
            target_reps=entry.reps,
            target_load=entry.load,
            target_duration_s=entry.duration_s if kind in ("timed", "distance") else None,
            target_distance_m=entry.distance_m,
        )
        for i in range(1, n_rows + 1)
    ]
    return TrackerPage(
        page=number,
        title=entry.name or entry.content,
        subtitle=entry.content,
        section=entry.section,
        kind=kind,
        rows=rows,
        rest_s=entry.rest_s,
        entry=entry,
    )


def to_tracker_pages(entries: list[TrackerEntry]) -> list[TrackerPage]:
    """One page per entry, in program order."""
    return [to_tracker_page(e, i) for i, e in enumerate(entries, 1)]
