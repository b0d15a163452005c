"""Altair chart builders: tidy result frames in, ``alt.Chart`` out. Pure: no I/O, no streamlit.

The forest plot consumes a *forest frame* (see ``FOREST_COLUMNS``): one row per plotted row, top
to bottom in frame order, ratios on the ratio scale (exp of the log values).

>>> import pandas as pd
>>> frame = pd.DataFrame([
...     {"row_id": "s1", "label": "Wei 2019", "kind": "study", "study_id": "Wei2019",
...      "est": 0.35, "low": 0.23, "high": 0.54, "weight": 100.0},
...     {"row_id": "pooled", "label": "Random effects (REML)", "kind": "pooled",
...      "est": 0.35, "low": 0.23, "high": 0.54},
... ])
>>> chart = forest_chart(frame, measure_label="Odds ratio, death at 2 years")
>>> chart.to_dict()["params"][0]["name"]
'toggle'
"""

from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd

from core import fmt, vocab
from core.fmt import effect_with_ci, percent, ratio_with_ci
from core.views.overlap import OVERLAP_MARK

__all__ = [
    "FONT_FAMILY",
    "FOREST_COLUMNS",
    "FOREST_KINDS",
    "LABEL_PARAM",
    "PALETTE",
    "TOGGLE_PARAM",
    "forest_chart",
    "forest_domain",
    "validate_forest_frame",
]

# Colour-blind safe (Okabe-Ito based). Nothing codes "favours RT" vs "favours control" by colour:
# both sides of the null line look the same; the side is told by position and text labels.
PALETTE: dict[str, str] = {
    "study": "#0072B2",  # study squares (blue)
    "ci": "#1A1A1A",  # confidence-interval lines
    "pooled": "#1A1A1A",  # overall diamond
    "subgroup": "#56B4E9",  # subgroup diamonds (sky blue, dark outline)
    "subgroup_stroke": "#0072B2",
    "pi": "#D55E00",  # prediction-interval bar (vermillion)
    "excluded": "#ABABAB",  # rows the user excluded: drawn, greyed
    "excluded_text": "#8C8C8C",
    "derived_fill": "#FFFFFF",  # derived rows: hollow square
    "null": "#555555",  # null line at 1
    "text": "#1A1A1A",
    "muted": "#595959",
    "rule": "#BDBDBD",
}

# DejaVu Sans ships with Debian's fonts-dejavu-core; the rest is the fallback chain.
FONT_FAMILY = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif"

FOREST_KINDS = ("study", "subgroup", "pooled", "pi", "heading")

# name -> (required, kind of value, default for optional columns)
FOREST_COLUMNS: dict[str, tuple[bool, str, object]] = {
    "row_id": (True, "str", None),
    "label": (True, "str", None),
    "kind": (True, "str", None),
    "study_id": (False, "str", ""),
    "group": (False, "str", ""),
    "est": (True, "float", None),
    "low": (True, "float", None),
    "high": (True, "float", None),
    "weight": (False, "float", math.nan),
    "events_rt": (False, "float", math.nan),
    "n_rt": (False, "float", math.nan),
    "events_ctl": (False, "float", math.nan),
    "n_ctl": (False, "float", math.nan),
    "included": (False, "bool", True),
    "derived": (False, "bool", False),
    "counts_derived": (False, "bool", False),  # events/total computed from a reported rate
    "overlap": (False, "str", ""),
    "rob_tool": (False, "str", ""),  # risk of bias (core.views.rob): the tool, "" for none
    **{f"rob_d{i}": (False, "str", "") for i in range(1, 8)},  # judgement codes per domain
    "rob_overall": (False, "str", ""),
    "detail": (False, "str", ""),
    "source": (False, "str", ""),
    "note": (False, "str", ""),
}

#: robvis's colours of risk-of-bias judgements; each also has a symbol (vocab.ROB_SYMBOLS),
#: drawn on it in black or white (whichever reads), so colour is never the only cue.
ROB_COLOURS: dict[str, tuple[str, str]] = {
    "low": ("#02C100", "#000000"),
    "some": ("#E2DF07", "#000000"),
    "moderate": ("#E2DF07", "#000000"),
    "high": ("#BF0000", "#FFFFFF"),
    "serious": ("#BF0000", "#FFFFFF"),
    "critical": ("#820000", "#FFFFFF"),
    "ni": ("#4EA1F7", "#000000"),
}
ROB_CELLS = (*(f"rob_d{i}" for i in range(1, 8)), "rob_overall")
DERIVED_MARK = "†"
ELLIPSIS = "…"
TOGGLE_PARAM = "toggle"  # clicks on a study's row in the plot panel
LABEL_PARAM = "toggle_label"  # clicks on a study's label
EXCLUDED_DASH = (4, 3)  # an excluded study's CI line: dashed, so it reads without colour
_DRAWN = ("study", "subgroup", "pooled", "pi")
#: the widest usual text of a prediction-interval row (its room in the CI column)
PI_TEXT_ROOM = "0.00 [<0.001, >999]"
# symmetric log-axis half-widths (upper edge; lower edge is 1/upper) and their tick values
_AXIS_LADDER: tuple[tuple[float, tuple[float, ...]], ...] = (
    (2.0, (0.5, 0.7, 1, 1.5, 2)),
    (5.0, (0.2, 0.5, 1, 2, 5)),
    (10.0, (0.1, 0.2, 0.5, 1, 2, 5, 10)),
    (20.0, (0.05, 0.2, 1, 5, 20)),
    (50.0, (0.02, 0.1, 1, 10, 50)),
    (100.0, (0.01, 0.1, 1, 10, 100)),
)
# a difference axis (risk difference, a proportion): half-widths about 0 and their ticks
_LINEAR_LADDER: tuple[tuple[float, tuple[float, ...]], ...] = (
    (0.05, (-0.05, -0.025, 0, 0.025, 0.05)),
    (0.1, (-0.1, -0.05, 0, 0.05, 0.1)),
    (0.2, (-0.2, -0.1, 0, 0.1, 0.2)),
    (0.5, (-0.5, -0.25, 0, 0.25, 0.5)),
    (1.0, (-1, -0.5, 0, 0.5, 1)),
)


def validate_forest_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Check a forest frame and return a normalised copy with exactly ``FOREST_COLUMNS``.

    Raises ``ValueError`` naming every problem: missing required columns, empty or duplicate
    ``row_id``, unknown ``kind``, non-numeric est/low/high/weight. Optional columns that are
    absent get their defaults; missing text becomes "", missing flags become included=True,
    derived=False.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError("forest frame must be a pandas DataFrame")
    problems: list[str] = []
    missing = [c for c, (req, _, _) in FOREST_COLUMNS.items() if req and c not in frame.columns]
    if missing:
        raise ValueError(f"forest frame is missing required columns: {', '.join(missing)}")
    n = len(frame)
    out = pd.DataFrame(index=range(n))
    for col, (_req, typ, default) in FOREST_COLUMNS.items():
        src = frame[col].reset_index(drop=True) if col in frame.columns else None
        if typ == "str":
            vals = [default] * n if src is None else ["" if _isna(v) else str(v) for v in src]
            out[col] = pd.Series(vals, dtype=object)
        elif typ == "float":
            if src is None:
                out[col] = pd.Series(default, index=out.index, dtype=float)
                continue
            num = pd.to_numeric(src, errors="coerce").astype(float)
            bad = num.isna() & ~src.map(_isna)
            if bad.any():
                problems.append(f"column {col!r} has non-numeric values in rows {_rows(bad)}")
            out[col] = num.to_numpy()
        else:  # bool
            if src is None:
                out[col] = bool(default)
                continue
            out[col] = [bool(default) if _isna(v) else bool(v) for v in src]
    ids = out["row_id"]
    if (ids == "").any():
        problems.append(f"row_id is empty in rows {_rows(ids == '')}")
    dup = ids.duplicated(keep=False) & (ids != "")
    if dup.any():
        problems.append(f"row_id is not unique: {sorted(set(ids[dup]))}")
    bad_kind = ~out["kind"].isin(FOREST_KINDS)
    if bad_kind.any():
        problems.append(
            f"kind must be one of {FOREST_KINDS}; got {sorted(set(out['kind'][bad_kind]))}"
        )
    if problems:
        raise ValueError("invalid forest frame: " + "; ".join(problems))
    return out


def _isna(v: object) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _rows(mask: pd.Series) -> list[int]:
    return [int(i) for i in np.flatnonzero(mask.to_numpy())]


def forest_domain(frame: pd.DataFrame) -> tuple[float, float]:
    """The x domain (ratio scale) for a forest frame: symmetric in log space around 1.

    Built only from finite positive est/low/high of drawn rows (0, inf and NaN are ignored;
    a prediction interval only by its estimate: with few studies it can span many orders of
    magnitude, and it comes and goes with k >= 3, so its bar stops at the axis edge with a
    triangle instead), padded by 5 % in log space, snapped up to 2, 5, 10, 20, 50 or 100 and
    capped at 0.01..100.
    """
    _, upper = _axis(frame)
    return (1.0 / upper, upper)


def _axis(frame: pd.DataFrame, linear: bool = False) -> tuple[tuple[float, ...], float]:
    """Ticks and the upper edge: log axis symmetric about 1 (lower edge 1/upper), or with
    ``linear`` a difference axis symmetric about 0 (lower edge -upper)."""
    drawn = frame[frame["kind"].isin(_DRAWN)]
    bounds = drawn.loc[drawn["kind"] != "pi", ["low", "high"]].to_numpy(dtype=float).ravel()
    vals = np.concatenate([drawn["est"].to_numpy(dtype=float), bounds])
    if linear:
        vals = vals[np.isfinite(vals)]
        m = float(np.max(np.abs(vals))) * 1.05 if vals.size else 0.1
        for upper, ticks in _LINEAR_LADDER:
            if upper >= m - 1e-12:
                return ticks, upper
        return _LINEAR_LADDER[-1][1], _LINEAR_LADDER[-1][0]
    vals = vals[np.isfinite(vals) & (vals > 0)]
    m = float(np.max(np.abs(np.log(vals)))) * 1.05 if vals.size else math.log(10.0)
    for upper, ticks in _AXIS_LADDER:
        if math.log(upper) >= m - 1e-12:
            return ticks, upper
    return _AXIS_LADDER[-1][1], _AXIS_LADDER[-1][0]


LABEL_CHARS = 40  # a study label is shortened past this many characters
LABEL_CHARS_NARROW = 24  # ... and past this many where the plot is fitted into a column


@dataclass(frozen=True)
class _Sizes:
    font: float
    axis: float
    title: float
    foot: float
    row: float
    char: float  # average glyph width as a share of the font size

    @classmethod
    def make(cls, large: bool) -> _Sizes:
        k = 2.0 if large else 1.0
        return cls(font=12 * k, axis=11 * k, title=15 * k, foot=10 * k, row=22 * k, char=0.6)

    @property
    def note_line(self) -> float:
        """Height of one footnote line under a plot."""
        return self.foot * 1.5


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in "…" where it was cut (the full
    text stays in the tooltip)."""
    return text if len(text) <= limit else text[: max(limit - 1, 1)].rstrip() + ELLIPSIS


def _arm_text(events: float, n: float) -> str:
    """'12/40' (events/total) as RevMan prints an arm; blank where a count is missing."""
    if not (math.isfinite(events) and math.isfinite(n)):
        return ""
    return f"{int(events)}/{int(n)}"


def _ci_text(est: float, low: float, high: float, linear: bool = False) -> str:
    if not (math.isfinite(est) and (linear or est > 0)) and math.isnan(low) and math.isnan(high):
        return "Not estimable"
    return effect_with_ci("RD", est, low, high) if linear else ratio_with_ci(est, low, high)


def _rows_frame(
    f: pd.DataFrame,
    dmin: float,
    dmax: float,
    sz: _Sizes,
    label_max: int = 10_000,
    linear: bool = False,
) -> pd.DataFrame:
    """Per-row drawing data: positions, clamped bounds, colours, texts (labels shortened to
    ``label_max`` characters). ``linear``: a difference axis (any finite value is on it;
    on the log axis only values above 0)."""

    def on_scale(x: float) -> bool:
        return math.isfinite(x) and (linear or x > 0)

    d = f.copy()
    d["y"] = np.arange(len(d), dtype=float)
    wmax = d.loc[d["kind"].eq("study") & d["included"], "weight"].max()
    wmax = float(wmax) if pd.notna(wmax) and wmax > 0 else 1.0
    max_side, min_side = 0.72 * sz.row, 0.22 * sz.row
    grouped = d["kind"].eq("heading").any()
    recs = []
    for r in d.itertuples(index=False):
        est, low, high = float(r.est), float(r.low), float(r.high)
        est_ok = on_scale(est)
        drawn = r.kind in _DRAWN and est_ok
        # unestimable bounds (0, inf, NaN) extend to the axis edge and get an arrow
        lo_c = low if on_scale(low) else dmin
        hi_c = high if on_scale(high) else dmax
        clip_lo = drawn and (lo_c <= dmin or not on_scale(low))
        clip_hi = drawn and (hi_c >= dmax or not on_scale(high))
        lo_c, hi_c = min(max(lo_c, dmin), dmax), min(max(hi_c, dmin), dmax)
        est_c = min(max(est, dmin), dmax) if est_ok else math.nan
        if drawn:
            lo_c, hi_c = min(lo_c, est_c), max(hi_c, est_c)
            if not dmin < est < dmax:  # estimate off the axis: only the arrow shows where it is
                clip_lo, clip_hi = clip_lo or est <= dmin, clip_hi or est >= dmax
                est_c = math.nan if r.kind == "study" else est_c
        excluded = not bool(r.included)
        w = float(r.weight)
        if r.kind == "study" and math.isfinite(w) and w > 0 and not excluded:
            side = max(min_side, max_side * math.sqrt(min(w / wmax, 1.0)))
        elif r.kind == "study":
            side = 0.45 * max_side  # excluded or unweighted: a fixed mid-size square
        else:
            side = 0.0
        if excluded:
            weight_text = "excl."
        elif math.isfinite(w):
            weight_text = percent(w)
        else:
            weight_text = ""
        mark = f" {DERIVED_MARK}" if r.derived else ""
        label = shorten(r.label, label_max - len(mark)) + mark
        main = PALETTE["excluded"] if excluded else PALETTE["study"]
        status = "excluded by you (not pooled)" if excluded else "included"
        if r.derived:
            status += "; derived data"
        if r.overlap:
            status += f"; pooled with a study of its overlap group ({r.overlap}) {OVERLAP_MARK}"
        recs.append(
            {
                "label_text": label,
                "tx": 4.0 + (14.0 * sz.font / 12 if grouped and r.kind == "study" else 0.0),
                "fw": "bold" if r.kind in ("heading", "subgroup", "pooled") else "normal",
                "ci_text": _ci_text(est, low, high, linear) if r.kind in _DRAWN else "",
                **({"ci_text": r.note} if r.kind == "pi" and not est_ok and r.note else {}),
                "weight_text": weight_text if r.kind != "heading" else "",
                "rt_text": _arm_text(float(r.events_rt), float(r.n_rt)),
                "ctl_text": _arm_text(float(r.events_ctl), float(r.n_ctl)),
                "status": status,
                "drawn": drawn,
                "est_c": est_c,
                "low_c": lo_c if drawn else math.nan,
                "high_c": hi_c if drawn else math.nan,
                "clip_lo": clip_lo,
                "clip_hi": clip_hi,
                "size": side * side,
                "text_color": PALETTE["excluded_text"] if excluded else PALETTE["text"],
                "line_color": PALETTE["excluded"] if excluded else PALETTE["ci"],
                # hollow where derived or excluded: the fill tells them from a pooled study
                # without colour (an excluded one also has a dashed CI line)
                "sq_fill": PALETTE["derived_fill"] if r.derived or excluded else main,
                "sq_stroke": main,
            }
        )
    return pd.concat([d.reset_index(drop=True), pd.DataFrame(recs)], axis=1)


def _rob_domains(rows: pd.DataFrame) -> int:
    """The number of risk-of-bias domain columns to draw: 0 without judgements, 5 for RoB 2
    only, 7 when a ROBINS-I judgement is among the rows."""
    tools = set(rows.loc[rows["kind"] == "study", "rob_tool"]) - {""}
    if not tools:
        return 0
    return 7 if "robins" in tools else 5


def _rob_cell_w(sz: _Sizes) -> float:
    return 1.6 * sz.font


def _rob_cells(rows: pd.DataFrame, domains: int, sz: _Sizes) -> pd.DataFrame:
    """One traffic light per study row and judged domain (and overall): its x, y, colour,
    symbol and tooltip."""
    recs = []
    cell = _rob_cell_w(sz)
    cols = [*ROB_CELLS[:domains], "rob_overall"]
    for r in rows[rows["kind"] == "study"].itertuples(index=False):
        tool = str(r.rob_tool)
        if not tool:
            continue
        names = vocab.ROB_DOMAINS[tool]
        for j, col in enumerate(cols):
            level = str(getattr(r, col))
            if not level:
                continue
            fill, ink = ROB_COLOURS[level]
            domain = "overall" if col == "rob_overall" else f"D{j + 1} {names[j]}"
            recs.append(
                {
                    "row_id": r.row_id,
                    "label": r.label,
                    "xp": (j + 0.5) * cell + (0.3 * cell if col == "rob_overall" else 0.0),
                    "y": float(r.y),
                    "fill": fill,
                    "ink": ink,
                    "symbol": vocab.ROB_SYMBOLS[level],
                    "judgement": f"{vocab.ROB_TOOLS[tool]}, {domain}: "
                    f"{vocab.ROB_LEVELS[level]} risk of bias"
                    if level != "ni"
                    else f"{vocab.ROB_TOOLS[tool]}, {domain}: no information",
                }
            )
    return pd.DataFrame(recs, columns=_ROB_COLS)


def _rob_legend(rows: pd.DataFrame, chars: int) -> list[str]:
    """Note lines naming the tools' domains and what each symbol means, each line at most
    about ``chars`` characters."""
    lines: list[str] = []
    for tool in ("rob2", "robins"):
        if not (rows["rob_tool"] == tool).any():
            continue
        levels = ("low", "some", "high", "ni") if tool == "rob2" else (
            "low", "moderate", "serious", "critical", "ni")  # fmt: skip
        symbols = ", ".join(f"{vocab.ROB_SYMBOLS[v]} {vocab.ROB_LEVELS[v]}" for v in levels)
        parts = [f"Risk of bias ({vocab.ROB_TOOLS[tool]}; {symbols}):"]
        parts += [f"D{i + 1} {d}" for i, d in enumerate(vocab.ROB_DOMAINS[tool])]
        line = ""
        for part in parts:
            if line and len(line) + len(part) + 2 > max(chars, 40):
                lines.append(line if line.endswith(":") else line + ";")
                line = part
            else:
                sep = " " if line.endswith(":") else "; "
                line = f"{line}{sep}{part}" if line else part
        lines.append(line + ".")
    return lines


def _diamonds(rows: pd.DataFrame, h: float) -> pd.DataFrame:
    """Four vertices per pooled/subgroup row as an area: (low,y), (est,y-h..y+h), (high,y)."""
    recs = []
    for r in rows[rows["kind"].isin(("pooled", "subgroup")) & rows["drawn"]].itertuples():
        if r.included:
            fill = PALETTE["pooled"] if r.kind == "pooled" else PALETTE["subgroup"]
            stroke = PALETTE["pooled"] if r.kind == "pooled" else PALETTE["subgroup_stroke"]
        else:
            fill = stroke = PALETTE["excluded"]
        for x, y0, y1 in ((r.low_c, r.y, r.y), (r.est_c, r.y - h, r.y + h), (r.high_c, r.y, r.y)):
            recs.append(
                {
                    "row_id": r.row_id,
                    "kind": r.kind,
                    "x": float(x),
                    "y_lo": float(y0),
                    "y_hi": float(y1),
                    "fill": fill,
                    "stroke": stroke,
                }
            )
    cols = ["row_id", "kind", "x", "y_lo", "y_hi", "fill", "stroke"]
    return pd.DataFrame(recs, columns=cols)


def _arrows(rows: pd.DataFrame, dmin: float, dmax: float) -> pd.DataFrame:
    recs = []
    for r in rows.itertuples():
        if r.clip_lo:
            recs.append({"row_id": r.row_id, "x": dmin, "y": r.y, "shape": "triangle-left"})
        if r.clip_hi:
            recs.append({"row_id": r.row_id, "x": dmax, "y": r.y, "shape": "triangle-right"})
    return pd.DataFrame(recs, columns=["row_id", "x", "y", "shape"])


def _tooltip(ci_head: str = "Ratio [95% CI]") -> list[alt.Tooltip]:
    return [
        alt.Tooltip("label:N", title="Row"),
        alt.Tooltip("detail:N", title="Data"),
        alt.Tooltip("ci_text:N", title=ci_head),
        alt.Tooltip("weight_text:N", title="Weight"),
        alt.Tooltip("status:N", title="Status"),
        alt.Tooltip("source:N", title="Source"),
        alt.Tooltip("note:N", title="Note"),
    ]


def _records(frame: pd.DataFrame) -> list[dict]:
    """JSON-ready rows: NaN and infinities become null."""
    return [
        {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]


def json_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """JSON-safe copy for Altair: non-finite floats become NaN (written as null), text and
    other columns plain Python objects; booleans and integers stay as they are."""
    out = frame.reset_index(drop=True)
    for col in out.columns:
        if out[col].dtype.kind == "f":
            vals = out[col].to_numpy(dtype=float, copy=True)
            vals[~np.isfinite(vals)] = np.nan
            out[col] = vals
        elif out[col].dtype.kind not in "bi":
            out[col] = out[col].astype(object)
    return out


def _plain(rows: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """JSON-safe copy: finite floats or NaN (written as null), plain Python strings/bools."""
    out = rows[cols].reset_index(drop=True)
    for c in cols:
        if out[c].dtype.kind == "f":
            # Altair writes float NaN as null (but not None in object columns, under pandas 3)
            v = out[c].to_numpy(dtype=float, copy=True)
            v[~np.isfinite(v)] = np.nan
            out[c] = v
        elif out[c].dtype.kind != "b":
            out[c] = out[c].astype(object)
    return out


class VegaSpec(dict):
    """A Vega-Lite spec (a plain dict) that also answers ``to_dict()`` as Altair charts do,
    so exports and tests can take either."""

    def to_dict(self, *args: object, **kwargs: object) -> dict:
        return self


@dataclass(frozen=True)
class _Layout:
    """Everything that shapes the forest plot's structure (not its rows)."""

    n: int
    label_w: int
    ci_w: int
    wt_w: int
    plot_w: int
    ticks: tuple[float, ...]
    upper: float
    measure_label: str
    favours: tuple[str, ...]
    note_lines: int
    title: str | None
    large: bool
    arm_w: int = 0  # width of each of the two events/total columns (0: none)
    rob_domains: int = 0  # risk-of-bias domain columns (5 RoB 2, 7 with ROBINS-I; 0: none)
    footer_lines: int = 0
    linear: bool = False  # a difference axis about 0 (risk difference), else a log axis about 1


_TEXT_COLS = ["row_id", "kind", "study_id", "label", "label_text", "tx", "fw", "y", "ci_text"]
_TEXT_COLS += ["weight_text", "text_color", "detail", "source", "note", "status", "included"]
_TEXT_COLS += ["rt_text", "ctl_text"]
_PLOT_COLS = [*_TEXT_COLS, "est_c", "low_c", "high_c", "size", "line_color", "sq_fill", "sq_stroke"]
_DIAMOND_COLS = ["row_id", "kind", "x", "y_lo", "y_hi", "fill", "stroke"]
_ARROW_COLS = ["row_id", "x", "y", "shape"]
_ROB_COLS = ["row_id", "label", "xp", "y", "fill", "ink", "symbol", "judgement"]


def forest_chart(
    frame: pd.DataFrame,
    *,
    measure_label: str,
    favours: tuple[str, str] = ("Favours RT", "Favours control"),
    title: str | None = None,
    large: bool = False,
    width: int | None = None,
    show_weight: bool = True,
    footer: tuple[str, ...] = (),
    linear: bool = False,
) -> VegaSpec:
    """A RevMan/metafor-style forest plot of a forest frame (see ``FOREST_COLUMNS``).

    Three panels side by side share one row scale: labels | log-scale plot | "ratio [95% CI]"
    and weight. Study rows: square (area proportional to weight) and CI line; pooled and
    subgroup rows: a diamond polygon from low to high; "pi" rows: a thin bar; "heading" rows:
    bold text. Excluded rows stay visible in grey with their numbers; derived rows are hollow
    squares with a "†" after the label. Bounds that are 0, inf or NaN, and ends outside the axis,
    stop at the axis edge with a triangle. ``large`` doubles every font (tumour boards);
    ``width`` is the approximate total width in pixels (labels are then shortened to
    ``LABEL_CHARS_NARROW`` characters, else ``LABEL_CHARS``; the full label is in the tooltip);
    ``show_weight=False`` drops the weight column (it stays in the tooltip) for narrow places.
    Where any study row has counts (``events_rt``, ``n_rt``, ``events_ctl``, ``n_ctl``), two
    columns beside the labels give events/total per arm (blank for a row without them, e.g. a
    hazard ratio); where ``width`` leaves the plot less than its minimum width they are left
    out, the counts staying in each row's tooltip. ``footer``: lines printed under the pooled
    row (heterogeneity, the test for the overall effect and for subgroup differences:
    core.views.analysis.forest_footer).
    ``linear=True``: a risk difference (a proportion) on a linear axis about its null value 0,
    printed as differences; else ratios on a log axis about 1.
    Two point selections on ``study_id`` (click) let a page toggle a study: ``TOGGLE_PARAM``
    on a study's row in the plot, ``LABEL_PARAM`` on its label: ``st.vega_lite_chart(
    spec=chart, on_select="rerun", selection_mode=(TOGGLE_PARAM, LABEL_PARAM))``; clicks on
    non-study rows select nothing. Excluded studies are grey, hollow and with a dashed CI
    line, derived ones hollow with "†": each tells itself from the others without colour.

    Returns the Vega-Lite spec (a dict with ``to_dict()``; draw it with
    ``st.vega_lite_chart``). The spec's structure depends only on the layout (row count,
    column widths, axis, texts), so it is built once per layout and cached; each call only
    fills in the rows as named datasets. A toggle thus costs milliseconds, not the second
    Altair needs to assemble ~20 layered, concatenated views.
    """
    f = validate_forest_frame(frame)
    sz = _Sizes.make(large)
    ticks, upper = _axis(f, linear)
    dmin, dmax = (-upper, upper) if linear else (1.0 / upper, upper)
    rows = _rows_frame(
        f, dmin, dmax, sz, LABEL_CHARS if width is None else LABEL_CHARS_NARROW, linear
    )
    n = len(rows)
    label_w = int(
        max([len(s) for s in rows["label_text"]] + [len("Study")]) * sz.font * sz.char
        + 14 * sz.font / 12
    )
    # a prediction-interval row keeps room for its widest text whether it has an interval
    # or not (k < 3), so that toggling a study leaves the layout as it is
    pi_room = [len(PI_TEXT_ROOM)] if (rows["kind"] == "pi").any() else []
    ci_w = int(max([len(s) for s in rows["ci_text"]] + [14, *pi_room]) * sz.font * sz.char + 8)
    wt_w = int(7 * sz.font * sz.char + 6) if show_weight else 0
    arm_texts = [*rows["rt_text"], *rows["ctl_text"]]
    arm_w = (
        int(max([len(t) for t in arm_texts] + [len(h) for h in vocab.FOREST_ARMS.values()])
            * sz.font * sz.char + 8)
        if any(arm_texts)
        else 0
    )  # fmt: skip
    rob_domains = _rob_domains(rows)
    rob_w = (rob_domains + 1.3) * _rob_cell_w(sz) if rob_domains else 0.0
    min_plot = int(160 * sz.font / 12)
    if width is not None and width - label_w - ci_w - wt_w - 2 * arm_w - int(rob_w) - 40 < min_plot:
        arm_w = 0  # no room: the counts stay in each row's tooltip ("Data")
    plot_w = (
        (560 if large else 340)
        if width is None
        else width - label_w - ci_w - wt_w - 2 * arm_w - int(rob_w) - 40
    )
    plot_w = max(int(plot_w), min_plot)

    notes = list(footer)
    if arm_w and (rows["counts_derived"] & rows["rt_text"].ne("")).any():
        notes.append(
            f"{vocab.FOREST_ARMS['rt']}, {vocab.FOREST_ARMS['ctl']}: events/total; from a "
            "rate at t, events = round(n × (1 − rate)) (derived)."
        )
    if rows["derived"].any():
        notes.append(
            f"{DERIVED_MARK} Hollow square: rate interpolated between the nearest reported "
            "years (derived, not reported)."
        )
    groups = sorted(
        {g for g, k in zip(rows["overlap"], rows["kind"], strict=True) if g and k == "study"}
    )
    if groups:
        notes.append(
            f"{OVERLAP_MARK} Same overlap group ({', '.join(groups)}): cohorts that may share "
            "patients, pooled together."
        )
    if ((rows["clip_lo"] | rows["clip_hi"]) & (rows["kind"] != "pi")).any():
        notes.append("◂ ▸ Interval extends beyond the axis (or the bound is not estimable).")
    if (rows["kind"] == "pi").any():
        notes.append(
            "Bar: prediction interval for the effect in a new study (◂ ▸ where it extends "
            "beyond the axis)."
        )
    if rob_domains:
        total_w = label_w + 2 * arm_w + plot_w + ci_w + wt_w + rob_w
        # Vega cuts a line of text short of its view's width: keep each well inside
        notes.extend(_rob_legend(rows, int(0.8 * total_w / (sz.foot * sz.char))))
    # The last line is kept (blank while every study is in) so that toggling a study changes
    # the rows only, never the structure: the browser then updates the plot in place.
    if (rows["kind"] == "study").any():
        excluded = bool((~rows["included"] & (rows["kind"] == "study")).any())
        notes.append(
            "Grey rows (hollow square, dashed line): excluded by you; shown for reference, "
            "not pooled."
            if excluded
            else ""
        )
    layout = _Layout(
        n=n,
        label_w=label_w,
        ci_w=ci_w,
        wt_w=wt_w,
        plot_w=plot_w,
        ticks=tuple(ticks),
        upper=upper,
        measure_label=measure_label,
        favours=tuple(favours),
        note_lines=len(notes),
        title=title,
        large=large,
        arm_w=arm_w,
        footer_lines=len(footer),
        rob_domains=rob_domains,
        linear=linear,
    )
    spec = VegaSpec(copy.deepcopy(_forest_spec(layout)))
    drawn = rows[rows["drawn"]]
    spec["datasets"] = {
        **spec.get("datasets", {}),  # Altair's own (headers, rules, notes)
        "forest_text": _records(_plain(rows, _TEXT_COLS)),
        "forest_plot": _records(_plain(drawn, _PLOT_COLS)),
        "forest_diamonds": _records(_plain(_diamonds(rows, 0.36), _DIAMOND_COLS)),
        "forest_arrows": _records(_plain(_arrows(rows, dmin, dmax), _ARROW_COLS)),
        "forest_hits": _records(_plain(rows[rows["kind"] != "heading"], _TEXT_COLS)),
        "forest_rob": _records(_rob_cells(rows, rob_domains, sz)),
        "forest_notes": [
            {
                "t": t,
                "yp": (i + 0.5) * sz.note_line,
                "c": PALETTE["text"] if i < len(footer) else PALETTE["muted"],
            }
            for i, t in enumerate(notes)
        ],
    }
    return spec


@functools.lru_cache(maxsize=128)
def _forest_spec(layout: _Layout) -> dict:
    """The forest plot's Vega-Lite structure for one layout, its rows left as named datasets
    (filled in by ``forest_chart``). Built with Altair, once per layout."""
    sz = _Sizes.make(layout.large)
    n, label_w, ci_w, wt_w, plot_w = (
        layout.n,
        layout.label_w,
        layout.ci_w,
        layout.wt_w,
        layout.plot_w,
    )
    measure_label, favours, ticks = layout.measure_label, layout.favours, layout.ticks
    linear = layout.linear
    dmin, dmax = (-layout.upper, layout.upper) if linear else (1.0 / layout.upper, layout.upper)
    null = 0.0 if linear else 1.0
    ci_head = "RD [95% CI]" if linear else "Ratio [95% CI]"
    show_weight = wt_w > 0
    height = max(1, n + 1) * sz.row
    ydom = [-1.5, n - 0.5]
    y_scale = alt.Scale(domain=ydom, reverse=True, nice=False, zero=False)

    def yq(field: str = "y") -> alt.Y:
        return alt.Y(f"{field}:Q", scale=y_scale, axis=None)

    tdata = alt.NamedData(name="forest_text")
    header = pd.DataFrame(
        {
            "panel": ["label", "plot", "ci", "weight", "rt", "ctl"],
            "text": [
                "Study",
                measure_label,
                ci_head,
                "Weight",
                vocab.FOREST_ARMS["rt"],
                vocab.FOREST_ARMS["ctl"],
            ],
            "y": [-1.0] * 6,
        }
    )
    sep = pd.DataFrame({"y": [-0.5, n - 0.5]})
    base_text = {"baseline": "middle", "fontSize": sz.font}

    def header_layer(panel: str, align: str, x: float) -> alt.Chart:
        return (
            alt.Chart(header)
            .transform_filter(alt.datum.panel == panel)
            .mark_text(align=align, fontWeight="bold", color=PALETTE["text"], **base_text)
            .encode(x=alt.value(x), y=yq(), text="text:N")
        )

    def rules(w: float, which: tuple[int, ...] = (0, 1)) -> alt.Chart:
        return (
            alt.Chart(sep.iloc[list(which)])
            .mark_rule(color=PALETTE["rule"], strokeWidth=1)
            .encode(x=alt.value(0), x2=alt.value(w), y=yq())
        )

    def text_column(field: str, align: str, x: float, w: float) -> alt.LayerChart:
        layers = []
        for fw in ("normal", "bold"):
            layers.append(
                alt.Chart(tdata)
                .transform_filter(alt.datum.fw == fw)
                .mark_text(align=align, fontWeight=fw, **base_text)
                .encode(
                    x=alt.X("tx:Q", scale=None) if field == "label_text" else alt.value(x),
                    y=yq(),
                    text=f"{field}:N",
                    color=alt.Color("text_color:N", scale=None),
                    tooltip=_tooltip(ci_head),
                )
            )
        return alt.layer(*layers).properties(width=w, height=height)

    # ---- left panel: labels (a click on a study's label toggles it, as on its row)
    def hit_rows(w: float) -> alt.Chart:
        """Invisible clickable bands over a panel ``w`` wide, one per row of ``forest_hits``."""
        return (
            alt.Chart(alt.NamedData(name="forest_hits"))
            .transform_calculate(y_lo="datum.y - 0.5", y_hi="datum.y + 0.5")
            .mark_rect(opacity=0, cursor="pointer")
            .encode(
                x=alt.value(0),
                x2=alt.value(w),
                y=yq("y_lo"),
                y2="y_hi:Q",
                tooltip=_tooltip(ci_head),
            )
        )

    label_hits = (
        hit_rows(label_w)
        .transform_filter(alt.datum.kind == "study")
        .add_params(
            alt.selection_point(
                name=LABEL_PARAM,
                fields=["study_id"],
                on="click",
                toggle="true",
                clear=False,
                empty=False,
            )
        )
    )
    left = alt.layer(
        rules(label_w),
        header_layer("label", "left", 4),
        text_column("label_text", "left", 4, label_w),
        label_hits,
    ).properties(width=label_w, height=height)

    # ---- right panel: ratio [95% CI] and weight
    right_ci = alt.layer(
        rules(ci_w),
        header_layer("ci", "right", ci_w - 4),
        text_column("ci_text", "right", ci_w - 4, ci_w),
    ).properties(width=ci_w, height=height)
    right_wt = alt.layer(
        rules(wt_w),
        header_layer("weight", "right", wt_w - 4),
        text_column("weight_text", "right", wt_w - 4, wt_w),
    ).properties(width=wt_w, height=height)

    # ---- events/total per arm, between the labels and the plot (RevMan's order)
    arm_w = layout.arm_w
    arms = [
        alt.layer(
            rules(arm_w),
            header_layer(arm, "right", arm_w - 4),
            text_column(f"{arm}_text", "right", arm_w - 4, arm_w),
        ).properties(width=arm_w, height=height)
        for arm in ("rt", "ctl")
    ] if arm_w else []  # fmt: skip

    # ---- middle panel: the plot
    x_scale = alt.Scale(
        type="linear" if linear else "log", domain=[dmin, dmax], nice=False, clamp=True
    )
    x_axis = alt.Axis(
        values=list(ticks),
        format=fmt.D3_AXIS,
        title=None,
        grid=False,
        labelFontSize=sz.axis,
        tickSize=5 * sz.font / 12,
        labelPadding=3 * sz.font / 12,
        domainColor=PALETTE["text"],
        tickColor=PALETTE["text"],
        labelColor=PALETTE["text"],
    )

    def xq(field: str) -> alt.X:
        # every layer carries the same axis: Vega-Lite drops a layered axis if one layer says None
        return alt.X(f"{field}:Q", scale=x_scale, axis=x_axis)

    pdata = alt.NamedData(name="forest_plot")
    null_rule = (
        alt.Chart(pd.DataFrame({"x": [null], "y": [-0.5], "y2": [n - 0.5]}))
        .mark_rule(color=PALETTE["null"], strokeWidth=1.2 * sz.font / 12)
        .encode(x=xq("x"), y=yq(), y2="y2:Q")
    )

    def ci_rules_of(included: bool) -> alt.Chart:
        dash = {} if included else {"strokeDash": list(EXCLUDED_DASH)}
        return (
            alt.Chart(pdata)
            .transform_filter(alt.datum.kind == "study")
            .transform_filter(alt.datum.included if included else ~alt.datum.included)
            .mark_rule(strokeWidth=1.4 * sz.font / 12, clip=True, aria=False, **dash)
            .encode(
                x=xq("low_c"),
                x2="high_c:Q",
                y=yq(),
                color=alt.Color("line_color:N", scale=None),
                tooltip=_tooltip(ci_head),
            )
        )

    ci_rules = alt.layer(ci_rules_of(True), ci_rules_of(False))
    squares = (
        alt.Chart(pdata)
        .transform_filter(alt.datum.kind == "study")
        .mark_square(filled=True, opacity=1, strokeWidth=1.5 * sz.font / 12, clip=True)
        .encode(
            x=xq("est_c"),
            y=yq(),
            size=alt.Size("size:Q", scale=None),
            fill=alt.Fill("sq_fill:N", scale=None),
            stroke=alt.Stroke("sq_stroke:N", scale=None),
            tooltip=_tooltip(ci_head),
        )
    )
    pi_bars = (
        alt.Chart(pdata)
        .transform_filter(alt.datum.kind == "pi")
        .transform_calculate(y_lo="datum.y - 0.13", y_hi="datum.y + 0.13")
        .mark_rect(color=PALETTE["pi"], clip=True, aria=False)
        .encode(x=xq("low_c"), x2="high_c:Q", y=yq("y_lo"), y2="y_hi:Q", tooltip=_tooltip(ci_head))
    )
    dia = alt.NamedData(name="forest_diamonds")
    diamonds = (
        alt.Chart(dia)
        .mark_area(
            strokeWidth=1.0 * sz.font / 12, opacity=1, clip=True, interpolate="linear", aria=False
        )
        .encode(
            x=xq("x"),
            y=yq("y_lo"),
            y2="y_hi:Q",
            detail="row_id:N",
            fill=alt.Fill("fill:N", scale=None),
            stroke=alt.Stroke("stroke:N", scale=None),
        )
    )
    arrows = (
        alt.Chart(alt.NamedData(name="forest_arrows"))
        .mark_point(
            filled=True, size=70 * (sz.font / 12) ** 2, color=PALETTE["ci"], opacity=1, aria=False
        )
        .encode(x=xq("x"), y=yq(), shape=alt.Shape("shape:N", scale=None))
    )
    # every click toggles its study in the selection (no clearing), so each click changes the
    # selection and the page can read the clicked study as the difference from the last one
    toggle = alt.selection_point(
        name=TOGGLE_PARAM, fields=["study_id"], on="click", toggle="true", clear=False, empty=False
    )
    plot_hits = hit_rows(plot_w)
    study_hits = plot_hits.transform_filter(alt.datum.kind == "study").add_params(toggle)
    other_hits = plot_hits.transform_filter(alt.datum.kind != "study").mark_rect(opacity=0)
    fav_y = height + sz.axis + 12 * sz.font / 12 + sz.font
    fav = pd.DataFrame({"x": [null, null], "t": [f"← {favours[0]}", f"{favours[1]} →"]})
    fav["side"] = ["left", "right"]
    fav_layers = [
        alt.Chart(fav)
        .transform_filter(alt.datum.side == side)
        .mark_text(
            align="right" if side == "left" else "left",
            dx=(-6 if side == "left" else 6) * sz.font / 12,
            baseline="middle",
            fontSize=sz.font,
            color=PALETTE["muted"],
        )
        .encode(x=xq("x"), y=alt.value(fav_y), text="t:N")
        for side in ("left", "right")
    ]
    plot = alt.layer(
        rules(plot_w, (0,)),
        header_layer("plot", "center", plot_w / 2),
        null_rule,
        pi_bars,
        ci_rules,
        diamonds,
        squares,
        arrows,
        *fav_layers,
        other_hits,
        study_hits,
    ).properties(width=plot_w, height=height)

    # ---- risk of bias: a traffic light per judged domain and overall (robvis style)
    rob_panel = []
    rob_w = 0.0
    if layout.rob_domains:
        cell = _rob_cell_w(sz)
        rob_w = (layout.rob_domains + 1.3) * cell
        heads = pd.DataFrame(
            {
                "t": [*(f"D{i + 1}" for i in range(layout.rob_domains)), "All"],
                "xp": [(j + 0.5) * cell for j in range(layout.rob_domains)]
                + [(layout.rob_domains + 0.8) * cell],
                "y": -1.0,
            }
        )
        rdata = alt.NamedData(name="forest_rob")
        rob_tip = [
            alt.Tooltip("label:N", title="Study"),
            alt.Tooltip("judgement:N", title="Risk of bias"),
        ]
        rob_panel = [
            alt.layer(
                rules(rob_w),
                alt.Chart(heads)
                .mark_text(fontWeight="bold", color=PALETTE["text"], baseline="middle",
                           fontSize=sz.foot)
                .encode(x=alt.X("xp:Q", scale=None), y=yq(), text="t:N"),
                alt.Chart(rdata)
                .mark_point(shape="circle", filled=True, opacity=1, size=(0.75 * cell) ** 2,
                            stroke=PALETTE["text"], strokeWidth=0.6)
                .encode(x=alt.X("xp:Q", scale=None), y=yq(),
                        fill=alt.Fill("fill:N", scale=None), tooltip=rob_tip),
                alt.Chart(rdata)
                .mark_text(fontWeight="bold", align="center", **base_text)
                .encode(x=alt.X("xp:Q", scale=None), y=yq(), text="symbol:N",
                        color=alt.Color("ink:N", scale=None), tooltip=rob_tip),
            ).properties(width=rob_w, height=height)
        ]  # fmt: skip

    panels = [left, *arms, plot, right_ci, *([right_wt] if show_weight else []), *rob_panel]
    body = alt.hconcat(*panels, spacing=6 * sz.font / 12)

    parts: list[alt.TopLevelMixin] = [body]
    if layout.note_lines:
        parts.append(
            alt.Chart(alt.NamedData(name="forest_notes"))
            .mark_text(align="left", baseline="middle", fontSize=sz.foot)
            .encode(
                x=alt.value(4),
                y=alt.Y("yp:Q", scale=None, axis=None),
                text="t:N",
                color=alt.Color("c:N", scale=None),
            )
            .properties(
                width=label_w + 2 * arm_w + plot_w + ci_w + wt_w + int(rob_w),
                height=sz.note_line * layout.note_lines,
            )
        )
    chart = alt.vconcat(*parts, spacing=0.8 * sz.font)  # bounds already hold the favours row
    chart = chart.properties(  # read by screen readers (the svg's aria-label)
        description=f"Forest plot: {measure_label}. One row per study: "
        f"{'risk difference' if linear else 'ratio'} with 95% CI; "
        "the same numbers are in the table under the plot."
    )
    if layout.title:
        chart = chart.properties(
            title=alt.TitleParams(
                layout.title, anchor="start", fontSize=sz.title, offset=sz.font / 2
            )
        )
    return (
        chart.configure(font=FONT_FAMILY, padding=8 * sz.font / 12)
        .configure_view(stroke=None)
        .to_dict()
    )
