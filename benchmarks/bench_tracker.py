"""Image-to-tracker quality and speed per layout, on rendered programs with ground truth.

Fonts: the ones the parser was tuned on, held-out print fonts and handwriting-like fonts
(scripts/install_fonts.sh installs the held-out ones; missing fonts are reported, not faked).
Each (layout, font) is rendered clean and degraded (a phone photo: tilt, blur, noise, uneven
light, JPEG). Writes benchmarks/results/tracker.md.

    .venv/bin/python benchmarks/bench_tracker.py [--per-cell 2] [--backend ocr]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import get_args

from urtraining.tracker import TrackerSettings, get_backend, track_bytes
from urtraining.tracker.fonts import HANDWRITING_FONTS, HELD_OUT_FONTS, TUNING_FONTS, available
from urtraining.tracker.metrics import REPORTED_FIELDS, Score, score
from urtraining.tracker.ocr_models import DetModel, RecModel
from urtraining.tracker.render import LAYOUTS, render_sample

RESULTS = Path(__file__).parent / "results" / "tracker.md"
COLUMNS = [
    "fonts", "layout", "condition", "images", "entries", "precision", "recall", "F1",
    "sets", "reps", "load", "rest", "section", "order",
    "wall s/image (median)", "wall s/image (max)", "CPU s/image (median)",
]  # fmt: skip


def font_groups(only: str | None) -> dict[str, list]:
    groups = {
        "tuning": available(TUNING_FONTS),
        "held-out": available(HELD_OUT_FONTS),
        "handwriting": available(HANDWRITING_FONTS),
    }
    return {k: v for k, v in groups.items() if only in (None, k)}


def _sum(scores: list[Score]) -> dict:
    tot = lambda attr: sum(getattr(s, attr) for s in scores)  # noqa: E731
    truth, pred, matched = tot("truth"), tot("predicted"), tot("matched")
    p = matched / pred if pred else 0.0
    r = matched / truth if truth else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    fields = {
        f: sum(s.field_right[f] for s in scores) / max(1, sum(s.field_total[f] for s in scores))
        for f in REPORTED_FIELDS
    }
    order = tot("in_order") / matched if matched else 0.0
    section = tot("section_right") / truth if truth else 0.0
    return {"p": p, "r": r, "f1": f1, "fields": fields, "order": order, "section": section}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--per-cell", type=int, default=2, help="images per layout x font x clean/degraded"
    )
    ap.add_argument("--backend", default="ocr")
    ap.add_argument("--seed-offset", type=int, default=300, help="fresh programs: not tuned on")
    ap.add_argument("--fonts", choices=["tuning", "held-out", "handwriting"], default=None)
    ap.add_argument("--layouts", nargs="*", default=list(LAYOUTS))
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--show-misses", action="store_true")
    ap.add_argument("--threads", type=int, default=None, help="onnxruntime threads (default: all)")
    ap.add_argument("--rec-model", choices=get_args(RecModel), default=None, help="OCR recognizer")
    ap.add_argument("--det-model", choices=get_args(DetModel), default=None, help="OCR detector")
    ap.add_argument(
        "--no-repair", action="store_true", help="OCR text as read (the ablation of ocr_repair)"
    )
    ap.add_argument(
        "--retime", type=int, default=10,
        help="time the N slowest images again, 5 runs each (one run's max is noise-prone)",
    )  # fmt: skip
    args = ap.parse_args()

    models = {"ocr_rec_model": args.rec_model, "ocr_det_model": args.det_model}
    settings = TrackerSettings(
        backend=args.backend,
        ocr_threads=args.threads,
        ocr_repair=not args.no_repair,
        **{k: v for k, v in models.items() if v},
    )
    t0 = time.perf_counter()
    backend = get_backend(settings)
    load_s = time.perf_counter() - t0
    groups = font_groups(args.fonts)
    missing = [
        s.name for s in TUNING_FONTS + HELD_OUT_FONTS + HANDWRITING_FONTS if s not in available([s])
    ]

    cells: dict[tuple, list[Score]] = defaultdict(list)
    secs: dict[tuple, list[float]] = defaultdict(list)
    cpu: dict[tuple, list[float]] = defaultdict(list)
    timed: list[tuple[float, str, bytes, tuple[int, int]]] = []
    for group, fonts in groups.items():
        for layout in args.layouts:
            for font in fonts:
                for degraded in (False, True):
                    for seed in range(args.seed_offset, args.seed_offset + args.per_cell):
                        img, sample = render_sample(layout, font, seed, degraded)
                        buf = io.BytesIO()
                        img.save(buf, "JPEG" if degraded else "PNG", quality=90)
                        t, c = time.perf_counter(), time.process_time()
                        pred = track_bytes(buf.getvalue(), settings, backend=backend)
                        dt = time.perf_counter() - t
                        dc = time.process_time() - c
                        s = score(sample.truth, pred)
                        cond = "degraded" if degraded else "clean"
                        label = f"{layout} / {font.name} / {cond} / seed {seed}"
                        timed.append((dt, label, buf.getvalue(), img.size))
                        for key in (
                            (group, layout, cond),
                            (group, "ALL", cond),
                            ("ALL", layout, cond),
                            ("ALL", "ALL", cond),
                        ):
                            cells[key].append(s)
                            secs[key].append(dt)
                            cpu[key].append(dc)
                        if args.show_misses and s.f1 < 1:
                            print(f"--- {layout} {font.name} {cond} seed={seed} f1={s.f1:.2f}")
                            for e in sample.truth:
                                print("   T", e.model_dump(exclude_none=True, exclude={"content"}))
                            for e in pred:
                                print("   P", e.model_dump(exclude_none=True))
                        print(
                            f"{group:11s} {layout:12s} {font.name:16s} {cond:8s} "
                            f"f1={s.f1:.2f} {dt:.2f}s cpu {dc:.2f}s",
                            file=sys.stderr,
                        )

    lines = [
        "# Image-to-tracker benchmark",
        "",
        f"Backend `{args.backend}`"
        + (
            " with OCR repair (text rules and name decoding) "
            if settings.ocr_repair
            else " without OCR repair (no text rules, no name decoding) "
        )
        + f"(recognizer {settings.ocr_rec_model}, detector {settings.ocr_det_model}, "
        f"model load {load_s:.1f} s, "
        f"{args.threads or 'all'} onnxruntime threads). "
        f"Machine: {os.cpu_count()} CPU cores "
        f"(shared with other jobs), no GPU, {platform.python_implementation()} "
        f"{platform.python_version()}. {args.per_cell} image(s) per layout x font x condition; "
        "images are rendered programs (1-3 days, 3-5 exercises a day) with ground truth, "
        f"seeds from {args.seed_offset} (the parser and the OCR repair were tuned on seeds "
        "below 300). "
        + (
            "The same images read without the repair: `tracker-no-repair.md` (`--no-repair`)."
            if settings.ocr_repair
            else "The default (with repair) is `tracker.md`."
        ),
        "An entry matches when its name and all its numbers (sets, reps, load, duration, "
        "distance, rest) are right. Field accuracy counts truth fields found with the right value. "
        "Order = share of matched entries in reading order. s/image = wall time of "
        "`track_bytes` (decode + OCR + layout + parse); CPU s/image = process CPU time over all "
        "threads (it grows under contention too: waiting onnxruntime threads spin). "
        f"Load average during the run: {os.getloadavg()[0]:.1f} (other jobs share the cores, "
        "so wall times are upper bounds).",
        "",
        "Fonts: tuning = "
        + ", ".join(f.name for f in groups.get("tuning", []))
        + "; held-out = "
        + ", ".join(f.name for f in groups.get("held-out", []))
        + "; handwriting-like = "
        + ", ".join(f.name for f in groups.get("handwriting", []))
        + "."
        + (
            f" Not installed (run scripts/install_fonts.sh): {', '.join(missing)}."
            if missing
            else ""
        ),
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + " --- |" * len(COLUMNS),
    ]
    for key in sorted(cells, key=lambda k: (k[0] == "ALL", k[0], k[1] == "ALL", k[1], k[2])):
        agg = _sum(cells[key])
        f = agg["fields"]
        row = [
            *key,
            len(cells[key]),
            sum(s.truth for s in cells[key]),
            f"{agg['p']:.3f}",
            f"{agg['r']:.3f}",
            f"**{agg['f1']:.3f}**",
            *(f"{f[name]:.3f}" for name in REPORTED_FIELDS),
            f"{agg['section']:.3f}",
            f"{agg['order']:.3f}",
            f"{statistics.median(secs[key]):.2f}",
            f"{max(secs[key]):.2f}",
            f"{statistics.median(cpu[key]):.2f}",
        ]
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    if args.retime:
        lines += [
            "",
            f"The {args.retime} slowest images above, timed again (5 runs each, same process):",
            "",
            "| image | pixels | first run s | median s | min s |",
            "| --- | --- | --- | --- | --- |",
        ]
        for first, label, data, size in sorted(timed, reverse=True)[: args.retime]:
            runs = []
            for _ in range(5):
                t = time.perf_counter()
                track_bytes(data, settings, backend=backend)
                runs.append(time.perf_counter() - t)
            lines.append(
                f"| {label} | {size[0]}x{size[1]} | {first:.2f} | "
                f"{statistics.median(runs):.2f} | {min(runs):.2f} |"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
