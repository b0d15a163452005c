"""The floor for "open to both plots": a minimal Streamlit page with two metrics and two Altair
charts of about the forest plots' size (a label column, CI rules, squares, a diamond and a CI
text column; 470 px wide), side by side as on the Overview. Nothing else: no sidebar, no
tables, no caches. ``benchmarks/bench_app.py`` opens it beside the app in the same run.

    streamlit run benchmarks/floor_app.py
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

st.set_page_config(page_title="Floor: two charts", layout="wide")

ROWS = pd.DataFrame(
    {
        "label": ["Study A 2014", "Study B 2019", "Study C 2021", "Pooled"],
        "y": [0, 1, 2, 3],
        "est": [0.35, 0.52, 0.41, 0.42],
        "low": [0.18, 0.30, 0.22, 0.29],
        "high": [0.68, 0.90, 0.77, 0.61],
    }
)
ROWS["ci"] = [f"{e:.2f} [{lo:.2f}, {hi:.2f}]" for e, lo, hi in ROWS[["est", "low", "high"]].values]


def chart() -> alt.HConcatChart:
    """Label column | rules and squares on a log axis | CI text: a forest plot's build."""
    y = alt.Y("y:O", axis=None)
    base = alt.Chart(ROWS)
    labels = base.mark_text(align="left").encode(y=y, text="label:N").properties(width=120)
    scale = alt.Scale(type="log", domain=[0.1, 10])
    x = alt.X("est:Q", scale=scale, title="Odds ratio")
    plot = alt.layer(
        base.mark_rule().encode(x=alt.X("low:Q", scale=scale), x2="high:Q", y=y),
        base.mark_square(size=80).encode(x=x, y=y, tooltip=["label", "est", "low", "high"]),
        alt.Chart(pd.DataFrame({"one": [1]})).mark_rule(strokeDash=[3, 3]).encode(x="one:Q"),
    ).properties(width=220)
    cis = base.mark_text(align="right").encode(y=y, text="ci:N").properties(width=110)
    return alt.hconcat(labels, plot, cis, spacing=4).properties(title="Forest")


for col, name in zip(st.columns(2, gap="large"), ["OS", "DFS"], strict=True):
    with col:
        st.metric(f"Pooled OR ({name})", "0.42")
        st.altair_chart(chart(), width="content")
