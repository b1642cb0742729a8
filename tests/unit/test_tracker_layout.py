"""OCR boxes -> rows: lines grouped by height, read left to right, detector echoes dropped."""

from urtraining.tracker.layout import cells_from_ocr, group_rows


def _box(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def test_boxes_on_one_line_form_one_row_in_reading_order():
    rows = group_rows(
        cells_from_ocr([
            (_box(300, 12, 380, 40), "45 s", 0.9),
            (_box(10, 10, 280, 42), "Plank 3 x", 0.9),
            (_box(10, 60, 200, 90), "Easy jog 20 min", 0.9),
        ])
    )  # fmt: skip
    assert [r.text for r in rows] == ["Plank 3 x 45 s", "Easy jog 20 min"]


def test_a_box_found_again_inside_a_longer_one_is_dropped():
    # RapidOCR returned "Plank 3 x 45 s" and a second box over its last "s"
    boxes = [(_box(6, 18, 201, 58), "Plank 3 x 45 s", 0.95), (_box(189, 30, 206, 51), "S", 0.97)]
    assert [r.text for r in group_rows(cells_from_ocr(boxes))] == ["Plank 3 x 45 s"]


def test_table_cells_side_by_side_are_all_kept():
    # "10" in the Reps column and "10 kg" in the Load column: same text, different places
    boxes = [
        (_box(10, 10, 200, 40), "Goblet squat", 0.9),
        (_box(220, 10, 250, 40), "10", 0.9),
        (_box(300, 10, 380, 40), "10 kg", 0.9),
    ]
    assert group_rows(cells_from_ocr(boxes))[0].text == "Goblet squat 10 10 kg"
