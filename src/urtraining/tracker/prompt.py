"""The VLM's instructions and output schema, versioned; both derive from TrackerEntry.

A model answers ``{"entries": [TrackerEntry, ...]}`` (an object root, because OpenAI-style
``json_schema`` response formats require one); a bare array is accepted too.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache

from pydantic import ValidationError

from urtraining.domain import TrackerEntry
from urtraining.tracker.settings import TrackerError

PROMPT_VERSION = "tracker-v1"

SYSTEM_PROMPT = """You read photos and screenshots of workout programs written by coaches.
Return every exercise as one entry, in reading order, as JSON matching the given schema.
- content: the exercise as one clean readable line, e.g. "Bench press 4 x 8 @ 60 kg, rest 90 s".
- name: the exercise name only. sets, reps, duration_s, distance_m, rest_s: integers
  (convert minutes to seconds and km to metres); load: as written, e.g. "60 kg", "70%".
- section: the day or block heading the exercise sits under, e.g. "Day 1: Upper body".
- Headings, titles, notes and app chrome (clock, battery) are never entries.
- A table row is one entry. If the image holds no exercises, return {"entries": []}."""

USER_PROMPT = "List the exercises in this workout program."


@lru_cache(maxsize=8)
def response_schema(max_entries: int = 100) -> dict:
    entry = TrackerEntry.model_json_schema()
    return {
        "type": "object",
        "properties": {"entries": {"type": "array", "items": entry, "maxItems": max_entries}},
        "required": ["entries"],
        "additionalProperties": False,
    }


def prompt_hash(max_entries: int = 100) -> str:
    blob = json.dumps(
        [PROMPT_VERSION, SYSTEM_PROMPT, USER_PROMPT, response_schema(max_entries)], sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def parse_model_output(text: str | None) -> list[TrackerEntry]:
    """A model's answer -> entries; anything unusable is a clean 'could not read' error."""
    if not text or not text.strip():
        raise TrackerError("could not read the image: the model returned an empty answer")
    body = re.sub(r"^```(?:json)?\s*|\s*```$", "", text.strip())
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        data = _first_json_value(body)
    if isinstance(data, dict):
        data = data.get("entries")
    if not isinstance(data, list):
        raise TrackerError("could not read the image: the model's answer is not a list of entries")
    entries = []
    for item in data:
        if isinstance(item, str):
            item = {"content": item}
        try:
            entries.append(TrackerEntry.model_validate(item))
        except ValidationError:
            continue  # one bad entry should not lose the rest of the page
    if data and not entries:
        raise TrackerError("could not read the image: no entry in the model's answer was valid")
    return entries


def _first_json_value(text: str):
    """Models sometimes wrap JSON in prose: take the first decodable object or array."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[\[{]", text):
        try:
            value, _ = decoder.raw_decode(text[match.start() :])
            return value
        except json.JSONDecodeError:
            continue
    raise TrackerError("could not read the image: the model's answer was not JSON")
