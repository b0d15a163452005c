"""Page blocks shared by several pages: summary metrics, forest plot with click-to-toggle,
published comparison, the list of studies not used, and the per-study include table."""

from __future__ import annotations

from typing import Any, Final

import pandas as pd
import streamlit as st

from core import fmt, vocab
from core.charts.forest import LABEL_PARAM, TOGGLE_PARAM, forest_chart
from core.charts.rob import rob_summary_chart
from core.data.dataset import Dataset
from core.fmt import p_value as fmt_p  # the names the pages and tests use
from core.fmt import ratio as fmt_ratio  # noqa: F401 (the tests read it from here)
from core.fmt import ratio_ci as fmt_ci  # noqa: F401
from core.report.narrative import summary_sentence
from core.report.rscript import r_script
from core.state.view import ViewState
from core.stats.effects import is_ratio, null_value, to_shown
from core.stats.pooling import COMMON_EFFECT, PoolResult
from core.views import rob
from core.views.analysis import (
    Analysis,
    OutcomeAnalysis,
    benefit_caveat,
    forest_footer,
    forest_frame,
    model_label,
    plain_benefit,
    prior_sensitivity_line,
    prior_words,
    subgroup_test_text,
    subtotal_text,
)
from core.views.overlap import mark as overlap_mark
from core.views.overlap import overlap_sentence
from core.views.published import published_comparison, source_label
from core.views.results_table import plot_table
from core.vocab import MODEL_HELP, NOT_ADVICE, STAT_HELP
from ui import cache, exports, style, sync
from ui.markup import link_code
from ui.markup import md as text  # the one Markdown escaper, as blocks.text for the pages
from ui.report import render_report_downloads

# Two forest plots side by side fit a laptop screen at this width (weights in the tooltip);
# the Overview draws them so, and ui/warmup.py caches them so at start-up.
OVERVIEW_FOREST_WIDTH: Final = 470

DISCLAIMER = NOT_ADVICE  # declared in core/vocab.py


def ratio_name(oa: OutcomeAnalysis) -> str:
    return str(oa.measure)


def pooled_help(oa: OutcomeAnalysis) -> str:
    """The pooled ratio's help text, naming what the pooled studies measured."""
    what = STAT_HELP["Pooled"] if is_ratio(oa.measure) else vocab.POOLED_RD_HELP
    return f"{what} Here: {text(oa.title)}."


def metrics(oa: OutcomeAnalysis, state: ViewState) -> None:
    """Pooled ratio with CI, p, k, patients, I2, tau2 and the prediction interval."""
    p = oa.pooled
    if p is None:
        st.warning(oa.message or "Nothing to pool.")
        return
    name = ratio_name(oa)
    if oa.bayes is not None:
        _bayes_metrics(oa, p, name)
        return
    with st.container(key=f"{style.TILES_PREFIX}{oa.outcome}"):  # compact on a phone
        _tiles(oa, p, name)
    common = p.method in COMMON_EFFECT
    extra = [f"τ² = {fmt.tau2(p.tau2)}" if not common else "common-effect model (τ² = 0)"]
    helps = [STAT_HELP["τ²"]] if not common else []
    if p.method in ("MH", "PETO") and p.k > 1:
        extra.append(f"Q = {fmt.stat(p.q)} on {p.df} df, p = {fmt_p(p.q_pvalue)}")
    if not is_ratio(oa.measure):
        extra.append(vocab.RD_UNIT)
    if oa.zero_words:
        extra.append(oa.zero_words)
    pred = oa.shown_prediction
    if pred is not None and not common and p.k > 1:
        if pred.available:
            pi = fmt.effect_ci(
                oa.measure, to_shown(oa.measure, pred.low), to_shown(oa.measure, pred.high)
            )
            extra.append(f"95% prediction interval {pi} ({vocab.PI_SHORT[pred.method]})")
        else:
            extra.append(str(pred.reason))
        helps.append(STAT_HELP["95% prediction interval"])
    extra.append(model_label(p.method, p.ci))
    st.caption(" · ".join(extra), help="\n\n".join([*helps, MODEL_HELP[p.method]]))
    if oa.message:
        st.info(oa.message)
    if p.note and p.k > 1:
        st.caption(f"Note: {p.note}")


def _bayes_metrics(oa: OutcomeAnalysis, p: PoolResult, name: str) -> None:
    """The Bayesian model's tiles (posterior median, 95% CrI, P(ratio < 1) or
    P(RD < 0)), its plain-words
    probability, the prior and the prior-sensitivity line."""
    b = oa.bayes
    assert b is not None
    with st.container(key=f"{style.TILES_PREFIX}{oa.outcome}"):
        c1, c2, c3 = st.columns([1, 1.7, 1])
        m = oa.measure
        null = fmt.number(null_value(m))
        c1.metric(f"Pooled {name} (median)", fmt.effect(m, to_shown(m, p.estimate)),
                  help=pooled_help(oa))  # fmt: skip
        c2.metric("95% CrI", fmt.effect_ci(m, to_shown(m, p.ci_low), to_shown(m, p.ci_high)),
                  help=STAT_HELP["95% CrI"])  # fmt: skip
        c3.metric(f"P({name} < {null})", fmt.probability(b.p_benefit),
                  help=STAT_HELP["P(benefit)"])  # fmt: skip
        c4, c5, c6 = st.columns([1, 1.7, 1])
        c4.metric("Studies (k)", f"{p.k}", help=STAT_HELP["Studies (k)"])
        c5.metric("Patients", fmt.count(oa.patients), help=STAT_HELP["Patients"])
        c6.metric("I²", fmt.percent(p.i2), help=STAT_HELP["I²"])
    bayes_lines(oa, name)
    if oa.message:
        st.info(oa.message)


def bayes_lines(oa: OutcomeAnalysis, name: str) -> None:
    """Under the Bayesian model: the probability of benefit in plain words (and what it is
    conditional on), tau, the predictive interval, the prior and the prior-sensitivity line."""
    b = oa.bayes
    p = oa.pooled
    if b is None or p is None:
        return
    st.markdown(f"**{text(str(plain_benefit(oa)))}**, " + text(benefit_caveat(p.k)))
    extra = [
        f"τ median {fmt.tau(b.tau_median)} (95% CrI {fmt.tau(b.tau_low)} to {fmt.tau(b.tau_high)})",
    ]
    pred = oa.shown_prediction
    if pred is not None and pred.available:
        m = oa.measure
        pi = fmt.effect_ci(m, to_shown(m, pred.low), to_shown(m, pred.high))
        extra.append(f"95% posterior predictive interval {pi}")
    elif pred is not None and pred.reason:
        extra.append(pred.reason)
    extra.append(prior_words(b.tau_prior))
    st.caption(" · ".join(extra), help=MODEL_HELP["BAYES"])
    st.caption(text(prior_sensitivity_line(oa, name)))


def _tiles(oa: OutcomeAnalysis, p: PoolResult, name: str) -> None:
    """The six metric tiles, two rows of three (the CI's column is the widest)."""
    c1, c2, c3 = st.columns([1, 1.7, 1])  # the CI needs the room
    m = oa.measure
    c1.metric(f"Pooled {name}", fmt.effect(m, to_shown(m, p.estimate)), help=pooled_help(oa))
    c2.metric(
        "95% CI",
        fmt.effect_ci(m, to_shown(m, p.ci_low), to_shown(m, p.ci_high)),
        help=STAT_HELP["95% CI"],
    )
    c3.metric(f"p ({p.dist})", fmt_p(p.pvalue), help=STAT_HELP["p"])
    c4, c5, c6 = st.columns([1, 1.7, 1])
    c4.metric("Studies (k)", f"{p.k}", help=STAT_HELP["Studies (k)"])
    c5.metric("Patients", fmt.count(oa.patients), help=STAT_HELP["Patients"])
    c6.metric("I²", fmt.percent(p.i2), help=STAT_HELP["I²"])


def summary(
    oa: OutcomeAnalysis, state: ViewState, studies: pd.DataFrame, data_key: str | None = None
) -> str:
    """``summary_sentence`` of ``oa`` as Markdown, once per view (dataset ``data_key``, default
    the one in use; link) and outcome, shared by reruns and sessions (warmed at start-up:
    ui/warmup.py): its pandas lookups cost a fifth of a rerun."""
    view = f"{cache.view_key(state, data_key)}|{oa.outcome}"
    return cache.per_view(view, "summary", lambda: text(summary_sentence(oa, state, studies)))


def _picked(event: Any, param: str = TOGGLE_PARAM) -> frozenset[str]:
    """Study ids in a forest plot's selection ``param`` (``event``: what the chart's key holds
    in the session, a selection state or nothing; empty when there is none)."""
    try:
        points = event["selection"][param]
    except (KeyError, TypeError):
        return frozenset()
    return frozenset(
        str(p.get("study_id", "")) for p in points if isinstance(p, dict) and p.get("study_id")
    )


FOREST_PARAMS: Final = (TOGGLE_PARAM, LABEL_PARAM)  # a click on a study's row, on its label


def clicked_study(event: Any, seen: dict[str, frozenset[str]]) -> tuple[str | None, dict]:
    """The study a click toggled, and the selections to remember for the next click.

    Each of a forest plot's two selections (its rows, its labels) adds a study on its first
    click and takes it out on the next, so a click changes exactly one study in one of them:
    that study is the one clicked, whichever selection it was in. Anything else (no change,
    or the browser restored old selections) toggles nothing and only resyncs."""
    picked = {param: _picked(event, param) for param in FOREST_PARAMS}
    changed = [
        (param, sid)
        for param in FOREST_PARAMS
        for sid in picked[param] ^ seen.get(param, frozenset())
    ]
    return (changed[0][1] if len(changed) == 1 else None), picked


def _toggle_from_chart(chart_key: str) -> None:
    """Every click adds its study to one of the plot's selections or takes it out (the chart
    keeps one key, so the browser redraws it in place); see ``clicked_study``."""
    seen_key = f"{chart_key}_seen"
    study, picked = clicked_study(st.session_state.get(chart_key), _seen(seen_key))
    st.session_state[seen_key] = picked
    if study is not None:
        toggle_study(study)


def _seen(seen_key: str) -> dict[str, frozenset[str]]:
    seen = st.session_state.get(seen_key)
    return seen if isinstance(seen, dict) else {}


def toggle_study(study_id: str) -> None:
    state = sync.current()
    excl = set(state.exclude)
    excl.symmetric_difference_update({study_id})
    sync.commit(state.replace(exclude=tuple(sorted(excl))))


def forest_specs(
    oa: OutcomeAnalysis,
    state: ViewState,
    studies: pd.DataFrame,
    *,
    large: bool = False,
    width: int | None = None,
    data_key: str | None = None,
) -> tuple[dict, dict]:
    """The forest plot's spec (rows as records, for exports) and the spec as the browser gets
    it (rows as Arrow bytes), once per view (dataset ``data_key``, default the one in use; link;
    outcome) and layout, shared by reruns and sessions (and warmed at start-up: ui/warmup.py)."""
    view, part = f"{cache.view_key(state, data_key)}|{oa.outcome}", f"forest {large} {width}"
    chart = cache.per_view(
        view,
        part,
        lambda: forest_chart(
            forest_frame(oa, state, studies),
            measure_label=oa.short_title,
            linear=not is_ratio(oa.measure),
            large=large,
            width=width,
            show_weight=width is None,
            footer=forest_footer(oa),
        ),
    )
    return chart, cache.display_spec(view, part, chart)


def forest(
    oa: OutcomeAnalysis,
    state: ViewState,
    studies: pd.DataFrame,
    *,
    large: bool = False,
    width: int | None = None,
):
    """The forest plot; clicking a study's row or label toggles it; its numbers as a table in
    an expander under it. Returns the chart for export.
    ``width`` (pixels) fits it into a column: the weight column then moves to the tooltip."""
    if oa.rows.empty:
        return None
    chart, display = forest_specs(oa, state, studies, large=large, width=width)
    key = f"forest_{oa.outcome}{'_large' if large else ''}"  # one per page that draws it
    if key not in st.session_state:  # a new plot in the browser starts with no selection
        st.session_state[f"{key}_seen"] = {}
    st.vega_lite_chart(
        spec=display,
        on_select=lambda: _toggle_from_chart(key),
        selection_mode=FOREST_PARAMS,
        key=key,
        width="content",
    )
    numbers(oa, key, studies, state.sort)
    if oa.subgroup_test is not None and oa.subgroup_test.df >= 1:  # two subgroups or more
        common = oa.subgroup_test.tau2 == "common"
        st.caption(
            text(f"{subgroup_test_text(oa.subgroup_test)} {subtotal_text(oa) or ''}".strip()),
            help=STAT_HELP["Q"] + " Here Q between subgroups: do the subgroups' pooled "
            "effects differ by more than chance?"
            + (
                " With one τ² common to all subgroups the test is metafor's QM of "
                "rma(yi, vi, mods = ~ factor(group)), and each subtotal diamond pools its "
                "subgroup with that τ² (the coefficients of rma(yi, vi, mods = ~ factor(group) "
                "- 1); R meta's tau.common = TRUE)."
                if common
                else " Each subtotal diamond is its subgroup's own fit, with its own τ²."
            ),
        )
    return chart


def rob_summary(analysis: Analysis, studies: pd.DataFrame) -> None:
    """The risk-of-bias summary (robvis style) of the studies in this view, with its download
    buttons; nothing for a dataset without RoB 2 or ROBINS-I judgements (core.views.rob)."""
    ids = analysis.selection.ids
    if not rob.tools_in(studies, ids):
        return
    frame = rob.summary_frame(studies, ids)
    st.subheader("Risk of bias")
    tools = ", ".join(dict.fromkeys(frame["tool"]))
    labels = studies.drop_duplicates("study_id").set_index("study_id")
    unjudged = [
        str(labels.at[s, "label"]) if "label" in labels and pd.notna(labels.at[s, "label"]) else s
        for s in ids
        if rob.judgement_of(studies, s) is None
    ]
    st.caption(
        f"Judgements as the dataset gives them ({tools}); share of the studies in this view "
        "judged by each tool. Symbols: "
        + ", ".join(f"{vocab.ROB_SYMBOLS[k]} {vocab.ROB_LEVELS[k]}" for k in
                    ("low", "some", "moderate", "high", "serious", "critical", "ni"))
        + "; white: domain not judged."
        + (f" Not judged by any tool, so not counted: {text(', '.join(unjudged))}."
           if unjudged else "")
    )  # fmt: skip
    chart = rob_summary_chart(frame)
    st.vega_lite_chart(spec=chart, width="content")
    exports.downloads("risk-of-bias summary", chart, frame)


def overlap_note(oa: OutcomeAnalysis) -> None:
    """What the ‡ mark means where studies of one overlap group are pooled together, and
    which studies "one study per overlap group" left out (nothing when neither applies)."""
    sentence = overlap_sentence(oa.overlaps)
    if sentence:
        st.warning(text(sentence), icon=":material/group_work:")
    if oa.overlap_dropped:
        st.caption(
            "One study per overlap group: "
            + "; ".join(
                f"{text(d.kept_label)} kept, {text(d.label)} left out ({text(d.group)})"
                for d in oa.overlap_dropped
            )
            + "."
        )


def numbers(
    oa: OutcomeAnalysis, key: str, studies: pd.DataFrame | None = None, sort: str = "data"
) -> None:
    """The forest plot's text alternative, one click under it: its rows as a table (drawn only
    when open, so a toggle elsewhere does not redraw it)."""
    panel = st.expander("The numbers in this plot (table)", key=f"numbers_{key}", on_change="rerun")
    if panel.open:
        with panel:
            st.dataframe(
                plot_table(oa, studies, sort),
                hide_index=True,
                width="stretch",
                column_config={"Study": st.column_config.TextColumn(pinned=True)},
            )


def published_box(oa: OutcomeAnalysis, *, details: bool = False) -> None:
    """The published pooled result for this outcome where the view compares with it, else one
    line saying it does not; only the published result the dataset's own description names
    (beside other data it would compare unlike with unlike). ``details``: also the note on the
    published number (the Overview)."""
    published = cache.current_dataset()[1].description.published
    found = published_comparison(oa, published)
    if found is None:
        return
    if not found.comparable:
        st.caption(text(found.text))
        return
    source = source_label(published)
    st.markdown(f"**{text(source)}:** {text(found.text.removeprefix(source + ': '))}")
    if details and found.note:
        with st.expander("Details of the published number"):
            st.caption(text(found.note))


def not_used(oa: OutcomeAnalysis) -> None:
    """Every study not pooled for this outcome, with the reason, in three groups: no usable
    numbers for this outcome and measure, excluded by hand, and outside the filters."""
    rows = oa.excluded()
    if not rows:
        return
    panel = st.expander(
        f"Not used for {text(oa.words.label)} ({len(rows)})",
        key=f"not_used_{oa.outcome}",
        on_change="rerun",
    )
    if not panel.open:  # drawn only when open: a toggle elsewhere does not redraw the table
        return
    groups = (
        ("No usable numbers", "selected, but their reports give no usable number for this "
         "outcome, measure and time point", oa.not_estimable),
        ("Excluded by hand", "left out by you (untick or click to bring back)",
         tuple((s, "excluded by hand") for s in oa.excluded_by_user)),
        ("One study per overlap group", "left out because another study of their overlap "
         "group (cohorts that may share patients) is kept; see the sidebar",
         tuple((d.study_id, d.reason) for d in oa.overlap_dropped)),
        ("Outside your filters", "not selected by the filters in the sidebar", oa.filtered_out),
    )  # fmt: skip
    with panel:
        for title, what, group in groups:
            if not group:
                continue
            st.markdown(f"**{title}** ({len(group)})", help=f"Studies {what}.")
            st.dataframe(
                pd.DataFrame(group, columns=["Study", "Why not"]), hide_index=True, width="stretch"
            )


INCLUDE_WIDTH: Final = "small"  # 75 px in Streamlit's grid


def _include_frame(analysis: Analysis, studies: pd.DataFrame) -> pd.DataFrame:
    """The include table's rows: the selected studies, their Include tick (not excluded by
    hand), overlap mark, design, indication, quality and whether each outcome has their data."""
    state = analysis.state
    ids = list(analysis.selection.ids)
    meta = studies.set_index("study_id").loc[ids]
    marked = {s for oa in analysis.outcomes.values() for o in oa.overlaps for s in o.ids}
    used = {
        o: set(oa.rows["study_id"]) | {d.study_id for d in oa.overlap_dropped}
        for o, oa in analysis.outcomes.items()
    }
    table = pd.DataFrame(
        {
            "Include": [s not in state.exclude for s in ids],
            "id": ids,
            "Study": [
                overlap_mark(label) if s in marked else label
                for s, label in zip(ids, meta["label"].astype(str), strict=True)
            ],
            "Design": meta["design"].astype(str).to_list(),
            "Indication": meta["indication"].astype(str).to_list(),
            "Quality": meta["quality_score"].astype("Float64").to_list(),
            **{
                f"{analysis.outcomes[o].words.code} data": [
                    "yes" if s in used[o] else "no" for s in ids
                ]
                for o in used
            },
        }
    )
    # columns the dataset leaves empty throughout (dat.bcg has no design or indication)
    empty = [
        name
        for name, col in (("Design", "design"), ("Indication", "indication"))
        if not studies[col].notna().any()
    ]
    return table.drop(columns=empty)


def include_rows(
    analysis: Analysis, studies: pd.DataFrame, data_key: str | None = None
) -> pd.DataFrame:
    """The include table's rows, once per view (dataset ``data_key``, default the one in use;
    link), shared by reruns and sessions (warmed at start-up: ui/warmup.py); read-only."""
    return cache.per_view(
        cache.view_key(analysis.state, data_key),
        "include table",
        lambda: _include_frame(analysis, studies),
    )


def include_table(analysis: Analysis, studies: pd.DataFrame) -> None:
    """The selected studies with an Include checkbox; unticking excludes a study."""
    state = analysis.state
    ids = list(analysis.selection.ids)
    if not ids:
        return
    table = include_rows(analysis, studies)
    key = f"include_{hash(state.exclude)}"

    def on_edit() -> None:
        edits = st.session_state[key].get("edited_rows", {})
        excl = set(sync.current().exclude)
        for pos, change in edits.items():
            if "Include" in change:
                sid = ids[int(pos)]
                (excl.discard if change["Include"] else excl.add)(sid)
        sync.commit(sync.current().replace(exclude=tuple(sorted(excl))))

    st.data_editor(
        table,
        key=key,
        on_change=on_edit,
        hide_index=True,
        disabled=[c for c in table.columns if c != "Include"],
        width="content",  # columns keep their widths (not stretched to the page)
        column_config={
            # first and of a fixed width: the checkbox is where the eye starts on each row
            "Include": st.column_config.CheckboxColumn(
                width=INCLUDE_WIDTH, help="Untick to leave a study out", pinned=True
            ),
            "Study": st.column_config.TextColumn(pinned=True),  # stays in view when scrolled
            "id": st.column_config.TextColumn(help="The study's id in links (exclude=...)"),
            "Quality": st.column_config.NumberColumn(
                format=fmt.PRINTF_WHOLE, help="Editorial score, 0-7"
            ),
        },
    )


def take_away(analysis: Analysis, dataset: Dataset) -> None:
    """The view to take away: its link, a report (HTML, PDF) and an R script that reproduces
    it with metafor. Files are made only when a button is clicked."""
    st.subheader("Take this view with you")
    st.caption(
        "The link opens exactly this view. The report holds the filters, the link, the summary "
        "of findings, the forest plots and the studies with their sources. The R script holds "
        "the data and the same model and reproduces every pooled number with metafor, so a "
        "statistician can check them."
    )
    shown = sync.current()  # the analysis is made without the presenter settings: keep them
    link = sync.share_link(analysis.state.replace(board=shown.board, screen=shown.screen))
    st.markdown(link_code(link))
    render_report_downloads(analysis, analysis.state, dataset, link)
    st.download_button(
        "R script (metafor)",
        data=lambda: r_script(analysis, dataset).encode("utf-8"),
        file_name="rt-hcc-metafor.R",
        mime="text/x-r-source",
        on_click="ignore",
        key="rscript_download",
    )
