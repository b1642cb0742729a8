"""OCR repair: lookalike letters in numbers, misread exercise words, and what must stay."""

import pytest

from urtraining.tracker.ocr_repair import Lexicon, repair, repair_numbers
from urtraining.tracker.parser import parse_rows


@pytest.mark.parametrize(
    ("read", "meant"),
    [
        ("ROMANIAN DEADLIFT 5 x 6 @ 47.S KG", "ROMANIAN DEADLIFT 5 x 6 @ 47.5 KG"),
        ("BRISK WALK IO MIN", "BRISK WALK 10 MIN"),
        ("FRONT SQUAT 5 x 5, REST GOS", "FRONT SQUAT 5 x 5, REST 60 S"),
        ("HIP THRUST - 4 XI 0, 30 S REST", "HIP THRUST - 4 x 10, 30 S REST"),
        ("Mountain climbers Zxlo, rest 2 min", "Mountain climbers 2 x 10, rest 2 min"),
        ("6 xzo 0 m freestyle", "6 x 200 m freestyle"),
        ("Dead hang 4 x 2 os", "Dead hang 4 x 20s"),
        ("Easy jog 3 OMIN", "Easy jog 30MIN"),
        ("Leg curl 3 x 8, 45 srest", "Leg curl 3 x 8, 45 s rest"),
        ("Goblet squat 3 x 12, 2O kg, l min rest", "Goblet squat 3 x 12, 20 kg, 1 min rest"),
    ],
)
def test_lookalike_letters_become_digits_where_a_number_is_meant(read, meant):
    assert repair_numbers(read) == meant


@pytest.mark.parametrize(
    "line",
    [
        "Box jumps 3 x 10",
        "Box 10 min",  # "Bo" before an x is a word, not 80
        "Rest is 2 min",
        "1.SQUATS 3 x 8",  # a list number, not 1.5
        "Hollow hold 3 x 30 s",  # the unit stays a unit
        "4 x 8 1 min rest",  # two numbers, not 81
        "3 lbs",
        "Side plank 2 x 30 s each side",
        "8 x 50 m freestyle, 20 s rest",
    ],
)
def test_free_text_and_clean_numbers_are_left_alone(line):
    assert repair(line) == line


@pytest.mark.parametrize(
    ("read", "meant"),
    [
        ("Shrgs 5 sets x 6 reps", "Shrugs 5 sets x 6 reps"),
        ("Lateral maise 6 x 15", "Lateral raise 6 x 15"),
        ("Ovehend press 3 x 5", "Overhead press 3 x 5"),
        ("Montainclimers 4 x 8", "Mountain climbers 4 x 8"),  # glued and misread
        ("GOBLETSQUAT 3 x 12", "GOBLET SQUAT 3 x 12"),  # case kept
        ("Jmp rope 4 x 45 sec", "Jump rope 4 x 45 sec"),
        ("Wallsit 3 x 20 s", "Wall sit 3 x 20 s"),  # two known words, not "Walls"
    ],
)
def test_misread_exercise_words_snap_to_the_vocabulary(read, meant):
    assert repair(read) == meant


def test_words_far_from_the_vocabulary_or_ambiguous_stay_as_read():
    lexicon = Lexicon({"pull", "pulls", "press"})
    assert lexicon.correct("Zercher 3 x 5") == "Zercher 3 x 5"  # nothing within reach
    assert lexicon.nearest("pres") == "press"
    assert Lexicon({"cat", "bat"}).nearest("hat") is None  # a tie: no guess


def test_repaired_line_parses_into_the_right_entry():
    (entry,) = parse_rows([repair("ROMANIAN DEADLIFT 5 x 6 @ 47.S KG, REST GOS")]).entries
    assert (entry.sets, entry.reps, entry.load, entry.rest_s) == (5, 6, "47.5 kg", 60)
    (entry,) = parse_rows([repair("Shrgs Zxlo, rest 2 min")]).entries
    assert (entry.name, entry.sets, entry.reps, entry.rest_s) == ("Shrugs", 2, 10, 120)


@pytest.mark.parametrize(
    ("read", "meant"),
    [
        # the point after whole reps is a misread comma: the load or the rest follows
        ("Lat pulldown-6 x 10.40 kg.45 s rest", "Lat pulldown-6 x 10, 40 kg.45 s rest"),
        ("Calf raises-2 x 5.57.5 kg", "Calf raises-2 x 5, 57.5 kg"),
        ("PULL-UPS 2 x 8.1 MIN REST", "PULL-UPS 2 x 8, 1 MIN REST"),
        # the x OCR dropped from a pool interval or before an "@ load"
        ("freestyle 6200 m, rest 15 s", "freestyle 6 x 200 m, rest 15 s"),
        ("breaststroke 650 m, rest 15 s", "breaststroke 6 x 50 m, rest 15 s"),
        ("10200 m pull buoy", "10 x 200 m pull buoy"),
        ("Lateral raise 215 @ 5 kg", "Lateral raise 2 x 15 @ 5 kg"),
        ("Easy jog S min", "Easy jog 5 min"),
    ],
)
def test_separators_ocr_misread_or_dropped_are_restored(read, meant):
    assert repair_numbers(read) == meant


@pytest.mark.parametrize(
    "line",
    [
        "Easy swim 1500 m",  # a distance swum in one go, not 1 x 500
        "Swim 2000 m",
        "Swim 800 m",
        "Row 4 x 1.5 km",  # a decimal distance per interval is real
        "Intervals 3 x 2.5 min",
        "Bench press 3 x 8 @ 100 kg",
        "Bench press 315 lb",  # a load without "@" is a load
        "Squat 315 @ RPE 8",  # a load at an effort
        "Squat 5 x 5 @ 102.5 kg",
    ],
)
def test_real_numbers_that_look_like_lost_separators_stay(line):
    assert repair(line) == line


@pytest.mark.parametrize(
    ("read", "meant"),
    [
        # Humor Sans: OCR reads whole lines without a space
        ("-MOUNTAINCLIMBERS5XI5 REPS.REST9OS", "-MOUNTAIN CLIMBERS 5 x 15 REPS.REST 90S"),
        ("4.SEATEDCABLEROW:3SETSOFI0REPS.45KG", "4.SEATED CABLE ROW:3SETS OF 10 REPS.45KG"),
        ("-DEAD HANG4X4OS.REST45S", "-DEAD HANG 4 x 40S.REST 45S"),
        ("PUSH-UPS:2SETSOF2OREPS.1MINREST", "PUSH-UPS:2SETS OF 20REPS.1MIN REST"),
        ("STRENGTHPROGRAM", "STRENGTH PROGRAM"),
        ("Montoinclimbers 4 x 12", "Mountain climbers 4 x 12"),  # not "M on to in"
    ],
)
def test_dropped_spaces_come_back_between_known_words_and_numbers(read, meant):
    assert repair(read) == meant


def test_segment_splits_only_into_known_words():
    lexicon = Lexicon({"seated", "cable", "row", "sets", "mountain"})
    assert lexicon.segment("SEATEDCABLEROW") == "SEATED CABLE ROW"
    assert lexicon.segment("SETSOFI") == "SETS OF I"  # one letter left over: a lookalike 1
    assert lexicon.segment("Zercherpress") is None  # unknown words are not chopped up
    assert lexicon.segment("Mountain") is None  # a known word stays whole


def test_glued_line_parses_into_the_right_entry():
    (entry,) = parse_rows([repair("-MOUNTAINCLIMBERS5XI5 REPS.REST9OS")]).entries
    assert (entry.name, entry.sets, entry.reps, entry.rest_s) == ("MOUNTAIN CLIMBERS", 5, 15, 90)


@pytest.mark.parametrize(
    ("read", "meant"),
    [
        # a real person's handwriting (dkg-handwriting): g read as y or lost, m of min as w
        ("Barbell row-3 x 8, 47.5 kyrest 1 wind", "Barbell row-3 x 8, 47.5 kg rest 1 min"),
        ("Back squat:4 sets of 8 reps, 80 k", "Back squat:4 sets of 8 reps, 80 kg"),
        ("Goblet squat 4 x 15, 1 winrest", "Goblet squat 4 x 15, 1 min rest"),
        ("Lat pulldown 2 wnret", "Lat pulldown 2 min rest"),
        # phone cards: the "·" separators swallowed a unit or the x
        (
            "Dumbbell curl 5 sets 12 reps·15 rest 45 s",
            "Dumbbell curl 5 sets 12 reps·15 kg rest 45 s",
        ),
        ("Wall sit 2.45 s·rest 60 s", "Wall sit 2 x 45 s·rest 60 s"),
        ("5sets12eps·15est45s", "5sets 12reps·15 kg rest 45s"),  # words fixed first
        # a card's second line: the numbers under the name, nothing before them
        ("2.45s·rest60s", "2 x 45 s·rest 60s"),
        ("215 @ 5 kg", "2 x 15 @ 5 kg"),
        # PP-OCRv6 on handwriting: the s of seconds read as a 5, the x as a point
        ("Burpees: 2 sets of 20 reps, rest 455", "Burpees: 2 sets of 20 reps, rest 45 s"),
        ("Lat pulldown 3 x 15 @ 47.5 kg, rest 45 5", "Lat pulldown 3 x 15 @ 47.5 kg, rest 45 s"),
        ("Calf raises 3 x 15 @ 45 kg, rest 180 5", "Calf raises 3 x 15 @ 45 kg, rest 180 s"),
        ("Hollow hold 3 x 45 5", "Hollow hold 3 x 45 s"),
        ("Kettlebell swing 2 sets .6 reps", "Kettlebell swing 2 sets x 6 reps"),
        ("6 . 200 m freestyle, rest 10 s", "6 x 200 m freestyle, rest 10 s"),
        # a heading's number read as a letter, glued or not
        ("WORKOUT I", "WORKOUT 1"),
        ("WORKOUTI", "WORKOUT 1"),  # not snapped to "WORKOUT" by the lexicon
        ("DAY I; STRENGTH", "DAY 1; STRENGTH"),
        ("Day Z - Push", "Day 2 - Push"),
    ],
)
def test_handwritten_units_and_swallowed_separators_are_restored(read, meant):
    assert repair(read) == meant


@pytest.mark.parametrize(
    "line",
    [
        "Sprint 9.58 s",
        "9.58 s",  # a recorded time on a line of its own
        "315 @ RPE 8",
        "Kettlebell 16 kg",
        "3 wind sprints",
        "5k run",
        "Run 5 km",
        "Kettlebell swing 3 x 15 @ 24 kg",
        "Bike 5 min, 2 mins rest",
        "Plank 3 x 30 s, rest 105",  # a rest a coach could mean: only > 300 s is a lost s
        "Rest 45",
        "Squat 3 x 10 5 kg",  # a 5 before a unit is a number
        "3. 200 m freestyle",  # a numbered list's item, not 3 x 200 m
        "Swim 1.5 km",
        "Day I did squats",
    ],
)
def test_units_that_are_already_right_stay(line):
    assert repair(line) == line
