"""Vega-Lite specs of the sensitivity chart builders: rows equal core results, highlights,
the null rule at 1, log scales, reference bands."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.charts.sensitivity import (
    AXIS_LIMITS,
    FLAG_COLOR,
    baujat_chart,
    cumulative_chart,
    estimator_chart,
    fmt_ratio,
    gosh_chart,
    leave_one_out_chart,
    quality_sweep_chart,
)
from core.report.figures import chart_to_svg
from core.stats.sensitivity import (
    baujat,
    gosh,
    influence,
    leave_one_out,
)
from core.views.sensitivity import (
    cumulative_frame,
    estimator_panel,
    leave_one_out_frame,
)

Y = np.array([-0.9, -1.6, -0.2, -1.4, 0.3])
V = np.array([0.3, 0.2, 0.4, 0.05, 0.5])
IDS = ["s1", "s2", "s3", "s4", "s5"]
LABELS = ["Alpha 2001", "Beta 2005", "Gamma 2010", "Delta 2015", "Epsilon 2020"]


def _datasets(spec: dict) -> list[list[dict]]:
    return list(spec.get("datasets", {}).values())


def _rows_with(spec: dict, field: str) -> list[dict]:
    """The rows of the (first) dataset that carries ``field``."""
    for rows in _datasets(spec):
        if rows and field in rows[0]:
            return rows
    raise AssertionError(f"no dataset with {field!r}")


def _layers(spec: dict) -> list[dict]:
    out = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "mark" in node:
                out.append(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(spec)
    return out


def _null_rules(spec: dict) -> list[dict]:
    rules = []
    for layer in _layers(spec):
        if layer["mark"] == "rule" or (
            isinstance(layer["mark"], dict) and layer["mark"].get("type") == "rule"
        ):
            data = spec["datasets"].get(layer.get("data", {}).get("name", ""), [])
            if data == [{"x": 1.0}] or data == [{"ratio": 1.0}]:
                rules.append(layer)
    return rules


@pytest.fixture
def loo_spec():
    frame = leave_one_out_frame(Y, V, IDS, LABELS, method="REML", ci="wald")
    return frame, leave_one_out_chart(frame, measure_label="Odds ratio").to_dict()


def test_leave_one_out_rows_equal_core(loo_spec):
    _, spec = loo_spec
    rows = _rows_with(spec, "side_text")
    loo = leave_one_out(Y, V, method="REML")
    assert [r["label"] for r in rows] == [f"Omitting {lab}" for lab in LABELS] + [
        "All studies (k = 5)"
    ]
    np.testing.assert_allclose([r["ratio"] for r in rows[:5]], np.exp(loo.estimate))
    np.testing.assert_allclose([r["ratio_low"] for r in rows[:5]], np.exp(loo.ci_low))
    np.testing.assert_allclose([r["ratio_high"] for r in rows[:5]], np.exp(loo.ci_high))
    # rows are drawn in frame order
    y_enc = [layer["encoding"]["y"] for layer in _layers(spec) if "y" in layer.get("encoding", {})]
    assert all(e.get("sort") == [r["label"] for r in rows] for e in y_enc if "sort" in e)


def test_leave_one_out_highlights_flagged_rows(loo_spec):
    frame, spec = loo_spec
    rows = _rows_with(spec, "side_text")
    flagged = frame["flagged"].tolist()
    assert any(flagged) and not all(flagged[:5])
    for r, flag, reason in zip(rows, flagged, frame["reason"], strict=True):
        assert (r["color"] == FLAG_COLOR) == flag
        assert (r["shape"] == "triangle-up") == flag
        if flag:
            assert reason in r["side_text"] and r["why"] == reason


def test_null_rule_at_one_and_log_scale(loo_spec):
    _, spec = loo_spec
    assert len(_null_rules(spec)) == 1
    scales = [
        layer["encoding"]["x"]["scale"]
        for layer in _layers(spec)
        if "scale" in layer.get("encoding", {}).get("x", {})
    ]
    assert scales and all(s["type"] == "log" for s in scales)
    lo, hi = scales[0]["domain"]
    assert lo < 1 < hi and lo >= AXIS_LIMITS[0] and hi <= AXIS_LIMITS[1]


def test_leave_one_out_reference_band_is_full_ci(loo_spec):
    frame, spec = loo_spec
    full = frame[frame["kind"] == "full"].iloc[0]
    bands = [rows for rows in _datasets(spec) if rows and set(rows[0]) == {"x", "x2", "est"}]
    assert len(bands) == 1
    band = bands[0][0]
    assert band["est"] == pytest.approx(full["ratio"])
    assert band["x"] == pytest.approx(full["ratio_low"])
    assert band["x2"] == pytest.approx(full["ratio_high"])


def test_cumulative_chart_rows_and_k():
    order = np.array([3, 0, 1, 2, 4])
    frame = cumulative_frame(Y, V, LABELS, ["a", "b", "c", "d", "e"], order, method="DL")
    spec = cumulative_chart(frame, measure_label="HR", key_title="year").to_dict()
    rows = _rows_with(spec, "side_text")
    assert rows[0]["label"] == "+ Delta 2015 (year d)"
    assert [r["k"] for r in rows] == [1, 2, 3, 4, 5]
    np.testing.assert_allclose([r["ratio"] for r in rows], np.exp(frame["estimate"]))
    assert rows[1]["side_text"].startswith("k = 2 · ")
    assert rows[-1]["shape"] == "diamond"
    assert len(_null_rules(spec)) == 1


def test_cumulative_chart_first_step_hksj_has_no_ci():
    frame = cumulative_frame(Y, V, LABELS, list("abcde"), np.arange(5), ci="hksj")
    spec = cumulative_chart(frame, measure_label="OR", key_title="year").to_dict()
    rows = _rows_with(spec, "side_text")
    assert rows[0]["ratio_low"] is None and "CI not estimable" in rows[0]["side_text"]
    chart = cumulative_chart(frame, measure_label="OR", key_title="year")
    assert "NaN" not in chart.to_json()  # written as null
    assert chart_to_svg(chart)


def test_estimator_chart_marks_current_and_rows_equal_panel():
    tables = (np.array([4, 6, 3, 62, 33]), np.array([123, 306, 231, 13598, 5069]),
              np.array([11, 29, 11, 248, 47]), np.array([139, 303, 220, 12867, 5808]))  # fmt: skip
    frame = estimator_panel(Y, V, tables)
    spec = estimator_chart(frame, measure_label="OR", current=("DL", "hksj")).to_dict()
    rows = _rows_with(spec, "side_text")
    assert len(rows) == 19
    assert [r["label"] for r in rows] == list(frame["model"])
    np.testing.assert_allclose([r["ratio_high"] for r in rows], frame["ratio_high"])
    marked = [r["label"] for r in rows if "this view" in r["side_text"]]
    assert marked == ["DL, Hartung-Knapp"]
    assert len(_null_rules(spec)) == 1


def test_estimator_chart_row_not_computed_says_why():
    zeros = (np.zeros(2), np.array([10, 10]), np.zeros(2), np.array([10, 10]))
    frame = estimator_panel(Y[:2], V[:2], zeros)
    spec = estimator_chart(frame, measure_label="OR", current=("REML", "wald")).to_dict()
    mh = next(r for r in _rows_with(spec, "side_text") if r["label"] == "Mantel-Haenszel")
    assert mh["ratio"] is None and mh["side_text"].startswith("not computed: ")


def test_quality_sweep_chart_marks_current_threshold():
    frame = pd.DataFrame(
        {"qmin": [2.0, 4.0, 6.0], "k": [5, 3, 1], "studies": ["a", "b", "c"],
         "ratio": [0.5, 0.6, 0.7], "ratio_low": [0.3, 0.35, 0.2], "ratio_high": [0.8, 1.1, 2.4]}
    )  # fmt: skip
    spec = quality_sweep_chart(frame, measure_label="OR", current=4.0).to_dict()
    rows = _rows_with(spec, "side_text")
    assert [r["label"] for r in rows] == ["Score ≥ 2", "Score ≥ 4", "Score ≥ 6"]
    assert [("this view" in r["side_text"]) for r in rows] == [False, True, False]
    assert rows[2]["side_text"] == "k = 1 · 0.70 [0.20, 2.40]"
    # the view's own threshold differs by shape too, not by colour alone (grey print)
    assert [r["shape"] for r in rows] == ["circle", "diamond", "circle"]


def test_baujat_chart_points_equal_core():
    b, inf = baujat(Y, V), influence(Y, V)
    frame = pd.DataFrame({"label": LABELS, "x": b.x, "y": b.y, "influential": inf.influential})
    spec = baujat_chart(frame).to_dict()
    rows = _rows_with(spec, "flag")
    np.testing.assert_allclose([r["x"] for r in rows], b.x)
    np.testing.assert_allclose([r["y"] for r in rows], b.y)
    assert [r["flag"] == "yes" for r in rows] == list(inf.influential)


def test_gosh_chart_log_axis_and_points():
    g = gosh(Y, V, method="DL")
    frame = pd.DataFrame({"ratio": np.exp(g.estimate), "i2": g.i2, "k": g.k})
    spec = gosh_chart(frame, measure_label="OR").to_dict()
    rows = _rows_with(spec, "i2")
    assert len(rows) == 31
    x = next(layer["encoding"]["x"] for layer in _layers(spec) if layer["mark"] != "rule")
    assert x["scale"]["type"] == "log"
    assert len(_null_rules(spec)) == 1


@pytest.mark.parametrize(
    ("x", "text"),
    [(0.3612, "0.36"), (0.0042, "0.004"), (0.0004, "<0.001"), (1500, ">999"),
     (math.nan, "–"), (math.inf, "∞")],
)  # fmt: skip
def test_fmt_ratio(x, text):
    assert fmt_ratio(x) == text
