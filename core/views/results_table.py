"""One outcome's results as a tidy table for CSV export: a row per study, then the pooled row.

The ``analysis`` column names what was pooled (the outcome's title: measure, time point and the
studies' endpoint definitions); ``endpoint`` gives each study's own (endpoint as reported and,
for an HR, its adjustment).

Study rows carry yi and vi on the analysis scale (log ratio), the ratio with its 95% Wald CI
(as in the forest plot), the weight in percent (empty for a study excluded by hand), how the
numbers were obtained and the source. The pooled row holds the model's estimate (vi = se²),
its CI, p with its test statistic (``test`` z, or t on k - 1 df with Hartung-Knapp;
``statistic``), tau², I², Cochran's Q with ``q_df`` and ``q_pvalue``, and the prediction
interval by the chosen method (``pi_method``: t, z or hksj; empty when hidden or not
available, the note then says why); its weight is 100.
Studies that cannot be used for this outcome and measure follow, with the reason and no
numbers. A study pooled with another of its overlap group has "‡" after its label and the
group in ``overlap``; studies left out by "one study per overlap group" are listed as not
used, with the study kept. With subgroups, a "subtotal" row per subgroup holds its diamond
(estimate, CI, p, tau², I², its own Q; the note says whether tau² is the subgroup's own or one
common to all subgroups) and a "subgroup differences" row the test for subgroup differences
(Q between, its df and p). The forest plot's footer lines are the notes of
the pooled and subgroup-differences rows. Study rows follow the forest plot's order (``sort``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core import vocab
from core.fmt import count, effect_with_ci, percent
from core.stats.effects import Z975, to_shown
from core.stats.pooling import PoolResult
from core.views.analysis import (
    OutcomeAnalysis,
    forest_footer,
    model_label,
    out_of_range,
    sort_rows,
    subtotal_text,
)

COLUMNS = (
    "row",
    "study_id",
    "label",
    "analysis",
    "endpoint",
    "included",
    "yi",
    "vi",
    "ratio",
    "ci_low",
    "ci_high",
    "weight",
    "pvalue",
    "test",
    "statistic",
    "tau2",
    "i2",
    "q",
    "q_df",
    "q_pvalue",
    "pi_low",
    "pi_high",
    "pi_method",
    "derivation",
    "derived",
    "interpolated",
    "overlap",
    "note",
    "source",
)


def results_frame(
    oa: OutcomeAnalysis, studies: pd.DataFrame | None = None, sort: str = "data"
) -> pd.DataFrame:
    """Study rows (in the forest plot's order ``sort``; year and quality need ``studies``),
    the pooled row (when anything is pooled), the test for subgroup differences (when
    grouped), the subtotals and the studies not usable."""
    rows: list[dict] = []
    words = {s: d.words for d in (*oa.available, *oa.definitions) for s in d.studies}
    for r in sort_rows(oa.rows, studies, sort).itertuples(index=False):
        se = math.sqrt(float(r.vi))
        included = bool(r.included)
        rows.append(
            {
                "row": "study",
                "study_id": str(r.study_id),
                "label": str(r.label),
                "endpoint": words.get(str(r.study_id), ""),
                "included": included,
                "yi": float(r.yi),
                "vi": float(r.vi),
                "ratio": to_shown(oa.measure, r.yi),
                "ci_low": to_shown(oa.measure, r.yi - Z975 * se),
                "ci_high": to_shown(oa.measure, r.yi + Z975 * se),
                "weight": float(r.weight) if included else np.nan,
                "derivation": str(r.derivation),
                "derived": bool(r.derived),
                "interpolated": bool(r.interpolated),
                "overlap": str(getattr(r, "overlap", "")),
                "note": "" if included else "excluded by hand",
                "source": str(r.source_url),
            }
        )
    p = oa.pooled
    if p is not None:
        pi = oa.shown_prediction
        footer = forest_footer(oa)
        rows.append(
            {
                "row": "pooled",
                "label": f"{model_label(p.method, p.ci)}, k = {p.k}",
                "included": True,
                **_fit_fields(p, oa.measure),
                "weight": float(sum(p.weights)),
                "pi_low": to_shown(oa.measure, pi.low) if pi else np.nan,
                "pi_high": to_shown(oa.measure, pi.high) if pi else np.nan,
                "pi_method": pi.method if pi and pi.available else "",
                "derivation": f"pooled from {p.k} {'study' if p.k == 1 else 'studies'}; "
                f"{count(oa.patients)} patients",
                "note": "; ".join(
                    n
                    for n in (
                        p.note,
                        out_of_range(p, oa.measure, pi),
                        pi and pi.reason,
                        *footer[:2],
                    )
                    if n
                ),
            }
        )
        rows += _subtotal_rows(oa)
        t = oa.subgroup_test
        if t is not None and t.q is not None and t.p is not None:
            rows.append(
                {
                    "row": "subgroup differences",
                    "label": vocab.FOOTER_SUBGROUPS,
                    "q": t.q,
                    "q_df": t.df,
                    "q_pvalue": t.p,
                    "note": footer[2],
                }
            )
    for sid, why in ((d.study_id, d.reason) for d in oa.overlap_dropped):
        rows.append({"row": "not used", "study_id": sid, "included": False, "note": why})
    for sid, why in oa.not_estimable:
        rows.append({"row": "not used", "study_id": sid, "included": False, "note": why})
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["analysis"] = oa.title
    for col in ("study_id", "label", "endpoint", "derivation", "overlap", "note", "source"):
        frame[col] = frame[col].astype(object).fillna("")
    for col in ("included", "derived", "interpolated"):
        frame[col] = frame[col].astype("boolean")
    return frame


def _fit_fields(res: PoolResult, measure: str) -> dict[str, object]:
    """A pooled or subtotal row's columns from ``res.summary_row()``: yi, vi, the shown
    ratio and CI, pvalue, test, statistic, tau2, i2, and Q with its df and p (NaN for one
    study)."""
    fit = res.summary_row()
    many = res.k > 1
    return {
        "yi": fit["estimate"],
        "vi": fit["se"] ** 2,
        "ratio": to_shown(measure, fit["estimate"]),
        "ci_low": to_shown(measure, fit["ci_low"]),
        "ci_high": to_shown(measure, fit["ci_high"]),
        "pvalue": fit["pval"],
        "test": res.dist,
        "statistic": fit["tval" if res.dist == "t" else "zval"],
        "tau2": fit["tau2"],
        "i2": fit["i2"],
        "q": fit["q"] if many else np.nan,
        "q_df": fit["df"] if many else np.nan,
        "q_pvalue": fit["q_pval"] if many else np.nan,
    }


def _subtotal_rows(oa: OutcomeAnalysis) -> list[dict]:
    """One "subtotal" row per subgroup (the forest plot's diamonds), in the plot's order."""
    sg = oa.subgroups
    if sg is None or oa.group_by is None:
        return []
    how = subtotal_text(oa) or ""
    rows = []
    for g in sorted(sg.groups, key=lambda x: (str(x).casefold(), str(x).swapcase())):
        f = sg.groups[g]
        rows.append(
            {
                "row": "subtotal",
                "label": f"{vocab.GROUP_HEADINGS.get(g, g)}, k = {f.k}",
                "included": True,
                **_fit_fields(f, oa.measure),
                "i2": f.i2 if f.k > 1 else np.nan,
                "note": how,
            }
        )
    return rows


PLOT_TABLE_COLUMNS = (
    "Study",
    "Ratio [95% CI]",
    "Weight",
    "Status",
    "How the numbers were obtained",
)


def plot_table(
    oa: OutcomeAnalysis, studies: pd.DataFrame | None = None, sort: str = "data"
) -> pd.DataFrame:
    """A forest plot's text alternative: its study rows (in its order ``sort``) and the pooled
    row, as it draws them (the ratio with its 95% Wald CI, the weight in percent or "excl.",
    included or not, † where a rate was interpolated)."""
    frame = results_frame(oa, studies, sort)
    frame = frame[frame["row"].isin(("study", "pooled"))]
    rows = []
    for r in frame.itertuples(index=False):
        pooled = r.row == "pooled"
        included = bool(r.included)
        if pooled:
            status = "pooled estimate"
        elif included:
            status = "pooled" + ("; rate interpolated (†)" if bool(r.interpolated) else "")
        else:
            status = "excluded by you (not pooled)"
        rows.append(
            {
                "Study": r.label,
                "Ratio [95% CI]": effect_with_ci(
                    oa.measure, float(r.ratio), float(r.ci_low), float(r.ci_high)
                ),
                "Weight": percent(float(r.weight)) if included else "excl.",
                "Status": status,
                "How the numbers were obtained": r.derivation,
            }
        )
    table = pd.DataFrame(rows, columns=list(PLOT_TABLE_COLUMNS))
    return table.rename(columns={"Ratio [95% CI]": "RD [95% CI]"}) if oa.measure == "RD" else table
