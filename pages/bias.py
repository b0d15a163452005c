"""Small-study effects: contour-enhanced funnel plot, asymmetry tests, trim and fill, and a
meta-regression bubble plot on quality score or year, for the sidebar's outcome and filters."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

from core.charts.bias import bubble_chart, bubble_frames, funnel_chart, funnel_frame
from core.state.view import ViewState
from core.stats.bias import TrimAndFill, begg_test, egger_test, funnel_data, trim_and_fill
from core.stats.effects import exp_ratio
from core.stats.subgroups import meta_regression
from core.views.analysis import OutcomeAnalysis, model_label
from ui import blocks, cache, exports, sync

sync.require_entrypoint()

#: tau2 estimators core.stats.bias.trim_and_fill follows metafor with; others fall back to REML.
TF_METHODS = ("REML", "ML", "DL", "EE")
MODERATORS = {"quality": ("quality_score", "Quality score"), "year": ("year", "Publication year")}
MISSING_REASON = {"quality": "no quality score", "year": "no publication year in the dataset"}
LOW_POWER = (
    "With fewer than 10 studies these tests have little power: a non-significant result "
    "does not show that small-study effects are absent, and a significant one can arise from "
    "heterogeneity or chance."
)
SIDE = {"left": "left (lower ratios)", "right": "right (higher ratios)"}


def _commit(field: str, key: str) -> None:
    sync.commit(sync.current().replace(**{field: st.session_state[key]}))


def _bound(key: str, value: object) -> None:
    """Give widget ``key`` the state's value before it is drawn (the link wins)."""
    st.session_state[key] = value


def _lower(s: str) -> str:
    return s[:1].lower() + s[1:]


def tf_method(method: str) -> str:
    return method if method in TF_METHODS else "REML"


def run_trim_and_fill(y: np.ndarray, v: np.ndarray, method: str) -> TrimAndFill | str:
    """The trim-and-fill result, or why it cannot be computed."""
    if y.size < 3:
        return f"Trim and fill needs at least three studies; this selection has {y.size}."
    try:
        return trim_and_fill(y, v, method=tf_method(method))
    except ValueError as err:
        return f"Trim and fill cannot be computed here: {err}."


def funnel_section(oa: OutcomeAnalysis, state: ViewState, inc: pd.DataFrame, tf: object) -> None:
    st.subheader("Funnel plot")
    _bound("w_bias_tf", state.tf)
    st.toggle(
        "Show trim and fill",
        key="w_bias_tf",
        on_change=_commit,
        args=("tf", "w_bias_tf"),
        help="Studies that trim and fill estimates to be missing, drawn hollow, and the "
        "estimate adjusted for them.",
    )
    k = len(inc)
    if k < 2:
        st.info(f"A funnel plot needs at least two studies; this selection has k = {k}.")
        return
    y, v = inc["yi"].to_numpy(float), inc["vi"].to_numpy(float)
    fd = funnel_data(y, v, estimate=oa.pooled.estimate)
    shown = tf if state.tf and isinstance(tf, TrimAndFill) and tf.k0 > 0 else None
    frame = funnel_frame(inc, fd, shown)
    name = blocks.ratio_name(oa)
    chart = funnel_chart(
        frame,
        fd,
        measure_label=oa.title,
        adjusted=None if shown is None else shown.estimate,
    )
    left, right = st.columns([3, 2], gap="large")
    left.altair_chart(chart, width="content", theme=None)
    notes = [
        "Shading: where a study would differ from no effect (ratio 1) at p < 0.10, 0.05 or "
        "0.01; white: p > 0.10.",
        f"Solid line: pooled {name}, {_lower(model_label(state.method, state.ci))}; dashed: "
        "pseudo-95% limits (pooled ± 1.96 SE).",
    ]
    if shown is not None:
        notes.append(
            "Hollow circles: studies filled in by trim and fill; orange dashed line: the "
            "adjusted estimate."
        )
    with right:
        st.caption(" ".join(notes))
        if state.tf and isinstance(tf, str):
            st.info(tf)
        elif state.tf and shown is None:
            st.caption("Trim and fill estimates no missing studies: nothing to fill in.")
        exports.downloads(f"funnel {oa.outcome}", chart, frame)


def tests_table(y: np.ndarray, v: np.ndarray, method: str, tf: object, name: str) -> pd.DataFrame:
    """Egger (classical and mixed-effects), Begg and trim and fill, one row each."""
    rows = []

    def failed(test: str, err: object) -> None:
        rows.append(
            {"Test": test, "Statistic": "–", "p": "–", "Result": f"Cannot be computed: {err}"}
        )

    label = "Egger's regression test (classical, weighted least squares)"
    try:
        e = egger_test(y, v, model="lm")
        rows.append(
            {
                "Test": label,
                "Statistic": f"t = {e.stat:.2f} (df = {e.df:.0f})",
                "p": blocks.fmt_p(e.pvalue),
                "Result": f"slope on SE {e.slope:.2f} (SE {e.slope_se:.2f})",
            }
        )
    except ValueError as err:
        failed(label, err)
    label = f"Egger's regression test (mixed-effects, {method})"
    try:
        e = egger_test(y, v, model="rma", method=method)
        rows.append(
            {
                "Test": label,
                "Statistic": f"z = {e.stat:.2f}",
                "p": blocks.fmt_p(e.pvalue),
                "Result": f"slope on SE {e.slope:.2f} (SE {e.slope_se:.2f}); τ² = {e.tau2:.4f}",
            }
        )
    except ValueError as err:
        failed(label, err)
    label = "Begg's rank correlation test"
    try:
        b = begg_test(y, v)
        how = "exact p" if b.exact else "normal approximation (ties)"
        rows.append(
            {
                "Test": label,
                "Statistic": f"Kendall's τ = {b.tau:.3f}",
                "p": blocks.fmt_p(b.pvalue),
                "Result": how,
            }
        )
    except ValueError as err:
        failed(label, err)
    if isinstance(tf, TrimAndFill):
        adj = f"{blocks.fmt_ratio(exp_ratio(tf.estimate))} (95% CI " + blocks.fmt_ci(
            exp_ratio(tf.ci_low), exp_ratio(tf.ci_high)
        )
        orig = blocks.fmt_ratio(exp_ratio(tf.original_estimate))
        rows.append(
            {
                "Test": f"Trim and fill ({tf.estimator}, {tf.method})",
                "Statistic": (
                    f"k0 = {tf.k0} missing on the {SIDE[tf.side]}"
                    if tf.k0
                    else "k0 = 0: no study estimated missing"
                ),
                "p": "–",
                "Result": f"adjusted {name} {adj}, p {blocks.fmt_p(tf.pvalue)}), unadjusted {orig}",
            }
        )
    else:
        failed("Trim and fill", str(tf).removeprefix("Trim and fill cannot be computed here: "))
    return pd.DataFrame(rows)


def tests_section(oa: OutcomeAnalysis, state: ViewState, inc: pd.DataFrame, tf: object) -> None:
    st.subheader("Tests for funnel-plot asymmetry")
    k = len(inc)
    if k < 3:
        st.info(
            f"Egger's and Begg's tests and trim and fill need at least three studies; this "
            f"selection has k = {k}, so they cannot be computed."
        )
        return
    if k < 10:
        st.warning(f"k = {k}. {LOW_POWER}", icon=":material/warning:")
    y, v = inc["yi"].to_numpy(float), inc["vi"].to_numpy(float)
    table = tests_table(y, v, state.method, tf, blocks.ratio_name(oa))
    st.dataframe(table, hide_index=True, width="stretch")
    if tf_method(state.method) != state.method:
        st.caption(
            f"Trim and fill uses REML here: it is not available with the {state.method} estimator."
        )
    st.caption(
        "Egger: a slope on the standard error away from 0 means smaller studies report "
        "different effects from larger ones. Trim and fill: p of the adjusted estimate "
        "against no effect."
    )
    exports.downloads(f"asymmetry tests {oa.outcome}", None, table)


def regression_section(
    oa: OutcomeAnalysis, state: ViewState, inc: pd.DataFrame, studies: pd.DataFrame
) -> None:
    st.subheader("Meta-regression")
    _bound("w_bias_mod", state.mod)
    st.radio(
        "Moderator",
        list(MODERATORS),
        key="w_bias_mod",
        horizontal=True,
        format_func=lambda m: MODERATORS[m][1],
        on_change=_commit,
        args=("mod", "w_bias_mod"),
    )
    column, title = MODERATORS[state.mod]
    what = title.lower()
    values = pd.to_numeric(
        studies.set_index("study_id").loc[inc["study_id"], column], errors="coerce"
    ).to_numpy(float)
    has = np.isfinite(values)
    missing = inc.loc[~has, "label"].astype(str).to_list()
    used = inc.loc[has]
    x = values[has]
    k = len(used)
    if missing:
        with st.expander(f"Left out of the meta-regression ({len(missing)})"):
            reasons = [MISSING_REASON[state.mod]] * len(missing)
            st.dataframe(
                pd.DataFrame({"Study": missing, "Why not": reasons}),
                hide_index=True,
                width="stretch",
            )
    if k < 3:
        st.info(
            f"A meta-regression on {what} needs at least three studies with a {what}; this "
            f"selection has {k}."
        )
        return
    if np.ptp(x) == 0:
        st.info(
            f"All {k} studies have the same {what} ({x[0]:g}), so its effect cannot be estimated."
        )
        return
    test = "knha" if state.ci == "hksj" else "z"
    try:
        fit = meta_regression(
            used["yi"].to_numpy(float),
            used["vi"].to_numpy(float),
            x,
            method=state.method,
            names=[what],
            test=test,
        )
    except ValueError as err:
        st.info(f"The meta-regression cannot be computed: {err}.")
        return
    if k < 10:
        st.warning(
            f"k = {k}: a meta-regression on so few studies has little power and can mislead.",
            icon=":material/warning:",
        )
    points, line = bubble_frames(fit, used["label"].astype(str).to_list())
    name = blocks.ratio_name(oa)
    chart = bubble_chart(points, line, x_title=title, measure_label=oa.title)
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.altair_chart(chart, width="content", theme=None)
        st.caption(
            "Circle area: weight in the meta-regression. Line: fitted effect with its 95% CI "
            "band; dotted line: no effect (ratio 1)."
        )
    unit = "point" if state.mod == "quality" else "year"
    slope, lo, hi = fit.coef[1], fit.ci_low[1], fit.ci_high[1]
    with right:
        c1, c2 = st.columns(2)
        c1.metric(f"Ratio of {name}s per {unit}", blocks.fmt_ratio(exp_ratio(slope)))
        c2.metric("95% CI", blocks.fmt_ci(exp_ratio(lo), exp_ratio(hi)))
        c3, c4 = st.columns(2)
        c3.metric(f"p ({'t' if test == 'knha' else 'z'})", blocks.fmt_p(float(fit.pvalue[1])))
        c4.metric("R²", "–" if fit.r2 is None or math.isnan(fit.r2) else f"{fit.r2:.1f}%")
        st.caption(
            f"Slope {slope:.3f} on the log scale per {unit} of {what} (k = {k}); "
            f"residual τ² = {fit.tau2:.4f}; "
            f"{_lower(model_label(state.method, state.ci))}."
        )
        if fit.note:
            st.caption(f"Note: {fit.note}")
    table = points.assign(fitted=fit.fitted)
    exports.downloads(f"meta-regression {oa.outcome} {state.mod}", chart, table)


def main() -> None:
    state = sync.current()
    dataset = cache.current_dataset()[1]
    oa = cache.analysis(state).outcomes[state.outcome]
    st.title("Small-study effects")
    st.caption(
        "Do smaller studies report different effects from larger ones? Such asymmetry can come "
        "from publication bias, but also from heterogeneity, chance or differences in design."
    )
    if oa.pooled is None:
        st.warning(oa.message or "Nothing to analyse.")
        return
    inc = oa.rows[oa.rows["included"]].reset_index(drop=True)
    st.caption(f"{oa.title} · k = {len(inc)} · {model_label(state.method, state.ci)}")
    if len(inc) < 3:
        st.caption(
            "To include more studies, widen the filters in the sidebar or allow interpolated "
            "rates (odds ratios)."
        )
    y, v = inc["yi"].to_numpy(float), inc["vi"].to_numpy(float)
    tf = run_trim_and_fill(y, v, state.method)
    funnel_section(oa, state, inc, tf)
    tests_section(oa, state, inc, tf)
    regression_section(oa, state, inc, dataset.studies)
    blocks.not_used(oa)


main()
