"""Subgroups by any categorical column (group=COLUMN, tau2g) and meta-regression on several
numeric columns (mod=a&mod=b) in the view layer: fallbacks with notices, the 'not reported'
subgroup, the test for subgroup differences recomputed by hand from the groups' own fits, and
the coefficients of several moderators recomputed from the design matrix."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from scipy import special

from core.data.dataset import load_bundled
from core.report.document import build_report
from core.state.view import parse_query
from core.stats.pooling import pool
from core.stats.subgroups import meta_regression
from core.views.analysis import (
    analyse,
    forest_frame,
    group_choices,
    subgroup_test_text,
    subtotal_text,
    to_json,
)
from core.views.bias import bias_view, moderator_choices
from core.views.results_table import results_frame
from core.vocab import MISSING_GROUP

ALL = (
    "scope=all&design=RCT,PSM,retrospective,prospective-nonrandomized"
    "&indication=PVTT,narrow_margin,MVI,other&rt=external,internal&tpoint=interp&t_dfs=2"
)


@pytest.fixture(scope="module")
def ds():
    return load_bundled()


def _dfs(ds, query: str, data=None):
    state = parse_query(ALL + "&" + query).state
    analysis = analyse(state, data or ds)
    return state, analysis, analysis.outcomes["DFS"]


def _with_studies(ds, studies: pd.DataFrame):
    return dataclasses.replace(ds, studies=studies)


@pytest.mark.parametrize(
    ("column", "why"),
    [
        ("nosuch", "the dataset has no column 'nosuch'"),
        ("year", "column 'year' holds numbers"),
        ("notes", "column 'notes' names or describes each study"),
        ("rt_technique", "column 'rt_technique' has more than 12 distinct values"),
    ],
)
def test_a_column_that_cannot_group_gets_a_notice_and_no_subgroups(ds, column, why):
    if column == "rt_technique":  # 12 values in the bundled data: one per study instead
        studies = ds.studies.copy()
        studies["rt_technique"] = [f"technique {i}" for i in range(len(studies))]
        assert studies["rt_technique"].nunique() > 12
        data = _with_studies(ds, studies)
    else:
        data = ds
    _, analysis, oa = _dfs(ds, f"group={column}", data)
    (notice,) = analysis.notices
    assert why in notice and notice.endswith("shown without subgroups.")
    assert oa.group_by is None and oa.subgroups is None and oa.subgroup_test is None
    assert column not in group_choices(ds.studies) or column == "rt_technique"
    assert json.loads(json.dumps(to_json(analysis)))["notices"] == [notice]


def test_old_links_group_as_before_and_any_categorical_column_groups(ds):
    for column in ("indication", "design", "rt_type", "publication_type", "rt_timing"):
        state, analysis, oa = _dfs(ds, f"group={column}")
        assert analysis.notices == ()
        assert oa.group_by == column
        inc = oa.rows[oa.rows["included"]]
        values = ds.studies.set_index("study_id").loc[inc["study_id"], column].astype(str)
        assert sorted(oa.subgroups.groups) == sorted(set(values))
        frame = forest_frame(oa, state, ds.studies)
        studies = frame[frame["kind"] == "study"].set_index("study_id")
        assert (studies.loc[inc["study_id"], "group"].to_numpy() == values.to_numpy()).all()
    assert group_choices(ds.studies)[:3] == ("none", "indication", "design")
    assert {"rt_type", "publication_type", "rt_timing"} <= set(group_choices(ds.studies))
    assert "year" not in group_choices(ds.studies)


def test_separate_tau2_test_is_cochrans_q_of_the_groups_own_fits(ds):
    _, _, oa = _dfs(ds, "group=publication_type")
    inc = oa.rows[oa.rows["included"]]
    groups = ds.studies.set_index("study_id").loc[inc["study_id"], "publication_type"]
    fits = [
        pool(inc["yi"][m].to_numpy(), inc["vi"][m].to_numpy(), method="REML")
        for g in sorted(set(groups))
        for m in [(groups == g).to_numpy()]
    ]
    est = np.array([f.estimate for f in fits])
    w = np.array([1.0 / f.se**2 for f in fits])
    q = float((w * (est - (w * est).sum() / w.sum()) ** 2).sum())
    t = oa.subgroup_test
    assert (t.tau2, t.df, t.statistic) == ("separate", len(fits) - 1, "Q")
    assert t.q == pytest.approx(q, rel=1e-12)
    assert t.p == pytest.approx(special.chdtrc(len(fits) - 1, q), rel=1e-12)
    assert subgroup_test_text(t) == (
        "Test for subgroup differences (each subgroup its own τ²): "
        f"Q = {q:.2f} (df = {len(fits) - 1}), p = {t.p:.3f}"
    )


def test_common_tau2_test_is_the_wald_test_of_the_factor_model(ds):
    _, _, oa = _dfs(ds, "group=publication_type&tau2g=common")
    inc = oa.rows[oa.rows["included"]]
    groups = ds.studies.set_index("study_id").loc[inc["study_id"], "publication_type"]
    levels = sorted(set(groups))
    x = np.column_stack([(groups == g).to_numpy(float) for g in levels[1:]])
    fit = meta_regression(inc["yi"].to_numpy(), inc["vi"].to_numpy(), x, method="REML", r2=False)
    t = oa.subgroup_test
    assert (t.tau2, t.df, t.statistic) == ("common", len(levels) - 1, "Q")
    assert (t.q, t.p, t.tau2_common) == pytest.approx((fit.qm, fit.qm_pvalue, fit.tau2), rel=1e-12)
    assert "one τ² common to all subgroups" in subgroup_test_text(t)
    separate = _dfs(ds, "group=publication_type")[2].subgroup_test
    assert separate.q != pytest.approx(t.q)  # the choice changes the test


@pytest.mark.parametrize(("ci", "test"), [("wald", "z"), ("hksj", "knha")])
def test_common_tau2_subtotals_are_the_factor_models_coefficients(ds, ci, test):
    """tau2g=common: each subtotal diamond (plot, CSV) is the group's coefficient of
    rma(yi, vi, mods = ~ factor(group) - 1), and every export says which tau2 it uses."""
    state, analysis, oa = _dfs(ds, f"group=publication_type&tau2g=common&ci={ci}")
    inc = oa.rows[oa.rows["included"]]
    groups = ds.studies.set_index("study_id").loc[inc["study_id"], "publication_type"]
    levels = sorted(set(groups))
    x = np.column_stack([(groups == g).to_numpy(float) for g in levels])
    fit = meta_regression(
        inc["yi"].to_numpy(), inc["vi"].to_numpy(), x, method="REML", intercept=False, test=test
    )
    sg = oa.subgroups
    assert (sg.tau2, sg.tau2_common) == ("common", pytest.approx(fit.tau2, rel=1e-12))
    got = [sg.groups[g] for g in levels]
    assert [f.estimate for f in got] == pytest.approx(list(fit.coef), rel=1e-12)
    assert [f.ci_low for f in got] == pytest.approx(list(fit.ci_low), rel=1e-12)
    assert [f.ci_high for f in got] == pytest.approx(list(fit.ci_high), rel=1e-12)
    own = _dfs(ds, f"group=publication_type&ci={ci}")[2].subgroups
    assert own.tau2 == "separate"
    assert [own.groups[g].ci_low for g in levels] != pytest.approx([f.ci_low for f in got])
    words = subtotal_text(oa)
    assert words.startswith("Subtotals: each subgroup pooled with one τ² common to all")
    assert f"τ² = {fit.tau2:.4f}" in words
    assert ("t on" in words) == (ci == "hksj")
    assert subtotal_text(_dfs(ds, "group=publication_type")[2]) == (
        "Subtotals: each subgroup pooled with its own τ²."
    )
    frame = forest_frame(oa, state, ds.studies)
    diamonds = frame[frame["kind"] == "subgroup"]
    assert diamonds["label"].str.endswith("(common τ²)").all() and len(diamonds) == len(levels)
    assert diamonds["low"].to_numpy() == pytest.approx(np.exp(fit.ci_low), rel=1e-12)
    csv = results_frame(oa)
    sub = csv[csv["row"] == "subtotal"]
    assert sub["yi"].to_numpy() == pytest.approx(fit.coef, rel=1e-12)
    assert (sub["tau2"] == sg.tau2_common).all() and (sub["note"] == words).all()
    assert set(sub["test"]) == {"t" if ci == "hksj" else "z"}
    report = build_report(analysis, state, ds, "link", datetime(2026, 1, 1, tzinfo=UTC))
    assert any(words in sec.notes for sec in report.outcomes)
    cli = json.loads(json.dumps(to_json(analysis)))["DFS"]["subtotals"]
    assert (cli["tau2"], cli["tau2_common"], cli["note"]) == ("common", sg.tau2_common, words)
    assert [cli["groups"][g]["ci_high"] for g in levels] == pytest.approx(list(fit.ci_high))


def test_common_tau2_with_too_few_studies_keeps_each_subgroups_own_fit(ds):
    studies = ds.studies.copy()
    _, _, base = _dfs(ds, "group=publication_type")
    used = list(base.rows.loc[base.rows["included"], "study_id"])
    studies["publication_type"] = studies["study_id"].map({s: f"g{i}" for i, s in enumerate(used)})
    _, _, oa = _dfs(ds, "group=publication_type&tau2g=common", _with_studies(ds, studies))
    assert oa.subgroups.tau2 == "separate" and oa.subgroups.tau2_common is None
    assert "too few" in oa.subgroup_test.reason
    assert subtotal_text(oa) == (
        f"Subtotals: each subgroup pooled with its own τ² ({len(used)} studies are too few "
        f"for {len(used)} subgroups with a common τ²)."
    )


def test_studies_without_a_value_form_the_not_reported_subgroup(ds):
    _, _, oa = _dfs(ds, "group=rt_timing")
    inc = oa.rows[oa.rows["included"]]
    studies = ds.studies.copy()
    gone = str(inc["study_id"].iloc[0])
    studies.loc[studies["study_id"] == gone, "rt_timing"] = pd.NA
    state, _, oa2 = _dfs(ds, "group=rt_timing", _with_studies(ds, studies))
    assert MISSING_GROUP in oa2.subgroups.groups
    assert oa2.subgroups.groups[MISSING_GROUP].k == 1
    frame = forest_frame(oa2, state, studies)
    assert frame.set_index("row_id").at[f"study:{gone}", "group"] == MISSING_GROUP


def test_several_moderators_are_fitted_together(ds):
    state, _, oa = _dfs(ds, "outcome=DFS&mod=year&mod=quality&mod=nosuch&mod=design")
    reg = bias_view(state, oa, ds.studies).regression
    assert reg.moderators == ("year", "quality")
    assert reg.notices == (
        "Meta-regression moderators (mod): the dataset has no column 'nosuch'; left out.",
        "Meta-regression moderators (mod): column 'design' does not hold numbers; left out.",
    )
    inc = oa.rows[oa.rows["included"]]
    meta = ds.studies.set_index("study_id").loc[inc["study_id"]]
    x = meta[["year", "quality_score"]].to_numpy(float)
    keep = np.isfinite(x).all(axis=1)
    fit = meta_regression(inc["yi"].to_numpy()[keep], inc["vi"].to_numpy()[keep], x[keep])
    assert reg.fit is not None and reg.points is None and reg.line is None  # no bubble plot
    assert reg.fit.names == ("intrcpt", "publication year", "quality score")
    np.testing.assert_allclose(reg.fit.coef, fit.coef, rtol=1e-12)
    np.testing.assert_allclose(reg.fit.se, fit.se, rtol=1e-12)
    assert reg.fit.qm == pytest.approx(fit.qm, rel=1e-12)
    assert reg.k == int(keep.sum())


def test_one_moderator_of_any_numeric_column_keeps_the_bubble_plot(ds):
    state, _, oa = _dfs(ds, "outcome=DFS&mod=median_fu_months")
    reg = bias_view(state, oa, ds.studies).regression
    inc = oa.rows[oa.rows["included"]]
    fu = ds.studies.set_index("study_id").loc[inc["study_id"], "median_fu_months"]
    n_missing = int(fu.isna().sum())
    assert len(reg.missing) == n_missing
    assert set(reg.missing_reasons) <= {"no value of median_fu_months"}
    if reg.fit is not None:
        assert reg.points is not None and len(reg.points) == len(inc) - n_missing
    else:
        assert "needs at least three studies" in reg.message or "same" in reg.message
    assert moderator_choices(ds.studies)[:2] == ("quality", "year")
    assert "median_fu_months" in moderator_choices(ds.studies)
    assert "design" not in moderator_choices(ds.studies)
