"""OCR boxes -> reading-order rows: deskew, then group boxes that share a text line.

A row keeps its cells (text with x-extent) so tables can map cells to their columns; a plain
list line is just a row whose cells are joined with spaces.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from pydantic import BaseModel


class Cell(BaseModel):
    text: str
    x0: float
    x1: float
    y0: float
    y1: float
    score: float = 1.0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def yc(self) -> float:
        return (self.y0 + self.y1) / 2


class Row(BaseModel):
    cells: list[Cell]

    @property
    def text(self) -> str:
        return " ".join(c.text.strip() for c in self.cells if c.text.strip())

    @classmethod
    def of_text(cls, text: str) -> Row:
        return cls(cells=[Cell(text=text, x0=0, x1=1, y0=0, y1=1)])


Quad = Sequence[Sequence[float]]


def skew_angle(quads: Sequence[Quad]) -> float:
    """Median slope (radians) of the top edges of wide boxes: the page's rotation."""
    angles = []
    for q in quads:
        (xa, ya), (xb, yb) = q[0], q[1]
        width = math.hypot(xb - xa, yb - ya)
        height = math.hypot(q[3][0] - q[0][0], q[3][1] - q[0][1])
        if width > 3 * max(height, 1.0):
            angles.append(math.atan2(yb - ya, xb - xa))
    return statistics.median(angles) if angles else 0.0


def cells_from_ocr(boxes: Sequence[tuple[Quad, str, float]]) -> list[Cell]:
    """Axis-aligned cells in the page's own (de-rotated) frame."""
    angle = skew_angle([b[0] for b in boxes])
    cos, sin = math.cos(-angle), math.sin(-angle)
    cells = []
    for quad, text, score in boxes:
        xs, ys = [], []
        for x, y in quad:
            xs.append(x * cos - y * sin)
            ys.append(x * sin + y * cos)
        cells.append(
            Cell(text=text, x0=min(xs), x1=max(xs), y0=min(ys), y1=max(ys), score=float(score))
        )
    return cells


def group_rows(cells: Sequence[Cell]) -> list[Row]:
    """Cells on one text line form a row; rows come top to bottom, cells left to right."""
    if not cells:
        return []
    rows: list[list[Cell]] = []
    for cell in sorted(cells, key=lambda c: c.yc):
        if rows:
            last = rows[-1]
            band_y0 = statistics.median(c.y0 for c in last)
            band_y1 = statistics.median(c.y1 for c in last)
            overlap = min(band_y1, cell.y1) - max(band_y0, cell.y0)
            # half the smaller height: a tall bold cell and a small unit cell still share a line
            if overlap >= 0.5 * min(band_y1 - band_y0, cell.height):
                last.append(cell)
                continue
        rows.append([cell])
    return [Row(cells=sorted(_without_echoes(r), key=lambda c: c.x0)) for r in rows]


def _without_echoes(cells: list[Cell]) -> list[Cell]:
    """Drop a small box the detector found again inside a longer one: "Plank 3 x 45 s" also
    came back with a second box over its last "s", which would read "Plank 3 x 45 s S"."""

    def echoes(small: Cell, big: Cell) -> bool:
        inside = min(small.x1, big.x1) - max(small.x0, big.x0)
        return (
            small is not big
            and big.x1 - big.x0 > small.x1 - small.x0
            and inside >= 0.6 * (small.x1 - small.x0)
            and small.text.strip().lower() in big.text.lower()
        )

    return [c for c in cells if not any(echoes(c, other) for other in cells)]
