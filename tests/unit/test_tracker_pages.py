from __future__ import annotations

from urtraining.domain import TrackerEntry
from urtraining.tracker import TrackerPage, to_tracker_pages
from urtraining.tracker.metrics import score


def test_pages_carry_targets_per_set_and_program_order():
    entries = [
        TrackerEntry(
            content="Bench press 3 x 8 @ 60 kg, rest 90 s",
            name="Bench press",
            sets=3,
            reps=8,
            load="60 kg",
            rest_s=90,
            section="Day 1",
        ),
        TrackerEntry(content="Plank 2 x 45 s", name="Plank", sets=2, duration_s=45),
        TrackerEntry(content="8 x 50 m freestyle", name="freestyle", sets=8, distance_m=50),
        TrackerEntry(content="Easy jog 10 min", name="Easy jog", duration_s=600),
        TrackerEntry(content="Foam rolling"),
    ]
    bench, plank, swim, jog, foam = to_tracker_pages(entries)
    assert isinstance(bench, TrackerPage) and bench.page == 1 and foam.page == 5
    assert (bench.kind, len(bench.rows), bench.rest_s, bench.section) == ("sets", 3, 90, "Day 1")
    assert {(r.target_reps, r.target_load) for r in bench.rows} == {(8, "60 kg")}
    assert [r.set_number for r in bench.rows] == [1, 2, 3]
    assert (plank.kind, len(plank.rows), plank.rows[0].target_duration_s) == ("timed", 2, 45)
    assert (swim.kind, len(swim.rows), swim.rows[0].target_distance_m) == ("distance", 8, 50)
    assert (jog.kind, len(jog.rows), jog.rows[0].target_duration_s) == ("timed", 1, 600)
    assert (foam.kind, foam.title, foam.subtitle) == ("check", "Foam rolling", "Foam rolling")
    assert bench.model_dump(mode="json")["entry"]["sets"] == 3


def test_metrics_count_names_and_numbers():
    truth = [
        TrackerEntry(content="a", name="Bench press", sets=3, reps=8, load="60 kg"),
        TrackerEntry(content="b", name="Plank", sets=2, duration_s=45),
    ]
    right = [
        TrackerEntry(content="x", name="bench  Press", sets=3, reps=8, load="60kg"),
        TrackerEntry(content="y", name="Plank", sets=2, duration_s=45),
    ]
    assert score(truth, right).f1 == 1.0
    wrong_number = [right[0].model_copy(update={"reps": 10}), right[1]]
    s = score(truth, wrong_number)
    assert s.matched == 1 and s.field_right["reps"] == 0 and s.field_right["sets"] == 2
    swapped = score(truth, list(reversed(right)))
    assert swapped.f1 == 1.0 and swapped.in_order == 1
    assert score(truth, []).f1 == 0.0
