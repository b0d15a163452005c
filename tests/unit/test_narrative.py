"""core.report.narrative and core.views.results_table: every branch of the summary sentence, on
real analyses of the bundled data and on handmade OutcomeAnalysis objects."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.data.dataset import load_bundled
from core.data.export import export_csv
from core.report.narrative import (
    design_phrase,
    headline,
    key_numbers,
    left_out,
    patients_phrase,
    summary_sentence,
)
from core.state.view import ViewState, parse_query
from core.stats.pooling import pool
from core.views.analysis import OutcomeAnalysis, analyse
from core.views.results_table import COLUMNS, results_frame

OVERSTATEMENTS = ("improve", "recommend", "should", "benefit", "effective", "proves", "cure")


@pytest.fixture(scope="module")
def ds():
    return load_bundled()


def real(ds, query: str, outcome: str | None = None) -> tuple[OutcomeAnalysis, ViewState]:
    state = parse_query(query).state
    return analyse(state, ds).outcomes[outcome or state.outcome], state


def r2(x: float) -> str:
    return f"{math.exp(x):.2f}"


# --- real analyses of the bundled data -------------------------------------------------------


def test_three_trials_lower_odds(ds):
    oa, state = real(ds, "outcome=DFS")
    p = oa.pooled
    s = summary_sentence(oa, state, ds.studies)
    assert s.startswith(
        "Across 3 randomized trials (359 patients), perioperative RT was associated with lower "
        "odds of the event as each study defined it (DFS or RFS) at 1 year: pooled odds ratio "
        f"{r2(p.estimate)} (95% CI {r2(p.ci_low)} to {r2(p.ci_high)}; random effects, REML)."
    )
    assert (
        s.startswith("Across 3 randomized trials (359 patients)")
        and "0.45 (95% CI 0.25 to 0.82" in s
    )
    # the default t prediction interval on k - 2 = 1 df (hand-worked in test_cli_analyze)
    assert f"I² = {p.i2:.0f}%" in s and "; 95% prediction interval 0.003 to 65.22." in s
    z = summary_sentence(*real(ds, "outcome=DFS&pi=z"), ds.studies)
    assert f"95% prediction interval {r2(p.pi_low)} to {r2(p.pi_high)}." in z  # metafor's
    assert "95% prediction interval 0.21 to 0.97." in z
    assert "Events were derived from reported survival rates for all 3 studies." in s
    assert "interpolated" not in s
    # Wei 2019 and Shi 2022 report DFS, Yu 2014 RFS (data/outcomes.csv endpoint_as_reported)
    assert s.endswith(
        "The pooled studies measured different endpoints: DFS (2 studies: Wei 2019, Shi 2022); "
        "RFS (1 study: Yu 2014). Pooling them assumes the treatment acts alike on each; keep one "
        "definition to check."
    )


def test_single_study_is_said_plainly(ds):
    oa, state = real(ds, "v=2&tpoint=exact")  # rates only where reported: 2-year OS has one
    s = summary_sentence(oa, state, ds.studies)
    assert oa.k == 1
    assert s.startswith(
        "Only one study could be pooled (Wei 2019, a randomized trial; 164 patients), so the "
        "pooled result is that study's own estimate."
    )
    assert f"odds ratio {r2(oa.pooled.estimate)} (95% CI" in s
    assert "pooled odds ratio" not in s and "Heterogeneity" not in s and "REML" not in s
    assert "lower odds of death from any cause at 2 years" in s
    assert s.endswith("Events were derived from the study's reported survival rates.")


@pytest.mark.parametrize("query", ["", "tpoint=interp"])  # the default view, an old link
def test_ci_including_one_gives_no_direction_and_interpolation_is_named(ds, query):
    oa, state = real(ds, query)
    p = oa.pooled
    assert p.ci_low < 0 < p.ci_high
    s = summary_sentence(oa, state, ds.studies)
    assert (
        "there was no clear difference in the odds of death from any cause at 2 years with "
        "perioperative RT" in s
    )
    assert (
        f"(95% CI {r2(p.ci_low)} to {r2(p.ci_high)}, which includes 1; random effects, REML)" in s
    )
    assert "lower" not in s and "higher" not in s
    assert "for 2 studies the 2-year rate was interpolated between reported time points" in s


def test_hazard_ratio_wording(ds):
    oa, state = real(ds, "measure=HR")
    s = summary_sentence(oa, state, ds.studies)
    # Wei 2019's HRs are for HCC-related mortality and HCC recurrence (endpoint_as_reported)
    assert "a lower hazard of HCC-related death: hazard ratio 0.35 (95% CI 0.23 to 0.54)" in s
    assert "hazard of death" not in s
    assert "odds" not in s and "derived" not in s
    oa, state = real(ds, "measure=HR&outcome=DFS")
    s = summary_sentence(oa, state, ds.studies)
    assert "a lower hazard of HCC recurrence: hazard ratio 0.45" in s
    assert "recurrence or death" not in s


def test_two_studies_no_heterogeneity_sentence(ds):
    oa, state = real(ds, "t_os=5")
    s = summary_sentence(oa, state, ds.studies)
    assert oa.k == 2
    assert s.startswith("Across 2 randomized trials (195 patients)")
    assert "Heterogeneity" not in s
    assert "for both studies" in s


@pytest.mark.parametrize("method", ["REML", "DL", "PM", "ML", "HS", "SJ", "HE", "EB", "EE"])
def test_every_estimator_is_named(ds, method):
    oa, state = real(ds, f"outcome=DFS&method={method}")
    s = summary_sentence(oa, state, ds.studies)
    model = "common effect" if method == "EE" else f"random effects, {method}"
    assert f"; {model})." in s
    assert f"pooled odds ratio {r2(oa.pooled.estimate)} " in s
    assert ("prediction interval" in s) == (method != "EE")


def test_hartung_knapp_single_study_has_no_ci(ds):
    oa, state = real(ds, "ci=hksj")
    s = summary_sentence(oa, state, ds.studies)
    assert "no 95% CI could be computed: the Hartung-Knapp interval needs two studies or more" in s
    assert "the odds ratio for death from any cause at 2 years with perioperative RT was 0.29" in s
    assert "associated" not in s and "no clear difference" not in s
    oa, state = real(ds, "ci=hksj&outcome=DFS")
    assert "random effects, REML, Hartung-Knapp CI)" in summary_sentence(oa, state, ds.studies)


def test_prediction_interval_hidden_when_off(ds):
    oa, state = real(ds, "outcome=DFS&pi=0")
    s = summary_sentence(oa, state, ds.studies)
    assert "I² = 20%." in s and "prediction interval" not in s
    assert [n.label for n in key_numbers(oa, state)][-1] == "I²"


@pytest.mark.parametrize(
    ("query", "start", "why"),
    [
        ("design=none", "Nothing can be pooled for overall survival (odds of death at 2 years).",
         "No study matches the filters."),
        ("exclude=Wei2019", "Nothing can be pooled for overall survival", "excluded by hand"),
        ("t_os=0.5&indication=narrow_margin", "Nothing can be pooled for overall survival",
         "in a usable form"),
    ],
)  # fmt: skip
def test_nothing_to_pool_says_why(ds, query, start, why):
    oa, state = real(ds, query)
    assert oa.pooled is None
    s = summary_sentence(oa, state, ds.studies)
    assert s.startswith(start) and why in s and s.endswith(".")
    assert key_numbers(oa, state) == ()


@pytest.mark.parametrize(
    "query",
    ["", "outcome=DFS", "measure=HR", "tpoint=interp", "ci=hksj", "method=EE", "t_os=5",
     "scope=all&design=RCT&design=PSM&design=retrospective&design=prospective-nonrandomized"
     "&indication=PVTT&indication=narrow_margin&indication=MVI&indication=other&rt=external"
     "&rt=internal&t_os=1&t_dfs=2&tpoint=interp"],
)  # fmt: skip
def test_never_overstates(ds, query):
    state = parse_query(query).state
    for oa in analyse(state, ds).outcomes.values():
        s = summary_sentence(oa, state, ds.studies).lower()
        assert not any(word in s for word in OVERSTATEMENTS), s


def test_key_numbers_equal_the_pooled_result(ds):
    oa, state = real(ds, "outcome=DFS")
    p = oa.pooled
    shown = {n.label: n.value for n in key_numbers(oa, state)}
    assert shown == {
        "Pooled OR": r2(p.estimate),
        "95% CI": f"{r2(p.ci_low)}–{r2(p.ci_high)}",
        "p (z)": f"{p.pvalue:.3f}",
        "Studies (k)": "3",
        "Patients": "359",
        "I²": f"{p.i2:.1f}%",
        "95% prediction interval": "0.003–65.22",  # t on k - 2 = 1 df, the default
    }
    oa, state = real(ds, "outcome=DFS&pi=z")
    shown = {n.label: n.value for n in key_numbers(oa, state)}
    assert shown["95% prediction interval"] == f"{r2(p.pi_low)}–{r2(p.pi_high)}"  # metafor's
    oa, state = real(ds, "outcome=DFS&exclude=Yu2014")
    shown = {n.label: n.value for n in key_numbers(oa, state)}
    assert oa.k == 2 and shown["95% prediction interval"] == "none (k < 3)"
    oa, state = real(ds, "outcome=DFS&pi=0")
    assert "95% prediction interval" not in {n.label for n in key_numbers(oa, state)}
    shown = {n.label: n.value for n in key_numbers(oa, state, always_pi=True)}  # the report
    assert shown["95% prediction interval"] == "0.003–65.22"
    oa, state = real(ds, "measure=HR")
    shown = {n.label: n.value for n in key_numbers(oa, state)}
    assert shown["Pooled HR"] == "0.35" and shown["p (z)"] == "< 0.001" and shown["I²"] == "–"
    assert "95% prediction interval" not in shown  # k = 1
    oa, state = real(ds, "ci=hksj")
    shown = {n.label: n.value for n in key_numbers(oa, state)}
    assert shown["95% CI"] == "not estimable" and shown["p (t)"] == "–"  # as on the Overview


def test_left_out_lists_by_hand_then_not_estimable(ds):
    oa, _ = real(ds, "outcome=DFS&exclude=Yu2014")
    out = left_out(oa, ds.studies)
    assert out[0] == ("Yu 2014", "excluded by hand")
    assert ("PMID 35643251", "no 1-year DFS reported (only an HR)") in out
    assert len(out) == 1 + len(oa.not_estimable)


def test_headline(ds):
    assert headline(real(ds, "")[0]) == "Overall survival: odds ratio at 2 years"
    assert headline(real(ds, "outcome=DFS")[0]) == (
        "Disease-free survival: odds ratio at 1 year (DFS or RFS, mixed endpoint definitions)"
    )
    assert headline(real(ds, "outcome=DFS&endpoint=DFS.dfs")[0]) == (
        "Disease-free survival: odds ratio at 1 year"
    )
    assert headline(real(ds, "outcome=DFS&endpoint=DFS.rfs")[0]) == (
        "Disease-free survival: odds ratio at 1 year (RFS)"
    )
    assert headline(real(ds, "measure=HR")[0]) == (
        "Overall survival: hazard ratio for HCC-related death, multivariable Cox"
    )
    assert headline(real(ds, "t_os=0.5")[0]) == "Overall survival: odds ratio at 0.5 years"


# --- handmade analyses --------------------------------------------------------------------


def handmade(
    yi: list[float],
    vi: list[float],
    designs: list[str],
    sizes: list[tuple[float | None, float | None]],
    *,
    outcome: str = "OS",
    measure: str = "OR",
    years: float | None = 2.0,
    derived: list[bool] | None = None,
    method: str = "REML",
) -> tuple[OutcomeAnalysis, pd.DataFrame]:
    """An OutcomeAnalysis of len(yi) studies S1.. with all of them included."""
    ids = [f"S{i + 1}" for i in range(len(yi))]
    res = pool(yi, vi, method=method)
    derived = derived or [False] * len(yi)
    rows = pd.DataFrame(
        {
            "study_id": ids,
            "label": [f"Study {i}" for i in ids],
            "yi": yi,
            "vi": vi,
            "derivation": ["as reported"] * len(yi),
            "derived": derived,
            "interpolated": [False] * len(yi),
            "source_url": ["https://example.org"] * len(yi),
            "included": True,
            "weight": res.weights,
        }
    )
    studies = pd.DataFrame(
        {
            "study_id": ids,
            "label": [f"Study {i}" for i in ids],
            "design": designs,
            "n_rt": pd.array([a for a, _ in sizes], dtype="Int64"),
            "n_ctl": pd.array([b for _, b in sizes], dtype="Int64"),
        }
    )
    n = studies[["n_rt", "n_ctl"]].sum(min_count=1).sum()
    oa = OutcomeAnalysis(
        outcome=outcome,
        measure=measure,
        years=years if measure == "OR" else None,
        rows=rows,
        pooled=res,
        subgroups=None,
        not_estimable=(("S9", "no OS reported"),),
        filtered_out=(),
        excluded_by_user=(),
        patients=0 if pd.isna(n) else int(n),
        message=None,
    )
    return oa, studies


def test_higher_when_ci_above_one_and_mixed_designs():
    oa, studies = handmade(
        [0.9, 1.1, 0.8], [0.04, 0.05, 0.06], ["RCT", "PSM", "RCT"], [(50, 50), (40, 40), (30, 30)]
    )
    s = summary_sentence(oa, ViewState(), studies)
    assert s.startswith(
        "Across 2 randomized trials and 1 propensity-matched study (240 patients), perioperative "
        "RT was associated with higher odds of death at 2 years: pooled odds ratio "
    )
    assert "derived" not in s


def test_design_phrase_lists_every_design_in_order():
    oa, studies = handmade(
        [0.1, 0.2, 0.3, 0.4],
        [0.1] * 4,
        ["retrospective", "prospective-nonrandomized", "PSM", "retrospective"],
        [(10, 10)] * 4,
    )
    assert design_phrase(oa, studies) == (
        "1 propensity-matched study, 1 prospective non-randomized study and 2 retrospective studies"
    )


def test_missing_arm_sizes_are_not_hidden():
    oa, studies = handmade([0.1, -0.2], [0.1, 0.2], ["RCT", "PSM"], [(20, 22), (None, None)])
    assert patients_phrase(oa, studies) == (
        "at least 42 patients; arm sizes not reported for 1 study"
    )
    oa, studies = handmade([0.1, -0.2], [0.1, 0.2], ["RCT", "PSM"], [(None, None)] * 2)
    assert patients_phrase(oa, studies) == (
        "patient numbers not reported (arm sizes not reported for 2 studies)"
    )


def test_some_derived_counts_them_and_dfs_hr_words():
    oa, studies = handmade(
        [-0.5, -0.6, -0.4], [0.02, 0.03, 0.02], ["RCT"] * 3, [(50, 50)] * 3,
        outcome="DFS", derived=[True, False, False],
    )  # fmt: skip
    s = summary_sentence(oa, ViewState(), studies)
    assert "lower odds of recurrence or death at 2 years" in s
    assert s.endswith("Events were derived from reported survival rates for 1 of 3 studies.")
    oa, studies = handmade(
        [-0.5, -0.6], [0.02, 0.03], ["RCT"] * 2, [(50, 50)] * 2, outcome="DFS", measure="HR"
    )
    s = summary_sentence(oa, ViewState(), studies)
    assert "a lower hazard of recurrence or death: pooled hazard ratio" in s


# --- results table ---------------------------------------------------------------------------


def test_results_frame_pooled_row_and_weights(ds):
    oa, _ = real(ds, "outcome=DFS&exclude=Shi2022&scope=all")
    frame = results_frame(oa)
    assert tuple(frame.columns) == COLUMNS
    studies = frame[frame["row"] == "study"]
    pooled = frame[frame["row"] == "pooled"].iloc[0]
    p = oa.pooled
    assert pooled["ratio"] == pytest.approx(math.exp(p.estimate), rel=1e-12)
    assert pooled["ci_low"] == pytest.approx(math.exp(p.ci_low), rel=1e-12)
    assert pooled["ci_high"] == pytest.approx(math.exp(p.ci_high), rel=1e-12)
    assert pooled["vi"] == pytest.approx(p.se**2, rel=1e-12)
    assert oa.k == 2 and math.isnan(pooled["pi_low"]) and math.isnan(pooled["pi_high"])
    assert pooled["pi_method"] == ""
    assert "no prediction interval with fewer than 3" in pooled["note"]
    hk_oa = real(ds, "outcome=DFS&pi=hksj")[0]
    hk_frame = results_frame(hk_oa)
    hk = hk_frame[hk_frame["row"] == "pooled"].iloc[0]
    pred = hk_oa.prediction
    assert pred is not None and hk_oa.k == 3 and hk["pi_method"] == "hksj"
    assert hk["pi_low"] == pytest.approx(math.exp(pred.low), rel=1e-12)
    assert hk["pi_high"] == pytest.approx(math.exp(pred.high), rel=1e-12)
    used = studies[studies["included"].astype(bool)]
    assert used["weight"].sum() == pytest.approx(100.0, abs=1e-9)
    assert pooled["weight"] == pytest.approx(100.0, abs=1e-9)
    shi = studies[studies["study_id"] == "Shi2022"].iloc[0]
    assert not shi["included"] and math.isnan(shi["weight"]) and shi["note"] == "excluded by hand"
    row = studies.iloc[0]
    assert row["ratio"] == pytest.approx(math.exp(row["yi"]))
    assert math.log(row["ci_high"]) - row["yi"] == pytest.approx(1.959964 * math.sqrt(row["vi"]))
    assert row["source"].startswith("http") and row["derivation"]
    not_used = frame[frame["row"] == "not used"]
    assert set(not_used["study_id"]) == {s for s, _ in oa.not_estimable}
    assert not_used["yi"].isna().all()
    mixed = "Odds ratio of 1-year DFS or RFS (mixed endpoint definitions)"
    assert (frame["analysis"] == mixed).all()
    by_id = studies.set_index("study_id")["endpoint"]
    assert (by_id["Wei2019"], by_id["Yu2014"]) == ("DFS", "RFS")
    text = export_csv(frame).decode("utf-8")
    assert text.splitlines()[0] == ",".join(COLUMNS)


def test_results_frame_with_nothing_pooled(ds):
    oa, _ = real(ds, "exclude=Wei2019")
    frame = results_frame(oa)
    assert "pooled" not in set(frame["row"])
    assert np.isnan(frame["weight"]).all()
