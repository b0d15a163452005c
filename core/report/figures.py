"""Figure exports: PNG/SVG/PDF through vl-convert (offline).

vl-convert bundles Vega, Vega-Lite and a font database built from the system fonts, so nothing is
fetched at run time; ``allowed_base_urls=[]`` additionally refuses any remote data URL a spec
might carry. Charts from ``core.charts`` ask for "DejaVu Sans" (Debian's fonts-dejavu-core) with
Liberation Sans / Arial / Helvetica / sans-serif as fallbacks.
"""

from __future__ import annotations

from typing import Any

import altair as alt

__all__ = ["chart_spec", "chart_to_pdf", "chart_to_png", "chart_to_svg"]

MIN_PPI = 72.0
NO_REMOTE: list[str] = []  # vl-convert: an empty allow-list blocks every external URL


def chart_spec(chart: alt.TopLevelMixin | dict[str, Any]) -> dict[str, Any]:
    """The Vega-Lite spec of an Altair chart (or a spec dict, passed through)."""
    if isinstance(chart, dict):
        return chart
    return chart.to_dict()


def _vlc():
    import vl_convert  # imported lazily: only exports need the renderer

    return vl_convert


def chart_to_png(chart: alt.TopLevelMixin | dict[str, Any], ppi: float = 200) -> bytes:
    """PNG bytes at ``ppi`` pixels per inch (the chart's CSS pixels are 1/72 inch, so the image is
    ppi/72 times the on-screen size and the PNG records the resolution)."""
    if not ppi or ppi < MIN_PPI:
        raise ValueError(f"ppi must be at least {MIN_PPI:g}")
    return _vlc().vegalite_to_png(chart_spec(chart), ppi=float(ppi), allowed_base_urls=NO_REMOTE)


def chart_to_svg(chart: alt.TopLevelMixin | dict[str, Any]) -> str:
    """SVG text (vector; text stays text and uses the viewer's copy of the font)."""
    return _vlc().vegalite_to_svg(chart_spec(chart), allowed_base_urls=NO_REMOTE)


def chart_to_pdf(chart: alt.TopLevelMixin | dict[str, Any]) -> bytes:
    """PDF bytes (vector, fonts embedded by vl-convert)."""
    return _vlc().vegalite_to_pdf(chart_spec(chart), allowed_base_urls=NO_REMOTE)
