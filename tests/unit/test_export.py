"""core.report.figures: PNG/SVG/PDF through vl-convert (offline) and formula-guarded CSV."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from core.charts.forest import forest_chart
from core.data.export import export_csv
from core.report.figures import chart_to_pdf, chart_to_png, chart_to_svg, charts_to
from tests.unit.test_charts import forest_frame

PNG_SIG = b"\x89PNG\r\n\x1a\n"


def png_info(png: bytes) -> tuple[int, int, float | None]:
    """Width, height and pixels per inch (from pHYs, if present) of a PNG."""
    assert png[:8] == PNG_SIG
    assert png[12:16] == b"IHDR"
    w, h = struct.unpack(">II", png[16:24])
    i = png.find(b"pHYs")
    ppi = None
    if i > 0:
        px, py, unit = struct.unpack(">IIB", png[i + 4 : i + 13])
        assert px == py and unit == 1  # per metre
        ppi = px * 0.0254
    return w, h, ppi


@pytest.fixture(scope="module")
def chart():
    return forest_chart(forest_frame(), measure_label="Odds ratio", title="OS")


def test_png_at_200_ppi(chart):
    w72, h72, _ = png_info(chart_to_png(chart, ppi=72))
    w, h, ppi = png_info(chart_to_png(chart))
    assert w == pytest.approx(w72 * 200 / 72, abs=3)
    assert h == pytest.approx(h72 * 200 / 72, abs=3)
    assert ppi is None or ppi == pytest.approx(200, abs=1)
    # at 200 ppi a plot a few inches wide has well over 1000 pixels
    assert w >= 1000 and w / w72 >= 200 / 72 - 0.01


def test_png_higher_ppi_bigger(chart):
    w200, _, _ = png_info(chart_to_png(chart, ppi=200))
    w300, _, _ = png_info(chart_to_png(chart, ppi=300))
    assert w300 == pytest.approx(w200 * 1.5, abs=3)


def test_png_rejects_silly_ppi(chart):
    with pytest.raises(ValueError):
        chart_to_png(chart, ppi=10)


def test_svg_parses(chart):
    svg = chart_to_svg(chart)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert "Favours RT" in svg and "Odds ratio" in svg


def test_pdf_signature(chart):
    pdf = chart_to_pdf(chart)
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000


def test_export_accepts_spec_dict(chart):
    assert chart_to_png(chart.to_dict(), ppi=72).startswith(PNG_SIG)


def test_remote_data_refused():
    spec = {
        "data": {"url": "https://example.com/data.csv"},
        "mark": "point",
        "encoding": {"x": {"field": "a", "type": "quantitative"}},
    }
    with pytest.raises(Exception, match="not allowed"):
        chart_to_svg(spec)


def test_csv_guard_and_numbers_untouched():
    df = pd.DataFrame(
        {
            "study": ['=HYPERLINK("x")', "+1 cmd", "-2+3", "@SUM(A1)", "\tx", "\rx", "Wei 2019"],
            "obj": pd.Series(["=1", 2, None, "ok", "-x", 3.5, "a=b"], dtype=object),
            "yi": [-1.5, 0.2, -0.0, 1e-9, -3.0, 2.0, float("nan")],
            "k": [-1, 2, 3, 4, 5, 6, 7],
            "flag": [True, False, True, True, False, True, False],
        }
    )
    raw = export_csv(df)
    assert isinstance(raw, bytes)
    back = pd.read_csv(pd.io.common.BytesIO(raw), dtype=str, keep_default_na=False)
    assert back["study"].tolist() == [
        '\'=HYPERLINK("x")',
        "'+1 cmd",
        "'-2+3",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "Wei 2019",
    ]
    assert back["obj"].tolist() == ["'=1", "2", "", "ok", "'-x", "3.5", "a=b"]
    assert back["yi"].tolist() == ["-1.5", "0.2", "-0.0", "1e-09", "-3.0", "2.0", ""]
    assert back["k"].tolist() == ["-1", "2", "3", "4", "5", "6", "7"]
    assert back["flag"].tolist()[:2] == ["True", "False"]
    # input untouched
    assert df.loc[0, "study"].startswith("=")


def test_csv_utf8():
    raw = export_csv(pd.DataFrame({"label": ["I² = 12%", "0.35 [0.23–0.54] †"]}))
    assert raw.decode("utf-8").splitlines()[1:] == ["I² = 12%", "0.35 [0.23–0.54] †"]


def test_a_too_low_resolution_is_refused_in_words() -> None:
    with pytest.raises(ValueError, match=r"^ppi must be at least 72$"):
        charts_to("png", [], ppi=10)
