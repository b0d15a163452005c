"""Which studies can enter a pooled analysis of one outcome and measure, and why the others not.

For an odds ratio, risk ratio or risk difference at t years, events are deaths (OS) or
recurrences/deaths (DFS) by t, so OR, RR < 1 and RD < 0 favour RT; the 2x2 tables are the same
for the three, and the zero-cell options (:class:`ZeroCells`, metafor's add, to, drop00)
apply. They come from an ``events`` row at t, or from the survival rates at t and the arm
sizes (``events_from_rate``: an approximation, marked as derived). With the ``interp`` rule
a rate at t missing from the source is interpolated log-linearly in survival (ln S linear in
time) between the two nearest reported years on either side of t; never extrapolated, and
not across a 0% rate (ln 0 is undefined). For a hazard ratio, the SE comes from the 95% CI,
else from the p-value. A row derived in the app (read off a figure or worked out from summary
statistics, :mod:`core.data.provenance`) has its note before its derivation.

A study is usable only when its numbers stay inside the float range (``unusable``): yi and vi
finite, vi at least ``MIN_VARIANCE`` (a variance of 0, subnormal or near it gives a weight 1/v
whose square overflows), and its 95% CI exp(yi +/- z sqrt(vi)) below the largest double.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, replace
from typing import Literal, NamedTuple, Protocol

import numpy as np
import pandas as pd
from scipy import stats

from core import fmt
from core.data.description import arm_name
from core.data.provenance import provenance
from core.stats.effects import (
    LOG_MAX,
    Z975,
    LogRatio,
    ZeroCellRule,
    double_zero,
    escalc,
    events_from_rate,
    log_hr_from_ci,
    log_hr_from_p,
)

Outcome = Literal["OS", "DFS"]
MeasureName = Literal["OR", "RR", "RD", "HR"]
TimeRule = Literal["exact", "interp"]
TABLE_MEASURES = ("OR", "RR", "RD")


class ZeroCells(NamedTuple):
    """metafor's zero-cell options for the per-study estimates of 2x2 tables: ``add`` added to
    each cell of the tables ``to`` names ("only0", "all", "if0all", "none"); ``drop00``: leave
    out tables with no events, or only events, in both arms. Defaults: escalc's. ``peto``: the
    odds ratios' per-study estimates are Peto's log OR, (O - E) / V (as rma.peto's yi), not
    escalc's ln(ad / bc)."""

    add: float = 0.5
    to: ZeroCellRule = "only0"
    drop00: bool = False
    peto: bool = False


#: escalc's defaults: 1/2 added to the tables with a zero cell, none dropped.
ESCALC_DEFAULTS = ZeroCells()

_CORRECTED = {
    "only0": "zero cell",
    "all": "every table corrected",
    "if0all": "every table corrected, as one has a zero cell",
}

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
    """A dataset: its studies and outcomes tables (read-only, as Dataset's)."""

    @property
    def studies(self) -> pd.DataFrame: ...

    @property
    def outcomes(self) -> pd.DataFrame: ...


@dataclass(frozen=True, eq=False)
class EstimableSet:
    """Per-study input for pooling (``rows``, columns ROW_COLUMNS) and the studies left out.

    ``excluded`` holds (study_id, reason in plain words). ``tables_only``: the 2x2 tables
    among the excluded that have no per-study estimate under the zero-cell options (drop00, or
    a zero cell with ``to="none"``): Mantel-Haenszel and Peto still pool them, as metafor's
    rma.mh and rma.peto do (columns study_id, events_rt, n_rt, events_ctl, n_ctl).
    """

    outcome: str
    measure: str
    years: float | None
    rule: str
    rows: pd.DataFrame
    excluded: tuple[tuple[str, str], ...]
    tables_only: tuple[tuple[str, float, float, float, float], ...] = ()

    @property
    def k(self) -> int:
        return len(self.rows)

    @property
    def yi(self) -> np.ndarray:
        return self.rows["yi"].to_numpy(dtype=float)

    @property
    def vi(self) -> np.ndarray:
        return self.rows["vi"].to_numpy(dtype=float)


# 1/v^2 summed over MAX_ROWS (5e4) studies stays below 1.8e308 for v >= 1e-150.
MIN_VARIANCE = 1e-150


def unusable(yi: float, vi: float) -> str | None:
    """Why a log ratio ``yi`` with variance ``vi`` cannot be pooled or shown, or None.

    Usable: yi, vi finite; vi >= MIN_VARIANCE (weights 1/v and sums of 1/v^2 stay finite);
    |yi| + z_0.975 sqrt(vi) <= ln(1.8e308), so exp() of the 95% CI does not overflow."""
    if not math.isfinite(yi):
        return f"its log ratio ({fmt.number(yi)}) is not a finite number"
    if not math.isfinite(vi):
        return f"its variance ({fmt.number(vi)}) is not a finite number"
    if vi == 0:
        return "its variance is 0, which would give it all the weight"
    if vi < sys.float_info.min:
        smallest = fmt.significant(sys.float_info.min, 3)
        return f"its variance {fmt.significant(vi, 3)} is subnormal (below {smallest})"
    if vi < MIN_VARIANCE:
        return (
            f"its variance {fmt.significant(vi, 3)} is below {fmt.number(MIN_VARIANCE)}: "
            "its weight 1/v would overflow"
        )
    se = math.sqrt(vi)
    if abs(yi) + Z975 * se > LOG_MAX:
        return (
            f"its 95% CI, exp({fmt.significant(yi)} ± 1.96 × {fmt.significant(se)}), goes beyond "
            "the largest number "
            f"a computer can hold ({fmt.significant(sys.float_info.max, 2)})"
        )
    return None


def _years(t: float) -> str:
    return fmt.years(t)


def _interp_formula(t: float, t1: float, t2: float) -> str:
    """'S(2) = S(1)^0.5 x S(3)^0.5': the interpolation of :func:`_interp` in words."""
    w = (t - t1) / (t2 - t1)
    return (
        f"S({_years(t)}) = S({_years(t1)})^{fmt.significant(1 - w)} "
        f"x S({_years(t2)})^{fmt.significant(w)}"
    )


def _interp(t: float, t1: float, s1: float, t2: float, s2: float) -> float:
    """Survival at t, ln S linear in time between (t1, s1) and (t2, s2); s1, s2 > 0 (percent).
    It lies between s1 and s2; kept there (exp(ln 100) is 100.00000000000004 in floats)."""
    w = (t - t1) / (t2 - t1)
    s = math.exp((1 - w) * math.log(s1) + w * math.log(s2))
    return min(max(s, min(s1, s2)), max(s1, s2))


def _floats(col: pd.Series) -> np.ndarray:
    """A numeric column as float64 with NaN for missing values."""
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _texts(col: pd.Series) -> list[object]:
    """A text column as a list of str / pd.NA, as ``row[col]`` gives them."""
    return col.astype("object").where(col.notna(), pd.NA).tolist()


def _provenances(out: pd.DataFrame) -> list[str]:
    """Per row, the note of a derived row followed by '; ' (``core.data.provenance``: read off
    a figure or worked out from summary statistics), else ''."""
    if "note" not in out:
        return [""] * len(out)
    return [f"{p}; " if p else "" for p in map(provenance, out["note"].tolist())]


def _opt(x: float) -> float | None:
    return None if math.isnan(x) else x


@dataclass(frozen=True)
class _Studies:
    """The studies table as plain columns, in its order (missing numbers as None)."""

    ids: list[str]
    labels: list[str]
    n_rt: list[float | None]
    n_ctl: list[float | None]
    lead_only: list[bool]


def _studies(studies: pd.DataFrame) -> _Studies:
    ids = studies["study_id"].astype(str).tolist()
    labels = _texts(studies["label"]) if "label" in studies else [pd.NA] * len(ids)
    nothing: list[float | None] = [None] * len(ids)
    sizes = [
        [_opt(x) for x in _floats(studies[c]).tolist()] if c in studies else nothing
        for c in ("n_rt", "n_ctl")
    ]
    lead = (
        (studies["lead_only"].astype("object") == "yes").tolist()
        if "lead_only" in studies
        else [False] * len(ids)
    )
    return _Studies(
        ids,
        [sid if lab is pd.NA else str(lab) for lab, sid in zip(labels, ids, strict=True)],
        sizes[0],
        sizes[1],
        [bool(x) for x in lead],
    )


def _names(ds: HasTables, outcome: Outcome) -> tuple[str, str]:
    """The outcome's code and the treated arm's name in the dataset's description ("TB",
    "vaccinated"); the slot and "RT" for tables without one (the bundled words)."""
    words = getattr(ds, "description", None)
    return (outcome if words is None else words.words(outcome).code), arm_name(words)


def _first_by_study(frame: pd.DataFrame) -> dict[str, int]:
    """study_id -> position (in ``frame``) of its first row."""
    first = frame.drop_duplicates("study_id")
    return dict(zip(first["study_id"].astype(str), first["_pos"].tolist(), strict=True))


def _or_rows(
    ds: HasTables, outcome: Outcome, years: float | None, rule: TimeRule
) -> tuple[list[dict], list[tuple[str, str]]]:
    """The studies' 2x2 counts at ``years`` (events rows, else rates at or interpolated to
    ``years``), whole columns at a time: each study's first row of each kind is found with
    one pass over the outcome rows (``drop_duplicates``), not one filter per study."""
    st = _studies(ds.studies)
    name, arm = _names(ds, outcome)
    out = ds.outcomes[ds.outcomes["outcome"] == outcome].reset_index(drop=True)
    out = out.assign(_pos=np.arange(len(out)), _t=_floats(out["time_years"]))
    kind = out["kind"].astype("object")
    sid_col = out["study_id"].astype(str)
    has_rows = set(sid_col)
    has_rate = set(sid_col[kind == "rate"])
    not_hr = set(sid_col[kind != "hr"])
    ev_rt, ev_ctl = _floats(out["events_rt"]), _floats(out["events_ctl"])
    r_rt, r_ctl = _floats(out["rate_rt"]), _floats(out["rate_ctl"])
    endpoint, source = _texts(out["endpoint_as_reported"]), _texts(out["source_url"])
    adjustment, derived_from = _texts(out["adjustment"]), _provenances(out)
    events = out[kind == "events"]
    ev_untimed = _first_by_study(events[events["_t"].isna()])
    ev_at = ev_untimed if years is None else _first_by_study(events[events["_t"] == years])
    rates = out[kind == "rate"]
    first_rate = _first_by_study(rates)
    hit: dict[str, int] = {}
    times: dict[str, list[float]] = {}
    t1: dict[str, float] = {}
    t2: dict[str, float] = {}
    at1: dict[str, int] = {}
    at2: dict[str, int] = {}
    if years is not None:
        hit = _first_by_study(rates[rates["_t"] == years])
        for s, t in zip(rates["study_id"].astype(str), rates["_t"].tolist(), strict=True):
            times.setdefault(s, []).append(t)
        if rule == "interp":
            rs = rates.assign(study_id=rates["study_id"].astype(str))
            t1 = rs[rs["_t"] < years].groupby("study_id", sort=False)["_t"].max().to_dict()
            t2 = rs[rs["_t"] > years].groupby("study_id", sort=False)["_t"].min().to_dict()
            ends = rs.assign(_t1=rs["study_id"].map(t1), _t2=rs["study_id"].map(t2))
            at1 = _first_by_study(ends[ends["_t"] == ends["_t1"]])
            at2 = _first_by_study(ends[ends["_t"] == ends["_t2"]])
    rows: list[dict] = []
    excluded: list[tuple[str, str]] = []
    for sid, label, n_rt, n_ctl, lead in zip(
        st.ids, st.labels, st.n_rt, st.n_ctl, st.lead_only, strict=True
    ):
        if sid not in has_rows:
            excluded.append(
                (sid, "lead only: no numbers" if lead else f"no {name} rates or events reported")
            )
            continue
        i = ev_at.get(sid)
        untimed = years is not None and i is None and sid not in has_rate
        if untimed:
            # plain 2x2 data without a time point (common in users' sheets): used for any t,
            # and said so
            i = ev_untimed.get(sid)
        base = {"study_id": sid, "label": label, "n_rt": n_rt, "n_ctl": n_ctl}
        if i is not None:
            if n_rt is None or n_ctl is None:
                excluded.append((sid, "arm sizes not reported"))
                continue
            when = (
                " (no time point stated)"
                if untimed or years is None
                else f" at {_years(years)} years"
            )
            rows.append(
                base
                | {
                    "events_rt": float(ev_rt[i]),
                    "events_ctl": float(ev_ctl[i]),
                    "endpoint_as_reported": endpoint[i],
                    "adjustment": adjustment[i],
                    "source_url": source[i],
                    "derivation": derived_from[i] + f"{name} events as reported{when}",
                    "derived": False,
                    "interpolated": False,
                }
            )
            continue
        if years is None or sid not in has_rate:
            what = f"{name} events" if years is None else f"{_years(years)}-year {name}"
            only = " (only an HR)" if sid not in not_hr else ""
            excluded.append((sid, f"no {what} reported{only}"))
            continue
        got = _rate_at(sid, years, rule, (name, arm), hit, times, t1, t2, at1, at2, r_rt, r_ctl)
        if isinstance(got, str):
            excluded.append((sid, got))
            continue
        rt, ctl, how = got
        if n_rt is None or n_ctl is None:
            excluded.append(
                (
                    sid,
                    f"arm sizes not reported ({how} {fmt.significant(rt)}% vs "
                    f"{fmt.significant(ctl)}% only)",
                )
            )
            continue
        e_rt, e_ctl = events_from_rate(int(n_rt), rt), events_from_rate(int(n_ctl), ctl)
        j = first_rate[sid]
        rows.append(
            base
            | {
                "events_rt": float(e_rt),
                "events_ctl": float(e_ctl),
                "endpoint_as_reported": endpoint[j],
                "adjustment": adjustment[j],
                "source_url": source[j],
                "derivation": derived_from[j]
                + (
                    f"events from {how}: {arm} {fmt.significant(rt)}% x n {fmt.number(n_rt)} = "
                    f"{e_rt}; "
                    f"control {fmt.significant(ctl)}% x n {fmt.number(n_ctl)} = {e_ctl}"
                ),
                "derived": True,
                "interpolated": "interpolated" in how,
            }
        )
    return rows, excluded


def _rate_at(
    sid: str,
    t: float,
    rule: TimeRule,
    names: tuple[str, str],
    hit: dict[str, int],
    times: dict[str, list[float]],
    t1s: dict[str, float],
    t2s: dict[str, float],
    at1: dict[str, int],
    at2: dict[str, int],
    r_rt: np.ndarray,
    r_ctl: np.ndarray,
) -> tuple[float, float, str] | str:
    """(rate_rt, rate_ctl, how it was obtained) at t for study ``sid``, or the reason there
    is none. ``hit``: its first rate row at t; ``times``: its rate rows' years; ``t1s``/``t2s``
    the nearest reported years below/above t, ``at1``/``at2`` their first rows (positions in
    ``r_rt``, ``r_ctl``); ``names``: the outcome's code and the treated arm's name."""
    what, arm = names
    i = hit.get(sid)
    if i is not None:
        return float(r_rt[i]), float(r_ctl[i]), f"{_years(t)}-year {what} rate"
    listed = ", ".join(_years(x) for x in sorted(set(times[sid])))
    missing = f"no {_years(t)}-year {what} reported (reported at {listed} years)"
    if rule == "exact":
        return missing
    if sid not in t1s or sid not in t2s:
        return missing + "; interpolation needs reported years on both sides, never extrapolated"
    t1, t2 = t1s[sid], t2s[sid]
    i1, i2 = at1[sid], at2[sid]
    ends = (r_rt[i1], r_ctl[i1], r_rt[i2], r_ctl[i2])
    if min(float(x) for x in ends) <= 0:
        return (
            missing + f"; cannot interpolate between {_years(t1)} and {_years(t2)} years "
            "across a 0% rate"
        )
    rt = _interp(t, t1, float(r_rt[i1]), t2, float(r_rt[i2]))
    ctl = _interp(t, t1, float(r_ctl[i1]), t2, float(r_ctl[i2]))
    how = (
        f"{_years(t)}-year {what} rate interpolated between {_years(t1)} and {_years(t2)} "
        f"years (log-linear in survival: {_interp_formula(t, t1, t2)}, from {arm} "
        f"{fmt.number(float(r_rt[i1]))}% and {fmt.number(float(r_rt[i2]))}%, control "
        f"{fmt.number(float(r_ctl[i1]))}% and {fmt.number(float(r_ctl[i2]))}%)"
    )
    return rt, ctl, how


def _log_hr(
    hr: float, lo: float | None, hi: float | None, p: float | None, z_p: float | None = None
) -> LogRatio | str:
    """ln HR and its SE from the 95% CI, else from the p-value; or why neither gives one.

    A CI gives no SE when it starts at 0 (ln 0 is undefined; a bound rounded down) or has
    zero width (both ends rounded to the HR); the p-value stands in then when it can.
    ``z_p``: z_(1-p/2) when already computed for a whole column of p-values."""
    ci_problem = None
    if lo is not None and hi is not None:
        if lo <= 0:
            ci_problem = f"its CI starts at {fmt.number(lo)}, which gives no SE on the log scale"
        elif hi <= lo:
            ci_problem = (
                f"its CI has zero width ({fmt.number(lo)} to {fmt.number(hi)}), which gives no SE"
            )
        else:
            return log_hr_from_ci(hr, lo, hi)
    if p is not None and p < 1 and hr != 1:
        lr = log_hr_from_p(hr, p, z_p)
        if ci_problem is None:
            return lr
        return replace(lr, derivation=f"{lr.derivation} ({ci_problem})")
    if ci_problem is not None:
        return f"HR {fmt.number(hr)}: {ci_problem}, and no p-value to use instead"
    if p is not None:
        return f"HR {fmt.number(hr)} with p = {fmt.number(p)} and no CI: no SE can be derived"
    return "HR without CI or p-value"


def _hr_rows(ds: HasTables, outcome: Outcome) -> tuple[list[dict], list[tuple[str, str]]]:
    """Each study's first ``hr`` row for ``outcome``, found for all studies at once."""
    st = _studies(ds.studies)
    name = _names(ds, outcome)[0]
    outcomes = ds.outcomes
    out = outcomes[(outcomes["outcome"] == outcome) & (outcomes["kind"] == "hr")]
    out = out.drop_duplicates("study_id").reset_index(drop=True)
    first = dict(zip(out["study_id"].astype(str), range(len(out)), strict=True))
    has_any = set(outcomes["study_id"].astype(str))
    hr, lo, hi, p = (_floats(out[c]) for c in ("hr", "hr_low", "hr_high", "hr_p"))
    with np.errstate(invalid="ignore"):
        z_p = stats.norm.isf(p / 2)  # one call for the column; NaN where there is no p
    endpoint, source = _texts(out["endpoint_as_reported"]), _texts(out["source_url"])
    adjustment, derived_from = _texts(out["adjustment"]), _provenances(out)
    hr_l, lo_l, hi_l, p_l, z_l = (a.tolist() for a in (hr, lo, hi, p, z_p))
    rows: list[dict] = []
    excluded: list[tuple[str, str]] = []
    for sid, label, n_rt, n_ctl, lead in zip(
        st.ids, st.labels, st.n_rt, st.n_ctl, st.lead_only, strict=True
    ):
        i = first.get(sid)
        if i is None:
            reason = (
                f"no {name} HR reported" if sid in has_any or not lead else "lead only: no numbers"
            )
            excluded.append((sid, reason))
            continue
        h = hr_l[i]
        lr = _log_hr(h, _opt(lo_l[i]), _opt(hi_l[i]), _opt(p_l[i]), _opt(z_l[i]))
        if isinstance(lr, str):
            excluded.append((sid, lr))
            continue
        why = unusable(lr.yi, lr.vi)
        if why is not None:
            excluded.append((sid, f"HR {fmt.number(h)}: {why} ({lr.derivation})"))
            continue
        rows.append(
            {
                "study_id": sid,
                "label": label,
                "yi": lr.yi,
                "vi": lr.vi,
                "events_rt": None,
                "n_rt": n_rt,
                "events_ctl": None,
                "n_ctl": n_ctl,
                "endpoint_as_reported": endpoint[i],
                "adjustment": adjustment[i],
                "derivation": f"{derived_from[i]}HR {fmt.number(h)}: {lr.derivation}",
                "derived": False,
                "interpolated": False,
                "source_url": source[i],
            }
        )
    return rows, excluded


def _table_effects(
    measure: Literal["OR", "RR", "RD"],
    rows: list[dict],
    excluded: list[tuple[str, str]],
    zero: ZeroCells,
    tables_only: list[tuple[str, float, float, float, float]],
) -> list[dict]:
    """yi, vi of each 2x2 table (escalc with ``zero``), the correction said in its
    derivation; tables left out (drop00, or not estimable) go to ``excluded`` and, when the
    reason is the zero-cell options, to ``tables_only``."""
    a, n1, c, n2 = (
        np.asarray([r[col] for r in rows], dtype=float)
        for col in ("events_rt", "n_rt", "events_ctl", "n_ctl")
    )
    kind: Literal["OR", "RR", "RD", "PETO"] = "PETO" if zero.peto and measure == "OR" else measure
    es = escalc(kind, a, n1, c, n2, add=zero.add, to=zero.to, drop00=zero.drop00)
    dropped = double_zero(a, n1, c, n2) if zero.drop00 else np.zeros(a.shape, dtype=bool)
    kept = []
    for r, y, v, corr, drop in zip(rows, es.yi, es.vi, es.corrected, dropped, strict=True):
        table = (
            f"{fmt.number(r['events_rt'])}/{fmt.number(r['n_rt'])} vs "
            f"{fmt.number(r['events_ctl'])}/{fmt.number(r['n_ctl'])}"
        )
        counts = (r["study_id"], r["events_rt"], r["n_rt"], r["events_ctl"], r["n_ctl"])
        if drop:
            tables_only.append(counts)
            both = "no events" if r["events_rt"] == 0 else "only events"
            excluded.append(
                (r["study_id"], f"{both} in both arms ({table}): left out of the per-study "
                 "estimates (drop00)")
            )  # fmt: skip
            continue
        r["yi"], r["vi"] = float(y), float(v)
        if corr and zero.add != 0:
            r["derivation"] += (
                f"; {fmt.number(zero.add)} added to each cell ({_CORRECTED[zero.to]})"
            )
        if kind == "PETO":
            r["derivation"] += "; Peto's log odds ratio (O - E) / V"
        why = unusable(r["yi"], r["vi"])
        if why is None:
            kept.append(r)
            continue
        if zero.to == "none" and (not math.isfinite(r["yi"]) or r["vi"] == 0):
            why = "a zero cell and no zero-cell correction (to=none)"
            tables_only.append(counts)
        excluded.append((r["study_id"], f"{measure} from {table} events: {why}"))
    return kept


def estimable(
    dataset: HasTables,
    outcome: Outcome,
    measure: MeasureName,
    years: float | None = None,
    rule: TimeRule = "exact",
    zero: ZeroCells = ESCALC_DEFAULTS,
) -> EstimableSet:
    """The per-study input for pooling ``outcome`` as ``measure`` and the excluded studies.

    ``measure="OR"``, ``"RR"`` or ``"RD"`` needs ``years`` (the time point t); ``years=None``
    uses event counts given without a time (kind ``events``). ``rule`` is ``"exact"`` (only
    rates reported at t) or ``"interp"`` (log-linear interpolation between the bracketing
    years). ``zero``: the zero-cell options of those three (not used for HR).
    """
    if outcome not in ("OS", "DFS"):
        raise ValueError(f"outcome must be OS or DFS, not {outcome!r}")
    if rule not in ("exact", "interp"):
        raise ValueError(f"rule must be 'exact' or 'interp', not {rule!r}")
    tables_only: list[tuple[str, float, float, float, float]] = []
    if measure == "HR":
        rows, excluded = _hr_rows(dataset, outcome)
    elif measure in TABLE_MEASURES:
        rows, excluded = _or_rows(dataset, outcome, years, rule)
        if rows:
            rows = _table_effects(measure, rows, excluded, zero, tables_only)
    else:
        raise ValueError(f"measure must be OR, RR, RD or HR, not {measure!r}")
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
    return EstimableSet(outcome, measure, years, rule, frame, tuple(excluded), tuple(tables_only))
