"""Presentation for tumour boards: one outcome in large type, the forest plot, the key numbers,
a plain-language sentence, the published result beside it, and the active filters."""

from __future__ import annotations

import streamlit as st

from core.report.narrative import (
    described_filters,
    headline,
    key_numbers,
    left_out,
    summary_sentence,
)
from core.views.analysis import out_of_range
from core.views.results_table import results_frame
from core.vocab import stat_help
from ui import blocks, cache, endpoints, exports, presenter, sync
from ui.report import render_report_downloads
from ui.sof import render_sof

sync.require_entrypoint()

# Scoped by container key. Metric values shrink with the window so a row of seven fits on a
# laptop; the forest plot (drawn at double size) scales down to the page width, never cut off
# (an SVG with a viewBox, and Vega's SVG clicks hit the element, so click-to-toggle still works).
CSS = """
<style>
.st-key-present_sentence p { font-size: clamp(1.15rem, 1.35vw, 1.6rem); line-height: 1.45; }
.st-key-present_published p { font-size: clamp(1rem, 1vw, 1.2rem); }
.st-key-present_numbers [data-testid="stMetricValue"] { font-size: clamp(1.6rem, 2.3vw, 2.8rem); }
.st-key-present_numbers [data-testid="stMetricLabel"] p { font-size: 1.1rem; }
.st-key-present_forest .vega-embed svg { max-width: 100%; height: auto; }
.st-key-present_context p, .st-key-present_context li { font-size: 1.05rem; }
</style>
"""

state = sync.current()
dataset = cache.current_dataset()[1]
studies = dataset.studies
analysis = cache.analysis(state)
oa = analysis.outcomes[state.outcome]


def full_page() -> None:
    """The page with its controls: the key numbers, the published result, the forest plot,
    the summary of findings, the filters, the studies left out and the downloads."""
    st.html(CSS)
    st.title(blocks.text(headline(oa)))

    sentence_col, published_col = st.columns([2.2, 1], gap="medium")
    with sentence_col.container(border=True, key="present_sentence"):
        st.markdown(blocks.text(summary_sentence(oa, state, studies)))
    with published_col.container(border=True, key="present_published"):
        blocks.published_box(oa)
    endpoints.render(oa)

    numbers = key_numbers(oa, state)
    if numbers:
        with st.container(key="present_numbers"):
            widths = [max(5.0, 1.15 * len(n.value), 0.6 * len(n.label)) for n in numbers]
            for col, number in zip(st.columns(widths), numbers, strict=True):
                tip = blocks.pooled_help(oa) if number.label.startswith("Pooled") else None
                col.metric(number.label, number.value, help=tip or stat_help(number.label))
            if oa.pooled is not None and oa.pooled.note and oa.pooled.k > 1:
                st.caption(f"Note: {blocks.text(oa.pooled.note)}")
        blocks.bayes_lines(oa, blocks.ratio_name(oa))
        # as on the other pages; a single study's message is already in the sentence above
        plain = oa.message if oa.k > 1 or oa.pooled is None else out_of_range(oa.pooled, oa.measure)
        if plain:
            st.info(blocks.text(plain))

    with st.container(key="present_forest"):
        chart = blocks.forest(oa, state, studies, large=True)
    blocks.overlap_note(oa)

    render_sof(analysis, state, dataset, outcomes=(state.outcome,))

    with st.container(key="present_context"):
        filters_col, out_col = st.columns(2, gap="large")
        with filters_col.container(border=True):
            st.markdown("**Active filters**")
            st.markdown(
                "\n".join(f"- {blocks.text(line)}" for line in described_filters(state, [oa]))
            )
        with out_col.container(border=True):
            st.markdown("**Not in the pooled result**")
            gone = left_out(oa, studies)
            if gone:
                st.markdown("\n".join(f"- {blocks.text(s)}: {blocks.text(why)}" for s, why in gone))
            else:
                st.markdown("Every selected study with usable data is pooled.")
            if oa.filtered_out:
                st.caption(
                    f"{len(oa.filtered_out)} other studies in the data are outside the filters."
                )

    st.caption("Download this figure (PNG 200 ppi, SVG, PDF) and the results table (CSV)")
    exports.downloads(
        f"{oa.words.code} {oa.title}", chart, results_frame(oa, dataset.studies, state.sort)
    )
    render_report_downloads(analysis, state, dataset, sync.share_link(state))


if state.board:  # the presenter view: one screen of one outcome
    presenter.render_present(analysis, state, dataset)
else:
    full_page()
