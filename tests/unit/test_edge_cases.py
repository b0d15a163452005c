"""Numerical edge cases end to end: data -> effect sizes -> pooled result -> forest frame ->
chart -> rendered SVG. Each yields a number with a note, or a plain message; the forest plot
always draws. Expected values are worked out by hand (metafor conventions)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import vl_convert as vlc
from scipy import stats

from core.charts.forest import forest_chart
from core.data.estimable import estimable
from core.state.view import ViewState, parse_query
from core.stats import pooling, rma
from core.stats.pooling import pool, tau2_ci
from core.stats.subgroups import meta_regression, subgroup_analysis
from core.views.analysis import analyse, forest_frame
from tests.fixtures import edge

Z = float(stats.norm.isf(0.025))
HR = ViewState(measure="HR")


def draws(state: ViewState, dataset, outcome: str = "OS") -> dict:
    """Analyse, build the forest frame and chart, render it to SVG; the pooled row's record."""
    oa = analyse(state, dataset).outcomes[outcome]
    frame = forest_frame(oa, state, dataset.studies)
    spec = forest_chart(frame, measure_label=oa.title).to_dict()
    svg = vlc.vegalite_to_svg(spec)
    assert svg.startswith("<svg") and "NaN" not in svg and "Infinity" not in svg
    axis = [d for d in spec["datasets"]["forest_plot"] if d["kind"] == "pooled"]
    return {"oa": oa, "frame": frame, "pooled": axis[0] if axis else None}


def row(es, sid: str):
    return es.rows.set_index("study_id").loc[sid]


# --- zero cells and 0% / 100% rates -----------------------------------------------------


@pytest.fixture(scope="module")
def zero():
    return edge.zero_events()[1]


def test_zero_events_in_one_arm_adds_a_half_and_says_so(zero):
    a = row(estimable(zero, "OS", "OR", 2), "A")  # 0/50 vs 5/50 -> 0.5/50.5 vs 5.5/45.5
    assert a.yi == pytest.approx(math.log(0.5 * 45.5 / (50.5 * 5.5)))
    assert a.vi == pytest.approx(1 / 0.5 + 1 / 50.5 + 1 / 5.5 + 1 / 45.5)
    assert a.derivation.endswith("; 0.5 added to each cell (zero cell)")


def test_no_events_in_either_arm_is_kept_as_metafor_does(zero):
    # escalc(measure="OR", to="only0", drop00=FALSE): 0.5 added -> OR 1, variance 4/0.5... large
    b = row(estimable(zero, "OS", "OR", 2), "B")
    assert b.yi == pytest.approx(0.0, abs=1e-12)
    assert b.vi == pytest.approx(2 / 0.5 + 2 / 50.5)  # 4.0396, metafor's value
    assert "0.5 added to each cell (zero cell)" in b.derivation


def test_full_survival_in_both_arms_is_a_table_without_events(zero):
    c = row(estimable(zero, "OS", "OR", 2), "C")
    assert (c.events_rt, c.events_ctl) == (0, 0)
    assert c.yi == pytest.approx(0.0, abs=1e-12) and c.vi == pytest.approx(2 / 0.5 + 2 / 50.5)
    assert "RT 100% x n 50 = 0; control 100% x n 50 = 0; 0.5 added" in c.derivation


def test_zero_survival_rates_are_all_events(zero):
    es = estimable(zero, "DFS", "OR", 1)
    a, b = row(es, "A"), row(es, "B")
    assert (a.events_rt, a.events_ctl) == (50, 50) and a.yi == pytest.approx(0.0, abs=1e-12)
    # 50/50 vs 25/50 -> 50.5, 0.5 | 25.5, 25.5
    assert b.yi == pytest.approx(math.log(50.5 * 25.5 / (0.5 * 25.5)))
    assert b.vi == pytest.approx(1 / 50.5 + 1 / 0.5 + 2 / 25.5)


def test_zero_cells_pool_and_draw(zero):
    for outcome in ("OS", "DFS"):
        got = draws(ViewState(), zero, outcome)
        assert got["oa"].pooled is not None and math.isfinite(got["oa"].pooled.estimate)
        assert got["pooled"] is not None


# --- hazard ratios: CIs at 0, of zero width, huge ---------------------------------------


@pytest.fixture(scope="module")
def hrx():
    return edge.hr_extremes()[1]


def test_hr_ci_of_zero_width_or_from_zero_is_not_used_without_a_p_value(hrx):
    es = estimable(hrx, "OS", "HR")
    why = dict(es.excluded)
    zero_width = "HR 1: its CI has zero width (1 to 1), which gives no SE"
    assert why["Z"] == zero_width + ", and no p-value to use instead"
    assert why["N"].startswith("HR 0.5: its CI starts at 0, which gives no SE on the log scale")


def test_hr_ci_from_zero_falls_back_on_the_p_value(hrx):
    p = row(estimable(hrx, "OS", "HR"), "P")
    assert p.vi == pytest.approx((math.log(2) / stats.norm.isf(0.1)) ** 2)
    assert "SE from the two-sided p = 0.2" in p.derivation and "CI starts at 0" in p.derivation


def test_huge_and_tiny_hrs_pool_and_draw_on_a_capped_axis(hrx):
    es = estimable(hrx, "OS", "HR")
    assert row(es, "W").vi == pytest.approx((math.log(1e12) / (2 * Z)) ** 2)
    assert row(es, "T").yi == pytest.approx(math.log(1e-9))
    got = draws(HR, hrx)
    assert got["oa"].k == 4
    study_rows = got["frame"][got["frame"]["kind"] == "study"]
    assert study_rows["high"].max() > 1e6 and study_rows["low"].min() < 1e-9  # off the axis
    assert got["pooled"] is not None


# --- one, two and identical studies ----------------------------------------------------


def test_one_study_is_its_own_estimate():
    ds = edge.single()[1]
    got = draws(HR, ds)
    oa = got["oa"]
    assert oa.pooled.estimate == pytest.approx(math.log(0.6))
    assert oa.pooled.se == pytest.approx((math.log(0.9) - math.log(0.4)) / (2 * Z))
    assert oa.pooled.tau2 == 0 and math.isnan(oa.pooled.i2)
    assert oa.message == "Only one study: the pooled result is that study's own estimate."


def test_one_study_with_hartung_knapp_has_no_ci_and_says_why():
    ds = edge.single()[1]
    got = draws(ViewState(measure="HR", ci="hksj"), ds)
    p = got["oa"].pooled
    assert p.estimate == pytest.approx(math.log(0.6))
    assert math.isnan(p.ci_low) and math.isnan(p.ci_high)
    assert "Hartung-Knapp CI needs two studies or more" in got["oa"].message
    assert got["pooled"]["est_c"] == pytest.approx(0.6)  # drawn, bounds to the axis edges


def test_two_studies_with_hartung_knapp_use_t_on_one_df():
    ds = edge.two()[1]
    y = np.log([0.6, 1.2])
    v = ((np.log([0.9, 1.8]) - np.log([0.4, 0.8])) / (2 * Z)) ** 2
    got = draws(ViewState(measure="HR", ci="hksj", method="DL"), ds)
    p = got["oa"].pooled
    w = 1 / (v + p.tau2)
    mu = float((w * y).sum() / w.sum())
    se = math.sqrt(float((w * (y - mu) ** 2).sum()) / 1 / w.sum())
    assert p.estimate == pytest.approx(mu)
    assert p.ci_high == pytest.approx(mu + 12.706204736 * se)  # t(0.975, 1 df)


def test_identical_studies_have_no_heterogeneity_and_hartung_knapp_says_so():
    ds = edge.identical()[1]
    wald = draws(HR, ds)["oa"].pooled
    assert wald.tau2 == 0 and wald.i2 == 0 and wald.q == pytest.approx(0, abs=1e-12)
    assert wald.estimate == pytest.approx(math.log(0.6))
    assert wald.note is None
    got = draws(ViewState(measure="HR", ci="hksj"), ds)
    hk = got["oa"].pooled
    assert hk.ci_high - hk.ci_low == pytest.approx(0, abs=1e-9)  # as metafor: SE 0
    assert "estimates are identical" in hk.note and "Wald CI" in hk.note


# --- variances, tau2 at the boundary, REML that does not converge ------------------------


def test_huge_variance_ratio_gives_a_number_and_metafors_warning():
    p = pool([0.3, -0.5], [1e-8, 1e8])
    assert p.estimate == pytest.approx(0.3) and p.se == pytest.approx(1e-4)  # 1/sqrt(1e8+1e-8)
    assert "1.0e+16 times the smallest" in p.note
    got = draws(HR, edge.variance_ratio()[1])
    assert "may not be numerically stable" in got["oa"].pooled.note


def test_tau2_on_the_boundary():
    y, v = [0.1, 0.2], [0.1, 0.1]  # Q = 0.05 < k - 1: every estimator gives 0
    for method in pooling.METHODS:
        p = pool(y, v, method=method)
        if method != "SJ":  # Sidik-Jonkman is positive by construction
            assert p.tau2 == 0, method
    p = pool(y, v)
    assert p.i2 == 0 and p.pi_low == pytest.approx(p.ci_low)  # PI = CI when tau2 = 0
    ci = tau2_ci([0.1, 0.1001, 0.1002], [0.1, 0.1, 0.1])  # Q below both chi2 quantiles
    assert (ci.tau2_low, ci.tau2_high) == (0, 0) and "null set" in ci.note


def test_reml_that_does_not_converge_falls_back_on_dl_with_a_note(monkeypatch):
    # one Newton step at most, in the row-wise solver and in pool's single-fit one
    newton = pooling._newton_bracketed
    monkeypatch.setattr(pooling, "_newton_bracketed", lambda *a: newton(*a[:-1], 1))
    monkeypatch.setattr(rma, "newton", lambda *a, newton=rma.newton: newton(*a[:4], 1, *a[5:]))
    ds = edge.no_variation()[1]
    got = draws(ViewState(measure="HR"), ds)
    p = got["oa"].pooled
    assert not p.converged
    monkeypatch.undo()
    dl = pool(got["oa"].rows.yi, got["oa"].rows.vi, method="DL")
    assert p.tau2 == pytest.approx(dl.tau2) and p.estimate == pytest.approx(dl.estimate)
    assert p.note == (
        "REML did not converge in 200 iterations for 1 fit(s); the DerSimonian-Laird tau2 is "
        "used there instead"
    )
    assert got["frame"].set_index("row_id").at["pooled:all", "note"] == p.note


# --- subgroups of one study, a moderator without variation -----------------------------


def test_subgroups_of_one_study_each():
    ds = edge.one_per_subgroup()[1]
    got = draws(ViewState(measure="HR", group="indication"), ds)
    sg = got["oa"].subgroups
    assert {g: f.k for g, f in sg.groups.items()} == {"PVTT": 2, "narrow_margin": 1}
    assert sg.groups["narrow_margin"].i2 == 0 and sg.q_between is not None
    y, v = np.log([0.6, 0.9]), ((np.log([0.9, 1.3]) - np.log([0.4, 0.6])) / (2 * Z)) ** 2
    res = subgroup_analysis(y, v, ["a", "b"])
    assert res.groups["a"].estimate == pytest.approx(y[0])
    w = 1 / v
    mu = (w * y).sum() / w.sum()
    assert res.q_between == pytest.approx(float((w * (y - mu) ** 2).sum()))
    hk = subgroup_analysis(y, v, ["a", "b"], ci="hksj")
    assert hk.q_between is None and "no test for subgroup differences" in hk.note
    draws(ViewState(measure="HR", group="indication", ci="hksj"), ds)


def test_meta_regression_on_a_moderator_without_variation_says_so():
    # dropped with a note, as metafor drops redundant predictors; the intercept remains
    fit = meta_regression([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], [5, 5, 5])
    assert "same value in every study, so its effect cannot be estimated" in fit.note
    assert fit.names == ("intrcpt",) and fit.r2 is None
    assert fit.coef[0] == pytest.approx(pool([0.1, 0.2, 0.3], [0.1] * 3).estimate)


@pytest.mark.parametrize("name", sorted(edge.DATASETS))
@pytest.mark.parametrize("query", ["", "ci=hksj", "measure=HR", "measure=HR&group=design"])
def test_every_edge_dataset_draws(name: str, query: str) -> None:
    state = parse_query(query).state
    ds = edge.DATASETS[name]()[1]
    for outcome in ("OS", "DFS"):
        oa = analyse(state, ds).outcomes[outcome]
        if oa.rows.empty:
            assert oa.message  # nothing to draw: a plain message instead
            continue
        draws(state, ds, outcome)
