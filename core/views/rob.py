"""Risk-of-bias judgements of a dataset's studies: RoB 2 (randomized trials, 5 domains and
overall) and ROBINS-I (non-randomized studies, 7 domains and overall), read from the optional
studies columns of core.data.schema (``rob2_d1`` .. ``rob2_overall``, ``robins_d1`` ..
``robins_overall``). Nothing is inferred: a dataset without these columns, or with them empty,
has no judgements, and a domain left empty stays empty.

>>> import pandas as pd
>>> studies = pd.DataFrame({"study_id": ["a"], "rob2_d1": ["low"], "rob2_overall": ["some"]})
>>> judgement_of(studies, "a")
Judgement(tool='rob2', domains=('low', '', '', '', ''), overall='some')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from core import vocab
from core.data.schema import ROB2_COLUMNS, ROB2_LEVELS, ROBINS_COLUMNS, ROBINS_LEVELS

__all__ = ["TOOLS", "Judgement", "RobTool", "judgement_of", "summary_frame", "tools_in"]


@dataclass(frozen=True)
class RobTool:
    """One tool: its key (``rob2``, ``robins``), domain columns, overall column, levels."""

    key: str
    domains: tuple[str, ...]
    overall: str
    levels: tuple[str, ...]

    @property
    def name(self) -> str:
        return vocab.ROB_TOOLS[self.key]

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.domains, self.overall)


TOOLS: tuple[RobTool, ...] = (
    RobTool("rob2", ROB2_COLUMNS[:-1], ROB2_COLUMNS[-1], ROB2_LEVELS),
    RobTool("robins", ROBINS_COLUMNS[:-1], ROBINS_COLUMNS[-1], ROBINS_LEVELS),
)


@dataclass(frozen=True)
class Judgement:
    """One study's judgements by one tool: per domain (``""`` where not given) and overall."""

    tool: str
    domains: tuple[str, ...]
    overall: str


def _value(v: object) -> str:
    return "" if v is None or v is pd.NA or (isinstance(v, float) and v != v) else str(v)


def tools_in(studies: pd.DataFrame, ids: Iterable[str] | None = None) -> tuple[RobTool, ...]:
    """The tools with at least one judgement in ``studies`` (restricted to study ids ``ids``
    when given)."""
    rows = studies if ids is None else studies[studies["study_id"].isin(list(ids))]
    found = []
    for tool in TOOLS:
        cols = [c for c in tool.columns if c in rows.columns]
        if cols and rows[cols].notna().any().any():
            found.append(tool)
    return tuple(found)


def judgement_of(studies: pd.DataFrame, study_id: str) -> Judgement | None:
    """The study's judgements by the first tool (RoB 2, then ROBINS-I) that has any for it;
    None without any."""
    hit = studies[studies["study_id"] == study_id]
    if hit.empty:
        return None
    row = hit.iloc[0]
    for tool in TOOLS:
        values = tuple(_value(row[c]) if c in row.index else "" for c in tool.columns)
        if any(values):
            return Judgement(tool.key, values[:-1], values[-1])
    return None


def summary_frame(studies: pd.DataFrame, ids: Iterable[str] | None = None) -> pd.DataFrame:
    """robvis's summary plot as numbers: per tool, domain (D1.., then overall) and judgement,
    the number of studies and their share in percent (unweighted) of the studies the tool
    judged (those with at least one judgement by it); a domain such a study leaves empty
    counts as level ``none`` ("not judged"), never as a judgement. Columns: tool, domain,
    domain_label, level, level_label, n, judged, percent; empty without judgements."""
    rows = studies if ids is None else studies[studies["study_id"].isin(list(ids))]
    recs = []
    for tool in tools_in(rows):
        names = vocab.ROB_DOMAINS[tool.key]
        cols = [c for c in tool.columns if c in rows.columns]
        by_tool = rows[rows[cols].notna().any(axis=1)]
        judged = len(by_tool)
        for i, col in enumerate(tool.columns):
            values = (
                by_tool[col].astype(object).where(by_tool[col].notna(), "none")
                if col in by_tool.columns
                else pd.Series(["none"] * judged, dtype=object)
            )
            overall = col == tool.overall
            for level in (*tool.levels, "none"):
                n = int((values.astype(str) == level).sum())
                recs.append(
                    {
                        "tool": tool.name,
                        "domain": "Overall" if overall else f"D{i + 1}",
                        "domain_label": vocab.title(vocab.ROB_OVERALL)
                        if overall
                        else f"D{i + 1} {names[i]}",
                        "level": level,
                        "level_label": vocab.ROB_LEVELS[level],
                        "n": n,
                        "judged": judged,
                        "percent": 100.0 * n / judged,
                    }
                )
    cols = ["tool", "domain", "domain_label", "level", "level_label", "n", "judged", "percent"]
    return pd.DataFrame(recs, columns=cols)
