"""Altair chart builders for the small-study-effects page: a contour-enhanced funnel plot and a
meta-regression bubble plot. Pure: results from core.stats.bias / core.stats.subgroups in,
charts out.

Effects are drawn on the log scale (that is where funnels are symmetric and regression lines are
straight) and the axes are labelled with ratio values.

>>> import numpy as np, pandas as pd
>>> from core.stats.bias import funnel_data
>>> rows = pd.DataFrame({"study_id": ["a", "b", "c"], "label": ["A", "B", "C"],
...                      "yi": [-0.5, -0.2, 0.1], "vi": [0.04, 0.09, 0.25],
...                      "weight": [50.0, 30.0, 20.0]})
>>> fd = funnel_data(rows["yi"], rows["vi"], estimate=-0.3)
>>> frame = funnel_frame(rows, fd)
>>> list(frame["kind"])
['study', 'study', 'study']
>>> chart = funnel_chart(frame, fd, measure_label="Odds ratio")
>>> sorted(regions_frame(fd, (-2.0, 2.0), 0.55)["region"].unique())[0]
'0.01 < p < 0.05'
"""

from __future__ import annotations

import math
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from core import fmt
from core.charts.forest import FONT_FAMILY, PALETTE, json_safe
from core.fmt import percent, ratio, ratio_with_ci
from core.stats.bias import FunnelData, TrimAndFill
from core.stats.effects import Z975, exp_ratios
from core.stats.subgroups import MetaRegressionResult

__all__ = [
    "FUNNEL_COLUMNS",
    "REGION_COLOURS",
    "bubble_chart",
    "bubble_frames",
    "funnel_chart",
    "funnel_frame",
    "ratio_ticks",
    "regions_frame",
]

FUNNEL_COLUMNS = ["kind", "study_id", "label", "yi", "sei", "ratio", "ci_low", "ci_high", "weight"]

#: Shading of the contour regions, from "not significant" (white) to p < 0.01 (darkest grey).
REGION_COLOURS: dict[str, str] = {
    "p > 0.10": "#FFFFFF",
    "0.05 < p < 0.10": "#E8E8E8",
    "0.01 < p < 0.05": "#CFCFCF",
    "p < 0.01": "#B5B5B5",
}
ADJUSTED_COLOUR = PALETTE["pi"]  # vermillion: the trim-and-fill adjusted estimate
_RATIO_LADDERS = (
    (0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 7, 10),
    (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100),
    (0.001, 0.01, 0.1, 1, 10, 100, 1000),
)
_HEIGHT = 380
_WIDTH = 520


# ---------------------------------------------------------------------------------------
# shared helpers


def ratio_ticks(lo: float, hi: float) -> list[float]:
    """Tick positions (log scale) within [lo, hi] at round ratio values: the finest ladder
    that spans the range with at most 8 ticks."""
    ticks: list[float] = []
    for ladder in _RATIO_LADDERS:
        ticks = [math.log(r) for r in ladder if lo <= math.log(r) <= hi]
        spans = math.log(ladder[0]) <= lo and hi <= math.log(ladder[-1])
        if len(ticks) <= 8 and (spans or ladder is _RATIO_LADDERS[-1]):
            break
    return ticks


def _ratio_axis(title: str, lo: float, hi: float, **kw: object) -> alt.Axis:
    return alt.Axis(
        title=title,
        values=ratio_ticks(lo, hi),
        labelExpr="format(exp(datum.value), '.2~r')",
        grid=False,
        **kw,
    )


def _config(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    return (
        chart.configure(font=FONT_FAMILY)
        .configure_view(stroke=PALETTE["rule"])
        .configure_axis(
            labelFontSize=12,
            titleFontSize=13,
            labelColor=PALETTE["text"],
            titleColor=PALETTE["text"],
        )
        .configure_legend(labelFontSize=12, titleFontSize=12)
    )


# ---------------------------------------------------------------------------------------
# funnel plot


def funnel_frame(rows: pd.DataFrame, fd: FunnelData, tf: TrimAndFill | None = None) -> pd.DataFrame:
    """One row per plotted point (``FUNNEL_COLUMNS``): the studies (``rows``: study_id, label,
    yi, vi, weight, in the order of ``fd.points``) and, with ``tf``, the filled studies
    (kind "filled"). ``ratio``/``ci_low``/``ci_high`` are exp of yi and its 95% Wald limits."""
    studies = pd.DataFrame(
        {
            "kind": "study",
            "study_id": rows["study_id"].astype(str).to_numpy(),
            "label": rows["label"].astype(str).to_numpy(),
            "yi": fd.points["yi"],
            "sei": fd.points["sei"],
            "weight": rows["weight"].to_numpy(dtype=float),
        }
    )
    parts = [studies]
    if tf is not None and tf.k0 > 0:
        n = tf.filled_yi.size
        parts.append(
            pd.DataFrame(
                {
                    "kind": "filled",
                    "study_id": "",
                    "label": [f"Filled study {i + 1} (trim and fill)" for i in range(n)],
                    "yi": tf.filled_yi,
                    "sei": np.sqrt(tf.filled_vi),
                    "weight": np.nan,
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    out["ratio"] = exp_ratios(out["yi"])
    out["ci_low"] = exp_ratios(out["yi"] - Z975 * out["sei"])
    out["ci_high"] = exp_ratios(out["yi"] + Z975 * out["sei"])
    return out[FUNNEL_COLUMNS]


def _contour_z(fd: FunnelData) -> list[tuple[float, float]]:
    """(level, z) of each contour of ``fd``: the slope of its upper boundary in sei."""
    c = fd.contours
    out = []
    for lv in fd.levels:
        m = (c["level"] == lv) & (c["sei"] > 0)
        out.append((lv, float(c["upper"][m][-1] / c["sei"][m][-1])))
    return out


def regions_frame(fd: FunnelData, xdomain: tuple[float, float], sei_top: float) -> pd.DataFrame:
    """Non-overlapping shaded regions of the contour-enhanced funnel around the null (0):
    columns region, part (left/centre/right), sei (from 0 to ``sei_top``), x, x2. The
    boundaries are the contours of ``fd``, +/- z sei (z = 1.645, 1.960, 2.576 for the levels
    0.90, 0.95, 0.99); the outermost region runs to the edges of ``xdomain``.

    Every boundary stays within ``xdomain`` (widened to take in 0): where one reaches an edge,
    it runs on down that edge (one more row, at the SE where it meets the edge). Nothing is
    drawn beyond the plot, clipped away or not (a clipped-away shape still takes up room: a
    browser counts it in the chart's size)."""
    zs = _contour_z(fd)
    names = [f"p > {fmt.alpha(1 - zs[0][0])}"]
    names += [
        f"{fmt.alpha(1 - zs[i][0])} < p < {fmt.alpha(1 - zs[i - 1][0])}" for i in range(1, len(zs))
    ]
    names += [f"p < {fmt.alpha(1 - zs[-1][0])}"]
    lo, hi = min(xdomain[0], 0.0), max(xdomain[1], 0.0)
    # the SEs where a boundary +/- z sei meets an edge: there its clipped line bends
    bends = [e / z for _, z in zs for e in (-lo, hi) if z > 0 and 0 < e / z < sei_top]
    s = np.unique(np.array([0.0, sei_top, *bends]))
    recs = []

    def add(name: str, part: str, x: np.ndarray, x2: np.ndarray) -> None:
        x, x2 = np.clip(x, lo, hi), np.clip(x2, lo, hi)
        for si, a, b in zip(s, x, x2, strict=True):
            recs.append({"region": name, "part": part, "sei": si, "x": a, "x2": b})

    z0 = zs[0][1]
    add(names[0], "centre", -z0 * s, z0 * s)
    for i in range(1, len(zs)):
        zi, zo = zs[i - 1][1], zs[i][1]
        add(names[i], "left", -zo * s, -zi * s)
        add(names[i], "right", zi * s, zo * s)
    zl = zs[-1][1]
    add(names[-1], "left", np.full(s.size, lo), -zl * s)
    add(names[-1], "right", zl * s, np.full(s.size, hi))
    return pd.DataFrame(recs)


def _funnel_domain(frame: pd.DataFrame, fd: FunnelData, extra: list[float]) -> tuple[float, float]:
    sm = fd.sei_max
    vals = [*frame["yi"], fd.estimate - Z975 * sm, fd.estimate + Z975 * sm, 0.0, *extra]
    vals = [v for v in vals if math.isfinite(v)]
    lo, hi = min(vals), max(vals)
    pad = 0.06 * (hi - lo or 1.0)
    return lo - pad, hi + pad


def _funnel_lines(estimate: float, top: float, xdomain: tuple[float, float]) -> pd.DataFrame:
    """The pooled line (line "pooled") and the pseudo-95% limits ("lower", "upper": estimate
    +/- 1.96 sei) from SE 0 to ``top``, each limit ending where it leaves ``xdomain`` (nothing
    drawn beyond the plot: see ``regions_frame``)."""
    lo, hi = xdomain
    recs = [{"line": "pooled", "sei": s, "x": estimate} for s in (0.0, top)]
    for line, sign, edge in (("lower", -1.0, lo), ("upper", 1.0, hi)):
        room = sign * (edge - estimate)  # how far the limit can go before it meets the edge
        end = min(top, max(room, 0.0) / Z975)
        recs += [{"line": line, "sei": s, "x": estimate + sign * Z975 * s} for s in (0.0, end)]
    return pd.DataFrame(recs)


def funnel_chart(
    frame: pd.DataFrame,
    fd: FunnelData,
    *,
    measure_label: str,
    adjusted: float | None = None,
    title: str | None = None,
) -> alt.LayerChart:
    """Contour-enhanced funnel plot (Peters et al. 2008): x = effect (log scale, ratio labels),
    y = standard error, 0 at the top. Shaded regions (``regions_frame``) mark where a study
    would be significant against the null at p < 0.10, 0.05 and 0.01; the pooled estimate
    ``fd.estimate`` is a solid line with dashed pseudo-95% limits (estimate +/- 1.96 SE).
    Studies (``funnel_frame``) are filled circles; trim-and-fill's filled studies are hollow,
    and ``adjusted`` (the trim-and-fill estimate) is a dashed vermillion line."""
    extra = [] if adjusted is None else [adjusted]
    lo, hi = _funnel_domain(frame, fd, extra)
    top = float(max(frame["sei"].max(), fd.sei_max)) * 1.08
    x_scale = alt.Scale(domain=[lo, hi], nice=False, zero=False)
    y_scale = alt.Scale(domain=[0, top], reverse=True, nice=False, zero=True)
    x_axis = _ratio_axis(f"{measure_label} (log scale)", lo, hi)
    y_axis = alt.Axis(title="Standard error (log ratio)", grid=False, tickCount=5)

    def xq(field: str) -> alt.X:
        return alt.X(f"{field}:Q", scale=x_scale, axis=x_axis)

    def yq(field: str = "sei") -> alt.Y:
        return alt.Y(f"{field}:Q", scale=y_scale, axis=y_axis)

    regions = json_safe(regions_frame(fd, (lo, hi), top))
    order = list(REGION_COLOURS)
    shading = (
        alt.Chart(regions)
        .mark_area(orient="horizontal", clip=True, opacity=1, interpolate="linear")
        .encode(
            x=xq("x"),
            x2="x2:Q",
            y=yq(),
            detail="part:N",
            color=alt.Color(
                "region:N",
                scale=alt.Scale(domain=order, range=[REGION_COLOURS[r] for r in order]),
                legend=alt.Legend(
                    title="A study here differs from no effect at",
                    titleLimit=400,
                    orient="bottom",
                    direction="horizontal",
                    columns=4,
                    symbolStrokeColor=PALETTE["rule"],
                    symbolStrokeWidth=1,
                    symbolType="square",
                ),
            ),
        )
    )
    lines = _funnel_lines(fd.estimate, top, (lo, hi))
    pooled_line = (
        alt.Chart(json_safe(lines[lines["line"] == "pooled"]))
        .mark_line(color=PALETTE["pooled"], strokeWidth=1.6, clip=True)
        .encode(x=xq("x"), y=yq())
    )
    limits = (
        alt.Chart(json_safe(lines[lines["line"] != "pooled"]))
        .mark_line(color=PALETTE["pooled"], strokeWidth=1, strokeDash=[5, 4], clip=True)
        .encode(x=xq("x"), y=yq(), detail="line:N")
    )
    null_line = (
        alt.Chart(pd.DataFrame({"x": [0.0, 0.0], "sei": [0.0, top]}))
        .mark_line(color=PALETTE["null"], strokeWidth=0.8, strokeDash=[1, 2], clip=True)
        .encode(x=xq("x"), y=yq())
    )
    pts = json_safe(frame.assign(ci_text=[_ci(r) for r in frame.itertuples()]))
    pts["weight_text"] = [percent(w) if math.isfinite(w) else "" for w in frame["weight"]]
    tooltip = [
        alt.Tooltip("label:N", title="Study"),
        alt.Tooltip("ci_text:N", title="Ratio [95% CI]"),
        alt.Tooltip("yi:Q", title="Log ratio", format=fmt.D3_TOOLTIP),
        alt.Tooltip("sei:Q", title="Standard error", format=fmt.D3_TOOLTIP),
        alt.Tooltip("weight_text:N", title="Weight"),
    ]
    studies = (
        alt.Chart(pts)
        .transform_filter(alt.datum.kind == "study")
        .mark_circle(size=70, opacity=1, color=PALETTE["study"], stroke="#FFFFFF", strokeWidth=0.8)
        .encode(x=xq("yi"), y=yq(), tooltip=tooltip)
    )
    layers: list[alt.Chart] = [shading, null_line, limits, pooled_line]
    if adjusted is not None:
        adj = pd.DataFrame({"x": [adjusted, adjusted], "sei": [0.0, top]})
        layers.append(
            alt.Chart(adj)
            .mark_line(color=ADJUSTED_COLOUR, strokeWidth=1.6, strokeDash=[6, 3], clip=True)
            .encode(x=xq("x"), y=yq())
        )
    if (frame["kind"] == "filled").any():
        layers.append(
            alt.Chart(pts)
            .transform_filter(alt.datum.kind == "filled")
            .mark_point(
                shape="circle", filled=False, size=70, strokeWidth=1.6, color=PALETTE["study"]
            )
            .encode(x=xq("yi"), y=yq(), tooltip=tooltip)
        )
    layers.append(studies)
    chart = alt.layer(*layers).properties(width=_WIDTH, height=_HEIGHT)
    if title:
        chart = chart.properties(title=title)
    return _config(chart)


def _ci(r: Any) -> str:
    """``r``: a row of ``DataFrame.itertuples()`` with ratio, ci_low and ci_high."""
    return ratio_with_ci(r.ratio, r.ci_low, r.ci_high)


# ---------------------------------------------------------------------------------------
# meta-regression bubble plot


def bubble_frames(
    fit: MetaRegressionResult, labels: list[str], n: int = 101
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(points, line) for a bubble plot of a one-moderator meta-regression: points = label,
    x (moderator), yi, ratio, weight (percent, 1/(vi + tau2)); line = x, pred, ci_low, ci_high
    from ``fit.bubble()`` (log scale) over the moderator's range."""
    x = fit.x[:, int(fit.intercept)]
    points = pd.DataFrame(
        {
            "label": [str(s) for s in labels],
            "x": x,
            "yi": fit.yi,
            "sei": np.sqrt(fit.vi),
            "ratio": exp_ratios(fit.yi),
            "weight": fit.weights,
        }
    )
    b = fit.bubble(n=n)
    line = pd.DataFrame(
        {"x": b.x[:, int(fit.intercept)], "pred": b.pred, "ci_low": b.ci_low, "ci_high": b.ci_high}
    )
    return points, line


def bubble_chart(
    points: pd.DataFrame,
    line: pd.DataFrame,
    *,
    x_title: str,
    measure_label: str,
    x_format: str = "d",
    title: str | None = None,
) -> alt.LayerChart:
    """Bubble plot: each study at (moderator, effect), circle area proportional to its weight;
    the fitted line with its 95% CI band (log scale, ratio labels); a dotted line at no effect."""
    ys = [*points["yi"], *line["ci_low"], *line["ci_high"], 0.0]
    ys = [v for v in ys if math.isfinite(v)]
    pad = 0.06 * ((max(ys) - min(ys)) or 1.0)
    lo, hi = min(ys) - pad, max(ys) + pad
    xs = points["x"].to_numpy(dtype=float)
    xpad = 0.06 * (float(np.ptp(xs)) or 1.0)
    x_scale = alt.Scale(domain=[float(xs.min()) - xpad, float(xs.max()) + xpad], nice=False)
    y_scale = alt.Scale(domain=[lo, hi], nice=False, zero=False)
    x_axis = alt.Axis(title=x_title, format=x_format, grid=False, tickMinStep=1)
    y_axis = _ratio_axis(f"{measure_label} (log scale)", lo, hi)

    def xq(field: str = "x") -> alt.X:
        return alt.X(f"{field}:Q", scale=x_scale, axis=x_axis)

    def yq(field: str) -> alt.Y:
        return alt.Y(f"{field}:Q", scale=y_scale, axis=y_axis)

    ln = json_safe(line)
    band = (
        alt.Chart(ln)
        .mark_area(color=PALETTE["subgroup"], opacity=0.25, clip=True)
        .encode(x=xq(), y=yq("ci_low"), y2="ci_high:Q")
    )
    fitted = (
        alt.Chart(ln)
        .mark_line(color=PALETTE["subgroup_stroke"], strokeWidth=2, clip=True)
        .encode(x=xq(), y=yq("pred"))
    )
    null_line = (
        alt.Chart(pd.DataFrame({"y": [0.0]}))
        .mark_rule(color=PALETTE["null"], strokeWidth=1, strokeDash=[2, 3])
        .encode(y=yq("y"))
    )
    pts = json_safe(
        points.assign(
            ratio_text=[ratio(r) for r in points["ratio"]],
            weight_text=[percent(w) for w in points["weight"]],
        )
    )
    bubbles = (
        alt.Chart(pts)
        .mark_circle(
            color=PALETTE["study"], opacity=0.75, stroke=PALETTE["ci"], strokeWidth=0.8, clip=True
        )
        .encode(
            x=xq(),
            y=yq("yi"),
            size=alt.Size(
                "weight:Q",
                scale=alt.Scale(domain=[0, 100], range=[0, 2400], zero=True),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("label:N", title="Study"),
                alt.Tooltip("x:Q", title=x_title, format=x_format),
                alt.Tooltip("ratio_text:N", title="Ratio"),
                alt.Tooltip("yi:Q", title="Log ratio", format=fmt.D3_TOOLTIP),
                alt.Tooltip("weight_text:N", title="Weight"),
            ],
        )
    )
    chart = alt.layer(band, null_line, fitted, bubbles).properties(width=_WIDTH, height=_HEIGHT)
    if title:
        chart = chart.properties(title=title)
    return _config(chart)
