"""The app's own two forest plots and nothing else: the Overview's charts for ``LINK`` (same
specs, same width, same click selections), without sidebar, navigation, tiles, text or tables.
``benchmarks/bench_app.py`` opens it beside the app and the floor page: it splits the app's
open time into what its charts cost and what the rest of the page costs.

    streamlit run benchmarks/forests_app.py
"""

from __future__ import annotations

import streamlit as st

from benchmarks.bench_app import LINK
from core.state.view import parse_query
from ui import blocks, cache

st.set_page_config(page_title="The app's two forest plots", layout="wide")

state = parse_query(LINK).state
analysis = cache.analysis(state)
studies = cache.current_dataset()[1].studies
for col, oa in zip(st.columns(2, gap="large"), analysis.outcomes.values(), strict=True):
    with col:
        spec = blocks.forest_specs(oa, state, studies, width=blocks.OVERVIEW_FOREST_WIDTH)[1]
        st.vega_lite_chart(
            spec=spec, on_select="rerun", selection_mode=blocks.FOREST_PARAMS, width="content"
        )
