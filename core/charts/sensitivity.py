"""Altair chart builders for the sensitivity page. Pure: frames in, ``alt`` charts out.

The interval charts (leave-one-out, cumulative, estimator panel, quality sweep) take the tidy
frames of ``core.stats.sensitivity`` (ratio, ratio_low, ratio_high on the ratio scale) and draw one
row per fit, top to bottom in frame order: a point and its CI on a log axis, the null line at
1, an optional reference band (the full result), and a text column "ratio [95% CI]".

>>> import pandas as pd
>>> f = pd.DataFrame({"kind": ["omit", "full"], "study_id": ["A", ""],
...     "label": ["Omitting A", "All studies (k = 2)"], "k": [1, 2],
...     "ratio": [0.5, 0.6], "ratio_low": [0.3, 0.4], "ratio_high": [0.8, 0.9],
...     "change_pct": [-16.7, 0.0], "reason": ["the ratio changes by -16.7%", ""],
...     "flagged": [True, False]})
>>> spec = leave_one_out_chart(f, measure_label="Odds ratio").to_dict()
>>> spec["hconcat"][0]["layer"][0]["encoding"]["x"]["scale"]["type"]
'log'
"""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from core import fmt
from core.charts.forest import FONT_FAMILY, PALETTE, json_safe
from core.fmt import ratio as fmt_ratio  # re-exported: the name the tests use
from core.fmt import ratio_with_ci
from core.stats.effects import exp_ratio

__all__ = [
    "AXIS_LIMITS",
    "baujat_chart",
    "cumulative_chart",
    "estimator_chart",
    "fmt_ratio",
    "gosh_chart",
    "leave_one_out_chart",
    "quality_sweep_chart",
]

#: The ratio axis never extends beyond these (intervals beyond stop at the edge).
AXIS_LIMITS = (0.01, 100.0)
ROW_HEIGHT = 26
PLOT_WIDTH = 360
FLAG_COLOR = PALETTE["pi"]  # vermillion: a study whose omission moves the conclusion
HKSJ_COLOR = "#E69F00"  # orange (Okabe-Ito): Hartung-Knapp intervals
REFERENCE_FILL = "#E8E8E8"


def _domain(frame: pd.DataFrame) -> tuple[float, float]:
    vals = pd.concat([frame["ratio"], frame["ratio_low"], frame["ratio_high"]]).to_numpy(float)
    vals = vals[np.isfinite(vals) & (vals > 0)]
    lo = min([1.0, *vals]) if vals.size else 0.5
    hi = max([1.0, *vals]) if vals.size else 2.0
    pad = 0.08 * (math.log(hi) - math.log(lo) or 1.0)
    lo, hi = exp_ratio(math.log(lo) - pad), exp_ratio(math.log(hi) + pad)
    return max(lo, AXIS_LIMITS[0]), min(hi, AXIS_LIMITS[1])


_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
_FINE_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10, 20, 50, 100)


def _ticks(lo: float, hi: float) -> list[float]:
    """Round tick values inside [lo, hi] (finer steps on a narrow axis), 1 always."""
    inside = [t for t in _TICKS if lo <= t <= hi]
    if len(inside) < 4:
        inside = [t for t in _FINE_TICKS if lo <= t <= hi]
    return sorted({*inside, 1.0})


def _interval_chart(
    rows: pd.DataFrame,
    *,
    measure_label: str,
    treatment: str = "RT",
    tooltip: list[alt.Tooltip],
    side_header: str,
    reference: tuple[float, float, float] | None = None,
    title: str | None = None,
) -> alt.HConcatChart:
    """Rows need label (unique), ratio, ratio_low, ratio_high, color, shape, side_text."""
    order = list(rows["label"])
    lo, hi = _domain(rows)
    height = ROW_HEIGHT * max(len(rows), 1)
    data = json_safe(
        rows.assign(
            ci_text=[
                ratio_with_ci(e, a, b)
                for e, a, b in zip(
                    rows["ratio"], rows["ratio_low"], rows["ratio_high"], strict=True
                )
            ]
        )
    )
    y = alt.Y(
        "label:N",
        sort=order,
        title=None,
        axis=alt.Axis(labelLimit=320, labelFontSize=12, ticks=False, domain=False),
    )
    x_scale = alt.Scale(type="log", domain=[lo, hi], nice=False, clamp=True)
    x_axis = alt.Axis(
        title=f"{measure_label} (log scale; < 1 favours {treatment})",
        format=fmt.D3_AXIS,
        values=_ticks(lo, hi),
        grid=False,
        labelFontSize=11,
        titleFontSize=12,
    )
    base = alt.Chart(data)
    layers: list[alt.Chart] = []
    if reference is not None:
        est, rlo, rhi = reference
        ref = pd.DataFrame({"x": [max(rlo, lo)], "x2": [min(rhi, hi)], "est": [est]}).astype(float)
        layers.append(
            alt.Chart(ref)
            .mark_rect(color=REFERENCE_FILL, opacity=0.8)
            .encode(x=alt.X("x:Q", scale=x_scale, axis=x_axis), x2="x2:Q")
        )
        layers.append(
            alt.Chart(ref)
            .mark_rule(color=PALETTE["muted"], strokeDash=[4, 3], strokeWidth=1)
            .encode(x=alt.X("est:Q", scale=x_scale, axis=x_axis))
        )
    layers.append(
        alt.Chart(pd.DataFrame({"x": [1.0]}))
        .mark_rule(color=PALETTE["null"], strokeWidth=1.3)
        .encode(x=alt.X("x:Q", scale=x_scale, axis=x_axis))
    )
    layers.append(
        base.transform_filter("isValid(datum.ratio_low) && isValid(datum.ratio_high)")
        .mark_rule(strokeWidth=2)
        .encode(
            x=alt.X("ratio_low:Q", scale=x_scale, axis=x_axis),
            x2="ratio_high:Q",
            y=y,
            color=alt.Color("color:N", scale=None),
            tooltip=tooltip,
        )
    )
    layers.append(
        base.mark_point(filled=True, size=90, opacity=1).encode(
            x=alt.X("ratio:Q", scale=x_scale, axis=x_axis),
            y=y,
            color=alt.Color("color:N", scale=None),
            shape=alt.Shape("shape:N", scale=None),
            tooltip=tooltip,
        )
    )
    plot = alt.layer(*layers).properties(width=PLOT_WIDTH, height=height)
    y_text = alt.Y("label:N", sort=order, axis=None)
    text = (
        base.mark_text(align="left", baseline="middle", fontSize=12, color=PALETTE["text"])
        .encode(
            x=alt.value(0),
            y=y_text,
            text="side_text:N",
            color=alt.Color("color:N", scale=None),
            tooltip=tooltip,
        )
        .properties(
            width=230,
            height=height,
            title=alt.TitleParams(side_header, fontSize=12, anchor="start", fontWeight="bold"),
        )
    )
    chart = alt.hconcat(plot, text, spacing=8)
    if title:
        chart = chart.properties(title=alt.TitleParams(title, anchor="start", fontSize=14))
    return chart.configure(font=FONT_FAMILY).configure_view(stroke=None)


def _tip(field: str, title: str) -> alt.Tooltip:
    return alt.Tooltip(f"{field}:N", title=title)


def _ci_texts(f: pd.DataFrame) -> list[str]:
    """Each row's "ratio [95% CI]" text, from columns ratio, ratio_low, ratio_high."""
    return [
        ratio_with_ci(*r) for r in zip(f["ratio"], f["ratio_low"], f["ratio_high"], strict=True)
    ]


def _interval(row: pd.Series) -> tuple[float, float, float]:
    """A row's (ratio, low, high): the reference band of ``_interval_chart``."""
    return float(row["ratio"]), float(row["ratio_low"]), float(row["ratio_high"])


# ---------------------------------------------------------------------------------------


def leave_one_out_chart(
    frame: pd.DataFrame, *, measure_label: str, treatment: str = "RT"
) -> alt.HConcatChart:
    """Leave-one-out forest: one row per omitted study (``core.stats.sensitivity.
    leave_one_out_frame``), the full result last and as a grey reference band. Rows whose
    omission moves the conclusion (``flagged``) are vermillion triangles; the reason is in
    the tooltip and the text column."""
    f = frame.copy()
    full = f[f["kind"] == "full"].iloc[0]
    f["color"] = np.where(f["flagged"], FLAG_COLOR, PALETTE["study"])
    f.loc[f["kind"] == "full", "color"] = PALETTE["pooled"]
    f["shape"] = np.where(f["flagged"], "triangle-up", "circle")
    f.loc[f["kind"] == "full", "shape"] = "diamond"
    f["ci_95"] = _ci_texts(f)
    f["change"] = [
        "reference" if kind == "full" else fmt.change(c)
        for kind, c in zip(f["kind"], f["change_pct"], strict=True)
    ]
    f["why"] = f["reason"].where(f["flagged"], "conclusion unchanged")
    f.loc[f["kind"] == "full", "why"] = "all studies"
    f["side_text"] = [
        f"{ci}  {'⚑ ' + why if flag else ''}".rstrip()
        for ci, why, flag in zip(f["ci_95"], f["reason"], f["flagged"], strict=True)
    ]
    tooltip = [
        _tip("label", "Row"),
        _tip("ci_95", "Ratio [95% CI]"),
        alt.Tooltip("k:Q", title="Studies pooled"),
        _tip("change", "Change vs all studies"),
        _tip("why", "Conclusion"),
    ]
    return _interval_chart(
        f,
        measure_label=measure_label,
        treatment=treatment,
        tooltip=tooltip,
        side_header="Ratio [95% CI]",
        reference=_interval(full),
    )


def cumulative_chart(
    frame: pd.DataFrame, *, measure_label: str, key_title: str, treatment: str = "RT"
) -> alt.HConcatChart:
    """Cumulative meta-analysis (``core.stats.sensitivity.cumulative_frame``): row j pools the
    first j studies; the text column gives k and the result; the last row (all studies) is
    black and its CI is the reference band."""
    f = frame.copy()
    last = len(f) - 1
    f["label"] = [
        f"{lab} ({key_title} {key})" for lab, key in zip(f["label"], f["key"], strict=True)
    ]
    f["color"] = [PALETTE["pooled"] if i == last else PALETTE["study"] for i in range(len(f))]
    f["shape"] = ["diamond" if i == last else "circle" for i in range(len(f))]
    f["ci_95"] = _ci_texts(f)
    f["side_text"] = [f"k = {k} · {ci}" for k, ci in zip(f["k"], f["ci_95"], strict=True)]
    full = f.iloc[last]
    tooltip = [
        _tip("label", "Study added"),
        alt.Tooltip("k:Q", title="Studies pooled"),
        _tip("ci_95", "Cumulative ratio [95% CI]"),
    ]
    return _interval_chart(
        f,
        measure_label=measure_label,
        treatment=treatment,
        tooltip=tooltip,
        side_header="k · Ratio [95% CI]",
        reference=_interval(full),
    )


def estimator_chart(
    frame: pd.DataFrame, *, measure_label: str, current: tuple[str, str], treatment: str = "RT"
) -> alt.HConcatChart:
    """Estimator panel (``core.stats.sensitivity.estimator_panel``): one row per model; Wald
    intervals blue, Hartung-Knapp orange, common-effect models black squares. The model of
    the current view (``current`` = (method, ci)) is marked "◀ this view" and its CI is the
    reference band. Rows that could not be computed say why in the text column."""
    f = frame.copy()
    f["label"] = f["model"]
    f["color"] = np.where(
        f["family"] == "common",
        PALETTE["pooled"],
        np.where(f["ci"] == "hksj", HKSJ_COLOR, PALETTE["study"]),
    )
    f["shape"] = np.where(f["family"] == "common", "square", "circle")
    is_current = (f["method"] == current[0]) & (f["ci"] == current[1])
    f["ci_95"] = _ci_texts(f)
    f.loc[f["ratio"].isna(), "ci_95"] = "not computed: " + f.loc[f["ratio"].isna(), "note"]
    f["side_text"] = f["ci_95"] + np.where(is_current, "  ◀ this view", "")
    f["tau2_text"] = [fmt.tau2(t) for t in f["tau2"].astype(float)]
    tooltip = [
        _tip("label", "Model"),
        _tip("description", "Estimator"),
        _tip("ci_95", "Ratio [95% CI]"),
        _tip("tau2_text", "tau²"),
        alt.Tooltip("k:Q", title="Studies"),
    ]
    ref = None
    if is_current.any():
        ref = _interval(f[is_current].iloc[0])
    return _interval_chart(
        f,
        measure_label=measure_label,
        treatment=treatment,
        tooltip=tooltip,
        side_header="Ratio [95% CI]",
        reference=ref,
    )


def quality_sweep_chart(
    frame: pd.DataFrame, *, measure_label: str, current: float | None, treatment: str = "RT"
) -> alt.HConcatChart:
    """Quality threshold sweep (``core.stats.sensitivity.quality_sweep``): one row per minimum
    score, lowest first, with k; the view's own minimum (``current``) is marked."""
    f = frame.copy()
    f["label"] = [f"Score ≥ {fmt.number(q)}" for q in f["qmin"]]
    is_current = f["qmin"] == (current if current is not None else -1.0)
    f["color"] = np.where(is_current, PALETTE["pooled"], PALETTE["study"])
    f["shape"] = np.where(is_current, "diamond", "circle")  # not by colour alone
    f["ci_95"] = _ci_texts(f)
    f["side_text"] = [
        f"k = {k} · {ci}" + ("  ◀ this view" if cur else "")
        for k, ci, cur in zip(f["k"], f["ci_95"], is_current, strict=True)
    ]
    tooltip = [
        _tip("label", "Minimum quality score"),
        alt.Tooltip("k:Q", title="Studies pooled"),
        _tip("ci_95", "Ratio [95% CI]"),
        _tip("studies", "Studies"),
    ]
    return _interval_chart(
        f, measure_label=measure_label, tooltip=tooltip, side_header="k · Ratio [95% CI]"
    )


def baujat_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Baujat plot: ``x`` (contribution to heterogeneity) against ``y`` (influence on the
    pooled result), one labelled point per study; ``influential`` studies (metafor's rule)
    are vermillion triangles. Needs columns label, x, y, influential."""
    f = frame.copy()
    f["color"] = np.where(f["influential"], FLAG_COLOR, PALETTE["study"])
    f["shape"] = np.where(f["influential"], "triangle-up", "circle")
    f["flag"] = np.where(f["influential"], "yes", "no")
    data = json_safe(f[["label", "x", "y", "color", "shape", "flag"]])
    tooltip = [
        _tip("label", "Study"),
        alt.Tooltip("x:Q", title="Contribution to heterogeneity", format=fmt.D3_TOOLTIP),
        alt.Tooltip("y:Q", title="Influence on the pooled result", format=fmt.D3_TOOLTIP),
        _tip("flag", "Influential"),
    ]
    enc = {
        "x": alt.X(
            "x:Q",
            title="Contribution to heterogeneity (squared Pearson residual)",
            scale=alt.Scale(zero=True, nice=True),
        ),
        "y": alt.Y(
            "y:Q", title="Influence on the pooled result", scale=alt.Scale(zero=True, nice=True)
        ),
    }
    base = alt.Chart(data)
    points = base.mark_point(filled=True, size=110, opacity=1).encode(
        **enc,
        color=alt.Color("color:N", scale=None),
        shape=alt.Shape("shape:N", scale=None),
        tooltip=tooltip,
    )
    labels = base.mark_text(align="left", dx=8, dy=-6, fontSize=12, color=PALETTE["text"]).encode(
        **enc, text="label:N", tooltip=tooltip
    )
    return (
        alt.layer(points, labels)
        .properties(width=520, height=340)
        .configure(font=FONT_FAMILY)
        .configure_axis(labelFontSize=11, titleFontSize=12, gridColor="#EEEEEE")
        .configure_view(stroke=None)
    )


def gosh_chart(frame: pd.DataFrame, *, measure_label: str) -> alt.LayerChart:
    """GOSH plot: the pooled ratio (log axis) against I2 for each subset of studies
    (columns ratio, i2, k), with the null line at 1."""
    data = json_safe(frame[["ratio", "i2", "k"]])
    data["ratio_text"] = [fmt_ratio(x) for x in frame["ratio"].astype(float)]
    lo, hi = _domain(frame.assign(ratio_low=frame["ratio"], ratio_high=frame["ratio"]))
    x = alt.X(
        "ratio:Q",
        title=f"Pooled {measure_label} of the subset (log scale)",
        scale=alt.Scale(type="log", domain=[lo, hi], nice=False, clamp=True),
        axis=alt.Axis(format=fmt.D3_AXIS, grid=False, values=_ticks(lo, hi)),
    )
    points = (
        alt.Chart(data)
        .mark_circle(
            size=60 if len(frame) <= 500 else 16,
            opacity=0.7 if len(frame) <= 500 else 0.35,
            color=PALETTE["study"],
        )
        .encode(
            x=x,
            y=alt.Y("i2:Q", title="I² (%)", scale=alt.Scale(domain=[0, 100])),
            tooltip=[
                alt.Tooltip("ratio_text:N", title="Pooled ratio"),
                alt.Tooltip("i2:Q", title="I² (%)", format=fmt.D3_PERCENT),
                alt.Tooltip("k:Q", title="Studies in the subset"),
            ],
        )
    )
    null = (
        alt.Chart(pd.DataFrame({"ratio": [1.0]}))
        .mark_rule(color=PALETTE["null"], strokeWidth=1.3)
        .encode(x=x)
    )
    return (
        alt.layer(null, points)
        .properties(width=520, height=320)
        .configure(font=FONT_FAMILY)
        .configure_axis(labelFontSize=11, titleFontSize=12, gridColor="#EEEEEE")
        .configure_view(stroke=None)
    )
