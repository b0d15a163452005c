"""Sensitivity: how robust is the pooled result of the sidebar's outcome and filters?

Leave-one-out, cumulative meta-analysis, influence (Baujat plot and diagnostics), the result
under every model, a quality-score threshold sweep and, on request, a GOSH plot. Everything
is computed by core.stats.sensitivity on the included studies of the current view.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd
import streamlit as st

from core.charts.forest import VegaSpec
from core.charts.sensitivity import (
    baujat_chart,
    cumulative_chart,
    estimator_chart,
    fmt_ratio,
    gosh_chart,
    leave_one_out_chart,
    quality_sweep_chart,
)
from core.state.view import ViewState
from core.stats.effects import exp_ratio
from core.stats.sensitivity import (
    CHANGE_THRESHOLD,
    QualitySweep,
    baujat,
    cumulative_frame,
    cumulative_order,
    estimator_panel,
    gosh,
    influence,
    leave_one_out_frame,
    quality_sweep,
)
from core.views.analysis import OutcomeAnalysis, model_label
from ui import blocks, cache, exports, sync

sync.require_entrypoint()

#: GOSH fits every subset up to this many (k <= 13), else this many seeded random subsets:
#: more points than a browser chart can draw usefully.
GOSH_MAX_SUBSETS = 8191
GOSH_SEED = 20240501
ORDERS = {"year": "Publication year (oldest first)", "quality": "Quality score (best first)"}


def ci_text(est: float, low: float, high: float) -> str:
    """'0.36 (0.15–0.91)' from log-scale values; the CI part is '–' when undefined."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"{fmt_ratio(exp_ratio(est))} (CI not estimable)"
    return f"{fmt_ratio(exp_ratio(est))} ({blocks.fmt_ci(exp_ratio(low), exp_ratio(high))})"


def _num(x: float, digits: int = 3) -> str:
    return "–" if not math.isfinite(x) else f"{x:.{digits}f}"


def _commit_order() -> None:
    sync.commit(sync.current().replace(order=st.session_state["w_sens_order"]))


def draw(view: str, part: str, chart: VegaSpec) -> None:
    """Draw a chart cached for this view (its rows sent as cached Arrow bytes)."""
    st.vega_lite_chart(spec=cache.display_spec(view, part, chart), width="content")


def _too_few(what: str, need: int, k: int) -> None:
    st.info(
        f"{what} needs at least {need} included studies; this selection has {k}. "
        "Widen the filters in the sidebar (designs, indications, time point, "
        "interpolated rates) to include more studies."
    )


# ---------------------------------------------------------------------------------------


def leave_one_out_section(inc: pd.DataFrame, state: ViewState, name: str, label: str) -> None:
    st.subheader("Leave-one-out")
    k = len(inc)
    if k < 3:
        _too_few("Leave-one-out (each refit must still pool at least two studies)", 3, k)
        return

    def make() -> tuple[pd.DataFrame, VegaSpec]:
        frame = leave_one_out_frame(
            inc["yi"], inc["vi"], list(inc["study_id"]), list(inc["label"]), state.method, state.ci
        )
        return frame, VegaSpec(leave_one_out_chart(frame, measure_label=label).to_dict())

    view = cache.view_key(state)
    frame, chart = cache.per_view(view, "leave-one-out", make)
    st.caption(
        "Each row pools every study but one. Marked rows (vermillion triangles) change the "
        f"conclusion: the 95% CI crosses 1 where the full result's does not (or the reverse), "
        f"or the {name} moves by more than {100 * CHANGE_THRESHOLD:.0f}%. Grey band: the "
        "full result's CI."
    )
    draw(view, "leave-one-out", chart)
    flagged = frame[frame["flagged"]]
    if flagged.empty:
        st.success("No single study's omission changes the conclusion.")
    else:
        st.markdown(
            f"**{len(flagged)} of {k}** omissions change the conclusion: "
            + "; ".join(
                f"{blocks.text(r.label)} ({blocks.text(r.reason)})" for r in flagged.itertuples()
            )
            + "."
        )
    table = pd.DataFrame(
        {
            "Omitted": [s or "none (all studies)" for s in frame["study_id"]],
            "k": frame["k"],
            f"{name} (95% CI)": [
                ci_text(*r)
                for r in zip(frame["estimate"], frame["ci_low"], frame["ci_high"], strict=True)
            ],
            "Change": [f"{c:+.1f}%" for c in frame["change_pct"]],
            "Conclusion changes": ["⚑ " + r if r else "" for r in frame["reason"]],
        }
    )
    with st.expander("Leave-one-out table"):
        st.dataframe(table, hide_index=True, width="stretch")
    exports.downloads(f"leave-one-out-{state.outcome}", chart, frame)


def cumulative_section(
    inc: pd.DataFrame, studies: pd.DataFrame, state: ViewState, name: str, label: str
) -> None:
    st.subheader("Cumulative meta-analysis")
    st.session_state["w_sens_order"] = state.order  # the link wins
    st.radio(
        "Add studies in order of",
        list(ORDERS),
        format_func=ORDERS.get,
        key="w_sens_order",
        horizontal=True,
        on_change=_commit_order,
    )
    k = len(inc)
    if k < 2:
        _too_few("A cumulative meta-analysis", 2, k)
        return
    meta = studies.set_index("study_id").loc[inc["study_id"]]
    order = cumulative_order(meta["year"], meta["quality_score"], state.order)
    col = "year" if state.order == "year" else "quality_score"
    keys = ["not reported" if pd.isna(x) else f"{x}" for x in meta[col]]
    key_title = "year" if state.order == "year" else "score"

    def make() -> tuple[pd.DataFrame, VegaSpec]:
        frame = cumulative_frame(
            inc["yi"], inc["vi"], list(inc["label"]), keys, order, state.method, state.ci
        )
        chart = cumulative_chart(frame, measure_label=label, key_title=key_title)
        return frame, VegaSpec(chart.to_dict())

    view = cache.view_key(state)
    frame, chart = cache.per_view(view, "cumulative", make)
    missing = [s for s, x in zip(inc["label"], meta[col], strict=True) if pd.isna(x)]
    st.caption(
        "Row j pools the first j studies; the last row is the full result (grey band). "
        + ("Ties keep the table order. " if state.order == "year" else "Ties: older first. ")
        + (
            f"Without a {key_title}, added last: {blocks.text(', '.join(missing))}."
            if missing
            else ""
        )
    )
    draw(view, "cumulative", chart)
    exports.downloads(f"cumulative-{state.order}-{state.outcome}", chart, frame)


def influence_section(inc: pd.DataFrame, state: ViewState) -> None:
    st.subheader("Influence")
    k = len(inc)
    if k < 3:
        _too_few("Influence diagnostics (each refit must still pool two studies)", 3, k)
        return
    view = cache.view_key(state)
    frame, chart = cache.per_view(view, "influence", lambda: _influence(inc, state))
    st.caption(
        "Baujat plot: studies to the right add most to the between-study heterogeneity; "
        "studies near the top move the pooled result most when left out (squared shift over "
        "its variance, as metafor's baujat). Triangles: influential by metafor's rule "
        "(|DFFITS| > 3√(1/(k−1)), Cook's distance above the χ²₁ median, hat > 3/k or "
        "|DFBETAS| > 1)."
    )
    draw(view, "influence", chart)
    table = pd.DataFrame(
        {
            "Study": frame["label"],
            "rstudent": frame["rstudent"].map(_num),
            "dffits": frame["dffits"].map(_num),
            "cook.d": frame["cook_d"].map(_num),
            "cov.r": frame["cov_r"].map(_num),
            "tau2.del": frame["tau2_del"].map(lambda x: _num(x, 4)),
            "QE.del": frame["qe_del"].map(_num),
            "hat": frame["hat"].map(_num),
            "weight (%)": frame["weight"].map(lambda x: _num(x, 1)),
            "Influential": np.where(frame["influential"], "⚑ yes", ""),
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    exports.downloads(f"influence-{state.outcome}", chart, frame)


def _influence(inc: pd.DataFrame, state: ViewState) -> tuple[pd.DataFrame, VegaSpec]:
    """Influence diagnostics and Baujat coordinates of the included studies, and the plot."""
    y, v = inc["yi"].to_numpy(float), inc["vi"].to_numpy(float)
    inf = influence(y, v, method=state.method)
    bj = baujat(y, v, method=state.method, ci=state.ci)
    frame = pd.DataFrame(
        {
            "study_id": inc["study_id"].to_numpy(),
            "label": inc["label"].to_numpy(),
            "x": bj.x,
            "y": bj.y,
            "rstudent": inf.rstudent,
            "dffits": inf.dffits,
            "cook_d": inf.cooks_d,
            "cov_r": inf.cov_r,
            "tau2_del": inf.tau2_del,
            "qe_del": inf.q_del,
            "hat": inf.hat,
            "weight": inf.weight,
            "influential": inf.influential,
        }
    )
    return frame, VegaSpec(baujat_chart(frame).to_dict())


def estimator_section(inc: pd.DataFrame, oa: OutcomeAnalysis, state: ViewState, label: str) -> None:
    st.subheader("Does the conclusion depend on the model?")
    k = len(inc)
    if k < 2:
        _too_few("Comparing models", 2, k)
        return
    counts = inc[["events_rt", "n_rt", "events_ctl", "n_ctl"]]
    has_tables = oa.measure == "OR" and counts.notna().all(axis=None)
    tables = tuple(counts[c].to_numpy(float) for c in counts.columns) if has_tables else None

    def make() -> tuple[pd.DataFrame, VegaSpec]:
        frame = estimator_panel(inc["yi"], inc["vi"], tables)  # type: ignore[arg-type]
        chart = estimator_chart(frame, measure_label=label, current=(state.method, state.ci))
        return frame, VegaSpec(chart.to_dict())

    view = cache.view_key(state)
    frame, chart = cache.per_view(view, "estimators", make)
    ok = frame.dropna(subset=["ci_low", "ci_high"])
    excl = (ok["ci_low"] > 0) | (ok["ci_high"] < 0)
    verdict = (
        "every model's 95% CI excludes 1"
        if excl.all()
        else "no model's 95% CI excludes 1"
        if not excl.any()
        else f"the 95% CI excludes 1 under {int(excl.sum())} of {len(ok)} models only"
    )
    st.caption(
        "Each tau² estimator with a Wald (blue) and a Hartung-Knapp (orange) interval, then the "
        "common-effect models (black)"
        + ("" if has_tables else "; Mantel-Haenszel and Peto need 2x2 counts (odds ratios)")
        + f". Here {verdict}."
    )
    draw(view, "estimators", chart)
    exports.downloads(f"estimators-{state.outcome}", chart, frame)


def quality_section(
    oa: OutcomeAnalysis, state: ViewState, dataset: object, effects: object, label: str
) -> None:
    st.subheader("Quality threshold sweep")

    def make() -> tuple[QualitySweep, VegaSpec | None]:
        sweep = quality_sweep(state.outcome, state, dataset.studies, effects)  # type: ignore[attr-defined]
        if sweep.message:
            return sweep, None
        chart = quality_sweep_chart(sweep.frame, measure_label=label, current=state.qmin)
        return sweep, VegaSpec(chart.to_dict())

    view = cache.view_key(state)
    sweep, chart = cache.per_view(view, "quality-sweep", make)
    if chart is None:
        st.info(sweep.message)
        return
    st.caption(
        "The pooled result as the minimum quality score (this project's editorial rating, "
        "0–7) rises; every other filter is the sidebar's."
        + (
            f" Studies without a score drop out at every threshold: "
            f"{blocks.text(', '.join(sweep.unscored))}."
            if sweep.unscored
            else ""
        )
    )
    draw(view, "quality-sweep", chart)
    exports.downloads(f"quality-sweep-{state.outcome}", chart, sweep.frame)


def gosh_section(inc: pd.DataFrame, state: ViewState, label: str) -> None:
    st.subheader("GOSH plot")
    k = len(inc)
    if k < 3:
        _too_few("A GOSH plot", 3, k)
        return
    method = "EE" if state.method == "EE" else "DL"
    y, v = inc["yi"].to_numpy(float), inc["vi"].to_numpy(float)
    digest = hashlib.sha256(np.concatenate([y, v]).tobytes() + method.encode()).hexdigest()
    key = f"gosh_{digest[:16]}"
    n_all = 2**k - 1
    what = (
        f"all {n_all} subsets"
        if n_all <= GOSH_MAX_SUBSETS
        else f"{GOSH_MAX_SUBSETS} random subsets (seed {GOSH_SEED}) of the {n_all}"
    )
    st.caption(
        f"The pooled {label} against I² for {what} of the {k} studies "
        f"({'common effect' if method == 'EE' else 'DerSimonian-Laird'}, as metafor's gosh). "
        "Separate clusters suggest studies that drive heterogeneity."
    )
    if st.button("Compute the GOSH plot", key="gosh_go"):
        res = gosh(y, v, method=method, max_subsets=GOSH_MAX_SUBSETS, seed=GOSH_SEED)
        members = [", ".join(inc["study_id"].to_numpy()[row]) for row in res.membership]
        st.session_state[key] = pd.DataFrame(
            {
                "ratio": exp_ratio(res.estimate),
                "estimate": res.estimate,
                "i2": res.i2,
                "k": res.k,
                "studies": members,
            }
        )
    frame = st.session_state.get(key)
    if frame is None:
        return
    chart = gosh_chart(frame, measure_label=label)
    st.altair_chart(chart, width="content")
    exports.downloads(f"gosh-{state.outcome}", chart, frame)


# ---------------------------------------------------------------------------------------

state = sync.current()
data_key, dataset = cache.current_dataset()
effects = cache.effects_fn(data_key, dataset)
oa = cache.analysis(state).outcomes[state.outcome]

st.title(f"Sensitivity: {oa.title[0].lower()}{oa.title[1:]}")
if oa.pooled is None:
    st.warning(oa.message or "Nothing to pool.")
    st.stop()
p = oa.pooled
name = blocks.ratio_name(oa)
st.markdown(
    f"**Pooled {name} {ci_text(p.estimate, p.ci_low, p.ci_high)}**, k = {p.k}, "
    f"{model_label(p.method, p.ci)}. The analyses below use these {p.k} included studies "
    "and this model; change them in the sidebar."
)
included = oa.rows[oa.rows["included"]].reset_index(drop=True)
measure_label = oa.title

leave_one_out_section(included, state, name, measure_label)
cumulative_section(included, dataset.studies, state, name, measure_label)
influence_section(included, state)
estimator_section(included, oa, state, measure_label)
quality_section(oa, state, dataset, effects, measure_label)
gosh_section(included, state, name)
