"""Small-study effects: contour-enhanced funnel plot, asymmetry tests, trim and fill, and a
meta-regression on numeric study columns (a bubble plot for one), for the sidebar's outcome
and filters."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import fmt
from core.charts.bias import bubble_chart, funnel_chart
from core.charts.forest import VegaSpec
from core.state.view import FIELD_BY_NAME, MAX_MODERATORS, ViewState
from core.stats.effects import exp_ratio
from core.views.analysis import (
    BIAS_ANALYSES,
    frequentist_view,
    model_label,
    ratio_pages_unavailable,
)
from core.views.bias import (
    BiasView,
    Regression,
    coefficient_frame,
    moderator_choices,
    moderator_title,
)
from ui import blocks, cache, endpoints, exports, style, sync

sync.require_entrypoint()


def _commit(field: str, key: str) -> None:
    sync.commit(sync.current().replace(**{field: st.session_state[key]}))


def _bound(key: str, value: object) -> None:
    """Give widget ``key`` the state's value before it is drawn (the link wins)."""
    st.session_state[key] = value


def _code(bv: BiasView) -> str:
    """The outcome's code in the dataset's words (file names: funnel-TB.csv)."""
    return cache.current_dataset()[1].description.words(bv.outcome).code


def _lower(s: str) -> str:
    return s[:1].lower() + s[1:]


def funnel_section(bv: BiasView, state: ViewState, name: str) -> None:
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
    if bv.funnel is None or bv.points is None:
        st.info(bv.funnel_message)
        return
    shown = bv.shown_tf
    fd, frame = bv.funnel, bv.points
    view = cache.view_key(state)
    chart = cache.per_view(
        view,
        "funnel",
        lambda: VegaSpec(
            funnel_chart(
                frame,
                fd,
                measure_label=bv.title,
                adjusted=None if shown is None else shown.estimate,
            ).to_dict()
        ),
    )
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.vega_lite_chart(spec=cache.display_spec(view, "funnel", chart), width="content")
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
        if state.tf and bv.tf_message:
            st.info(bv.tf_message)
        elif state.tf and shown is None:
            st.caption("Trim and fill estimates no missing studies: nothing to fill in.")
        exports.downloads(f"funnel {_code(bv)}", chart, frame)


def tests_section(bv: BiasView, state: ViewState) -> None:
    st.subheader("Tests for funnel-plot asymmetry")
    if bv.table is None:
        st.info(bv.tests_message)
        return
    if bv.low_power:
        st.warning(bv.low_power, icon=":material/warning:")
    st.dataframe(bv.table, hide_index=True, width="stretch")
    if bv.tf_note:
        st.caption(bv.tf_note)
    st.caption(
        "Egger: a slope on the standard error away from 0 means smaller studies report "
        "different effects from larger ones. Trim and fill: p of the adjusted estimate "
        "against no effect."
    )
    exports.downloads(f"asymmetry tests {_code(bv)}", None, bv.table)


def _commit_mods(key: str) -> None:
    chosen = tuple(st.session_state[key]) or FIELD_BY_NAME["mod"].default  # empty: the default
    sync.commit(sync.current().replace(mod=chosen))


def regression_section(bv: BiasView, state: ViewState, name: str) -> None:
    st.subheader("Meta-regression")
    studies = cache.current_dataset()[1].studies
    _bound("w_bias_mod", list(state.mod))
    st.multiselect(
        "Moderators",
        list(moderator_choices(studies, state.mod)),
        key="w_bias_mod",
        format_func=moderator_title,
        max_selections=MAX_MODERATORS,
        on_change=_commit_mods,
        args=("w_bias_mod",),
        help="Numeric columns of the studies table, fitted together (metafor: mods = ~ a + b). "
        "Empty: quality score.",
    )
    reg = bv.regression
    if reg is None:
        return
    for notice in reg.notices:
        st.caption(blocks.text(notice))
    what = reg.title.lower() if len(reg.titles) == 1 else reg.title
    if reg.missing:
        with st.expander(f"Left out of the meta-regression ({len(reg.missing)})"):
            st.dataframe(
                pd.DataFrame({"Study": list(reg.missing), "Why not": list(reg.missing_reasons)}),
                hide_index=True,
                width="stretch",
            )
    if reg.fit is not None and reg.points is None:
        several_section(bv, reg, state, name)
        return
    fit, points, line = reg.fit, reg.points, reg.line
    if fit is None or points is None or line is None:
        st.info(reg.message)
        return
    if reg.warning:
        st.warning(reg.warning, icon=":material/warning:")
    view = cache.view_key(state)
    chart = cache.per_view(
        view,
        "bubble",
        lambda: VegaSpec(
            bubble_chart(points, line, x_title=reg.title, measure_label=bv.title).to_dict()
        ),
    )
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.vega_lite_chart(spec=cache.display_spec(view, "bubble", chart), width="content")
        st.caption(
            "Circle area: weight in the meta-regression. Line: fitted effect with its 95% CI "
            "band; dotted line: no effect (ratio 1)."
        )
    unit = {"quality": "point", "year": "year"}.get(reg.moderators[0], "unit")
    slope, lo, hi = fit.coef[1], fit.ci_low[1], fit.ci_high[1]
    with right:
        # tiles: their values scale with the window (ui.style), so the CI is not cut off
        with st.container(key=f"{style.TILES_PREFIX}bias_regression"):
            c1, c2 = st.columns(2)
            c1.metric(f"Ratio of {name}s per {unit}", fmt.ratio(exp_ratio(slope)))
            c2.metric("95% CI", fmt.ratio_ci(exp_ratio(lo), exp_ratio(hi)))
            c3, c4 = st.columns(2)
            p_name = f"p ({'t' if reg.test == 'knha' else 'z'})"
            c3.metric(p_name, fmt.p_value(float(fit.pvalue[1])))
            c4.metric("R²", fmt.percent(fit.r2))
        st.caption(
            f"Slope {fmt.coefficient(slope)} on the log scale per {unit} of {what} (k = {reg.k}); "
            f"residual τ² = {fmt.tau2(fit.tau2)}; "
            f"{_lower(model_label(state.method, state.ci))}."
        )
        if fit.note:
            st.caption(f"Note: {fit.note}")
    table = points.assign(fitted=fit.fitted)
    exports.downloads(f"meta-regression {_code(bv)} {reg.moderator}", chart, table)


def several_section(bv: BiasView, reg: Regression, state: ViewState, name: str) -> None:
    """Several moderators fitted together: the coefficients (no bubble plot)."""
    fit = reg.fit
    assert fit is not None
    if reg.warning:
        st.warning(reg.warning, icon=":material/warning:")
    st.table(coefficient_frame(fit, name).set_index("Term"))
    test = f"F on {fit.qm_df} and {fit.qe_df} df" if reg.test == "knha" else f"χ² on {fit.qm_df} df"
    st.caption(
        f"All moderators together (QM, {test}): {fmt.stat(fit.qm)}, p = "
        f"{fmt.p_value(fit.qm_pvalue)}; "
        f"residual τ² = {fmt.tau2(fit.tau2)}; R² = {fmt.percent(fit.r2)}; k = {reg.k}; "
        f"{_lower(model_label(state.method, state.ci))}. Each ratio is per unit of its "
        "moderator with the others held fixed."
    )
    if fit.note:
        st.caption(f"Note: {blocks.text(fit.note)}")
    exports.downloads(
        f"meta-regression {_code(bv)} {reg.moderator}", None, fit.summary_frame().reset_index()
    )


def main() -> None:
    state = sync.current()
    state, bayes_note = frequentist_view(state, BIAS_ANALYSES)
    oa = cache.analysis(state).outcomes[state.outcome]
    st.title("Small-study effects")
    if bayes_note:
        st.info(bayes_note)
    st.caption(
        "Do smaller studies report different effects from larger ones? Such asymmetry can come "
        "from publication bias, but also from heterogeneity, chance or differences in design."
    )
    blocks.overlap_note(oa)
    unavailable = ratio_pages_unavailable(state)
    if unavailable:
        st.info(unavailable)
        return
    bv = cache.bias(state)
    if bv.message is not None:
        st.warning(bv.message)
        return
    st.caption(f"{blocks.text(bv.title)} · k = {bv.k} · {model_label(state.method, state.ci)}")
    endpoints.render(oa)
    if bv.k < 3:
        interp = state.measure == "OR" and state.tpoint == "exact"
        st.caption(
            "To include more studies, widen the filters in the sidebar"
            + (" or allow interpolated rates." if interp else ".")
        )
    name = blocks.ratio_name(oa)
    funnel_section(bv, state, name)
    tests_section(bv, state)
    regression_section(bv, state, name)
    blocks.not_used(oa)


main()
