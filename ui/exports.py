"""Download buttons for a figure (PNG at 200 ppi, SVG, PDF) and its data (CSV).

Rendering happens only when the user asks for a file (``on_click="ignore"`` keeps the page
from rerunning, and the bytes are produced lazily by a callable), so a plain toggle never
pays for vl-convert.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import altair as alt
import pandas as pd
import streamlit as st

from core.data.export import export_csv
from core.report.figures import chart_to_pdf, chart_to_png, chart_to_svg

PNG_PPI = 200


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "figure"


def downloads(name: str, chart: alt.TopLevelMixin | None, data: pd.DataFrame | None) -> None:
    """A row of download buttons for ``chart`` and ``data`` (either may be None)."""
    slug = _slug(name)
    cols = st.columns(4)
    if chart is not None:
        figures: tuple[tuple[str, str, str, Callable[[], bytes | str], str | None], ...] = (
            ("PNG", "png", "image/png", lambda: chart_to_png(chart, ppi=PNG_PPI), f"{PNG_PPI} ppi"),
            ("SVG", "svg", "image/svg+xml", lambda: chart_to_svg(chart), None),
            ("PDF", "pdf", "application/pdf", lambda: chart_to_pdf(chart), None),
        )
        for col, (label, ext, mime, make, tip) in zip(cols, figures, strict=False):
            col.download_button(
                label,
                data=make,
                file_name=f"{slug}.{ext}",
                mime=mime,
                on_click="ignore",
                key=f"{ext}_{slug}",
                help=tip,
            )
    if data is not None:
        cols[3].download_button(
            "CSV",
            data=lambda: export_csv(data),
            file_name=f"{slug}.csv",
            mime="text/csv",
            on_click="ignore",
            key=f"csv_{slug}",
        )
