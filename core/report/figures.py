"""Figure exports: PNG/SVG/PDF through vl-convert (offline).

vl-convert bundles Vega, Vega-Lite and a font database built from the system fonts, so nothing is
fetched at run time; ``allowed_base_urls=[]`` additionally refuses any remote data URL a spec
might carry. Charts from ``core.charts`` ask for "DejaVu Sans" (Debian's fonts-dejavu-core) with
Liberation Sans / Arial / Helvetica / sans-serif as fallbacks.

vl-convert is native code that can abort the whole process (it panics on a character XML does
not allow), so it never runs in the server: every render happens in a short-lived worker
process (``core/render_worker.py``, with its own memory limit) under ``WORKER_TIMEOUT``.
Specs are made safe first (``core.sanitize.vega_spec``), and PNGs are bounded to the worker's
``MAX_PIXELS`` (the resolution drops below the asked ppi for a huge figure). A failed render
raises :class:`ExportError` with a plain message; the server goes on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Literal, TypeAlias

import altair as alt

from core.fmt import number as fmt_number  # `fmt` names the image format here
from core.report import render_worker
from core.sanitize import vega_spec

__all__ = [
    "ExportError",
    "chart_spec",
    "chart_to_pdf",
    "chart_to_png",
    "chart_to_svg",
    "charts_to",
]

MIN_PPI = 72.0
WORKER_TIMEOUT = 60.0  # seconds for one batch of renders

Format = Literal["png", "svg", "pdf"]
Chart: TypeAlias = "alt.TopLevelMixin | dict[str, Any]"


class ExportError(RuntimeError):
    """A figure could not be rendered; the message says why in plain words."""


def chart_spec(chart: Chart) -> dict[str, Any]:
    """The Vega-Lite spec of an Altair chart (or a spec dict, passed through)."""
    if isinstance(chart, dict):
        return chart
    return chart.to_dict()


def charts_to(fmt: Format, charts: list[Chart], ppi: float = 200) -> list[bytes]:
    """Render several charts in one worker process (one start-up for a whole report).

    SVG comes back as UTF-8 bytes. ``ppi`` applies to PNG only (the chart's CSS pixels are
    1/72 inch, so the image is ppi/72 times the on-screen size and records the resolution)."""
    if fmt == "png" and (not ppi or ppi < MIN_PPI):
        raise ValueError(f"ppi must be at least {fmt_number(MIN_PPI)}")
    if not charts:
        return []
    jobs = [{"format": fmt, "spec": vega_spec(chart_spec(c)), "ppi": float(ppi)} for c in charts]
    return _run_worker(jobs)


def chart_to_png(chart: Chart, ppi: float = 200) -> bytes:
    """PNG bytes at ``ppi`` pixels per inch (lower only where it would pass MAX_PIXELS)."""
    return charts_to("png", [chart], ppi)[0]


def chart_to_svg(chart: Chart) -> str:
    """SVG text (vector; text stays text and uses the viewer's copy of the font)."""
    return charts_to("svg", [chart])[0].decode("utf-8")


def chart_to_pdf(chart: Chart) -> bytes:
    """PDF bytes (vector, fonts embedded by vl-convert)."""
    return charts_to("pdf", [chart])[0]


def _run_worker(jobs: list[dict[str, Any]]) -> list[bytes]:
    try:
        done = subprocess.run(
            [sys.executable, "-I", render_worker.__file__],
            input=json.dumps(jobs, allow_nan=False).encode("utf-8"),
            capture_output=True,
            timeout=WORKER_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ExportError(
            f"The figure took longer than {fmt_number(WORKER_TIMEOUT)} s to draw."
        ) from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        if done.returncode > 0 and said:
            raise ExportError(f"The figure could not be drawn: {said[-1][:300]}")
        raise ExportError(
            "The figure could not be drawn: the renderer stopped "
            f"(exit {done.returncode}; too large or not drawable). Other exports still work."
        )
    return _unpack(done.stdout, len(jobs))


def _unpack(raw: bytes, n: int) -> list[bytes]:
    out, pos = [], 0
    for _ in range(n):
        (size,) = render_worker.LENGTH.unpack_from(raw, pos)
        pos += render_worker.LENGTH.size
        out.append(raw[pos : pos + size])
        pos += size
    return out
