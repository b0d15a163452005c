"""Numbers at the edge of float range, through core: per study a plain "not estimable" reason
(estimable), per pool a message (analyse), and every consumer (forest frame and chart, results
table, JSON, report, CLI) without an exception. Expected values are worked out by hand."""

from __future__ import annotations

import json
import math
import warnings
from datetime import UTC, datetime

import numpy as np
import pytest
from scipy import stats

from core.cli import main
from core.data.estimable import MIN_VARIANCE, estimable, unusable
from core.report.document import report_html
from core.report.narrative import summary_sentence
from core.report.sof import sof_table
from core.state.view import ViewState
from core.stats.effects import LOG_MAX, exp_ratio, exp_ratios
from core.stats.sensitivity import leave_one_out
from core.views.analysis import analyse, to_json
from core.views.results_table import results_frame
from tests.fixtures import edge
from tests.unit.test_edge_cases import draws

Z = float(stats.norm.isf(0.025))
T2 = float(stats.t.isf(0.025, 2))
HR = ViewState(measure="HR")
HKSJ = ViewState(measure="HR", ci="hksj")
CREATED = datetime(2026, 1, 1, tzinfo=UTC)

# --- the helpers ------------------------------------------------------------------------


def test_exp_ratio_gives_inf_or_zero_beyond_the_float_range() -> None:
    assert pytest.approx(709.782712893384) == LOG_MAX
    assert exp_ratio(709.0) == math.exp(709.0)
    assert exp_ratio(710.0) == math.inf and exp_ratio(1e300) == math.inf
    assert exp_ratio(-800.0) == 0.0
    assert math.isnan(exp_ratio(math.nan))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = exp_ratios([-800.0, 0.0, 710.0, math.nan])
    assert got[0] == 0.0 and got[1] == 1.0 and got[2] == math.inf and math.isnan(got[3])


@pytest.mark.parametrize(
    ("yi", "vi", "reason"),
    [
        (math.inf, 1.0, "its log ratio (inf) is not a finite number"),
        (math.nan, 1.0, "its log ratio (nan) is not a finite number"),
        (0.0, math.inf, "its variance (inf) is not a finite number"),
        (0.0, 0.0, "its variance is 0, which would give it all the weight"),
        (0.0, 5e-324, "its variance 4.94e-324 is subnormal (below 2.23e-308)"),
        (0.0, 1e-200, "its variance 1e-200 is below 1e-150: its weight 1/v would overflow"),
        (700.0, 25.0, "its 95% CI, exp(700 ± 1.96 × 5), goes beyond the largest number"),
        (-700.0, 25.0, "its 95% CI, exp(-700 ± 1.96 × 5), goes beyond the largest number"),
    ],
)
def test_unusable_names_the_reason(yi: float, vi: float, reason: str) -> None:
    why = unusable(yi, vi)
    assert why is not None and why.startswith(reason)


@pytest.mark.parametrize(
    ("yi", "vi"),
    [(0.0, MIN_VARIANCE), (709.0, (0.78 / Z) ** 2), (-709.0, 1e-100), (0.0, 131_000.0)],
)
def test_numbers_just_inside_the_range_are_usable(yi: float, vi: float) -> None:
    assert unusable(yi, vi) is None
    se = math.sqrt(vi)
    assert math.isfinite(exp_ratio(yi + Z * se)) and math.isfinite(1 / vi**2 * 50_000)


# --- per study: estimable ---------------------------------------------------------------


def test_hr_whose_ci_overflows_is_not_estimable_with_its_reason() -> None:
    es = estimable(edge.huge_hr()[1], "OS", "HR")
    assert es.rows["study_id"].tolist() == ["A", "B"]
    se = (math.log(1.7e308) - math.log(1e-300)) / (2 * Z)  # 357.3
    why = dict(es.excluded)["H"]
    assert why.startswith(
        f"HR 1e+300: its 95% CI, exp(690.8 ± 1.96 × {se:.4g}), goes beyond the largest number"
    )
    assert "SE from the 95% CI: (ln 1.7e+308 - ln 1e-300)" in why


def test_hrs_far_apart_are_each_usable() -> None:
    es = estimable(edge.hr_spread()[1], "OS", "HR")
    assert es.excluded == ()
    assert es.yi == pytest.approx([-160 * math.log(10), 0.0, 160 * math.log(10)], rel=1e-12)
    assert es.vi == pytest.approx([(math.log(4) / (2 * Z)) ** 2] * 3, rel=1e-9)


def test_p_value_below_the_float_range_gives_variance_zero_not_a_crash() -> None:
    es = estimable(edge.tiny_p()[1], "OS", "HR")
    assert es.rows["study_id"].tolist() == ["A", "B"]
    why = dict(es.excluded)
    assert why["S"] == (
        "HR 0.5: its variance is 0, which would give it all the weight "
        "(SE from the two-sided p = 4.94066e-324: |ln 0.5| / inf)"
    )
    assert why["E"].startswith("HR 0.5: its variance is 0") and "zero width" in why["E"]


def test_huge_totals_underflow_the_variance_or_overflow_the_ci() -> None:
    es = estimable(edge.huge_totals()[1], "OS", "OR", 2)
    assert es.rows["study_id"].tolist() == ["A", "B"]
    why = dict(es.excluded)
    assert why["G"] == (
        "OR from 5e+307/1e+308 vs 5e+307/1e+308 events: its variance 8e-308 is below 1e-150: "
        "its weight 1/v would overflow"
    )
    # ln(1 x 5e307 / (1e308 x 5e307)) = -ln 1e308 = -709.2; vi = 1 + ~0
    assert why["F"].startswith("OR from 1/1e+308 vs 5e+307/1e+308 events: its 95% CI, exp(-709.2")


def test_largest_int64_totals_are_usable_and_patients_do_not_wrap() -> None:
    oa = analyse(ViewState(), edge.int64_totals()[1]).outcomes["OS"]
    rows = oa.rows.set_index("study_id")
    assert rows.at["G", "vi"] == pytest.approx(4 / 4.5e18, rel=1e-12)
    # 1 x 4.5e18 / ((9e18 - 1) x 4.5e18)
    assert rows.at["F", "yi"] == pytest.approx(-math.log(9e18), rel=1e-12)
    assert oa.k == 4 and oa.patients == 4 * 9 * 10**18 + 200


# --- per pool: the message, and every consumer ------------------------------------------


def test_pooled_interval_beyond_the_range_gets_a_message() -> None:
    ds = edge.hr_spread()[1]
    oa = analyse(HKSJ, ds).outcomes["OS"]
    p = oa.pooled
    assert p is not None and p.estimate == pytest.approx(0.0, abs=1e-9)
    # REML with equal vi: tau2 = sum (y - mean)^2 / (k - 1) - v
    ln = 160 * math.log(10)
    v = (math.log(4) / (2 * Z)) ** 2
    assert p.tau2 == pytest.approx(ln**2 - v, rel=1e-9)
    # Hartung-Knapp with equal weights: se = sqrt(sum (y - mean)^2 / ((k - 1) k))
    assert p.ci_high == pytest.approx(T2 * ln / math.sqrt(3), rel=1e-9)  # 915.2
    # the default t prediction interval on k - 2 = 1 df, se^2 = (v + tau2) / 3 = ln^2 / 3:
    # t(1) sqrt(tau2 + se^2) = 12.706 sqrt(ln^2 - v + ln^2 / 3) = 5405, whichever CI
    t1 = float(stats.t.isf(0.025, 1))
    pi = analyse(HKSJ, ds).outcomes["OS"].prediction
    assert pi is not None and pi.high == pytest.approx(t1 * math.sqrt(ln**2 - v + ln**2 / 3))
    assert oa.message == (
        "The pooled HR's 95% CI (-915.2 to 915.2 on the log scale) and 95% prediction interval "
        "(-5405 to 5405 on the log scale) go beyond the largest number a computer can hold "
        "(about 1.8e308): shown as 0 or ∞, not estimable as a ratio."
    )
    wald = analyse(HR, ds).outcomes["OS"].message
    assert wald is not None and wald.startswith("The pooled HR's 95% prediction interval (-5405")
    # metafor's z interval: z sqrt(tau2 + se^2) = 833.8; Hartung-Knapp: t(2) (ln / sqrt 3 ...)
    z = analyse(HR.replace(pi="z"), ds).outcomes["OS"].message
    assert z is not None and z.startswith("The pooled HR's 95% prediction interval (-833.8")
    assert analyse(HR.replace(pi="0"), ds).outcomes["OS"].message is None  # hidden: no bound
    assert analyse(HR, edge.two()[1]).outcomes["OS"].message is None


@pytest.mark.parametrize(
    ("name", "state"),
    [
        ("huge_hr", HR),
        ("huge_hr", HKSJ),
        ("hr_spread", HR),
        ("hr_spread", HKSJ),
        ("tiny_p", HR),
        ("huge_totals", ViewState()),
        ("int64_totals", ViewState()),
        # the models and measures merged since: Bayesian, Mantel-Haenszel, RR
        ("hr_spread", ViewState(measure="HR", method="BAYES")),
        ("tiny_p", ViewState(measure="HR", method="BAYES")),
        ("int64_totals", ViewState(method="BAYES")),  # was a ZeroDivisionError (its I²)
        ("int64_totals", ViewState(measure="RR", method="MH")),
    ],
)
def test_every_consumer_of_an_edge_dataset_works(name: str, state: ViewState) -> None:
    ds = edge.DATASETS[name]()[1]
    analysis = analyse(state, ds)
    json.dumps(to_json(analysis), allow_nan=False)
    got = draws(state, ds)
    assert got["pooled"] is not None
    for oa in analysis.outcomes.values():
        results_frame(oa)
        summary_sentence(oa, state, ds.studies)
        if oa.k >= 2:
            leave_one_out(oa.rows["yi"].to_numpy(float), oa.rows["vi"].to_numpy(float))
    sof_table(analysis, ds.studies)
    html = report_html(analysis, state, ds, "http://localhost/?", CREATED)
    for _, why in analysis.outcomes["OS"].not_estimable:
        assert why.split(":")[0] in html


def test_results_table_and_report_carry_the_pool_message() -> None:
    ds = edge.hr_spread()[1]
    analysis = analyse(HKSJ, ds)
    table = results_frame(analysis.outcomes["OS"])
    pooled = table[table["row"] == "pooled"].iloc[0]
    assert pooled["ci_low"] == 0.0 and pooled["ci_high"] == math.inf
    assert "go beyond the largest number a computer can hold" in pooled["note"]
    html = report_html(analysis, HKSJ, ds, "http://localhost/?", CREATED)
    assert "go beyond the largest number a computer can hold" in html


@pytest.mark.parametrize("name", ["huge_hr", "tiny_p", "hr_spread"])
def test_cli_analyze_names_the_studies_and_reasons(name: str, capsys, tmp_path, monkeypatch):
    captured: list[list[tuple[str, bytes]]] = []
    real = edge.files

    def keep(
        studies: list[dict], outcomes: list[dict], more: tuple[str, ...] = ()
    ) -> list[tuple[str, bytes]]:
        captured.append(real(studies, outcomes, more))
        return captured[-1]

    monkeypatch.setattr(edge, "files", keep)  # the CSV files the fixture uploads
    ds = edge.DATASETS[name]()[1]
    for file, data in captured[0]:
        (tmp_path / file).write_bytes(data)
    assert main(["analyze", "?measure=HR&ci=hksj", "--data", str(tmp_path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    expected = to_json(analyse(HKSJ, ds))
    assert doc["OS"]["excluded"] == expected["OS"]["excluded"]
    assert doc["OS"]["message"] == expected["OS"]["message"]
    if name == "hr_spread":
        high = T2 * 160 * math.log(10) / math.sqrt(3)
        assert doc["OS"]["pooled"]["ci_high"] == pytest.approx(high, rel=1e-9)
        assert doc["OS"]["message"].startswith("The pooled HR's 95% CI (-915.2 to 915.2")
    else:
        assert doc["OS"]["excluded"][0]["reason"].startswith("HR ")


def test_no_numpy_overflow_warning_on_the_edge_data() -> None:
    ds = edge.hr_spread()[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        oa = analyse(HKSJ, ds).outcomes["OS"]
        results_frame(oa)
    assert np.isfinite(oa.rows["yi"]).all()
