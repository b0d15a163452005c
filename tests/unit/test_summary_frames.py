"""One tidy ``summary_frame()`` per kind of fit, and the pages' tables and the command line's
JSON read it: Egger, Begg, trim and fill, leave-one-out, cumulative, influence, Baujat, GOSH,
the Bayesian model and Mantel-Haenszel. Each frame is checked against its result's fields
(names as metafor prints them), and each table or JSON against the frame (their values
against metafor are the conformance tests')."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import fmt
from core.data.dataset import load_files
from core.state.view import parse_query
from core.stats import bayes, bias, sensitivity
from core.stats.effects import escalc, exp_ratio
from core.stats.mh import mantel_haenszel
from core.stats.pooling import pool, tau2_ci
from core.stats.subgroups import subgroup_analysis
from core.stats.survival import cox_two_arms
from core.stats.tidy import one_row_frame
from core.views import bias as bias_views
from core.views import sensitivity as sens_views
from core.views.analysis import analyse, prior_sensitivity_line
from core.views.plain import JSON_NAMES, fit_json
from tests.cli_json import cli_json

BCG = Path(__file__).resolve().parents[1] / "fixtures" / "bcg"
BCG_ALL = (
    "outcome=DFS&indication=other&scope=all&design=RCT,PSM,retrospective,prospective-nonrandomized"
)
# BCG trials (metafor's dat.bcg): log risk ratios and their variances, 13 studies
Y = np.array([-0.8893, -1.5854, -1.3481, -1.4416, -0.2175, -0.7861, -1.6209, 0.012, -0.4694,
              -1.3713, -0.3394, 0.4459, -0.0173])  # fmt: skip
V = np.array([0.3256, 0.1946, 0.4154, 0.02, 0.0512, 0.0069, 0.2230, 0.0040, 0.0564, 0.0730,
              0.0124, 0.5325, 0.0714])  # fmt: skip


def _same(frame: pd.DataFrame, column: str, values: object) -> None:
    np.testing.assert_allclose(frame[column].to_numpy(float), np.asarray(values, float), rtol=0)


@pytest.mark.parametrize("model", ["lm", "rma"])
def test_egger_frame_has_regtests_fields(model):
    e = bias.egger_test(Y, V, model=model)
    frame = e.summary_frame()
    stat = "tval" if model == "lm" else "zval"
    assert list(frame.index) == [model] and frame.index.name == "model"
    assert list(frame.columns) == [
        stat, "df", "pval", "slope", "slope_se", "limit_estimate", "limit_ci_low",
        "limit_ci_high", "tau2", "k", "method",
    ]  # fmt: skip
    row = e.summary_row()
    assert row[stat] == e.stat and row["pval"] == e.pvalue and row["slope"] == e.slope
    assert row["limit_estimate"] == e.limit_estimate and row["k"] == 13
    assert (row["df"] == 11.0) if model == "lm" else math.isnan(row["df"])
    assert row["method"] == (None if model == "lm" else "REML")


def test_begg_and_trim_and_fill_frames():
    b = bias.begg_test(Y, V)
    assert b.summary_row() == {"tau": b.tau, "pval": b.pvalue, "exact": True, "k": 13}
    tf = bias.trim_and_fill(Y, V, method="REML")
    row = tf.summary_row()
    assert row["method"] == "REML" and row["k0"] == tf.k0 and row["side"] == tf.side
    assert row["zval"] == tf.stat and row["pval"] == tf.pvalue and row["k"] == 13 + tf.k0
    assert (row["estimate"], row["ci_low"], row["ci_high"]) == (tf.estimate, tf.ci_low, tf.ci_high)
    assert row["original_estimate"] == pool(Y, V).estimate


def test_fit_json_renames_to_the_jsons_names():
    doc = fit_json(bias.egger_test(Y, V, model="lm").summary_row())
    assert {"stat", "pvalue", "model"} <= set(doc) and not set(doc) & set(JSON_NAMES)
    assert doc["method"] is None


ONE_ROW = {
    "pool": lambda: pool(Y, V, ci="hksj"),
    "egger": lambda: bias.egger_test(Y, V),
    "begg": lambda: bias.begg_test(Y, V),
    "trim_and_fill": lambda: bias.trim_and_fill(Y, V),
    "bayes": lambda: bayes.bayes_meta(Y, V),
    "cox": lambda: cox_two_arms([1.0, 2, 3, 4], [1, 1, 1, 1], [1.0, 0, 1, 0]),
}


@pytest.mark.parametrize("kind", list(ONE_ROW))
def test_a_one_row_frame_is_its_summary_row(kind):
    res = ONE_ROW[kind]()
    frame, row = res.summary_frame(), res.summary_row()
    assert len(frame) == 1
    flat = frame.reset_index(drop=frame.index.name is None).to_dict("records")[0]
    assert list(flat) == list(row)
    for c, value in row.items():
        assert flat[c] == value or (flat[c] != flat[c] and value != value), c  # NaN == NaN
    pd.testing.assert_frame_equal(frame, one_row_frame(row, frame.index.name))


@pytest.mark.parametrize("ci", ["wald", "hksj"])
def test_refit_frames_are_pool_frames_row_by_row(ci):
    loo = sensitivity.leave_one_out(Y, V, ci=ci).summary_frame()
    assert loo.index.name == "omitted" and list(loo.index) == list(range(13))
    stat = "tval" if ci == "hksj" else "zval"
    without_3 = pool(np.delete(Y, 3), np.delete(V, 3), ci=ci).summary_frame().iloc[0]
    for col in ("estimate", "se", stat, "pval", "ci_low", "ci_high", "tau2", "i2", "q", "k"):
        assert loo.at[3, col] == pytest.approx(without_3[col], rel=1e-10, abs=1e-12), col
    order = np.argsort(-V, kind="stable")
    cum = sensitivity.cumulative(Y, V, order=order, ci=ci).summary_frame()
    assert cum.index.name == "step" and list(cum["added"]) == list(order)
    first_three = pool(Y[order[:3]], V[order[:3]], ci=ci).summary_frame().iloc[0]
    assert cum.at[2, "estimate"] == pytest.approx(first_three["estimate"], rel=1e-10)
    assert cum.at[0, "i2"] == 0.0 and cum.at[0, "h2"] == 1.0  # one study, as metafor


def test_influence_baujat_and_gosh_frames():
    inf = sensitivity.influence(Y, V)
    frame = inf.summary_frame()
    assert frame.index.name == "study" and len(frame) == 13
    _same(frame, "cook_d", inf.cooks_d)
    _same(frame, "qe_del", inf.q_del)
    assert list(frame["influential"]) == list(inf.influential)
    bj = sensitivity.baujat(Y, V).summary_frame()
    assert list(bj.columns) == ["x", "y"] and len(bj) == 13
    g = sensitivity.gosh(Y[:5], V[:5], method="DL")
    gf = g.summary_frame()
    assert len(gf) == 31 and list(gf["k"]) == list(g.membership.sum(axis=1))
    every = int(np.flatnonzero(g.membership.all(axis=1))[0])
    assert gf.at[every, "estimate"] == pytest.approx(pool(Y[:5], V[:5], "DL").estimate, rel=1e-12)


def test_bayes_frame():
    res = bayes.bayes_meta(Y, V, tau_prior=0.5)
    row = res.summary_row()
    assert row.pop("model") == "BAYES" and row.pop("k") == 13
    assert row == {c: getattr(res, c) for c in row}
    assert isinstance(res.summary_row()["k"], int)


@pytest.fixture(scope="module")
def bcg():
    ds, report = load_files({p.name: p.read_bytes() for p in sorted(BCG.glob("*.csv"))})
    assert ds is not None, report.text()
    return ds


def _included(ds, link):
    state = parse_query(link).state
    oa = analyse(state, ds).outcomes[state.outcome]
    inc = oa.rows[oa.rows["included"]].reset_index(drop=True)
    return state, oa, inc, inc["yi"].to_numpy(float), inc["vi"].to_numpy(float)


@pytest.mark.parametrize("extra", ["&tf=1", "&method=DL&ci=hksj"])
def test_bias_page_table_and_cli_json_read_the_tests_frames(bcg, extra):
    link = BCG_ALL + extra
    state, oa, _, y, v = _included(bcg, link)
    lm = bias.egger_test(y, v, model="lm").summary_row()
    rma = bias.egger_test(y, v, model="rma", method=state.method).summary_row()
    begg = bias.begg_test(y, v).summary_row()
    tf = bias.trim_and_fill(y, v, method=bias_views.tf_method(state.method))
    table = bias_views.bias_view(state, oa, bcg.studies).table.set_index("Test")
    rows = list(table.index)
    assert table.at[rows[0], "Statistic"] == f"t = {fmt.stat(lm['tval'])} (df = 11)"
    assert table.at[rows[1], "p"] == fmt.p_value(rma["pval"])
    assert table.at[rows[2], "Statistic"] == f"Kendall's τ = {fmt.rank_correlation(begg['tau'])}"
    assert fmt.ratio(exp_ratio(tf.summary_row()["estimate"])) in table.iat[3, 2]
    doc = cli_json("bias", link, BCG)["tests"]
    assert doc["egger_lm"] == fit_json(bias.egger_test(y, v, model="lm").summary_row())
    assert doc["egger_rma"]["stat"] == rma["zval"] and doc["begg"]["pvalue"] == begg["pval"]
    want = fit_json(tf.summary_row()) | {"filled_yi": list(tf.filled_yi)}
    assert {k: doc["trim_and_fill"][k] for k in want} == want


def test_sensitivity_tables_and_cli_json_read_the_refit_frames(bcg):
    link = BCG_ALL + "&method=PM&ci=hksj&order=year"
    _, _, inc, y, v = _included(bcg, link)
    doc = cli_json("sensitivity", link, BCG)
    loo = sensitivity.leave_one_out(y, v, method="PM", ci="hksj").summary_frame()
    rows = pd.DataFrame(doc["leave_one_out"]["rows"])
    omit = rows[rows["kind"] == "omit"]
    _same(omit, "estimate", loo["estimate"])
    _same(omit, "pvalue", loo["pval"])
    _same(omit, "tau2", loo["tau2"])
    full = pool(y, v, method="PM", ci="hksj").summary_row()
    assert rows.iloc[-1]["ci_high"] == full["ci_high"] and rows.iloc[-1]["k"] == full["k"]
    year = bcg.studies.set_index("study_id").loc[inc["study_id"], "year"]
    order = sens_views.cumulative_order(year, year, "year")
    cum = sensitivity.cumulative(y, v, order=order, method="PM", ci="hksj").summary_frame()
    steps = pd.DataFrame(doc["cumulative"]["rows"])
    assert list(steps["label"]) == [f"+ {inc['label'][i]}" for i in cum["added"]]
    _same(steps, "ci_low", cum["ci_low"])
    _same(steps, "i2", cum["i2"])
    inf = sensitivity.influence(y, v, method="PM", ci="hksj").summary_frame()
    diag = pd.DataFrame(doc["influence"]["rows"])
    _same(diag, "rstudent", inf["rstudent"])
    _same(diag, "cov_r", inf["cov_r"])
    _same(diag, "y", sensitivity.baujat(y, v, method="PM", ci="hksj").summary_frame()["y"])
    gosh = sens_views.gosh_frame(inc, "DL")
    g = sensitivity.gosh(y, v, method="DL", max_subsets=sens_views.GOSH_MAX_SUBSETS,
                         seed=sens_views.GOSH_SEED).summary_frame()  # fmt: skip
    _same(gosh, "i2", g["i2"])


def test_cli_json_and_prior_line_read_the_bayes_frames(bcg):
    link = BCG_ALL + "&method=BAYES"
    _, oa, _, y, v = _included(bcg, link)
    pooled = cli_json("analyze", link, BCG)["DFS"]["pooled"]
    row = oa.bayes.summary_row()
    for col in ("tau_prior", "tau_median", "tau_low", "tau_high", "mu_mean", "p_benefit"):
        assert pooled[col] == row[col], col
    line = prior_sensitivity_line(oa, "RR")
    for res in bayes.prior_sensitivity(y, v):
        fit = res.summary_row()
        assert f"{fmt.number(fit['tau_prior'])}: {fmt.probability(fit['p_benefit'])}, " in line


def test_mantel_haenszel_frame_is_its_pool_result_frame_and_the_panel_reads_it():
    counts = ([4, 6, 3, 62], [123, 306, 231, 13598], [11, 29, 11, 248], [139, 303, 220, 12867])
    ai, n1, ci, n2 = (np.array(x, float) for x in counts)
    mh = mantel_haenszel(ai, n1, ci, n2)
    frame = mh.summary_frame()
    assert list(frame.index) == ["MH"] and frame.index.name == "model"
    row = mh.summary_row()
    assert (row["estimate"], row["zval"], row["pval"]) == (mh.estimate, mh.stat, mh.pvalue)
    assert row["tau2"] == 0.0 and math.isnan(row["pi_low"]) and row["df"] == 3
    es = escalc("OR", ai, n1, ci, n2)
    y, v = es.yi, es.vi
    panel = sens_views.estimator_panel(y, v, (ai, n1, ci, n2)).set_index("method")
    assert panel.at["MH", "pvalue"] == row["pval"] and panel.at["MH", "i2"] == row["i2"]
    reml = pool(y, v, method="REML", ci="hksj").summary_row()
    shown = panel[panel["ci"] == "hksj"].loc["REML"]
    assert (shown["tau2"], shown["ci_low"]) == (reml["tau2"], reml["ci_low"])
    one_arm_empty = sens_views.estimator_panel(y, v, (ai * 0, n1, ci * 0, n2)).set_index("method")
    assert math.isnan(one_arm_empty.at["Peto", "estimate"])
    assert one_arm_empty.at["Peto", "note"] != "" and one_arm_empty.at["Peto", "k"] == 4


def test_subgroup_cox_and_tau2_ci_frames():
    labels = np.array(["a", "b"] * 6 + ["a"])
    sg = subgroup_analysis(Y, V, labels, method="DL")
    frame = sg.summary_frame()
    assert list(frame.index) == ["a", "b"] and frame.index.name == "group"
    b = pool(Y[labels == "b"], V[labels == "b"], method="DL").summary_frame().iloc[0]
    assert frame.loc["b"].to_dict() == b.to_dict()
    ci = tau2_ci(Y, V, method="REML")
    tf = ci.summary_frame()
    fit = pool(Y, V, method="REML")
    assert tf.at["i2", "estimate"] == pytest.approx(fit.i2, rel=1e-12)
    assert tf.at["h2", "estimate"] == pytest.approx(fit.h2, rel=1e-12)
    assert tf.at["tau", "ci_high"] == math.sqrt(ci.tau2_high) and tf.at["i2", "ci_low"] == ci.i2_low
    cox = cox_two_arms(np.array([1.0, 2, 3, 4, 5, 6]), np.array([1, 1, 0, 1, 1, 1]),
                       np.array([1.0, 0, 1, 0, 1, 0]))  # fmt: skip
    row = cox.summary_row()
    assert row.pop("covariate") == "rt"
    assert row.pop("estimate") == cox.beta
    assert row == {
        c: getattr(cox, c) for c in ("se", "hr", "ci_low", "ci_high", "loglik", "iterations")
    }
