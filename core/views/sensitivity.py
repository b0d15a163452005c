"""The Sensitivity page as data: ``ViewState`` + dataset -> leave-one-out, cumulative,
influence, estimator-panel and quality-sweep frames with the messages the page shows.

Values are log scale with their exp() as ratios. Analyses whose cost grows with k decline
with a plain message above a limit (``REFIT_MAX_K``, ``GOSH_MAX_K``) and plots cap their
rows (``PLOT_MAX_ROWS``), so any k up to the schema's row limit returns in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core import fmt
from core.state.view import Outcome, ViewState
from core.stats.effects import exp_ratio, exp_ratios
from core.stats.mh import mantel_haenszel, peto
from core.stats.pooling import METHODS, PoolResult, check_inputs, pool
from core.stats.sensitivity import baujat, cumulative, gosh, influence, leave_one_out
from core.views.analysis import EstimableFn, OutcomeAnalysis, analyse_outcome
from core.views.messages import too_few, too_many
from core.views.plain import plain, records
from core.vocab import MODELS as METHOD_LABELS

#: Leave-one-out, cumulative and influence refit k models of k studies (k x k arrays), the
#: quality sweep re-runs the view's analysis per score: above this k they decline.
REFIT_MAX_K = 1000
#: Leave-one-out and cumulative plots draw at most this many rows (the tables keep all).
PLOT_MAX_ROWS = 200
#: GOSH fits every subset up to this many (k <= 13), else this many seeded random subsets.
GOSH_MAX_SUBSETS = 8191
GOSH_SEED = 20240501
#: Above this k the GOSH plot declines: random subsets of so many studies all look alike.
GOSH_MAX_K = 100
#: Leave-one-out flags an omission that moves the pooled ratio by more than this share.
CHANGE_THRESHOLD = 0.10


def _with_ratios(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(
        ratio=exp_ratios(frame["estimate"]),
        ratio_low=exp_ratios(frame["ci_low"]),
        ratio_high=exp_ratios(frame["ci_high"]),
    )


def _excludes_null(low: float, high: float) -> bool:
    return bool(low > 0.0 or high < 0.0)


def conclusion_shift(
    full: tuple[float, float, float],
    other: tuple[float, float, float],
    threshold: float = CHANGE_THRESHOLD,
) -> str:
    """Why ``other`` (estimate, ci_low, ci_high; log scale) changes the conclusion of ``full``,
    or "" when it does not: its CI crosses 1 where the full CI does not (or the reverse), or
    the ratio moves by more than ``threshold`` (relative, on the ratio scale)."""
    est, low, high = full
    o_est, o_low, o_high = other
    reasons = []
    if math.isfinite(o_low) and math.isfinite(o_high):
        before, after = _excludes_null(low, high), _excludes_null(o_low, o_high)
        if before and not after:
            reasons.append("the CI now includes 1")
        elif after and not before:
            reasons.append("the CI now excludes 1")
    change = exp_ratio(o_est - est) - 1.0
    if abs(change) > threshold:
        reasons.append(f"the ratio changes by {fmt.change(100 * change)}")
    return "; ".join(reasons)


def leave_one_out_frame(
    yi: object,
    vi: object,
    study_ids: list[str],
    labels: list[str],
    method: str = "REML",
    ci: str = "wald",
) -> pd.DataFrame:
    """One row per omitted study (data order) and a last row ``kind="full"`` with all studies.

    Columns: kind, study_id, label, k, estimate, ci_low, ci_high, pvalue, tau2, i2 (log
    scale), ratio, ratio_low, ratio_high, change_pct (ratio without the study vs the full
    ratio), reason (``conclusion_shift``) and flagged. Needs k >= 3 so that every refit pools
    at least two studies.
    """
    y, v = check_inputs(yi, vi)
    if y.size < 3:
        raise ValueError("leave-one-out needs at least three studies (two left after omission)")
    full = _shown(pool(y, v, method=method, ci=ci).summary_row(), *_REFIT_SHOWN)
    loo = _shown(leave_one_out(y, v, method=method, ci=ci).summary_frame(), *_REFIT_SHOWN)
    ref = (full["estimate"], full["ci_low"], full["ci_high"])
    shifts = zip(loo["estimate"], loo["ci_low"], loo["ci_high"], strict=True)
    frame = pd.DataFrame(
        {
            "kind": ["omit"] * y.size + ["full"],
            "study_id": [str(sid) for sid in study_ids] + [""],
            "label": [f"Omitting {lab}" for lab in labels] + [f"All studies (k = {full['k']})"],
            **{c: np.append(loo[c], full[c]) for c in _REFIT_SHOWN},
            "reason": [conclusion_shift(ref, shifted) for shifted in shifts] + [""],
        }
    )
    frame = _with_ratios(frame)
    frame["change_pct"] = 100.0 * (exp_ratios(frame["estimate"] - full["estimate"]) - 1.0)
    frame["flagged"] = frame["reason"] != ""
    return frame


def cumulative_order(year: object, score: object, by: str) -> np.ndarray:
    """Indices for a cumulative meta-analysis: ``by="year"`` oldest first, ``"quality"``
    highest score first (ties: older first). Missing keys go last; other ties keep the
    data order."""
    yr = pd.to_numeric(pd.Series(year, dtype="object"), errors="coerce").to_numpy(dtype=float)
    sc = pd.to_numeric(pd.Series(score, dtype="object"), errors="coerce").to_numpy(dtype=float)
    big = np.inf
    if by == "year":
        keys: tuple[np.ndarray, ...] = (np.where(np.isnan(yr), big, yr),)
    elif by == "quality":
        keys = (np.where(np.isnan(yr), big, yr), np.where(np.isnan(sc), big, -sc))
    else:
        raise ValueError(f"order must be 'year' or 'quality', not {by!r}")
    return np.lexsort(keys)


def cumulative_frame(
    yi: object,
    vi: object,
    labels: list[str],
    keys: list[str],
    order: np.ndarray,
    method: str = "REML",
    ci: str = "wald",
) -> pd.DataFrame:
    """One row per step of ``cumulative`` (in ``order``): step, label ("+ study"), key (the
    ordering value as text), k, estimate, ci_low, ci_high, pvalue, tau2, i2 and ratios. The
    last row pools every study."""
    cum = cumulative(yi, vi, order=order, method=method, ci=ci).summary_frame()
    frame = pd.DataFrame(
        {
            "step": cum.index + 1,
            "label": [f"+ {labels[i]}" for i in cum["added"]],
            "key": [keys[i] for i in cum["added"]],
            **_shown(cum, *_REFIT_SHOWN),
        }
    )
    return _with_ratios(frame)


#: The columns of a fit that the leave-one-out, cumulative and quality-sweep tables show,
#: and the estimator panel.
_REFIT_SHOWN = ("k", "estimate", "ci_low", "ci_high", "pvalue", "tau2", "i2")
_PANEL_SHOWN = ("estimate", "se", "ci_low", "ci_high", "pvalue", "tau2", "i2", "k")


def _shown(fit: pd.DataFrame | Mapping[str, Any], *cols: str) -> dict[str, Any]:
    """The ``cols`` of a result's ``summary_frame`` (arrays) or ``summary_row`` (values)
    under the tables' names (``pvalue`` is the result's ``pval``); NaN where absent."""
    out: dict[str, Any] = {}
    for c in cols:
        src = "pval" if c == "pvalue" else c
        value = fit.get(src, math.nan)
        out[c] = value.to_numpy() if isinstance(value, pd.Series) else value
    return out


# ---------------------------------------------------------------------------------------
# Estimator panel


def estimator_panel(
    yi: object,
    vi: object,
    tables: tuple[object, object, object, object] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """The pooled result under every model: each tau2 estimator with Wald and Hartung-Knapp
    intervals, the common-effect model, and, when ``tables`` = (ai, n1i, ci, n2i) 2x2 counts
    are given (odds ratios), Mantel-Haenszel and Peto.

    Columns: method, ci ("wald" | "hksj"), model (short label), description, family
    ("random" | "common"), estimate, se, ci_low, ci_high, pvalue, tau2, i2, k, note; log scale, plus
    ratios. Each row equals ``pool``/``mantel_haenszel``/``peto`` for that method; a method
    that cannot be computed for these tables has NaN values and says why in ``note``.
    """
    y, v = check_inputs(yi, vi)
    rows: list[dict[str, Any]] = []

    def add(method: str, ci: str, model: str, family: str, fit: Mapping, note: str | None) -> None:
        head = {"method": method, "ci": ci, "model": model, "family": family}
        rows.append(head | _shown(fit, *_PANEL_SHOWN) | {"note": note or ""})

    for method in METHODS:
        if method == "EE":
            continue
        for ci in ("wald", "hksj"):
            res = pool(y, v, method=method, ci=ci, level=level)
            interval = "Hartung-Knapp" if ci == "hksj" else "Wald"
            add(method, ci, f"{method}, {interval}", "random", res.summary_row(), res.note)
    ee = pool(y, v, method="EE", ci="wald", level=level)
    add("EE", "wald", "Common effect (IV)", "common", ee.summary_row(), None)
    if tables is not None:
        for method, label, fn in (
            ("MH", "Mantel-Haenszel", lambda: mantel_haenszel(*tables, level=level)),
            ("Peto", "Peto", lambda: peto(*tables, level=level)),
        ):
            try:
                fixed = fn()
            except ValueError as err:  # no fit: NaN values, and why
                add(method, "wald", label, "common", {"tau2": 0.0, "k": y.size}, str(err))
                continue
            add(method, "wald", label, "common", fixed.summary_row(), fixed.note)
    frame = pd.DataFrame(rows)
    frame["description"] = [_DESCRIPTIONS.get(m, METHOD_LABELS.get(m, m)) for m in frame["method"]]
    return _with_ratios(frame)


_DESCRIPTIONS = {
    "EE": "common effect, inverse variance",
    "MH": "common effect, Mantel-Haenszel (2x2 counts)",
    "Peto": "common effect, Peto one-step (2x2 counts)",
}


# ---------------------------------------------------------------------------------------
# Quality threshold sweep


@dataclass(frozen=True, eq=False)
class QualitySweep:
    """The pooled result at each minimum quality score present among the view's studies.

    ``frame``: one row per threshold, lowest first: qmin, k, studies (ids joined by ", "),
    estimate, ci_low, ci_high, pvalue, tau2, i2 and ratios; empty when there is nothing to
    sweep, and ``message`` then says why. ``unscored``: studies without a score (left out at
    every threshold, as a minimum score leaves them out of the view).
    """

    frame: pd.DataFrame
    unscored: tuple[str, ...]
    message: str | None


def quality_sweep(
    outcome: Outcome, state: ViewState, studies: pd.DataFrame, effects: EstimableFn
) -> QualitySweep:
    """Re-run the view's analysis (``core.views.analysis.analyse_outcome``) with the minimum
    quality score set to each score present among its included estimable studies; every
    other filter and exclusion is the view's. ``effects`` as for ``analyse_outcome``."""

    base_state = state.replace(qmin=None)
    base = analyse_outcome(outcome, base_state, studies, effects)
    ids = base.rows.loc[base.rows["included"], "study_id"].astype(str).tolist()
    scores = pd.to_numeric(
        studies.set_index("study_id").loc[ids, "quality_score"].astype("object"), errors="coerce"
    )
    unscored = tuple(s for s, q in scores.items() if pd.isna(q))
    present = sorted({float(q) for q in scores.dropna()})
    empty = pd.DataFrame()
    if not ids:
        return QualitySweep(empty, unscored, base.message or "No study to pool.")
    if len(present) < 2:
        what = f"has quality score {fmt.number(present[0])}" if present else "has no quality score"
        many = "Every included study" if len(ids) > 1 else "The only included study"
        return QualitySweep(empty, unscored, f"{many} {what}: there is no threshold to sweep.")
    rows = []
    for q in present:
        oa = analyse_outcome(
            outcome,
            base_state.replace(qmin=q),
            studies,
            effects,
        )
        p = oa.pooled
        if p is None:
            continue
        used = oa.rows.loc[oa.rows["included"], "study_id"].astype(str)
        fit = _shown(p.summary_row(), *_REFIT_SHOWN)
        rows.append({"qmin": q, "k": fit.pop("k"), "studies": ", ".join(used), **fit})
    return QualitySweep(_with_ratios(pd.DataFrame(rows)), unscored, None)


# ---------------------------------------------------------------------------------------
# The page as data


def plot_rows(frame: pd.DataFrame, by: str | None = None) -> tuple[pd.DataFrame, str | None]:
    """At most ``PLOT_MAX_ROWS`` rows of ``frame`` for a plot, and a note when cut: the rows
    with the largest ``|by|`` (data order kept) and the last row, or with ``by`` None evenly
    spaced rows ending with the last."""
    n = len(frame)
    if n <= PLOT_MAX_ROWS:
        return frame, None
    body = frame.iloc[:-1]
    if by is None:
        keep = np.unique(np.linspace(0, n - 2, PLOT_MAX_ROWS - 1).round().astype(int))
        how = "evenly spaced steps"
    else:
        keep = np.sort(np.argsort(-body[by].abs().to_numpy(), kind="stable")[: PLOT_MAX_ROWS - 1])
        how = "the rows that move the result most"
    cut = pd.concat([body.iloc[keep], frame.iloc[[-1]]])
    note = f"The plot shows {len(cut)} of {n} rows ({how} and the last); the table has all."
    return cut.reset_index(drop=True), note


@dataclass(frozen=True, eq=False)
class Panel:
    """One section of the page: its frame (None when not shown), the rows its plot draws,
    and what the page says instead of or next to it."""

    frame: pd.DataFrame | None
    plot: pd.DataFrame | None = None
    message: str | None = None
    note: str | None = None


@dataclass(frozen=True, eq=False)
class SensitivityView:
    """Everything the Sensitivity page shows for one outcome of one view.

    ``pooled`` None: nothing to pool, ``message`` says why and every panel is empty.
    ``unkeyed``: included studies without the cumulative ordering value (added last).
    ``verdict``: how many models' CIs exclude 1. ``gosh``: the GOSH caption's subset text,
    or ``gosh_message`` when the plot is not offered.
    """

    outcome: str
    title: str
    measure: str
    state: ViewState
    pooled: PoolResult | None
    message: str | None
    included: pd.DataFrame
    leave_one_out: Panel
    cumulative: Panel
    unkeyed: tuple[str, ...]
    influence: Panel
    estimators: Panel
    has_tables: bool
    verdict: str
    quality: QualitySweep
    gosh_method: str
    gosh: str | None
    gosh_message: str | None


def _loo_panel(inc: pd.DataFrame, state: ViewState) -> Panel:
    k = len(inc)
    if k < 3:
        return Panel(
            None,
            message=too_few(
                "Leave-one-out (each refit must still pool at least two studies)", 3, k
            ),
        )
    if k > REFIT_MAX_K:
        return Panel(None, message=too_many("Leave-one-out", REFIT_MAX_K, k))
    frame = leave_one_out_frame(
        inc["yi"], inc["vi"], list(inc["study_id"]), list(inc["label"]), state.method, state.ci
    )
    plot, note = plot_rows(frame, "change_pct")
    return Panel(frame, plot, note=note)


def _cumulative_panel(
    inc: pd.DataFrame, studies: pd.DataFrame, state: ViewState
) -> tuple[Panel, tuple[str, ...]]:
    k = len(inc)
    if k < 2:
        return Panel(None, message=too_few("A cumulative meta-analysis", 2, k)), ()
    if k > REFIT_MAX_K:
        return Panel(None, message=too_many("A cumulative meta-analysis", REFIT_MAX_K, k)), ()
    meta = studies.set_index("study_id").loc[inc["study_id"]]
    order = cumulative_order(meta["year"], meta["quality_score"], state.order)
    col = "year" if state.order == "year" else "quality_score"
    keys = ["not reported" if pd.isna(x) else f"{x}" for x in meta[col]]
    frame = cumulative_frame(
        inc["yi"], inc["vi"], list(inc["label"]), keys, order, state.method, state.ci
    )
    unkeyed = tuple(str(s) for s, x in zip(inc["label"], meta[col], strict=True) if pd.isna(x))
    plot, note = plot_rows(frame)
    return Panel(frame, plot, note=note), unkeyed


def _influence_panel(inc: pd.DataFrame, state: ViewState) -> Panel:
    """Influence diagnostics (metafor's ``influence``) and Baujat coordinates, data order."""
    k = len(inc)
    if k < 3:
        return Panel(
            None,
            message=too_few("Influence diagnostics (each refit must still pool two studies)", 3, k),
        )
    if k > REFIT_MAX_K:
        return Panel(None, message=too_many("Influence diagnostics", REFIT_MAX_K, k))
    y, v = inc["yi"].to_numpy(float), inc["vi"].to_numpy(float)
    inf = influence(y, v, method=state.method, ci=state.ci).summary_frame()
    bj = baujat(y, v, method=state.method, ci=state.ci).summary_frame()
    shown = ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del", "hat", "weight")
    frame = pd.DataFrame(
        {
            "study_id": inc["study_id"].to_numpy(),
            "label": inc["label"].to_numpy(),
            **_shown(bj, "x", "y"),
            **_shown(inf, *shown, "influential"),
        }
    )
    return Panel(frame, frame)


def model_verdict(frame: pd.DataFrame) -> str:
    """Whether the 95% CI excludes 1 under every model, none or some (estimable rows)."""
    ok = frame.dropna(subset=["ci_low", "ci_high"])
    excl = (ok["ci_low"] > 0) | (ok["ci_high"] < 0)
    if excl.all():
        return "every model's 95% CI excludes 1"
    if not excl.any():
        return "no model's 95% CI excludes 1"
    return f"the 95% CI excludes 1 under {int(excl.sum())} of {len(ok)} models only"


def _estimator_panel(inc: pd.DataFrame, measure: str) -> tuple[Panel, bool, str]:
    k = len(inc)
    if k < 2:
        return Panel(None, message=too_few("Comparing models", 2, k)), False, ""
    counts = inc[["events_rt", "n_rt", "events_ctl", "n_ctl"]]
    has_tables = measure == "OR" and bool(counts.notna().all(axis=None))
    tables = None
    if has_tables:
        ai, n1, ci, n2 = (counts[c].to_numpy(float) for c in counts.columns)
        tables = (ai, n1, ci, n2)
    frame = estimator_panel(inc["yi"], inc["vi"], tables)
    return Panel(frame, frame), has_tables, model_verdict(frame)


def gosh_plan(k: int, method: str) -> tuple[str | None, str | None]:
    """(which subsets the GOSH plot fits, as text) or (None, why it is not offered)."""
    if k < 3:
        return None, too_few("A GOSH plot", 3, k)
    if k > GOSH_MAX_K:
        return None, too_many("A GOSH plot", GOSH_MAX_K, k)
    n_all = 2**k - 1
    if n_all <= GOSH_MAX_SUBSETS:
        return f"all {n_all} subsets", None
    return f"{GOSH_MAX_SUBSETS} random subsets (seed {GOSH_SEED}) of the {n_all}", None


def gosh_frame(inc: pd.DataFrame, method: str) -> pd.DataFrame:
    """metafor's ``gosh`` of the included studies: ratio, estimate, i2, k and the studies of
    each subset (``GOSH_MAX_SUBSETS`` seeded random subsets when there are more)."""
    y, v = inc["yi"].to_numpy(float), inc["vi"].to_numpy(float)
    res = gosh(y, v, method=method, max_subsets=GOSH_MAX_SUBSETS, seed=GOSH_SEED)
    fits = res.summary_frame()
    ids = inc["study_id"].to_numpy()
    return pd.DataFrame(
        {
            "ratio": exp_ratios(fits["estimate"]),
            "estimate": fits["estimate"],
            "i2": fits["i2"],
            "k": fits["k"],
            "studies": [", ".join(ids[row]) for row in res.membership],
        }
    ).reset_index(drop=True)


def sensitivity_view(
    state: ViewState, oa: OutcomeAnalysis, studies: pd.DataFrame, effects: EstimableFn
) -> SensitivityView:
    """The Sensitivity page of ``oa`` (``state.outcome`` of ``analyse(state, ...)``)."""
    inc = oa.rows[oa.rows["included"]].reset_index(drop=True)
    gosh_method = "EE" if state.method == "EE" else "DL"
    empty = Panel(None)
    if oa.pooled is None:
        none = QualitySweep(pd.DataFrame(), (), None)
        msg = oa.message or "Nothing to pool."
        return SensitivityView(
            oa.outcome,
            oa.title,
            oa.measure,
            state,
            None,
            msg,
            inc,
            empty,
            empty,
            (),
            empty,
            empty,
            False,
            "",
            none,
            gosh_method,
            None,
            None,
        )
    cum, unkeyed = _cumulative_panel(inc, studies, state)
    est, has_tables, verdict = _estimator_panel(inc, oa.measure)
    what, why = gosh_plan(len(inc), gosh_method)
    return SensitivityView(
        outcome=oa.outcome,
        title=oa.title,
        measure=oa.measure,
        state=state,
        pooled=oa.pooled,
        message=None,
        included=inc,
        leave_one_out=_loo_panel(inc, state),
        cumulative=cum,
        unkeyed=unkeyed,
        influence=_influence_panel(inc, state),
        estimators=est,
        has_tables=has_tables,
        verdict=verdict,
        quality=quality_sweep(oa.outcome, state, studies, effects)
        if len(inc) <= REFIT_MAX_K
        else QualitySweep(pd.DataFrame(), (), too_many("The quality sweep", REFIT_MAX_K, len(inc))),
        gosh_method=gosh_method,
        gosh=what,
        gosh_message=why,
    )


def _panel_json(panel: Panel) -> dict[str, object]:
    return {"rows": records(panel.frame), "message": panel.message, "note": panel.note}


def to_json(sv: SensitivityView) -> dict[str, object]:
    """What the Sensitivity page shows, as JSON-ready values (log scale and ratios)."""
    p = sv.pooled
    return {
        "outcome": sv.outcome,
        "title": sv.title,
        "measure": sv.measure,
        "method": sv.state.method,
        "ci": sv.state.ci,
        "k": len(sv.included),
        "message": sv.message,
        "pooled": None if p is None else plain(p),
        "leave_one_out": _panel_json(sv.leave_one_out),
        "cumulative": {
            **_panel_json(sv.cumulative),
            "order": sv.state.order,
            "unkeyed": list(sv.unkeyed),
        },
        "influence": _panel_json(sv.influence),
        "estimators": {**_panel_json(sv.estimators), "verdict": sv.verdict},
        "quality_sweep": {
            "rows": records(sv.quality.frame) if sv.quality.message is None else None,
            "unscored": list(sv.quality.unscored),
            "message": sv.quality.message,
        },
        "gosh": {"method": sv.gosh_method, "subsets": sv.gosh, "message": sv.gosh_message},
    }
