"""``urtraining track IMAGE [IMAGE ...]`` (DESIGN.md §5) and the demo's tracker part."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from urtraining.errors import UsageError


def _settings(
    backend: str,
    vlm_url: str | None,
    vlm_model: str | None,
    hf_model: str | None,
    max_pixels: int,
    max_mb: float,
    timeout: float,
):
    from urtraining.tracker.settings import BACKENDS, TrackerSettings

    if backend not in BACKENDS:
        raise UsageError(f"--backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    return TrackerSettings(
        backend=backend,
        vlm_base_url=vlm_url,
        vlm_model=vlm_model,
        hf_model=hf_model,
        max_pixels=max_pixels,
        max_image_bytes=int(max_mb * 1024 * 1024),
        timeout_s=timeout,
    )


def _read(path: Path) -> bytes:
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if not path.is_file():
        raise UsageError(f"{path}: not a file")
    return path.read_bytes()


def _jsonable(entries, pages: bool) -> list[dict]:
    from urtraining.tracker.pages import to_tracker_pages

    items = to_tracker_pages(entries) if pages else entries
    return [i.model_dump(mode="json", exclude_none=True) for i in items]


def track(
    images: list[Path] = typer.Argument(..., help="workout program images (PNG, JPEG, ...)"),
    backend: str = typer.Option("ocr", help="ocr (offline default), vlm or transformers"),
    pages: bool = typer.Option(False, "--pages", help="print tracker pages instead of entries"),
    vlm_url: str | None = typer.Option(None, help="vlm: OpenAI-compatible base URL (…/v1)"),
    vlm_model: str | None = typer.Option(None, help="vlm: model name served there"),
    hf_model: str | None = typer.Option(None, help="transformers: model folder"),
    max_pixels: int = typer.Option(40_000_000, help="refuse images with more pixels"),
    max_mb: float = typer.Option(10.0, help="refuse files larger than this many MiB"),
    timeout: float = typer.Option(60.0, help="vlm: seconds per request"),
) -> None:
    """Read workout program images into tracker entries (one JSON array, or one line each)."""
    from urtraining.tracker.backends import get_backend
    from urtraining.tracker.service import track_bytes_explained

    settings = _settings(backend, vlm_url, vlm_model, hf_model, max_pixels, max_mb, timeout)
    if len(images) == 1:
        try:
            result = track_bytes_explained(_read(images[0]), settings)
        except UsageError as exc:
            message = str(exc)
            if str(images[0]) in message:
                raise
            raise type(exc)(f"{images[0]}: {message}") from exc
        if result.reason:
            typer.echo(f"urtraining: {images[0]}: {result.reason}", err=True)
        print(json.dumps(_jsonable(result.entries, pages), ensure_ascii=False, indent=2))
        return
    engine = get_backend(settings)
    for path in images:
        line: dict = {"image": str(path)}
        try:
            result = track_bytes_explained(_read(path), settings, backend=engine)
            line["pages" if pages else "entries"] = _jsonable(result.entries, pages)
            if result.reason:
                line["reason"] = result.reason
        except UsageError as exc:  # one bad image must not stop the batch
            line["error"] = str(exc)
        print(json.dumps(line, ensure_ascii=False), flush=True)


def demo(out_dir: Path) -> str:
    """Render the sample program, read it with the default backend; a printable summary."""
    from urtraining.tracker.pages import to_tracker_pages
    from urtraining.tracker.render import render_sample_program
    from urtraining.tracker.service import track_bytes_explained

    image = render_sample_program(Path(out_dir) / "tracker_sample.png")
    result = track_bytes_explained(image.read_bytes())
    lines = [f"tracker: read {len(result.entries)} entries from {image} (backend ocr)"]
    for page in to_tracker_pages(result.entries):
        targets = ", ".join(
            f"set {r.set_number}: "
            + " ".join(
                x
                for x in (
                    f"{r.target_reps} reps" if r.target_reps else "",
                    f"@ {r.target_load}" if r.target_load else "",
                    f"{r.target_duration_s} s" if r.target_duration_s else "",
                    f"{r.target_distance_m} m" if r.target_distance_m else "",
                )
                if x
            )
            for r in page.rows
        )
        rest = f" | rest {page.rest_s} s" if page.rest_s else ""
        lines.append(f"  [{page.page}] {page.section or '-'} | {page.subtitle}")
        lines.append(f"      page '{page.title}' ({page.kind}): {targets}{rest}")
    if result.reason:
        lines.append(f"  ({result.reason})")
    return "\n".join(lines)
