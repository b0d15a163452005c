"""The Small-study effects page as data: ``ViewState`` + dataset -> funnel points, Egger's
and Begg's tests, trim and fill and a meta-regression on numeric study columns, with the
texts the page shows.

Tests whose cost grows quickly with k decline above a limit with a plain message
(``RANK_MAX_K`` for Begg's exact test and trim and fill, ``FIT_MAX_K`` for the mixed-effects
fits, ``FUNNEL_MAX_K`` for the plot), so any k up to the schema's row limit returns in
seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np
import pandas as pd

from core import fmt
from core.charts.bias import bubble_frames, funnel_frame
from core.fmt import p_value, ratio, ratio_ci
from core.state.view import ViewState
from core.stats.bias import (
    BeggTest,
    EggerTest,
    FunnelData,
    TrimAndFill,
    begg_test,
    egger_test,
    funnel_data,
    trim_and_fill,
)
from core.stats.effects import exp_ratio
from core.stats.subgroups import MetaRegressionResult, meta_regression
from core.views.analysis import OutcomeAnalysis
from core.views.messages import too_many
from core.views.plain import fit_json, plain, records

#: tau2 estimators core.stats.bias.trim_and_fill follows metafor with; others fall back to REML.
TF_METHODS = ("REML", "ML", "DL", "EE")
#: Begg's exact test and trim and fill grow faster than k^2: above this k they decline.
RANK_MAX_K = 200
#: Mixed-effects Egger and the meta-regression hold k x k matrices: above this k they decline.
FIT_MAX_K = 2000
#: The funnel plot draws every study: above this k (Altair's row limit) it declines.
FUNNEL_MAX_K = 5000
MODERATORS = {"quality": ("quality_score", "Quality score"), "year": ("year", "Publication year")}
MISSING_REASON = {"quality": "no quality score", "year": "no publication year in the dataset"}
LOW_POWER = (
    "With fewer than 10 studies these tests have little power: a non-significant result "
    "does not show that small-study effects are absent, and a significant one can arise from "
    "heterogeneity or chance."
)
SIDE = {"left": "left (lower ratios)", "right": "right (higher ratios)"}


def tf_method(method: str) -> str:
    """The tau2 estimator trim and fill uses for ``method``."""
    return method if method in TF_METHODS else "REML"


def run_trim_and_fill(y: np.ndarray, v: np.ndarray, method: str) -> TrimAndFill | str:
    """The trim-and-fill result, or why it cannot be computed."""
    if y.size < 3:
        return f"Trim and fill needs at least three studies; this selection has {y.size}."
    if y.size > RANK_MAX_K:
        return too_many("Trim and fill", RANK_MAX_K, y.size)
    try:
        return trim_and_fill(y, v, method=tf_method(method))
    except ValueError as err:
        return f"Trim and fill cannot be computed here: {err}."


@dataclass(frozen=True)
class AsymmetryTests:
    """The tests the page's table shows; each is its result or why it is not computed."""

    egger_lm: EggerTest | str
    egger_rma: EggerTest | str
    begg: BeggTest | str
    trim_and_fill: TrimAndFill | str


_Test = TypeVar("_Test")
_Result = EggerTest | BeggTest | TrimAndFill


def asymmetry_tests(
    y: np.ndarray, v: np.ndarray, method: str, tf: TrimAndFill | str
) -> AsymmetryTests:
    """Egger (classical and mixed-effects with ``method``), Begg, and ``tf``
    (``run_trim_and_fill``)."""

    def run(fn: Callable[[], _Test], limit: int, what: str) -> _Test | str:
        if y.size > limit:
            return too_many(what, limit, y.size)
        try:
            return fn()
        except ValueError as err:
            return f"Cannot be computed: {err}"

    lm = run(lambda: egger_test(y, v, model="lm"), FIT_MAX_K, "Egger's classical test")
    rma = run(lambda: egger_test(y, v, model="rma", method=method), FIT_MAX_K, "Egger's mixed test")
    begg = run(lambda: begg_test(y, v), RANK_MAX_K, "Begg's test")
    return AsymmetryTests(lm, rma, begg, tf)


def _failed(test: str, why: str) -> dict[str, str]:
    return {"Test": test, "Statistic": "–", "p": "–", "Result": why}


def tests_table(t: AsymmetryTests, method: str, name: str) -> pd.DataFrame:
    """Egger (classical and mixed-effects), Begg and trim and fill, one row each, in words
    from each result's ``summary_row``."""
    tests: tuple[tuple[str, _Result | str, Callable[[dict], dict[str, str]]], ...] = (
        ("Egger's regression test (classical, weighted least squares)", t.egger_lm, _lm_words),
        (f"Egger's regression test (mixed-effects, {method})", t.egger_rma, _rma_words),
        ("Begg's rank correlation test", t.begg, _begg_words),
        ("Trim and fill", t.trim_and_fill, lambda r: _tf_words(r, name)),
    )
    rows = []
    for label, result, words in tests:
        if isinstance(result, str):
            why = result.replace("Trim and fill cannot be computed here: ", "Cannot be computed: ")
            rows.append(_failed(label, why))
        else:
            rows.append({"Test": label} | words(result.summary_row()))
    return pd.DataFrame(rows)


def _lm_words(e: dict) -> dict[str, str]:
    return {
        "Statistic": f"t = {fmt.stat(e['tval'])} (df = {fmt.count(e['df'])})",
        "p": p_value(e["pval"]),
        "Result": f"slope on SE {fmt.stat(e['slope'])} (SE {fmt.stat(e['slope_se'])})",
    }


def _rma_words(e: dict) -> dict[str, str]:
    return {
        "Statistic": f"z = {fmt.stat(e['zval'])}",
        "p": p_value(e["pval"]),
        "Result": (
            f"slope on SE {fmt.stat(e['slope'])} (SE {fmt.stat(e['slope_se'])}); "
            f"τ² = {fmt.tau2(e['tau2'])}"
        ),
    }


def _begg_words(b: dict) -> dict[str, str]:
    return {
        "Statistic": f"Kendall's τ = {fmt.rank_correlation(b['tau'])}",
        "p": p_value(b["pval"]),
        "Result": "exact p" if b["exact"] else "normal approximation (ties)",
    }


def _tf_words(tf: dict, name: str) -> dict[str, str]:
    adj = f"{ratio(exp_ratio(tf['estimate']))} (95% CI " + ratio_ci(
        exp_ratio(tf["ci_low"]), exp_ratio(tf["ci_high"])
    )
    orig = ratio(exp_ratio(tf["original_estimate"]))
    k0 = int(tf["k0"])
    return {
        "Test": f"Trim and fill ({tf['estimator']}, {tf['method']})",
        "Statistic": (
            f"k0 = {k0} missing on the {SIDE[str(tf['side'])]}"
            if k0
            else "k0 = 0: no study estimated missing"
        ),
        "p": "–",
        "Result": f"adjusted {name} {adj}, p {p_value(tf['pval'])}), unadjusted {orig}",
    }


def _numeric(column: pd.Series) -> bool:
    """Whether a studies column can be a moderator: numbers, not true/false."""
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def moderator_columns(
    studies: pd.DataFrame, mods: tuple[str, ...]
) -> tuple[tuple[tuple[str, str, str], ...], tuple[str, ...]]:
    """The link's moderators (``mod``) the dataset can give: (link value, column, title) of
    each numeric column it has, and a notice for each it cannot (absent or not numeric)."""
    usable: list[tuple[str, str, str]] = []
    notices: list[str] = []
    for mod in mods:
        column, title = MODERATORS.get(mod, (mod, mod))
        if column not in studies.columns:
            notices.append(
                f"Meta-regression moderators (mod): the dataset has no column {mod!r}; left out."
            )
        elif not _numeric(studies[column]):
            notices.append(
                f"Meta-regression moderators (mod): column {mod!r} does not hold numbers; left out."
            )
        else:
            usable.append((mod, column, title))
    return tuple(usable), tuple(notices)


def moderator_title(mod: str) -> str:
    """'Quality score', 'Publication year', or the column's own name."""
    return MODERATORS.get(mod, (mod, mod))[1]


def moderator_choices(studies: pd.DataFrame, chosen: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The moderators a user can pick: quality score and year where the dataset has them, then
    its other numeric columns, then any of ``chosen`` not among them (shown, and noticed)."""
    named = {column: mod for mod, (column, _) in MODERATORS.items()}
    numeric = [c for c in studies.columns if _numeric(studies[c])]
    out = [mod for mod, (column, _) in MODERATORS.items() if column in numeric]
    out += [c for c in numeric if c not in named]
    return tuple(dict.fromkeys([*out, *chosen]))


def coefficient_frame(fit: MetaRegressionResult, measure: str) -> pd.DataFrame:
    """The coefficients as shown: term, ratio per unit with its 95% CI, p (intercept first)."""
    return pd.DataFrame(
        {
            "Term": list(fit.names),
            f"Ratio of {measure}s (95% CI)": [
                f"{ratio(exp_ratio(b))} ({ratio_ci(exp_ratio(lo), exp_ratio(hi))})"
                for b, lo, hi in zip(fit.coef, fit.ci_low, fit.ci_high, strict=True)
            ],
            "Log scale": [fmt.coefficient(b) for b in fit.coef],
            "p": [p_value(float(x)) for x in fit.pvalue],
        }
    )


@dataclass(frozen=True, eq=False)
class Regression:
    """The meta-regression on the link's moderators fitted together: ``fit`` (with the
    bubble-plot frames ``points``/``line`` when there is one moderator), or ``message`` why
    not. ``missing``: studies without a value of a moderator (left out), ``missing_reasons``
    which; ``notices``: moderators of the link the dataset cannot give (left out)."""

    moderator: str
    title: str
    missing: tuple[str, ...]
    k: int
    test: str
    fit: MetaRegressionResult | None
    points: pd.DataFrame | None
    line: pd.DataFrame | None
    message: str | None
    warning: str | None
    moderators: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()
    missing_reasons: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()


def regression(inc: pd.DataFrame, studies: pd.DataFrame, state: ViewState) -> Regression:
    """``meta_regression`` of the included studies on the moderators of ``state.mod`` fitted
    together (Knapp-Hartung t tests with ``ci="hksj"``, else z), the studies without a value
    of one of them left out."""
    usable, notices = moderator_columns(studies, state.mod)
    mods = tuple(m for m, _, _ in usable)
    titles = tuple(t for _, _, t in usable)
    mod = ", ".join(mods) or ", ".join(state.mod)
    title = " and ".join(titles) or "the moderators"
    what = title.lower() if len(titles) == 1 else title
    test = "knha" if state.ci == "hksj" else "z"
    meta = studies.set_index("study_id")
    values = np.array(
        [
            pd.to_numeric(meta.loc[inc["study_id"], c], errors="coerce").to_numpy(float)
            for _, c, _ in usable
        ],
        dtype=float,
    ).T.reshape(len(inc), len(usable))  # (k, moderators); no moderator: (k, 0), none missing
    has = np.isfinite(values).all(axis=1)
    missing = tuple(inc.loc[~has, "label"].astype(str))
    reasons = tuple(
        "; ".join(
            MISSING_REASON.get(m, f"no value of {t.lower()}")
            for (m, _, t), ok in zip(usable, np.isfinite(row), strict=True)
            if not ok
        )
        for row in values[~has]
    )
    used = inc.loc[has]
    x = values[has]
    k = len(used)

    def declined(msg: str) -> Regression:
        return Regression(
            mod,
            title,
            missing,
            k,
            test,
            None,
            None,
            None,
            msg,
            None,
            mods,
            titles,
            reasons,
            notices,
        )

    if not usable:
        return declined("No moderator of the link is a numeric column of this dataset.")
    p = len(usable) + 1
    if k < p + 1:
        need = "three studies with a" if p == 2 else f"{p + 1} studies with a value of each"
        return declined(
            f"A meta-regression on {what} needs at least {need} {what if p == 2 else ''}".rstrip()
            + f"; this selection has {k}."
        )
    if k > FIT_MAX_K:
        return declined(too_many("The meta-regression", FIT_MAX_K, k))
    if p == 2 and np.ptp(x[:, 0]) == 0:
        return declined(
            f"All {k} studies have the same {what} ({fmt.number(x[0, 0])}), so its effect cannot "
            "be "
            "estimated."
        )
    try:
        fit = meta_regression(
            used["yi"].to_numpy(float),
            used["vi"].to_numpy(float),
            x,
            method=state.method,
            names=[t.lower() for t in titles],
            test=test,
        )
    except ValueError as err:
        return declined(f"The meta-regression cannot be computed: {err}.")
    warning = (
        f"k = {k}: a meta-regression on so few studies has little power and can mislead."
        if k < 10
        else None
    )
    points = line = None
    if fit.x.shape[1] == 2:  # one moderator (left in the model): the bubble plot
        points, line = bubble_frames(fit, used["label"].astype(str).to_list())
    return Regression(
        mod,
        title,
        missing,
        k,
        test,
        fit,
        points,
        line,
        None,
        warning,
        mods,
        titles,
        reasons,
        notices,
    )


@dataclass(frozen=True, eq=False)
class BiasView:
    """Everything the Small-study effects page shows for one outcome of one view.

    ``funnel``/``points`` (the plotted rows, filled studies included when ``state.tf``)
    are None with ``funnel_message`` saying why; ``tests``/``table`` None with
    ``tests_message``; ``low_power`` warns when k < 10.
    """

    outcome: str
    title: str
    measure: str
    state: ViewState
    k: int
    message: str | None
    funnel: FunnelData | None
    points: pd.DataFrame | None
    shown_tf: TrimAndFill | None
    funnel_message: str | None
    tf_message: str | None
    tests: AsymmetryTests | None
    table: pd.DataFrame | None
    tests_message: str | None
    low_power: str | None
    tf_note: str | None
    regression: Regression | None


def bias_view(state: ViewState, oa: OutcomeAnalysis, studies: pd.DataFrame) -> BiasView:
    """The Small-study effects page of ``oa`` (``state.outcome`` of ``analyse(state, ...)``)."""
    inc = oa.rows[oa.rows["included"]].reset_index(drop=True)
    k = len(inc)
    blank = BiasView(
        outcome=oa.outcome,
        title=oa.title,
        measure=oa.measure,
        state=state,
        k=k,
        message=oa.message or "Nothing to analyse.",
        funnel=None,
        points=None,
        shown_tf=None,
        funnel_message=None,
        tf_message=None,
        tests=None,
        table=None,
        tests_message=None,
        low_power=None,
        tf_note=None,
        regression=None,
    )
    if oa.pooled is None:
        return blank
    y, v = inc["yi"].to_numpy(float), inc["vi"].to_numpy(float)
    name = str(oa.measure)
    tests: AsymmetryTests | None = None
    table = tests_message = low_power = None
    tf: TrimAndFill | str = run_trim_and_fill(y, v, state.method)
    if k < 3:
        tests_message = (
            f"Egger's and Begg's tests and trim and fill need at least three studies; this "
            f"selection has k = {k}, so they cannot be computed."
        )
    else:
        tests = asymmetry_tests(y, v, state.method, tf)
        table = tests_table(tests, state.method, name)
        low_power = f"k = {k}. {LOW_POWER}" if k < 10 else None
    shown = tf if state.tf and isinstance(tf, TrimAndFill) and tf.k0 > 0 else None
    fd = points = None
    funnel_message: str | None = None
    if k < 2:
        funnel_message = f"A funnel plot needs at least two studies; this selection has k = {k}."
    elif k > FUNNEL_MAX_K:
        funnel_message = too_many("The funnel plot", FUNNEL_MAX_K, k)
    else:
        fd = funnel_data(y, v, estimate=oa.pooled.estimate)
        points = funnel_frame(inc, fd, shown)
    tf_note = (
        f"Trim and fill uses REML here: it is not available with the {state.method} estimator."
        if tf_method(state.method) != state.method
        else None
    )
    return replace(
        blank,
        message=None,
        funnel=fd,
        points=points,
        shown_tf=shown,
        funnel_message=funnel_message,
        tf_message=tf if isinstance(tf, str) else None,
        tests=tests,
        table=table,
        tests_message=tests_message,
        low_power=low_power,
        tf_note=tf_note,
        regression=regression(inc, studies, state),
    )


REGRESSION_FIELDS = (
    "names", "coef", "se", "stat", "pvalue", "ci_low", "ci_high", "qm", "qm_pvalue",
    "qe", "qe_df", "qe_pvalue", "tau2", "i2", "r2", "k", "method", "test", "note",
)  # fmt: skip


def _test_json(result: EggerTest | BeggTest | TrimAndFill | str) -> dict[str, object]:
    """A test's ``summary_row`` (with trim and fill's filled studies), or why it was not
    computed."""
    if isinstance(result, str):
        return {"message": result}
    doc = fit_json(result.summary_row())
    if isinstance(result, TrimAndFill):
        doc.update(filled_yi=plain(result.filled_yi), filled_vi=plain(result.filled_vi))
    return doc


def to_json(bv: BiasView) -> dict[str, object]:
    """What the Small-study effects page shows, as JSON-ready values (log scale)."""
    t = bv.tests
    reg = bv.regression
    fit = None if reg is None else reg.fit
    return {
        "outcome": bv.outcome,
        "title": bv.title,
        "measure": bv.measure,
        "method": bv.state.method,
        "ci": bv.state.ci,
        "k": bv.k,
        "message": bv.message,
        "funnel": {
            "points": records(bv.points),
            "estimate": None if bv.funnel is None else bv.funnel.estimate,
            "message": bv.funnel_message,
        },
        "tests": None
        if t is None
        else {
            "egger_lm": _test_json(t.egger_lm),
            "egger_rma": _test_json(t.egger_rma),
            "begg": _test_json(t.begg),
            "trim_and_fill": _test_json(t.trim_and_fill),
        },
        "tests_message": bv.tests_message,
        "table": records(bv.table),
        "low_power": bv.low_power,
        "tf_note": bv.tf_note,
        "regression": None
        if reg is None
        else {
            "moderator": reg.moderator,
            "moderators": list(reg.moderators),
            "notices": list(reg.notices),
            "k": reg.k,
            "missing": list(reg.missing),
            "message": reg.message,
            "warning": reg.warning,
            "fit": None if fit is None else {f: plain(getattr(fit, f)) for f in REGRESSION_FIELDS},
            "points": records(reg.points),
        },
    }
