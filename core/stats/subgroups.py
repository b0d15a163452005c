"""Subgroup analysis and meta-regression, as R's metafor ``rma`` (and RevMan / meta) report them.

Subgroups: one random-effects fit per group (``pool``), and the test for subgroup
differences: Cochran's Q of the group estimates with weights 1/se^2 (a common-effect fit of
the group estimates), df = groups - 1; or, with one tau2 common to all groups
(:func:`subgroup_test`), the Wald test QM of ``rma(yi, vi, mods = ~ factor(group))``. With a
common tau2 the group estimates are the coefficients of ``rma(yi, vi, mods = ~ factor(group)
- 1)`` (R meta's ``tau.common = TRUE``): each group pooled with weights 1/(vi + tau2), tau2 of
the factor model; with ``test = "knha"`` their se's share one scale factor s2w = y'Py / (k - m)
and t has k - m df (m groups).

Meta-regression: the mixed-effects model yi = x_i' beta + u_i + e_i, u_i ~ N(0, tau2),
e_i ~ N(0, vi), as ``rma(yi, vi, mods = ~ ..., method = ...)``, with tau2 by
``core.stats.pooling.tau2_design`` (every estimator, over the design matrix). Coefficients:
beta = (X'WX)^-1 X'Wy, Var(beta) = (X'WX)^-1 (Wald z) or s2w (X'WX)^-1 with t on k-p df
(Knapp-Hartung, ``test="knha"``).
QM is the Wald test of all coefficients but the intercept; QE = y'P0 y on k-p df is the
test for residual heterogeneity. I2 = 100 tau2 / (tau2 + s2), s2 = (k-p) / tr(P0).
R2 = max(0, 100 (tau2_RE - tau2) / tau2_RE), tau2_RE from the intercept-only model fitted
with the same estimator; 0 when tau2_RE = 0 (metafor's ``r2def = "1"``). For the
common-effect model R2 is metafor's adjusted R2 of the weighted least-squares fit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, special, stats

from core.stats import rma
from core.stats.heterogeneity import cochran_q, i2_common, i2_h2, typical_variance
from core.stats.pooling import (
    PoolResult,
    check_inputs,
    critical_value,
    intervals,
    pool,
    tau2_design,
    wald_or_t,
)
from core.stats.rma import WLS
from core.stats.tidy import one_row_frame

REGRESSION_METHODS: tuple[str, ...] = ("REML", "DL", "PM", "ML", "HS", "SJ", "HE", "EB", "EE")


# ---------------------------------------------------------------------------------------
# Subgroups


#: How the test for subgroup differences treats tau2: a separate fit per group, or one tau2
#: common to all groups.
TAU2_MODES: tuple[str, ...] = ("separate", "common")


@dataclass(frozen=True)
class SubgroupResult:
    """Per-group fits and the test for subgroup differences.

    ``groups`` maps each label (sorted as R's ``sort(unique())``) to its ``PoolResult``.
    ``q_between``/``p_between`` are None with a single group. ``overall`` pools all studies
    with the same method, ignoring the groups. ``tau2``: "separate" (each group its own fit)
    or "common" (each group pooled with ``tau2_common``, the tau2 of the factor model)."""

    groups: dict[Any, PoolResult]
    q_between: float | None
    df_between: int
    p_between: float | None
    overall: PoolResult
    method: str
    ci: str
    labels: tuple[Any, ...]
    note: str | None
    tau2: str = "separate"
    tau2_common: float | None = None

    def summary_frame(self) -> pd.DataFrame:
        """One row per group (``PoolResult.summary_frame``, in ``groups``' order), indexed by
        the group's label."""
        frames = [fit.summary_frame() for fit in self.groups.values()]
        labels = pd.Index(list(self.groups), name="group")
        return pd.concat(frames).set_axis(labels)


def _sort_labels(labels: Sequence[Any]) -> list[Any]:
    vals = [x.item() if isinstance(x, np.generic) else x for x in labels]
    uniq = list(dict.fromkeys(vals))
    if all(isinstance(x, int | float) and not isinstance(x, bool) for x in uniq):
        return sorted(uniq)
    # R's sort() in an English locale: case-insensitive first, lower case before upper.
    return sorted(uniq, key=lambda s: (str(s).casefold(), str(s).swapcase()))


def subgroup_analysis(
    yi: object,
    vi: object,
    groups: Sequence[Any],
    method: str = "REML",
    ci: str = "wald",
    level: float = 0.95,
    tau2: str = "separate",
) -> SubgroupResult:
    """A ``pool`` fit per group and Cochran's Q of the group estimates (weights 1/se^2).

    A group with one study is included as that study (estimate yi, se sqrt(vi)); as metafor
    reports it, its I2 is 0 and H2 is 1. With ``ci="hksj"`` the group se's (and so the
    between-group test) use the Hartung-Knapp se, as ``meta`` does. ``tau2="common"``: each
    group pooled with the tau2 of the factor model (:func:`common_tau2_fits`); where that
    model cannot be fitted (no more studies than groups) the groups keep their own fits,
    with a note. With a Wald CI, Q between the common-tau2 estimates is metafor's QM."""
    if tau2 not in TAU2_MODES:
        raise ValueError(f"unknown tau2 {tau2!r}; choose one of {', '.join(TAU2_MODES)}")
    y, v = check_inputs(yi, vi)
    g = [x.item() if isinstance(x, np.generic) else x for x in np.asarray(groups, dtype=object)]
    if len(g) != y.size:
        raise ValueError(f"groups has {len(g)} entries for {y.size} studies")
    if any(x is None or (isinstance(x, float) and math.isnan(x)) for x in g):
        raise ValueError("every study needs a group label (found a missing one)")
    labels = _sort_labels(g)
    garr = np.array(g, dtype=object)
    fits: dict[Any, PoolResult] = {}
    notes = []
    for lab in labels:
        s = garr == lab
        fit = pool(y[s], v[s], method=method, ci=ci, level=level)
        if fit.k == 1:
            fit = replace(fit, i2=0.0, h2=1.0)
        if fit.note and fit.k > 1:
            notes.append(f"group {lab}: {fit.note}")
        fits[lab] = fit
    common: float | None = None
    if tau2 == "common" and len(labels) >= 2:
        if y.size > len(labels):
            fits, common, why = common_tau2_fits(y, v, garr, labels, method, ci, level)
            notes = [f"common tau2: {why}"] if why else []
        else:
            notes.append(
                f"{y.size} studies are too few for {len(labels)} groups with a common tau2: "
                "each subtotal is its group's own fit"
            )
    est = np.array([f.estimate for f in fits.values()])
    se = np.array([f.se for f in fits.values()])
    m = len(fits)
    qb: float | None
    pb: float | None
    if m >= 2 and np.all(np.isfinite(se)) and np.all(se > 0):
        qb = cochran_q(est, 1.0 / se**2)
        pb = float(special.chdtrc(m - 1, qb))
    else:
        qb = pb = None
        if m < 2:
            notes.append("one group only: no test for subgroup differences")
        else:
            notes.append("a group's standard error is undefined: no test for subgroup differences")
    overall = pool(y, v, method=method, ci=ci, level=level)
    return SubgroupResult(
        groups=fits,
        q_between=qb,
        df_between=m - 1,
        p_between=pb,
        overall=overall,
        method=method,
        ci=ci,
        labels=tuple(labels),
        note="; ".join(notes) or None,
        tau2=tau2 if common is not None else "separate",
        tau2_common=common,
    )


def common_tau2_fits(
    y: np.ndarray,
    v: np.ndarray,
    groups: np.ndarray,
    labels: Sequence[Any],
    method: str,
    ci: str,
    level: float,
) -> tuple[dict[Any, PoolResult], float, str | None]:
    """Each group pooled with one tau2 common to all groups, as R meta's ``tau.common = TRUE``
    and metafor's ``rma(yi, vi, mods = ~ factor(group) - 1, method, test)``: the estimate of
    group g is its coefficient, sum w y / sum w over the group, w = 1/(vi + tau2), se
    1/sqrt(sum w) (times sqrt(s2w), s2w = y'Py / (k - m), with ``ci="hksj"``: metafor's
    ``test = "knha"``, t on k - m df). Q (df = k_g - 1) is the group's Cochran's Q; I2 and H2
    are those of ``rma(yi, vi, tau2 = tau2, subset = group)``: 100 tau2 / (s2 + tau2) and
    (s2 + tau2) / s2, s2 = (k_g - 1) sum w0 / ((sum w0)^2 - sum w0^2), w0 = 1/vi (0 and 1
    for a one-study group). Returns the fits, tau2 and the factor model's note."""
    x = np.column_stack([(groups == lab).astype(float) for lab in labels])
    test = "knha" if ci == "hksj" else "z"
    names = [f"group{i}" for i in range(len(labels))]
    fit = meta_regression(
        y, v, x, method=method, intercept=False, names=names, test=test, level=level, r2=False
    )
    t2 = fit.tau2
    crit = fit._crit()
    fits: dict[Any, PoolResult] = {}
    for j, lab in enumerate(labels):
        s = groups == lab
        yg, vg = y[s], v[s]
        k = int(yg.size)
        w = 1.0 / (vg + t2)
        q = cochran_q(yg, 1.0 / vg)
        est, se = float(fit.coef[j]), float(fit.se[j])
        if k > 1:
            i2, h2 = i2_h2(t2, typical_variance(vg))
            hk = math.sqrt(float((w * (yg - est) ** 2).sum() / ((k - 1) * w.sum())))
        else:
            i2, h2, hk = 0.0, 1.0, math.nan
        ci_low, ci_high, pi_low, pi_high = intervals(est, se, t2, crit, method)
        fits[lab] = PoolResult(
            estimate=est,
            se=se,
            wald_se=float(1.0 / math.sqrt(w.sum())),
            hk_se=hk,
            ci_low=ci_low,
            ci_high=ci_high,
            stat=float(fit.stat[j]),
            pvalue=float(fit.pvalue[j]),
            tau2=t2,
            i2=float(i2),
            h2=float(h2),
            q=q,
            q_pvalue=float(special.chdtrc(k - 1, q)) if k > 1 else math.nan,
            df=k - 1,
            pi_low=pi_low,
            pi_high=pi_high,
            k=k,
            method=method,
            ci=ci,
            level=level,
            weights=tuple(float(x) for x in 100.0 * w / w.sum()),
            converged=fit.converged,
            note=None,
        )
    return fits, t2, fit.note


@dataclass(frozen=True)
class SubgroupTest:
    """The test for subgroup differences: ``q`` on ``df`` = groups - 1, p from chi-square.

    ``tau2``: "separate" (Cochran's Q of the groups' own fits, weights 1/se^2; as
    ``rma(estimates, sei = se, method = "FE")``'s QE) or "common" (the Wald test QM of the
    group terms of ``rma(yi, vi, mods = ~ factor(group), method = ...)``, one tau2 for all
    groups: ``tau2_common``). With Hartung-Knapp, "separate" uses the groups' Hartung-Knapp
    se's (as meta) and "common" is metafor's ``test = "knha"``: ``q`` is then F on (df,
    ``df2``) with ``df2`` = k - groups. ``q`` None (with ``reason``) where no test is possible."""

    tau2: str
    q: float | None
    df: int
    p: float | None
    statistic: str  # "Q" (chi-square) or "F"
    df2: int | None
    tau2_common: float | None
    reason: str | None

    def summary_row(self) -> dict[str, Any]:
        """One record: tau2 (the mode), statistic, q, df, df2, p, tau2_common."""
        cols = ("tau2", "statistic", "q", "df", "df2", "p", "tau2_common")
        return {c: getattr(self, c) for c in cols}

    def summary_frame(self) -> pd.DataFrame:
        """:meth:`summary_row` as a one-row frame."""
        return one_row_frame(self.summary_row())


def factor_columns(values: Sequence[Any], name: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """R's treatment contrasts of ``factor(values)``: one 0/1 column per level but the first
    (levels sorted as R's ``sort(unique())``), named ``{name}{level}`` as R names them."""
    g = [x.item() if isinstance(x, np.generic) else x for x in values]
    if any(x is None or (isinstance(x, float) and math.isnan(x)) for x in g):
        raise ValueError(f"{name}: every study needs a value (found a missing one)")
    levels = _sort_labels(g)
    cols = np.array([[1.0 if x == lev else 0.0 for lev in levels[1:]] for x in g], dtype=float)
    return cols.reshape(len(g), len(levels) - 1), tuple(f"{name}{lev}" for lev in levels[1:])


def subgroup_test(
    yi: object,
    vi: object,
    groups: Sequence[Any],
    method: str = "REML",
    ci: str = "wald",
    tau2: str = "separate",
    separate: SubgroupResult | None = None,
) -> SubgroupTest:
    """The test for subgroup differences with a separate or a common tau2 (see
    :class:`SubgroupTest`). ``separate``: the groups' own fits when already computed."""
    if tau2 not in TAU2_MODES:
        raise ValueError(f"unknown tau2 {tau2!r}; choose one of {', '.join(TAU2_MODES)}")
    if tau2 == "separate":
        sg = separate or subgroup_analysis(yi, vi, groups, method=method, ci=ci)
        why = None if sg.q_between is not None else (sg.note or "no test")
        return SubgroupTest(
            "separate", sg.q_between, sg.df_between, sg.p_between, "Q", None, None, why
        )
    y, v = check_inputs(yi, vi)
    x, names = factor_columns(groups, "group")
    m = x.shape[1] + 1
    if m < 2:
        return SubgroupTest("common", None, 0, None, "Q", None, None, "one group only")
    if y.size <= m:
        why = f"{y.size} studies are too few for {m} groups with a common tau2"
        return SubgroupTest("common", None, m - 1, None, "Q", None, None, why)
    test = "knha" if ci == "hksj" else "z"
    fit = meta_regression(y, v, x, method=method, names=names, test=test, r2=False)
    if fit.qm_df != m - 1 or not math.isfinite(fit.qm):
        why = "the groups cannot be separated in this model"
        return SubgroupTest("common", None, m - 1, None, "Q", None, fit.tau2, why)
    knha = test == "knha"
    return SubgroupTest(
        "common",
        fit.qm,
        fit.qm_df,
        fit.qm_pvalue,
        "F" if knha else "Q",
        fit.qe_df if knha else None,
        fit.tau2,
        None,
    )


# ---------------------------------------------------------------------------------------
# Meta-regression: result and public function


@dataclass(frozen=True)
class MetaRegressionResult:
    """A mixed-effects meta-regression as metafor's ``rma(yi, vi, mods = ...)`` prints it.

    Coefficient arrays are in the order of ``names`` (intercept first). ``stat`` (alias
    ``zval``) is z, or t on k-p df with ``test="knha"``; then ``qm`` is metafor's F
    statistic on (m, k-p) df. ``r2`` is None without an intercept (as metafor)."""

    coef: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    pvalue: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    vcov: np.ndarray
    names: tuple[str, ...]
    qm: float
    qm_df: int
    qm_pvalue: float
    qe: float
    qe_df: int
    qe_pvalue: float
    tau2: float
    i2: float
    h2: float
    r2: float | None
    k: int
    p: int
    method: str
    test: str
    level: float
    intercept: bool
    x: np.ndarray
    yi: np.ndarray
    vi: np.ndarray
    converged: bool
    note: str | None

    @property
    def zval(self) -> np.ndarray:
        return self.stat

    def summary_frame(self) -> pd.DataFrame:
        """One row per coefficient (index: ``names``): estimate, se, zval (tval on k-p df
        with ``test="knha"``), pval, ci_low, ci_high; tau2, i2 (percent), r2 and k repeat
        the model's values on every row."""
        stat = "tval" if self.test == "knha" else "zval"
        return pd.DataFrame(
            {
                "estimate": self.coef,
                "se": self.se,
                stat: self.stat,
                "pval": self.pvalue,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "tau2": self.tau2,
                "i2": self.i2,
                "r2": math.nan if self.r2 is None else self.r2,
                "k": self.k,
            },
            index=pd.Index(self.names, name="term"),
        )

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2)

    @property
    def df_resid(self) -> int:
        return self.k - self.p

    @property
    def fitted(self) -> np.ndarray:
        return self.x @ self.coef

    @property
    def weights(self) -> np.ndarray:
        """Percent weights 1/(vi + tau2), as in a bubble plot's bubble sizes."""
        w = 1.0 / (self.vi + self.tau2)
        return 100.0 * w / w.sum()

    def _crit(self) -> float:
        return critical_value(self.k - self.p if self.test == "knha" else None, self.level)

    def predict(self, newmods: object) -> Prediction:
        """Fitted values with CI (and prediction interval) at new moderator values.

        ``newmods``: for one moderator a scalar or 1-d array of values; for m moderators an
        (n x m) array. The intercept is added when the model has one."""
        xn = np.asarray(newmods, dtype=float)
        m = self.p - int(self.intercept)
        if m == 1 and xn.ndim <= 1:
            xn = xn.reshape(-1, 1)
        xn = np.atleast_2d(xn)
        if xn.shape[1] != m:
            raise ValueError(f"newmods needs {m} column(s), got {xn.shape[1]}")
        if self.intercept:
            xn = np.column_stack([np.ones(xn.shape[0]), xn])
        pred = xn @ self.coef
        se = np.sqrt(np.einsum("ij,jk,ik->i", xn, self.vcov, xn))
        crit = self._crit()
        pi_half = crit * np.sqrt(se**2 + self.tau2)
        return Prediction(
            x=xn,
            pred=pred,
            se=se,
            ci_low=pred - crit * se,
            ci_high=pred + crit * se,
            pi_low=pred - pi_half,
            pi_high=pred + pi_half,
        )

    def bubble(self, column: int = 0, n: int = 101) -> Prediction:
        """Fitted line with its CI over a grid of one moderator (the others at their
        weighted means), for a bubble plot. ``column`` counts moderators from 0."""
        m = self.p - int(self.intercept)
        if not 0 <= column < m:
            raise ValueError(f"the model has {m} moderator(s); there is no column {column}")
        mods = self.x[:, int(self.intercept) :]
        lo, hi = float(mods[:, column].min()), float(mods[:, column].max())
        grid = np.linspace(lo, hi, n)
        w = 1.0 / (self.vi + self.tau2)
        base = (w[:, None] * mods).sum(axis=0) / w.sum()
        new = np.tile(base, (n, 1)).reshape(n, m)
        new[:, column] = grid
        return self.predict(new)


@dataclass(frozen=True)
class Prediction:
    """Predicted values at design rows ``x`` (intercept column included)."""

    x: np.ndarray
    pred: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    pi_low: np.ndarray
    pi_high: np.ndarray


def _design(
    moderators: object, k: int, intercept: bool, names: Sequence[str] | None
) -> tuple[np.ndarray, tuple[str, ...], list[str]]:
    mods = np.asarray(moderators, dtype=float)
    if mods.ndim == 1:
        mods = mods.reshape(-1, 1)
    if mods.ndim != 2 or mods.shape[0] != k:
        raise ValueError(
            f"moderators must have one row per study ({k}); got an array of shape {mods.shape}"
        )
    if not np.isfinite(mods).all():
        raise ValueError("every moderator value must be a finite number (found a missing one)")
    m = mods.shape[1]
    if names is None:
        names = ["mod"] if m == 1 else [f"mod{j + 1}" for j in range(m)]
    names = list(names)
    if len(names) != m:
        raise ValueError(f"{len(names)} names given for {m} moderator(s)")
    x = np.column_stack([np.ones(k), mods]) if intercept else mods
    cols = (["intrcpt"] if intercept else []) + names
    keep, notes = _redundant(x, cols, intercept)
    if not keep:
        raise ValueError("every moderator is zero in every study, so nothing can be estimated")
    x, cols = x[:, keep], [cols[j] for j in keep]
    p = x.shape[1]
    if k <= p:
        raise ValueError(
            f"{k} studies are too few for {p} coefficients: a meta-regression needs more "
            "studies than coefficients"
        )
    return x, tuple(cols), notes


def _redundant(x: np.ndarray, cols: list[str], intercept: bool) -> tuple[list[int], list[str]]:
    """The columns to keep and a note for each dropped one. As metafor (which takes the
    non-NA coefficients of lm's pivoted QR, tolerance 1e-7), a column that is, to relative
    1e-7, a combination of the columns before it is dropped as redundant."""
    keep: list[int] = []
    notes: list[str] = []
    for j in range(x.shape[1]):
        col = x[:, j]
        norm = float(np.sqrt(col @ col))
        flat = bool(np.ptp(col) == 0)
        if keep:
            basis = x[:, keep]
            col = col - basis @ np.linalg.lstsq(basis, col, rcond=None)[0]
        if norm > 0 and float(np.sqrt(col @ col)) > 1e-7 * norm:
            keep.append(j)
            continue
        if norm == 0:
            why = "is zero in every study"
        elif intercept and flat:
            why = "has the same value in every study"
        else:
            why = "is a combination of the columns before it (collinear)"
        notes.append(
            f"moderator {cols[j]!r} {why}, so its effect cannot be estimated: it was dropped "
            "from the model (as metafor drops redundant predictors)"
        )
    return keep, notes


def meta_regression(
    yi: object,
    vi: object,
    moderators: object,
    method: str = "REML",
    intercept: bool = True,
    names: Sequence[str] | None = None,
    test: str = "z",
    level: float = 0.95,
    r2: bool = True,
) -> MetaRegressionResult:
    """Mixed-effects meta-regression of ``yi`` (variances ``vi``) on ``moderators``.

    ``moderators``: 1-d (one moderator) or (k x m). ``method``: REML (default), ML, PM, EB,
    DL, HS, SJ, HE or EE. ``test``: "z" (Wald) or "knha" (Knapp-Hartung t on k-p df).
    ``r2=False`` skips the intercept-only fit that R2 needs (faster, r2 = None).
    A moderator without variation, or collinear with the columns before it, is dropped with
    a note, as metafor drops redundant predictors (with none left, QM tests the intercept
    and r2 is None, as metafor). Raises ValueError for k <= p or missing values."""
    if method not in REGRESSION_METHODS:
        raise ValueError(
            f"unknown method {method!r}; choose one of {', '.join(REGRESSION_METHODS)}"
        )
    if test not in ("z", "knha"):
        raise ValueError(f"unknown test {test!r}; choose 'z' or 'knha'")
    y, v = check_inputs(yi, vi)
    k = y.size
    x, cols, notes = _design(moderators, k, intercept, names)
    p = x.shape[1]
    yc = y - y.mean()
    with rma.weights_in_range(v):
        fit_t = tau2_design(method, x, yc, v)
    tau2 = fit_t.tau2
    f = WLS(x, y, v, tau2)
    beta = f.beta
    vb = f.a_inv.copy()
    if test == "knha":
        rss = f.ypy()
        s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - p)
        vb = s2w * vb
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat, pval, crit = wald_or_t(beta, se, k - p if test == "knha" else None, level)
    # metafor's default btt: every coefficient but the intercept; the intercept when alone
    btt = np.arange(1, p) if intercept and p > 1 else np.arange(p)
    m = btt.size
    if m > 0:
        sub = vb[np.ix_(btt, btt)]
        try:
            qm = float(beta[btt] @ linalg.cho_solve(linalg.cho_factor(sub), beta[btt]))
        except linalg.LinAlgError:
            qm = math.nan
    else:
        qm = math.nan
    if test == "knha":
        qm = qm / m if m else math.nan
        qm_p = float(stats.f.sf(qm, m, k - p)) if m else math.nan
    else:
        qm_p = float(special.chdtrc(m, qm)) if m else math.nan
    # residual heterogeneity about the common-effect (tau2 = 0) fit
    f0 = WLS(x, yc, v, 0.0)
    qe = max(0.0, f0.ypy())
    qe_p = float(special.chdtrc(k - p, qe))
    if method == "EE":
        i2 = i2_common(qe, k - p)
        h2 = qe / (k - p)
    else:
        # numpy's division, as pooling's: a trace that rounds to 0 (one vi ~1e-18 beside the
        # others) gives s2 = inf (I2 = 0), not ZeroDivisionError
        with np.errstate(divide="ignore"):
            i2, h2 = i2_h2(tau2, np.float64(k - p) / np.float64(f0.tr_p()))
    notes += [fit_t.note] if fit_t.note else []
    r2_val: float | None = None
    if intercept and p > 1 and r2:
        if method == "EE":
            r2_val = _r2_ee(x, y, v)
        else:
            t_re = tau2_design(method, np.ones((k, 1)), yc, v)
            if not t_re.converged:
                r2_val = math.nan
                notes.append("the intercept-only fit for R2 did not converge")
            else:
                # metafor: R2 = 0 when tau2_RE is 0, else (tau2_RE - tau2) / tau2_RE
                t_re_val = t_re.tau2
                r2_val = 0.0 if t_re_val == 0 else max(0.0, 100.0 * (t_re_val - tau2) / t_re_val)
    return MetaRegressionResult(
        coef=beta,
        se=se,
        stat=stat,
        pvalue=np.asarray(pval, dtype=float),
        ci_low=beta - crit * se,
        ci_high=beta + crit * se,
        vcov=vb,
        names=cols,
        qm=qm,
        qm_df=int(m),
        qm_pvalue=qm_p,
        qe=qe,
        qe_df=k - p,
        qe_pvalue=qe_p,
        tau2=tau2,
        i2=float(i2),
        h2=float(h2),
        r2=r2_val,
        k=k,
        p=p,
        method=method,
        test=test,
        level=level,
        intercept=intercept,
        x=x,
        yi=y,
        vi=v,
        converged=fit_t.converged,
        note="; ".join(notes) or None,
    )


def _r2_ee(x: np.ndarray, y: np.ndarray, v: np.ndarray) -> float:
    """metafor's R2 for a common-effect model: adjusted R2 of lm(yi ~ X, weights = 1/vi)."""
    k, p = x.shape
    w = 1.0 / v
    f = WLS(x, y, v, 0.0)
    rss = float((w * f.r**2).sum())
    ybar = float((w * y).sum() / w.sum())
    tss = float((w * (y - ybar) ** 2).sum())
    if tss == 0:
        return 0.0
    adj = 1.0 - (1.0 - (1.0 - rss / tss)) * (k - 1) / (k - p)
    return max(0.0, 100.0 * adj)
