"""Reading a rendered PDF page the way a reader sees it (poppler's pdftotext and pdftoppm): the text lines with
their boxes, overlapping text, and the tallest empty band of the page."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

POPPLER = shutil.which("pdftotext") and shutil.which("pdftoppm")


def need_poppler() -> None:
    """Skip without poppler-utils locally; under CI (.ci/run installs it) its absence is a failure."""
    if not POPPLER:
        if os.environ.get("CI"):
            pytest.fail("poppler-utils (pdftotext, pdftoppm) is required under CI: .ci/run installs it")
        pytest.skip("poppler-utils absent: apt-get install poppler-utils")


@dataclass(frozen=True)
class Line:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float  # points, origin top left

    def overlaps(self, other: Line, tol: float = 0.3) -> bool:
        return (
            min(self.x1, other.x1) - max(self.x0, other.x0) > tol
            and min(self.y1, other.y1) - max(self.y0, other.y0) > tol
        )


def text_lines(pdf: bytes) -> tuple[list[Line], tuple[float, float]]:
    """Every text line of the first page with its box, and the page size (points)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "doc.pdf", Path(tmp) / "doc.html"
        src.write_bytes(pdf)
        subprocess.run(["pdftotext", "-bbox-layout", "-f", "1", "-l", "1", str(src), str(out)], check=True)
        root = ET.fromstring(out.read_text(encoding="utf-8"))
    ns = {"h": "http://www.w3.org/1999/xhtml"}
    page = root.find(".//h:page", ns)
    lines = []
    for line in page.iterfind(".//h:line", ns):
        words = [w.text or "" for w in line.iterfind("h:word", ns)]
        text = " ".join(words).replace("\u00a0", " ").replace("\u202f", " ")  # no-break spaces read as spaces
        lines.append(Line(text, *(float(line.get(k)) for k in ("xMin", "yMin", "xMax", "yMax"))))
    return lines, (float(page.get("width")), float(page.get("height")))


def overlapping(lines: list[Line]) -> list[tuple[str, str]]:
    """Pairs of lines whose boxes intersect (more than 0.3 pt both ways)."""
    return [(a.text, b.text) for i, a in enumerate(lines) for b in lines[i + 1 :] if a.overlaps(b)]


def render(pdf: bytes, dpi: int = 60) -> np.ndarray:
    """The first page as a grey-level image (rows × columns, 0–255)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "doc.pdf"
        src.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-gray", "-f", "1", "-l", "1", str(src), str(Path(tmp) / "p")], check=True
        )
        ppm = next(Path(tmp).glob("p*.pgm")).read_bytes()
    # binary PGM: "P5\n<w> <h>\n<max>\n" then one byte a pixel
    parts = ppm.split(b"\n", 3)
    w, h = (int(v) for v in parts[1].split())
    return np.frombuffer(parts[3], dtype=np.uint8)[: w * h].reshape(h, w)


def tallest_blank_band(image: np.ndarray) -> float:
    """Height, as a share of the page, of the tallest run of empty rows between the first and last inked rows."""
    inked = (image < 245).any(axis=1)
    rows = np.flatnonzero(inked)
    best = run = 0
    for ink in inked[rows[0] : rows[-1] + 1]:
        run = 0 if ink else run + 1
        best = max(best, run)
    return best / image.shape[0]
