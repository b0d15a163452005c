"""Altair chart to review a reconstruction from digitised Kaplan-Meier curves: the
Kaplan-Meier curve of the reconstructed patients drawn over the digitised points, one colour
per arm, so that the user can see how well they fit. Pure: frames in
(``core.views.km.curve_frames``), an ``alt`` chart out."""

from __future__ import annotations

import altair as alt
import pandas as pd

from core import fmt
from core.charts.forest import FONT_FAMILY, PALETTE, json_safe

ARM_LABELS = {"rt": "RT", "ctl": "Control"}
ARM_COLORS = {"rt": PALETTE["study"], "ctl": PALETTE["pi"]}  # Okabe-Ito blue, vermillion


def km_review_chart(steps: pd.DataFrame, points: pd.DataFrame, title: str = "") -> alt.Chart:
    """Step lines (reconstructed Kaplan-Meier) over hollow circles (digitised points);
    survival on 0-100%, time in months."""
    color = alt.Color(
        "arm_label:N",
        title="Arm",
        scale=alt.Scale(
            domain=list(ARM_LABELS.values()),
            range=[ARM_COLORS[a] for a in ARM_LABELS],
        ),
    )
    x = alt.X("time_months:Q", title="Months")
    y = alt.Y(
        "survival:Q",
        title="Survival",
        scale=alt.Scale(domain=[0, 1]),
        axis=alt.Axis(format=fmt.D3_PROPORTION_AXIS),
    )
    tooltip = [
        alt.Tooltip("arm_label:N", title="Arm"),
        alt.Tooltip("time_months:Q", title="Months", format=fmt.D3_MONTHS),
        alt.Tooltip("survival:Q", title="Survival", format=fmt.D3_PROPORTION),
    ]

    def labelled(frame: pd.DataFrame) -> pd.DataFrame:
        return json_safe(
            frame.assign(arm_label=frame["arm"].map(ARM_LABELS), order=range(len(frame)))
        )

    lines = (
        alt.Chart(labelled(steps))
        .mark_line(strokeWidth=2)
        .encode(x=x, y=y, color=color, detail="arm:N", order="order:Q", tooltip=tooltip)
    )
    dots = (
        alt.Chart(labelled(points))
        .mark_point(shape="circle", filled=False, size=28, opacity=0.7)
        .encode(x=x, y=y, color=color, tooltip=tooltip)
    )
    return (
        alt.layer(dots, lines, title=title or "Reconstructed curves over the digitised points")
        .properties(width=480, height=300)
        .configure(font=FONT_FAMILY)
    )
