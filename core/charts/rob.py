"""The risk-of-bias summary plot (robvis style): per domain and overall, a bar split by the
share of studies with each judgement. Pure: a summary frame (core.views.rob.summary_frame) in,
a Vega-Lite spec out. Each segment carries its judgement's symbol and share as text, so the
plot reads without colour and in grey print."""

from __future__ import annotations

import altair as alt
import pandas as pd

from core import fmt, vocab
from core.charts.forest import FONT_FAMILY, PALETTE, ROB_COLOURS

__all__ = ["NOT_JUDGED_COLOUR", "rob_summary_chart"]

NOT_JUDGED_COLOUR = ("#FFFFFF", "#1A1A1A")
#: a segment narrower than this share (percent) carries no text (its share is in the tooltip)
MIN_LABELLED = 12.0


def rob_summary_chart(frame: pd.DataFrame, width: int = 560) -> dict:
    """A horizontal stacked bar per domain (rows in D1.., overall order), one block per tool;
    segments in robvis's colours with the judgement's symbol and share. ``frame``: the rows of
    ``core.views.rob.summary_frame`` (empty frames give an empty spec)."""
    if frame.empty:
        return {}
    data = frame[frame["n"] > 0].copy()
    data["order"] = data["level"].map(
        {lv: i for i, lv in enumerate(("low", "some", "moderate", "high", "serious",
                                       "critical", "ni", "none"))})  # fmt: skip
    data = data.sort_values(["tool", "domain", "order"]).reset_index(drop=True)
    data["x0"] = data.groupby(["tool", "domain"])["percent"].cumsum() - data["percent"]
    data["x1"] = data["x0"] + data["percent"]
    data["mid"] = (data["x0"] + data["x1"]) / 2
    colours = {**ROB_COLOURS, "none": NOT_JUDGED_COLOUR}
    data["fill"] = data["level"].map(lambda lv: colours[lv][0])
    data["ink"] = data["level"].map(lambda lv: colours[lv][1])
    data["symbol"] = data["level"].map(lambda lv: vocab.ROB_SYMBOLS.get(lv, ""))
    data["text"] = [
        f"{sym} {fmt.percent(p, 0)}".strip() if p >= MIN_LABELLED else ""
        for sym, p in zip(data["symbol"], data["percent"], strict=True)
    ]
    data["share"] = [f"{n} of {j} ({fmt.percent(p, 0)})" for n, j, p in
                     zip(data["n"], data["judged"], data["percent"], strict=True)]  # fmt: skip
    charts = []
    for tool, block in data.groupby("tool", sort=False):
        order = list(dict.fromkeys(block.sort_values("domain", key=_domain_key)["domain_label"]))
        y = alt.Y("domain_label:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
        tip = [
            alt.Tooltip("domain_label:N", title="Domain"),
            alt.Tooltip("level_label:N", title="Judgement"),
            alt.Tooltip("share:N", title="Studies"),
        ]
        base = alt.Chart(block.drop(columns=["order"]))
        bars = base.mark_bar(stroke=PALETTE["text"], strokeWidth=0.6).encode(
            x=alt.X("x0:Q", scale=alt.Scale(domain=[0, 100]),
                    axis=alt.Axis(title="Share of studies (%)", values=[0, 25, 50, 75, 100])),
            x2="x1:Q",
            y=y,
            fill=alt.Fill("fill:N", scale=None),
            tooltip=tip,
        )  # fmt: skip
        labels = base.mark_text(fontWeight="bold", fontSize=11).encode(
            x="mid:Q", y=y, text="text:N", color=alt.Color("ink:N", scale=None), tooltip=tip
        )
        charts.append(
            alt.layer(bars, labels).properties(width=width, height=22 * len(order), title=f"{tool}")
        )
    if not charts:
        return {}
    chart = alt.vconcat(*charts).properties(
        description="Risk-of-bias summary: share of studies per judgement in each domain."
    )
    return chart.configure(font=FONT_FAMILY).configure_view(stroke=None).to_dict()


def _domain_key(col: pd.Series) -> pd.Series:
    return col.map(lambda d: 99 if d == "Overall" else int(str(d)[1:]))
