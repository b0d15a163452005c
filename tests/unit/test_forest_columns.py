"""The forest plot's events/total and weight columns, its footer (heterogeneity, test for the
overall effect, test for subgroup differences) and its order (link key ``sort``): the frame, the
spec and the CSV hold the pooled result's own numbers, and the footer's numbers equal an
independent computation of Q, I², z and p from the studies' yi and vi."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from core import fmt
from core.charts.forest import forest_chart
from core.data.dataset import Dataset, load_bundled, load_files
from core.state.view import DEFAULT_STATE, FIELD_BY_NAME, ViewState, encode_query, parse_query
from core.views.analysis import analyse, forest_footer, forest_frame, sort_rows
from core.views.results_table import plot_table, results_frame

ROOT = Path(__file__).resolve().parents[2]
BCG = ROOT / "tests" / "fixtures" / "bcg"
#: the bcg fixture's trials (outcome DFS, events at end of follow-up) in the default filters'
#: complement: every design and indication, external RT
ALL = DEFAULT_STATE.replace(
    scope="all",
    design=("RCT", "PSM", "prospective-nonrandomized", "retrospective"),
    indication=("PVTT", "narrow_margin", "MVI", "other"),
    rt=("external", "internal"),
)


@pytest.fixture(scope="module")
def bcg() -> Dataset:
    files = {p.name: p.read_bytes() for p in BCG.glob("*.csv")}
    ds, report = load_files(files)
    assert ds is not None, report
    return ds


@pytest.fixture(scope="module")
def bundled() -> Dataset:
    return load_bundled()


def _bcg_state(**kw: object) -> ViewState:
    return ALL.replace(outcome="DFS", **kw)


def _footer_numbers(line: str) -> list[str]:
    return re.findall(r"= (-?[0-9.]+|–)", line)


# ---------------------------------------------------------------- columns


def test_events_total_per_arm_equal_the_rows_pooled(bcg: Dataset) -> None:
    state = _bcg_state()
    oa = analyse(state, bcg).outcomes["DFS"]
    frame = forest_frame(oa, state, bcg.studies)
    studies = frame[frame["kind"] == "study"].set_index("study_id")
    rows = oa.rows.set_index("study_id")
    for col in ("events_rt", "n_rt", "events_ctl", "n_ctl"):
        assert studies[col].to_numpy() == pytest.approx(rows.loc[studies.index, col].to_numpy())
    # trial 1 of dat.bcg: 4/123 vaccinated, 11/139 not
    assert tuple(studies.loc["trial1", ["events_rt", "n_rt", "events_ctl", "n_ctl"]]) == (
        4,
        123,
        11,
        139,
    )
    spec = forest_chart(frame, measure_label="OR", footer=forest_footer(oa))
    text = {r["study_id"]: r for r in spec["datasets"]["forest_text"] if r["kind"] == "study"}
    assert (text["trial1"]["rt_text"], text["trial1"]["ctl_text"]) == ("4/123", "11/139")
    assert text["trial1"]["weight_text"] == fmt.percent(float(rows.at["trial1", "weight"]))
    pooled = [r for r in spec["datasets"]["forest_text"] if r["kind"] == "pooled"]
    assert pooled[0]["rt_text"] == pooled[0]["ctl_text"] == ""  # blank, not 0
    assert len(panels(spec)) == 6  # label, RT, control, plot, CI, weight
    widths = [p["width"] for p in panels(spec)]
    assert widths[1] == widths[2] > 0


def panels(spec: dict) -> list[dict]:
    """The side-by-side panels of the plot's body."""
    return spec["vconcat"][0]["hconcat"]


def test_hazard_ratio_rows_leave_the_count_columns_blank(bundled: Dataset) -> None:
    state = DEFAULT_STATE.replace(measure="HR")
    oa = analyse(state, bundled).outcomes["OS"]
    frame = forest_frame(oa, state, bundled.studies)
    assert frame[["events_rt", "n_rt", "events_ctl", "n_ctl"]].isna().all().all()
    spec = forest_chart(frame, measure_label="HR")
    assert all(r["rt_text"] == "" for r in spec["datasets"]["forest_text"])
    assert len(panels(spec)) == 4  # label, plot, CI, weight: no empty count columns drawn


def test_counts_from_rates_are_marked_derived(bundled: Dataset) -> None:
    state = DEFAULT_STATE
    oa = analyse(state, bundled).outcomes["OS"]
    frame = forest_frame(oa, state, bundled.studies)
    study = frame[frame["kind"] == "study"]
    assert study["counts_derived"].all()  # the bundled ORs come from rates at t
    spec = forest_chart(frame, measure_label="OR", footer=forest_footer(oa))
    notes = [r["t"] for r in spec["datasets"]["forest_notes"]]
    assert any("round(n × (1 − rate))" in t for t in notes)


# ---------------------------------------------------------------- footer


def test_footer_equals_the_pooled_fit(bcg: Dataset) -> None:
    state = _bcg_state()
    oa = analyse(state, bcg).outcomes["DFS"]
    p = oa.pooled
    assert p is not None and p.k == 13
    het, overall = forest_footer(oa)
    assert het == (
        f"Heterogeneity: τ² = {p.tau2:.4f}; I² = {p.i2:.1f}%; Q = {p.q:.2f} (df = 12), "
        f"{fmt.p_equals(p.q_pvalue)}"
    )
    assert overall == f"Test for overall effect: z = {p.stat:.2f}, {fmt.p_equals(p.pvalue)}"
    spec = forest_chart(forest_frame(oa, state, bcg.studies), measure_label="OR",
                        footer=forest_footer(oa))  # fmt: skip
    notes = spec["datasets"]["forest_notes"]
    assert [n["t"] for n in notes[:2]] == [het, overall]  # first, under the pooled row


def test_footer_of_the_common_effect_model_from_first_principles(bcg: Dataset) -> None:
    state = _bcg_state(method="EE")
    oa = analyse(state, bcg).outcomes["DFS"]
    y = oa.rows["yi"].to_numpy(dtype=float)
    v = oa.rows["vi"].to_numpy(dtype=float)
    w = 1 / v
    mu = float(np.sum(w * y) / np.sum(w))
    q = float(np.sum(w * (y - mu) ** 2))
    i2 = max(0.0, (q - 12) / q) * 100
    z = mu * math.sqrt(np.sum(w))
    het, overall = forest_footer(oa)
    assert "τ²" not in het
    assert het == (
        f"Heterogeneity: I² = {i2:.1f}%; Q = {q:.2f} (df = 12), "
        f"{fmt.p_equals(float(stats.chi2.sf(q, 12)))}"
    )
    assert overall == (
        f"Test for overall effect: z = {z:.2f}, {fmt.p_equals(float(2 * stats.norm.sf(abs(z))))}"
    )


@pytest.mark.parametrize("method", ["MH", "PETO"])
def test_table_models_print_no_tau2(bcg: Dataset, method: str) -> None:
    """Mantel-Haenszel and Peto are common-effect models: no τ² in their footer (rma.mh and
    rma.peto print Q and its p-value only)."""
    oa = analyse(_bcg_state(method=method), bcg).outcomes["DFS"]
    p = oa.pooled
    assert p is not None and p.method == method
    het, _ = forest_footer(oa)
    assert het == (
        f"Heterogeneity: I² = {fmt.percent(p.i2)}; Q = {fmt.stat(p.q)} (df = {p.df}), "
        f"{fmt.p_equals(p.q_pvalue)}"
    )


def test_hartung_knapp_prints_t_with_its_df(bcg: Dataset) -> None:
    oa = analyse(_bcg_state(ci="hksj"), bcg).outcomes["DFS"]
    p = oa.pooled
    assert p is not None
    y, v = oa.rows["yi"].to_numpy(dtype=float), oa.rows["vi"].to_numpy(dtype=float)
    w = 1 / (v + p.tau2)
    mu = float(np.sum(w * y) / np.sum(w))
    se = math.sqrt(float(np.sum(w * (y - mu) ** 2)) / (12 * float(np.sum(w))))
    t = mu / se
    _, overall = forest_footer(oa)
    assert overall == (
        f"Test for overall effect: t = {t:.2f} (df = 12), "
        f"{fmt.p_equals(float(2 * stats.t.sf(abs(t), 12)))}"
    )


def test_one_study_says_heterogeneity_is_not_applicable(bundled: Dataset) -> None:
    oa = analyse(DEFAULT_STATE.replace(measure="HR"), bundled).outcomes["OS"]
    assert oa.k == 1
    assert forest_footer(oa)[0] == "Heterogeneity: not applicable (one study)"


def test_grouped_plot_prints_the_test_for_subgroup_differences(bcg: Dataset) -> None:
    state = _bcg_state(group="design")
    oa = analyse(state, bcg).outcomes["DFS"]
    sg = oa.subgroups
    assert sg is not None and sg.q_between is not None and sg.p_between is not None
    lines = forest_footer(oa)
    assert lines[2] == (
        "Test for subgroup differences (each subgroup its own τ²): "
        f"Q = {sg.q_between:.2f} (df = {sg.df_between}), {fmt.p_equals(sg.p_between)}"
    )
    spec = forest_chart(forest_frame(oa, state, bcg.studies), measure_label="OR", footer=lines)
    assert [n["t"] for n in spec["datasets"]["forest_notes"][:3]] == list(lines)
    csv = results_frame(oa, bcg.studies, state.sort)
    row = csv[csv["row"] == "subgroup differences"].iloc[0]
    assert (row["q"], row["q_df"], row["q_pvalue"]) == (sg.q_between, sg.df_between, sg.p_between)
    assert row["note"] == lines[2]


def test_csv_holds_the_footer_numbers(bcg: Dataset) -> None:
    oa = analyse(_bcg_state(ci="hksj"), bcg).outcomes["DFS"]
    p = oa.pooled
    assert p is not None
    pooled = results_frame(oa).query("row == 'pooled'").iloc[0]
    assert (pooled["test"], pooled["statistic"]) == ("t", p.stat)
    assert (pooled["q"], pooled["q_df"], pooled["q_pvalue"]) == (p.q, p.df, p.q_pvalue)
    for line in forest_footer(oa):
        assert line in pooled["note"]


# ---------------------------------------------------------------- order


def _study_order(oa, state: ViewState, studies: pd.DataFrame) -> list[str]:
    frame = forest_frame(oa, state, studies)
    return frame.loc[frame["kind"] == "study", "study_id"].tolist()


@pytest.mark.parametrize("sort", FIELD_BY_NAME["sort"].allowed)
def test_sort_orders(bcg: Dataset, sort: str) -> None:
    state = _bcg_state(sort=sort, exclude=("trial5",))
    oa = analyse(state, bcg).outcomes["DFS"]
    order = _study_order(oa, state, bcg.studies)
    assert sorted(order) == sorted(oa.rows["study_id"])
    rows = oa.rows.set_index("study_id")
    years = bcg.studies.set_index("study_id")["year"]
    if sort == "data":
        assert order == oa.rows["study_id"].tolist()  # today's order, unchanged
    elif sort == "year":
        assert [years[s] for s in order] == sorted(years[s] for s in order)
    elif sort == "weight":
        assert order[-1] == "trial5"  # excluded: no weight, last
        w = [rows.at[s, "weight"] for s in order[:-1]]
        assert w == sorted(w, reverse=True)
    elif sort == "effect":
        yi = [rows.at[s, "yi"] for s in order]
        assert yi == sorted(yi)
    elif sort == "label":
        labels = [str(rows.at[s, "label"]).casefold() for s in order]
        assert labels == sorted(labels)
    elif sort == "quality":  # no quality score in bcg: the dataset's order
        assert order == oa.rows["study_id"].tolist()
    csv = results_frame(oa, bcg.studies, sort)
    assert csv.loc[csv["row"] == "study", "study_id"].tolist() == order  # the export's order
    table = plot_table(oa, bcg.studies, sort)
    assert table["Study"].tolist()[:-1] == [rows.at[s, "label"] for s in order]


def test_sort_is_stable_and_puts_missing_values_last() -> None:
    rows = pd.DataFrame(
        {
            "study_id": ["a", "b", "c", "d"],
            "label": ["D", "c", "B", "a"],
            "yi": [0.1, -0.2, 0.1, -0.5],
            "weight": [10.0, np.nan, 30.0, 10.0],
        }
    )
    studies = pd.DataFrame(
        {
            "study_id": ["a", "b", "c", "d"],
            "year": pd.array([2001, None, 1999, 2001], dtype="Int64"),
            "quality_score": pd.array([3, 5, None, 5], dtype="Int64"),
        }
    )

    def ids(sort: str) -> list[str]:
        return sort_rows(rows, studies, sort)["study_id"].tolist()

    assert ids("data") == ["a", "b", "c", "d"]
    assert ids("year") == ["c", "a", "d", "b"]
    assert ids("weight") == ["c", "a", "d", "b"]
    assert ids("effect") == ["d", "b", "a", "c"]
    assert ids("quality") == ["b", "d", "a", "c"]
    assert ids("label") == ["d", "c", "b", "a"]


def test_grouped_plot_sorts_within_each_subgroup(bundled: Dataset) -> None:
    state = ALL.replace(group="indication", sort="weight")
    oa = analyse(state, bundled).outcomes["OS"]
    frame = forest_frame(oa, state, bundled.studies)
    for _, block in frame[frame["kind"] == "study"].groupby("group"):
        w = block["weight"].tolist()
        assert w == sorted(w, reverse=True)


def test_sort_key_in_the_link() -> None:
    assert FIELD_BY_NAME["sort"].default == "data"
    assert encode_query(DEFAULT_STATE) == encode_query(parse_query("").state)  # old links same
    assert "sort" not in encode_query(parse_query("?v=2&exclude=Yu2014").state)
    got = parse_query("?sort=weight")
    assert got.state.sort == "weight" and got.notices == ()
    assert "sort=weight" in encode_query(got.state)
    assert parse_query("?sort=name").state.sort == "label"
    bad = parse_query("?sort=sideways")
    assert bad.state.sort == "data" and bad.notices


def test_narrow_plot_leaves_the_count_columns_to_the_tooltip(bcg: Dataset) -> None:
    state = _bcg_state()
    oa = analyse(state, bcg).outcomes["DFS"]
    frame = forest_frame(oa, state, bcg.studies)
    narrow = forest_chart(frame, measure_label="OR", width=470, show_weight=False)
    assert len(panels(narrow)) == 3  # label, plot, CI: the plot keeps its minimum width
    text = {r["study_id"]: r for r in narrow["datasets"]["forest_text"] if r["kind"] == "study"}
    assert "4/123 vs 11/139" in text["trial1"]["detail"]  # the counts, in the tooltip
    wide = forest_chart(frame, measure_label="OR", width=1400, show_weight=False)
    assert len(panels(wide)) == 5  # room enough: label, RT, control, plot, CI
