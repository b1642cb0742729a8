"""Workout programs drawn as images, with their ground truth: the evaluation set.

Layouts: numbered and bulleted lists, ruled tables, dark-mode phone screenshots, lined
paper. Degradations: rotation, blur, noise, uneven light, JPEG, a photo's lower resolution.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

from pydantic import BaseModel

from urtraining.domain import TrackerEntry
from urtraining.tracker.fonts import TUNING_FONTS, FontSpec, font_for, has_glyph
from urtraining.tracker.programs import Program, exercise_line, random_program, truth

LAYOUTS = ("numbered", "bulleted", "table", "phone_dark", "lined_paper")


class Sample(BaseModel):
    layout: str
    font: str
    degraded: bool
    seed: int
    truth: list[TrackerEntry]


def _text_height(font) -> int:
    top, bottom = font.getbbox("Ag")[1::2]
    return bottom - top


def render_list(program: Program, font: FontSpec, rng: random.Random, bulleted: bool):
    from PIL import Image, ImageDraw

    size = rng.randint(24, 32)
    body, bold = font_for(font, size), font_for(font, size + 4, bold=True)
    times = "×" if has_glyph(font, "×", size) and rng.random() < 0.4 else "x"
    bullet = "•" if has_glyph(font, "•", size) and rng.random() < 0.6 else "-"
    step = int(_text_height(body) * rng.uniform(1.7, 2.1))
    items: list[tuple[str, object, int]] = [(program.title.upper(), bold, 0)]
    gt: list[TrackerEntry] = []
    for day in program.days:
        items.append(("", body, 0))
        items.append((day.title, bold, 0))
        for i, ex in enumerate(day.exercises, 1):
            line = exercise_line(ex, rng, times)
            marker = f"{bullet} " if bulleted else f"{i}. "
            items.append((marker + line, body, 20))
            gt.append(truth(ex, line, day.title))
    width = max(int(body.getlength(t)) + x for t, _, x in items) + 120
    img = Image.new("RGB", (max(width, 700), step * (len(items) + 2)), "white")
    draw = ImageDraw.Draw(img)
    y = step
    for text, f, indent in items:
        draw.text((50 + indent, y), text, fill=(20, 20, 20), font=f)
        y += step
    return img, gt


def render_table(program: Program, font: FontSpec, rng: random.Random):
    from PIL import Image, ImageDraw

    size = rng.randint(22, 28)
    body, bold = font_for(font, size), font_for(font, size + 2, bold=True)
    headers = ["Exercise", "Sets", "Reps", "Load (kg)", "Rest (s)"]
    row_h = int(_text_height(body) * 2.3)
    name_w = max(body.getlength(e.name) for d in program.days for e in d.exercises) + 60
    col_w = [int(max(name_w, 260))] + [int(body.getlength(h)) + 50 for h in headers[1:]]
    x0 = 50
    height = sum(row_h * (len(d.exercises) + 3) for d in program.days) + row_h * 2
    img = Image.new("RGB", (x0 * 2 + sum(col_w), height), "white")
    draw = ImageDraw.Draw(img)
    gt: list[TrackerEntry] = []
    y = row_h // 2
    draw.text((x0, y), program.title, fill="black", font=bold)
    y += row_h
    for day in program.days:
        y += row_h // 2
        draw.text((x0, y), day.title, fill="black", font=bold)
        y += row_h
        top = y
        rows = [headers]
        for ex in day.exercises:
            load = ex.load.removesuffix(" kg") if ex.load else "BW"
            rows.append([ex.name, str(ex.sets), str(ex.reps), load, str(ex.rest_s or "-")])
            line = f"{ex.name} {ex.sets} x {ex.reps}" + (f" @ {ex.load}" if ex.load else "")
            line += f", rest {ex.rest_s} s" if ex.rest_s else ""
            loaded = ex if ex.load else ex.model_copy(update={"load": "bodyweight"})
            gt.append(truth(loaded, line, day.title))
        for r, cells in enumerate(rows):
            if r == 0:
                draw.rectangle([x0, y, x0 + sum(col_w), y + row_h], fill=(225, 230, 240))
            x = x0
            for c, (text, w) in enumerate(zip(cells, col_w, strict=True)):
                f = bold if r == 0 else body
                tx = x + 12 if c == 0 else x + (w - f.getlength(text)) / 2
                draw.text((tx, y + row_h * 0.22), text, fill="black", font=f)
                x += w
            y += row_h
        # the grid: ruled tables are what trips naive OCR modes
        x = x0
        for w in [0, *col_w]:
            x += w
            draw.line([(x, top), (x, y)], fill=(90, 90, 90), width=2)
        for yy in range(top, y + 1, row_h):
            draw.line([(x0, yy), (x0 + sum(col_w), yy)], fill=(90, 90, 90), width=2)
    return img, gt


def render_phone(program: Program, font: FontSpec, rng: random.Random):
    from PIL import Image, ImageDraw

    width = 720
    size = rng.randint(28, 34)
    name_f, detail_f = font_for(font, size, bold=True), font_for(font, size - 6)
    head_f, status_f = font_for(font, size + 6, bold=True), font_for(font, 24)
    times = "×" if has_glyph(font, "×", size) else "x"
    dot = " · " if has_glyph(font, "·", size) else ", "
    card_h = int(_text_height(name_f) * 3.6)
    n_cards = sum(len(d.exercises) for d in program.days)
    height = 220 + n_cards * (card_h + 20) + len(program.days) * 110
    img = Image.new("RGB", (width, height), (18, 18, 20))
    draw = ImageDraw.Draw(img)
    # status bar: digits that are not exercises
    draw.text((30, 18), f"9:{rng.randint(10, 59)}", fill=(235, 235, 235), font=status_f)
    draw.text((width - 110, 18), f"{rng.randint(20, 99)}%", fill=(235, 235, 235), font=status_f)
    draw.text((30, 90), program.title, fill=(250, 250, 250), font=head_f)
    y = 180
    gt: list[TrackerEntry] = []
    for day in program.days:
        draw.text((30, y), day.title, fill=(120, 190, 255), font=name_f)
        y += 80
        for ex in day.exercises:
            draw.rounded_rectangle([20, y, width - 20, y + card_h], radius=18, fill=(38, 38, 44))
            draw.text((44, y + card_h * 0.16), ex.name, fill=(245, 245, 245), font=name_f)
            detail = _phone_detail(ex, times, dot)
            draw.text((44, y + card_h * 0.56), detail, fill=(160, 160, 170), font=detail_f)
            gt.append(truth(ex, f"{ex.name} {detail}", day.title))
            y += card_h + 20
        y += 30
    return img, gt


def _phone_detail(ex, times: str, dot: str) -> str:
    parts = []
    if ex.distance_m:
        parts.append(f"{ex.sets} {times} {ex.distance_m} m")
    elif ex.reps:
        parts.append(f"{ex.sets} sets {times} {ex.reps} reps")
    elif ex.sets:
        parts.append(f"{ex.sets} {times} {ex.duration_s} s")
    else:
        parts.append(f"{(ex.duration_s or 0) // 60} min")
    if ex.load:
        parts.append(ex.load)
    if ex.rest_s:
        parts.append(f"rest {ex.rest_s} s")
    return dot.join(parts)


def render_lined_paper(program: Program, font: FontSpec, rng: random.Random):
    from PIL import Image, ImageDraw

    size = rng.randint(28, 34)
    body = font_for(font, size)
    step = int(_text_height(body) * 2.0)
    lines: list[tuple[str, int]] = []
    gt: list[TrackerEntry] = []
    for day in program.days:
        lines.append((day.title, 0))
        for ex in day.exercises:
            line = exercise_line(ex, rng, "x")
            lines.append((line, 16))
            gt.append(truth(ex, line, day.title))
        lines.append(("", 0))
    width = max(int(body.getlength(t)) for t, _ in lines) + 220
    img = Image.new("RGB", (max(width, 800), step * (len(lines) + 3)), (250, 246, 232))
    draw = ImageDraw.Draw(img)
    for yy in range(step * 2, img.height, step):
        draw.line([(0, yy), (img.width, yy)], fill=(160, 190, 230), width=2)
    draw.line([(90, 0), (90, img.height)], fill=(230, 120, 120), width=2)
    ink = rng.choice([(25, 35, 120), (30, 30, 30)])
    y = step * 2
    for text, indent in lines:
        jitter_x, jitter_y = rng.randint(-6, 6), rng.randint(-3, 1)
        draw.text(
            (110 + indent + jitter_x, y - _text_height(body) - 8 + jitter_y),
            text,
            fill=ink,
            font=body,
        )
        y += step
    return img, gt


def degrade(img, rng: random.Random):
    """A phone photo of the page: lower resolution, tilt, uneven light, blur, noise, JPEG."""
    import numpy as np
    from PIL import Image, ImageFilter

    scale = rng.uniform(0.75, 0.95)
    img = img.resize((int(img.width * scale), int(img.height * scale)), Image.BILINEAR)
    angle = rng.uniform(-4, 4)
    fill = img.getpixel((2, 2))
    img = img.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=fill)
    arr = np.asarray(img).astype(np.float32)
    h, w = arr.shape[:2]
    # a light source off to one side: one corner up to 45 % darker
    gx = np.linspace(0, 1, w)[None, :] * rng.uniform(-1, 1)
    gy = np.linspace(0, 1, h)[:, None] * rng.uniform(-1, 1)
    light = 1 - rng.uniform(0.2, 0.45) * np.clip(np.abs(gx + gy), 0, 1)
    arr = arr * light[..., None]
    arr += np.random.default_rng(rng.randint(0, 2**31)).normal(0, rng.uniform(4, 10), arr.shape)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.1)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=rng.randint(40, 70))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def render_sample(layout: str, font: FontSpec, seed: int, degraded: bool = False):
    """One evaluation image and its ground truth."""
    rng = random.Random(f"{layout}/{font.name}/{seed}/{degraded}")
    program = random_program(rng, table=layout == "table")
    if layout in ("numbered", "bulleted"):
        img, gt = render_list(program, font, rng, bulleted=layout == "bulleted")
    elif layout == "table":
        img, gt = render_table(program, font, rng)
    elif layout == "phone_dark":
        img, gt = render_phone(program, font, rng)
    elif layout == "lined_paper":
        img, gt = render_lined_paper(program, font, rng)
    else:
        raise ValueError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if degraded:
        img = degrade(img, rng)
    return img, Sample(layout=layout, font=font.name, degraded=degraded, seed=seed, truth=gt)


def render_sample_program(path: str | Path) -> Path:
    """The demo's sample: a numbered two-day program in Pillow's bundled font, as PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img, _ = render_sample("numbered", TUNING_FONTS[0], seed=1)
    from urtraining.io import atomic_path

    with atomic_path(path, suffix=path.suffix) as tmp:
        img.save(tmp, format="PNG")
    return path
