"""Vega-Lite specs of the small-study-effects charts: contour regions, hollow filled studies,
the bubble plot's fitted line."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.charts.bias import (
    bubble_chart,
    bubble_frames,
    funnel_chart,
    funnel_frame,
    ratio_ticks,
    regions_frame,
)
from core.stats.bias import funnel_data, trim_and_fill
from core.stats.pooling import pool
from core.stats.subgroups import meta_regression

# asymmetric funnel: small studies (large vi) show larger benefits
YI = np.array([-0.9, -0.75, -0.6, -0.5, -0.45, -0.3, -0.25, -0.2, -0.15, -0.1])
VI = np.array([0.30, 0.25, 0.2, 0.12, 0.1, 0.05, 0.04, 0.03, 0.02, 0.01])
QUALITY = np.array([1.0, 2, 2, 3, 3, 4, 5, 5, 6, 7])


def _rows() -> pd.DataFrame:
    w = 1.0 / VI
    return pd.DataFrame(
        {
            "study_id": [f"s{i}" for i in range(YI.size)],
            "label": [f"Study {i}" for i in range(YI.size)],
            "yi": YI,
            "vi": VI,
            "weight": 100 * w / w.sum(),
        }
    )


def _layers(spec: dict) -> list[dict]:
    return spec["layer"]


def _data(spec: dict, layer: dict) -> list[dict]:
    return spec["datasets"][layer["data"]["name"]]


def _mark(layer: dict) -> dict:
    m = layer["mark"]
    return m if isinstance(m, dict) else {"type": m}


def _funnel_spec(tf=None):
    est = pool(YI, VI).estimate
    fd = funnel_data(YI, VI, estimate=est)
    frame = funnel_frame(_rows(), fd, tf)
    adjusted = None if tf is None else tf.estimate
    chart = funnel_chart(frame, fd, measure_label="Odds ratio", adjusted=adjusted)
    return chart.to_dict(), fd, frame


def test_contour_regions_at_normal_quantiles_as_functions_of_se():
    spec, fd, _ = _funnel_spec()
    shading = _layers(spec)[0]
    assert _mark(shading)["type"] == "area"
    assert _mark(shading)["orient"] == "horizontal"
    rows = pd.DataFrame(_data(spec, shading))
    assert set(rows["region"]) == {"p > 0.10", "0.05 < p < 0.10", "0.01 < p < 0.05", "p < 0.01"}
    top = rows["sei"].max()
    assert top > fd.sei_max  # the regions reach the bottom of the plot
    # at the bottom, each boundary is at +/- z SE, or at the edge of the plot where that is
    # beyond it (nothing is drawn outside the plot)
    lo, hi = shading["encoding"]["x"]["scale"]["domain"]
    at = rows[rows["sei"] == top].set_index(["region", "part"])
    z90, z95, z99 = 1.6448536269514722, 1.959963984540054, 2.5758293035489004

    def edge(x: float) -> float:
        return float(np.clip(x, min(lo, 0.0), max(hi, 0.0)))

    assert at.loc[("p > 0.10", "centre"), "x2"] == pytest.approx(edge(z90 * top), rel=1e-12)
    assert at.loc[("p > 0.10", "centre"), "x"] == pytest.approx(edge(-z90 * top), rel=1e-12)
    assert at.loc[("0.05 < p < 0.10", "right"), ["x", "x2"]].tolist() == pytest.approx(
        [edge(z90 * top), edge(z95 * top)], rel=1e-12
    )
    assert at.loc[("0.01 < p < 0.05", "left"), ["x", "x2"]].tolist() == pytest.approx(
        [edge(-z99 * top), edge(-z95 * top)], rel=1e-12
    )
    assert at.loc[("p < 0.01", "right"), "x"] == pytest.approx(edge(z99 * top), rel=1e-12)
    # above the SE where it meets the edge, a boundary is exactly +/- z SE
    centre = rows[(rows["region"] == "p > 0.10") & (rows["sei"] * z90 < hi)]
    assert len(centre) >= 2
    assert centre["x2"].to_numpy() == pytest.approx(z90 * centre["sei"].to_numpy(), rel=1e-12)
    # apex of every boundary at the null, SE = 0
    apex = rows[rows["sei"] == 0]
    inner = apex[apex["region"] != "p < 0.01"]
    assert np.allclose(inner[["x", "x2"]].to_numpy(), 0.0)
    # the y axis is the standard error, reversed (0 at the top)
    y = shading["encoding"]["y"]
    assert y["field"] == "sei" and y["scale"]["reverse"] is True and y["scale"]["domain"][0] == 0


def test_regions_do_not_overlap_and_tile_the_width():
    fd = funnel_data(YI, VI, estimate=-0.3)
    reg = regions_frame(fd, (-3.0, 2.0), 0.6)
    bottom = reg[reg["sei"] == 0.6].sort_values("x")
    # consecutive pieces meet exactly: x2 of one is x of the next
    assert np.allclose(bottom["x2"].to_numpy()[:-1], bottom["x"].to_numpy()[1:])
    assert bottom["x"].iloc[0] == -3.0 and bottom["x2"].iloc[-1] == 2.0


def test_regions_and_limits_stay_inside_the_plot():
    """Nothing is drawn beyond the plot's x range, even clipped away (a browser counts a
    clipped-away shape in the chart's size: the page ran off a phone's screen). Where a
    boundary meets the edge it runs on down it: the shading keeps its shape inside."""
    fd = funnel_data(YI, VI, estimate=-0.3)
    reg = regions_frame(fd, (-1.5, 0.8), 0.8)
    assert reg["x"].min() >= -1.5 and reg["x2"].max() <= 0.8
    # the 99% boundary on the right, 2.576 SE, meets the edge 0.8 at SE 0.8 / 2.576: a bend
    z99 = 2.5758293035489004
    right = reg[(reg["region"] == "p < 0.01") & (reg["part"] == "right")].set_index("sei")
    bend = 0.8 / z99
    assert right.loc[bend, "x"] == pytest.approx(0.8)
    inside = right[right.index < bend]
    assert inside["x"].to_numpy() == pytest.approx(z99 * inside.index.to_numpy())
    # the pseudo-95% limits end where they leave the plot
    spec, _, _ = _funnel_spec()
    lo, hi = _layers(spec)[0]["encoding"]["x"]["scale"]["domain"]
    lines = [layer for layer in _layers(spec) if _mark(layer)["type"] == "line"]
    limits = next(ly for ly in lines if _mark(ly).get("strokeDash") == [5, 4])
    xs = [r["x"] for r in _data(spec, limits)]
    assert min(xs) >= lo - 1e-12 and max(xs) <= hi + 1e-12


def test_pooled_line_and_pseudo_limits():
    spec, fd, _ = _funnel_spec()
    lines = [layer for layer in _layers(spec) if _mark(layer)["type"] == "line"]
    pooled = next(ly for ly in lines if "strokeDash" not in _mark(ly))
    assert [r["x"] for r in _data(spec, pooled)] == pytest.approx([fd.estimate] * 2)
    limits = next(ly for ly in lines if _mark(ly).get("strokeDash") == [5, 4])
    for r in _data(spec, limits):
        sign = -1 if r["line"] == "lower" else 1
        assert r["x"] == pytest.approx(fd.estimate + sign * 1.959963984540054 * r["sei"])


def test_studies_filled_and_trim_and_fill_points_hollow():
    tf = trim_and_fill(YI, VI)
    assert tf.k0 > 0
    spec, _, frame = _funnel_spec(tf)
    assert (frame["kind"] == "filled").sum() == tf.k0
    filled = frame[frame["kind"] == "filled"]
    assert filled["yi"].to_numpy() == pytest.approx(tf.filled_yi)
    assert filled["sei"].to_numpy() == pytest.approx(np.sqrt(tf.filled_vi))
    points = [ly for ly in _layers(spec) if _mark(ly)["type"] in ("point", "circle")]
    kinds = {ly["transform"][0]["filter"].split("===")[-1].strip(" ')\""): ly for ly in points}
    assert _mark(kinds["filled"])["filled"] is False
    assert _mark(kinds["study"])["type"] == "circle"  # circles are filled
    # the adjusted estimate is drawn
    adjusted = [ly for ly in _layers(spec) if _mark(ly).get("strokeDash") == [6, 3]]
    assert [r["x"] for r in _data(spec, adjusted[0])] == pytest.approx([tf.estimate] * 2)
    # tooltip carries the study label and its numbers
    tips = [t["field"] for t in kinds["study"]["encoding"]["tooltip"]]
    assert tips[:2] == ["label", "ci_text"]


def test_no_trim_and_fill_layers_without_it():
    spec, _, frame = _funnel_spec()
    assert set(frame["kind"]) == {"study"}
    assert not [ly for ly in _layers(spec) if _mark(ly).get("strokeDash") == [6, 3]]
    assert not [ly for ly in _layers(spec) if _mark(ly).get("filled") is False]


def test_funnel_frame_ratios():
    fd = funnel_data(YI, VI)
    frame = funnel_frame(_rows(), fd)
    assert frame["ratio"].to_numpy() == pytest.approx(np.exp(YI))
    assert frame["ci_low"].to_numpy() == pytest.approx(np.exp(YI - 1.959963984540054 * np.sqrt(VI)))


def test_ratio_axis_labels_are_ratios_at_log_positions():
    spec, _, _ = _funnel_spec()
    axis = _layers(spec)[0]["encoding"]["x"]["axis"]
    assert "exp(datum.value)" in axis["labelExpr"]
    ratios = [round(math.exp(v), 6) for v in axis["values"]]
    assert 1.0 in ratios and all(r in (0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0) for r in ratios)
    assert ratio_ticks(math.log(0.001), math.log(50)) == pytest.approx(
        [math.log(r) for r in (0.001, 0.01, 0.1, 1, 10)]
    )


def test_bubble_line_equals_meta_regression_prediction():
    fit = meta_regression(YI, VI, QUALITY, method="REML")
    points, line = bubble_frames(fit, list(_rows()["label"]))
    spec = bubble_chart(points, line, x_title="Quality score", measure_label="Odds ratio").to_dict()
    layers = _layers(spec)
    fitted = next(ly for ly in layers if _mark(ly)["type"] == "line")
    data = pd.DataFrame(_data(spec, fitted))
    assert data["pred"].to_numpy() == pytest.approx(fit.predict(data["x"].to_numpy()).pred)
    assert data["x"].min() == QUALITY.min() and data["x"].max() == QUALITY.max()
    band = next(ly for ly in layers if _mark(ly)["type"] == "area")
    assert (
        band["encoding"]["y"]["field"] == "ci_low" and band["encoding"]["y2"]["field"] == "ci_high"
    )
    pred = fit.predict(data["x"].to_numpy())
    assert data["ci_low"].to_numpy() == pytest.approx(pred.ci_low)
    assert data["ci_high"].to_numpy() == pytest.approx(pred.ci_high)
    bubbles = next(ly for ly in layers if _mark(ly)["type"] == "circle")
    assert bubbles["encoding"]["size"]["field"] == "weight"
    pts = pd.DataFrame(_data(spec, bubbles))
    assert pts["weight"].to_numpy() == pytest.approx(fit.weights)
    assert pts["x"].to_numpy() == pytest.approx(QUALITY)
    assert pts["yi"].to_numpy() == pytest.approx(YI)


def test_charts_are_json_safe_with_extreme_values():
    yi = np.array([-8.0, 0.1, 7.5])
    vi = np.array([4.0, 0.01, 9.0])
    rows = pd.DataFrame(
        {"study_id": list("abc"), "label": list("ABC"), "yi": yi, "vi": vi, "weight": np.nan}
    )
    fd = funnel_data(yi, vi)
    spec = funnel_chart(funnel_frame(rows, fd), fd, measure_label="Hazard ratio").to_json()
    assert "NaN" not in spec and "Infinity" not in spec
