"""AppTest: the small-study-effects page over a set of links; no exception, and the numbers
shown (tests table, meta-regression metrics, chart data) equal core results for the view."""

from __future__ import annotations

import dataclasses
import math
from urllib.parse import parse_qs

import numpy as np
import pandas as pd
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from core.data.dataset import load_bundled
from core.state.view import FIELD_BY_NAME, parse_query
from core.stats.bias import begg_test, egger_test, trim_and_fill
from core.stats.subgroups import meta_regression
from core.views.analysis import analyse
from tests.app.conftest import APP, PAGES, metric_values, open_app
from ui.blocks import fmt_ci, fmt_p, fmt_ratio

ALL = (
    "scope=all&design=RCT,PSM,retrospective,prospective-nonrandomized"
    "&indication=PVTT,narrow_margin,MVI,other&rt=external,internal"
)
LINKS = {
    "default": "",  # OS, k = 3 (two of them interpolated)
    "default_dfs": "v=2&outcome=DFS",  # the default view with DFS chosen, k = 3
    "exact_k1": "tpoint=exact",  # rates only where reported at 2 years: OS has k = 1
    "k2_hr": ALL + "&measure=HR",
    "k2_exclude": "v=2&outcome=DFS&exclude=Shi2022",
    "k3": "outcome=DFS",
    "k3_tf_year": "outcome=DFS&tf=1&mod=year",
    "k5_tf": ALL + "&tpoint=interp&outcome=DFS&t_dfs=2&tf=1",
    "k5_year_hksj": ALL + "&tpoint=interp&outcome=DFS&t_dfs=2&mod=year&ci=hksj",
    "k0": "rt=internal&indication=other",
}
_RUNS: dict = {}


@pytest.fixture(scope="module")
def ds():
    return load_bundled()


def run(query: str):
    if query not in _RUNS:
        _RUNS[query] = open_app(query, "bias")
    return _RUNS[query]


def view(query: str, ds):
    state = parse_query(query).state
    oa = analyse(state, ds).outcomes[state.outcome]
    inc = oa.rows[oa.rows["included"]].reset_index(drop=True)
    return state, oa, inc


def asymmetry_table(at) -> pd.DataFrame | None:
    for d in at.dataframe:
        if "Test" in d.value.columns:
            return d.value
    return None


def texts(at) -> str:
    parts = [x.value for x in (*at.info, *at.warning, *at.caption, *at.markdown)]
    return "\n".join(str(p) for p in parts)


def charts(at) -> list[list[pd.DataFrame]]:
    """Per chart on the page, its datasets."""
    return [
        [convert_arrow_bytes_to_pandas_df(d.data.data) for d in chart.proto.datasets]
        for chart in at.get("vega_lite_chart")
    ]


def with_column(at, column: str) -> list[pd.DataFrame]:
    """Datasets (of any chart) that have ``column``."""
    return [f for frames in charts(at) for f in frames if column in f.columns]


@pytest.mark.parametrize("name", list(LINKS))
def test_no_exception(name):
    at = run(LINKS[name])
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Small-study effects"


def test_exact_k1_says_why_instead_of_charts(ds):
    at = run(LINKS["exact_k1"])
    _, _, inc = view(LINKS["exact_k1"], ds)
    assert len(inc) == 1
    body = texts(at)
    assert "A funnel plot needs at least two studies; this selection has k = 1." in body
    assert "cannot be computed" in body
    assert asymmetry_table(at) is None
    assert "Ratio of ORs per point" not in metric_values(at)
    assert "widen the filters in the sidebar or allow interpolated rates." in body


@pytest.mark.parametrize("name", ["k2_hr", "k2_exclude"])
def test_k2_funnel_but_no_tests(name, ds):
    at = run(LINKS[name])
    _, _, inc = view(LINKS[name], ds)
    assert len(inc) == 2
    assert asymmetry_table(at) is None
    assert "this selection has k = 2, so they cannot be computed" in texts(at)
    assert "needs at least three studies" in texts(at)
    assert "allow interpolated rates" not in texts(at)  # already allowed, or hazard ratios
    assert len(with_column(at, "region")) == 1
    (pts,) = with_column(at, "ci_text")
    assert sorted(pts["yi"]) == pytest.approx(sorted(inc["yi"]))
    assert sorted(pts["label"]) == sorted(inc["label"])


@pytest.mark.parametrize("name", ["default", "default_dfs"])
def test_default_link_draws_funnel_and_meta_regression_for_both_outcomes(name, ds):
    """The default link pools 3 studies for OS and for DFS: the funnel plot and the
    meta-regression bubble plot are drawn, with core's studies, and no chart is explained away."""
    at = run(LINKS[name])
    state, _, inc = view(LINKS[name], ds)
    assert state.tpoint == "interp" and len(inc) == 3
    assert not at.exception
    assert [i.value for i in at.info] == []
    assert len(at.get("vega_lite_chart")) == 2  # funnel, bubble
    assert len(with_column(at, "region")) == 1  # the funnel's contours
    (pts,) = with_column(at, "ci_text")
    assert sorted(pts["yi"]) == pytest.approx(sorted(inc["yi"]))
    assert sorted(pts["label"]) == sorted(inc["label"])
    (bubbles,) = with_column(at, "ratio_text")
    assert len(bubbles) == 3
    assert asymmetry_table(at) is not None


@pytest.mark.parametrize(
    "name", ["default", "default_dfs", "k3", "k3_tf_year", "k5_tf", "k5_year_hksj"]
)
def test_tests_table_equals_core(name, ds):
    at = run(LINKS[name])
    state, _, inc = view(LINKS[name], ds)
    y, v = inc["yi"].to_numpy(float), inc["vi"].to_numpy(float)
    table = asymmetry_table(at)
    assert table is not None and len(table) == 4
    lm = egger_test(y, v, model="lm")
    rma = egger_test(y, v, model="rma", method=state.method)
    begg = begg_test(y, v)
    tf = trim_and_fill(y, v, method=state.method)
    rows = table.set_index("Test")
    lm_row = rows.loc["Egger's regression test (classical, weighted least squares)"]
    assert lm_row["Statistic"] == f"t = {lm.stat:.2f} (df = {len(inc) - 2})"
    assert lm_row["p"] == fmt_p(lm.pvalue)
    rma_row = rows.loc[f"Egger's regression test (mixed-effects, {state.method})"]
    assert rma_row["Statistic"] == f"z = {rma.stat:.2f}"
    assert rma_row["p"] == fmt_p(rma.pvalue)
    begg_row = rows.loc["Begg's rank correlation test"]
    assert begg_row["Statistic"] == f"Kendall's τ = {begg.tau:.3f}"
    assert begg_row["p"] == fmt_p(begg.pvalue)
    tf_row = rows.loc[f"Trim and fill (L0, {state.method})"]
    assert f"k0 = {tf.k0}" in tf_row["Statistic"]
    ci = fmt_ci(math.exp(tf.ci_low), math.exp(tf.ci_high))
    adjusted = f"{fmt_ratio(math.exp(tf.estimate))} (95% CI {ci}"
    assert f"adjusted OR {adjusted}" in tf_row["Result"]
    assert f"k = {len(inc)}. With fewer than 10 studies" in texts(at)


@pytest.mark.parametrize("name", ["k3_tf_year", "k5_tf"])
def test_trim_and_fill_on_the_funnel(name, ds):
    at = run(LINKS[name])
    state, _, inc = view(LINKS[name], ds)
    assert state.tf
    tf = trim_and_fill(inc["yi"].to_numpy(float), inc["vi"].to_numpy(float), method=state.method)
    (pts,) = with_column(at, "ci_text")
    filled = pts[pts["kind"] == "filled"]
    assert len(filled) == tf.k0
    assert sorted(filled["yi"]) == pytest.approx(sorted(tf.filled_yi))
    assert at.toggle(key="w_bias_tf").value is True
    if tf.k0 == 0:
        assert "Trim and fill estimates no missing studies" in texts(at)


@pytest.mark.parametrize(
    "name", ["default", "default_dfs", "k3", "k3_tf_year", "k5_tf", "k5_year_hksj"]
)
def test_meta_regression_equals_core(name, ds):
    at = run(LINKS[name])
    state, _, inc = view(LINKS[name], ds)
    (mod,) = state.mod  # one moderator: the bubble plot and its tiles
    column = {"quality": "quality_score", "year": "year"}[mod]
    x = pd.to_numeric(ds.studies.set_index("study_id").loc[inc["study_id"], column]).to_numpy(float)
    keep = np.isfinite(x)
    test = "knha" if state.ci == "hksj" else "z"
    fit = meta_regression(
        inc["yi"].to_numpy(float)[keep],
        inc["vi"].to_numpy(float)[keep],
        x[keep],
        method=state.method,
        test=test,
    )
    unit = "point" if mod == "quality" else "year"
    shown = metric_values(at)
    assert shown[f"Ratio of ORs per {unit}"] == [fmt_ratio(math.exp(fit.coef[1]))]
    assert shown["95% CI"] == [fmt_ci(math.exp(fit.ci_low[1]), math.exp(fit.ci_high[1]))]
    assert shown[f"p ({'t' if test == 'knha' else 'z'})"] == [fmt_p(float(fit.pvalue[1]))]
    assert shown["R²"] == [f"{fit.r2:.1f}%"]
    assert f"residual τ² = {fit.tau2:.4f}" in texts(at)
    assert at.multiselect(key="w_bias_mod").value == [mod]
    (line,) = with_column(at, "pred")
    assert line["pred"].to_numpy() == pytest.approx(fit.predict(line["x"].to_numpy()).pred)
    (pts,) = with_column(at, "ratio_text")
    assert pts["weight"].to_numpy() == pytest.approx(fit.weights)


def test_studies_without_a_year_are_left_out_with_the_reason(ds):
    """An uploaded dataset where Yu 2014 has no year: the meta-regression on year uses the
    other studies and lists Yu 2014 with the reason."""
    studies = ds.studies.copy()
    studies["year"] = studies["year"].astype("Float64")
    studies.loc[studies["study_id"] == "Yu2014", "year"] = pd.NA
    upload = dataclasses.replace(ds, studies=studies)
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["upload"] = ("test-upload", upload)
    query = LINKS["k5_year_hksj"]
    for key, values in parse_qs(query).items():
        at.query_params[key] = values if len(values) > 1 else values[0]
    at.run()
    at.switch_page(PAGES["bias"])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    left_out = [d.value for d in at.dataframe if list(d.value.columns) == ["Study", "Why not"]]
    assert left_out[0].to_dict("records") == [
        {"Study": "Yu 2014", "Why not": "no publication year in the dataset"}
    ]
    state, _, inc = view(query, ds)
    keep = (inc["study_id"] != "Yu2014").to_numpy()
    x = pd.to_numeric(ds.studies.set_index("study_id").loc[inc["study_id"], "year"])
    fit = meta_regression(
        inc["yi"].to_numpy(float)[keep],
        inc["vi"].to_numpy(float)[keep],
        x.to_numpy(float)[keep],
        method=state.method,
        test="knha",
    )
    assert metric_values(at)["Ratio of ORs per year"] == [fmt_ratio(math.exp(fit.coef[1]))]
    assert f"(k = {keep.sum()})" in texts(at)


# Mantel-Haenszel and Peto: the page says why not (tests/app/test_measures_pages.py); the
# Bayesian model: the page refits REML (tests/app/test_bayes_pages.py)
@pytest.mark.parametrize(
    "method", [m for m in FIELD_BY_NAME["method"].allowed if m not in ("MH", "PETO", "BAYES")]
)
def test_every_estimator(method, ds):
    query = f"outcome=DFS&method={method}"
    at = run(query)
    assert not at.exception, [e.value for e in at.exception]
    _, _, inc = view(query, ds)
    y, v = inc["yi"].to_numpy(float), inc["vi"].to_numpy(float)
    rows = asymmetry_table(at).set_index("Test")
    rma = egger_test(y, v, model="rma", method=method)
    assert rows.loc[f"Egger's regression test (mixed-effects, {method})", "p"] == fmt_p(rma.pvalue)
    tf_method = method if method in ("REML", "ML", "DL", "EE") else "REML"
    tf = trim_and_fill(y, v, method=tf_method)
    assert f"k0 = {tf.k0}" in rows.loc[f"Trim and fill (L0, {tf_method})", "Statistic"]
    if tf_method != method:
        assert f"not available with the {method} estimator" in texts(at)
    x = ds.studies.set_index("study_id").loc[inc["study_id"], "quality_score"].to_numpy(float)
    fit = meta_regression(y, v, x, method=method)
    assert metric_values(at)["Ratio of ORs per point"] == [fmt_ratio(math.exp(fit.coef[1]))]


def test_no_study_says_why(ds):
    at = run(LINKS["k0"])
    _, oa, _ = view(LINKS["k0"], ds)
    assert oa.pooled is None
    assert oa.message in [w.value for w in at.warning]


def test_widgets_write_the_link():
    at = open_app("outcome=DFS", "bias")
    at.toggle(key="w_bias_tf").set_value(True).run()
    assert not at.exception
    assert at.query_params.get("tf") in ("1", ["1"])
    at.multiselect(key="w_bias_mod").set_value(["year"]).run()
    assert at.query_params.get("mod") in ("year", ["year"])
    assert "Ratio of ORs per year" in metric_values(at)
    assert at.toggle(key="w_bias_tf").value is True
