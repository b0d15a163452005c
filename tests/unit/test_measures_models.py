"""RR/RD, Mantel-Haenszel/Peto as the main model and the zero-cell options in the pipeline.

The pooled numbers themselves are checked against metafor in
tests/conformance/test_measures_metafor.py; here: what stands in for a model that does not
apply, that double-zero tables still enter the Mantel-Haenszel sums (as rma.mh keeps them),
the zero-cell link keys, the difference formats and the linear forest-plot axis.
"""

from __future__ import annotations

import json
import math

import pytest

from core import fmt
from core.charts.forest import forest_chart
from core.state.view import ViewState, encode_query, model_of, parse_query
from core.stats.mh import mantel_haenszel, peto
from core.views.analysis import analyse, forest_frame
from tests.fixtures import edge

# OS at 2 years of edge.zero_events: A 0/50 vs 5/50, B 0/50 vs 0/50, C 0/50 vs 0/50 (from
# 100% survival), D 20/50 vs 30/50
TABLES = ([0, 0, 0, 20], [50] * 4, [5, 0, 0, 30], [50] * 4)


@pytest.fixture(scope="module")
def ds():
    return edge.zero_events()[1]


def test_model_stand_ins() -> None:
    m = model_of(ViewState(measure="RR", method="PETO", ci="hksj"))
    assert (m.method, m.ci, m.drop00) == ("MH", "wald", True)
    assert "odds ratios only" in str(m.note) and "Wald (z)" in str(m.note)
    m = model_of(ViewState(measure="HR", method="MH"))
    assert (m.method, m.drop00) == ("EE", False) and "2x2 tables" in str(m.note)
    m = model_of(ViewState(method="PETO"))
    assert (m.method, m.drop00, m.note) == ("PETO", True, None)
    assert model_of(ViewState()).drop00 is False  # escalc's default
    assert model_of(ViewState(method="MH", drop00="0")).drop00 is False


def test_old_links_keep_their_meaning_and_new_keys_round_trip() -> None:
    old = parse_query("?v=2&exclude=Yu2014").state
    assert (old.measure, old.method, old.add, old.to, old.drop00) == (
        "OR", "REML", 0.5, "only0", "auto",
    )  # fmt: skip
    state = parse_query("?v=2&measure=risk difference&method=mantel-haenszel&add=1&to=all"
                        "&drop00=keep").state  # fmt: skip
    assert (state.measure, state.method, state.add, state.to, state.drop00) == (
        "RD", "MH", 1.0, "all", "0",
    )  # fmt: skip
    assert encode_query(state) == "v=2&measure=RD&method=MH&add=1&to=all&drop00=0"
    bad = parse_query("?v=2&add=-1&to=sometimes")
    assert bad.state.add == 0.5 and bad.state.to == "only0" and len(bad.notices) == 2


def test_mantel_haenszel_pools_double_zero_tables_as_rma_mh(ds) -> None:
    oa = analyse(ViewState(measure="RD", method="MH"), ds).outcomes["OS"]
    assert sorted(oa.rows["study_id"]) == ["A", "D"]  # drop00 (metafor's default for rma.mh)
    assert [t[0] for t in oa.tables_only] == ["B", "C"]
    expected = mantel_haenszel(*TABLES, measure="RD")  # every table, as rma.mh
    assert oa.pooled is not None and oa.pooled.k == 4
    assert math.isclose(oa.pooled.estimate, expected.estimate, rel_tol=1e-12)
    assert math.isclose(oa.pooled.q, expected.q, rel_tol=1e-12, abs_tol=1e-12)
    assert oa.pooled.df == 1  # k.yi - 1: two tables with a per-study estimate
    assert "also pools the tables without a per-study estimate" in str(oa.message)
    reasons = dict(oa.excluded())
    assert "drop00" in reasons["B"]
    # kept (drop00=0): every table has a per-study estimate (1/2 added), same MH estimate
    kept = analyse(ViewState(measure="RD", method="MH", drop00="0"), ds).outcomes["OS"]
    assert sorted(kept.rows["study_id"]) == ["A", "B", "C", "D"] and not kept.tables_only
    assert math.isclose(kept.pooled.estimate, expected.estimate, rel_tol=1e-12)
    assert kept.pooled.df == 3


@pytest.mark.parametrize(
    ("tables", "estimate", "stat", "pvalue"),
    [
        (([400], [400], [50], [50]), 0.0, math.nan, math.nan),  # all events in both arms
        (([10], [10], [0], [10]), 1.0, math.inf, 0.0),  # all events against none
    ],
)
def test_mantel_haenszel_rd_of_variance_zero_is_rma_mh(tables, estimate, stat, pvalue) -> None:
    """rma.mh(measure="RD") of one such table: se 0, zval NaN (0/0) or Inf, CI of zero
    width (metafor 3.8.1); the division used to raise ZeroDivisionError."""
    res = mantel_haenszel(*tables, measure="RD")
    assert (res.estimate, res.se, res.ci_low, res.ci_high) == (estimate, 0.0, estimate, estimate)
    assert res.stat == stat or (math.isnan(stat) and math.isnan(res.stat))
    assert res.pvalue == pvalue or (math.isnan(pvalue) and math.isnan(res.pvalue))


def test_peto_rows_are_petos_log_odds_ratios(ds) -> None:
    oa = analyse(ViewState(method="PETO", drop00="0", to="all"), ds).outcomes["OS"]
    d = oa.rows.set_index("study_id").loc["D"]
    a, c, n1, n2 = 20.5, 30.5, 51.0, 51.0  # D, 1/2 added to each cell (to=all)
    n = n1 + n2
    e = n1 * (a + c) / n
    v = n1 * n2 * (a + c) * (n - a - c) / (n**2 * (n - 1))
    assert math.isclose(d["yi"], (a - e) / v, rel_tol=1e-12)
    assert math.isclose(d["vi"], 1 / v, rel_tol=1e-12)
    assert math.isclose(oa.pooled.estimate, peto(*TABLES).estimate, rel_tol=1e-12)


def test_inverse_variance_rr_rd_use_the_zero_cell_options(ds) -> None:
    plain = analyse(ViewState(measure="RR"), ds).outcomes["OS"]
    assert sorted(plain.rows["study_id"]) == ["A", "B", "C", "D"]  # escalc: drop00 FALSE
    a = plain.rows.set_index("study_id").loc["A"]
    assert math.isclose(a["yi"], math.log((0.5 / 51) / (5.5 / 51)), rel_tol=1e-12)
    assert "0.5 added to each cell (zero cell)" in a["derivation"]
    dropped = analyse(ViewState(measure="RR", drop00="1", add=1.0), ds).outcomes["OS"]
    assert sorted(dropped.rows["study_id"]) == ["A", "D"]
    a = dropped.rows.set_index("study_id").loc["A"]
    assert math.isclose(a["yi"], math.log((1 / 52) / (6 / 52)), rel_tol=1e-12)
    none = analyse(ViewState(measure="RR", to="none"), ds).outcomes["OS"]
    assert sorted(none.rows["study_id"]) == ["D"]
    assert "to=none" in dict(none.excluded())["A"]


def test_difference_formats() -> None:
    assert fmt.difference(-0.1077) == "-0.11"
    assert fmt.difference(-0.001) == "0.00"
    assert fmt.difference(math.nan) == fmt.MISSING
    assert fmt.effect("RD", 0.05) == "0.05" and fmt.effect("RR", 0.5) == "0.50"
    assert fmt.effect_ci("RD", -0.2, -0.01) == "-0.20 to -0.01"
    assert fmt.effect_with_ci("RD", -0.11, -0.2, -0.01) == "-0.11 [-0.20, -0.01]"


def test_risk_difference_forest_axis_is_linear_about_zero(ds) -> None:
    state = ViewState(measure="RD")
    oa = analyse(state, ds).outcomes["OS"]
    frame = forest_frame(oa, state, ds.studies)
    pooled = frame[frame["kind"] == "pooled"].iloc[0]
    assert math.isclose(pooled["est"], oa.pooled.estimate, rel_tol=1e-12)  # not exp()
    spec = json.dumps(forest_chart(frame, measure_label=oa.short_title, linear=True).to_dict())
    assert '"type": "linear"' in spec and '"type": "log"' not in spec
    assert "RD [95% CI]" in spec and "Risk difference of 2-year OS" in spec
