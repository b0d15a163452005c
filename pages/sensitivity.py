"""Sensitivity: how robust is the pooled result of the sidebar's outcome and filters?

Leave-one-out, cumulative meta-analysis, influence (Baujat plot and diagnostics), the result
under every model, a quality-score threshold sweep and, on request, a GOSH plot. Everything
is computed by core.stats.sensitivity on the included studies of the current view.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from core import fmt
from core.charts.forest import VegaSpec
from core.charts.sensitivity import (
    baujat_chart,
    cumulative_chart,
    estimator_chart,
    gosh_chart,
    leave_one_out_chart,
    quality_sweep_chart,
)
from core.data.description import arm_name
from core.stats.effects import exp_ratio
from core.views.analysis import (
    SENSITIVITY_ANALYSES,
    frequentist_view,
    model_label,
    ratio_pages_unavailable,
)
from core.views.sensitivity import CHANGE_THRESHOLD, Panel, SensitivityView, gosh_frame
from ui import blocks, cache, endpoints, exports, sync

sync.require_entrypoint()

ORDERS = {"year": "Publication year (oldest first)", "quality": "Quality score (best first)"}


def ci_text(est: float, low: float, high: float) -> str:
    """'0.36 (0.15–0.91)' from log-scale values; '0.36 (CI not estimable)' when a bound is
    undefined."""
    ci = fmt.ratio_ci(exp_ratio(low), exp_ratio(high))
    return f"{fmt.ratio(exp_ratio(est))} ({'CI ' if ci == fmt.NOT_ESTIMABLE else ''}{ci})"


def _commit_order() -> None:
    sync.commit(sync.current().replace(order=st.session_state["w_sens_order"]))


def draw(view: str, part: str, chart: VegaSpec) -> None:
    """Draw a chart cached for this view (its rows sent as cached Arrow bytes)."""
    st.vega_lite_chart(spec=cache.display_spec(view, part, chart), width="content")


def chart_of(sv: SensitivityView, part: str, make: Callable[[], alt.TopLevelMixin]) -> VegaSpec:
    """The chart of ``part``, built once per view."""
    return cache.per_view(cache.view_key(sv.state), part, lambda: VegaSpec(make().to_dict()))


def shown(panel: Panel) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """A panel's (frame, plotted rows) when it has rows to draw; else None, saying why."""
    if panel.frame is None or panel.plot is None:
        st.info(panel.message)
        return None
    return panel.frame, panel.plot


# ---------------------------------------------------------------------------------------


def _arm(sv: SensitivityView) -> str:
    """The treated arm's name in the dataset's words (the charts' "< 1 favours ...")."""
    return arm_name(cache.current_dataset()[1].description)


def _code(sv: SensitivityView) -> str:
    """The outcome's code in the dataset's words (file names: leave-one-out-TB.csv)."""
    return cache.current_dataset()[1].description.words(sv.outcome).code


def leave_one_out_section(sv: SensitivityView, name: str) -> None:
    st.subheader("Leave-one-out")
    panel = sv.leave_one_out
    drawn = shown(panel)
    if drawn is None:
        return
    frame, plot = drawn
    chart = chart_of(
        sv,
        "leave-one-out",
        lambda: leave_one_out_chart(plot, measure_label=sv.title, treatment=_arm(sv)),
    )
    st.caption(
        "Each row pools every study but one. Marked rows (vermillion triangles) change the "
        f"conclusion: the 95% CI crosses 1 where the full result's does not (or the reverse), "
        f"or the {name} moves by more than {fmt.percent(100 * CHANGE_THRESHOLD, 0)}. Grey band: "
        "the "
        "full result's CI." + (f" {panel.note}" if panel.note else "")
    )
    draw(cache.view_key(sv.state), "leave-one-out", chart)
    flagged = frame[frame["flagged"]]
    k = len(sv.included)
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
            "Change": [fmt.change(c) for c in frame["change_pct"]],
            "Conclusion changes": ["⚑ " + r if r else "" for r in frame["reason"]],
        }
    )
    with st.expander("Leave-one-out table"):
        st.dataframe(table, hide_index=True, width="stretch")
    exports.downloads(f"leave-one-out-{_code(sv)}", chart, frame)


def cumulative_section(sv: SensitivityView) -> None:
    st.subheader("Cumulative meta-analysis")
    st.session_state["w_sens_order"] = sv.state.order  # the link wins
    st.radio(
        "Add studies in order of",
        list(ORDERS),
        format_func=ORDERS.__getitem__,
        key="w_sens_order",
        horizontal=True,
        on_change=_commit_order,
    )
    panel = sv.cumulative
    drawn = shown(panel)
    if drawn is None:
        return
    frame, plot = drawn
    key_title = "year" if sv.state.order == "year" else "score"
    chart = chart_of(
        sv,
        "cumulative",
        lambda: cumulative_chart(
            plot, measure_label=sv.title, key_title=key_title, treatment=_arm(sv)
        ),
    )
    missing = ", ".join(sv.unkeyed)
    st.caption(
        "Row j pools the first j studies; the last row is the full result (grey band). "
        + ("Ties keep the table order. " if sv.state.order == "year" else "Ties: older first. ")
        + (f"Without a {key_title}, added last: {blocks.text(missing)}. " if missing else "")
        + (panel.note or "")
    )
    draw(cache.view_key(sv.state), "cumulative", chart)
    exports.downloads(f"cumulative-{sv.state.order}-{_code(sv)}", chart, frame)


def influence_section(sv: SensitivityView) -> None:
    st.subheader("Influence")
    panel = sv.influence
    drawn = shown(panel)
    if drawn is None:
        return
    frame = drawn[0]
    chart = chart_of(sv, "influence", lambda: baujat_chart(frame))
    st.caption(
        "Baujat plot: studies to the right add most to the between-study heterogeneity; "
        "studies near the top move the pooled result most when left out (squared shift over "
        "its variance, as metafor's baujat). Triangles: influential by metafor's rule "
        "(|DFFITS| > 3√(1/(k−1)), Cook's distance above the χ²₁ median, hat > 3/k or "
        "|DFBETAS| > 1)."
    )
    draw(cache.view_key(sv.state), "influence", chart)
    table = pd.DataFrame(
        {
            "Study": frame["label"],
            "rstudent": frame["rstudent"].map(fmt.diagnostic),
            "dffits": frame["dffits"].map(fmt.diagnostic),
            "cook.d": frame["cook_d"].map(fmt.diagnostic),
            "cov.r": frame["cov_r"].map(fmt.diagnostic),
            "tau2.del": frame["tau2_del"].map(fmt.tau2),
            "QE.del": frame["qe_del"].map(fmt.diagnostic),
            "hat": frame["hat"].map(fmt.diagnostic),
            "weight (%)": frame["weight"].map(fmt.percent_number),
            "Influential": np.where(frame["influential"], "⚑ yes", ""),
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    exports.downloads(f"influence-{_code(sv)}", chart, frame)


def estimator_section(sv: SensitivityView) -> None:
    st.subheader("Does the conclusion depend on the model?")
    panel = sv.estimators
    drawn = shown(panel)
    if drawn is None:
        return
    frame = drawn[0]
    current = (sv.state.method, sv.state.ci)
    chart = chart_of(
        sv,
        "estimators",
        lambda: estimator_chart(frame, measure_label=sv.title, current=current, treatment=_arm(sv)),
    )
    st.caption(
        "Each tau² estimator with a Wald (blue) and a Hartung-Knapp (orange) interval, then the "
        "common-effect models (black)"
        + ("" if sv.has_tables else "; Mantel-Haenszel and Peto need 2x2 counts (odds ratios)")
        + f". Here {sv.verdict}."
    )
    draw(cache.view_key(sv.state), "estimators", chart)
    exports.downloads(f"estimators-{_code(sv)}", chart, frame)


def quality_section(sv: SensitivityView) -> None:
    st.subheader("Quality threshold sweep")
    sweep = sv.quality
    if sweep.message:
        st.info(sweep.message)
        return
    chart = chart_of(
        sv,
        "quality-sweep",
        lambda: quality_sweep_chart(
            sweep.frame, measure_label=sv.title, current=sv.state.qmin, treatment=_arm(sv)
        ),
    )
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
    draw(cache.view_key(sv.state), "quality-sweep", chart)
    exports.downloads(f"quality-sweep-{_code(sv)}", chart, sweep.frame)


def gosh_section(sv: SensitivityView, name: str) -> None:
    st.subheader("GOSH plot")
    if sv.gosh is None:
        st.info(sv.gosh_message)
        return
    k = len(sv.included)
    st.caption(
        f"The pooled {name} against I² for {sv.gosh} of the {k} studies "
        f"({'common effect' if sv.gosh_method == 'EE' else 'DerSimonian-Laird'}, as metafor's "
        "gosh). Separate clusters suggest studies that drive heterogeneity."
    )
    inc = sv.included
    data = np.concatenate([inc["yi"].to_numpy(float), inc["vi"].to_numpy(float)])
    key = f"gosh_{hashlib.sha256(data.tobytes() + sv.gosh_method.encode()).hexdigest()[:16]}"
    if st.button("Compute the GOSH plot", key="gosh_go"):
        st.session_state[key] = gosh_frame(inc, sv.gosh_method)
    frame = st.session_state.get(key)
    if frame is None:
        return
    chart = gosh_chart(frame, measure_label=name)
    st.altair_chart(chart, width="content")
    exports.downloads(f"gosh-{_code(sv)}", chart, frame)


# ---------------------------------------------------------------------------------------

state = sync.current()
state, bayes_note = frequentist_view(state, SENSITIVITY_ANALYSES)
oa = cache.analysis(state).outcomes[state.outcome]
unavailable = ratio_pages_unavailable(state)
if unavailable:
    st.title("Sensitivity")
    st.info(unavailable)
    st.stop()
sv = cache.sensitivity(state)

st.title(blocks.text(f"Sensitivity: {sv.title[0].lower()}{sv.title[1:]}"))
if bayes_note:
    st.info(bayes_note)
endpoints.render(oa)
if sv.pooled is None:
    st.warning(sv.message)
    st.stop()
p = sv.pooled
name = blocks.ratio_name(oa)
st.markdown(
    f"**Pooled {name} {ci_text(p.estimate, p.ci_low, p.ci_high)}**, k = {p.k}, "
    f"{model_label(p.method, p.ci)}. The analyses below use these {p.k} included studies "
    "and this model; change them in the sidebar."
)
blocks.overlap_note(oa)

leave_one_out_section(sv, name)
cumulative_section(sv)
influence_section(sv)
estimator_section(sv)
quality_section(sv)
gosh_section(sv, name)
