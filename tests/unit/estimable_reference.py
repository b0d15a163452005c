"""The row-wise estimability of core/data/estimable.py before it worked on whole columns
(kept as the slow reference that tests/unit/test_estimable_reference.py compares against).

It filters the tables once per study: O(k x rows), fine for the small sets the test uses."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, replace
from typing import Literal, Protocol

import numpy as np
import pandas as pd
from scipy import stats

from core.stats.effects import (
    LOG_MAX,
    LogRatio,
    escalc,
    events_from_rate,
    log_hr_from_ci,
    log_hr_from_p,
)

Outcome = Literal["OS", "DFS"]
MeasureName = Literal["OR", "HR"]
TimeRule = Literal["exact", "interp"]

ROW_COLUMNS = (
    "study_id",
    "label",
    "yi",
    "vi",
    "events_rt",
    "n_rt",
    "events_ctl",
    "n_ctl",
    "endpoint_as_reported",
    "adjustment",
    "derivation",
    "derived",
    "interpolated",
    "source_url",
)


class HasTables(Protocol):
    studies: pd.DataFrame
    outcomes: pd.DataFrame


@dataclass(frozen=True, eq=False)
class EstimableSet:
    """Per-study input for pooling (``rows``, columns ROW_COLUMNS) and the studies left out.

    ``excluded`` holds (study_id, reason in plain words).
    """

    outcome: str
    measure: str
    years: float | None
    rule: str
    rows: pd.DataFrame
    excluded: tuple[tuple[str, str], ...]

    @property
    def k(self) -> int:
        return len(self.rows)

    @property
    def yi(self) -> np.ndarray:
        return self.rows["yi"].to_numpy(dtype=float)

    @property
    def vi(self) -> np.ndarray:
        return self.rows["vi"].to_numpy(dtype=float)


Z975 = float(stats.norm.isf(0.025))
# 1/v^2 summed over MAX_ROWS (5e4) studies stays below 1.8e308 for v >= 1e-150.
MIN_VARIANCE = 1e-150


def unusable(yi: float, vi: float) -> str | None:
    """Why a log ratio ``yi`` with variance ``vi`` cannot be pooled or shown, or None.

    Usable: yi, vi finite; vi >= MIN_VARIANCE (weights 1/v and sums of 1/v^2 stay finite);
    |yi| + z_0.975 sqrt(vi) <= ln(1.8e308), so exp() of the 95% CI does not overflow."""
    if not math.isfinite(yi):
        return f"its log ratio ({yi:g}) is not a finite number"
    if not math.isfinite(vi):
        return f"its variance ({vi:g}) is not a finite number"
    if vi == 0:
        return "its variance is 0, which would give it all the weight"
    if vi < sys.float_info.min:
        return f"its variance {vi:.3g} is subnormal (below {sys.float_info.min:.3g})"
    if vi < MIN_VARIANCE:
        return f"its variance {vi:.3g} is below {MIN_VARIANCE:g}: its weight 1/v would overflow"
    se = math.sqrt(vi)
    if abs(yi) + Z975 * se > LOG_MAX:
        return (
            f"its 95% CI, exp({yi:.4g} ± 1.96 × {se:.4g}), goes beyond the largest number "
            f"a computer can hold ({sys.float_info.max:.2g})"
        )
    return None


def _years(t: float) -> str:
    return f"{t:g}"


def _val(x: object) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


def _interp_formula(t: float, t1: float, t2: float) -> str:
    """'S(2) = S(1)^0.5 x S(3)^0.5': the interpolation of :func:`_interp` in words."""
    w = (t - t1) / (t2 - t1)
    return f"S({_years(t)}) = S({_years(t1)})^{1 - w:.4g} x S({_years(t2)})^{w:.4g}"


def _interp(t: float, t1: float, s1: float, t2: float, s2: float) -> float:
    """Survival at t, ln S linear in time between (t1, s1) and (t2, s2); s1, s2 > 0 (percent)."""
    w = (t - t1) / (t2 - t1)
    return math.exp((1 - w) * math.log(s1) + w * math.log(s2))


def _rate_at(
    rates: pd.DataFrame, t: float, rule: TimeRule, what: str
) -> tuple[float, float, str] | str:
    """(rate_rt, rate_ctl, how it was obtained) at t, or the reason there is none."""
    times = rates["time_years"].astype(float).to_numpy()
    hit = rates[times == t]
    if len(hit):
        r = hit.iloc[0]
        return float(r["rate_rt"]), float(r["rate_ctl"]), f"{_years(t)}-year {what} rate"
    listed = ", ".join(_years(x) for x in sorted(set(times)))
    missing = f"no {_years(t)}-year {what} reported (reported at {listed} years)"
    if rule == "exact":
        return missing
    lower, upper = times[times < t], times[times > t]
    if not len(lower) or not len(upper):
        return missing + "; interpolation needs reported years on both sides, never extrapolated"
    t1, t2 = lower.max(), upper.min()
    r1 = rates[times == t1].iloc[0]
    r2 = rates[times == t2].iloc[0]
    ends = (r1["rate_rt"], r1["rate_ctl"], r2["rate_rt"], r2["rate_ctl"])
    if min(float(x) for x in ends) <= 0:
        return (
            missing + f"; cannot interpolate between {_years(t1)} and {_years(t2)} years "
            "across a 0% rate"
        )
    rt = _interp(t, t1, float(r1["rate_rt"]), t2, float(r2["rate_rt"]))
    ctl = _interp(t, t1, float(r1["rate_ctl"]), t2, float(r2["rate_ctl"]))
    a_rt, b_rt = float(r1["rate_rt"]), float(r2["rate_rt"])
    a_ctl, b_ctl = float(r1["rate_ctl"]), float(r2["rate_ctl"])
    how = (
        f"{_years(t)}-year {what} rate interpolated between {_years(t1)} and {_years(t2)} "
        f"years (log-linear in survival: {_interp_formula(t, t1, t2)}, from RT "
        f"{a_rt:g}% and {b_rt:g}%, control {a_ctl:g}% and {b_ctl:g}%)"
    )
    return rt, ctl, how


def _study_meta(studies: pd.DataFrame) -> dict[str, dict[str, object]]:
    cols = [c for c in ("label", "n_rt", "n_ctl", "lead_only") if c in studies]
    return studies.set_index("study_id")[cols].to_dict("index")


def _no_rows_reason(meta: dict[str, object], outcome: str, measure: str) -> str:
    if meta.get("lead_only") == "yes":
        return "lead only: no numbers"
    return f"no {outcome} {'HR' if measure == 'HR' else 'rates or events'} reported"


def _or_rows(
    ds: HasTables, outcome: Outcome, years: float | None, rule: TimeRule
) -> tuple[list[dict], list[tuple[str, str]]]:
    meta = _study_meta(ds.studies)
    out = ds.outcomes[ds.outcomes["outcome"] == outcome]
    groups = dict(tuple(out.groupby("study_id", sort=False)))
    rows: list[dict] = []
    excluded: list[tuple[str, str]] = []
    for sid, m in meta.items():
        g = groups.get(sid)
        if g is None:
            excluded.append((sid, _no_rows_reason(m, outcome, "OR")))
            continue
        ev_all = g[g["kind"] == "events"]
        ev_t = ev_all["time_years"].astype(float)
        ev = ev_all[ev_t.isna()] if years is None else ev_all[ev_t == years]
        untimed = years is not None and not len(ev) and not (g["kind"] == "rate").any()
        if untimed:
            # plain 2x2 data without a time point (common in users' sheets): used for any t,
            # and said so
            ev = ev_all[ev_t.isna()]
        n_rt, n_ctl = _val(m.get("n_rt")), _val(m.get("n_ctl"))
        first = g.iloc[0]
        base = {
            "study_id": sid,
            "label": m.get("label") if not pd.isna(m.get("label")) else sid,
            "n_rt": n_rt,
            "n_ctl": n_ctl,
            "endpoint_as_reported": first["endpoint_as_reported"],
            "adjustment": first["adjustment"],
            "source_url": first["source_url"],
        }
        if len(ev):
            r = ev.iloc[0]
            if n_rt is None or n_ctl is None:
                excluded.append((sid, "arm sizes not reported"))
                continue
            rows.append(
                base
                | {
                    "events_rt": float(r["events_rt"]),
                    "events_ctl": float(r["events_ctl"]),
                    "endpoint_as_reported": r["endpoint_as_reported"],
                    "adjustment": r["adjustment"],
                    "source_url": r["source_url"],
                    "derivation": f"{outcome} events as reported"
                    + (
                        " (no time point stated)"
                        if untimed or years is None
                        else f" at {_years(years)} years"
                    ),
                    "derived": False,
                    "interpolated": False,
                }
            )
            continue
        rates = g[g["kind"] == "rate"]
        if years is None or not len(rates):
            what = f"{outcome} events" if years is None else f"{_years(years)}-year {outcome}"
            only = " (only an HR)" if set(g["kind"]) == {"hr"} else ""
            excluded.append((sid, f"no {what} reported{only}"))
            continue
        got = _rate_at(rates, years, rule, outcome)
        if isinstance(got, str):
            excluded.append((sid, got))
            continue
        rt, ctl, how = got
        if n_rt is None or n_ctl is None:
            excluded.append((sid, f"arm sizes not reported ({how} {rt:.4g}% vs {ctl:.4g}% only)"))
            continue
        e_rt, e_ctl = events_from_rate(int(n_rt), rt), events_from_rate(int(n_ctl), ctl)
        rows.append(
            base
            | {
                "events_rt": float(e_rt),
                "events_ctl": float(e_ctl),
                "endpoint_as_reported": rates.iloc[0]["endpoint_as_reported"],
                "adjustment": rates.iloc[0]["adjustment"],
                "source_url": rates.iloc[0]["source_url"],
                "derivation": (
                    f"events from {how}: RT {rt:.4g}% x n {n_rt:g} = {e_rt}; "
                    f"control {ctl:.4g}% x n {n_ctl:g} = {e_ctl}"
                ),
                "derived": True,
                "interpolated": "interpolated" in how,
            }
        )
    return rows, excluded


def _log_hr(hr: float, lo: float | None, hi: float | None, p: float | None) -> LogRatio | str:
    """ln HR and its SE from the 95% CI, else from the p-value; or why neither gives one.

    A CI gives no SE when it starts at 0 (ln 0 is undefined; a bound rounded down) or has
    zero width (both ends rounded to the HR); the p-value stands in then when it can."""
    ci_problem = None
    if lo is not None and hi is not None:
        if lo <= 0:
            ci_problem = f"its CI starts at {lo:g}, which gives no SE on the log scale"
        elif hi <= lo:
            ci_problem = f"its CI has zero width ({lo:g} to {hi:g}), which gives no SE"
        else:
            return log_hr_from_ci(hr, lo, hi)
    if p is not None and p < 1 and hr != 1:
        lr = log_hr_from_p(hr, p)
        if ci_problem is None:
            return lr
        return replace(lr, derivation=f"{lr.derivation} ({ci_problem})")
    if ci_problem is not None:
        return f"HR {hr:g}: {ci_problem}, and no p-value to use instead"
    if p is not None:
        return f"HR {hr:g} with p = {p:g} and no CI: no SE can be derived"
    return "HR without CI or p-value"


def _hr_rows(ds: HasTables, outcome: Outcome) -> tuple[list[dict], list[tuple[str, str]]]:
    meta = _study_meta(ds.studies)
    out = ds.outcomes[(ds.outcomes["outcome"] == outcome) & (ds.outcomes["kind"] == "hr")]
    first = out.drop_duplicates("study_id").set_index("study_id")
    rows: list[dict] = []
    excluded: list[tuple[str, str]] = []
    for sid, m in meta.items():
        if sid not in first.index:
            has_any = (ds.outcomes["study_id"] == sid).any()
            reason = (
                f"no {outcome} HR reported"
                if has_any or m.get("lead_only") != "yes"
                else "lead only: no numbers"
            )
            excluded.append((sid, reason))
            continue
        r = first.loc[sid]
        hr, lo, hi, p = (_val(r[c]) for c in ("hr", "hr_low", "hr_high", "hr_p"))
        lr = _log_hr(hr, lo, hi, p)
        if isinstance(lr, str):
            excluded.append((sid, lr))
            continue
        why = unusable(lr.yi, lr.vi)
        if why is not None:
            excluded.append((sid, f"HR {hr:g}: {why} ({lr.derivation})"))
            continue
        rows.append(
            {
                "study_id": sid,
                "label": m.get("label") if not pd.isna(m.get("label")) else sid,
                "yi": lr.yi,
                "vi": lr.vi,
                "events_rt": None,
                "n_rt": _val(m.get("n_rt")),
                "events_ctl": None,
                "n_ctl": _val(m.get("n_ctl")),
                "endpoint_as_reported": r["endpoint_as_reported"],
                "adjustment": r["adjustment"],
                "derivation": f"HR {hr:g}: {lr.derivation}",
                "derived": False,
                "interpolated": False,
                "source_url": r["source_url"],
            }
        )
    return rows, excluded


def estimable(
    dataset: HasTables,
    outcome: Outcome,
    measure: MeasureName,
    years: float | None = None,
    rule: TimeRule = "exact",
) -> EstimableSet:
    """The per-study input for pooling ``outcome`` as ``measure`` and the excluded studies.

    ``measure="OR"`` needs ``years`` (the time point t); ``years=None`` uses event counts
    given without a time (kind ``events``). ``rule`` is ``"exact"`` (only rates reported at t)
    or ``"interp"`` (log-linear interpolation between the bracketing years).
    """
    if outcome not in ("OS", "DFS"):
        raise ValueError(f"outcome must be OS or DFS, not {outcome!r}")
    if rule not in ("exact", "interp"):
        raise ValueError(f"rule must be 'exact' or 'interp', not {rule!r}")
    if measure == "HR":
        rows, excluded = _hr_rows(dataset, outcome)
    elif measure == "OR":
        rows, excluded = _or_rows(dataset, outcome, years, rule)
        if rows:
            es = escalc(
                "OR",
                [r["events_rt"] for r in rows],
                [r["n_rt"] for r in rows],
                [r["events_ctl"] for r in rows],
                [r["n_ctl"] for r in rows],
            )
            kept = []
            for r, y, v, c in zip(rows, es.yi, es.vi, es.corrected, strict=True):
                r["yi"], r["vi"] = float(y), float(v)
                if c:
                    r["derivation"] += "; 0.5 added to each cell (zero cell)"
                why = unusable(r["yi"], r["vi"])
                if why is None:
                    kept.append(r)
                    continue
                cells = f"{r['events_rt']:g}/{r['n_rt']:g} vs {r['events_ctl']:g}/{r['n_ctl']:g}"
                excluded.append((r["study_id"], f"OR from {cells} events: {why}"))
            rows = kept
    else:
        raise ValueError(f"measure must be OR or HR, not {measure!r}")
    frame = pd.DataFrame(rows, columns=list(ROW_COLUMNS)).astype(
        {
            "study_id": "string",
            "label": "string",
            "yi": "float64",
            "vi": "float64",
            "events_rt": "Float64",
            "n_rt": "Float64",
            "events_ctl": "Float64",
            "n_ctl": "Float64",
            "endpoint_as_reported": "string",
            "adjustment": "string",
            "derivation": "string",
            "derived": "bool",
            "interpolated": "bool",
            "source_url": "string",
        }
    )
    return EstimableSet(outcome, measure, years, rule, frame, tuple(excluded))
