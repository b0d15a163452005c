"""Overview: the dataset's outcomes side by side, re-pooled for the current view, in the words
of its description (title, default-view note, outcome labels)."""

from __future__ import annotations

import streamlit as st

from core import vocab
from core.state.view import DEFAULT_STATE, FIELD_BY_NAME
from ui import blocks, cache, endpoints, sync
from ui.sof import render_sof

sync.require_entrypoint()

state = sync.current()
dataset = cache.current_dataset()[1]
analysis = cache.analysis(state)

words = dataset.description
st.title(blocks.text(words.title), help=blocks.text(words.question) or None)
criteria = ("indication", "design", "rt", "scope", "qmin")
if words.view_note and all(getattr(state, f) == getattr(DEFAULT_STATE, f) for f in criteria):
    st.caption(
        blocks.text(words.view_note)
        + (
            " Where a study reports no rate at exactly t years, it is interpolated between the "
            "study's nearest reported years (marked † and derived; switch off \"Also use "
            'interpolated rates" to keep only reported rates).'
            if state.measure in ("OR", "RR", "RD") and state.tpoint == "interp"
            else ""
        )
    )
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

slots = words.slots
for col, outcome in zip(st.columns(max(2, len(slots)), gap="large"), slots, strict=False):
    oa = analysis.outcomes[outcome]
    with col:
        st.subheader(blocks.text(oa.title))
        blocks.metrics(oa, state)
        endpoints.render(oa)
        if oa.pooled is not None:  # in plain words, as on the Present page
            st.markdown(blocks.summary(oa, state, dataset.studies))
        blocks.forest(oa, state, dataset.studies, width=blocks.OVERVIEW_FOREST_WIDTH)
        blocks.overlap_note(oa)
        blocks.published_box(oa, details=True)
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
