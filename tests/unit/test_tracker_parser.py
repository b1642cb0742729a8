"""The shared parser: the many ways coaches write exercises, headings, tables, phone cards."""

from __future__ import annotations

import pytest

from urtraining.domain import TrackerEntry
from urtraining.tracker.layout import Cell, Row
from urtraining.tracker.parser import normalise_entries, parse_rows


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Squat 4x8", {"name": "Squat", "sets": 4, "reps": 8}),
        ("Squat 4 x 8", {"name": "Squat", "sets": 4, "reps": 8}),
        (
            "Bench press 4 × 8 @ 60 kg",
            {"name": "Bench press", "sets": 4, "reps": 8, "load": "60 kg"},
        ),
        ("Pull-ups 3 sets of 10 reps", {"name": "Pull-ups", "sets": 3, "reps": 10}),
        ("Plank 3 x 45 sec", {"name": "Plank", "sets": 3, "duration_s": 45}),
        ("Easy jog 10 min", {"name": "Easy jog", "duration_s": 600}),
        (
            "8 x 50 m freestyle, 20 s rest",
            {"name": "freestyle", "sets": 8, "distance_m": 50, "rest_s": 20},
        ),
        (
            "1. Deadlift 5x5 @ 140kg, rest 3 min",
            {"name": "Deadlift", "sets": 5, "reps": 5, "load": "140 kg", "rest_s": 180},
        ),
        ("• Row: 4 sets x 12 reps, 55 kg", {"name": "Row", "sets": 4, "reps": 12, "load": "55 kg"}),
        ("- Run 5 km", {"name": "Run", "distance_m": 5000}),
        ("1.10 x 25 m butterfly", {"name": "butterfly", "sets": 10, "distance_m": 25}),
        ("2. Run 3.5 km", {"name": "Run", "distance_m": 3500}),
        ("Squat 3 x 5 @ 80%", {"name": "Squat", "sets": 3, "reps": 5, "load": "80%"}),
        ("Dips 3 x 12 bodyweight", {"name": "Dips", "sets": 3, "reps": 12, "load": "bodyweight"}),
        # OCR's glued and confused characters
        ("3.Plank3x45sec", {"name": "Plank", "sets": 3, "duration_s": 45}),
        ("Squat 5±5 @ 1O0 kg", {"name": "Squat", "sets": 5, "reps": 5, "load": "100 kg"}),
        (
            "6 x 200 mbackstroke, 30 secrest",
            {"name": "backstroke", "sets": 6, "distance_m": 200, "rest_s": 30},
        ),
        ("Ｓｑｕａｔ ５ｘ５", {"name": "Squat", "sets": 5, "reps": 5}),
    ],
)
def test_exercise_lines(line, expected):
    (entry,) = parse_rows([line]).entries
    got = entry.model_dump(exclude_none=True, exclude={"content", "section"})
    assert got == expected
    assert entry.content.strip() == entry.content and "  " not in entry.content


def test_headings_set_sections_and_are_never_entries():
    rows = [
        "STRENGTH PROGRAM",
        "Day 1: Upper body",
        "1. Bench press 4 x 8 @ 60 kg",
        "Rest 90 s between exercises",
        "WORKOUT 3",
        "Squat 5x5",
        "Day 2 - 45 min",
        "Bike 20 min",
    ]
    result = parse_rows(rows)
    assert [(e.name, e.section) for e in result.entries] == [
        ("Bench press", "Day 1: Upper body"),
        ("Squat", "WORKOUT 3"),
        ("Bike", "Day 2 - 45 min"),
    ]
    assert "Rest 90 s between exercises" in result.notes


def test_a_heading_number_ocr_lost_comes_back_from_its_place_in_the_sequence():
    rows = ["DAY - PUSH", "Bench press 4 x 8", "DAY 2 - PULL", "Row 3 x 10", "Day 3", "Dips 3 x 8"]
    result = parse_rows(rows)
    assert [e.section for e in result.entries] == ["DAY 1 - PUSH", "DAY 2 - PULL", "Day 3"]
    assert result.headings[0] == "DAY 1 - PUSH"


@pytest.mark.parametrize(
    "rows",
    [
        ["WORKOUT", "Squat 5 x 5"],  # no other heading: nothing says which workout
        ["Day 1", "Squat 5 x 5", "Day", "Row 3 x 10", "Day 5", "Dips 3 x 8"],  # 5 is not 3rd
        ["Day", "Squat 5 x 5", "Day 2", "Row 3 x 10", "Day", "Dips 3 x 8"],  # twice the same
        ["Day 1", "Squat 5 x 5", "Day 2", "Row 3 x 10", "Day off", "Walk 2 x 10 min"],  # no number
    ],
)
def test_heading_numbers_are_not_guessed_without_a_consistent_sequence(rows):
    result = parse_rows(rows)
    assert [e.section for e in result.entries] == [r for r in rows if "x" not in r]


def test_phone_card_name_then_numbers_is_one_entry():
    rows = [
        "9:41",
        "87%",
        "Today",
        "Bench press",
        "4 sets × 8 reps · 60 kg · rest 90 s",
        "Plank",
        "3 × 45 s",
    ]
    entries = parse_rows(rows).entries
    assert [(e.name, e.sets, e.reps, e.load, e.rest_s, e.duration_s) for e in entries] == [
        ("Bench press", 4, 8, "60 kg", 90, None),
        ("Plank", 3, None, None, None, 45),
    ]


def _row(*cells: tuple[str, float, float]) -> Row:
    return Row(cells=[Cell(text=t, x0=a, x1=b, y0=0, y1=20) for t, a, b in cells])


def test_table_with_an_unreadable_name_header_still_reads_its_rows():
    # Humor Sans: RapidOCR read EXERCISE as "ExERCIiSE"; the number columns still make it a table
    header = _row(("ExERCIiSE", 10, 120), ("SETS", 300, 340), ("REPS", 400, 440),
                  ("REST (S)", 620, 700))  # fmt: skip
    row = _row(("DIPS", 12, 70), ("3", 315, 325), ("20", 412, 428), ("30", 650, 670))
    (dips,) = parse_rows([header, row]).entries
    assert (dips.name, dips.sets, dips.reps, dips.rest_s) == ("DIPS", 3, 20, 30)


def test_a_number_row_is_not_mistaken_for_a_name_header():
    header = _row(("12", 10, 40), ("Sets", 300, 340), ("Reps", 400, 440))
    row = _row(("Dips", 12, 70), ("3", 315, 325), ("20", 412, 428))
    assert parse_rows([header, row]).entries == []


def test_table_rows_are_entries_mapped_by_column():
    header = _row(
        ("Exercise", 10, 100),
        ("Sets", 300, 340),
        ("Reps", 400, 440),
        ("Load (kg)", 480, 580),
        ("Rest (s)", 620, 700),
    )
    rows = [
        "Day 1 - Legs",
        header,
        _row(
            ("Back squat", 12, 130),
            ("4", 315, 325),
            ("8", 415, 425),
            ("82.5", 510, 550),
            ("120", 645, 675),
        ),
        # OCR merged two cells into one box: split by the columns it spans
        _row(("Pull-ups", 12, 100), ("3 10", 310, 430), ("BW", 515, 545), ("-", 655, 660)),
        "Day 2 - Swim",
        "4 x 100 m freestyle",
    ]
    entries = parse_rows(rows).entries
    squat, pullups, swim = entries
    assert (squat.name, squat.sets, squat.reps, squat.load, squat.rest_s, squat.section) == (
        "Back squat",
        4,
        8,
        "82.5 kg",
        120,
        "Day 1 - Legs",
    )
    assert (pullups.name, pullups.sets, pullups.reps, pullups.load, pullups.rest_s) == (
        "Pull-ups",
        3,
        10,
        "bodyweight",
        None,
    )
    assert squat.content == "Back squat 4 x 8 @ 82.5 kg, rest 120 s"
    assert (swim.section, swim.distance_m) == ("Day 2 - Swim", 100)


def test_no_text_and_no_exercises_give_reasons():
    assert parse_rows([]).reason == "no text found in the image"
    result = parse_rows(["My notes", "Drink water."])
    assert result.entries == [] and "no exercise lines" in result.reason


def test_max_entries_caps_output():
    assert len(parse_rows([f"Squat {i} x 5" for i in range(1, 9)], max_entries=3).entries) == 3


def test_normalise_entries_fills_missing_fields_and_keeps_given_ones():
    given = [
        TrackerEntry(content="Day 1: Legs"),
        TrackerEntry(content="  Squat 5x5 @ 100kg ", section="Day 1: Legs"),
        TrackerEntry(content="Curl 3 x 12", reps=10),  # the model's own value wins
    ]
    squat, curl = normalise_entries(given)
    assert squat.model_dump(exclude_none=True) == {
        "content": "Squat 5 x 5 @ 100 kg",
        "name": "Squat",
        "sets": 5,
        "reps": 5,
        "load": "100 kg",
        "section": "Day 1: Legs",
    }
    assert (curl.sets, curl.reps) == (3, 10)
