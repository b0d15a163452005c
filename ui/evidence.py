"""The Studies page's tables, built without Streamlit: the evidence table, one study's facts
and outcome rows, where a study stands in the current view, and overlapping cohorts."""

from __future__ import annotations

import math
from typing import Any, TypedDict

import pandas as pd

from core import fmt
from core.data.description import Description
from core.data.records import ordered_sources
from core.data.schema import QUALITY_ITEMS
from core.state.view import ViewState
from core.views.analysis import Analysis, Selection, forest_frame
from core.views.overlap import OVERLAP_MARK

QUALITY_LABELS = {
    "q_allocation": "Allocation (0-2)",
    "q_multicentre": "Multicentre",
    "q_size": "Size ≥100",
    "q_followup": "Follow-up given",
    "q_full_publication": "Full publication",
    "q_untreated_control": "Untreated control",
}
UNKNOWN = "?"
EVENT_WORDS = {"OS": "deaths", "DFS": "recurrences or deaths"}
RATE_WORDS = {"OS": "survival", "DFS": "disease-free survival"}


def _blank(v: object) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _str(v: object) -> str:
    return "" if _blank(v) else str(v)


def _num(v: Any) -> str:
    """A numeric cell (a number, None, NaN or pd.NA) as short text."""
    return "" if _blank(v) else fmt.number(float(v))


def _whole(v: Any) -> int | None:
    """``v`` (a cell, any type) as an int when it is a whole number an Int64 column can hold,
    else None."""
    try:
        x = float(v)
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(x) or x != int(x):
        return None
    n = int(v) if isinstance(v, int) else int(x)  # a Python int keeps all its digits
    return n if -(2**63) <= n < 2**63 else None


def _count_text(v: Any) -> str | None:
    """A count as plain text: '82', or '1e+308' for one no integer column can hold."""
    if _blank(v):
        return None
    n = _whole(v)
    return str(n) if n is not None else fmt.significant(float(v))


def counts_column(values: pd.Series) -> pd.Series:
    """Arm sizes as whole numbers (Int64); when one of them cannot be held as one (a total of
    1e308 from a table of floats), every cell as plain text instead ('1e+308'). Never cast:
    pandas turns a Float64 of 1e308 into -2^63 without a word."""
    cells = values.tolist()
    if all(_blank(v) or _whole(v) is not None for v in cells):
        whole = [None if _blank(v) else _whole(v) for v in cells]
        return pd.Series(whole, index=values.index, dtype="Int64")
    return pd.Series([_count_text(v) for v in cells], index=values.index, dtype="string")


def _years(t: object) -> str:
    return f"{_num(t)} year" + ("" if _num(t) == "1" else "s")


def split_urls(value: object) -> list[str]:
    """The http(s) addresses in a ``;``-separated cell (other text is not a link)."""
    parts = (p.strip() for p in _str(value).split(";"))
    return [p for p in parts if p.lower().startswith(("https://", "http://"))]


def other_sources(value: object) -> list[str]:
    """Entries of a ``;``-separated sources cell that are not http(s) addresses."""
    parts = (p.strip() for p in _str(value).split(";"))
    return [p for p in parts if p and not p.lower().startswith(("https://", "http://"))]


def label_of(row: pd.Series) -> str:
    return _str(row["label"]) or str(row["study_id"])


def score_text(row: pd.Series) -> str:
    """The quality score; '≥ n' when some items could not be judged (a lower bound)."""
    score = row["quality_score"]
    unknown = any(_blank(row[q]) for q in QUALITY_ITEMS) or bool(_str(row["quality_unknown"]))
    if _blank(score):
        return UNKNOWN
    return f"≥ {int(score)}" if unknown else f"{int(score)}"


def view_status(study_id: str, selection: Selection, exclude: tuple[str, ...]) -> str:
    """Where a study stands in the current view, in plain words."""
    reasons = dict(selection.filtered_out)
    if study_id in reasons:
        by_hand = " (also excluded by hand)" if study_id in exclude else ""
        return f"filtered out: {reasons[study_id]}{by_hand}"
    if study_id in exclude:
        return "excluded by hand"
    return "selected"


#: The layout's topic columns of the evidence table, left out for a described dataset that
#: leaves them empty throughout (dat.bcg has no indication, RT type or timing).
TOPIC_COLUMNS = (
    "Design",
    "Indication",
    "RT",
    "Timing",
    "Technique",
    "Comparator",
    "Follow-up (months)",
    "Publication",
    "Overlap group",
    "In Rim 2024",
    "Basis",
)


def arms(words: Description | None) -> tuple[str, str]:
    """(treated, control) arm names: the description's, or the layout's RT and control."""
    if words is None or not words.given:
        return "RT", "control"
    return words.treatment, words.control


def evidence_table(
    studies: pd.DataFrame,
    selection: Selection,
    exclude: tuple[str, ...],
    words: Description | None = None,
) -> pd.DataFrame:
    """One row per study, columns as shown on the page; with a description (``words``) the
    arms take its names and topic columns it leaves empty are left out."""
    filtered = dict(selection.filtered_out)
    rows = []
    for _, r in studies.iterrows():
        sid = str(r["study_id"])
        urls = split_urls(r["source_urls"])
        n_sources = len(urls) + len(other_sources(r["source_urls"]))
        reason = filtered.get(sid, "")
        row = {
            "ID": sid,
            "Study": label_of(r),
            "Passes filters": not reason,
            "Excluded by hand": sid in exclude,
            "Why filtered out": reason,
            "Design": _str(r["design"]),
            "Indication": _str(r["indication"]),
            "RT": _str(r["rt_type"]),
            "Timing": _str(r["rt_timing"]),
            "Technique": _str(r["rt_technique"]),
            "Comparator": _str(r["comparator"]),
            "n RT": r["n_rt"],
            "n control": r["n_ctl"],
            "Follow-up (months)": r["median_fu_months"],
            "Publication": _str(r["publication_type"]).replace("_", " "),
            "Overlap group": _str(r["overlap_group"]),
        }
        for q in QUALITY_ITEMS:
            row[QUALITY_LABELS[q]] = UNKNOWN if _blank(r[q]) else f"{int(r[q])}"
        row["Score"] = score_text(r)
        row["In Rim 2024"] = _str(r["in_rim2024"])
        row["Basis"] = _str(r["in_rim2024_basis"])
        # the study's own record (DOI, PubMed) first, else where its numbers were read
        row["Source"] = next((url for _, url in ordered_sources(r["doi_or_pmid"], urls)), None)
        row["Sources"] = n_sources
        rows.append(row)
    frame = pd.DataFrame(rows)
    for col in ("n RT", "n control"):
        frame[col] = counts_column(frame[col])
    frame["Follow-up (months)"] = frame["Follow-up (months)"].astype("Float64")
    if words is not None and words.given:
        empty = [c for c in TOPIC_COLUMNS if not frame[c].replace("", pd.NA).notna().any()]
        treated, control = arms(words)
        frame = frame.drop(columns=empty).rename(
            columns={"n RT": f"n {treated}", "n control": f"n {control}"}
        )
    return frame


STUDY_FACTS = (
    ("first_author", "First author"),
    ("year", "Year"),
    ("journal", "Journal"),
    ("doi_or_pmid", "DOI / PMID"),
    ("design", "Design"),
    ("indication", "Indication"),
    ("rt_type", "RT type"),
    ("rt_timing", "RT timing"),
    ("rt_technique", "RT technique"),
    ("comparator", "Comparator"),
    ("n_rt", "Patients, RT arm"),
    ("n_ctl", "Patients, control arm"),
    ("median_fu_months", "Median follow-up (months)"),
    ("publication_type", "Numbers come from"),
    ("lead_only", "Lead only (no numbers)"),
    ("overlap_group", "Overlap group"),
    ("in_rim2024", "Known to be in Rim 2024"),
    ("in_rim2024_basis", "Basis"),
)


def study_facts(
    row: pd.Series, words: Description | None = None, recorded: frozenset[str] | None = None
) -> pd.DataFrame:
    """The study's descriptive fields as (field, value) text rows; empty = not reported.
    With a description (``words``) the arms take its names and only the columns the dataset
    records for some study (``recorded``) are listed."""
    rows = []
    treated, control = arms(words)
    for col, name in STUDY_FACTS:
        if words is not None and words.given and recorded is not None and col not in recorded:
            continue
        name = {"n_rt": f"Patients, {treated} arm", "n_ctl": f"Patients, {control} arm"}.get(
            col, name
        )
        v = row[col]
        shown = _num(v) if col in ("year", "n_rt", "n_ctl", "median_fu_months") else _str(v)
        rows.append({"Field": name, "Value": shown or "not reported"})
    return pd.DataFrame(rows)


def quality_rows(row: pd.Series) -> pd.DataFrame:
    """Each quality item with its points (or '?', not judgeable) and the maximum."""
    rows = [
        {
            "Item": QUALITY_LABELS[q],
            "Column": q,
            "Points": UNKNOWN if _blank(row[q]) else f"{int(row[q])}",
            "Of": top,
        }
        for q, top in QUALITY_ITEMS.items()
    ]
    rows.append({"Item": "Score", "Column": "quality_score", "Points": score_text(row), "Of": 7})
    return pd.DataFrame(rows)


def describe_numbers(r: pd.Series, words: Description | None = None) -> str:
    """What the numbers in one outcome row are, in words (the description's, ``words``)."""
    outcome, kind = str(r["outcome"]), str(r["kind"])
    t = r["time_years"]
    treated, control = arms(words)
    own = words.words(outcome) if words is not None and words.given else None
    if own is not None and own.code in ("OS", "DFS"):
        own = None  # the layout's outcomes keep their own wording
    if kind == "rate":
        rate = f"{own.label} (free of {own.event})" if own else RATE_WORDS.get(outcome, outcome)
        return (
            f"{rate} at {_years(t)}: {_num(r['rate_rt'])}% with "
            f"{treated}, {_num(r['rate_ctl'])}% with {control}"
        )
    if kind == "hr":
        text = f"hazard ratio {treated} vs {control} {_num(r['hr'])}"
        if not _blank(r["hr_low"]) and not _blank(r["hr_high"]):
            text += f" (95% CI {_num(r['hr_low'])}–{_num(r['hr_high'])})"
        if not _blank(r["hr_p"]):
            text += f", p = {_num(r['hr_p'])}"
        if _blank(r["hr_low"]) and _blank(r["hr_p"]):
            text += " (no CI or p-value given)"
        return text
    when = "by end of follow-up" if _blank(t) else f"by {_years(t)}"
    return (
        f"{own.event + ' events' if own else EVENT_WORDS.get(outcome, 'events')} {when}: "
        f"{_num(r['events_rt'])} with {treated}, {_num(r['events_ctl'])} with {control}"
    )


def outcome_rows(
    outcomes: pd.DataFrame, study_id: str, words: Description | None = None
) -> pd.DataFrame:
    """Every outcome row of a study: what it holds, as reported, with its source (outcome
    codes and words the description's, ``words``)."""
    mine = outcomes[outcomes["study_id"].astype(str) == study_id]
    rows = [
        {
            "Outcome": words.words(str(r["outcome"])).code if words else _str(r["outcome"]),
            "Kind": _str(r["kind"]),
            "What the numbers are": describe_numbers(r, words),
            "Endpoint as reported": _str(r["endpoint_as_reported"]),
            "Adjustment": _str(r["adjustment"]),
            "Note": _str(r["note"]),
            "Source": next(iter(split_urls(r["source_url"])), None),
            "Source as given": _str(r["source_url"]),
        }
        for _, r in mine.iterrows()
    ]
    cols = [
        "Outcome",
        "Kind",
        "What the numbers are",
        "Endpoint as reported",
        "Adjustment",
        "Note",
        "Source",
        "Source as given",
    ]
    return pd.DataFrame(rows, columns=cols)


def use_in_view(
    analysis: Analysis, state: ViewState, studies: pd.DataFrame, study_id: str
) -> pd.DataFrame:
    """Per outcome of the current view: how this study's numbers enter it, or why not."""
    rows = []
    for oa in analysis.outcomes.values():
        frame = forest_frame(oa, state, studies) if not oa.rows.empty else pd.DataFrame()
        mine = frame[frame["study_id"] == study_id] if "study_id" in frame else frame
        if len(mine):
            f = mine.iloc[0]
            name = str(oa.measure)
            ci = fmt.effect_ci(name, float(f["low"]), float(f["high"]))
            ratio = f"{name} {fmt.effect(name, float(f['est']))} (95% CI {ci})"
            if bool(f["included"]):
                status = f"used, weight {fmt.percent(float(f['weight']))}"
                if f["overlap"]:
                    status += (
                        f"; pooled with another study of its overlap group ({f['overlap']}) "
                        + OVERLAP_MARK
                    )
            else:
                status = "excluded by hand (would be used)"
            rows.append(
                {
                    "Analysis": oa.title,
                    "Status": status,
                    "Study estimate": ratio,
                    "How": str(f["detail"]) + (" (interpolated)" if bool(f["derived"]) else ""),
                }
            )
            continue
        reason = (
            {d.study_id: d.reason for d in oa.overlap_dropped}.get(study_id)
            or dict(oa.not_estimable).get(study_id)
            or dict(oa.filtered_out).get(study_id)
        )
        rows.append(
            {
                "Analysis": oa.title,
                "Status": "not used",
                "Study estimate": "",
                "How": reason or "not in this view",
            }
        )
    return pd.DataFrame(rows, columns=["Analysis", "Status", "Study estimate", "How"])


class OverlapGroup(TypedDict):
    """An overlap group's name, its studies (labels) and those of them that are selected
    (labels; ``selected_ids``: their ids)."""

    group: str
    studies: list[str]
    selected: list[str]
    selected_ids: list[str]


def overlap_groups(studies: pd.DataFrame, selected: tuple[str, ...]) -> list[OverlapGroup]:
    """Each overlap group: its studies (labels) and those of them in the current selection."""
    out: list[OverlapGroup] = []
    groups = studies.dropna(subset=["overlap_group"]).groupby("overlap_group", sort=True)
    for name, g in groups:
        members = [label_of(r) for _, r in g.iterrows()]
        rows = [r for _, r in g.iterrows() if str(r["study_id"]) in selected]
        out.append(
            {
                "group": str(name),
                "studies": members,
                "selected": [label_of(r) for r in rows],
                "selected_ids": [str(r["study_id"]) for r in rows],
            }
        )
    return out
