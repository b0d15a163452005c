"""Overview: both outcomes side by side, re-pooled for the current view."""

from __future__ import annotations

import streamlit as st

from core import vocab
from core.report.narrative import summary_sentence
from core.state.view import DEFAULT_STATE, FIELD_BY_NAME
from core.views.analysis import OUTCOMES
from ui import blocks, cache, endpoints, sync
from ui.sof import render_sof

sync.require_entrypoint()

state = sync.current()
dataset = cache.current_dataset()[1]
analysis = cache.analysis(state)

st.title("Perioperative radiotherapy for HCC: the pooled evidence")
criteria = ("indication", "design", "rt", "scope", "qmin")
if all(getattr(state, f) == getattr(DEFAULT_STATE, f) for f in criteria):
    st.caption(
        "Default view: the published meta-analysis's criteria as far as our data allow: "
        "randomized or propensity-matched studies; portal vein tumour thrombosis or a narrow "
        "margin; external-beam RT; studies known to be outside it left out. Our data are "
        "abstract-level, so fewer studies can be pooled than the 7 it pooled."
        + (
            " Where a study reports no rate at exactly t years, it is interpolated between the "
            "study's nearest reported years (marked † and derived; switch off \"Also use "
            'interpolated rates" to keep only reported rates).'
            if state.measure in ("OR", "RR", "RD") and state.tpoint == "interp"
            else ""
        )
    )
for notice in analysis.notices:  # link values this dataset cannot honour
    st.caption(blocks.text(notice))
if analysis.unknown_excludes:
    st.caption(
        "Unknown study ids in the link, ignored: "
        + ", ".join(blocks.text(s) for s in analysis.unknown_excludes)
    )

SORT = FIELD_BY_NAME["sort"]


def _commit_sort() -> None:
    sync.commit(sync.current().replace(sort=st.session_state["w_forest_sort"]))


st.session_state["w_forest_sort"] = state.sort  # the link wins
st.selectbox(
    SORT.title,
    list(SORT.allowed),
    format_func=lambda v: vocab.title(SORT.label(v)),
    key="w_forest_sort",
    on_change=_commit_sort,
    help="The order of the studies in both forest plots (and in their exports); within "
    "subgroups when the plots are grouped. Ties keep the dataset's order; studies without "
    "the value (no year, no quality score, excluded so no weight) come last.",
)

published = cache.published_results()
for col, outcome in zip(st.columns(2, gap="large"), OUTCOMES, strict=True):
    oa = analysis.outcomes[outcome]
    with col:
        st.subheader(oa.title)
        blocks.metrics(oa, state)
        endpoints.render(oa)
        if oa.pooled is not None:  # in plain words, as on the Present page
            st.markdown(blocks.text(summary_sentence(oa, state, dataset.studies)))
        blocks.forest(oa, state, dataset.studies, width=blocks.OVERVIEW_FOREST_WIDTH)
        blocks.overlap_note(oa)
        blocks.published_box(oa, published, details=True)
        blocks.not_used(oa)

blocks.rob_summary(analysis, dataset.studies)

render_sof(analysis, state, dataset)

st.subheader("Studies in this view")
st.caption(
    "Untick a study to leave it out (or click its row or name in a forest plot); it stays "
    "visible, greyed. With the keyboard: Tab into the table, arrow keys, Space."
)
blocks.include_table(analysis, dataset.studies)

blocks.take_away(analysis, dataset)
