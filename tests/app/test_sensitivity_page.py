"""AppTest: the sensitivity page over a set of links; no exception, and the numbers shown
(tables and chart data) equal core results for the same view."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

from core.charts.sensitivity import fmt_ratio
from core.data.dataset import load_bundled
from core.state.view import parse_query
from core.stats.sensitivity import (
    influence,
)
from core.views.analysis import analyse
from core.views.sensitivity import (
    cumulative_frame,
    cumulative_order,
    estimator_panel,
    leave_one_out_frame,
)
from tests.app.conftest import open_app

ALL = (
    "scope=all&design=RCT&design=PSM&design=retrospective&indication=PVTT"
    "&indication=narrow_margin&indication=other&rt=external&rt=internal&tpoint=interp&t_os=3"
)
LINKS = {
    "default": "",  # OS, k = 3 (two of them interpolated)
    "default_dfs": "v=2&outcome=DFS",  # the default view with DFS chosen, k = 3
    "exact_k1": "tpoint=exact",  # rates only where reported at 2 years: OS has k = 1
    "k2": "outcome=DFS&exclude=Shi2022",
    "k3": "outcome=DFS",
    "k4_all_estimators": ALL + "&order=quality&method=DL&ci=hksj",
    "k3_group_design": "outcome=DFS&group=design",
    "hr_k2": "measure=HR&scope=all&design=RCT&rt=external&rt=internal&indication=PVTT"
    "&indication=other",
}
_RUNS: dict = {}


@pytest.fixture(scope="module")
def ds():
    return load_bundled()


def run(name: str):
    if name not in _RUNS:
        _RUNS[name] = open_app(LINKS[name], "sensitivity")
    return _RUNS[name]


def included(name: str, ds):
    state = parse_query(LINKS[name]).state
    oa = analyse(state, ds).outcomes[state.outcome]
    return state, oa, oa.rows[oa.rows["included"]].reset_index(drop=True)


def chart_rows(at) -> list[pd.DataFrame]:
    """Per chart on the page, its rows with a ``side_text`` (interval charts), in order."""
    out = []
    for chart in at.get("vega_lite_chart"):
        frames = [convert_arrow_bytes_to_pandas_df(d.data.data) for d in chart.proto.datasets]
        text = [f for f in frames if "side_text" in f.columns]
        largest = max(frames, key=len) if frames else pd.DataFrame()
        out.append(text[0] if text else largest)
    return out


def info_texts(at) -> list[str]:
    return [i.value for i in at.info]


@pytest.mark.parametrize("name", list(LINKS))
def test_no_exception_and_pooled_line(name, ds):
    at = run(name)
    assert not at.exception
    _, oa, _ = included(name, ds)
    p = oa.pooled
    head = at.markdown[0].value
    assert f"k = {p.k}" in head
    assert f"{fmt_ratio(math.exp(p.estimate))} (" in head


@pytest.mark.parametrize("name", ["default", "default_dfs"])
def test_default_link_draws_every_chart_for_both_outcomes(name, ds):
    """The default link (rates interpolated where none is reported at t) pools 3 studies for
    OS and for DFS, so leave-one-out, cumulative, Baujat, estimators and the quality sweep are
    drawn, nothing is explained away, and the charts hold core's numbers."""
    at = run(name)
    state, _, inc = included(name, ds)
    assert state.tpoint == "interp" and state.outcome == ("DFS" if name.endswith("dfs") else "OS")
    assert list(inc["study_id"]) == ["Wei2019", "Yu2014", "Shi2022"]
    assert list(inc["interpolated"]) == (
        [False, True, True] if state.outcome == "OS" else [False] * 3
    )
    assert not at.exception
    assert info_texts(at) == []
    charts = chart_rows(at)
    assert len(charts) == 5  # leave-one-out, cumulative, Baujat, estimators, quality sweep
    loo = leave_one_out_frame(
        inc["yi"], inc["vi"], list(inc["study_id"]), list(inc["label"]), state.method, state.ci
    )
    np.testing.assert_allclose(charts[0]["ratio"], loo["ratio"])
    np.testing.assert_allclose(charts[0]["ratio_high"], loo["ratio_high"])
    meta = ds.studies.set_index("study_id").loc[inc["study_id"]]
    order = cumulative_order(meta["year"], meta["quality_score"], "year")
    cum = cumulative_frame(inc["yi"], inc["vi"], list(inc["label"]), ["x"] * 3, order)
    np.testing.assert_allclose(charts[1]["ratio"], cum["ratio"])
    assert list(charts[1]["k"]) == [1, 2, 3]
    inf = influence(inc["yi"], inc["vi"], method=state.method)
    itab = at.dataframe[1].value
    assert list(itab["cook.d"]) == [f"{x:.3f}" for x in inf.cooks_d]
    panel = estimator_panel(
        inc["yi"], inc["vi"],
        tuple(inc[c].to_numpy(float) for c in ("events_rt", "n_rt", "events_ctl", "n_ctl")),
    )  # fmt: skip
    np.testing.assert_allclose(charts[3]["ratio"], panel["ratio"])
    assert charts[4]["k"].iloc[0] == 3  # the sweep starts from the three studies


def test_exact_k1_says_why_everywhere(ds):
    at = run("exact_k1")
    infos = info_texts(at)
    assert len(infos) == 6
    assert sum("this selection has 1" in s for s in infos) == 5
    assert any("no threshold to sweep" in s for s in infos)
    assert not at.get("vega_lite_chart")


def test_k2_cumulative_and_estimators_equal_core(ds):
    at = run("k2")
    _, _, inc = included("k2", ds)
    infos = info_texts(at)
    assert any(s.startswith("Leave-one-out") and "has 2" in s for s in infos)
    meta = ds.studies.set_index("study_id").loc[inc["study_id"]]
    order = cumulative_order(meta["year"], meta["quality_score"], "year")
    cum = cumulative_frame(inc["yi"], inc["vi"], list(inc["label"]), ["x"] * 2, order)
    charts = chart_rows(at)
    shown = charts[0]
    np.testing.assert_allclose(shown["ratio"], cum["ratio"])
    assert list(shown["k"]) == [1, 2]
    panel = estimator_panel(
        inc["yi"], inc["vi"],
        tuple(inc[c].to_numpy(float) for c in ("events_rt", "n_rt", "events_ctl", "n_ctl")),
    )  # fmt: skip
    np.testing.assert_allclose(charts[1]["ratio_low"], panel["ratio_low"])
    assert "Peto" in list(charts[1]["label"])


def test_k3_leave_one_out_and_influence_tables_equal_core(ds):
    at = run("k3")
    state, _, inc = included("k3", ds)
    loo = leave_one_out_frame(
        inc["yi"], inc["vi"], list(inc["study_id"]), list(inc["label"]), state.method, state.ci
    )
    table = at.dataframe[0].value
    ratios = [s.split(" ")[0] for s in table.iloc[:, 2]]
    assert ratios == [fmt_ratio(x) for x in loo["ratio"]]
    assert list(table["k"]) == list(loo["k"])
    assert list(table["Conclusion changes"] != "") == list(loo["flagged"])
    shown = chart_rows(at)[0]
    np.testing.assert_allclose(shown["ratio_high"], loo["ratio_high"])
    inf = influence(inc["yi"], inc["vi"], method=state.method)
    itab = at.dataframe[1].value
    assert list(itab["cook.d"]) == [f"{x:.3f}" for x in inf.cooks_d]
    assert list(itab["hat"]) == [f"{x:.3f}" for x in inf.hat]
    assert list(itab["Influential"] == "⚑ yes") == list(inf.influential)


def test_group_by_design_changes_nothing_here():
    a, b = run("k3"), run("k3_group_design")
    assert [d.value.to_dict() for d in a.dataframe] == [d.value.to_dict() for d in b.dataframe]


def test_all_estimators_and_quality_order(ds):
    at = run("k4_all_estimators")
    state, oa, inc = included("k4_all_estimators", ds)
    assert oa.pooled.k == 4 and state.order == "quality"
    charts = chart_rows(at)
    # leave-one-out, cumulative, baujat, estimators, quality sweep
    assert len(charts) == 5
    meta = ds.studies.set_index("study_id").loc[inc["study_id"]]
    order = cumulative_order(meta["year"], meta["quality_score"], "quality")
    cum = cumulative_frame(inc["yi"], inc["vi"], list(inc["label"]), ["x"] * 4, order, "DL", "hksj")
    np.testing.assert_allclose(charts[1]["ratio"], cum["ratio"])
    assert [lab.split(" (score")[0] for lab in charts[1]["label"]] == list(cum["label"])
    panel = estimator_panel(
        inc["yi"], inc["vi"],
        tuple(inc[c].to_numpy(float) for c in ("events_rt", "n_rt", "events_ctl", "n_ctl")),
    )  # fmt: skip
    shown = charts[3]
    assert len(shown) == 19
    np.testing.assert_allclose(shown["ratio"], panel["ratio"])
    assert list(shown.loc[shown["side_text"].str.contains("this view"), "label"]) == [
        "DL, Hartung-Knapp"
    ]
    sweep = charts[4]
    assert list(sweep["k"]) == [4, 2]
    assert at.radio(key="w_sens_order").value == "quality"


def test_hr_has_no_mantel_haenszel_rows():
    at = run("hr_k2")
    assert not at.exception
    panel = chart_rows(at)[1]
    assert len(panel) == 17 and "Peto" not in list(panel["label"])
    assert any("need 2x2 counts" in c.value for c in at.caption)


def test_order_widget_writes_the_link():
    at = open_app(LINKS["k3"], "sensitivity")
    at.radio(key="w_sens_order").set_value("quality").run()
    assert not at.exception
    assert at.query_params["order"] in ("quality", ["quality"])
    assert "(score" in chart_rows(at)[1]["label"].iloc[0]


def test_gosh_only_on_button():
    at = open_app(LINKS["k3"], "sensitivity")
    n = len(at.get("vega_lite_chart"))
    at.button(key="gosh_go").click().run()
    assert not at.exception
    charts = at.get("vega_lite_chart")
    assert len(charts) == n + 1
    gosh_rows = chart_rows(at)[-1]
    assert len(gosh_rows) == 7  # all 2^3 - 1 subsets
    at.radio(key="w_sens_order").set_value("quality").run()  # a plain toggle keeps the result
    assert len(at.get("vega_lite_chart")) == n + 1
